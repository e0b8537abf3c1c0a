package checklist

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/handoffmed/handoff/platform/record"
)

// studiesFromFiles groups DICOM headers into studies when there is no index.
func studiesFromFiles(files []record.File) []record.Study {
	byUID := map[string]*record.Study{}
	var order []string
	for _, f := range files {
		d := f.DICOM
		if d == nil || d.DuplicateOf != "" || !record.Terminal(f.Status) || f.Status == record.StatusFailed {
			continue
		}
		st := byUID[d.StudyUID]
		if st == nil {
			st = &record.Study{UID: d.StudyUID, Date: d.StudyDate, Description: d.StudyDescription, Accession: d.Accession,
				PatientName: d.PatientName, PatientID: d.PatientID, PatientBirthDate: d.PatientBirthDate, PatientSex: d.PatientSex}
			byUID[d.StudyUID] = st
			order = append(order, d.StudyUID)
		}
		i := slices.IndexFunc(st.Series, func(s record.Series) bool { return s.UID == d.SeriesUID })
		if i < 0 {
			st.Series = append(st.Series, record.Series{UID: d.SeriesUID, Number: d.SeriesNumber, Modality: d.Modality,
				BodyPart: d.BodyPart, Laterality: d.Laterality, Description: d.SeriesDescription})
			i = len(st.Series) - 1
		}
		se := &st.Series[i]
		se.Instances++
		se.Frames += max(d.Frames, 1)
		se.Declared = max(se.Declared, d.Declared)
		se.Members = append(se.Members, record.SeriesInstanceRef{FileID: f.ID, SOPClassUID: d.SOPClassUID,
			SOPInstanceUID: d.SOPInstanceUID, Number: d.InstanceNumber, Size: f.Size})
	}
	sort.Strings(order)
	out := make([]record.Study, 0, len(order))
	for _, uid := range order {
		out = append(out, *byUID[uid])
	}
	return out
}

func studyFiles(st record.Study) []string {
	var out []string
	for _, se := range st.Series {
		for _, m := range se.Members {
			out = append(out, m.FileID)
		}
	}
	return out
}

// secondaryCaptureOnly reports whether every instance of a study is a
// secondary capture (a screenshot saved as DICOM).
func secondaryCaptureOnly(st record.Study) bool {
	n := 0
	for _, se := range st.Series {
		for _, m := range se.Members {
			n++
			if !se.SecondaryCapture && !strings.HasPrefix(m.SOPClassUID, "1.2.840.10008.5.1.4.1.1.7") {
				return false
			}
		}
	}
	return n > 0
}

func studyPerson(st record.Study) person {
	return person{tokens: nameTokens(st.PatientName), dob: st.PatientBirthDate}
}

// anchor is the identity the records are checked against: the case's
// patient fields, else the passport, else the identity most studies carry.
func (s *state) anchor() (person, bool) {
	if p := s.c.Patient; p.FamilyName != "" || p.GivenName != "" {
		return person{tokens: nameTokens(p.GivenName + " " + p.FamilyName), dob: p.BirthDate}, true
	}
	if pp, _ := s.passport(); pp != nil {
		return person{tokens: nameTokens(pp.GivenNames + " " + pp.Surname), dob: pp.BirthDate}, true
	}
	// The identity of most imaging instances.
	best, bestN := person{}, 0
	for _, st := range s.studies {
		n := len(studyFiles(st))
		if st.PatientName != "" && n > bestN {
			best, bestN = studyPerson(st), n
		}
	}
	return best, bestN > 0
}

// passport returns the first passport with a verified zone.
func (s *state) passport() (*record.Passport, string) {
	for _, d := range s.byCat[record.CategoryPassport] {
		if p := d.d.Passport; p != nil && p.Valid {
			return p, d.id
		}
	}
	return nil, ""
}

