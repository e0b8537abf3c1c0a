module github.com/handoffmed/handoff/services/intake

go 1.26.8

require github.com/handoffmed/handoff/platform v0.0.0

require github.com/google/go-cmp v0.7.0 // indirect

replace github.com/handoffmed/handoff/platform => ../../platform
