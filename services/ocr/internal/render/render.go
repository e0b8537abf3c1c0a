// Package render takes a PDF page's image: poppler's pdftoppm renders the page
// as 8-bit gray straight into memory (PGM on a pipe, no file on disk).
package render

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"os/exec"
	"strconv"
)

// ErrBadImage means the renderer's output is not a PGM image.
var ErrBadImage = errors.New("renderer output is not a gray image")

// Page renders page n (1-based) of the PDF at path at dpi, cropped to the
// crop box and rotated as the page is shown.
func Page(ctx context.Context, path string, n int, dpi float64) (*image.Gray, error) {
	r := strconv.FormatFloat(dpi, 'f', 2, 64)
	p := strconv.Itoa(n)
	cmd := exec.CommandContext(ctx, "pdftoppm", "-q", "-gray", "-cropbox", "-rx", r, "-ry", r, "-f", p, "-l", p, path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("pdftoppm: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("pdftoppm: %w", err)
	}
	img, perr := ReadPGM(bufio.NewReaderSize(out, 1<<20))
	if perr != nil {
		_, _ = io.Copy(io.Discard, out)
	}
	werr := cmd.Wait()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("pdftoppm: %w", ctx.Err())
	}
	if werr != nil {
		return nil, fmt.Errorf("pdftoppm page %d: %w", n, werr)
	}
	if perr != nil {
		return nil, fmt.Errorf("pdftoppm page %d: %w", n, perr)
	}
	return img, nil
}

// MaxPGMPixels bounds what ReadPGM accepts.
const MaxPGMPixels = 1 << 30

// ReadPGM reads one binary 8-bit PGM (P5) image.
func ReadPGM(r *bufio.Reader) (*image.Gray, error) {
	magic, err := pnmToken(r)
	if err != nil || magic != "P5" {
		return nil, ErrBadImage
	}
	var v [3]int
	for i := range v {
		t, err := pnmToken(r)
		if err != nil {
			return nil, ErrBadImage
		}
		v[i], err = strconv.Atoi(t)
		if err != nil || v[i] <= 0 {
			return nil, ErrBadImage
		}
	}
	w, h, maxv := v[0], v[1], v[2]
	if maxv != 255 || int64(w)*int64(h) > MaxPGMPixels {
		return nil, ErrBadImage
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	if _, err := io.ReadFull(r, img.Pix); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadImage, err)
	}
	return img, nil
}

// pnmToken reads a header token and the one white-space byte after it.
func pnmToken(r *bufio.Reader) (string, error) {
	var tok []byte
	for {
		c, err := r.ReadByte()
		if err != nil {
			return "", err
		}
		switch {
		case c == '#' && len(tok) == 0:
			if _, err := r.ReadBytes('\n'); err != nil {
				return "", err
			}
		case c == ' ' || c == '\n' || c == '\r' || c == '\t':
			if len(tok) > 0 {
				return string(tok), nil
			}
		default:
			if len(tok) > 16 {
				return "", ErrBadImage
			}
			tok = append(tok, c)
		}
	}
}

// PGM encodes img as a binary PGM, the form Tesseract reads from memory.
func PGM(img *image.Gray) []byte {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	hdr := fmt.Sprintf("P5\n%d %d\n255\n", w, h)
	out := make([]byte, 0, len(hdr)+w*h)
	out = append(out, hdr...)
	for y := 0; y < h; y++ {
		off := img.PixOffset(b.Min.X, b.Min.Y+y)
		out = append(out, img.Pix[off:off+w]...)
	}
	return out
}

// Bilevel reports whether img is black and white only (a fax, JBIG2 or
// bilevel scan taken at its own resolution): nearly every pixel is 0 or 255.
func Bilevel(img *image.Gray) bool {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	mid := 0
	for y := 0; y < h; y += 4 { // every fourth row is plenty
		row := img.Pix[img.PixOffset(b.Min.X, b.Min.Y+y):][:w]
		for _, v := range row {
			if v != 0 && v != 255 {
				mid++
			}
		}
	}
	return mid*4 <= w*h/200
}

// PBM encodes img as a binary PBM (black where a pixel is darker than 128).
// Tesseract reads a 1-bit image without thresholding it again, which saves
// time and memory on bilevel pages.
func PBM(img *image.Gray) []byte {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	hdr := fmt.Sprintf("P4\n%d %d\n", w, h)
	stride := (w + 7) / 8
	out := make([]byte, len(hdr)+stride*h)
	copy(out, hdr)
	data := out[len(hdr):]
	for y := 0; y < h; y++ {
		row := img.Pix[img.PixOffset(b.Min.X, b.Min.Y+y):][:w]
		dst := data[y*stride : (y+1)*stride]
		for x, v := range row {
			if v < 128 {
				dst[x>>3] |= 0x80 >> (x & 7)
			}
		}
	}
	return out
}
