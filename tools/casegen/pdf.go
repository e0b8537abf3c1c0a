package main

import (
	"archive/zip"
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
)

// fixedTime stamps every generated PDF, so that output is byte-for-byte
// reproducible.
var fixedTime = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

// A document is written as plain text with a little markup, one page per
// string:
//
//	# Title          bold, large
//	## Heading       bold
//	! line           monospace (tables, EKG measurements)
//	---              a rule
//	other lines      body text, wrapped
type document struct {
	pages []string
	// mono sets monospace as the body font (lab printouts).
	mono bool
	// footer is printed at the bottom of every page; "%d" and "%d" get the
	// page number and count.
	footer string
}

func newPDF() *fpdf.Fpdf {
	pdf := fpdf.New("P", "mm", "Letter", "")
	pdf.SetCreationDate(fixedTime)
	pdf.SetModificationDate(fixedTime)
	pdf.SetCatalogSort(true)
	pdf.SetProducer("handoff casegen", false)
	pdf.SetMargins(18, 16, 18)
	pdf.SetAutoPageBreak(true, 16)
	return pdf
}

// textPDF renders a document as a PDF with a text layer.
func textPDF(d document) ([]byte, error) {
	pdf := newPDF()
	if d.footer != "" {
		pdf.SetFooterFunc(func() {
			pdf.SetY(-12)
			pdf.SetFont("Helvetica", "", 7.5)
			pdf.CellFormat(0, 4, fmt.Sprintf(d.footer, pdf.PageNo(), len(d.pages)), "", 0, "C", false, 0, "")
		})
	}
	for _, p := range d.pages {
		pdf.AddPage()
		for _, l := range strings.Split(strings.Trim(p, "\n"), "\n") {
			writeLine(pdf, l, d.mono)
		}
	}
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, fmt.Errorf("write pdf: %w", err)
	}
	return b.Bytes(), nil
}

func writeLine(pdf *fpdf.Fpdf, l string, mono bool) {
	body := "Helvetica"
	size := 10.0
	if mono {
		body, size = "Courier", 9.0
	}
	switch {
	case strings.HasPrefix(l, "# "):
		pdf.SetFont("Helvetica", "B", 15)
		pdf.MultiCell(0, 7, latin(l[2:]), "", "L", false)
		pdf.Ln(1)
	case strings.HasPrefix(l, "## "):
		pdf.Ln(1.5)
		pdf.SetFont("Helvetica", "B", 10.5)
		pdf.MultiCell(0, 5, latin(l[3:]), "", "L", false)
	case strings.HasPrefix(l, "! "):
		pdf.SetFont("Courier", "", 8.6)
		pdf.CellFormat(0, 4.1, latin(l[2:]), "", 1, "L", false, 0, "")
	case l == "---":
		y := pdf.GetY() + 1
		pdf.Line(18, y, 197.9, y)
		pdf.Ln(2.5)
	case strings.TrimSpace(l) == "":
		pdf.Ln(2.5)
	default:
		pdf.SetFont(body, "", size)
		pdf.MultiCell(0, 4.6, latin(l), "", "L", false)
	}
}

// latin maps the few non-Latin-1 characters the texts use to what the core
// fonts can print.
func latin(s string) string {
	return strings.NewReplacer("–", "-", "—", "-", "’", "'", "“", "\"", "”", "\"", "•", "-", "≥", ">=", "≤", "<=", "µ", "u").Replace(s)
}

// rasterize renders a PDF's pages to grey images with pdftoppm (poppler).
func rasterize(pdf []byte, dpi int) ([]image.Image, error) {
	dir, err := os.MkdirTemp("", "casegen")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		return nil, fmt.Errorf("write temp pdf: %w", err)
	}
	cmd := exec.Command("pdftoppm", "-r", fmt.Sprint(dpi), "-gray", "-png", in, filepath.Join(dir, "p"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pdftoppm: %w: %s", err, out)
	}
	names, err := filepath.Glob(filepath.Join(dir, "p-*.png"))
	if err != nil {
		return nil, fmt.Errorf("list pages: %w", err)
	}
	sort.Strings(names)
	var out []image.Image
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("read page: %w", err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("decode page: %w", err)
		}
		out = append(out, img)
	}
	return out, nil
}

