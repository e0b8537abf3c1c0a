package bundler

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffmed/handoff/platform/clinical"
	"github.com/handoffmed/handoff/platform/record"

	"github.com/handoffmed/handoff/services/packager/internal/fixture"
	"github.com/handoffmed/handoff/services/packager/internal/layout"
	"github.com/handoffmed/handoff/services/packager/internal/render"
	"github.com/handoffmed/handoff/services/packager/internal/ziptest"
)

var update = flag.Bool("update", false, "rewrite golden files")

func fonts(t testing.TB) render.Fonts {
	t.Helper()
	f, err := render.LoadFonts("", "", "")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func exampleInput(t testing.TB) Input {
	return Input{Input: fixture.Input(), Report: fixture.Report(), Version: 1, Fonts: fonts(t)}
}

// build makes the example bundle into a file and returns its path and result.
func build(t *testing.T, in Input, objs fixture.Memory) (string, *Job, Result) {
	t.Helper()
	job, err := Prepare(t.Context(), objs, in)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	res, err := job.Write(t.Context(), objs, &buf)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), job.Name())
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := sha256.Sum256(buf.Bytes()); hex.EncodeToString(got[:]) != res.SHA256 || int64(buf.Len()) != res.Size {
		t.Fatalf("result size/sha256 do not match the bytes written")
	}
	return path, job, res
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s (-want +got):\n%s", name, d)
	}
}

var pagesRe = regexp.MustCompile(`(?m)^Pages:\s+(\d+)$`)