func (s *state) imaging(f facts) {
	pictures := ids(s.byCat[record.CategoryImagingPicture])
	var diagnostic []record.Study
	var captures []string
	for _, st := range s.studies {
		if secondaryCaptureOnly(st) {
			captures = append(captures, studyFiles(st)...)
			continue
		}
		diagnostic = append(diagnostic, st)
	}
	if len(diagnostic) == 0 {
		switch {
		case len(pictures)+len(captures) > 0:
			s.add(CodeImagingNotDICOM, record.SeverityError,
				"Imaging is here only as pictures or screenshots, which hospitals do not accept as diagnostic. Ask the imaging center for the original DICOM files (a CD, USB drive or download link) and upload them.",
				append(pictures, captures...)...)
			s.part(record.PartImaging, record.PartMissing, append(pictures, captures...))
		default:
			msg := "No imaging: upload the original DICOM files of your scans (from the imaging center's CD, USB drive or download link)."
			if len(s.byCat[record.CategoryRadiologyReport]) > 0 {
				msg = "There are radiology reports but no images: the surgeon needs the original DICOM files to plan. Upload them from the imaging center's CD, USB drive or download link."
			}
			s.add(CodeImagingNone, record.SeverityError, msg, ids(s.byCat[record.CategoryRadiologyReport])...)
			s.part(record.PartImaging, record.PartMissing, nil)
		}
		return
	}
	status := record.PartOK
	// Studies of another person: not part of this case (no report needed,
	// not compared with the passport).
	if ref, ok := s.anchor(); ok {
		for _, st := range diagnostic {
			if (st.PatientName != "" || st.PatientBirthDate != "") && compare(ref, studyPerson(st)) == relOther {
				s.otherPatient[st.UID] = true
			}
		}
	}
	if s.idx != nil {
		// The DICOM service's imaging checks, as it stored them.
		for _, f := range s.idx.Findings {
			if !strings.HasPrefix(f.Code, "imaging.") {
				continue
			}
			s.add(f.Code, f.Severity, f.Message, f.Files...)
			if f.Severity != record.SeverityInfo {
				status = record.PartWarning
			}
		}
	} else if s.imagingChecks(diagnostic) {
		status = record.PartWarning
	}
	s.part(record.PartImaging, status, s.dicomIDs)
}

// imagingChecks applies the DICOM service's imaging rules when there is no
// index to read them from: a series whose patient differs from the case's
// patient fields (or, without them, from the identity most series share),
// and incomplete series.
func (s *state) imagingChecks(diagnostic []record.Study) bool {
	found := false
	var mismatched []string
	p := s.c.Patient
	if p.FamilyName != "" || p.GivenName != "" || p.BirthDate != "" {
		want := person{tokens: nameTokens(p.GivenName + " " + p.FamilyName), dob: p.BirthDate}
		for _, st := range diagnostic {
			got := studyPerson(st)
			if len(want.tokens) > 0 && len(got.tokens) > 0 && !sameName(want.tokens, got.tokens) ||
				want.dob != "" && got.dob != "" && want.dob != got.dob {
				mismatched = append(mismatched, studyFiles(st)...)
			}
		}
	} else {
		votes := map[string]int{}
		key := func(st record.Study) string {
			return strings.Join(nameTokens(st.PatientName), " ") + "|" + st.PatientID + "|" + st.PatientBirthDate
		}
		for _, st := range diagnostic {
			votes[key(st)] += len(st.Series)
		}
		major, best := "", 0
		for _, k := range sortedKeys(votes) {
			if votes[k] > best {
				major, best = k, votes[k]
			}
		}
		for _, st := range diagnostic {
			if len(votes) > 1 && key(st) != major {
				mismatched = append(mismatched, studyFiles(st)...)
			}
		}
	}
	if len(mismatched) > 0 {
		s.add(CodeImagingMismatch, record.SeverityError,
			"Some imaging does not match the case's patient (the name or birth date in the DICOM files differs). Remove scans of another person, or correct the records.",
			mismatched...)
		found = true
	}
	for _, st := range diagnostic {
		for _, se := range st.Series {
			// Missing is the index's one reading of gaps in the image
			// numbers (dicom.MissingNumbers).
			if se.Declared > 0 && se.Instances < se.Declared || len(se.Missing) > 0 {
				s.add(CodeImagingIncomplete, record.SeverityWarning,
					"A series has fewer images than it declares or gaps in its image numbers: some files of the scan are missing. Upload the whole series from the imaging CD or download.",
					memberIDs(se.Members)...)
				found = true
			}
		}
	}
	return found
}

func memberIDs(ms []record.SeriesInstanceRef) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.FileID)
	}
	return out
}

