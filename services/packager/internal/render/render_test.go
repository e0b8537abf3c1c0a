package render

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
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
			{Text: "Apixaban 5 mg twice daily, 2 years", Chinese: "阿哌沙班", Class: record.MedAnticoagulant, Flagged: true},
			{Text: "Metformin 500 mg daily", Chinese: "二甲双胍"},
			{Text: "Fish oil 1000 mg", Chinese: "鱼油", Class: record.MedSupplement, Flagged: true},
		},
		Labs: []Lab{{Name: "Hemoglobin", Chinese: "血红蛋白", Value: "10.1", Unit: "g/dL", Range: "12.0-15.5", Date: "2026-04-20", Mark: "L"},
			{Name: "INR", Chinese: "国际标准化比值", Value: "1.1", Date: "2026-04-20"}},
		Problems:    []string{"Atrial fibrillation"},
		Impressions: []Impression{{Date: "2026-04-12", Modality: "MRI", BodyPart: "right hip", Text: "Advanced osteoarthritis of the right hip."}},
		Studies:     []Study{{Folder: "2026-04-12_MRI_right_hip", Date: "2026-04-12", Modality: "MRI", BodyPart: "right hip", Series: 4, Instances: 212}},
		Findings: []record.Finding{
			{Code: "labs.stale", Severity: record.SeverityError, Message: "The coagulation panel is 120 days old; labs must be within 90 days."},
			{Code: "labs.stale", Severity: record.SeverityError, Message: "Another stale report."},
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
					"阿哌沙班", "2026-04-12_MRI_right_hip", "older than 90 days", "超过90天", "$58,000",
					"5 ft 6 in (168 cm)", "150 lb (68 kg)", "血红蛋白", "10.1 g/dL", "Atrial fibrillation", "Advanced osteoarthritis"} {
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
	// CHECKLIST.pdf is a table, in English and Chinese; a long one flows
	// onto more pages.
	long := *rep
	long.Parts = append([]record.PartStatus(nil), rep.Parts...)
	for i := range 120 {
		long.Parts[0].Files = append(long.Parts[0].Files, fmt.Sprintf("file%03d", i))
	}
	var pdf bytes.Buffer
	if err := ChecklistPDF(&pdf, ChecklistData{Report: &long, Names: map[string]string{"f1": "01_Case_Summary/x.pdf"},
		Excluded: []string{"uploads/portal.pdf: portal export"}, BundleName: "Doe_Jane_1958-07-01_MedicalRecords", Version: 2}, loadFont(t)); err != nil {
		t.Fatal(err)
	}
	path := writePDF(t, pdf.Bytes())
	checkFontEmbedded(t, path)
	if pages(t, path) == "1" {
		t.Error("a long checklist must flow onto more pages")
	}
	text := tool(t, "pdftotext", "-layout", path, "-")
	for _, want := range []string{"Part 部分", "Status 状态", "Files 文件", "Case summary", "病例摘要", "近期化验", "MISSING", "缺失",
		"No recent laboratory results", "ERROR 错误", "01_Case_Summary/x.pdf", "file119", "portal export"} {
		if !strings.Contains(text, want) {
			t.Errorf("CHECKLIST.pdf text lacks %q:\n%.3000s", want, text)
		}
	}
	checkWithinMargins(t, path)
}

// checkWithinMargins reads every word's box with pdftotext -bbox and fails
// for a word outside the page's margins (12 mm, with half a point of
// slack for rounding).
func checkWithinMargins(t *testing.T, path string) {
	t.Helper()
	out := tool(t, "pdftotext", "-bbox", path, "-")
	pageRe := regexp.MustCompile(`<page width="([\d.]+)" height="([\d.]+)">`)
	wordRe := regexp.MustCompile(`<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>`)
	const mm = 72 / 25.4
	pageW, pageH := 0.0, 0.0
	words := 0
	for _, l := range strings.Split(out, "\n") {
		if m := pageRe.FindStringSubmatch(l); m != nil {
			pageW, pageH = atof(t, m[1]), atof(t, m[2])
			continue
		}
		m := wordRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		words++
		x0, y0, x1, y1 := atof(t, m[1]), atof(t, m[2]), atof(t, m[3]), atof(t, m[4])
		if x0 < margin*mm-0.5 || x1 > pageW-margin*mm+0.5 || y0 < margin*mm-6 || y1 > pageH-margin*mm+3 {
			t.Errorf("word %q at x %.1f-%.1f, y %.1f-%.1f is outside the margins of a %.0fx%.0f page", m[5], x0, x1, y0, y1, pageW, pageH)
		}
	}
	if words == 0 {
		t.Errorf("pdftotext -bbox found no words")
	}
}

func atof(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// A summary with long values (20 medications with long names, long free
// text, long lab and finding lines) stays one page, and no word runs off
// it: the page shrinks its font, then shortens the longest blocks and says
// where the full text is.
func TestSummaryFitsThePage(t *testing.T) {
	d := sampleData()
	d.Medications = nil
	for i := range 20 {
		d.Medications = append(d.Medications, Medication{
			Text:    fmt.Sprintf("Medication-with-a-very-long-unbroken-name-number-%02d-extended-release 1000 mg three times daily with meals for 12 years", i),
			Chinese: "阿哌沙班", Class: record.MedAnticoagulant, Flagged: i%3 == 0})
	}
	d.Summary.SymptomHistory = strings.Repeat("Pain worse on stairs and at night, 夜间疼痛加重, limping after ten minutes. ", 60)
	d.Summary.Procedure = strings.Repeat("Total-right-hip-arthroplasty-with-revision-of-the-acetabular-component", 4)
	d.Family, d.Given = strings.Repeat("Wolfeschlegelsteinhausenbergerdorff", 3), strings.Repeat("Hubert ", 12)
	d.Uploaded = []string{strings.Repeat("01_Case_Summary/a-very-long-uploaded-summary-name", 5) + ".pdf"}
	d.Source = strings.Repeat("Read from the summary the patient uploaded. ", 10)
	d.FullTextPath = "01_Case_Summary/Case_Summary_full_text.txt"
	for i := range 12 {
		d.Findings = append(d.Findings, record.Finding{Code: fmt.Sprintf("x.code%d", i), Severity: record.SeverityWarning,
			Message: strings.Repeat("An unknown finding with a long message. ", 8)})
	}
	var buf bytes.Buffer
	res, err := SummaryPDF(&buf, d, loadFont(t))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Shortened {
		t.Errorf("a page this long must be shortened (font %.1f)", res.FontSize)
	}
	path := writePDF(t, buf.Bytes())
	if got := pages(t, path); got != "1" {
		t.Errorf("pdfinfo: %s pages, want 1", got)
	}
	checkWithinMargins(t, path)
	checkWithinMargins(t, writePDF(t, summaryOf(t, sampleData())))
}

func summaryOf(t *testing.T, d SummaryData) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := SummaryPDF(&buf, d, loadFont(t)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