func TestBundle(t *testing.T) {
	in := exampleInput(t)
	objs := fixture.Memory(fixture.Objects(in.Input))
	path, job, res := build(t, in, objs)

	if job.Name() != "Doe_Jane-Marie_1958-07-01_MedicalRecords.zip" {
		t.Errorf("name %q", job.Name())
	}
	entries := ziptest.Verify(t, path)
	if res.Entries != len(entries) {
		t.Errorf("Result.Entries = %d, tools see %d", res.Entries, len(entries))
	}
	golden(t, "example.tree", ziptest.Run(t, "zipinfo", "-1", path))

	dir := t.TempDir()
	ziptest.Run(t, "unzip", "-q", path, "-d", dir)
	folder := filepath.Join(dir, strings.TrimSuffix(job.Name(), ".zip"))

	// sha256sum -c from inside the folder, as MANIFEST.json says.
	cmd := ziptest.Run(t, "sh", "-c", "cd '"+folder+"' && sha256sum -c --strict SHA256SUMS")
	if strings.Contains(cmd, "FAILED") || !strings.Contains(cmd, "MANIFEST.json: OK") {
		t.Errorf("sha256sum -c:\n%s", cmd)
	}

	// One page, CJK font embedded, labels present.
	sum := filepath.Join(folder, "00_Case_Summary.pdf")
	if m := pagesRe.FindStringSubmatch(ziptest.Run(t, "pdfinfo", sum)); m == nil || m[1] != "1" {
		t.Errorf("pdfinfo: summary is not one page: %v", m)
	}
	if f := ziptest.Run(t, "pdffonts", sum); !strings.Contains(strings.ToLower(f), "droidsansfallback") {
		t.Errorf("pdffonts: no CJK font:\n%s", f)
	}
	text := ziptest.Run(t, "pdftotext", "-layout", sum, "-")
	for _, want := range []string{"过敏史", "Penicillin — hives", "BLOOD THINNER", "Apixaban", "2026-04-12_MRI_right_hip", "no date"} {
		if !strings.Contains(text, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	top, _ := os.ReadFile(sum)
	inPart, _ := os.ReadFile(filepath.Join(folder, "01_Case_Summary", "Case_Summary.pdf"))
	if !bytes.Equal(top, inPart) {
		t.Error("the top summary and 01_Case_Summary/Case_Summary.pdf differ")
	}

	// The checklist lists the gaps and what was left out.
	cl, err := os.ReadFile(filepath.Join(folder, "CHECKLIST.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CHECK", "no DICOMDIR", "portal export", "still being processed", "04_Labs/Lab_Report_COAG.pdf"} {
		if !strings.Contains(string(cl), want) {
			t.Errorf("CHECKLIST.txt lacks %q:\n%s", want, cl)
		}
	}

	// Every file is in the manifest with its origin, size and hash.
	var man Manifest
	mj, err := os.ReadFile(filepath.Join(folder, "MANIFEST.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(mj, &man); err != nil {
		t.Fatal(err)
	}
	listed := map[string]ManifestFile{}
	for _, f := range man.Files {
		listed[f.Path] = f
	}
	err = filepath.WalkDir(folder, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(folder, p)
		if rel == "MANIFEST.json" || rel == "SHA256SUMS" {
			return nil
		}
		f, ok := listed[rel]
		if !ok {
			t.Errorf("%s is not in MANIFEST.json", rel)
			return nil
		}
		b, _ := os.ReadFile(p)
		if h := sha256.Sum256(b); hex.EncodeToString(h[:]) != f.SHA256 || int64(len(b)) != f.Size {
			t.Errorf("%s: manifest size/sha256 wrong", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	lab := listed["04_Labs/2026-05-02_Lab_Report_CBC_BMP.pdf"]
	if lab.FileID != "lab1" || lab.Upload != "cases/case0001/uploads/lab1" || lab.Category != record.CategoryLabReport {
		t.Errorf("manifest entry of the lab report: %+v", lab)
	}
	if man.Inputs != job.Inputs() || man.Version != 1 || len(man.Excluded) != 7 {
		t.Errorf("manifest header: inputs %s version %d excluded %d", man.Inputs, man.Version, len(man.Excluded))
	}
}

func TestBundleDeterministic(t *testing.T) {
	in := exampleInput(t)
	objs := fixture.Memory(fixture.Objects(in.Input))
	_, j1, r1 := build(t, in, objs)
	_, j2, r2 := build(t, exampleInput(t), objs)
	if r1.SHA256 != r2.SHA256 || j1.Inputs() != j2.Inputs() {
		t.Errorf("same inputs, different bundles: %s/%s inputs %s/%s", r1.SHA256, r2.SHA256, j1.Inputs(), j2.Inputs())
	}
	// Streaming every item instead of preparing it in memory, or one
	// worker instead of several, writes the same bytes.
	for _, mod := range []func(*Input){
		func(in *Input) { in.SmallMax = 1 },
		func(in *Input) { in.Workers, in.Budget, in.Prefetch = 1, 1, 1 },
	} {
		in := exampleInput(t)
		mod(&in)
		path, _, r := build(t, in, objs)
		ziptest.Verify(t, path)
		if r.SHA256 != r1.SHA256 {
			t.Errorf("streamed or serial bundle differs from the prepared one")
		}
	}
	// A changed case field changes the inputs.
	in3 := exampleInput(t)
	in3.Case.Summary.Allergies = "none"
	j3, err := Prepare(t.Context(), objs, in3)
	if err != nil {
		t.Fatal(err)
	}
	if j3.Inputs() == j1.Inputs() {
		t.Error("a changed summary field left the inputs digest unchanged")
	}
}

func TestBundleMissingSource(t *testing.T) {
	in := exampleInput(t)
	objs := fixture.Memory(fixture.Objects(in.Input))
	delete(objs, "derived/cases/case0001/archives/zip1/IM2")
	job, err := Prepare(t.Context(), objs, in)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := job.Write(t.Context(), objs, &buf); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got %v, want the missing object's error", err)
	}
}

// TestSummaryHighlightsWhatTheChecklistFlags checks, for every name of
// every drug in the vocabulary, that the summary highlights it exactly when
// the checklist flags it: from the report's facts (the checklist's own
// verdict) and, without a report, from the same vocabulary the checklist
// reads.
func TestSummaryHighlightsWhatTheChecklistFlags(t *testing.T) {
	in := exampleInput(t)
	v := clinical.New()
	plan := layout.Build(in.Input)
	for _, d := range v.Drugs() {
		for _, name := range append([]string{d.Generic}, d.Names...) {
			// Typed on the case, no report.
			in.Report = nil
			in.Case.Summary.Medications = []string{name + " 10 mg daily"}
			s := summaryData(in, plan, time.Time{}, v)
			if len(s.Medications) == 0 || s.Medications[0].Flagged != d.AffectsClotting() {
				t.Errorf("%q typed: got %+v, want flagged %v", name, s.Medications, d.AffectsClotting())
			}
			// Read from a medication list, no report.
			in.Case.Summary.Medications = nil
			files := slices.Clone(in.Files)
			for i := range files {
				if files[i].ID == "rad1" {
					doc := *files[i].Document
					doc.Medications = []record.Medication{{Name: name, Dose: "10 mg"}}
					files[i].Document = &doc
				}
			}
			in2 := in
			in2.Files = files
			s = summaryData(in2, plan, time.Time{}, v)
			if len(s.Medications) == 0 || s.Medications[0].Flagged != d.AffectsClotting() {
				t.Errorf("%q listed: got %+v, want flagged %v", name, s.Medications, d.AffectsClotting())
			}
			// The report's facts decide when there is a report.
			in.Report = &record.Report{Facts: &record.Facts{Medications: []record.MedicationFact{
				{Name: name, Generic: d.Generic, Class: d.MedicationClass(), Anticoagulant: d.AffectsClotting()}}}}
			s = summaryData(in, plan, time.Time{}, v)
			if len(s.Medications) != 1 || s.Medications[0].Flagged != d.AffectsClotting() || s.Medications[0].Chinese != d.Chinese {
				t.Errorf("%q from facts: got %+v, want flagged %v with %s", name, s.Medications, d.AffectsClotting(), d.Chinese)
			}
		}
	}
}

// The summary reads the report's facts: each medication once with its
// Chinese name, key labs with dates and marks, metric height and weight,
// problems, and the radiology report's impression.
func TestSummaryFromFacts(t *testing.T) {
	in := exampleInput(t)
	in.Case.Summary.Height, in.Case.Summary.Weight = "5 ft 10 in", ""
	in.Report.ReferenceDate = "2026-05-04"
	in.Report.Facts = &record.Facts{
		Medications: []record.MedicationFact{
			{Name: "Aspirin 81 MG Oral Tablet", Generic: "aspirin", Dose: "81 mg", Frequency: "once daily", Class: record.MedAntiplatelet, Anticoagulant: true, File: "ccda"},
			{Name: "Lantus", Generic: "insulin", Dose: "30 units", File: "ccda"},
		},
		Labs: []record.LabFact{
			{Name: "HGB", LOINC: "718-7", Value: "10.2", Unit: "g/dL", Range: "12.0-15.5", Date: "2026-04-20", File: "ccda"},
			{Name: "Hemoglobin", Value: "12.9", Unit: "g/dL", Date: "2025-01-02", File: "lab1"},
			{Name: "Glucose, Random", LOINC: "2339-0", Value: "185", Unit: "mg/dL", Flag: "H", Date: "2026-04-20", File: "ccda"},
			{Name: "Hemoglobin A1c/Hemoglobin.total in Blood", LOINC: "4548-4", Value: "7.9", Unit: "%", Date: "2025-11-01", File: "ccda"},
		},
		Problems: []record.ProblemFact{{Name: "Angina", Code: "194828000", Status: "active"}, {Name: "Asthma", Status: "resolved"}},
		Vitals:   []record.VitalFact{{Name: "Body weight", Value: "82", Unit: "kg", Date: "2026-04-20"}},
	}
	for i := range in.Files {
		if d := in.Files[i].Document; d != nil && d.Category == record.CategoryRadiologyReport {
			doc := *d
			doc.Impression = "Advanced osteoarthritis of the right hip."
			in.Files[i].Document = &doc
		}
	}
	s := summaryData(in, layout.Build(in.Input), time.Time{}, clinical.New())
	var meds []string
	for _, m := range s.Medications {
		meds = append(meds, fmt.Sprintf("%s|%s|%v", m.Text, m.Chinese, m.Flagged))
	}
	if diff := cmp.Diff([]string{"Aspirin 81 MG Oral Tablet once daily|阿司匹林|true", "Lantus 30 units|胰岛素|false"}, meds); diff != "" {
		t.Errorf("medications (-want +got):\n%s", diff)
	}
	var labs []string
	for _, l := range s.Labs {
		labs = append(labs, fmt.Sprintf("%s %s %s %s %v", l.Name, l.Value, l.Date, l.Mark, l.Old))
	}
	want := []string{"Hemoglobin 10.2 2026-04-20 L false", "Glucose 185 2026-04-20 H false", "HbA1c 7.9 2025-11-01  true"}
	if diff := cmp.Diff(want, labs); diff != "" {
		t.Errorf("labs (-want +got):\n%s", diff)
	}
	if s.Height != "5 ft 10 in (178 cm)" || s.Weight != "82 kg (records 病历, 2026-04-20)" {
		t.Errorf("got height %q, weight %q", s.Height, s.Weight)
	}
	if !s.Summary.Conditions.HeartDisease || s.Summary.Conditions.Respiratory || !slices.Equal(s.Problems, []string{"Angina"}) {
		t.Errorf("got conditions %+v, problems %v; want heart disease from the active angina only", s.Summary.Conditions, s.Problems)
	}
	if len(s.Impressions) == 0 || s.Impressions[0].Text != "Advanced osteoarthritis of the right hip." {
		t.Errorf("got impressions %+v", s.Impressions)
	}
}

// A summary too long for one page: the page shortens it and says where the
// full text is, and the full text is in the bundle.
func TestBundleLongSummary(t *testing.T) {
	in := exampleInput(t)
	in.Case.Summary.SymptomHistory = strings.Repeat("Pain on stairs since 2023, worse at night; 夜间疼痛加重. ", 200)
	objs := fixture.Memory(fixture.Objects(in.Input))
	path, job, _ := build(t, in, objs)
	dir := t.TempDir()
	ziptest.Run(t, "unzip", "-q", path, "-d", dir)
	folder := filepath.Join(dir, strings.TrimSuffix(job.Name(), ".zip"))
	sum := filepath.Join(folder, "00_Case_Summary.pdf")
	if m := pagesRe.FindStringSubmatch(ziptest.Run(t, "pdfinfo", sum)); m == nil || m[1] != "1" {
		t.Errorf("pdfinfo: not one page")
	}
	if text := ziptest.Run(t, "pdftotext", sum, "-"); !strings.Contains(text, "Case_Summary_full_text.txt") {
		t.Errorf("the shortened page does not point to the full text:\n%s", text)
	}
	full, err := os.ReadFile(filepath.Join(folder, "01_Case_Summary", "Case_Summary_full_text.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(full), in.Case.Summary.SymptomHistory) {
		t.Error("the full text file lacks the symptom history as written")
	}
	ziptest.Run(t, "sh", "-c", "cd '"+folder+"' && sha256sum -c --strict --quiet SHA256SUMS")
}
