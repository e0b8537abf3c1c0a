package table

import (
	"math"
	"strings"
)

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
