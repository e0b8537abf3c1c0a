package table

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
