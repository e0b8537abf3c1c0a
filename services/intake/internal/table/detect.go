package table

import (
	"math"
	"slices"
	"strings"
)

// region is a run of lines that line up as a table, with its column
// separators.
type region struct {
	lines []*line
	seps  []sep
	// spans are the lines that run across the columns between rows (a
	// group label: "COMPREHENSIVE METABOLIC PANEL"): rows of their own,
	// left out of the columns.
	spans map[*line]bool
}

// core is the region's lines but its spans.
func (r *region) core() []*line {
	if len(r.spans) == 0 {
		return r.lines
	}
	out := make([]*line, 0, len(r.lines))
	for _, l := range r.lines {
		if !r.spans[l] {
			out = append(out, l)
		}
	}
	return out
}

// sep is a column separator: a vertical strip of the page that no word of
// the region crosses. x0 is the right edge of the words left of it, x1 the
// left edge of the words right of it.
type sep struct {
	x0, x1 float64
}

// Thresholds, in the page's own units (metrics): a strip narrower than
// minSepSpaces word spaces is no column gap (plain spaces of lines that
// happen to align); a gap of wideGapSpaces spaces is one no line of prose
// has; lines further apart than maxGapHeights line heights (more than a
// blank line: HTML rows have padding and some exports add line breaks) are
// not in the same table.
const (
	minSepSpaces  = 1.25
	keepSepSpaces = 0.35
	wideGapSpaces = 2.2
	maxGapHeights = 2.0
	// proseWords: a column whose cells hold this many words per line on
	// the median is running text (a column of a two-column page), not a
	// table column.
	proseWords = 6
	// headingRatio: a line this much taller than a table's lines is a
	// heading, not a row (an HTML h3 over 11-pixel table text is 1.2 times
	// as tall).
	headingRatio = 1.12
)

func medianHeight(lines []*line) float64 {
	hs := make([]float64, len(lines))
	for i, l := range lines {
		hs[i] = l.h
	}
	return median(hs)
}

// detect finds the table regions of a page's lines, top to bottom.
//
// A region grows from a seed line downwards while its lines keep at least
// one confirmed column separator free: the union of the words' horizontal
// extents, over all lines of the region, leaves gaps, and a gap with words
// on both sides in two lines or more is confirmed. Gaps that only one line
// has (the spaces of a header's words) may close as lines are added; a
// line that closes a confirmed gap (a paragraph under the table, a title
// across it) ends the region. A wrapped cell's continuation line stays
// inside its column and closes nothing.
//
// A grown region is a table when validate accepts it; else the next line
// is tried as a seed.
func detect(lines []*line, m metrics) []*region {
	var out []*region
	for i := 0; i < len(lines); {
		r, next := grow(lines, i, m)
		if r != nil && validate(r, m) {
			out = append(out, r)
			i = next
			continue
		}
		i++
	}
	return out
}

