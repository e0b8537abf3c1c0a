module github.com/handoffmed/handoff/services/ocr

go 1.26.8

require github.com/handoffmed/handoff/platform v0.0.0

replace github.com/handoffmed/handoff/platform => ../../platform
