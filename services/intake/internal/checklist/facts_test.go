package checklist

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/handoffmed/handoff/platform/clinical"
	"github.com/handoffmed/handoff/platform/record"
)

// referral is a portal export shaped like what the C-CDA reader gives for
// the Cerner transition-of-care referral summary: current medications with
// doses, diabetes and angina on the problem list, dated results, vitals.
func referral(resultDate string) record.Document {
	return record.Document{
		Category: record.CategoryPortalExport, Format: record.FormatCCDA, Names: []string{"Jane Doe"}, BirthDates: []string{"1958-03-14"},
		Medications: []record.Medication{
			{Name: "Aspirin 81 MG Oral Tablet", RxNorm: "243670", Dose: "81 mg", Frequency: "once daily", Route: "oral", Start: "2013-07-10", Status: "active"},
			{Name: "atorvastatin 40 MG Oral Tablet", RxNorm: "617311", Dose: "40 mg", Frequency: "once daily", Route: "oral", Status: "active"},
			{Name: "Insulin Glargine 100 UNT/ML Injectable Solution [Lantus]", Dose: "30 units", Frequency: "at bedtime", Route: "subcutaneous", Status: "active"},
			{Name: "NovoLog", Dose: "15 units", Frequency: "TIDAC", Route: "subcutaneous", Status: "active"},
			{Name: "Warfarin 5 MG Oral Tablet", Dose: "5 mg", Status: "completed", Stop: "2012-01-01"},
		},
		Problems: []record.Problem{
			{Name: "Angina", Code: "194828000", System: "2.16.840.1.113883.6.96", Status: "active"},
			{Name: "Diabetes mellitus type 2", Code: "44054006", System: "2.16.840.1.113883.6.96", Status: "active"},
			{Name: "Asthma", Code: "195967001", System: "2.16.840.1.113883.6.96", Status: "resolved"},
		},
		Labs: []record.LabResult{
			{Name: "Sodium Level", LOINC: "2947-0", Value: "135", Unit: "mmol/L", Range: "135-145", Date: resultDate},
			{Name: "Potassium Level", LOINC: "6298-4", Value: "3.5", Unit: "mmol/L", Range: "3.5-5.0", Date: resultDate},
			{Name: "Glucose, Random", LOINC: "2339-0", Value: "185", Unit: "mg/dL", Range: "65-110", Flag: "H", Date: resultDate},
			{Name: "Creatinine", LOINC: "38483-4", Value: ".8", Unit: "mg/dL", Date: resultDate},
			{Name: "HGB", LOINC: "718-7", Value: "13.2", Unit: "g/dL", Date: resultDate},
			{Name: "WBC", LOINC: "6690-2", Value: "6.1", Date: resultDate},
			{Name: "Platelets", LOINC: "777-3", Value: "250", Date: resultDate},
			{Name: "INR", LOINC: "6301-6", Value: "1.0", Date: resultDate},
		},
		Procedures: []record.Procedure{{Name: "Electrocardiographic procedure", Date: "2013-07-10"}, {Name: "Intranasal oxygen therapy"}},
		Allergies:  []record.Allergy{{Name: "codeine", Reaction: "Nausea"}, {Name: "penicillin G benzathine", Reaction: "Hives"}},
		Vitals:     []record.Vital{{Name: "Height", LOINC: "8302-2", Value: "178", Unit: "cm", Date: resultDate}},
	}
}

func ccdaCase(resultDate string) (record.Case, []record.File) {
	c, files := complete()
	// No medication typed on the case, no lab report: the portal export is
	// the only source of both.
	c.Summary.Medications = nil
	files = slices.DeleteFunc(files, func(f record.File) bool { return f.ID == "lab" })
	return c, append(files, docFile("ccda", referral(resultDate)))
}