// grow grows a region from lines[i]; it returns the region (nil when the
// seed has no gap at all) and the index of the first line after it.
func grow(lines []*line, i int, m metrics) (*region, int) {
	minSep := minSepSpaces * m.space
	// A confirmed gap may narrow to keepSepSpaces before it counts as
	// closed: a spreadsheet's columns leave little room beside their
	// widest cell.
	keepSep := keepSepSpaces * m.space
	var found []sep
	r := &region{lines: []*line{lines[i]}}
	cov := cover(nil).with(lines[i]) // of the region's core
	// A table starts at a line with a gap no prose has (scaled to the
	// line's size: a heading's larger spaces are still spaces).
	if !hasWideGap(lines[i], gaps(r.lines, minSep), wideGapSpaces*m.space*math.Max(1, lines[i].h/m.h)) {
		return nil, i + 1
	}
	j := i + 1
	for ; j < len(lines); j++ {
		prev, l := r.lines[len(r.lines)-1], lines[j]
		if l.box.Y0-prev.box.Y1 > maxGapHeights*math.Max(m.h, prev.h) {
			break
		}
		// A line set larger than the table's is a heading after it.
		if l.h > headingRatio*medianHeight(r.lines) {
			break
		}
		core := r.core()
		before := strong(core, confirmed(core, cov.gaps(minSep)))
		found = append(found, before...)
		before = narrowed(cov.gaps(keepSep), before)
		// A line of one piece (no gap wider than a word space) with words
		// on both sides of a column gap runs across the columns: a group
		// label, if the next line keeps the columns; else the table's end.
		across := onePiece(l, wideGapSpaces*m.space) && bridges(l, before)
		if next := cov.with(l); !across && keeps(next.gaps(keepSep), before) {
			r.lines = append(r.lines, l)
			cov = next
			continue
		}
		if j+1 < len(lines) && len(core) >= 2 && onePiece(l, wideGapSpaces*m.space) &&
			lines[j+1].box.Y0-l.box.Y1 <= maxGapHeights*math.Max(m.h, l.h) &&
			keeps(cov.with(lines[j+1]).gaps(keepSep), before) {
			if r.spans == nil {
				r.spans = map[*line]bool{}
			}
			r.spans[l] = true
			r.lines = append(r.lines, l)
			continue
		}
		break
	}
	// First lines that hide separators are titles over the table (they
	// cross columns that the lines under them keep apart: a letterhead, the
	// patient's line), last ones notes under it (a footer across the
	// page). Up to three of each are tried off, the fewest that free the
	// most separators: titles off, the table starts lower and this seed
	// gives none; notes off, the next region starts after the table.
	// Only separators with wide gaps on two lines or more count: a line
	// of a row's own ("Quantity: 5   Refills: 0") frees no column.
	wideSeps := func(sub []*line) int {
		n := 0
		for _, sp := range confirmed(sub, gaps(sub, minSep)) {
			wide := 0
			for _, l := range sub {
				if hasWideGap(l, []sep{sp}, wideGapSpaces*m.space) {
					wide++
				}
			}
			if wide >= 2 {
				n++
			}
		}
		return n
	}
	core := r.core()
	top, bottom, most := 0, 0, wideSeps(core)
	for k1 := 0; k1 <= 3 && k1 < len(core); k1++ {
		// A header (words without digits) is never a title.
		if k1 > 0 && !hasDigit(core[k1-1]) {
			break
		}
		for k2 := 0; k2 <= 3 && len(core)-k1-k2 >= 2; k2++ {
			// A note is running text: a line of one piece.
			if k2 > 0 && !onePiece(core[len(core)-k2], wideGapSpaces*m.space) {
				break
			}
			if n := wideSeps(core[k1 : len(core)-k2]); n > most {
				top, bottom, most = k1, k2, n
			}
		}
	}
	if top > 0 {
		return nil, i + 1
	}
	if bottom > 0 {
		cut := core[len(core)-bottom]
		r.lines = r.lines[:slices.Index(r.lines, cut)]
		j = slices.Index(lines, cut)
	}
	// A first line in one column only is a heading or a paragraph: it is
	// dropped.
	for len(r.lines) > 2 && !r.spans[r.lines[0]] && spans(r.lines[0], confirmed(r.core(), gaps(r.core(), minSep))) <= 1 {
		r.lines = r.lines[1:]
		i++
	}
	r.seps = confirmed(r.core(), narrowed(gaps(r.core(), keepSep), append(found, gaps(r.core(), minSep)...)))
	// Lines just above that hold no digit and keep the columns apart are
	// the first lines of a header whose cells wrap or are centred (a
	// "Reference" above "Interval"); close lines only, so that a title
	// set off by some space is left out.
	minGap := math.Inf(1)
	for k := 1; k < len(r.lines); k++ {
		minGap = math.Min(minGap, r.lines[k].box.Y0-r.lines[k-1].box.Y1)
	}
	for n := 0; n < 2 && i > 0 && len(r.seps) > 0; n++ {
		l := lines[i-1]
		if l.box.Y1 > r.lines[0].box.Y0 || r.lines[0].box.Y0-l.box.Y1 > minGap+0.3*m.h || hasDigit(l) {
			break
		}
		up := append([]*line{l}, r.lines...)
		if !keeps(gaps(append([]*line{l}, r.core()...), minSep), r.seps) {
			break
		}
		r.lines = up
		r.seps = confirmed(r.core(), gaps(r.core(), minSep))
		i--
	}
	return r, j
}

// spans is the number of columns (between seps) line l has words in.
func spans(l *line, seps []sep) int {
	seen := map[int]bool{}
	for _, w := range l.words {
		seen[columnOf(seps, w.Box.CX())] = true
	}
	return len(seen)
}

func hasDigit(l *line) bool {
	for _, w := range l.words {
		if strings.ContainsAny(w.Text, "0123456789") {
			return true
		}
	}
	return false
}

