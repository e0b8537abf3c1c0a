// Package checklist computes a case's handoff checklist: for each of the
// seven parts of a handoff file whether it is there, and what is missing or
// wrong, as findings with stable codes. It reads only the case state (the
// case, its files with what each stage learned, and the imaging index); it
// does no I/O.
package checklist

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/handoffmed/handoff/platform/clinical"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/intake/internal/understand"
)

// ReportVersion is the version of the report's format.
const ReportVersion = 1

// Finding codes. The input.* codes of rejected files (record.Code*) are
// reported as they are.
const (
	CodeSummaryMissing     = "summary.missing"
	CodeSummaryIncomplete  = "summary.incomplete"
	CodeImagingNone        = "imaging.none"
	CodeImagingNotDICOM    = "imaging.not_dicom"
	CodeImagingMismatch    = "imaging.patient_mismatch"
	CodeImagingIncomplete  = "imaging.incomplete_series"
	CodeReportMissing      = "report.missing"
	CodeReportScanned      = "report.scanned_ocr"
	CodeLabsMissing        = "labs.missing"
	CodeLabsStale          = "labs.stale"
	CodeLabsUndated        = "labs.undated"
	CodeLabsCBC            = "labs.cbc_missing"
	CodeLabsBMP            = "labs.bmp_missing"
	CodeLabsCoag           = "labs.coag_missing"
	CodeLabsHbA1c          = "labs.hba1c_missing"
	CodeLabsEKG            = "labs.ekg_missing"
	CodeLabsChestXRay      = "labs.chest_xray_missing"
	CodeSurgicalMissing    = "surgical.missing"
	CodeMedsMissing        = "meds.missing"
	CodeMedsAnticoagulant  = "meds.anticoagulant"
	CodeMedsDoseMissing    = "meds.dose_missing"
	CodeMedsNSAID          = "meds.nsaid"
	CodeIDMissing          = "id.missing"
	CodeIDNameMismatch     = "id.name_mismatch"
	CodeIDUnreadable       = "id.mrz_unreadable"
	CodeIDNotPassport      = "id.not_passport"
	CodeIDExpiry           = "id.passport_expiry"
	CodeDocPatientMismatch = "records.patient_mismatch"
	CodePortalExportDump   = "portal.export_dump"
)

// Thresholds of the rules.
const (
	labsMaxAge        = 90 // days
	longExportPages   = 20
	ekgAgeOver        = 50
	passportMinMonths = 6
)

// Checker computes reports. It holds the compiled rules of document
// understanding (to read medications typed on the case) and the clinical
// vocabulary, and is safe for concurrent use.
type Checker struct {
	an    *understand.Analyzer
	vocab *clinical.Vocabulary
}

// New returns a Checker.
func New() *Checker {
	an := understand.New()
	return &Checker{an: an, vocab: an.Vocabulary()}
}

// Compute is New().Compute: it compiles the rules on every call; keep a
// Checker where reports are computed often.
func Compute(c record.Case, files []record.File, idx *record.DicomIndex, ref time.Time) record.Report {
	return New().Compute(c, files, idx, ref)
}

// doc is a finished document with its file ID.
type doc struct {
	id string
	d  *record.Document
}

// state gathers what the rules look at.
type state struct {
	c        record.Case
	ref      time.Time
	byCat    map[string][]doc
	docs     []doc // every finished document, in file ID order
	studies  []record.Study
	pending  int
	failed   []record.File
	warnings map[string][]string // code -> file IDs
	dicomIDs []string
	findings []record.Finding
	parts    map[string]*record.PartStatus
	idx      *record.DicomIndex
	// otherPatient marks studies of another patient (by study UID).
	otherPatient map[string]bool
}

func (s *state) add(code, severity, msg string, files ...string) {
	fs := slices.Clone(files)
	sort.Strings(fs)
	fs = slices.Compact(fs)
	if fs == nil {
		fs = []string{}
	}
	s.findings = append(s.findings, record.Finding{Code: code, Severity: severity, Message: msg, Files: fs})
}

