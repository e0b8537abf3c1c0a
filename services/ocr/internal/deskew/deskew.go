// Package deskew finds the skew of a page image and straightens it.
//
// The angle is found from projection profiles of the dark pixels of a reduced
// copy of the page: straight text lines make the row (or, for pages turned a
// quarter, the column) profile peaky. Rows and columns are both tried, so a
// page whose text runs vertically (before orientation is corrected) is
// straightened as well.
package deskew

import (
	"image"
	"math"
)

// MaxAngle is the largest skew looked for, in degrees.
const MaxAngle = 6.0

// Find returns the skew of img in degrees: positive when the text lines go
// down to the right (a clockwise tilt on screen). It returns 0 when the page
// has too little ink to tell.
func Find(img *image.Gray) float64 {
	pts, step := darkPoints(img)
	if len(pts) < 200 {
		return 0
	}
	best, bestScore := 0.0, -1.0
	try := func(deg float64) {
		sc := score(pts, deg, step)
		if sc > bestScore {
			best, bestScore = deg, sc
		}
	}
	for d := -MaxAngle; d <= MaxAngle+1e-9; d += 0.25 {
		try(d)
	}
	coarse := best
	for d := coarse - 0.25; d <= coarse+0.25+1e-9; d += 0.025 {
		try(d)
	}
	base := score(pts, 0, step)
	// Only trust a clear improvement over no rotation.
	if bestScore < base*1.02 {
		return 0
	}
	return math.Round(best*1000) / 1000
}

type point struct{ x, y float32 }

// darkPoints samples the dark pixels of a reduced image, centred, with the
// sampling step.
func darkPoints(img *image.Gray) ([]point, int) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	step := max(1, max(w, h)/1000)
	var pts []point
	cx, cy := float32(w)/2, float32(h)/2
	for y := 0; y < h; y += step {
		row := img.Pix[img.PixOffset(b.Min.X, b.Min.Y+y):]
		for x := 0; x < w; x += step {
			if row[x] < 128 {
				pts = append(pts, point{float32(x) - cx, float32(y) - cy})
			}
		}
	}
	// Pages that are mostly dark (photos, inverted scans) give no profile.
	if len(pts) > (w/step)*(h/step)/2 {
		return nil, step
	}
	return pts, step
}

// score is the larger of the row and column profile energies after undoing
// a skew of deg degrees; bins are a few reduced pixels tall.
func score(pts []point, deg float64, step int) float64 {
	s, c := math.Sincos(deg * math.Pi / 180)
	sin, cos := float32(s), float32(c)
	bin := float32(2 * step)
	const bins = 4096
	var rows, cols [bins]int32
	for _, p := range pts {
		// Undo the skew: rotate by -deg.
		x := p.x*cos + p.y*sin
		y := -p.x*sin + p.y*cos
		yi := int(y/bin) + bins/2
		xi := int(x/bin) + bins/2
		if yi >= 0 && yi < bins {
			rows[yi]++
		}
		if xi >= 0 && xi < bins {
			cols[xi]++
		}
	}
	var er, ec float64
	for i := range rows {
		er += float64(rows[i]) * float64(rows[i])
		ec += float64(cols[i]) * float64(cols[i])
	}
	return math.Max(er, ec)
}

// Rotate returns img turned by -deg degrees about its centre (undoing a skew
// of deg), with the same size; uncovered corners are white.
func Rotate(img *image.Gray, deg float64) *image.Gray {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := image.NewGray(image.Rect(0, 0, w, h))
	sin, cos := math.Sincos(deg * math.Pi / 180)
	cx, cy := float64(w)/2, float64(h)/2
	const one = 1 << 16
	// Source of destination (x, y) is R(deg)·(x-cx, y-cy) + c.
	for y := 0; y < h; y++ {
		dy := float64(y) + 0.5 - cy
		// Fixed-point walk along the row.
		sx := (-cx+0.5)*cos - dy*sin + cx - 0.5
		sy := (-cx+0.5)*sin + dy*cos + cy - 0.5
		fx, fy := int64(sx*one), int64(sy*one)
		ix, iy := int64(cos*one), int64(sin*one)
		dst := out.Pix[y*out.Stride : y*out.Stride+w]
		for x := range dst {
			x0, y0 := fx>>16, fy>>16
			if x0 < 0 || y0 < 0 || x0+1 >= int64(w) || y0+1 >= int64(h) {
				dst[x] = 255
			} else {
				ax, ay := fx&(one-1), fy&(one-1)
				o := img.PixOffset(b.Min.X+int(x0), b.Min.Y+int(y0))
				p00, p10 := int64(img.Pix[o]), int64(img.Pix[o+1])
				p01, p11 := int64(img.Pix[o+img.Stride]), int64(img.Pix[o+img.Stride+1])
				top := p00*(one-ax) + p10*ax
				bot := p01*(one-ax) + p11*ax
				dst[x] = uint8((top*(one-ay) + bot*ay) >> 32)
			}
			fx += ix
			fy += iy
		}
	}
	return out
}