// DICOM modality codes as radiology reports name them.
var modalityNames = map[string]string{
	"MR": "MRI", "CT": "CT", "CR": "XRay", "DX": "XRay", "DR": "XRay", "US": "US", "PT": "PET", "NM": "NM",
	"MG": "Mammo", "XA": "Fluoro", "RF": "Fluoro",
}

// bodyKeys in order of precedence: a joint before the region around it.
var bodyKeys = []string{"hip", "knee", "shoulder", "ankle", "foot", "wrist", "hand", "elbow", "spine", "heart", "brain",
	"head", "breast", "chest", "abdomen", "pelvis", "neck"}

// bodyWords maps words of body parts, exams and procedures to a key.
var bodyWords = map[string]string{
	"spine": "spine", "spinal": "spine", "lspine": "spine", "cspine": "spine", "tspine": "spine", "lumbar": "spine",
	"cervical": "spine", "thoracic": "spine", "lumbosacral": "spine", "laminectomy": "spine", "discectomy": "spine",
	"microdiscectomy": "spine", "vertebra": "spine", "vertebral": "spine",
	"brain": "brain", "head": "head", "skull": "head",
	"chest": "chest", "thorax": "chest", "lung": "chest", "lungs": "chest", "cxr": "chest",
	"heart": "heart", "cardiac": "heart", "coronary": "heart", "stent": "heart", "stents": "heart", "cabg": "heart",
	"valve": "heart", "aortic": "heart", "mitral": "heart",
	"abdomen": "abdomen", "abdominal": "abdomen", "gastric": "abdomen", "stomach": "abdomen", "gallbladder": "abdomen",
	"cholecystectomy": "abdomen", "hernia": "abdomen", "colon": "abdomen", "appendectomy": "abdomen", "liver": "abdomen",
	"pelvis": "pelvis", "pelvic": "pelvis",
	"hip": "hip", "hips": "hip", "acetabulum": "hip", "acetabular": "hip", "femoral": "hip",
	"knee": "knee", "knees": "knee", "meniscus": "knee", "meniscal": "knee", "meniscectomy": "knee", "acl": "knee", "patella": "knee",
	"shoulder": "shoulder", "shoulders": "shoulder", "rotator": "shoulder", "supraspinatus": "shoulder",
	"ankle": "ankle", "ankles": "ankle", "foot": "foot", "feet": "foot", "wrist": "wrist", "hand": "hand", "hands": "hand",
	"elbow": "elbow", "neck": "neck", "breast": "breast", "breasts": "breast",
}

// bodyKey reduces a body part, exam or procedure text to one key word: the
// most specific part it names ("MRI PELVIS AND RIGHT HIP" is a hip exam).
func bodyKey(s string) string {
	found := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return r < 'a' || r > 'z' }) {
		if k, ok := bodyWords[w]; ok {
			found[k] = true
		}
	}
	for _, k := range bodyKeys {
		if found[k] {
			return k
		}
	}
	return ""
}

func studyModality(st record.Study) string {
	for _, se := range st.Series {
		if m := modalityNames[se.Modality]; m != "" {
			return m
		}
	}
	return ""
}

func studyBody(st record.Study) string {
	parts := []string{st.Description}
	for _, se := range st.Series {
		parts = append(parts, se.BodyPart, se.Description)
	}
	return bodyKey(strings.Join(parts, " "))
}