func (s *state) part(p, status string, files []string) {
	fs := slices.Clone(files)
	sort.Strings(fs)
	fs = slices.Compact(fs)
	if fs == nil {
		fs = []string{}
	}
	s.parts[p] = &record.PartStatus{Part: p, Title: clinical.PartLabel(p).EN, Status: status, Files: fs}
}

// Compute makes the checklist report of a case. ref is "now": the
// reference date for lab staleness is the case's ReferenceDate when set,
// else ref's date. idx may be nil: studies are then grouped from the files'
// DICOM headers.
func (k *Checker) Compute(c record.Case, files []record.File, idx *record.DicomIndex, ref time.Time) record.Report {
	s := &state{c: c, byCat: map[string][]doc{}, warnings: map[string][]string{}, parts: map[string]*record.PartStatus{}, otherPatient: map[string]bool{}}
	s.ref = time.Date(ref.Year(), ref.Month(), ref.Day(), 0, 0, 0, 0, time.UTC)
	if t, err := time.Parse(time.DateOnly, c.ReferenceDate); err == nil {
		s.ref = t
	}
	for i := range files {
		f := &files[i]
		switch {
		case f.Status == record.StatusFailed:
			s.failed = append(s.failed, *f)
			continue
		case f.Status == record.StatusSkipped:
			continue
		case f.Pending():
			s.pending++
			continue
		}
		for _, w := range f.Warnings {
			s.warnings[w.Code] = append(s.warnings[w.Code], f.ID)
		}
		if f.DICOM != nil && f.DICOM.DuplicateOf == "" {
			s.dicomIDs = append(s.dicomIDs, f.ID)
		}
		if f.Document != nil {
			s.docs = append(s.docs, doc{id: f.ID, d: f.Document})
		}
		if f.Document != nil && f.Document.Category != "" {
			s.byCat[f.Document.Category] = append(s.byCat[f.Document.Category], doc{id: f.ID, d: f.Document})
			// A combined document counts for the other parts its pages hold.
			for _, c := range f.Document.Also {
				if c != f.Document.Category {
					s.byCat[c] = append(s.byCat[c], doc{id: f.ID, d: f.Document})
				}
			}
		}
	}
	slices.SortStableFunc(s.docs, func(a, b doc) int { return strings.Compare(a.id, b.id) })
	if idx != nil {
		s.idx = idx
		s.studies = idx.Studies
	} else {
		s.studies = studiesFromFiles(files)
	}

	facts := k.caseFacts(s)
	s.input()
	s.summary(facts)
	s.imaging(facts)
	s.radiology()
	k.labs(s, facts)
	s.surgical(facts)
	k.medications(s, facts)
	s.identity(facts)
	s.portal(facts)

	r := record.Report{
		Version:       ReportVersion,
		CaseID:        c.ID,
		Generated:     ref.UTC(),
		ReferenceDate: s.ref.Format(time.DateOnly),
		Pending:       s.pending,
		Findings:      s.findings,
		Facts:         k.factsOf(s),
	}
	for _, p := range record.Parts {
		r.Parts = append(r.Parts, *s.parts[p])
	}
	sortFindings(r.Findings)
	if r.Findings == nil {
		r.Findings = []record.Finding{}
	}
	r.Digest = Digest(r)
	return r
}

var severityRank = map[string]int{record.SeverityError: 0, record.SeverityWarning: 1, record.SeverityInfo: 2}

func sortFindings(fs []record.Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if severityRank[a.Severity] != severityRank[b.Severity] {
			return severityRank[a.Severity] < severityRank[b.Severity]
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		return strings.Join(a.Files, ",") < strings.Join(b.Files, ",")
	})
}

// Digest identifies a report's content: its parts, findings, facts and
// pending count (not when it was generated). Facts change only when the
// documents do, so including them makes no report churn.
func Digest(r record.Report) string {
	b, _ := json.Marshal(struct {
		Ref      string              `json:"ref"`
		Pending  int                 `json:"pending"`
		Parts    []record.PartStatus `json:"parts"`
		Findings []record.Finding    `json:"findings"`
		Facts    *record.Facts       `json:"facts,omitempty"`
	}{r.ReferenceDate, r.Pending, r.Parts, r.Findings, r.Facts})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16])
}

