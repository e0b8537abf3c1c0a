// Package dicom indexes DICOM imaging from headers alone, checks it, and
// writes viewer-ready DICOM file-sets (PS3.10 media with a DICOMDIR).
//
// The library part (Read, BuildIndex, the checks, WriteFileSet and the
// CLI functions) works on readers and folders; the service part (New, Run)
// consumes the pipeline's work queue.
package dicom

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/dicom/internal/header"
)

// ReadOptions bound what Read may do; the zero value means the defaults.
type ReadOptions struct {
	// MaxObject is the largest object accepted (default 4 GiB).
	MaxObject int64
	// MaxHeader is the most bytes read before the pixel data (default 32 MiB).
	MaxHeader int64
}

// Header is what Read learned from one object's header.
type Header struct {
	// Instance holds the fields the case state records.
	Instance record.DicomInstance
	// DICOMDIR is set when the object is a DICOMDIR, not an instance.
	DICOMDIR bool
	// NeedsPart10 is set when the object lacks a conformant Part 10 preamble
	// and file meta; a file-set gets a normalised copy.
	NeedsPart10 bool
	// MetaParser says who read the file meta: "suyashkumar" or "tolerant".
	MetaParser string
	// Warnings are the tolerated defects (no patient data).
	Warnings []string
	// HeaderEnd is the offset where reading stopped (-1 for deflated
	// objects); Instance.HeaderBytes - HeaderEnd is the read-ahead.
	HeaderEnd int64

	h *header.Header
}

// Read reads the header of one object of size bytes (-1 if unknown) from r,
// stopping before the pixel data. A failure is a *record.Error with code
// input.unreadable or input.too_large and a reason without patient data.
func Read(r io.Reader, size int64, opt ReadOptions) (*Header, error) {
	h, err := header.Read(r, size, header.Options{MaxObject: opt.MaxObject, MaxHeader: opt.MaxHeader})
	if err != nil {
		return nil, readError(err)
	}
	out := &Header{
		DICOMDIR:    h.IsDICOMDIR(),
		NeedsPart10: h.NeedsPart10(),
		MetaParser:  h.MetaParser,
		Warnings:    h.Warnings,
		HeaderEnd:   h.HeaderEnd,
		h:           h,
	}
	if out.DICOMDIR {
		return out, nil
	}
	switch {
	case h.SOPInstanceUID == "":
		return nil, &record.Error{Code: record.CodeUnreadable, Message: "DICOM object has no SOP Instance UID"}
	case h.StudyUID == "":
		return nil, &record.Error{Code: record.CodeUnreadable, Message: "DICOM object has no Study Instance UID"}
	case h.SeriesUID == "":
		return nil, &record.Error{Code: record.CodeUnreadable, Message: "DICOM object has no Series Instance UID"}
	}
	out.Instance = instance(h)
	return out, nil
}

func readError(err error) error {
	var msg string
	code := record.CodeUnreadable
	switch {
	case errors.Is(err, header.ErrTooLarge):
		code, msg = record.CodeTooLarge, "DICOM object is larger than the size cap"
	case errors.Is(err, header.ErrHeaderTooLarge):
		code, msg = record.CodeTooLarge, "DICOM header is larger than the header cap"
	case errors.Is(err, header.ErrNotDICOM):
		msg = "not a DICOM file: no DICM marker and no plausible data set at the start"
	case errors.Is(err, header.ErrTruncated):
		msg = "DICOM file is truncated before its identifying attributes"
	case errors.Is(err, header.ErrLength):
		msg = "DICOM header is corrupt: " + err.Error()
	case errors.Is(err, header.ErrMalformed):
		msg = "DICOM header is malformed: " + err.Error()
	default:
		// An I/O error: its text may name the file, so it stays out of the message.
		msg = "DICOM header could not be read (I/O error)"
	}
	return &record.Error{Code: code, Message: msg}
}

