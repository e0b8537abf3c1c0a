package understand

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/textlayout"
)

// tablesDir holds the table fixtures (testdata/tables/make.sh).
const tablesDir = "../../../../testdata/tables"

// labWant is a result a layout must give: its value, unit and date.
type labWant struct{ name, value, unit, date string }

// TestTableLayouts reads six table layouts no one on the team designed,
// each the shape of tables people really print, made with another tool:
// a C-CDA printed by HL7's stylesheet in Chromium, a patient's medicine
// record in a word processor, a medication list kept in a spreadsheet
// (cells at the bottom of their rows), a pharmacy's monospaced profile,
// a lab company's report (a two-line header, flags, group labels), and
// that report scanned (tilted, speckled, read by Tesseract). Every
// medication must come with its dose, every lab row with its value, unit
// and date.
func TestTableLayouts(t *testing.T) {
	for _, tool := range []string{"pdftotext", "tesseract"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (scripts/packages.txt)", tool)
		}
	}
	an := New()
	cbc := []labWant{
		{"WBC", "6.1", "x10E3/uL", "2026-10-07"}, {"Hemoglobin", "11.2", "g/dL", "2026-10-07"},
		{"Hematocrit", "34.0", "%", "2026-10-07"}, {"Platelets", "251", "x10E3/uL", "2026-10-07"},
		{"Glucose, fasting", "112", "mg/dL", "2026-10-07"}, {"Creatinine", "0.86", "mg/dL", "2026-10-07"},
		{"Potassium", "4.4", "mmol/L", "2026-10-07"}, {"Sodium", "139", "mmol/L", "2026-10-07"},
		{"INR", "1.0", "", "2026-10-07"}, {"Hemoglobin A1c with estimated", "6.1", "%", "2026-10-06"},
	}
	for _, tc := range []struct {
		name, file string
		category   string
		meds       map[string]string // generic -> dose
		labs       []labWant
	}{
		{"printed C-CDA (HL7 stylesheet, Chromium)", "../ccda-printed/HL7_C-CDA-Examples/CCD/CCD 1/CCD.pdf", record.CategoryPortalExport,
			map[string]string{"albuterol": "0.09 MG", "atenolol": "25 MG"},
			[]labWant{{"Hemoglobin", "13.2", "g/dL", "2008-03-19"}, {"Leukocytes", "6.7", "10*9/L", "2008-03-19"},
				{"Platelets", "123", "10*9/L", "2008-03-19"}, {"Hematocrit", "35.3", "%", "2008-03-19"},
				{"Erythrocytes", "4.21", "10*12/L", "2008-03-19"}}},
		{"patient's medicine record (LibreOffice Writer)", "meds-word.pdf", record.CategoryMedicationList,
			map[string]string{"apixaban": "5 mg", "metoprolol": "25 mg", "atorvastatin": "40 mg", "fish oil": "1,000 mg",
				"vitamin d": "2,000 IU", "turmeric": "500 mg"}, nil},
		{"medication spreadsheet (LibreOffice Calc, bottom-aligned cells)", "meds-sheet.pdf", record.CategoryMedicationList,
			map[string]string{"warfarin": "5 mg", "lisinopril": "10 mg", "metformin": "500 mg", "aspirin": "81 mg", "omeprazole": "20 mg"}, nil},
		{"pharmacy medication profile (monospaced)", "pharmacy.pdf", record.CategoryMedicationList,
			map[string]string{"clopidogrel": "75MG", "atorvastatin": "40MG", "metoprolol": "25MG", "gabapentin": "300MG",
				"nitroglycerin": "0.4MG"}, nil},
		{"lab company report (two-line header, flags)", "lab.pdf", record.CategoryLabReport, nil, cbc},
		{"scanned lab report (OCR)", "lab-scan.png", record.CategoryLabReport, nil, cbc},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(tablesDir, tc.file)
			var in Input
			if filepath.Ext(path) == ".png" {
				in = ocrImage(t, path, 200)
			} else {
				in = readPDF(t, path)
			}
			d := an.Analyze(in)
			if d.Category != tc.category {
				t.Errorf("category %q, want %q (evidence %q)", d.Category, tc.category, d.Evidence)
			}
			got := map[string]string{}
			for _, m := range d.Medications {
				if m.Dose == "" {
					t.Errorf("medication %q has no dose", m.Name)
				}
				got[m.Generic] = m.Dose
			}
			for g, dose := range tc.meds {
				if got[g] != dose {
					t.Errorf("%s: got dose %q, want %q", g, got[g], dose)
				}
			}
			if len(tc.meds) > 0 && len(got) != len(tc.meds) {
				t.Errorf("got medications %v, want %v", got, tc.meds)
			}
			for _, r := range d.Labs {
				if r.Value == "" || r.Date == "" {
					t.Errorf("lab row %q: value %q, date %q", r.Name, r.Value, r.Date)
				}
			}
			for _, w := range tc.labs {
				found := false
				for _, r := range d.Labs {
					// A wrapped name the scan lost the end of still counts.
					if r.Name == w.name || strings.Count(w.name, " ") >= 2 && strings.HasPrefix(r.Name, w.name) {
						found = true
						if r.Value != w.value || r.Unit != w.unit || r.Date != w.date {
							t.Errorf("%s: got %s %s on %s, want %s %s on %s", w.name, r.Value, r.Unit, r.Date, w.value, w.unit, w.date)
						}
					}
				}
				if !found {
					t.Errorf("no result %q in %+v", w.name, d.Labs)
				}
			}
		})
	}
}

// ocrImage reads a picture as the tesseract command does (one
// recognition, its text and its TSV), at dpi.
func ocrImage(t *testing.T, path string, dpi float64) Input {
	t.Helper()
	base := filepath.Join(t.TempDir(), "ocr")
	if out, err := exec.CommandContext(t.Context(), "tesseract", path, base, "txt", "tsv").CombinedOutput(); err != nil {
		t.Fatalf("tesseract: %v: %s", err, out)
	}
	txt, err := os.ReadFile(base + ".txt")
	if err != nil {
		t.Fatal(err)
	}
	tsv, err := os.ReadFile(base + ".tsv")
	if err != nil {
		t.Fatal(err)
	}
	p := textlayout.ReadTesseractTSV(tsv, dpi)
	return Input{Type: record.TypePNG, Pages: []string{string(txt)}, OCR: true,
		Layout: &textlayout.Layout{Version: textlayout.Version, Pages: []textlayout.Page{p}}}
}
