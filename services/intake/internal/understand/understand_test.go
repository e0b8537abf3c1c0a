package understand

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/handoffmed/handoff/platform/record"
)

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAnalyzeDocuments(t *testing.T) {
	a := New()
	tests := []struct {
		file       string
		category   string
		panels     []string
		date, kind string
		name       string
		dob        string
		modality   string
		bodyPart   string
	}{
		{"quest_cmp_cbc.txt", record.CategoryLabReport, []string{"cbc", "cmp"}, "2026-10-02", DateCollection, "DOE, JANE A", "1958-03-14", "", ""},
		{"labcorp_coag.txt", record.CategoryLabReport, []string{"coag", "hba1c"}, "2026-09-28", DateCollection, "Doe, Jane", "1958-03-14", "", ""},
		{"radiology_mri.txt", record.CategoryRadiologyReport, nil, "2026-09-15", DateExam, "DOE, JANE A", "1958-03-14", "MRI", "right hip"},
		{"cxr.txt", record.CategoryChestXRay, nil, "2026-10-05", DateExam, "Jane A Doe", "1958-03-14", "XRay", "chest"},
		{"opnote.txt", record.CategoryOperativeNote, nil, "2019-06-11", DateSurgery, "DOE, JANE A", "1958-03-14", "", ""},
		{"ekg.txt", record.CategoryEKG, nil, "2026-10-01", DateTest, "DOE, JANE", "1958-03-14", "", ""},
		{"medlist_epic.txt", record.CategoryMedicationList, nil, "", "", "", "1958-03-14", "", ""},
		{"summary.txt", record.CategorySummary, nil, "", "", "Jane A Doe", "1958-03-14", "", ""},
		{"epic_lab.txt", record.CategoryLabReport, []string{"cbc", "bmp", "coag"}, "2026-10-02", DateCollection, "Doe, Jane A", "1958-03-14", "", ""},
		{"epic_radiology.txt", record.CategoryRadiologyReport, nil, "2026-09-02", DateExam, "Doe, Jane A", "1958-03-14", "MRI", "lumbar spine"},
		{"muse_ekg.txt", record.CategoryEKG, nil, "2026-10-03", DateTest, "DOE, JANE A", "1958-03-14", "", ""},
		{"opnote_epic.txt", record.CategoryOperativeNote, nil, "2019-06-11", DateSurgery, "", "", "", ""},
		{"typed_meds.txt", record.CategoryMedicationList, nil, "", "", "", "", "", ""},
		{"summary_freeform.txt", record.CategorySummary, nil, "", "", "Jane A. Doe", "1958-03-14", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			d := a.Analyze(Input{Type: record.TypePDF, Pages: SplitPages(readTestdata(t, tc.file))})
			if d.Category != tc.category {
				t.Fatalf("category: got %s, want %s (evidence %q)", d.Category, tc.category, d.Evidence)
			}
			if len(d.Evidence) == 0 {
				t.Error("no evidence")
			}
			if diff := cmp.Diff(tc.panels, d.Panels); diff != "" {
				t.Errorf("panels (-want +got):\n%s", diff)
			}
			if d.Date != tc.date || d.DateKind != tc.kind {
				t.Errorf("date: got %s %s, want %s %s", d.Date, d.DateKind, tc.date, tc.kind)
			}
			if tc.name != "" && !slices.Contains(d.Names, tc.name) {
				t.Errorf("names: got %q, want %q among them", d.Names, tc.name)
			}
			if tc.dob != "" && !slices.Contains(d.BirthDates, tc.dob) {
				t.Errorf("birth dates: got %q, want %q", d.BirthDates, tc.dob)
			}
			if d.Modality != tc.modality || d.BodyPart != tc.bodyPart {
				t.Errorf("exam: got %q %q, want %q %q", d.Modality, d.BodyPart, tc.modality, tc.bodyPart)
			}
		})
	}
}

func TestMedicationList(t *testing.T) {
	a := New()
	d := a.Analyze(Input{Type: record.TypePDF, Pages: []string{readTestdata(t, "medlist_epic.txt")}})
	want := []record.Medication{
		{Name: "apixaban (ELIQUIS)", Generic: "apixaban", Dose: "5 mg", Frequency: "2 (two) times daily", Class: record.MedAnticoagulant},
		{Name: "metoprolol succinate (TOPROL XL)", Generic: "metoprolol", Dose: "25 mg", Frequency: "daily"},
		{Name: "atorvastatin (LIPITOR)", Generic: "atorvastatin", Dose: "40 mg", Frequency: "nightly"},
		{Name: "omega-3 fatty acids (FISH OIL)", Generic: "fish oil", Dose: "1,000 mg", Frequency: "daily", Duration: "Started 2021", Class: record.MedSupplement},
		{Name: "turmeric", Generic: "turmeric", Frequency: "daily", Class: record.MedSupplement},
	}
	if diff := cmp.Diff(want, d.Medications); diff != "" {
		t.Errorf("medications (-want +got):\n%s", diff)
	}
}

