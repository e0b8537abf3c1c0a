package render

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/handoffmed/handoff/platform/record"
)

func loadFont(t testing.TB) Fonts {
	t.Helper()
	f, err := LoadFonts("", "", "")
	if err != nil {
		t.Fatalf("fonts (Debian fonts-droid-fallback, fonts-dejavu-core): %v", err)
	}
	return f
}

func tool(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func writePDF(t *testing.T, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "out.pdf")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

var pagesRe = regexp.MustCompile(`(?m)^Pages:\s+(\d+)$`)

func pages(t *testing.T, path string) string {
	t.Helper()
	m := pagesRe.FindStringSubmatch(tool(t, "pdfinfo", path))
	if m == nil {
		t.Fatal("pdfinfo printed no page count")
	}
	return m[1]
}

func checkFontEmbedded(t *testing.T, path string) {
	t.Helper()
	out := tool(t, "pdffonts", path)
	found := false
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(strings.ToLower(l), strings.ToLower(FontFamily)) {
			f := strings.Fields(l)
			// name type... encoding emb sub uni id gen
			if len(f) >= 7 && f[len(f)-5] == "yes" {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("pdffonts shows no embedded CJK font:\n%s", out)
	}
}

func sampleData() SummaryData {
	return SummaryData{
		CaseID: "case0001", Family: "Müller", Given: "Zoë", BirthDate: "1958-07-01", Sex: "F",
		Summary: record.Summary{
			Age: 67, Height: "5 ft 6 in", Weight: "150 lb",
			Allergies:        "Penicillin — hives; 青霉素过敏",
			Procedure:        "Total right hip replacement",
			SymptomHistory:   "Right hip pain since 2023, worse on stairs; now limping after 10 minutes of walking.",
			USRecommendation: "Total hip arthroplasty (Dr. Smith, 2026-03)",
			QuotedCost:       "$58,000",
			ReasonAbroad:     "Cost and an eight-month wait",
			Conditions: record.Conditions{Prediabetes: true, BloodThinners: true,
				PriorSurgeries: []string{"Left knee arthroscopy 2015"}},
		},
		Medications: []Medication{
			{Text: "Apixaban 5 mg twice daily, 2 years", Class: record.MedAnticoagulant},
			{Text: "Metformin 500 mg daily"},
			{Text: "Fish oil 1000 mg", Class: record.MedSupplement},
		},
		Studies: []Study{{Folder: "2026-04-12_MRI_right_hip", Date: "2026-04-12", Modality: "MRI", BodyPart: "right hip", Series: 4, Instances: 212}},
		Findings: []record.Finding{
			{Code: "labs.stale", Severity: record.SeverityError, Message: "The coagulation panel is 120 days old; labs must be within 90 days."},
		},
		Generated: time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC),
	}
}

func TestSummaryPDF(t *testing.T) {
	long := strings.Repeat("The pain started after a fall on ice and has progressed slowly, 夜间疼痛加重. ", 120)
	manyMeds := make([]Medication, 60)
	for i := range manyMeds {
		manyMeds[i] = Medication{Text: "Supplement number " + strings.Repeat("x", i%20)}
	}
	tests := []struct {
		name      string
		mod       func(*SummaryData)
		shortened bool
	}{
		{"typical", func(*SummaryData) {}, false},
		{"empty case", func(d *SummaryData) { *d = SummaryData{CaseID: "c"} }, false},
		{"very long free text", func(d *SummaryData) {
			d.Summary.SymptomHistory = long
			d.Summary.ReasonAbroad = long
			d.FullTextPath = "01_Case_Summary/Case_Summary_full_text.txt"
		}, true},
		{"many medications", func(d *SummaryData) { d.Medications = manyMeds }, true},
		{"one unbroken word and emoji", func(d *SummaryData) {
			d.Summary.Allergies = strings.Repeat("A", 400) + " 😀 \x07tab\there"
		}, false},
	}
	font := loadFont(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := sampleData()
			tc.mod(&d)
			var buf bytes.Buffer
			res, err := SummaryPDF(&buf, d, font)
			if err != nil {
				t.Fatal(err)
			}
			if res.Shortened != tc.shortened {
				t.Errorf("Shortened = %v, want %v (font %.1f)", res.Shortened, tc.shortened, res.FontSize)
			}
			path := writePDF(t, buf.Bytes())
			if got := pages(t, path); got != "1" {
				t.Errorf("pdfinfo: %s pages, want 1", got)
			}
			checkFontEmbedded(t, path)
			text := tool(t, "pdftotext", "-layout", path, "-")
			for _, want := range []string{"Case Summary", "病例摘要", "过敏史", "拟行手术", "现病史", "用药", "影像资料"} {
				if !strings.Contains(text, want) {
					t.Errorf("summary text lacks %q", want)
				}
			}
			if tc.name == "typical" {
				for _, want := range []string{"Müller", "青霉素过敏", "Total right hip replacement", "BLOOD THINNER", "Apixaban 5 mg twice daily",
					"2026-04-12_MRI_right_hip", "120 days old", "$58,000"} {
					if !strings.Contains(text, want) {
						t.Errorf("summary text lacks %q:\n%s", want, text)
					}
				}
			}
			if tc.shortened && !strings.Contains(text, "shortened") {
				t.Errorf("a shortened page must say so:\n%s", text)
			}
		})
	}
}

func TestSummaryDeterministic(t *testing.T) {
	font := loadFont(t)
	var a, b bytes.Buffer
	if _, err := SummaryPDF(&a, sampleData(), font); err != nil {
		t.Fatal(err)
	}
	if _, err := SummaryPDF(&b, sampleData(), font); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("the same data rendered twice gives different PDFs")
	}
}

func TestChecklist(t *testing.T) {
	rep := &record.Report{CaseID: "case0001", ReferenceDate: "2026-05-04",
		Parts: []record.PartStatus{
			{Part: record.PartSummary, Title: "Case summary", Status: record.PartOK, Files: []string{"f1"}},
			{Part: record.PartLabs, Title: "Recent labs", Status: record.PartMissing},
		},
		Findings: []record.Finding{{Code: "labs.missing", Severity: record.SeverityError, Message: "No CBC within 90 days.", Files: []string{"f1"}}},
	}
	var txt bytes.Buffer
	err := ChecklistText(&txt, ChecklistData{Report: rep, Names: map[string]string{"f1": "01_Case_Summary/x.pdf"},
		Excluded: []string{"uploads/portal.pdf: portal export"}, Gaps: []string{"Scan X has no DICOMDIR yet."},
		BundleName: "Doe_Jane_1958-07-01_MedicalRecords", Version: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"MISSING", "No CBC within 90 days.", "01_Case_Summary/x.pdf", "portal export", "no DICOMDIR", "version 2"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("CHECKLIST.txt lacks %q:\n%s", want, txt.String())
		}
	}
	var pdf bytes.Buffer
	if err := ChecklistPDF(&pdf, txt.String()+strings.Repeat("line\n", 200), loadFont(t), time.Time{}); err != nil {
		t.Fatal(err)
	}
	path := writePDF(t, pdf.Bytes())
	checkFontEmbedded(t, path)
	if pages(t, path) == "1" {
		t.Error("a long checklist must flow onto more pages")
	}
	if text := tool(t, "pdftotext", path, "-"); !strings.Contains(text, "No CBC within 90 days.") {
		t.Errorf("CHECKLIST.pdf text lacks the finding:\n%.2000s", text)
	}
}
