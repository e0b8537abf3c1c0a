package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
)

// mrzFont prints the machine-readable zone: a monospace font close enough
// to OCR-B for Tesseract (Debian fonts-dejavu-core).
const mrzFont = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"

// mrzCheck is the ICAO 9303 check digit.
func mrzCheck(s string) byte {
	w := [3]int{7, 3, 1}
	sum := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		v := 0
		switch {
		case c >= '0' && c <= '9':
			v = int(c - '0')
		case c >= 'A' && c <= 'Z':
			v = int(c-'A') + 10
		}
		sum += v * w[i%3]
	}
	return byte('0' + sum%10)
}

func mrzPad(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s + strings.Repeat("<", n-len(s))
}

func mrzName(s string) string {
	return strings.Join(strings.Fields(strings.ToUpper(s)), "<")
}

// mrzLines builds the two lines of a TD3 passport zone.
func mrzLines(p passportSpec) (string, string) {
	l1 := mrzPad("P<"+p.country+mrzName(p.surname)+"<<"+mrzName(p.given), 44)
	doc := mrzPad(p.number, 9)
	dob := p.birth.Format("060102")
	exp := p.expiry.Format("060102")
	opt := mrzPad("", 14)
	l2 := doc + string(mrzCheck(doc)) + p.country + dob + string(mrzCheck(dob)) + p.sex + exp + string(mrzCheck(exp)) + opt + "<"
	comp := doc + string(mrzCheck(doc)) + dob + string(mrzCheck(dob)) + exp + string(mrzCheck(exp)) + opt + "<"
	return l1, l2 + string(mrzCheck(comp))
}

type passportSpec struct {
	surname, given string
	birth, expiry  time.Time
	issued         time.Time
	number         string
	sex            string
	country        string
	place          string
}

// passportJPEG draws a passport identification page, photographed: the
// printed fields and the machine-readable zone in a monospace font, at 300 dpi.
func passportJPEG(p passportSpec, seed uint64) ([]byte, error) {
	pdf := fpdf.NewCustom(&fpdf.InitType{UnitStr: "mm", Size: fpdf.SizeType{Wd: 125, Ht: 88}})
	pdf.SetCreationDate(fixedTime)
	pdf.SetModificationDate(fixedTime)
	pdf.SetCatalogSort(true)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetMargins(0, 0, 0)
	pdf.AddPage()
	pdf.SetFillColor(236, 240, 233)
	pdf.Rect(0, 0, 125, 88, "F")
	// Photo.
	pdf.SetFillColor(170, 178, 186)
	pdf.Rect(6, 14, 30, 38, "F")
	pdf.SetFillColor(120, 128, 136)
	pdf.Ellipse(21, 28, 8, 10, 0, "F")
	pdf.Ellipse(21, 50, 13, 9, 0, "F")
	pdf.SetTextColor(40, 50, 70)
	pdf.SetFont("Helvetica", "B", 8)
	pdf.Text(6, 7, "PASSPORT")
	pdf.SetFont("Helvetica", "", 6)
	pdf.Text(28, 7, "PASSEPORT   PASAPORTE")
	pdf.SetFont("Helvetica", "B", 7)
	pdf.Text(70, 7, "UNITED STATES OF AMERICA")
	field := func(x, y float64, label, value string) {
		pdf.SetFont("Helvetica", "", 4.6)
		pdf.SetTextColor(70, 80, 100)
		pdf.Text(x, y, label)
		pdf.SetFont("Helvetica", "B", 7)
		pdf.SetTextColor(20, 20, 30)
		pdf.Text(x, y+3.2, value)
	}
	field(40, 13, "Type / Type / Tipo", "P")
	field(58, 13, "Code / Code / Codigo", p.country)
	field(82, 13, "Passport No. / No. du Passeport", p.number)
	field(40, 21, "Surname / Nom / Apellidos", strings.ToUpper(p.surname))
	field(40, 29, "Given Names / Prenoms / Nombres", strings.ToUpper(p.given))
	field(40, 37, "Nationality / Nationalite / Nacionalidad", "UNITED STATES OF AMERICA")
	field(40, 45, "Date of birth / Date de naissance", strings.ToUpper(p.birth.Format("02 Jan 2006")))
	field(90, 45, "Sex / Sexe", p.sex)
	field(40, 53, "Place of birth / Lieu de naissance", strings.ToUpper(p.place))
	field(40, 61, "Date of issue / Date de delivrance", strings.ToUpper(p.issued.Format("02 Jan 2006")))
	field(85, 61, "Authority / Autorite", "United States")
	field(40, 69, "Date of expiration / Date d'expiration", strings.ToUpper(p.expiry.Format("02 Jan 2006")))
	l1, l2 := mrzLines(p)
	pdf.SetFillColor(250, 250, 247)
	pdf.Rect(0, 72, 125, 16, "F")
	font, err := os.ReadFile(mrzFont)
	if err != nil {
		return nil, fmt.Errorf("MRZ font: %w", err)
	}
	pdf.AddUTF8FontFromBytes("mrz", "B", font)
	pdf.SetFont("mrz", "B", 10.4)
	pdf.SetTextColor(10, 10, 10)
	pdf.Text(4, 78.5, l1)
	pdf.Text(4, 84.5, l2)
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, fmt.Errorf("passport page: %w", err)
	}
	imgs, err := rasterize(b.Bytes(), 300)
	if err != nil {
		return nil, err
	}
	return encodeJPEG(photo(imgs[0], seed), 88)
}

