package dicom

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/dicom/internal/dicomdir"
)

// FileSetMember is one instance file of a planned file-set.
type FileSetMember struct {
	// Path is the file's path inside the scan folder, e.g. DICOM/ST000000/SE000001/IM000003.
	Path     string
	Ref      record.SeriesInstanceRef
	Instance record.DicomInstance
}

// FileSetPlan is a study's file-set: the DICOMDIR bytes and its members.
type FileSetPlan struct {
	Folder   string
	DICOMDIR []byte
	Members  []FileSetMember
}

// PlanFileSet lays out the file-set of one study of an index: file IDs of
// at most 8 characters of [A-Z0-9_] per component under DICOM/, and the
// DICOMDIR (General Purpose profile, explicit VR little endian) that
// references them. insts maps file IDs to their instances (for the
// directory record keys); required keys the sources leave empty are filled
// in the way dcmmkdir's --invent does.
func PlanFileSet(st record.Study, insts map[string]record.DicomInstance) (*FileSetPlan, error) {
	plan := &FileSetPlan{Folder: st.Folder}
	if len(st.Series) == 0 {
		return nil, errors.New("file-set: study has no series")
	}
	patient := &dicomdir.Record{Type: "PATIENT"}
	studyRec := &dicomdir.Record{Type: "STUDY"}
	patient.Children = []*dicomdir.Record{studyRec}
	var first record.DicomInstance
	for si, se := range st.Series {
		serRec := &dicomdir.Record{Type: "SERIES"}
		studyRec.Children = append(studyRec.Children, serRec)
		var sfirst record.DicomInstance
		for ii, m := range se.Members {
			in, ok := insts[m.FileID]
			if !ok {
				return nil, fmt.Errorf("file-set: no instance for file %s", m.FileID)
			}
			if si == 0 && ii == 0 {
				first = in
			}
			if ii == 0 {
				sfirst = in
			}
			path := fmt.Sprintf("DICOM/ST000000/SE%06d/IM%06d", si, ii)
			plan.Members = append(plan.Members, FileSetMember{Path: path, Ref: m, Instance: in})
			serRec.Children = append(serRec.Children, instanceRecord(in, m, path, ii+1))
		}
		serRec.Elements = seriesKeys(sfirst, se, si+1)
	}
	patient.Elements = patientKeys(st, first)
	studyRec.Elements = studyKeys(st, first)
	for _, r := range []*dicomdir.Record{patient, studyRec} {
		addCharset(r)
	}
	for _, s := range studyRec.Children {
		addCharset(s)
		for _, i := range s.Children {
			addCharset(i)
		}
	}
	b, err := dicomdir.Encode(fileSetID(st.Folder), fileSetUID(plan.Members), []*dicomdir.Record{patient})
	if err != nil {
		return nil, fmt.Errorf("file-set: %w", err)
	}
	plan.DICOMDIR = b
	return plan, nil
}

// fileSetID is the File-set ID: CS, at most 16 characters of [A-Z0-9_ ].
func fileSetID(folder string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(folder) {
		if b.Len() >= 16 {
			break
		}
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// fileSetUID derives the DICOMDIR's SOP Instance UID from its members, so
// that the same instances always give the same bytes.
func fileSetUID(members []FileSetMember) string {
	h := sha256.New()
	for _, m := range members {
		io.WriteString(h, m.Path+"\x00"+m.Ref.SOPInstanceUID+"\x00")
	}
	sum := h.Sum(nil)
	sum[0] &= 0x7f
	return "2.25." + new(big.Int).SetBytes(sum[:16]).String()
}

// VR length limits (PS3.5 Table 6.2-1) for the values copied into records.
var vrMax = map[string]int{"LO": 64, "SH": 16, "CS": 16, "PN": 192, "DA": 8, "TM": 16, "UI": 64, "IS": 12, "DT": 26}

func el(tag uint32, vr, v string) dicomdir.Element {
	v = strings.TrimSpace(v)
	if n := vrMax[vr]; n > 0 && len(v) > n {
		v = v[:n]
		for !utf8.ValidString(v) {
			v = v[:len(v)-1]
		}
	}
	if vr == "CS" {
		v = strings.ToUpper(v)
	}
	return dicomdir.Str(tag, vr, v)
}

// dicomDate turns YYYY-MM-DD (or an old YYYY.MM.DD) into a DA value, "" if it is not a date.
func dicomDate(s string) string {
	s = strings.NewReplacer("-", "", ".", "").Replace(strings.TrimSpace(s))
	if len(s) != 8 || strings.Trim(s, "0123456789") != "" {
		return ""
	}
	return s
}

// dicomTime cleans a TM value (drops the old HH:MM:SS colons), "" if it is not a time.
func dicomTime(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), ":", "")
	whole, frac, hasFrac := strings.Cut(s, ".")
	if len(whole) < 2 || len(whole) > 6 || len(whole)%2 == 1 || strings.Trim(whole, "0123456789") != "" ||
		hasFrac && (len(frac) == 0 || len(frac) > 6 || strings.Trim(frac, "0123456789") != "") {
		return ""
	}
	return s
}