// instance maps a parsed header to the case-state record.
func instance(h *header.Header) record.DicomInstance {
	d := record.DicomInstance{
		PatientName:       h.PatientName,
		PatientID:         h.PatientID,
		PatientBirthDate:  isoDate(h.PatientBirthDate),
		PatientSex:        strings.ToUpper(h.PatientSex),
		StudyUID:          h.StudyUID,
		StudyDate:         isoDate(h.StudyDate),
		StudyDescription:  h.StudyDescription,
		Accession:         h.Accession,
		SeriesUID:         h.SeriesUID,
		SeriesNumber:      atoi(h.SeriesNumber),
		Modality:          strings.ToUpper(h.Modality),
		BodyPart:          strings.ToUpper(h.BodyPart),
		Laterality:        strings.ToUpper(h.Laterality),
		SeriesDescription: h.SeriesDescription,
		SOPClassUID:       h.SOPClassUID,
		SOPInstanceUID:    h.SOPInstanceUID,
		TransferSyntax:    h.TransferSyntax,
		InstanceNumber:    atoi(h.InstanceNumber),
		Frames:            atoi(h.NumberOfFrames),
		HeaderBytes:       h.BytesRead,
	}
	if d.Laterality == "" {
		d.Laterality = strings.ToUpper(h.ImageLaterality)
	}
	if d.StudyDate == "" {
		d.StudyDate = isoDate(h.SeriesDate)
	}
	if d.Frames == 0 && header.RecordType(h.SOPClassUID) == "IMAGE" {
		d.Frames = 1
	}
	if n := atoi(h.SeriesRelatedInstances); n > 0 {
		d.Declared = n
	} else {
		d.Declared = atoi(h.ImagesInAcquisition)
	}
	d.SecondaryCapture = secondaryCapture(h)
	d.NeedsPart10 = h.NeedsPart10()
	if d.NeedsPart10 {
		d.DataSetOffset = h.DataSetOffset
	}
	k := &record.DicomDirKeys{
		RecordType: header.RecordType(h.SOPClassUID), StudyTime: h.StudyTime, StudyID: h.StudyID,
		ContentDate: h.ContentDate, ContentTime: h.ContentTime,
		CompletionFlag: h.CompletionFlag, VerificationFlag: h.VerificationFlag,
		VerificationDateTime: h.VerificationDateTime,
		StructureSetLabel:    h.StructureSetLabel, StructureSetDate: h.StructureSetDate, StructureSetTime: h.StructureSetTime,
		RTPlanLabel: h.RTPlanLabel, RTPlanDate: h.RTPlanDate, RTPlanTime: h.RTPlanTime,
		DoseSummationType: h.DoseSummationType,
	}
	if c := h.ConceptName; c != nil {
		k.ConceptCode, k.ConceptScheme, k.ConceptMeaning = c.Value, c.Scheme, c.Meaning
	}
	d.Dir = k
	return d
}

// secondaryCapture tells secondary captures and screenshots from acquired images.
func secondaryCapture(h *header.Header) bool {
	if header.SecondaryCapture(h.SOPClassUID) {
		return true
	}
	for _, v := range h.ImageType {
		v = strings.ToUpper(strings.TrimSpace(v))
		if v == "SCREENSHOT" || v == "SCREEN SHOT" || v == "SCREEN_SHOT" {
			return true
		}
	}
	switch strings.ToUpper(h.ConversionType) {
	case "WSD", "SD", "SI", "DF", "DV":
		return true
	}
	return false
}

// isoDate turns a DA value (YYYYMMDD, or the old YYYY.MM.DD) into YYYY-MM-DD;
// anything else gives "".
func isoDate(da string) string {
	da = strings.ReplaceAll(strings.TrimSpace(da), ".", "")
	if len(da) != 8 {
		return ""
	}
	for _, c := range da {
		if c < '0' || c > '9' {
			return ""
		}
	}
	if da[4:6] < "01" || da[4:6] > "12" || da[6:8] < "01" || da[6:8] > "31" {
		return ""
	}
	return da[:4] + "-" + da[4:6] + "-" + da[6:]
}

// atoi reads an IS value tolerantly ("12", " 12 ", "12.0", "+3"); 0 if unreadable.
func atoi(s string) int {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\\'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > -1e9 && f < 1e9 {
		return int(f)
	}
	return 0
}

// errorf builds an input.unreadable error.
func errorf(format string, args ...any) error {
	return &record.Error{Code: record.CodeUnreadable, Message: fmt.Sprintf(format, args...)}
}

func asRecordError(err error) (*record.Error, bool) {
	var re *record.Error
	if errors.As(err, &re) {
		return re, true
	}
	return nil, false
}
