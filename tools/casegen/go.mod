module github.com/handoffmed/handoff/tools/casegen

go 1.26.8

require (
	github.com/go-pdf/fpdf v0.9.0
	github.com/suyashkumar/dicom v1.1.0
)

require (
	golang.org/x/exp v0.0.0-20240525044651-4c93da0ed11d // indirect
	golang.org/x/text v0.43.0 // indirect
)

require github.com/handoffmed/handoff/platform v0.0.0

replace github.com/handoffmed/handoff/platform => ../../platform