func TestCCDAFacts(t *testing.T) {
	c, files := ccdaCase("2026-10-20")
	r := New().Compute(c, files, nil, refTime)
	got := codes(r)
	for _, want := range []string{CodeMedsAnticoagulant, CodeLabsHbA1c} {
		if !slices.Contains(got, want) {
			t.Errorf("got codes %v, want %s", got, want)
		}
	}
	for _, absent := range []string{CodeMedsMissing, CodeMedsDoseMissing, CodeLabsMissing, CodeLabsUndated, CodeLabsStale,
		CodeLabsCBC, CodeLabsBMP, CodeLabsCoag, CodeSurgicalMissing, CodeLabsChestXRay} {
		if slices.Contains(got, absent) {
			t.Errorf("got codes %v: %s must not appear", got, absent)
		}
	}
	for _, f := range r.Findings {
		if f.Code == CodeMedsAnticoagulant && (!strings.Contains(f.Message, "aspirin") || strings.Contains(f.Message, "warfarin")) {
			t.Errorf("meds.anticoagulant names the current aspirin, not the stopped warfarin: %q", f.Message)
		}
	}
	if r.Facts == nil {
		t.Fatal("report has no facts")
	}
	var meds []string
	for _, m := range r.Facts.Medications {
		meds = append(meds, m.Generic+"|"+m.Dose+"|"+m.File)
	}
	if diff := cmp.Diff([]string{"aspirin|81 mg|ccda", "atorvastatin|40 mg|ccda", "insulin|30 units|ccda"}, meds); diff != "" {
		t.Errorf("medication facts (-want +got):\n%s", diff)
	}
	if m := r.Facts.Medications[0]; !m.Anticoagulant || m.Class != clinical.ClassAntiplatelet {
		t.Errorf("aspirin fact: got %+v, want flagged as antiplatelet", m)
	}
	if n := len(r.Facts.Labs); n != 8 {
		t.Errorf("got %d lab facts, want 8", n)
	}
	for _, l := range r.Facts.Labs {
		if l.Panel == "" || l.File != "ccda" {
			t.Errorf("lab fact %+v: want a panel from the vocabulary and the file", l)
		}
	}
	if n := len(r.Facts.Problems); n != 3 || len(r.Facts.Allergies) != 2 || len(r.Facts.Procedures) != 2 || len(r.Facts.Vitals) != 1 {
		t.Errorf("got %d problems, %d allergies, %d procedures, %d vitals; want 3, 2, 2, 1", n, len(r.Facts.Allergies), len(r.Facts.Procedures), len(r.Facts.Vitals))
	}
	// The medication list part is the portal export.
	for _, p := range r.Parts {
		if p.Part == record.PartMedications && !slices.Contains(p.Files, "ccda") {
			t.Errorf("medications part files %v, want the portal export", p.Files)
		}
	}
}

func TestCCDAHbA1cRecent(t *testing.T) {
	c, files := ccdaCase("2026-10-20")
	d := files[len(files)-1].Document
	d.Labs = append(d.Labs, record.LabResult{Name: "Hemoglobin A1c/Hemoglobin.total in Blood", LOINC: "4548-4", Value: "7.9", Unit: "%", Date: "2026-09-01"})
	got := codes(New().Compute(c, files, nil, refTime))
	if slices.Contains(got, CodeLabsHbA1c) {
		t.Errorf("got codes %v: an HbA1c within 90 days satisfies the diabetic's HbA1c", got)
	}
}

func TestCCDAStaleResults(t *testing.T) {
	c, files := ccdaCase("2013-07-10")
	got := codes(New().Compute(c, files, nil, refTime))
	if !slices.Contains(got, CodeLabsStale) || slices.Contains(got, CodeLabsMissing) || slices.Contains(got, CodeLabsUndated) {
		t.Errorf("got codes %v, want labs.stale (results of 2013), neither missing nor undated", got)
	}
}

func TestLabReportWithDatedResults(t *testing.T) {
	c, files := complete()
	for i := range files {
		if files[i].ID == "lab" {
			d := files[i].Document
			d.Date, d.Panels = "", nil
			d.Labs = []record.LabResult{
				{Name: "Hemoglobin", Value: "13.1", Date: "2026-10-02"}, {Name: "WBC", Value: "6", Date: "2026-10-02"},
				{Name: "Creatinine", Value: "0.9", Date: "2026-10-02"}, {Name: "INR", Value: "1.0", Date: "2026-10-02"},
			}
		}
	}
	got := codes(New().Compute(c, files, nil, refTime))
	if len(got) != 0 {
		t.Errorf("got codes %v, want none (every result dated, panels from the result names)", got)
	}
	// One undated result makes the report undated.
	for i := range files {
		if files[i].ID == "lab" {
			files[i].Document.Labs = append(files[i].Document.Labs, record.LabResult{Name: "Platelets", Value: "240"})
		}
	}
	if got := codes(New().Compute(c, files, nil, refTime)); !slices.Contains(got, CodeLabsUndated) {
		t.Errorf("got codes %v, want labs.undated", got)
	}
}

