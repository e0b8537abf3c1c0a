package table

import (
	"math"
	"slices"
	"sort"

	"github.com/handoffmed/handoff/platform/textlayout"
)

// word is one word of the page with where it came from.
type word struct {
	textlayout.Word
	idx   int // position in the page's reading order
	table int // 1-based table it ended in, 0 for none
}

// collect lists the page's words in reading order, dropping empty ones and
// boxes that are not finite or not ordered.
func collect(p textlayout.Page) []word {
	var out []word
	for _, l := range p.Lines {
		for _, w := range l.Words {
			b := w.Box
			if w.Text == "" || !finite(b.X0, b.Y0, b.X1, b.Y1) || b.X1 < b.X0 || b.Y1 < b.Y0 {
				continue
			}
			out = append(out, word{Word: w, idx: len(out)})
		}
	}
	return out
}

func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1e7 {
			return false
		}
	}
	return true
}

// line is a visual line: words whose boxes share a band of the page,
// left to right.
type line struct {
	words []*word
	box   textlayout.Box
	h     float64 // median word height
}

// buildLines groups words into visual lines. A word joins the line it
// overlaps most vertically, when the overlap is at least half the smaller
// of the two heights and the word does not sit on a word of that line
// (OCR baselines wander a little, and a superscript or a subscript still
// belongs to its line; two lines of small print a little apart do not
// merge). Lines are sorted top to bottom.
func buildLines(words []word) []*line {
	order := make([]*word, len(words))
	for i := range words {
		order[i] = &words[i]
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].Box.CY() < order[j].Box.CY() })
	var lines []*line
	for _, w := range order {
		var best *line
		bestOv := 0.0
		// Only recent lines can overlap: words come in order of their centre.
		for k := len(lines) - 1; k >= 0 && k >= len(lines)-12; k-- {
			l := lines[k]
			ov := math.Min(l.box.Y1, w.Box.Y1) - math.Max(l.box.Y0, w.Box.Y0)
			if ov <= 0 || ov < 0.5*math.Min(l.h, w.Box.H()) || ov <= bestOv || collides(l, w) {
				continue
			}
			best, bestOv = l, ov
		}
		if best == nil {
			lines = append(lines, &line{words: []*word{w}, box: w.Box, h: w.Box.H()})
			continue
		}
		best.words = append(best.words, w)
		best.box = best.box.Union(w.Box)
	}
	for _, l := range lines {
		sort.SliceStable(l.words, func(i, j int) bool { return l.words[i].Box.X0 < l.words[j].Box.X0 })
		hs := make([]float64, len(l.words))
		for i, w := range l.words {
			hs[i] = w.Box.H()
		}
		l.h = median(hs)
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].box.Y0 < lines[j].box.Y0 })
	return lines
}

// collides reports whether w overlaps a word of l horizontally by more
// than a third of the narrower one: the same spot cannot hold two words of
// one line.
func collides(l *line, w *word) bool {
	for _, o := range l.words {
		ov := math.Min(o.Box.X1, w.Box.X1) - math.Max(o.Box.X0, w.Box.X0)
		if ov > 0 && ov > math.Min(o.Box.W(), w.Box.W())/3 {
			return true
		}
	}
	return false
}

// metrics are the page's typical sizes, the units of every threshold.
type metrics struct {
	h     float64 // median line height
	space float64 // median gap between neighbouring words of a line
}

// measure finds the page's typical line height and word spacing. The
// spacing is the median of the gaps between neighbouring words that are
// narrower than a line height: most gaps on a page are plain spaces. A
// page with few such gaps (a table of one-word cells) takes its smallest
// gap, kept between a fifth and three fifths of a line height.
func measure(lines []*line) metrics {
	var hs, gaps []float64
	for _, l := range lines {
		hs = append(hs, l.h)
		for i := 1; i < len(l.words); i++ {
			g := l.words[i].Box.X0 - l.words[i-1].Box.X1
			if g > 0 && g < l.h {
				gaps = append(gaps, g)
			}
		}
	}
	m := metrics{h: median(hs)}
	if m.h <= 0 {
		m.h = 10
	}
	m.space = median(gaps)
	if len(gaps) < 5 || m.space <= 0 {
		m.space = 0.3 * m.h
		if len(gaps) > 0 {
			m.space = min(max(slices.Min(gaps), 0.2*m.h), 0.6*m.h)
		}
	}
	return m
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
