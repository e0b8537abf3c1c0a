package understand

import (
	"regexp"
	"slices"
	"strings"

	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/textlayout"
	"github.com/handoffmed/handoff/services/intake/internal/table"
)

// Sections of a record, as its headings name them.
const (
	secNone = iota
	secMeds
	secResults
	secProblems
	secAllergies
	secProcedures
	secVitals
	secOther
)

// sectionRules name the sections by their headings (the section titles
// of a C-CDA as its stylesheet prints them, or a report's own).
type sectionRules struct {
	kinds []sectionRule
	// printedRe finds the header labels of HL7's CDA stylesheet: a
	// document printed from a portal's C-CDA.
	printedRe []*regexp.Regexp
}

type sectionRule struct {
	kind int
	re   *regexp.Regexp
}

func newSectionRules() sectionRules {
	re := func(s string) *regexp.Regexp { return regexp.MustCompile(`(?i)` + s) }
	return sectionRules{
		kinds: []sectionRule{
			{secAllergies, re(`\ballerg|\badverse reactions?\b|\bintolerances?\b`)},
			{secMeds, re(`\bmedications?\b|\bmedicines?\b|\bprescriptions?\b`)},
			{secResults, re(`\bresults?\b|\blaborator(?:y|ies)\b|\blabs?\b|\bdiagnostic\b`)},
			{secVitals, re(`\bvital`)},
			{secProcedures, re(`\bprocedures?\b|\bsurg(?:ery|eries|ical)\b|\boperations?\b`)},
			{secProblems, re(`\bproblems?\b|\bdiagnos[ie]s\b|\bconditions?\b|\bconcerns?\b`)},
		},
		printedRe: []*regexp.Regexp{re(`(?m)^\s*Document Id\b`), re(`(?m)^\s*Document Created:`)},
	}
}

// kind names the section a heading starts.
func (r *sectionRules) kind(title string) int {
	for _, k := range r.kinds {
		if k.re.MatchString(title) {
			return k.kind
		}
	}
	return secOther
}

// printed reports whether a document is a C-CDA printed with HL7's CDA
// stylesheet (what a patient gets who prints the record from a portal):
// its first page carries the stylesheet's header labels.
func (r *sectionRules) printed(pages []string) bool {
	if len(pages) == 0 {
		return false
	}
	for _, re := range r.printedRe {
		if !re.MatchString(pages[0]) {
			return false
		}
	}
	return true
}

// heading is a section heading and where it is.
type heading struct {
	page  int
	y     float64
	kind  int
	title string
}

// headings finds the section headings of a layout: lines of a few words
// set in a larger size than the page's text (a stylesheet's h3, a
// report's bold capitals), outside the tables.
func (a *Analyzer) headings(l *textlayout.Layout, tabs []pageTable) []heading {
	var out []heading
	for pi, p := range l.Pages {
		var hs []float64
		for _, ln := range p.Lines {
			for _, w := range ln.Words {
				hs = append(hs, w.Box.H())
			}
		}
		if len(hs) == 0 {
			continue
		}
		slices.Sort(hs)
		body := hs[len(hs)/2]
		for _, ln := range p.Lines {
			if len(ln.Words) == 0 || len(ln.Words) > 8 {
				continue
			}
			box := ln.Words[0].Box
			var words []string
			for _, w := range ln.Words {
				box = box.Union(w.Box)
				words = append(words, w.Text)
			}
			if box.H() < 1.12*body || inTable(tabs, pi, box) {
				continue
			}
			title := strings.Join(words, " ")
			if strings.ContainsAny(title, "0123456789") {
				continue
			}
			out = append(out, heading{page: pi, y: box.Y0, kind: a.sections.kind(title), title: title})
		}
	}
	return out
}

func inTable(tabs []pageTable, page int, b textlayout.Box) bool {
	for _, t := range tabs {
		if t.page == page && b.CY() >= t.t.Box.Y0 && b.CY() <= t.t.Box.Y1 && b.CX() >= t.t.Box.X0 && b.CX() <= t.t.Box.X1 {
			return true
		}
	}
	return false
}

// sectionOf is the section of a table: the last heading above it.
func sectionOf(hs []heading, t pageTable) int { return sectionAt(hs, t.page, t.t.Box.Y0) }

// sectionAt is the section at height y of page: the last heading above.
func sectionAt(hs []heading, page int, y float64) int {
	kind := secNone
	for _, h := range hs {
		if h.page < page || h.page == page && h.y < y {
			kind = h.kind
		}
	}
	return kind
}

