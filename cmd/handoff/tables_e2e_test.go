package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/handoffmed/handoff/cmd/handoff/internal/e2e"
)

// tablesRoot holds the table fixtures (testdata/tables/make.sh).
const tablesRoot = "../../testdata/tables"

// The table path through `handoff serve`: a medication list and a lab
// report laid out as tables go through the OCR service, which writes their
// layout sidecars, and understanding reads their rows: every medication
// with its dose (no meds.dose_missing), every result with its value and
// date, in the report's facts.
func TestServeTables(t *testing.T) {
	t.Parallel()
	read := func(name string) []byte {
		p, err := filepath.Abs(filepath.Join(tablesRoot, name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	meds, lab := read("meds-word.pdf"), read("lab.pdf")
	p := e2e.Start(t, e2e.Options{})
	id := p.CreateCase(`{"patient":{"family_name":"Doe","given_name":"Mary","birth_date":"1961-03-14"},"reference_date":"2026-10-20"}`)
	p.Upload(id, "My medicines.pdf", meds)
	p.Upload(id, "Labs/October.pdf", lab)
	r, v, ok := finalReport(t, p, id, 2, 3*time.Minute)
	if !ok {
		t.Fatalf("no final report; case %+v", v)
	}
	var got []string
	for _, f := range r.Findings {
		got = append(got, f.Code)
	}
	if slices.Contains(got, "meds.dose_missing") {
		t.Errorf("meds.dose_missing for a table with every dose: %v", got)
	}
	if r.Facts == nil {
		t.Fatal("report without facts")
	}
	doses := map[string]string{}
	for _, m := range r.Facts.Medications {
		doses[m.Generic] = m.Dose
	}
	for g, dose := range map[string]string{"apixaban": "5 mg", "metoprolol": "25 mg", "fish oil": "1,000 mg", "turmeric": "500 mg"} {
		if doses[g] != dose {
			t.Errorf("%s: got dose %q, want %q (facts %v)", g, doses[g], dose, doses)
		}
	}
	labs := map[string]string{}
	for _, l := range r.Facts.Labs {
		labs[l.Name] = l.Value + " " + l.Unit + " " + l.Date
	}
	for name, want := range map[string]string{"Hemoglobin": "11.2 g/dL 2026-10-07", "Creatinine": "0.86 mg/dL 2026-10-07"} {
		if labs[name] != want {
			t.Errorf("%s: got %q, want %q", name, labs[name], want)
		}
	}
}
