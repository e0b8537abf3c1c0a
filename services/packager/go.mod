module github.com/handoffmed/handoff/services/packager

go 1.26.8

require (
	github.com/google/go-cmp v0.7.0
	github.com/klauspost/compress v1.20.3
)

require (
	github.com/handoffmed/handoff/platform v0.0.0 // indirect
	golang.org/x/text v0.44.0 // indirect
)

replace github.com/handoffmed/handoff/platform => ../../platform