// printedFacts reads the facts of a printed C-CDA from the tables of its
// sections: medications, results (with their dates, or the document's),
// problems, allergies, procedures and vital signs.
func (a *Analyzer) printedFacts(doc *record.Document, l *textlayout.Layout, tabs []pageTable, date string) {
	hs := a.headings(l, tabs)
	carried := "" // a results date carried to the table's next part
	for _, pt := range tabs {
		t := &pt.t
		sec := sectionOf(hs, pt)
		if sec != secResults {
			carried = ""
		}
		switch sec {
		case secMeds:
			// A medications section's table: the drug is in the column
			// that names drugs, whatever its header says ("Code
			// Description" beside a "Group Description" of drug classes).
			c, _ := a.medTable(t)
			if d := a.drugColumn(t); c.name < 0 || a.drugCount(t, d) > a.drugCount(t, c.name) {
				c.name = d
			}
			// Without a header that says the column holds medications
			// ("Medication", not merely "Name"), a row names one only with
			// a drug the vocabulary knows or a strength.
			named := c.name >= 0 && c.name == t.HeaderIndex(a.headers.medNamed...)
			doc.Medications = append(doc.Medications, a.tableMeds(t, c, !named)...)
		case secResults:
			if c, ok := a.labTable(t); ok {
				doc.Labs = append(doc.Labs, a.tableLabsCarry(t, c, date, &carried)...)
			}
		case secVitals:
			doc.Vitals = append(doc.Vitals, a.tableVitals(t, date)...)
		case secProblems:
			doc.Problems = append(doc.Problems, a.tableProblems(t)...)
		case secAllergies:
			doc.Allergies = append(doc.Allergies, a.tableAllergies(t)...)
		case secProcedures:
			doc.Procedures = append(doc.Procedures, a.tableProcedures(t)...)
		}
	}
	// Results a section lists as lines ("1. TSH - 6 m[IU]/L (abnormal)").
	for _, ln := range a.sectionLines(l, tabs, hs, secResults) {
		if r, ok := a.listResult(ln, date); ok {
			doc.Labs = append(doc.Labs, r)
		}
	}
}

// sectionLines returns the text of the lines of a layout, outside its
// tables, that are in sections of the given kind.
func (a *Analyzer) sectionLines(l *textlayout.Layout, tabs []pageTable, hs []heading, kind int) []string {
	var out []string
	for pi, p := range l.Pages {
		for _, ln := range p.Lines {
			if len(ln.Words) == 0 {
				continue
			}
			box := ln.Words[0].Box
			words := make([]string, 0, len(ln.Words))
			for _, w := range ln.Words {
				box = box.Union(w.Box)
				words = append(words, w.Text)
			}
			if inTable(tabs, pi, box) || sectionAt(hs, pi, box.Y0) != kind {
				continue
			}
			out = append(out, strings.Join(words, " "))
		}
	}
	return out
}

// listResult reads a result a section lists as a line: a name, a dash or
// a colon, a number with its unit, and words of interpretation in
// parentheses ("2. Hgb a1c - 8% (abnormal, high alert)"). Only numbers:
// a line of words is no result one can date.
func (a *Analyzer) listResult(line, date string) (record.LabResult, bool) {
	line = strings.TrimSpace(a.meds.bulletRe.ReplaceAllString(line, ""))
	name, rest, ok := strings.Cut(line, " - ")
	if !ok {
		name, rest, ok = strings.Cut(line, ": ")
	}
	if !ok || letters(name) < 2 || len(strings.Fields(name)) > 6 {
		return record.LabResult{}, false
	}
	interp := ""
	if i := strings.Index(rest, "("); i > 0 {
		interp, rest = rest[i:], rest[:i]
	}
	rest = strings.TrimSpace(rest)
	// "8%": the unit written against the number.
	if n := len(rest) - len(strings.TrimLeft(rest, "<>=0123456789.,")); n > 0 && n < len(rest) && !strings.Contains(rest[:n], " ") {
		rest = rest[:n] + " " + rest[n:]
	}
	v, unit, flag, d := a.labValue(rest)
	if !numeric(v) {
		return record.LabResult{}, false
	}
	if flag == "" {
		low := strings.ToLower(interp)
		switch {
		case strings.Contains(low, "high"):
			flag = "H"
		case strings.Contains(low, "low"):
			flag = "L"
		case strings.Contains(low, "abnormal"):
			flag = "A"
		}
	}
	if d == "" {
		d = date
	}
	return a.labResult(record.LabResult{Name: strings.TrimSpace(name), Value: v, Unit: unit, Flag: flag, Date: d}, "", ""), true
}