func TestSummaryFacts(t *testing.T) {
	a := New()
	d := a.Analyze(Input{Type: record.TypePDF, Pages: []string{readTestdata(t, "summary.txt")}})
	if d.SummaryFact == nil {
		t.Fatal("no summary facts")
	}
	want := &record.Summary{
		Age: 68, Height: "5 ft 5 in", Weight: "150 lb", Allergies: "Penicillin (hives); sulfa (rash)",
		Procedure:        "Total right hip replacement (arthroplasty)",
		SymptomHistory:   "Right hip pain since 2024, now limits walking to one block.",
		USRecommendation: "Total hip arthroplasty, quoted cost $48,000",
		QuotedCost:       "$48,000",
		ReasonAbroad:     "Cost; insurance denied coverage.",
		Conditions: record.Conditions{
			Diabetes: true, HeartDisease: true, BloodThinners: false,
			PriorSurgeries: []string{"Left knee arthroscopy 2019"},
			Other:          "Type 2 diabetes; atrial fibrillation on apixaban. No asthma.",
		},
		Medications: []string{"Eliquis 5 mg twice daily", "Metformin 500 mg twice daily"},
	}
	if diff := cmp.Diff(want, d.SummaryFact); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if len(d.Medications) != 2 || d.Medications[0].Class != record.MedAnticoagulant {
		t.Errorf("medications: %+v", d.Medications)
	}
}

func TestFreeformSummary(t *testing.T) {
	d := New().Analyze(Input{Type: record.TypePDF, Pages: []string{readTestdata(t, "summary_freeform.txt")}})
	sf := d.SummaryFact
	if sf == nil {
		t.Fatal("no summary facts")
	}
	if sf.Procedure != "Total right hip replacement" {
		t.Errorf("procedure: got %q", sf.Procedure)
	}
	if !sf.Conditions.Prediabetes || sf.Conditions.Diabetes || sf.Conditions.HeartDisease || !sf.Conditions.Respiratory {
		t.Errorf("conditions: got %+v", sf.Conditions)
	}
	var classes []string
	for _, m := range d.Medications {
		classes = append(classes, m.Generic+":"+m.Class)
	}
	if diff := cmp.Diff([]string{"albuterol:", "ginkgo:" + record.MedSupplement}, classes); diff != "" {
		t.Errorf("medications (-want +got):\n%s", diff)
	}
}

func TestCombinedPacket(t *testing.T) {
	a := New()
	pages := []string{readTestdata(t, "quest_cmp_cbc.txt"), readTestdata(t, "ekg.txt"), readTestdata(t, "cxr.txt"), readTestdata(t, "labcorp_coag.txt")}
	d := a.Analyze(Input{Type: record.TypePDF, Pages: pages})
	if d.Category != record.CategoryLabReport {
		t.Fatalf("category: got %s (evidence %q)", d.Category, d.Evidence)
	}
	if diff := cmp.Diff([]string{record.CategoryEKG, record.CategoryChestXRay}, d.Also); diff != "" {
		t.Errorf("also (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"cbc", "cmp", "coag", "hba1c"}, d.Panels); diff != "" {
		t.Errorf("panels (-want +got):\n%s", diff)
	}
	// A one-category document has no Also.
	if d := a.Analyze(Input{Type: record.TypePDF, Pages: []string{readTestdata(t, "opnote.txt"), "DESCRIPTION OF PROCEDURE continued. The wound was closed in layers. The patient tolerated the procedure well and went to recovery in stable condition."}}); len(d.Also) != 0 {
		t.Errorf("op note: also %v", d.Also)
	}
}

func TestImpression(t *testing.T) {
	a := New()
	report := `MRI RIGHT HIP WITHOUT CONTRAST
Exam date: 04/12/2026
TECHNIQUE: Multiplanar multisequence imaging.
FINDINGS: Moderate joint space narrowing. Subchondral cysts.
IMPRESSION:
1. Advanced osteoarthritis of the right hip with
subchondral cyst formation.
2. No fracture.

Electronically signed by Dr. A Radiologist on 04/12/2026
`
	d := a.Analyze(Input{Type: record.TypePDF, Pages: []string{report}})
	want := "1. Advanced osteoarthritis of the right hip with subchondral cyst formation. 2. No fracture."
	if d.Category != record.CategoryRadiologyReport || d.Impression != want {
		t.Errorf("got %s impression %q, want radiology report %q", d.Category, d.Impression, want)
	}
	long := "IMPRESSION: " + strings.Repeat("word ", 400)
	if got := a.impression(strings.Split(long, "\n")); len([]rune(got)) > maxImpression+2 || !strings.HasSuffix(got, "…") {
		t.Errorf("a long impression is cut and marked: got %d runes", len([]rune(got)))
	}
}
