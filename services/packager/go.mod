module github.com/handoffmed/handoff/services/packager

go 1.26.8

require (
	github.com/google/go-cmp v0.7.0
	github.com/klauspost/compress v1.20.0
)

replace github.com/handoffmed/handoff/platform => ../../platform
