module github.com/handoffmed/handoff/cmd/handoff

go 1.26.8

require (
	github.com/handoffmed/handoff/platform v0.0.0
	github.com/handoffmed/handoff/services/intake v0.0.0
	github.com/handoffmed/handoff/services/ocr v0.0.0
	github.com/handoffmed/handoff/services/dicom v0.0.0
	github.com/handoffmed/handoff/services/packager v0.0.0
)

replace (
	github.com/handoffmed/handoff/platform => ../../platform
	github.com/handoffmed/handoff/services/intake => ../../services/intake
	github.com/handoffmed/handoff/services/ocr => ../../services/ocr
	github.com/handoffmed/handoff/services/dicom => ../../services/dicom
	github.com/handoffmed/handoff/services/packager => ../../services/packager
)
