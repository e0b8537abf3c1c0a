package table

import (
	"math"
	"slices"
	"sort"
)

// cover is the horizontal extent the words of some lines cover: disjoint
// spans, left to right. A region keeps its cover as it grows, so that
// adding a line costs the line's words, not the region's.
type cover []span

type span struct{ x0, x1 float64 }

// with returns the cover with the words of l added (c is left as it was).
func (c cover) with(l *line) cover {
	out := slices.Clone(c)
	for _, w := range l.words {
		out = out.add(w.Box.X0, w.Box.X1)
	}
	return out
}

// add merges [x0, x1] into c (which it may change).
func (c cover) add(x0, x1 float64) cover {
	// The spans that touch [x0, x1] are c[i:j].
	i := sort.Search(len(c), func(k int) bool { return c[k].x1 >= x0 })
	j := i
	for j < len(c) && c[j].x0 <= x1 {
		x0, x1 = math.Min(x0, c[j].x0), math.Max(x1, c[j].x1)
		j++
	}
	return slices.Replace(c, i, j, span{x0, x1})
}

// gaps returns the strips between the spans at least minWidth wide.
func (c cover) gaps(minWidth float64) []sep {
	var out []sep
	for k := 1; k < len(c); k++ {
		if c[k].x0-c[k-1].x1 >= minWidth {
			out = append(out, sep{c[k-1].x1, c[k].x0})
		}
	}
	return out
}

// coverOf is the cover of lines.
func coverOf(lines []*line) cover {
	var c cover
	for _, l := range lines {
		for _, w := range l.words {
			c = c.add(w.Box.X0, w.Box.X1)
		}
	}
	return c
}

// gaps returns the strips at least minWidth wide that no word of lines
// covers, between the leftmost and the rightmost word.
func gaps(lines []*line, minWidth float64) []sep { return coverOf(lines).gaps(minWidth) }

// confirmed keeps the gaps that have words on both sides in two lines or
// more (both lines when the region has two). The gaps are free in every
// line's words, so a line whose extent runs across one has words on both
// sides.
func confirmed(lines []*line, gs []sep) []sep {
	var out []sep
	for _, g := range gs {
		n := 0
		for _, l := range lines {
			if l.box.X0 <= g.x0+0.01 && l.box.X1 >= g.x1-0.01 {
				n++
			}
		}
		if n >= 2 {
			out = append(out, g)
		}
	}
	return out
}

// bothSides counts the lines with words on both sides of g.
func bothSides(lines []*line, g sep) int {
	n := 0
	for _, l := range lines {
		left, right := false, false
		for _, w := range l.words {
			if w.Box.X1 <= g.x0+0.01 {
				left = true
			}
			if w.Box.X0 >= g.x1-0.01 {
				right = true
			}
		}
		if left && right {
			n++
		}
	}
	return n
}
