package table

import (
	"math"
	"strings"
)

// grid is a region's lines cut into cells.
type grid struct {
	key   int // the key column (keyColumn)
	lines []*line
	spans []bool      // the line is a group label across the columns
	cells [][][]*word // [line][column] words
	cols  int
	// tight and loose are each column's right edge: tight where its widest
	// line ends, loose where the next column's words start (less a space).
	tight, loose []float64
}

func newGrid(r *region, m metrics) *grid {
	g := &grid{lines: r.lines, cols: len(r.seps) + 1, spans: make([]bool, len(r.lines))}
	g.cells = make([][][]*word, len(r.lines))
	right := math.Inf(-1)
	for i, l := range r.lines {
		g.cells[i] = make([][]*word, g.cols)
		g.spans[i] = r.spans[l]
		for _, w := range l.words {
			c := columnOf(r.seps, w.Box.CX())
			if g.spans[i] {
				c = 0 // a label across the columns reads as one cell
			}
			g.cells[i][c] = append(g.cells[i][c], w)
			right = math.Max(right, w.Box.X1)
		}
	}
	g.key = g.keyColumn()
	g.tight = make([]float64, g.cols)
	g.loose = make([]float64, g.cols)
	for c := range g.cols {
		if c < len(r.seps) {
			g.tight[c], g.loose[c] = r.seps[c].x0, r.seps[c].x1-m.space
		} else {
			g.tight[c], g.loose[c] = right, right+2*m.space
		}
	}
	return g
}

func (g *grid) filled(i, c int) bool { return len(g.cells[i][c]) > 0 }

func (g *grid) digits(i int) bool {
	for _, ws := range g.cells[i] {
		for _, w := range ws {
			if strings.ContainsAny(w.Text, "0123456789") {
				return true
			}
		}
	}
	return false
}

// row is a row being built: the lines it spans.
type row struct {
	lines []int
}

// fits says whether the first word of line i in column c would have
// fitted after the row's last text in that column within the column's
// widest line: had it fitted, the table would not have wrapped it there.
// wraps says it would not have fitted even in the column's whole width
// (up to the next column's words, less a space).
func (g *grid) fits(r *row, i, c int, m metrics) (fits, wraps bool) {
	if !g.filled(i, c) {
		return false, false
	}
	prev := g.last(r, c)
	if prev < 0 {
		return false, false
	}
	ws := g.cells[prev][c]
	if last := ws[len(ws)-1].Text; strings.HasSuffix(last, "-") || strings.HasSuffix(last, ":") {
		return false, true // broken at a hyphen, or a label awaiting its value
	}
	end := ws[len(ws)-1].Box.X1 + m.space + g.cells[i][c][0].Box.W()
	return end <= g.tight[c]+0.25*m.space, end > g.loose[c]
}

// last is the last line of row r with text in column c, or -1.
func (g *grid) last(r *row, c int) int {
	prev := -1
	for _, k := range r.lines {
		if g.filled(k, c) {
			prev = k
		}
	}
	return prev
}

// endsWithHyphen reports whether the text of line i in column c ends with
// a hyphen: a date or a word broken across lines ("03-31-" "2010").
func (g *grid) endsWithHyphen(i, c int) bool {
	ws := g.cells[i][c]
	return len(ws) > 0 && strings.HasSuffix(ws[len(ws)-1].Text, "-")
}

// startsWithDigit reports whether the text of line i in column c starts
// with a digit (a value, a dose, a date).
func (g *grid) startsWithDigit(i, c int) bool {
	if !g.filled(i, c) {
		return false
	}
	t := g.cells[i][c][0].Text
	return t != "" && t[0] >= '0' && t[0] <= '9'
}

// gap is the space between line i and the line above (0 when they overlap).
func (g *grid) gap(i int) float64 {
	return math.Max(0, g.lines[i].box.Y0-g.lines[i-1].box.Y1)
}

