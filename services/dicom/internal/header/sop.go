package header

import "strings"

// RecordType returns the DICOMDIR directory record type (PS3.3 F.5) for the
// instances of a SOP class: IMAGE for images, and the specific type for
// structured reports, RT objects, waveforms and the like.
func RecordType(sop string) string {
	if t, ok := recordTypes[sop]; ok {
		return t
	}
	switch {
	case strings.HasPrefix(sop, "1.2.840.10008.5.1.4.1.1.88."):
		return "SR DOCUMENT"
	case strings.HasPrefix(sop, "1.2.840.10008.5.1.4.1.1.9."):
		return "WAVEFORM"
	case strings.HasPrefix(sop, "1.2.840.10008.5.1.4.1.1.11."):
		return "PRESENTATION"
	case strings.HasPrefix(sop, "1.2.840.10008.5.1.4.1.1.104."):
		return "ENCAP DOC"
	case strings.HasPrefix(sop, "1.2.840.10008.5.1.4.1.1.481."):
		return "RT TREAT RECORD"
	}
	return "IMAGE"
}

var recordTypes = map[string]string{
	"1.2.840.10008.5.1.4.1.1.481.2": "RT DOSE",
	"1.2.840.10008.5.1.4.1.1.481.3": "RT STRUCTURE SET",
	"1.2.840.10008.5.1.4.1.1.481.5": "RT PLAN",
	"1.2.840.10008.5.1.4.1.1.481.8": "RT PLAN", // RT Ion Plan
	"1.2.840.10008.5.1.4.1.1.88.59": "KEY OBJECT DOC",
	"1.2.840.10008.5.1.4.1.1.66":    "RAW DATA",
	"1.2.840.10008.5.1.4.1.1.66.4":  "IMAGE", // Segmentation
	"1.2.840.10008.5.1.4.1.1.66.1":  "REGISTRATION",
	"1.2.840.10008.5.1.4.1.1.66.3":  "REGISTRATION",
	"1.2.840.10008.5.1.4.1.1.66.2":  "FIDUCIAL",
	"1.2.840.10008.5.1.4.1.1.128.1": "IMAGE",
	"1.2.840.10008.5.1.4.1.1.481.1": "IMAGE", // RT Image
	"1.2.840.10008.5.1.4.1.1.11.1":  "PRESENTATION",
	"1.2.840.10008.5.1.4.1.1.9.1.1": "WAVEFORM",
	"1.2.840.10008.5.1.4.1.1.104.1": "ENCAP DOC",
	"1.2.840.10008.5.1.4.1.1.88.11": "SR DOCUMENT",
	"1.2.840.10008.5.1.4.1.1.88.22": "SR DOCUMENT",
	"1.2.840.10008.5.1.4.1.1.88.33": "SR DOCUMENT",
	"1.2.840.10008.5.1.4.1.1.481.4": "RT TREAT RECORD",
	"1.2.840.10008.5.1.4.1.1.481.6": "RT TREAT RECORD",
	"1.2.840.10008.5.1.4.1.1.481.7": "RT TREAT RECORD",
	"1.2.840.10008.5.1.4.1.1.481.9": "RT TREAT RECORD",
	"1.2.840.10008.1.3.10":          "",
	"1.2.840.10008.5.1.4.1.1.7":     "IMAGE", // Secondary Capture
}

// SecondaryCapture reports whether a SOP class is a secondary capture.
func SecondaryCapture(sop string) bool {
	return sop == "1.2.840.10008.5.1.4.1.1.7" || strings.HasPrefix(sop, "1.2.840.10008.5.1.4.1.1.7.")
}