// facts are the case facts the rules need, merged from the case fields, an
// uploaded summary and what the documents say.
type facts struct {
	age         int
	ageSource   string
	cond        record.Conditions
	condSources []string
	hasSummary  bool
	summaryDocs []string
	procedure   string
}

func (k *Checker) caseFacts(s *state) facts {
	var f facts
	c := s.c
	f.cond = c.Summary.Conditions
	f.procedure = c.Summary.Procedure
	for _, d := range s.byCat[record.CategorySummary] {
		f.summaryDocs = append(f.summaryDocs, d.id)
		if sf := d.d.SummaryFact; sf != nil {
			mergeConditions(&f.cond, sf.Conditions)
			if f.procedure == "" {
				f.procedure = sf.Procedure
			}
			if f.age == 0 && sf.Age > 0 {
				f.age, f.ageSource = sf.Age, "summary"
			}
		}
	}
	f.hasSummary = len(f.summaryDocs) > 0 || summaryFilled(c.Summary)
	switch {
	case c.Summary.Age > 0:
		f.age, f.ageSource = c.Summary.Age, "case"
	case c.Patient.BirthDate != "":
		if a, ok := ageAt(c.Patient.BirthDate, s.ref); ok {
			f.age, f.ageSource = a, "case"
		}
	}
	if f.age == 0 {
		// A birth date printed on the passport or the records.
		for _, d := range s.byCat[record.CategoryPassport] {
			if p := d.d.Passport; p != nil && p.Valid {
				if a, ok := ageAt(p.BirthDate, s.ref); ok {
					f.age, f.ageSource = a, "passport"
				}
			}
		}
	}
	if f.age == 0 {
		for _, st := range s.studies {
			if a, ok := ageAt(st.PatientBirthDate, s.ref); ok {
				f.age, f.ageSource = a, "imaging"
				break
			}
		}
	}
	if f.age == 0 {
		for _, cat := range sortedCats(s.byCat) {
			for _, d := range s.byCat[cat] {
				for _, b := range d.d.BirthDates {
					if a, ok := ageAt(b, s.ref); ok && f.age == 0 {
						f.age, f.ageSource = a, "records"
					}
				}
			}
		}
	}
	// Medications that say what the patient is treated for.
	for _, m := range k.allMeds(s, true) {
		d, ok := k.vocab.Medication(m.med)
		if !ok {
			continue
		}
		switch d.Class {
		case clinical.ClassAntidiabetic:
			if !f.cond.Diabetes && !f.cond.Prediabetes {
				f.cond.Diabetes = true
				f.condSources = append(f.condSources, "diabetes medication")
			}
		case clinical.ClassInhaledRespiratory:
			if !f.cond.Respiratory {
				f.cond.Respiratory = true
				f.condSources = append(f.condSources, "inhaler")
			}
		}
	}
	// Current problems of a problem list, and prior operations among the
	// procedures the records list.
	for _, d := range s.docs {
		for _, p := range d.d.Problems {
			if !clinical.ActiveProblem(p.Status) {
				continue
			}
			key, ok := k.vocab.Problem(p)
			if !ok {
				continue
			}
			switch key {
			case clinical.ConditionDiabetes:
				f.cond.Diabetes = true
			case clinical.ConditionPrediabetes:
				f.cond.Prediabetes = true
			case clinical.ConditionCardiac:
				f.cond.HeartDisease = true
			case clinical.ConditionRespiratory:
				f.cond.Respiratory = true
			}
			f.condSources = append(f.condSources, "problem list")
		}
		for _, p := range d.d.Procedures {
			if k.vocab.Surgical(p.Name) && !slices.Contains(f.cond.PriorSurgeries, p.Name) {
				f.cond.PriorSurgeries = append(slices.Clone(f.cond.PriorSurgeries), p.Name)
			}
		}
	}
	return f
}

func sortedCats(m map[string][]doc) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func summaryFilled(s record.Summary) bool {
	return s.Procedure != "" || s.SymptomHistory != "" || s.USRecommendation != "" || s.ReasonAbroad != ""
}

