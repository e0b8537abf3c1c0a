package ccda_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffmed/handoff/platform/ccda"
)

// corpusDir is the C-CDA corpus, relative to this package.
const corpusDir = "../../testdata/corpus/ccda-peer"

// corpusFiles lists every XML document of the corpus (absolute paths, sorted).
func corpusFiles(t testing.TB) []string {
	t.Helper()
	root, err := filepath.Abs(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.EqualFold(filepath.Ext(p), ".xml") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 70 {
		t.Fatalf("got %d corpus documents, want the whole corpus (>= 70)", len(files))
	}
	slices.Sort(files)
	return files
}

// refDoc is what testdata/reference.py prints for a document.
type refDoc struct {
	Given      []string       `json:"given"`
	Family     string         `json:"family"`
	Birth      string         `json:"birth"`
	Sex        string         `json:"sex"`
	Title      string         `json:"title"`
	Type       string         `json:"type"`
	Date       string         `json:"date"`
	Version    string         `json:"version"`
	Meds       []refMed       `json:"meds"`
	Results    []refResult    `json:"results"`
	Vitals     []refResult    `json:"vitals"`
	Problems   []refProblem   `json:"problems"`
	Allergies  []refAllergy   `json:"allergies"`
	Procedures []refProcedure `json:"procedures"`
}

type refMed struct {
	Name, RxNorm, Dose, Route, Start, Stop, Status string
}

type refResult struct {
	Name, LOINC, Value, Unit, Range, Flag, Date string
}

type refProblem struct{ Name, Code, System, Status, Onset string }

type refAllergy struct{ Name, Reaction, Severity, Status string }

type refProcedure struct{ Name, Code, System, Date string }

// runReference runs the Python reading over the files, one process for all.
func runReference(t *testing.T, files []string) map[string]refDoc {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is needed for the reference reading (apt-get install python3): %v", err)
	}
	script, err := filepath.Abs("testdata/reference.py")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), py, append([]string{script}, files...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("reference.py: %v\n%s", err, stderr.String())
	}
	docs := map[string]refDoc{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var line struct {
			Path  string          `json:"path"`
			Doc   json.RawMessage `json:"doc"`
			Error string          `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("reference.py output: %v", err)
		}
		if line.Error != "" {
			t.Fatalf("reference.py on %s: %s", line.Path, line.Error)
		}
		var d refDoc
		dec := json.NewDecoder(bytes.NewReader(line.Doc))
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("reference.py output for %s: %v", line.Path, err)
		}
		docs[line.Path] = d
	}
	if len(docs) != len(files) {
		t.Fatalf("reference.py read %d documents, want %d", len(docs), len(files))
	}
	return docs
}

// asRef puts the Go reading in the reference's shape, applying the allowed
// differences (each one a deliberate simplification of the script):
//
//   - Dose: the script reads only the structured doseQuantity; when it has
//     none, the Go reader also takes the strength from the sig or the product
//     name ("81 mg = 1 tab(s)" -> "81 mg"). Those fallback doses are compared
//     with the golden table (TestCernerGolden), not here: where the script's
//     dose is empty the Go dose is not compared.
//   - Frequency is not in the script (it is free text either way).
//
// Everything else must be equal: identity, header, every medication (name,
// RxNorm, structured dose, route, dates, status), every result and vital
// sign (name, LOINC, value, unit, range, flag, date), every problem,
// allergy and procedure.
func asRef(d *ccda.Document, want refDoc) refDoc {
	r := refDoc{
		Given: d.Patient.Given, Family: d.Patient.Family, Birth: d.Patient.BirthDate, Sex: d.Patient.Sex,
		Title: d.Title, Type: d.TypeCode, Date: d.Date, Version: d.Version,
		Meds: []refMed{}, Results: []refResult{}, Vitals: []refResult{}, Problems: []refProblem{},
		Allergies: []refAllergy{}, Procedures: []refProcedure{},
	}
	if r.Given == nil {
		r.Given = []string{}
	}
	for i, m := range d.Medications {
		dose := m.Dose
		if i < len(want.Meds) && want.Meds[i].Dose == "" {
			dose = ""
		}
		r.Meds = append(r.Meds, refMed{m.Name, m.RxNorm, dose, m.Route, m.Start, m.Stop, m.Status})
	}
	for _, x := range d.Results {
		r.Results = append(r.Results, refResult{x.Name, x.LOINC, x.Value, x.Unit, x.Range, x.Flag, x.Date})
	}
	for _, x := range d.Vitals {
		r.Vitals = append(r.Vitals, refResult{Name: x.Name, LOINC: x.LOINC, Value: x.Value, Unit: x.Unit, Date: x.Date})
	}
	for _, x := range d.Problems {
		r.Problems = append(r.Problems, refProblem{x.Name, x.Code, x.System, x.Status, x.Onset})
	}
	for _, x := range d.Allergies {
		r.Allergies = append(r.Allergies, refAllergy{x.Name, x.Reaction, x.Severity, x.Status})
	}
	for _, x := range d.Procedures {
		r.Procedures = append(r.Procedures, refProcedure{x.Name, x.Code, x.System, x.Date})
	}
	return r
}

// normRef drops the fields of the reference that the Go types do not hold
// for vital signs (range and flag) and fills nil lists.
func normRef(d refDoc) refDoc {
	for i := range d.Vitals {
		d.Vitals[i].Range, d.Vitals[i].Flag = "", ""
	}
	if d.Given == nil {
		d.Given = []string{}
	}
	return d
}

// TestAgainstReference reads every corpus document with the Go reader and
// with testdata/reference.py (xml.etree, whole-tree path queries) and wants
// the same facts.
//
// The corpus has no HTML file, so the Kinsights document is also wrapped
// the way its bbClear export is (see its README) and read back with Extract.
func TestAgainstReference(t *testing.T) {
	t.Parallel()
	files := corpusFiles(t)
	ref := runReference(t, files)
	root, _ := filepath.Abs(corpusDir)
	var meds, results, dated, bbclear int
	for _, f := range files {
		name, _ := filepath.Rel(root, f)
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ccda.Read(bytes.NewReader(data), ccda.Options{})
		if err != nil {
			t.Errorf("%s: Read: %v", name, err)
			continue
		}
		want := normRef(ref[f])
		if diff := cmp.Diff(want, asRef(got, want)); diff != "" {
			t.Errorf("%s: Go reading differs from reference.py (-python +go):\n%s", name, diff)
		}
		if strings.HasPrefix(name, "Kinsights") {
			html, err := ccda.Extract(bbClear(data), ccda.Options{})
			if err != nil {
				t.Fatalf("%s in bbClear HTML: %v", name, err)
			}
			if html.Source != ccda.SourceHTML {
				t.Errorf("got source %q, want %q", html.Source, ccda.SourceHTML)
			}
			if diff := cmp.Diff(want, asRef(html, want)); diff != "" {
				t.Errorf("%s in bbClear HTML: differs from reference.py (-python +go):\n%s", name, diff)
			}
			bbclear++
		}
		meds += len(got.Medications)
		results += len(got.Results)
		for _, r := range got.Results {
			if r.Date != "" {
				dated++
			}
		}
	}
	t.Logf("%d documents: %d medications, %d results (%d dated) agree", len(files), meds, results, dated)
	if bbclear != 1 {
		t.Errorf("read %d bbClear wrappings, want the Kinsights one", bbclear)
	}
	if meds < 100 || dated < 150 {
		t.Errorf("got %d medications and %d dated results over the corpus, want at least 100 and 150", meds, dated)
	}
}
