// Package render draws the bundle's generated documents: the one-page case
// summary and the checklist, as PDFs with an embedded CJK TrueType font so
// that the Chinese field labels (and any patient text in Chinese) show on
// every reader.
package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/go-pdf/fpdf"
)

// Font families as they are named in the PDFs.
const (
	FontFamily = "DroidSansFallback" // CJK
	latinFace  = "DejaVuSans"
)

// Default font files, from Debian's fonts-droid-fallback and fonts-dejavu-core.
// Droid Sans Fallback holds the CJK glyphs but no Latin ones, so text is
// set in DejaVu Sans and every CJK run in Droid Sans Fallback.
const (
	DefaultFontPath      = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"
	DefaultLatinPath     = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
	DefaultLatinBoldPath = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
)

// ErrNoFont means a font is missing.
var ErrNoFont = errors.New("font missing")

// Fonts are the TrueType fonts embedded in the PDFs.
type Fonts struct {
	CJK, Latin, LatinBold []byte
}

// LoadFonts reads the fonts from their files ("" means the default path).
func LoadFonts(cjk, latin, latinBold string) (Fonts, error) {
	var f Fonts
	for _, x := range []struct {
		path, def string
		dst       *[]byte
	}{{cjk, DefaultFontPath, &f.CJK}, {latin, DefaultLatinPath, &f.Latin}, {latinBold, DefaultLatinBoldPath, &f.LatinBold}} {
		p := x.path
		if p == "" {
			p = x.def
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return Fonts{}, fmt.Errorf("%w: %w", ErrNoFont, err)
		}
		*x.dst = b
	}
	return f, nil
}

func (f Fonts) ok() bool { return len(f.CJK) > 0 && len(f.Latin) > 0 && len(f.LatinBold) > 0 }

func newPDF(fonts Fonts, created time.Time) *doc {
	pdf := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", SizeStr: "A4"})
	pdf.SetMargins(margin, margin, margin)
	pdf.SetAutoPageBreak(false, margin)
	pdf.AddUTF8FontFromBytes(FontFamily, "", fonts.CJK)
	pdf.AddUTF8FontFromBytes(latinFace, "", fonts.Latin)
	pdf.AddUTF8FontFromBytes(latinFace, "B", fonts.LatinBold)
	pdf.SetFont(latinFace, "", maxFont)
	pdf.SetCatalogSort(true)
	if !created.IsZero() {
		pdf.SetCreationDate(created)
		pdf.SetModificationDate(created)
	}
	pdf.SetCreator("Handoff packager", true)
	return &doc{Fpdf: pdf, size: maxFont}
}

// doc sets mixed Latin and CJK text: each run of CJK characters in the CJK
// font, the rest in DejaVu Sans.
type doc struct {
	*fpdf.Fpdf
	size float64
	bold bool
}

func (d *doc) SetFontSize(size float64) {
	d.size = size
	d.Fpdf.SetFontSize(size)
}

func (d *doc) setBold(b bool) { d.bold = b }

func (d *doc) use(cjk bool) {
	switch {
	case cjk:
		d.Fpdf.SetFont(FontFamily, "", d.size)
	case d.bold:
		d.Fpdf.SetFont(latinFace, "B", d.size)
	default:
		d.Fpdf.SetFont(latinFace, "", d.size)
	}
}

// runs splits s into runs of CJK and non-CJK characters.
func runs(s string, fn func(text string, cjk bool)) {
	start, cur := 0, false
	for i, r := range s {
		c := isCJK(r)
		if i > start && c != cur {
			fn(s[start:i], cur)
			start = i
		}
		cur = c
	}
	if start < len(s) {
		fn(s[start:], cur)
	}
}

func isCJK(r rune) bool {
	return (r >= 0x2E80 && r <= 0x9FFF) || (r >= 0xAC00 && r <= 0xD7AF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0xFE30 && r <= 0xFE4F) || (r >= 0xFF00 && r <= 0xFFEF)
}

// Text draws s at (x, y), switching fonts between runs.
func (d *doc) Text(x, y float64, s string) {
	runs(s, func(t string, cjk bool) {
		d.use(cjk)
		d.Fpdf.Text(x, y, t)
		x += d.Fpdf.GetStringWidth(t)
	})
}

// GetStringWidth measures s as Text draws it.
func (d *doc) GetStringWidth(s string) float64 {
	w := 0.0
	runs(s, func(t string, cjk bool) {
		d.use(cjk)
		w += d.Fpdf.GetStringWidth(t)
	})
	return w
}

func output(pdf *doc, w io.Writer) error {
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return fmt.Errorf("render pdf: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write pdf: %w", err)
	}
	return nil
}

func lineH(size float64) float64 { return size * 0.3528 * 1.25 }

// wrap breaks text into lines no wider than width: at spaces, or anywhere
// within long words and CJK text.
func wrap(pdf *doc, text string, width float64) []string {
	var out []string
	for _, para := range strings.Split(text, "\n") {
		runes := []rune(para)
		if len(runes) == 0 {
			out = append(out, "")
			continue
		}
		start, lastBreak := 0, -1
		w := 0.0
		for i := 0; i < len(runes); i++ {
			cw := pdf.GetStringWidth(string(runes[i]))
			if w+cw > width && i > start {
				end := i
				next := i
				if lastBreak > start {
					end, next = lastBreak, lastBreak
					if unicode.IsSpace(runes[lastBreak]) {
						next = lastBreak + 1
					}
				}
				out = append(out, strings.TrimRight(string(runes[start:end]), " "))
				start, lastBreak = next, -1
				i = next - 1
				w = 0
				continue
			}
			w += cw
			if unicode.IsSpace(runes[i]) || unicode.Is(unicode.Han, runes[i]) {
				lastBreak = i
				if unicode.Is(unicode.Han, runes[i]) {
					lastBreak = i + 1 // break after a Han character
				}
			}
		}
		out = append(out, string(runes[start:]))
	}
	return out
}

// clean keeps text as written but for what a PDF text line cannot hold:
// control characters become spaces, tabs too, and characters outside the
// Basic Multilingual Plane (emoji) become '?'.
func clean(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r > 0xFFFF || r == unicode.ReplacementChar:
			return '?'
		case unicode.IsControl(r) || r == '\t':
			return ' '
		}
		return r
	}, s)
}

func orNot(s string) string {
	if strings.TrimSpace(s) == "" {
		return notStated
	}
	return s
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}
