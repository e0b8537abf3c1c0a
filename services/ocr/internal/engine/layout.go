package engine

import (
	"image"
	"math"

	"github.com/handoffmed/handoff/platform/textlayout"

	"github.com/handoffmed/handoff/services/ocr/internal/tess"
	"github.com/handoffmed/handoff/services/ocr/internal/textpdf"
)

// Geometry says how the image Tesseract saw relates to the page.
type Geometry struct {
	// W, H: size in pixels of the image Tesseract saw (the page as shown,
	// deskewed).
	W, H int
	// Skew in degrees that was undone before recognition (clockwise tilt).
	Skew float64
	// Turn is the clockwise quarter-turn (0, 90, 180, 270) that makes the
	// text upright; the output page is shown turned by it.
	Turn int
	// PageW, PageH: the page's shown size in points after the turn.
	PageW, PageH float64
}

// Layout places the words of pg on the upright page: each word on its
// baseline, stretched to its box, at the place the page's skew puts it in
// the original image.
func Layout(pg tess.Page, g Geometry) textpdf.Page {
	// Size of the upright image.
	uw, uh := float64(g.W), float64(g.H)
	if g.Turn == 90 || g.Turn == 270 {
		uw, uh = uh, uw
	}
	sx, sy := g.PageW/uw, g.PageH/uh
	sin, cos := math.Sincos(g.Skew * math.Pi / 180)
	cx, cy := uw/2, uh/2
	// toPage maps a point of the upright deskewed image to page points.
	toPage := func(x, y float64) (float64, float64) {
		// Re-apply the skew about the centre (y down).
		dx, dy := x-cx, y-cy
		rx := cx + dx*cos - dy*sin
		ry := cy + dx*sin + dy*cos
		return rx * sx, g.PageH - ry*sy
	}
	out := textpdf.Page{Width: g.PageW, Height: g.PageH}
	for _, l := range pg.Lines {
		lb := turnRect(l.Box, g.Turn, g.W, g.H)
		for _, w := range l.Words {
			wb := turnRect(w.Box, g.Turn, g.W, g.H)
			// Baseline: hOCR's for upright lines (relative to the line
			// box's bottom left), else the line's bottom less descenders.
			base := lb.y1 - l.Descenders
			if l.HasBaseline && l.Angle == 0 && g.Turn == 0 {
				base = lb.y1 + l.Offset + l.Slope*((wb.x0+wb.x1)/2-lb.x0)
			}
			size := base - lb.y0
			if size <= 0 {
				size = lb.y1 - lb.y0
			}
			// Words are written horizontally, centred on where the word's
			// baseline is in the (skewed) image: text extraction tools
			// break a tilted word into pieces, and for the small angles
			// of a skew the horizontal word covers the tilted one.
			ax, ay := toPage(wb.x0, base)
			bx, by := toPage(wb.x1, base)
			width := (wb.x1 - wb.x0) * sx
			out.Words = append(out.Words, textpdf.Word{
				Text:  w.Text,
				X:     (ax+bx)/2 - width/2,
				Y:     (ay + by) / 2,
				Width: width,
				Size:  size * sy,
			})
		}
	}
	return out
}

// layoutPage turns the words of the text layer into the layout sidecar's
// page: each word's box from its top to its baseline, origin at the top
// left, in Tesseract's lines and paragraphs (Layout wrote one layer word
// per recognised word, in order).
func layoutPage(number int, pg tess.Page, layer textpdf.Page) textlayout.Page {
	out := textlayout.Page{Number: number, Width: layer.Width, Height: layer.Height, Source: textlayout.SourceTesseract}
	k := 0
	for _, l := range pg.Lines {
		line := textlayout.Line{Block: l.Par}
		for range l.Words {
			if k >= len(layer.Words) {
				break
			}
			w := layer.Words[k]
			k++
			line.Words = append(line.Words, textlayout.Word{Text: w.Text, Box: textlayout.Box{
				X0: w.X, Y0: layer.Height - w.Y - w.Size, X1: w.X + w.Width, Y1: layer.Height - w.Y}})
		}
		if len(line.Words) > 0 {
			out.Lines = append(out.Lines, line)
		}
	}
	return out
}

type frect struct{ x0, y0, x1, y1 float64 }

// turnRect maps a box of the w×h image to the image turned clockwise by turn.
func turnRect(r image.Rectangle, turn, w, h int) frect {
	x0, y0, x1, y1 := r.Min.X, r.Min.Y, r.Max.X, r.Max.Y
	fx0, fy0, fx1, fy1 := float64(x0), float64(y0), float64(x1), float64(y1)
	fw, fh := float64(w), float64(h)
	switch turn {
	case 90: // (x, y) -> (h - y, x)
		return frect{fh - fy1, fx0, fh - fy0, fx1}
	case 180: // (x, y) -> (w - x, h - y)
		return frect{fw - fx1, fh - fy1, fw - fx0, fh - fy0}
	case 270: // (x, y) -> (y, w - x)
		return frect{fy0, fw - fx1, fy1, fw - fx0}
	}
	return frect{fx0, fy0, fx1, fy1}
}