func mergeConditions(dst *record.Conditions, src record.Conditions) {
	dst.Diabetes = dst.Diabetes || src.Diabetes
	dst.Prediabetes = dst.Prediabetes || src.Prediabetes
	dst.HeartDisease = dst.HeartDisease || src.HeartDisease
	dst.Respiratory = dst.Respiratory || src.Respiratory
	dst.BloodThinners = dst.BloodThinners || src.BloodThinners
	if len(dst.PriorSurgeries) == 0 {
		dst.PriorSurgeries = src.PriorSurgeries
	}
}

func ageAt(dob string, ref time.Time) (int, bool) {
	t, err := time.Parse(time.DateOnly, dob)
	if err != nil || t.After(ref) {
		return 0, false
	}
	a := ref.Year() - t.Year()
	if ref.Month() < t.Month() || ref.Month() == t.Month() && ref.Day() < t.Day() {
		a--
	}
	return a, a >= 0 && a < 125
}

func ids(ds []doc) []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.id)
	}
	return out
}

// input reports rejected files by their input code.
func (s *state) input() {
	byCode := map[string][]string{}
	msgs := map[string]map[string]bool{}
	for _, f := range s.failed {
		code := record.CodeUnreadable
		if f.Error != nil && f.Error.Code != "" {
			code = f.Error.Code
		}
		byCode[code] = append(byCode[code], f.ID)
		if msgs[code] == nil {
			msgs[code] = map[string]bool{}
		}
		if f.Error != nil {
			msgs[code][f.Error.Message] = true
		}
	}
	for _, code := range sortedKeys(byCode) {
		fs := byCode[code]
		msg := inputMessage(code, len(fs))
		// The stage's own words when every file of the code has the same
		// (they say what is wrong and never quote patient data).
		if len(msgs[code]) == 1 {
			for m := range msgs[code] {
				if m != "" {
					msg = plural(len(fs), "file was", "files were") + " rejected: " + strings.TrimSuffix(m, ".") + ". The original is kept."
				}
			}
		}
		s.add(code, record.SeverityWarning, msg, fs...)
	}
	for _, code := range sortedKeys(s.warnings) {
		fs := s.warnings[code]
		s.add(code, record.SeverityInfo, plural(len(fs), "file has", "files have")+" a processing warning of this kind; they are still used.", fs...)
	}
}

func inputMessage(code string, n int) string {
	what := plural(n, "file was", "files were") + " rejected"
	why := map[string]string{
		record.CodeEmpty:         "the file is empty",
		record.CodeUnreadable:    "the file is damaged or cannot be read",
		record.CodeEncrypted:     "the file is password-protected; upload a copy without a password",
		record.CodeUnsafeArchive: "the archive holds unsafe paths",
		record.CodeArchiveBomb:   "the archive expands to far more than it holds",
		record.CodeUnknownType:   "the file is not a PDF, picture, DICOM or ZIP archive",
		record.CodeTooLarge:      "the file is larger than the limit",
		record.CodeBadName:       "the file name cannot be used",
		record.CodeTooManyPages:  "the document has more pages than the limit",
		record.CodePageTooLarge:  "a page is larger than the limit",
		record.CodeTimeout:       "processing the file took too long",
	}[code]
	if why == "" {
		why = "the file could not be processed"
	}
	return what + ": " + why + ". The original is kept; upload a readable copy if it matters."
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func (s *state) summary(f facts) {
	switch {
	case !f.hasSummary:
		s.add(CodeSummaryMissing, record.SeverityError,
			"No case summary: fill in the case summary fields (age, height, weight, allergies, the exact procedure sought, symptom history, the US recommendation and cost, why abroad, complicating conditions) or upload a one-page summary.")
		s.part(record.PartSummary, record.PartMissing, nil)
	case f.procedure == "" && len(f.summaryDocs) == 0:
		s.add(CodeSummaryIncomplete, record.SeverityWarning,
			"The case summary does not name the exact procedure or evaluation sought (for example \"total right hip replacement\").", f.summaryDocs...)
		s.part(record.PartSummary, record.PartWarning, f.summaryDocs)
	default:
		s.part(record.PartSummary, record.PartOK, f.summaryDocs)
	}
}
