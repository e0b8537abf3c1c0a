package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/handoffmed/handoff/cmd/handoff/internal/e2e"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/testenv"
)

// casesRoot holds the example cases tools/casegen made.
const casesRoot = "../../testdata/cases"

type exampleCase struct {
	name   string
	fields []byte
	files  map[string][]byte
	want   struct {
		Codes  []string `json:"codes"`
		Absent []string `json:"absent"`
	}
	patient record.Patient
}

func loadExample(t *testing.T, name string) exampleCase {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join(casesRoot, name))
	if err != nil {
		t.Fatal(err)
	}
	c := exampleCase{name: name, files: map[string][]byte{}}
	if c.fields, err = os.ReadFile(filepath.Join(dir, "case.json")); err != nil {
		t.Fatal(err)
	}
	var in struct {
		Patient record.Patient `json:"patient"`
	}
	if err := json.Unmarshal(c.fields, &in); err != nil {
		t.Fatal(err)
	}
	c.patient = in.Patient
	exp, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(exp, &c.want); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "files")
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		b, err := os.ReadFile(p)
		c.files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func exampleNames(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(casesRoot)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// finalReport waits until a case's n files are processed and its report
// is final: nothing pending, the same digest for 2 seconds.
func finalReport(t testing.TB, p *e2e.Pipeline, id string, n int, timeout time.Duration) (record.Report, e2e.CaseView, bool) {
	t.Helper()
	rs, vs, ok := finalReports(t, p, map[string]int{id: n}, timeout)
	return rs[id], vs[id], ok
}

// finalReports does the same for many cases (case ID -> files) at once:
// every report final and unchanged for the same 2 seconds.
func finalReports(t testing.TB, p *e2e.Pipeline, files map[string]int, timeout time.Duration) (map[string]record.Report, map[string]e2e.CaseView, bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	reports := map[string]record.Report{}
	views := map[string]e2e.CaseView{}
	var since time.Time
	for time.Now().Before(deadline) {
		final, changed := true, false
		for id, n := range files {
			v := p.Case(id)
			views[id] = v
			var r record.Report
			if v.Pending > 0 || len(v.Files) < n ||
				p.Do(http.MethodGet, "/v1/cases/"+id+"/report", nil, &r) != http.StatusOK || r.Pending > 0 {
				final = false
				continue
			}
			if r.Digest != reports[id].Digest {
				changed = true
			}
			reports[id] = r
		}
		switch {
		case !final || changed:
			since = time.Now()
		case time.Since(since) >= 2*time.Second:
			return reports, views, true
		}
		time.Sleep(250 * time.Millisecond)
	}
	return reports, views, false
}

// phiStrings are the patient data of a case that must never reach logs or
// events: names, birth dates in the forms documents print, and words of
// the documents' text.
func phiStrings(c exampleCase) []string {
	p := c.patient
	out := []string{p.FamilyName, p.GivenName}
	if t, err := time.Parse(time.DateOnly, p.BirthDate); err == nil {
		out = append(out, p.BirthDate, t.Format("01/02/2006"), t.Format("20060102"), t.Format("January 2, 2006"))
	}
	return out
}

// documentText is text that only the documents hold.
var documentText = []string{"subchondral", "meniscectomy", "Penicillins - Hives", "supraspinatus", "Vent. rate",
	"COMPREHENSIVE METABOLIC PANEL", "Prothrombin Time", "paracentral disc extrusion", "Atrial fibrillation on apixaban",
	"Chief Complaint", "P<USA"}

// Every example case through `handoff serve`: the report has exactly the
// codes the case expects, and no name, birth date or document text shows up
// in the pipeline's logs or in any message on its subjects.
func TestExampleCasesThroughServe(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs every example case through the pipeline")
	}
	testenv.Tools(t, "tesseract", "pdftotext")
	p := e2e.Start(t, e2e.Options{Args: []string{"--log-level", "debug"}})

	// Capture every message the pipeline sends: events and work items.
	msgs := p.CaptureMessages(t)

	var cases []exampleCase
	ids := map[string]string{}
	for _, name := range exampleNames(t) {
		c := loadExample(t, name)
		cases = append(cases, c)
		id := p.CreateCase(string(c.fields))
		ids[name] = id
		paths := make([]string, 0, len(c.files))
		for path := range c.files {
			paths = append(paths, path)
		}
		sort.Strings(paths)
		for _, path := range paths {
			p.Upload(id, path, c.files[path])
		}
	}
	// Wait until every case is processed. A route on which no file at all
	// was processed in 3 minutes has a hung or missing worker: that fails.
	start, lastLog := time.Now(), time.Now()
	for {
		idle := true
		done, pending := map[string]int{}, map[string]int{}
		for _, c := range cases {
			v := p.Case(ids[c.name])
			if v.Pending > 0 || len(v.Files) < len(c.files) {
				idle = false
			}
			for _, f := range v.Files {
				if record.Terminal(f.Status) {
					done[f.Route]++
				} else {
					pending[f.Route]++
				}
			}
		}
		if idle {
			t.Logf("every case processed in %s", time.Since(start).Round(time.Second))
			break
		}
		if time.Since(lastLog) > 15*time.Second {
			t.Logf("%s: done by route %v, pending by route %v", time.Since(start).Round(time.Second), done, pending)
			lastLog = time.Now()
		}
		if time.Since(start) > 3*time.Minute {
			for route := range pending {
				if done[route] == 0 {
					t.Fatalf("no file routed to %q was processed in 3 minutes (pending by route: %v): its worker is hung or does not run in handoff serve", route, pending)
				}
			}
		}
		if time.Since(start) > 12*time.Minute {
			t.Fatalf("cases not processed in time; pending by route: %v", pending)
		}
		time.Sleep(500 * time.Millisecond)
	}
	files := map[string]int{}
	for _, c := range cases {
		files[ids[c.name]] = len(c.files)
	}
	reports, views, final := finalReports(t, p, files, time.Minute)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, v := reports[ids[c.name]], views[ids[c.name]]
			if !final {
				t.Fatalf("the reports did not settle in a minute; this case's: pending %d, digest %q; case: %+v", r.Pending, r.Digest, v)
			}
			var got []string
			for _, f := range r.Findings {
				got = append(got, f.Code)
			}
			sort.Strings(got)
			got = slices.Compact(got)
			if got == nil {
				got = []string{}
			}
			if !slices.Equal(got, c.want.Codes) {
				var b strings.Builder
				for _, f := range r.Findings {
					b.WriteString("\n  " + f.Code + " (" + f.Severity + "): " + f.Message)
				}
				t.Errorf("codes: got %v, want %v%s", got, c.want.Codes, b.String())
			}
			for _, code := range c.want.Absent {
				if slices.Contains(got, code) {
					t.Errorf("code %s must not appear", code)
				}
			}
		})
	}

	events := msgs.String()
	logs := p.Serve.Output()
	if len(events) == 0 || len(logs) == 0 {
		t.Fatalf("captured %d bytes of messages and %d of logs", len(events), len(logs))
	}
	for _, c := range cases {
		var needles []string
		for _, s := range append(phiStrings(c), documentText...) {
			if len(s) >= 4 {
				needles = append(needles, s)
			}
		}
		for _, s := range e2e.Mentions(logs, needles) {
			t.Errorf("case %s: the pipeline's log holds patient data or document text %q", c.name, s)
		}
		for _, s := range e2e.Mentions(events, needles) {
			t.Errorf("case %s: a message holds patient data or document text %q", c.name, s)
		}
	}
}
