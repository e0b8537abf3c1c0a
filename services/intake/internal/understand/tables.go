package understand

import (
	"slices"
	"strings"

	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/intake/internal/table"
)

// docTables are the tables of a document, page by page, and its pages'
// text with each table row on one line.
type docTables struct {
	pages  []string
	tables []pageTable
}

// pageTable is a table and the page it is on (0-based).
type pageTable struct {
	page int
	t    table.Table
}

// readTables reads the tables of every page the layout has. A page with a
// table gets the table's rendering for its text (cells separated by
// table.Sep, a row per line); a page without keeps its text as the source
// gave it.
func readTables(in Input) docTables {
	out := docTables{pages: in.Pages}
	if in.Layout == nil {
		return out
	}
	for i := range in.Pages {
		lp, ok := in.Layout.Page(i + 1)
		if !ok {
			continue
		}
		r := table.Read(lp)
		if len(r.Tables) == 0 {
			continue
		}
		if len(out.tables) == 0 {
			out.pages = slices.Clone(in.Pages)
		}
		out.pages[i] = r.Text
		for _, t := range r.Tables {
			out.tables = append(out.tables, pageTable{page: i, t: t})
		}
	}
	return out
}

// medTables reads the medication tables of a document and returns the
// text without them, for the line parser to read what is left. A printed
// C-CDA's tables are read by their sections (printedFacts): none is left
// to the line parser.
func (a *Analyzer) medTables(tabs docTables, text string, printed bool) ([]record.Medication, string) {
	var out []record.Medication
	for _, pt := range tabs.tables {
		if printed {
			text = strings.Replace(text, pt.t.Text(), "", 1)
			continue
		}
		if c, ok := a.medTable(&pt.t); ok {
			out = append(out, a.tableMeds(&pt.t, c, false)...)
			text = strings.Replace(text, pt.t.Text(), "", 1)
		}
	}
	return out, text
}

// labTables reads the lab tables of a document; a result without a date
// of its own takes date (the report's collection date).
func (a *Analyzer) labTables(tabs docTables, date string) []record.LabResult {
	var out []record.LabResult
	for _, pt := range tabs.tables {
		if c, ok := a.labTable(&pt.t); ok {
			out = append(out, a.tableLabs(&pt.t, c, date)...)
		}
	}
	return out
}

// printedDate is the date a printed C-CDA says it was created.
func (a *Analyzer) printedDate(pages []string) string {
	for _, l := range strings.Split(pages[0], "\n") {
		if i := strings.Index(l, "Document Created:"); i >= 0 {
			return a.firstDate(l[i:])
		}
	}
	return ""
}

// combineMeds puts the medications of tables first; a medication the line
// parser read again from elsewhere in the text adds nothing new.
func combineMeds(tables, text []record.Medication) []record.Medication {
	out := slices.Clone(tables)
	for _, m := range text {
		if !slices.ContainsFunc(tables, func(t record.Medication) bool { return t.Generic == m.Generic }) {
			out = append(out, m)
		}
	}
	return dedupeMeds(out)
}
