package record

// Imaging finding codes. The DICOM service computes them when it indexes a
// case and stores them in DicomIndex.Findings (and, for one file, in
// File.Warnings); the checklist reads them from there.
const (
	// CodeImagingPatientMismatch: a series whose patient name, ID or birth
	// date disagrees with the case (error).
	CodeImagingPatientMismatch = "imaging.patient_mismatch"
	// CodeImagingIncompleteSeries: gaps in InstanceNumber, or fewer
	// instances than the series declares (warning).
	CodeImagingIncompleteSeries = "imaging.incomplete_series"
	// CodeImagingSecondaryCapture: a secondary capture or screenshot stored
	// as DICOM, not diagnostic images (warning).
	CodeImagingSecondaryCapture = "imaging.secondary_capture"
	// CodeImagingDuplicate: the same SOP Instance UID uploaded more than
	// once; indexed once (info).
	CodeImagingDuplicate = "imaging.duplicate"
)