func TestProblemsAndProcedures(t *testing.T) {
	tests := []struct {
		name  string
		doc   record.Document
		proc  string
		want  []string
		avoid []string
	}{
		{"active COPD needs a chest X-ray", record.Document{Category: record.CategoryOther, Problems: []record.Problem{{Name: "COPD", Code: "J44.9", System: "ICD-10-CM"}}},
			"", []string{CodeLabsChestXRay}, nil},
		{"resolved asthma does not", record.Document{Category: record.CategoryOther, Problems: []record.Problem{{Name: "Asthma", Status: "resolved"}}},
			"", nil, []string{CodeLabsChestXRay}},
		{"prediabetes by name", record.Document{Category: record.CategoryOther, Problems: []record.Problem{{Name: "Prediabetes"}}},
			"", []string{CodeLabsHbA1c}, nil},
		{"a prior hip operation needs its note", record.Document{Category: record.CategoryOther, Procedures: []record.Procedure{{Name: "Arthroscopy of right hip", Date: "2018-05-01"}}},
			"Total right hip replacement", []string{CodeSurgicalMissing}, nil},
		{"an EKG is no surgery", record.Document{Category: record.CategoryOther, Procedures: []record.Procedure{{Name: "Electrocardiographic procedure"}}},
			"", nil, []string{CodeSurgicalMissing}},
		{"an EKG result counts as the EKG", record.Document{Category: record.CategoryOther, Labs: []record.LabResult{{Name: "EKG 12 channel panel", LOINC: "34534-8", Value: "Normal sinus rhythm", Date: "2026-10-15"}}},
			"", nil, []string{CodeLabsEKG}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, files := complete()
			c.Summary.Procedure = tc.proc
			if tc.name == "an EKG result counts as the EKG" {
				files = slices.DeleteFunc(files, func(f record.File) bool { return f.ID == "ekg" })
			}
			files = append(files, docFile("zz", tc.doc))
			got := codes(New().Compute(c, files, nil, refTime))
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("got codes %v, want %s", got, w)
				}
			}
			for _, a := range tc.avoid {
				if slices.Contains(got, a) {
					t.Errorf("got codes %v, %s must not appear", got, a)
				}
			}
		})
	}
}

func TestFactsDeduplicated(t *testing.T) {
	c, files := complete()
	c.Summary.Medications = []string{"Eliquis", "metoprolol 25 mg daily"}
	files = append(files,
		docFile("list", record.Document{Category: record.CategoryMedicationList, Medications: []record.Medication{
			{Name: "apixaban", Generic: "apixaban", Dose: "5 mg", Frequency: "twice daily", Class: record.MedAnticoagulant}}}),
		docFile("portal", record.Document{Category: record.CategoryPortalExport, Format: record.FormatCCDA,
			Medications: []record.Medication{{Name: "apixaban 5 MG Oral Tablet [Eliquis]", Dose: "5 mg"}},
			Labs:        []record.LabResult{{Name: "HGB", LOINC: "718-7", Value: "13.2", Unit: "g/dL", Date: "2026-10-02"}}}),
		docFile("table", record.Document{Category: record.CategoryLabReport, Date: "2026-10-02",
			Labs: []record.LabResult{{Name: "Hemoglobin", Value: "13.2", Date: "2026-10-02"}}}),
	)
	r := New().Compute(c, files, nil, refTime)
	var apixaban []record.MedicationFact
	for _, m := range r.Facts.Medications {
		if m.Generic == "apixaban" {
			apixaban = append(apixaban, m)
		}
	}
	if len(apixaban) != 1 || apixaban[0].File != "list" || apixaban[0].Frequency != "twice daily" || !apixaban[0].Anticoagulant {
		t.Errorf("apixaban facts: got %+v, want one, the most complete (from the medication list), flagged", apixaban)
	}
	if n := len(r.Facts.Labs); n != 1 || r.Facts.Labs[0].LOINC != "718-7" {
		t.Errorf("got lab facts %+v, want one haemoglobin, the coded one", r.Facts.Labs)
	}
	// The same inputs in another order give the same report.
	slices.Reverse(files)
	if d := New().Compute(c, files, nil, refTime).Digest; d != r.Digest {
		t.Errorf("digest depends on the order of the files")
	}
}