// scan makes a page look scanned: a grey background, speckles and a
// slightly faded print, from a seeded generator.
func scan(img image.Image, seed uint64) *image.Gray {
	r := rand.New(rand.NewPCG(seed, 0x5ca1ab1e))
	b := img.Bounds()
	g := image.NewGray(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			v := color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y
			// Paper is not white, ink is not black.
			f := 30 + int(v)*200/255
			f += r.IntN(13) - 6
			if r.IntN(4000) == 0 {
				f = 60 // a speckle
			}
			g.SetGray(x, y, color.Gray{Y: uint8(max(0, min(255, f)))})
		}
	}
	return g
}

// scannedPDF renders a document and embeds each page as a picture only, as
// a scanner or fax would: no text layer.
func scannedPDF(d document, seed uint64) ([]byte, error) {
	text, err := textPDF(d)
	if err != nil {
		return nil, err
	}
	pages, err := rasterize(text, 150)
	if err != nil {
		return nil, err
	}
	pdf := newPDF()
	pdf.SetMargins(0, 0, 0)
	pdf.SetAutoPageBreak(false, 0)
	for i, p := range pages {
		var jb bytes.Buffer
		if err := jpeg.Encode(&jb, scan(p, seed+uint64(i)), &jpeg.Options{Quality: 70}); err != nil {
			return nil, fmt.Errorf("encode scan: %w", err)
		}
		name := fmt.Sprintf("scan%d", i)
		pdf.RegisterImageOptionsReader(name, fpdf.ImageOptions{ImageType: "JPG"}, &jb)
		pdf.AddPage()
		pdf.ImageOptions(name, 0, 0, 215.9, 279.4, false, fpdf.ImageOptions{ImageType: "JPG"}, 0, "")
	}
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, fmt.Errorf("write scanned pdf: %w", err)
	}
	return b.Bytes(), nil
}

// encryptedPDF is a password-protected PDF (RC4, fixed passwords, so the
// output is reproducible).
func encryptedPDF(d document) ([]byte, error) {
	pdf := newPDF()
	pdf.SetProtection(0, "patient", "owner-casegen")
	for _, p := range d.pages {
		pdf.AddPage()
		for _, l := range strings.Split(strings.Trim(p, "\n"), "\n") {
			writeLine(pdf, l, d.mono)
		}
	}
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, fmt.Errorf("write encrypted pdf: %w", err)
	}
	return b.Bytes(), nil
}

func encodeJPEG(img image.Image, quality int) ([]byte, error) {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, fmt.Errorf("encode jpeg: %w", err)
	}
	return b.Bytes(), nil
}

func encodePNG(img image.Image) ([]byte, error) {
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("encode png: %w", err)
	}
	return b.Bytes(), nil
}

// wordDocument is a minimal Word (OOXML) document: a ZIP with
// [Content_Types].xml, which the pipeline does not read (it asks for a PDF).
func wordDocument() ([]byte, error) {
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	for _, e := range [][2]string{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`},
		{"word/document.xml", `<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>To whom it may concern: the patient is fit for travel.</w:t></w:r></w:p></w:body></w:document>`},
	} {
		w, err := z.CreateHeader(&zip.FileHeader{Name: e[0], Method: zip.Deflate, Modified: fixedTime})
		if err != nil {
			return nil, fmt.Errorf("docx: %w", err)
		}
		if _, err := w.Write([]byte(e[1])); err != nil {
			return nil, fmt.Errorf("docx: %w", err)
		}
	}
	if err := z.Close(); err != nil {
		return nil, fmt.Errorf("docx: %w", err)
	}
	return b.Bytes(), nil
}
