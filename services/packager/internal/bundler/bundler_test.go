package bundler

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffmed/handoff/platform/record"

	"github.com/handoffmed/handoff/services/packager/internal/fixture"
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

func TestClassifyMedication(t *testing.T) {
	for in, want := range map[string]string{
		"Apixaban 5 mg twice daily": record.MedAnticoagulant,
		"Eliquis":                   record.MedAnticoagulant,
		"Aspirin 81 mg":             record.MedAntiplatelet,
		"fish oil 1 g":              record.MedSupplement,
		"Metformin 500 mg":          "",
	} {
		if got := ClassifyMedication(in); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
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