// padded reports whether the lines of a table are parted two ways: by a
// line's spacing within a cell, and by that plus the cells' padding
// between rows (an HTML or word-processor table with padded cells). Then
// the gap alone tells a row's lines from the next row, whatever the
// alignment of its cells: every gap is either within a sixth of a line
// height of the smallest, or two fifths of a line height larger, with one
// small gap or more and two large ones or more.
func (g *grid) padded(minGap float64, m metrics) bool {
	small, large := 0, 0
	for i := 1; i < len(g.lines); i++ {
		if g.spans[i] || g.spans[i-1] {
			continue
		}
		switch gap := g.gap(i); {
		case gap <= minGap+0.15*m.h:
			small++
		case gap >= minGap+0.4*m.h:
			large++
		default:
			return false
		}
	}
	return small >= 1 && large >= 2
}

// continues decides whether line i continues row r (a wrapped cell) or
// starts a new row. Tables set their cells at the top of the row, so the
// first line of a row holds the first line of every cell; the rules, in
// order:
//
//  0. a group label across the columns is a row of its own; a gap to the
//     line above larger than the region's smallest by half a
//     line height is the space between rows (HTML and word-processor cells
//     have padding; the lines of one cell do not);
//  1. values under a header without values start the body;
//  2. text in a column the row has none in yet starts a new row, but in a
//     header without values, whose cells are often centred vertically (a
//     one-line "Test" beside a two-line "Reference / Range");
//  3. a cell's lines follow each other: text in a column whose cell in the
//     row ended on an earlier line starts a new row, and a line that
//     continues no cell of the line above is a new row;
//  4. the key column (keyColumn: the drug, the test) decides as a reader
//     does: a line without text there continues the row (a unit under its
//     value, the end of the directions);
//  5. two values stacked in one column (both start with a digit: results,
//     doses, dates) are two rows: values do not wrap; nor is a first word
//     that would have fitted after the line above in its column, within
//     the column's widest line;
//  6. a key cell whose first word would not have fitted even in the
//     column's whole width wrapped: a continuation; otherwise the line
//     continues the row when it is sparser than the row's first line (the
//     columns that never wrap, a dose, a status, are on the first only).
func (g *grid) continues(r *row, i int, first bool, minGap float64, m metrics) bool {
	if g.spans[i] || g.spans[i-1] {
		return false // a group label is a row of its own
	}
	gap := g.gap(i)
	if gap > minGap+0.5*m.h && gap > 0.3*m.h {
		return false
	}
	rowDigits := false
	for _, k := range r.lines {
		rowDigits = rowDigits || g.digits(k)
	}
	if first && !rowDigits && g.digits(i) {
		return false
	}
	shared, fill := false, false
	for c := range g.cols {
		if !g.filled(i, c) {
			continue
		}
		switch prev := g.last(r, c); {
		case prev < 0:
			if !first || rowDigits {
				return false
			}
			fill = true
		case prev != i-1:
			return false
		default:
			shared = true
		}
	}
	if !shared {
		return false
	}
	if fill {
		return true // the header's centred cells beside a two-line one
	}
	key := g.key
	if !g.filled(i, key) {
		return true
	}
	for c := range g.cols {
		if !g.filled(i, c) {
			continue
		}
		if g.startsWithDigit(i-1, c) && g.startsWithDigit(i, c) && !g.endsWithHyphen(i-1, c) {
			return false
		}
		if fits, _ := g.fits(r, i, c, m); fits {
			return false
		}
	}
	if _, wraps := g.fits(r, i, key, m); wraps {
		return true
	}
	return g.sparser(i, r.lines[0])
}

// sparser reports whether line i has text in a strict subset of the
// columns line j has text in.
func (g *grid) sparser(i, j int) bool {
	fewer := false
	for c := range g.cols {
		switch {
		case g.filled(i, c) && !g.filled(j, c):
			return false
		case !g.filled(i, c) && g.filled(j, c):
			fewer = true
		}
	}
	return fewer
}

// keyColumn is the column a row starts in: the leftmost that at least
// half as many lines fill as the fullest column does. Usually the first
// (the drug, the test); not a first column whose cells span several rows
// (a date above the results of one day).
func (g *grid) keyColumn() int {
	counts := make([]int, g.cols)
	most := 0
	for c := range g.cols {
		for i := range g.lines {
			if g.filled(i, c) {
				counts[c]++
			}
		}
		most = max(most, counts[c])
	}
	for c := range g.cols {
		if 2*counts[c] >= most {
			return c
		}
	}
	return 0
}