// TestEveryDrugFlagged checks, for every name of every drug in the
// vocabulary, that the checklist flags it (meds.anticoagulant, a flagged
// fact) exactly when the vocabulary says it affects clotting: the summary
// highlights from the same vocabulary and the same facts.
func TestEveryDrugFlagged(t *testing.T) {
	k := New()
	v := clinical.New()
	c, files := complete()
	for _, d := range v.Drugs() {
		for _, name := range append([]string{d.Generic}, d.Names...) {
			c.Summary.Medications = []string{name + " 10 mg daily"}
			r := k.Compute(c, files, nil, refTime)
			flagged := slices.Contains(codes(r), CodeMedsAnticoagulant)
			if flagged != d.AffectsClotting() {
				t.Errorf("%q (%s): flagged %v, want %v", name, d.Generic, flagged, d.AffectsClotting())
			}
			if len(r.Facts.Medications) != 1 || r.Facts.Medications[0].Anticoagulant != d.AffectsClotting() || r.Facts.Medications[0].Generic != d.Generic {
				t.Errorf("%q: got facts %+v, want %s flagged %v", name, r.Facts.Medications, d.Generic, d.AffectsClotting())
			}
		}
	}
}

// TestFindingCodesWorded checks that every finding code the checklist can
// report has the specialist's wording in English and Chinese.
func TestFindingCodesWorded(t *testing.T) {
	all := []string{CodeSummaryMissing, CodeSummaryIncomplete, CodeImagingNone, CodeImagingNotDICOM, CodeImagingMismatch, CodeImagingIncomplete,
		CodeReportMissing, CodeReportScanned, CodeLabsMissing, CodeLabsStale, CodeLabsUndated, CodeLabsCBC, CodeLabsBMP, CodeLabsCoag,
		CodeLabsHbA1c, CodeLabsEKG, CodeLabsChestXRay, CodeSurgicalMissing, CodeMedsMissing, CodeMedsAnticoagulant, CodeMedsDoseMissing,
		CodeMedsNSAID, CodeIDMissing, CodeIDNameMismatch, CodeIDUnreadable, CodeIDNotPassport, CodeIDExpiry, CodeDocPatientMismatch,
		CodePortalExportDump,
		record.CodeEmpty, record.CodeUnreadable, record.CodeEncrypted, record.CodeUnsafeArchive, record.CodeArchiveBomb, record.CodeUnknownType,
		record.CodeTooLarge, record.CodeBadName, record.CodeTooManyPages, record.CodePageTooLarge, record.CodeTimeout,
		record.CodeImagingPatientMismatch, record.CodeImagingIncompleteSeries, record.CodeImagingSecondaryCapture, record.CodeImagingDuplicate}
	if n := countCodeConsts(t); n != 29 {
		t.Errorf("checklist.go declares %d finding codes; this test lists 29: add the new ones here and to the vocabulary", n)
	}
	for _, code := range all {
		l, ok := clinical.FindingLabel(code)
		if !ok || l.EN == "" || l.ZH == "" {
			t.Errorf("finding %s: no specialist wording in English and Chinese", code)
		}
	}
}

// countCodeConsts counts the Code* constants checklist.go declares.
func countCodeConsts(t *testing.T) int {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "checklist.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, decl := range f.Decls {
		g, ok := decl.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			for _, name := range spec.(*ast.ValueSpec).Names {
				if strings.HasPrefix(name.Name, "Code") {
					n++
				}
			}
		}
	}
	return n
}
