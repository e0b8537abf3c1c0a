// Package orient finds which way up a page of text is, from its pixels
// alone, cheaply enough to run on every page before recognition.
//
// Text lines make the row (or, for a page lying on its side, the column)
// profile of dark pixels peaky, which tells horizontal from vertical lines.
// Which side is up comes from the letters: in Latin script, ascenders and
// capitals (b d f h k l t, A–Z) stand above the x-height band far more than
// descenders (g j p q y) hang below the baseline, so across a page the ink
// beside the dense band of each line is heavier on the top side.
// Detect says when it is not sure (pictures, charts, too little text); the
// caller then lets Tesseract's orientation detection decide.
package orient

import (
	"image"
)

// Result is the orientation found.
type Result struct {
	// Turn is the clockwise quarter-turn that makes the text upright.
	Turn int
	// Sure is false when the evidence is weak.
	Sure bool
	// Lines is how many text lines voted; Ratio is top-side ink over
	// bottom-side ink (after the turn; > 1 when upright).
	Lines int
	Ratio float64
	// Vertical is set when the lines run top to bottom.
	Vertical bool
}

// Thresholds. A turned page is rarer than an upright one and costs more
// when wrongly turned (charts with bars make bands too), so it needs more
// evidence.
const (
	minLines       = 8    // text lines needed for upright
	minTurnedLines = 20   // text lines needed for a turn
	minLineRatio   = 2.0  // bands along the lines' axis against the other
	minSideRatio   = 1.35 // ascender against descender ink, upright
	minTurnedRatio = 2.0  // the same for a turn
	coreFraction   = 0.5  // of a line's densest row: its x-height band
	gapFraction    = 0.04 // of the page's densest row: rows lighter than this separate lines
)

// Detect finds the orientation of the text of img (deskewed, dark text on
// a light background).
func Detect(img *image.Gray) Result {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	step := max(1, max(w, h)/1700)
	rw, rh := (w+step-1)/step, (h+step-1)/step
	rows := make([]float64, rh)
	cols := make([]float64, rw)
	dark := 0
	for y := 0; y < h; y += step {
		row := img.Pix[img.PixOffset(b.Min.X, b.Min.Y+y):][:w]
		for x := 0; x < w; x += step {
			if row[x] < 128 {
				rows[y/step]++
				cols[x/step]++
				dark++
			}
		}
	}
	if dark == 0 || dark > rw*rh/3 {
		return Result{}
	}
	// Text lines make many separate bands along one axis; across them the
	// profile has few gaps (columns, if any).
	up, down, nr := sides(rows)
	left, right, nc := sides(cols)
	var r Result
	switch {
	case float64(nr) >= minLineRatio*float64(nc):
		r = decide(up, down, nr, 0, 180)
	case float64(nc) >= minLineRatio*float64(nr):
		// Lines run vertically: the "top" of the letters points left or
		// right. Left side heavier: the page turned counter-clockwise.
		r = decide(left, right, nc, 90, 270)
		r.Vertical = true
	}
	return r
}

// decide turns side masses into a result: first heavier means turnFirst.
func decide(first, second float64, n, turnFirst, turnSecond int) Result {
	r := Result{Lines: n}
	if n < minLines || first+second == 0 {
		return r
	}
	if first >= second {
		r.Turn = turnFirst
		r.Ratio = first / max(second, 1)
	} else {
		r.Turn = turnSecond
		r.Ratio = second / max(first, 1)
	}
	if r.Turn == 0 {
		r.Sure = r.Ratio >= minSideRatio
	} else {
		r.Sure = n >= minTurnedLines && r.Ratio >= minTurnedRatio
	}
	return r
}

// sides splits a profile into text lines and sums, over the lines, the ink
// before and after each line's dense band.
func sides(p []float64) (before, after float64, lines int) {
	peak := 0.0
	for _, v := range p {
		peak = max(peak, v)
	}
	gap := gapFraction * peak
	for i := 0; i < len(p); {
		if p[i] <= gap {
			i++
			continue
		}
		j := i
		for j < len(p) && p[j] > gap {
			j++
		}
		// Line [i, j): its dense band is where it reaches coreFraction of
		// its own maximum.
		lmax := 0.0
		for k := i; k < j; k++ {
			lmax = max(lmax, p[k])
		}
		if j-i >= 4 && lmax >= 0.1*peak {
			c0, c1 := i, j-1
			for p[c0] < coreFraction*lmax {
				c0++
			}
			for p[c1] < coreFraction*lmax {
				c1--
			}
			var b, a float64
			for k := i; k < c0; k++ {
				b += p[k]
			}
			for k := c1 + 1; k < j; k++ {
				a += p[k]
			}
			before += b
			after += a
			lines++
		}
		i = j
	}
	return before, after, lines
}

// Turn returns img turned clockwise by turn degrees (0, 90, 180, 270).
func Turn(img *image.Gray, turn int) *image.Gray {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	switch turn {
	case 90: // (x, y) -> (h-1-y, x)
		out := image.NewGray(image.Rect(0, 0, h, w))
		for y := range h {
			row := img.Pix[img.PixOffset(b.Min.X, b.Min.Y+y):][:w]
			nx := h - 1 - y
			for x, v := range row {
				out.Pix[x*out.Stride+nx] = v
			}
		}
		return out
	case 180:
		out := image.NewGray(image.Rect(0, 0, w, h))
		for y := range h {
			row := img.Pix[img.PixOffset(b.Min.X, b.Min.Y+y):][:w]
			dst := out.Pix[(h-1-y)*out.Stride:][:w]
			for x, v := range row {
				dst[w-1-x] = v
			}
		}
		return out
	case 270: // (x, y) -> (y, w-1-x)
		out := image.NewGray(image.Rect(0, 0, h, w))
		for y := range h {
			row := img.Pix[img.PixOffset(b.Min.X, b.Min.Y+y):][:w]
			for x, v := range row {
				out.Pix[(w-1-x)*out.Stride+y] = v
			}
		}
		return out
	}
	return img
}
