// Package textpdf writes text-only PDFs: one page per OCRed page, holding
// nothing but invisible text (render mode 3) in a glyph-less font, the way
// Tesseract's PDF renderer writes its text layer. The pages are grafted onto
// the original pages afterwards, so the text sits on the words of the scan.
//
// The font is Tesseract's GlyphLessFont (glyphless.ttf is Tesseract's
// tessdata/pdf.ttf, Apache-2.0): one empty glyph that every CID maps to, a
// fixed advance of half the font size, and an identity ToUnicode map, so that
// a word's code points are its UTF-16BE code units.
package textpdf

import (
	"bufio"
	"bytes"
	"compress/zlib"
	_ "embed"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf16"
)

//go:embed glyphless.ttf
var glyphlessTTF []byte

// charWidth is the glyph advance in thousandths of the font size.
const charWidth = 500

// Word is one word of the text layer, in PDF points of its page (origin at
// the bottom left).
type Word struct {
	Text string
	// X, Y is the start of the word on its baseline.
	X, Y float64
	// Width is the length of the word along its baseline.
	Width float64
	// Size is the font size: the height of the word above its baseline.
	Size float64
	// Angle is the baseline's angle, counter-clockwise, in radians.
	Angle float64
}

// Page is one page of the text layer.
type Page struct {
	Width, Height float64 // points
	Words         []Word
	// Image, when set, is drawn under the words over the whole page (for
	// pictures made into a PDF of their own).
	Image *Image
	// Rotate is the page's /Rotate (the words are laid out on the page as
	// shown, which is the media box turned by Rotate).
	Rotate int
}

// Image is an image XObject, its data already encoded.
type Image struct {
	Width, Height int
	ColorSpace    string // "DeviceGray", "DeviceRGB" or "DeviceCMYK"
	Bits          int
	Filter        string // "DCTDecode" or "FlateDecode"
	Decode        string // optional Decode array, e.g. "[1 0 1 0 1 0 1 0]"
	Data          []byte
}

// Content returns the content stream that draws the words of p invisibly
// with the font resource name font.
func Content(p Page, font string) []byte {
	var b bytes.Buffer
	b.WriteString("BT\n3 Tr\n")
	lastSize := -1.0
	for _, w := range p.Words {
		units := utf16.Encode([]rune(w.Text))
		if len(units) == 0 || w.Width <= 0 || w.Size <= 0 || !finite(w.X, w.Y, w.Width, w.Size, w.Angle) {
			continue
		}
		size := round2(w.Size)
		if size < 0.5 {
			size = 0.5
		}
		if size != lastSize {
			fmt.Fprintf(&b, "/%s %s Tf\n", font, num(size))
			lastSize = size
		}
		sin, cos := math.Sincos(w.Angle)
		fmt.Fprintf(&b, "%s %s %s %s %s %s Tm ", num(cos), num(sin), num(-sin), num(cos), num(w.X), num(w.Y))
		natural := float64(len(units)) * size * charWidth / 1000
		fmt.Fprintf(&b, "%s Tz <", num(100*w.Width/natural))
		for _, u := range units {
			fmt.Fprintf(&b, "%04X", u)
		}
		b.WriteString("> Tj\n")
	}
	b.WriteString("ET\n")
	return b.Bytes()
}

func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1e6 {
			return false
		}
	}
	return true
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