const defaultDate, defaultTime = "19000101", "000000"

func patientKeys(st record.Study, in record.DicomInstance) []dicomdir.Element {
	id := cmp.Or(st.PatientID, in.PatientID)
	if id == "" {
		// dcmmkdir --invent: a made-up ID, stable for the study.
		id = "HOPAT" + strings.ToUpper(fmt.Sprintf("%x", sha256.Sum256([]byte(st.UID))))[:8]
	}
	els := []dicomdir.Element{
		el(0x00100010, "PN", cmp.Or(st.PatientName, in.PatientName)),
		el(0x00100020, "LO", id),
	}
	if d := dicomDate(cmp.Or(st.PatientBirthDate, in.PatientBirthDate)); d != "" {
		els = append(els, el(0x00100030, "DA", d))
	}
	return els
}

func studyKeys(st record.Study, in record.DicomInstance) []dicomdir.Element {
	k := dirKeys(in)
	date := cmp.Or(dicomDate(st.Date), dicomDate(k.ContentDate), defaultDate)
	studyID := k.StudyID
	if studyID == "" {
		studyID = "HOSTUDY1"
	}
	return []dicomdir.Element{
		el(0x00080020, "DA", date),
		el(0x00080030, "TM", cmp.Or(dicomTime(k.StudyTime), dicomTime(k.ContentTime), defaultTime)),
		el(0x00080050, "SH", cmp.Or(st.Accession, in.Accession)),
		el(0x00081030, "LO", cmp.Or(st.Description, in.StudyDescription)),
		el(0x0020000D, "UI", st.UID),
		el(0x00200010, "SH", studyID),
	}
}

func seriesKeys(in record.DicomInstance, se record.Series, n int) []dicomdir.Element {
	num := se.Number
	if num == 0 {
		num = n
	}
	return []dicomdir.Element{
		el(0x00080060, "CS", cmp.Or(se.Modality, in.Modality, "OT")),
		el(0x0020000E, "UI", se.UID),
		el(0x00200011, "IS", itoa(num)),
	}
}

func dirKeys(in record.DicomInstance) record.DicomDirKeys {
	if in.Dir != nil {
		return *in.Dir
	}
	return record.DicomDirKeys{}
}

