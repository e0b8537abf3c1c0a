package engine

import (
	"bytes"
	"compress/zlib"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"os"

	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/textlayout"
	"github.com/handoffmed/handoff/services/ocr/internal/inspect"
	"github.com/handoffmed/handoff/services/ocr/internal/textpdf"
	"golang.org/x/image/tiff"
)

// maxPhotoInches bounds the longer side of a picture's page.
const maxPhotoInches = 17.0

// ProcessImage makes a JPEG, PNG or TIFF picture a searchable one-page PDF:
// the picture (JPEG as it is, others losslessly as Flate) under its text.
func (p *Pool) ProcessImage(ctx context.Context, in, out string, opt Options) (*Document, error) {
	opt = opt.WithDefaults()
	data, err := os.ReadFile(in)
	if err != nil {
		return nil, fmt.Errorf("read input: %w", err)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, Errorf(record.CodeUnreadable, "the picture cannot be read")
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, Errorf(record.CodeUnreadable, "the picture has no pixels")
	}
	px := int64(cfg.Width) * int64(cfg.Height)
	if px > 4*opt.MaxPagePixels {
		return nil, Errorf(record.CodePageTooLarge, "the picture has %d megapixels, over the cap of %d",
			px/1_000_000, 4*opt.MaxPagePixels/1_000_000)
	}
	img, err := decode(format, data)
	if err != nil {
		return nil, Errorf(record.CodeUnreadable, "the picture cannot be decoded")
	}
	// Page size: 300 dpi unless that makes the page too large to print.
	dpi := opt.DPI
	if long := float64(max(cfg.Width, cfg.Height)); long/dpi > maxPhotoInches {
		dpi = long / maxPhotoInches
	}
	w, h := float64(cfg.Width)*72/dpi, float64(cfg.Height)*72/dpi
	pdfImg, err := embed(format, data, img)
	if err != nil {
		return nil, err
	}
	gray := toGray(img)
	// Tesseract sees at most MaxPagePixels.
	if px > opt.MaxPagePixels {
		gray = shrink(gray, opt.MaxPagePixels)
	}
	r := PageResult{Number: 1, Kind: inspect.KindImage, Confidence: -1, DPI: dpi * float64(gray.Bounds().Dx()) / float64(cfg.Width)}
	ctx, cancel := context.WithTimeout(ctx, opt.PageTimeout)
	r = p.recognizeImage(ctx, gray, r, w, h, opt.Jobs)
	cancel()
	page := textpdf.Page{Width: w, Height: h, Image: pdfImg}
	if r.Err == nil {
		page = r.Layer
		page.Image = pdfImg
		page.Rotate = r.Turn
	}
	f, err := os.Create(out)
	if err != nil {
		return nil, fmt.Errorf("create output: %w", err)
	}
	if err := textpdf.Write(f, []textpdf.Page{page}); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write output: %w", err)
	}
	lp := r.Layout
	if r.Err != nil {
		lp = textlayout.Page{Number: 1, Width: w, Height: h, Source: textlayout.SourceTesseract}
	}
	return &Document{Pages: []PageResult{r}, Text: r.Text,
		Layout: textlayout.Layout{Version: textlayout.Version, Pages: []textlayout.Page{lp}}}, nil
}

func decode(format string, data []byte) (image.Image, error) {
	switch format {
	case "jpeg":
		return jpeg.Decode(bytes.NewReader(data))
	case "png":
		return png.Decode(bytes.NewReader(data))
	case "tiff":
		return tiff.Decode(bytes.NewReader(data))
	}
	return nil, fmt.Errorf("format %s", format)
}

// embed returns the picture as a PDF image: a JPEG as it is (not
// re-encoded), anything else as 8-bit gray or RGB under Flate.
func embed(format string, data []byte, img image.Image) (*textpdf.Image, error) {
	b := img.Bounds()
	if format == "jpeg" {
		im := &textpdf.Image{Width: b.Dx(), Height: b.Dy(), Bits: 8, Filter: "DCTDecode", Data: data}
		switch img.(type) {
		case *image.Gray:
			im.ColorSpace = "DeviceGray"
		case *image.CMYK:
			// Adobe CMYK JPEGs store inverted values.
			im.ColorSpace, im.Decode = "DeviceCMYK", "[1 0 1 0 1 0 1 0]"
		default:
			im.ColorSpace = "DeviceRGB"
		}
		return im, nil
	}
	var raw []byte
	cs := "DeviceRGB"
	if g, ok := img.(*image.Gray); ok {
		cs = "DeviceGray"
		raw = make([]byte, 0, b.Dx()*b.Dy())
		for y := b.Min.Y; y < b.Max.Y; y++ {
			raw = append(raw, g.Pix[g.PixOffset(b.Min.X, y):g.PixOffset(b.Max.X, y)]...)
		}
	} else {
		raw = make([]byte, 0, 3*b.Dx()*b.Dy())
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				// Composite transparency on white, as a page shows it.
				c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
				a := uint32(c.A)
				blend := func(v uint8) byte { return byte((uint32(v)*a + 255*(255-a)) / 255) }
				raw = append(raw, blend(c.R), blend(c.G), blend(c.B))
			}
		}
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	if _, err := zw.Write(raw); err != nil {
		return nil, fmt.Errorf("compress picture: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress picture: %w", err)
	}
	return &textpdf.Image{Width: b.Dx(), Height: b.Dy(), ColorSpace: cs, Bits: 8, Filter: "FlateDecode", Data: z.Bytes()}, nil
}

func toGray(img image.Image) *image.Gray {
	if g, ok := img.(*image.Gray); ok && g.Bounds().Min == (image.Point{}) {
		return g
	}
	b := img.Bounds()
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(g, g.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(g, g.Bounds(), img, b.Min, draw.Over)
	return g
}

// shrink scales img down (box filter) to at most maxPx pixels.
func shrink(img *image.Gray, maxPx int64) *image.Gray {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	f := 1
	for int64(w/f)*int64(h/f) > maxPx {
		f++
	}
	nw, nh := w/f, h/f
	out := image.NewGray(image.Rect(0, 0, nw, nh))
	for y := range nh {
		for x := range nw {
			sum := 0
			for dy := range f {
				row := img.Pix[img.PixOffset(b.Min.X+x*f, b.Min.Y+y*f+dy):]
				for dx := range f {
					sum += int(row[dx])
				}
			}
			out.Pix[y*out.Stride+x] = uint8(sum / (f * f))
		}
	}
	return out
}