func num(v float64) string {
	s := strconv.FormatFloat(round3(v), 'f', -1, 64)
	if s == "-0" {
		return "0"
	}
	return s
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// FontName is the resource name of the text layer's font in pages Write makes.
const FontName = "f-0-0"

// Write writes a PDF with one page per entry of pages.
func Write(w io.Writer, pages []Page) error {
	pw := &writer{w: bufio.NewWriter(w)}
	pw.raw("%PDF-1.5\n%\xde\xad\xbe\xef\n")
	pw.obj(objCatalog, fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R >>", objPages))
	kids := make([]byte, 0, len(pages)*10)
	for i := range pages {
		kids = fmt.Appendf(kids, "%d 0 R ", objFirstPage+3*i)
	}
	pw.obj(objPages, fmt.Sprintf("<< /Type /Pages /Count %d /Kids [ %s] >>", len(pages), kids))
	if err := writeFont(pw); err != nil {
		return err
	}
	for i, p := range pages {
		page, content, img := objFirstPage+3*i, objFirstPage+3*i+1, objFirstPage+3*i+2
		// The media box is the page before /Rotate turns it.
		mw, mh := p.Width, p.Height
		if p.Rotate == 90 || p.Rotate == 270 {
			mw, mh = mh, mw
		}
		extra, xobj := "", ""
		if p.Rotate != 0 {
			extra = fmt.Sprintf(" /Rotate %d", p.Rotate)
		}
		var body []byte
		if p.Image != nil {
			xobj = fmt.Sprintf(" /XObject << /Im0 %d 0 R >>", img)
			body = fmt.Appendf(body, "q %s 0 0 %s 0 0 cm /Im0 Do Q\n", num(mw), num(mh))
		}
		if p.Rotate != 0 {
			// Words are laid out on the page as shown: map shown
			// coordinates back to the media box.
			body = fmt.Appendf(body, "q %s cm\n", showToMedia(p.Rotate, mw, mh))
		}
		body = append(body, Content(p, FontName)...)
		if p.Rotate != 0 {
			body = append(body, "Q\n"...)
		}
		pw.obj(page, fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s]%s /Contents %d 0 R "+
			"/Resources << /Font << /%s %d 0 R >>%s >> >>",
			objPages, num(mw), num(mh), extra, content, FontName, objType0, xobj))
		if err := pw.stream(content, "", body, true); err != nil {
			return err
		}
		if p.Image != nil {
			im := p.Image
			dict := fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /%s /BitsPerComponent %d /Filter /%s ",
				im.Width, im.Height, im.ColorSpace, im.Bits, im.Filter)
			if im.Decode != "" {
				dict += "/Decode " + im.Decode + " "
			}
			if err := pw.rawStream(img, dict, im.Data); err != nil {
				return err
			}
		}
	}
	return pw.finish(objCatalog)
}

func writeFont(pw *writer) error {
	pw.obj(objType0, fmt.Sprintf("<< /Type /Font /Subtype /Type0 /BaseFont /GlyphLessFont "+
		"/DescendantFonts [ %d 0 R ] /Encoding /Identity-H /ToUnicode %d 0 R >>", objCIDFont, objToUnicode))
	pw.obj(objCIDFont, fmt.Sprintf("<< /Type /Font /Subtype /CIDFontType2 /BaseFont /GlyphLessFont "+
		"/CIDToGIDMap %d 0 R /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "+
		"/FontDescriptor %d 0 R /DW %d >>", objCIDMap, objDescriptor, charWidth))
	m := make([]byte, 2<<16) // every CID maps to glyph 1
	for i := 1; i < len(m); i += 2 {
		m[i] = 1
	}
	if err := pw.stream(objCIDMap, "", m, true); err != nil {
		return err
	}
	cmap := "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n" +
		"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n" +
		"/CMapName /Adobe-Identify-UCS def\n/CMapType 2 def\n" +
		"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n" +
		"1 beginbfrange\n<0000> <FFFF> <0000>\nendbfrange\n" +
		"endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
	if err := pw.stream(objToUnicode, "", []byte(cmap), true); err != nil {
		return err
	}
	pw.obj(objDescriptor, fmt.Sprintf("<< /Type /FontDescriptor /FontName /GlyphLessFont /Flags 5 "+
		"/FontBBox [ 0 0 %d 1000 ] /ItalicAngle 0 /Ascent 1000 /Descent -1 /CapHeight 1000 /StemV 80 "+
		"/FontFile2 %d 0 R >>", charWidth, objFontFile))
	return pw.stream(objFontFile, fmt.Sprintf("/Length1 %d ", len(glyphlessTTF)), glyphlessTTF, false)
}