func (s *state) radiology() {
	reports := s.byCat[record.CategoryRadiologyReport]
	cxr := s.byCat[record.CategoryChestXRay]
	var diagnostic []record.Study
	for _, st := range s.studies {
		if !secondaryCaptureOnly(st) && !s.otherPatient[st.UID] {
			diagnostic = append(diagnostic, st)
		}
	}
	candidates := append(slices.Clone(reports), cxr...)
	used := make([]bool, len(candidates))
	match := func(pred func(st record.Study, d *record.Document) bool, st record.Study) bool {
		for i, c := range candidates {
			if !used[i] && pred(st, c.d) {
				used[i] = true
				return true
			}
		}
		return false
	}
	var unreported []record.Study
	rest := slices.Clone(diagnostic)
	passes := []func(st record.Study, d *record.Document) bool{
		func(st record.Study, d *record.Document) bool {
			return d.Date != "" && d.Date == st.Date && (d.Modality == "" || studyModality(st) == "" || d.Modality == studyModality(st))
		},
		func(st record.Study, d *record.Document) bool {
			return d.Modality != "" && d.Modality == studyModality(st) && bodyKey(d.BodyPart) != "" && bodyKey(d.BodyPart) == studyBody(st)
		},
		func(st record.Study, d *record.Document) bool {
			return d.Date != "" && st.Date != "" && daysBetween(d.Date, st.Date) <= 3 && (d.Modality == "" || d.Modality == studyModality(st))
		},
		func(st record.Study, d *record.Document) bool {
			return (d.Modality == "" || studyModality(st) == "" || d.Modality == studyModality(st)) && (d.Date == "" || st.Date == "")
		},
	}
	for _, pass := range passes {
		var left []record.Study
		for _, st := range rest {
			if !match(pass, st) {
				left = append(left, st)
			}
		}
		rest = left
	}
	unreported = rest
	files := ids(reports)
	status := record.PartOK
	switch {
	case len(reports) == 0 && len(diagnostic) == 0:
		status = record.PartMissing
	case len(unreported) > 0:
		var fs []string
		for _, st := range unreported {
			fs = append(fs, studyFiles(st)...)
		}
		if len(reports)+len(cxr) == 0 {
			s.add(CodeReportMissing, record.SeverityError,
				"There are DICOM scans but no radiology report: ask the imaging center for the radiologist's written report of each scan (as a PDF).", fs...)
			status = record.PartMissing
		} else {
			s.add(CodeReportMissing, record.SeverityWarning,
				plural(len(unreported), "scan has", "scans have")+" no matching radiology report: ask the imaging center for the radiologist's written report of each scan (as a PDF).", fs...)
			status = record.PartWarning
		}
	}
	var scanned []string
	for _, d := range append(slices.Clone(reports), cxr...) {
		if len(d.d.OCRPages) > 0 {
			scanned = append(scanned, d.id)
		}
	}
	if len(scanned) > 0 {
		s.add(CodeReportScanned, record.SeverityInfo,
			plural(len(scanned), "radiology report was a scan; it was", "radiology reports were scans; they were")+" made searchable with OCR.", scanned...)
	}
	s.part(record.PartRadiology, status, files)
}

func daysBetween(a, b string) int {
	ta, err1 := time.Parse(time.DateOnly, a)
	tb, err2 := time.Parse(time.DateOnly, b)
	if err1 != nil || err2 != nil {
		return 1 << 30
	}
	d := int(ta.Sub(tb).Hours() / 24)
	if d < 0 {
		d = -d
	}
	return d
}

func (s *state) surgical(f facts) {
	ops := s.byCat[record.CategoryOperativeNote]
	switch {
	case len(ops) > 0:
		s.part(record.PartSurgical, record.PartOK, ids(ops))
	case relevantSurgery(f.procedure, f.cond.PriorSurgeries):
		s.add(CodeSurgicalMissing, record.SeverityWarning,
			"Prior surgery is declared but there is no operative report: add the operative note (1-3 pages) of prior procedures relevant to this one.")
		s.part(record.PartSurgical, record.PartMissing, nil)
	default:
		// Nothing declared, nothing needed.
		s.part(record.PartSurgical, record.PartOK, nil)
	}
}

// relevantSurgery reports whether a declared prior surgery concerns the
// body part or organ system of the procedure sought (a prior knee
// arthroscopy before a knee replacement, a stent before heart surgery).
// Without a procedure to compare with, any declared surgery counts.
func relevantSurgery(procedure string, prior []string) bool {
	if len(prior) == 0 {
		return false
	}
	want := bodyKey(procedure)
	if strings.TrimSpace(procedure) == "" {
		return true
	}
	if want == "" {
		return false
	}
	for _, p := range prior {
		if bodyKey(p) == want {
			return true
		}
	}
	return false
}

func (s *state) portal(f facts) {
	if f.hasSummary {
		return
	}
	var long []string
	for _, d := range s.byCat[record.CategoryPortalExport] {
		if d.d.Pages >= longExportPages {
			long = append(long, d.id)
		}
	}
	if len(long) > 0 {
		s.add(CodePortalExportDump, record.SeverityWarning,
			"A long patient-portal export was uploaded with no case summary: the specialist abroad will not read it. Write the one-page case summary and upload the specific documents the checklist asks for (imaging, reports, recent labs, medications).", long...)
	}
}