// strong keeps the separators with words on each side in two lines or
// more: a separator beside a column that only one line fills (the header
// of a column, centred apart from the values under it) may close without
// ending the table.
func strong(lines []*line, seps []sep) []sep {
	counts := make([]int, len(seps)+1)
	seen := make([]bool, len(seps)+1)
	for _, l := range lines {
		clear(seen)
		for _, w := range l.words {
			seen[columnOf(seps, w.Box.CX())] = true
		}
		for c, ok := range seen {
			if ok {
				counts[c]++
			}
		}
	}
	var out []sep
	for k, s := range seps {
		if counts[k] >= 2 && counts[k+1] >= 2 {
			out = append(out, s)
		}
	}
	return out
}

// onePiece reports whether no two neighbouring words of l are parted by
// width or more.
func onePiece(l *line, width float64) bool {
	for k := 1; k < len(l.words); k++ {
		if l.words[k].Box.X0-l.words[k-1].Box.X1 >= width {
			return false
		}
	}
	return true
}

// bridges reports whether l has words on both sides of one of seps.
func bridges(l *line, seps []sep) bool {
	for _, s := range seps {
		if bothSides([]*line{l}, s) > 0 {
			return true
		}
	}
	return false
}

// narrowed keeps the gaps of gs that lie within one of seps (a gap as it
// is now, of a separator found wider before).
func narrowed(gs, seps []sep) []sep {
	var out []sep
	for _, g := range gs {
		if slices.ContainsFunc(seps, func(s sep) bool { return g.x1 > s.x0 && g.x0 < s.x1 }) {
			out = append(out, g)
		}
	}
	return out
}

// keeps reports whether every strip of before still has a free strip of
// after within it (the region's confirmed gaps survive the new line).
func keeps(after, before []sep) bool {
	for _, b := range before {
		if !slices.ContainsFunc(after, func(a sep) bool { return a.x1 > b.x0 && a.x0 < b.x1 }) {
			return false
		}
	}
	return true
}

// validate decides whether a region is a table:
//   - two lines or more and one confirmed separator or more;
//   - gaps no prose has: in two lines (every line of a two-line region)
//     a separator's gap is wideGapSpaces spaces wide;
//   - not running text: a column whose cells hold proseWords words per
//     line is a column of prose, and two such columns (or one of two) are
//     a page set in columns, not a table;
//   - a two-line region needs three columns filled on both lines (a
//     header and one row), so that two lines of a form ("Name:  Jane Doe")
//     are not taken for a table.
func validate(r *region, m metrics) bool {
	if len(r.core()) < 2 || len(r.seps) == 0 {
		return false
	}
	lines := r.core()
	wide := 0
	for _, l := range lines {
		if hasWideGap(l, r.seps, wideGapSpaces*m.space) {
			wide++
		}
	}
	if wide < 2 {
		return false
	}
	cols := len(r.seps) + 1
	filled := make([][]int, len(lines)) // words per column per line
	for i, l := range lines {
		filled[i] = make([]int, cols)
		for _, w := range l.words {
			filled[i][columnOf(r.seps, w.Box.CX())] += len(strings.Fields(w.Text))
		}
	}
	prose := 0
	for c := range cols {
		var counts []float64
		for i := range lines {
			if filled[i][c] > 0 {
				counts = append(counts, float64(filled[i][c]))
			}
		}
		if len(counts) >= 3 && median(counts) >= proseWords {
			prose++
		}
	}
	if prose >= 2 || cols == 2 && prose == 1 {
		return false
	}
	if len(lines) == 2 {
		for i := range lines {
			n := 0
			for c := range cols {
				if filled[i][c] > 0 {
					n++
				}
			}
			if n < 3 {
				return false
			}
		}
	}
	return true
}

// hasWideGap reports whether line l has words on both sides of one of
// seps with a gap of at least width between them.
func hasWideGap(l *line, seps []sep, width float64) bool {
	for _, s := range seps {
		left, right := math.Inf(-1), math.Inf(1)
		for _, w := range l.words {
			if w.Box.X1 <= s.x0+0.01 {
				left = math.Max(left, w.Box.X1)
			}
			if w.Box.X0 >= s.x1-0.01 {
				right = math.Min(right, w.Box.X0)
			}
		}
		if right-left >= width && !math.IsInf(left, 0) && !math.IsInf(right, 0) {
			return true
		}
	}
	return false
}

// columnOf is the column of x: the number of separators left of it.
func columnOf(seps []sep, x float64) int {
	c := 0
	for _, s := range seps {
		if x > (s.x0+s.x1)/2 {
			c++
		}
	}
	return c
}
