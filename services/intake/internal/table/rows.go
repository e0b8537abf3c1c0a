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

// bottomRows reads a table whose cells sit at the bottom of their rows (a
// spreadsheet's default): a row's wrapped cells start on lines above the
// line that holds its one-line cells. It finds the anchor columns, columns
// of values (every line of text there starts with a digit: a dose, a
// date), which take one line a row, and the anchor lines that have text in
// them. A reading from the bottom is possible when the first line under
// the header is no anchor line but the last line is: each row then ends at
// an anchor line and takes the lines above it. It returns false (and no
// rows) for any other table.
func (g *grid) bottomRows() ([]*row, bool) {
	n := len(g.lines)
	if n < 4 || !isHeader(g.lineCells(0)) {
		return nil, false
	}
	var anchors []int
	for c := range g.cols {
		count, values := 0, true
		for i := 1; i < n; i++ {
			if g.filled(i, c) {
				count++
				values = values && g.startsWithDigit(i, c)
			}
		}
		if count >= 2 && values {
			anchors = append(anchors, c)
		}
	}
	anchor := func(i int) bool {
		if g.spans[i] {
			return true
		}
		for _, c := range anchors {
			if g.filled(i, c) {
				return true
			}
		}
		return false
	}
	if len(anchors) == 0 || anchor(1) || !anchor(n-1) {
		return nil, false
	}
	rows := []*row{{lines: []int{0}}}
	cur := &row{}
	for i := 1; i < n; i++ {
		cur.lines = append(cur.lines, i)
		if anchor(i) {
			rows = append(rows, cur)
			cur = &row{}
		}
	}
	return rows, true
}

// wrapScore scores rows as a reading of the table: for each two lines of a
// row with text in one column, one point when the lower line's first word
// would not have fitted after the upper line's text (it was wrapped there),
// one point less when it would have.
func (g *grid) wrapScore(rows []*row, m metrics) int {
	score := 0
	for _, r := range rows {
		for c := range g.cols {
			prev := -1
			for _, i := range r.lines {
				if !g.filled(i, c) {
					continue
				}
				if prev >= 0 {
					ws := g.cells[prev][c]
					end := ws[len(ws)-1].Box.X1 + m.space + g.cells[i][c][0].Box.W()
					if end > g.tight[c]+0.25*m.space {
						score++
					} else {
						score--
					}
				}
				prev = i
			}
		}
	}
	return score
}

// lineCells is line i's text per column.
func (g *grid) lineCells(i int) []string {
	out := make([]string, g.cols)
	for c := range g.cols {
		for k, w := range g.cells[i][c] {
			if k > 0 {
				out[c] += " "
			}
			out[c] += w.Text
		}
	}
	return out
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

// mergeHeaderOnly maps the grid's columns to the table's. A column with
// text in the header and none in the body is the header of a neighbouring
// column whose header cell is empty: HTML centres a header cell over its
// column while the values start at its left edge, and a gap can part the
// two. It joins the column whose values start last at or before the
// header's own start (the cell it is centred in), or else the first such
// column to its right.
func (g *grid) mergeHeaderOnly(header *row, body []*row) (colMap []int, cols int) {
	n := g.cols
	headLeft, bodyLeft := make([]float64, n), make([]float64, n)
	for c := range n {
		headLeft[c], bodyLeft[c] = math.Inf(1), math.Inf(1)
		for _, i := range header.lines {
			for _, w := range g.cells[i][c] {
				headLeft[c] = math.Min(headLeft[c], w.Box.X0)
			}
		}
		for _, rw := range body {
			for _, i := range rw.lines {
				for _, w := range g.cells[i][c] {
					bodyLeft[c] = math.Min(bodyLeft[c], w.Box.X0)
				}
			}
		}
	}
	target := make([]int, n)
	taken := make([]bool, n)
	for c := range n {
		target[c] = c
	}
	for c := range n {
		if math.IsInf(headLeft[c], 1) || !math.IsInf(bodyLeft[c], 1) {
			continue // no header, or values of its own
		}
		best := -1
		for d := range n {
			if d == c || taken[d] || !math.IsInf(headLeft[d], 1) || math.IsInf(bodyLeft[d], 1) {
				continue // only a column of values without a header
			}
			if bodyLeft[d] <= headLeft[c] {
				if best < 0 || bodyLeft[d] > bodyLeft[best] {
					best = d
				}
			}
		}
		if best < 0 {
			for d := c + 1; d < n; d++ {
				if !taken[d] && math.IsInf(headLeft[d], 1) && !math.IsInf(bodyLeft[d], 1) {
					best = d
					break
				}
			}
		}
		if best >= 0 {
			target[c] = best
			taken[best] = true
		}
	}
	colMap = make([]int, n)
	for c := range n {
		if target[c] == c {
			colMap[c] = cols
			cols++
		}
	}
	for c := range n {
		if target[c] != c {
			colMap[c] = colMap[target[c]]
		}
	}
	return colMap, cols
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

// isHeader reports whether a row reads as a header: two cells or more and
// no number but in dates (a cumulative lab report heads its columns with
// collection dates: "10/01/2026", "Sept 10, 2012").
func isHeader(cells []string) bool {
	if nonEmpty(cells) < 2 {
		return false
	}
	for _, c := range cells {
		if strings.ContainsAny(c, "0123456789") && !isDate(c) {
			return false
		}
	}
	return true
}

// isDate reports whether a cell's numbers are a date's: it names a month
// ("Sept 10, 2012", "March 2026"), or each of its numbers is a full
// numeric date ("10/01/2026", "2026-10-01") or a time after one.
func isDate(c string) bool {
	month := false
	for _, f := range strings.Fields(strings.ToLower(c)) {
		f = strings.Trim(f, ",.;:()")
		if len(f) >= 3 && strings.Contains("jan feb mar apr may jun jul aug sep oct nov dec", f[:3]) && f[0] >= 'a' && f[0] <= 'z' {
			month = true
		}
	}
	if month {
		return true
	}
	full := false
	for _, f := range strings.Fields(c) {
		f = strings.Trim(f, ",.;:()")
		if !strings.ContainsAny(f, "0123456789") {
			continue
		}
		switch {
		case numericDate(f):
			full = true
		case full && strings.Count(f, ":") >= 1:
			// a time after the date
		default:
			return false
		}
	}
	return full
}

// numericDate reports whether w is a date of three numeric parts
// ("10/01/2026", "2026-10-01", "1.2.26").
func numericDate(w string) bool {
	parts := strings.FieldsFunc(w, func(r rune) bool { return r == '/' || r == '-' || r == '.' })
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 4 {
			return false
		}
		for _, r := range p {
			if r < '0' || r > '9' {
				return false
			}
		}
	}
	return true
}