// instanceRecord builds the record of one instance, of the type its SOP class asks for.
func instanceRecord(in record.DicomInstance, m record.SeriesInstanceRef, path string, n int) *dicomdir.Record {
	k := dirKeys(in)
	typ := cmp.Or(k.RecordType, "IMAGE")
	num := in.InstanceNumber
	if num == 0 {
		num = n
	}
	els := []dicomdir.Element{
		// The referenced file ID is multi-valued: one CS value per component.
		dicomdir.Str(dicomdir.TagReferencedFileID, "CS", strings.ReplaceAll(path, "/", `\`)),
		el(dicomdir.TagReferencedSOPClass, "UI", in.SOPClassUID),
		el(dicomdir.TagReferencedSOPInst, "UI", in.SOPInstanceUID),
		el(dicomdir.TagReferencedTS, "UI", in.TransferSyntax),
		el(0x00200013, "IS", itoa(num)),
	}
	contentDate := cmp.Or(dicomDate(k.ContentDate), dicomDate(in.StudyDate), defaultDate)
	contentTime := cmp.Or(dicomTime(k.ContentTime), dicomTime(k.StudyTime), defaultTime)
	concept := func() dicomdir.Element {
		code := []dicomdir.Element{
			el(0x00080100, "SH", cmp.Or(k.ConceptCode, "18748-4")),
			el(0x00080102, "SH", cmp.Or(k.ConceptScheme, "LN")),
			el(0x00080104, "LO", cmp.Or(k.ConceptMeaning, "Diagnostic imaging report")),
		}
		return dicomdir.Element{Tag: 0x0040A043, VR: "SQ", Items: [][]dicomdir.Element{code}}
	}
	switch typ {
	case "SR DOCUMENT":
		els = append(els,
			el(0x00080023, "DA", contentDate), el(0x00080033, "TM", contentTime), concept(),
			el(0x0040A491, "CS", cmp.Or(k.CompletionFlag, "PARTIAL")),
			el(0x0040A493, "CS", cmp.Or(k.VerificationFlag, "UNVERIFIED")))
		if strings.EqualFold(k.VerificationFlag, "VERIFIED") {
			els = append(els, el(0x0040A030, "DT", cmp.Or(k.VerificationDateTime, contentDate+contentTime)))
		}
	case "KEY OBJECT DOC":
		els = append(els, el(0x00080023, "DA", contentDate), el(0x00080033, "TM", contentTime), concept())
	case "WAVEFORM", "ENCAP DOC", "RAW DATA", "REGISTRATION", "FIDUCIAL", "PRESENTATION", "RT TREAT RECORD":
		els = append(els, el(0x00080023, "DA", contentDate), el(0x00080033, "TM", contentTime))
	case "RT DOSE":
		els = append(els, el(0x3004000A, "CS", cmp.Or(k.DoseSummationType, "PLAN")))
	case "RT STRUCTURE SET":
		els = append(els, el(0x30060002, "SH", cmp.Or(k.StructureSetLabel, "STRUCTURES")),
			el(0x30060008, "DA", dicomDate(k.StructureSetDate)), el(0x30060009, "TM", dicomTime(k.StructureSetTime)))
	case "RT PLAN":
		els = append(els, el(0x300A0002, "SH", cmp.Or(k.RTPlanLabel, "PLAN")),
			el(0x300A0006, "DA", dicomDate(k.RTPlanDate)), el(0x300A0007, "TM", dicomTime(k.RTPlanTime)))
	}
	return &dicomdir.Record{Type: typ, Elements: els}
}

// addCharset declares UTF-8 in a record whose values are not all ASCII.
func addCharset(r *dicomdir.Record) {
	for _, e := range r.Elements {
		if !isASCII(e.Value) {
			r.Elements = append(r.Elements, dicomdir.Str(0x00080005, "CS", "ISO_IR 192"))
			return
		}
		for _, it := range e.Items {
			for _, c := range it {
				if !isASCII(c.Value) {
					r.Elements = append(r.Elements, dicomdir.Str(0x00080005, "CS", "ISO_IR 192"))
					return
				}
			}
		}
	}
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// Part10 returns the file-set copy of an instance read from src: src
// itself when it is a conformant Part 10 file, else a new preamble and file
// meta followed by src's data set.
func Part10(in record.DicomInstance, src io.Reader) (io.Reader, error) {
	if !in.NeedsPart10 {
		return src, nil
	}
	hdr, err := dicomdir.Part10Header(in.SOPClassUID, in.SOPInstanceUID, in.TransferSyntax)
	if err != nil {
		return nil, fmt.Errorf("part 10 header: %w", err)
	}
	if _, err := io.CopyN(io.Discard, src, in.DataSetOffset); err != nil {
		return nil, fmt.Errorf("skip to the data set: %w", err)
	}
	return io.MultiReader(bytes.NewReader(hdr), src), nil
}

// Part10Size is the size of an instance's file-set copy.
func Part10Size(in record.DicomInstance, size int64) int64 {
	if !in.NeedsPart10 {
		return size
	}
	hdr, err := dicomdir.Part10Header(in.SOPClassUID, in.SOPInstanceUID, in.TransferSyntax)
	if err != nil {
		return size
	}
	return int64(len(hdr)) + size - in.DataSetOffset
}

// ValidFileID reports whether a path's components are valid PS3.10 file
// ID components: 1 to 8 characters of A-Z, 0-9 and _.
func ValidFileID(path string) bool {
	parts := strings.Split(path, "/")
	if len(parts) > 8 {
		return false
	}
	for _, p := range parts {
		if len(p) < 1 || len(p) > 8 {
			return false
		}
		for _, c := range p {
			if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
				return false
			}
		}
	}
	return slices.Index(parts, "") < 0
}
