module github.com/handoffmed/handoff/services/packager

go 1.26.8

require (
	github.com/go-pdf/fpdf v0.9.0
	github.com/google/go-cmp v0.7.0
	github.com/handoffmed/handoff/platform v0.0.0
	github.com/klauspost/compress v1.20.3
	golang.org/x/text v0.44.0
)

replace github.com/handoffmed/handoff/platform => ../../platform