// drugCount scores column i of t as the drug's column: two for each row
// that names a known drug in it, one more when the cell also gives a
// strength (a drug class "Tamoxifen or Aromatase Inhibitor" beside
// "Tamoxifen 20 MG Oral Tablet").
func (a *Analyzer) drugCount(t *table.Table, i int) int {
	n := 0
	for _, r := range t.Rows {
		if i >= 0 && i < len(r) {
			if _, _, _, ok := a.meds.findDrug(r[i]); ok {
				n += 2
				if a.meds.strengthRe.MatchString(r[i]) {
					n++
				}
			}
		}
	}
	return n
}

// rowCell is a row's cell in column i, trimmed ("" for -1).
func rowCell(r []string, i int) string {
	if i < 0 || i >= len(r) {
		return ""
	}
	return strings.TrimSpace(r[i])
}

// firstColumn is col, or the first column when col is -1.
func firstColumn(col int) int {
	if col < 0 {
		return 0
	}
	return col
}

// tableVitals reads vital signs: a row per measurement, its value in a
// value column or under each date of the header (a column per visit).
func (a *Analyzer) tableVitals(t *table.Table, date string) []record.Vital {
	var out []record.Vital
	c, _ := a.labTable(t)
	name := firstColumn(c.name)
	for _, r := range t.Rows {
		n := strings.TrimSuffix(rowCell(r, name), ":")
		if n == "" {
			continue
		}
		add := func(cell, d string) {
			v, unit, _, vd := a.labValue(cell)
			if v == "" {
				return
			}
			if vd != "" {
				d = vd
			}
			out = append(out, record.Vital{Name: n, Value: v, Unit: unit, Date: d})
		}
		if len(c.dates) > 0 && c.value < 0 {
			for _, i := range c.dates {
				add(rowCell(r, i), a.firstDate(t.Header[i]))
			}
			continue
		}
		d := a.firstDate(rowCell(r, c.date))
		if d == "" {
			d = date
		}
		for i := range r {
			if i != name && (c.value < 0 || i == c.value) {
				if cell := rowCell(r, i); cell != "" && cell != rowCell(r, c.date) {
					add(cell, d)
					break
				}
			}
		}
	}
	return out
}

// tableProblems reads a problem list: the condition, its status and onset.
func (a *Analyzer) tableProblems(t *table.Table) []record.Problem {
	h := &a.headers
	name := firstColumn(t.HeaderIndex(h.problem...))
	status, onset := t.HeaderIndex(h.status...), t.HeaderIndex(h.onset...)
	var out []record.Problem
	for _, r := range t.Rows {
		if n := rowCell(r, name); n != "" {
			out = append(out, record.Problem{Name: n, Status: strings.ToLower(rowCell(r, status)),
				Onset: partialDate(a.dates, rowCell(r, onset))})
		}
	}
	return out
}

// tableAllergies reads an allergy list: the substance, the reaction, its
// severity and status.
func (a *Analyzer) tableAllergies(t *table.Table) []record.Allergy {
	h := &a.headers
	name := firstColumn(t.HeaderIndex(h.substance...))
	reaction, severity, status := t.HeaderIndex(h.reaction...), t.HeaderIndex(h.severity...), t.HeaderIndex(h.status...)
	var out []record.Allergy
	for _, r := range t.Rows {
		if n := rowCell(r, name); n != "" {
			out = append(out, record.Allergy{Name: n, Reaction: rowCell(r, reaction), Severity: rowCell(r, severity),
				Status: strings.ToLower(rowCell(r, status))})
		}
	}
	return out
}

// tableProcedures reads a procedure list: the procedure and its date.
func (a *Analyzer) tableProcedures(t *table.Table) []record.Procedure {
	h := &a.headers
	name := firstColumn(t.HeaderIndex(h.procedure...))
	date := t.HeaderIndex(h.date...)
	var out []record.Procedure
	for _, r := range t.Rows {
		if n := rowCell(r, name); n != "" {
			out = append(out, record.Procedure{Name: n, Date: partialDate(a.dates, rowCell(r, date))})
		}
	}
	return out
}