// Object numbers of the fixed objects; page objects follow.
const (
	objCatalog = 1 + iota
	objPages
	objType0
	objCIDFont
	objCIDMap
	objToUnicode
	objDescriptor
	objFontFile
	objFirstPage
)

type writer struct {
	w       *bufio.Writer
	off     int64
	offsets map[int]int64
	err     error
}

func (pw *writer) raw(s string) {
	if pw.err != nil {
		return
	}
	n, err := pw.w.WriteString(s)
	pw.off += int64(n)
	pw.err = err
}

func (pw *writer) bytes(b []byte) {
	if pw.err != nil {
		return
	}
	n, err := pw.w.Write(b)
	pw.off += int64(n)
	pw.err = err
}

func (pw *writer) begin(n int) {
	if pw.offsets == nil {
		pw.offsets = map[int]int64{}
	}
	pw.offsets[n] = pw.off
	pw.raw(strconv.Itoa(n) + " 0 obj\n")
}

func (pw *writer) obj(n int, body string) {
	pw.begin(n)
	pw.raw(body)
	pw.raw("\nendobj\n")
}

func (pw *writer) stream(n int, extra string, data []byte, compress bool) error {
	filter := ""
	if compress {
		var z bytes.Buffer
		zw, err := zlib.NewWriterLevel(&z, zlib.BestSpeed)
		if err != nil {
			return fmt.Errorf("compress: %w", err)
		}
		if _, err := zw.Write(data); err != nil {
			return fmt.Errorf("compress: %w", err)
		}
		if err := zw.Close(); err != nil {
			return fmt.Errorf("compress: %w", err)
		}
		data = z.Bytes()
		filter = " /Filter /FlateDecode"
	}
	pw.begin(n)
	pw.raw(fmt.Sprintf("<< /Length %d%s %s>>\nstream\n", len(data), filter, extra))
	pw.bytes(data)
	pw.raw("\nendstream\nendobj\n")
	return pw.err
}

// rawStream writes data as it is, its filter named in dict.
func (pw *writer) rawStream(n int, dict string, data []byte) error {
	pw.begin(n)
	pw.raw(fmt.Sprintf("<< /Length %d %s>>\nstream\n", len(data), dict))
	pw.bytes(data)
	pw.raw("\nendstream\nendobj\n")
	return pw.err
}

// showToMedia is the matrix from the shown page (turned clockwise by rotate)
// to the media box mw×mh.
func showToMedia(rotate int, mw, mh float64) string {
	switch rotate {
	case 90: // shown (x, y) -> media (mw - y, x)
		return fmt.Sprintf("0 1 -1 0 %s 0", num(mw))
	case 180:
		return fmt.Sprintf("-1 0 0 -1 %s %s", num(mw), num(mh))
	case 270: // shown (x, y) -> media (y, mh - x)
		return fmt.Sprintf("0 -1 1 0 0 %s", num(mh))
	}
	return "1 0 0 1 0 0"
}

func (pw *writer) finish(root int) error {
	size := 0
	for n := range pw.offsets {
		size = max(size, n)
	}
	size++
	xref := pw.off
	pw.raw(fmt.Sprintf("xref\n0 %d\n0000000000 65535 f \n", size))
	for n := 1; n < size; n++ {
		off, ok := pw.offsets[n]
		if !ok {
			pw.raw("0000000000 65535 f \n")
			continue
		}
		pw.raw(fmt.Sprintf("%010d 00000 n \n", off))
	}
	pw.raw(fmt.Sprintf("trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n", size, root, xref))
	if pw.err != nil {
		return fmt.Errorf("write text pdf: %w", pw.err)
	}
	if err := pw.w.Flush(); err != nil {
		return fmt.Errorf("write text pdf: %w", err)
	}
	return nil
}
