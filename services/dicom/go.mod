module github.com/handoffmed/handoff/services/dicom

go 1.26.8

require (
	github.com/google/go-cmp v0.7.0
	github.com/handoffmed/handoff/platform v0.0.0
	github.com/suyashkumar/dicom v1.1.0
	golang.org/x/text v0.44.0
)

require golang.org/x/exp v0.0.0-20240525044651-4c93da0ed11d // indirect

replace github.com/handoffmed/handoff/platform => ../../platform