// photo adds the light noise of a phone photo.
func photo(img image.Image, seed uint64) image.Image {
	r := rand.New(rand.NewPCG(seed, 0xf00d))
	b := img.Bounds()
	g := image.NewGray(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			v := int(color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
			v = 12 + v*228/255 + r.IntN(9) - 4
			g.SetGray(x, y, color.Gray{Y: uint8(max(0, min(255, v)))})
		}
	}
	return g
}

// slice draws a synthetic cross-section: a body outline with structures
// and noise, the kind of picture a DICOM viewer shows.
func slice(w, h int, k int, seed uint64) *image.Gray {
	r := rand.New(rand.NewPCG(seed, uint64(k)))
	g := image.NewGray(image.Rect(0, 0, w, h))
	cx, cy := float64(w)/2, float64(h)/2
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			dx, dy := (float64(x)-cx)/(0.42*float64(w)), (float64(y)-cy)/(0.34*float64(h))
			d := dx*dx + dy*dy
			v := 0.0
			if d < 1 {
				v = 90 + 40*math.Sin(float64(x+k*3)/9)*math.Cos(float64(y)/11)
				// Two bright round structures (femoral heads, vertebra...).
				for _, c := range [][2]float64{{0.32, 0.5}, {0.68, 0.5}} {
					ex, ey := float64(x)-c[0]*float64(w), float64(y)-c[1]*float64(h)
					if ex*ex+ey*ey < float64(w*w)/(120+float64(k)) {
						v = 200
					}
				}
			}
			v += float64(r.IntN(20))
			g.SetGray(x, y, color.Gray{Y: uint8(max(0, min(255, v)))})
		}
	}
	return g
}

// screenshot draws a viewer screenshot of a scan: the picture on black with
// the overlay text viewers print (series, image number, window, sequence).
func screenshot(overlay []string, k int, seed uint64, asPNG bool) ([]byte, error) {
	pdf := fpdf.NewCustom(&fpdf.InitType{UnitStr: "mm", Size: fpdf.SizeType{Wd: 160, Ht: 120}})
	pdf.SetCreationDate(fixedTime)
	pdf.SetModificationDate(fixedTime)
	pdf.SetCatalogSort(true)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetMargins(0, 0, 0)
	pdf.AddPage()
	pdf.SetFillColor(0, 0, 0)
	pdf.Rect(0, 0, 160, 120, "F")
	pic, err := encodePNG(slice(256, 256, k, seed))
	if err != nil {
		return nil, err
	}
	pdf.RegisterImageOptionsReader("slice", fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(pic))
	pdf.ImageOptions("slice", 30, 10, 100, 100, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
	pdf.SetTextColor(235, 235, 235)
	pdf.SetFont("Helvetica", "", 7)
	for i, l := range overlay {
		x, y := 3.0, 6.0+float64(i)*4
		if i >= 4 {
			x, y = 118, 6.0+float64(i-4)*4
		}
		pdf.Text(x, y, l)
	}
	pdf.Text(3, 116, fmt.Sprintf("IM: %d/24", 8+k))
	pdf.Text(128, 116, "W: 1200 L: 600")
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, fmt.Errorf("screenshot: %w", err)
	}
	imgs, err := rasterize(b.Bytes(), 110)
	if err != nil {
		return nil, err
	}
	if asPNG {
		return encodePNG(imgs[0])
	}
	return encodeJPEG(imgs[0], 80)
}