// buildRows turns a region into a table: rows with their wrapped cells,
// the header when the first row is one, leading and trailing lines that
// are no rows (a title in the first column, a heading under the table)
// left out. It returns nil when no table is left, and the lines the table
// uses.
func buildRows(r *region, m metrics) (*Table, []*line) {
	g := newGrid(r, m)
	// Gaps below zero (a centred header cell beside a two-line one) count
	// as none.
	minGap := math.Inf(1)
	for i := 1; i < len(g.lines); i++ {
		minGap = math.Min(minGap, g.gap(i))
	}
	padded := g.padded(minGap, m)
	rows := []*row{{lines: []int{0}}}
	for i := 1; i < len(g.lines); i++ {
		cur := rows[len(rows)-1]
		var more bool
		if padded && !g.spans[i] && !g.spans[i-1] {
			more = g.gap(i) <= minGap+0.15*m.h
		} else {
			more = g.continues(cur, i, len(rows) == 1, minGap, m)
		}
		if more {
			cur.lines = append(cur.lines, i)
		} else {
			rows = append(rows, &row{lines: []int{i}})
		}
	}
	// Cells set at the bottom of their rows read better from the bottom up
	// (bottomRows): that reading wins when the top-down one joins lines
	// that are no wrapped lines of one cell and its rows' lines follow
	// each other better.
	if bottom, ok := g.bottomRows(); ok {
		if top, bot := g.wrapScore(rows, m), g.wrapScore(bottom, m); top < 0 && bot > top {
			rows = bottom
		}
	}
	ident := make([]int, g.cols)
	for c := range ident {
		ident[c] = c
	}
	cells := make([][]string, len(rows))
	for k, rw := range rows {
		cells[k] = g.rowCells(rw, ident, g.cols)
	}
	// A first row of one cell above a header is a title; a last row of
	// one cell under rows of several is a heading or a note.
	start, end := 0, len(rows)
	if end-start >= 3 && nonEmpty(cells[0]) == 1 && isHeader(cells[1]) {
		start++
	}
	for end-start >= 3 && nonEmpty(cells[end-1]) == 1 && len(rows[end-1].lines) == 1 && nonEmpty(cells[end-2]) >= 2 {
		end--
	}
	rows, cells = rows[start:end], cells[start:end]
	var header *row
	if isHeader(cells[0]) {
		header = rows[0]
		rows = rows[1:]
	}
	if len(rows) == 0 || header == nil && len(rows) < 2 {
		return nil, nil
	}
	colMap, cols := ident, g.cols
	if header != nil {
		colMap, cols = g.mergeHeaderOnly(header, rows)
	}
	t := &Table{}
	if header != nil {
		t.Header = g.rowCells(header, colMap, cols)
	}
	var used []*line
	for _, rw := range append([]*row{header}, rows...) {
		if rw == nil {
			continue
		}
		for _, k := range rw.lines {
			used = append(used, g.lines[k])
		}
	}
	for _, rw := range rows {
		t.Rows = append(t.Rows, g.rowCells(rw, colMap, cols))
		t.RowLines = append(t.RowLines, len(rw.lines))
	}
	t.Columns = make([]Column, cols)
	for c := range t.Columns {
		t.Columns[c] = Column{X0: math.Inf(1), X1: math.Inf(-1)}
	}
	t.Box = used[0].box
	for _, l := range used {
		t.Box = t.Box.Union(l.box)
		for _, w := range l.words {
			c := &t.Columns[colMap[columnOf(r.seps, w.Box.CX())]]
			c.X0, c.X1 = math.Min(c.X0, w.Box.X0), math.Max(c.X1, w.Box.X1)
		}
	}
	return t, used
}

// rowCells joins the words of each table column over the row's lines
// (colMap maps the grid's columns to the table's cols). A line of a cell
// ending in a hyphen joins the next without a space ("extended-"
// "release").
func (g *grid) rowCells(r *row, colMap []int, cols int) []string {
	bs := make([]strings.Builder, cols)
	for _, i := range r.lines {
		for c := range g.cols {
			b := &bs[colMap[c]]
			for _, w := range g.cells[i][c] {
				if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
					b.WriteByte(' ')
				}
				b.WriteString(w.Text)
			}
		}
	}
	out := make([]string, cols)
	for c := range bs {
		out[c] = bs[c].String()
	}
	return out
}

func nonEmpty(cells []string) int {
	n := 0
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			n++
		}
	}
	return n
}
