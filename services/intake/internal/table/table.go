// Package table rebuilds the tables of a page from its words and their
// boxes (the layout sidecar), so that a medication list or a lab report
// laid out as a table reads row by row: a drug with its dose, a test with
// its value, unit, range and date.
//
// Plain text loses tables: pdftotext often reads a table column by column,
// and Tesseract reads a wide gap as the end of a line, so a drug and its
// dose end up on different lines. Read looks at where the words are
// instead, in four steps, each a function of its own file:
//
//  1. lines.go: words sharing a baseline band become visual lines.
//  2. detect.go: runs of lines whose gaps line up, vertical strips that no
//     word of any of them crosses (cover.go), become table regions with
//     columns.
//  3. rows.go: the lines of a region become rows; a cell that wraps onto
//     the next line(s) stays in its row (bottom.go: cells set at the
//     bottom of their rows); header.go: the first row is the header when
//     it holds no values, and a header centred apart from its column's
//     values joins them.
//  4. render.go: the page's text with each table row on one line, cells
//     separated by " | ", so that line-based readers see a row whole.
//
// Everything is pure: no I/O, deterministic, and safe on any word set (the
// words come from outside: a PDF's text layer or OCR).
package table

import (
	"github.com/handoffmed/handoff/platform/textlayout"
)

// Table is one table of a page.
type Table struct {
	// Box encloses the table's words.
	Box textlayout.Box
	// Columns are the table's columns, left to right: the extent of their
	// words.
	Columns []Column
	// Header holds the header's cell texts, one per column ("" for an
	// empty cell), or nil when the table has no header row.
	Header []string
	// Rows are the body rows, each with one cell text per column.
	Rows [][]string
	// RowLines is how many visual lines each body row spans (a row with a
	// wrapped cell spans several).
	RowLines []int
	// Continued says the header is the one of the table this one
	// continues (see Continue): it is not printed on this part.
	Continued bool
}

// Column is the horizontal extent of a column's words.
type Column struct {
	X0, X1 float64
}

// Page is what Read found on a page.
type Page struct {
	Tables []Table
	// Text is the page's text with every table rendered row by row (see
	// Render); the source's own text for a page without tables.
	Text string
}

// Read finds the tables of a page and renders its text.
func Read(p textlayout.Page) Page {
	words := collect(p)
	lines := buildLines(words)
	m := measure(lines)
	regions := detect(lines, m)
	var out Page
	for _, r := range regions {
		t, used := buildRows(r, m)
		if t == nil {
			continue
		}
		out.Tables = append(out.Tables, *t)
		for _, l := range used {
			for _, w := range l.words {
				w.table = len(out.Tables)
			}
		}
	}
	for k := 1; k < len(out.Tables); k++ {
		Continue(&out.Tables[k-1], &out.Tables[k])
	}
	out.Text = render(p, words, out.Tables)
	return out
}

// Continue gives next, a table without a header, the header of prev when
// next continues it: a group label set off by space, or a page break,
// split one table in two, and the second part has the first's columns.
// Each column of next must lie under exactly one column of prev, in
// order (a column empty in next's part is simply missing). It reports
// whether it did.
func Continue(prev, next *Table) bool {
	if prev.Header == nil || next.Header != nil || len(next.Columns) > len(prev.Columns) {
		return false
	}
	mapping := make([]int, len(next.Columns))
	last := -1
	for i, c := range next.Columns {
		at := -1
		for k, pc := range prev.Columns {
			if c.X0 < pc.X1 && pc.X0 < c.X1 {
				if at >= 0 {
					return false // spans two of prev's columns
				}
				at = k
			}
		}
		if at <= last {
			return false
		}
		mapping[i], last = at, at
	}
	next.Header = make([]string, len(next.Columns))
	for i, k := range mapping {
		next.Header[i] = prev.Header[k]
	}
	next.Continued = true
	return true
}

// Cell returns the cell of row r under the header named like one of
// names (case-insensitive, see HeaderIndex), or "".
func (t *Table) Cell(r int, names ...string) string {
	i := t.HeaderIndex(names...)
	if i < 0 || r < 0 || r >= len(t.Rows) || i >= len(t.Rows[r]) {
		return ""
	}
	return t.Rows[r][i]
}
