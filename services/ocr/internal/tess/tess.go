// Package tess runs Tesseract in process through gosseract (libtesseract).
//
// One Engine holds one TessBaseAPI with its models loaded; it recognises one
// page at a time and is not safe for concurrent use. Pages run in parallel on
// several engines, each single-threaded (OMP_THREAD_LIMIT=1 in the process's
// initial environment).
package tess

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/otiai10/gosseract/v2"
)

// Engine is one Tesseract instance.
type Engine struct {
	c     *gosseract.Client
	langs string
}

// New makes an engine for languages like "eng" or "eng+fra". Models load on
// the first page.
func New(langs string) (*Engine, error) {
	parts := strings.Split(langs, "+")
	for _, l := range parts {
		if l == "" {
			return nil, fmt.Errorf("bad language list %q", langs)
		}
	}
	c := gosseract.NewClient()
	if err := c.SetLanguage(parts...); err != nil {
		c.Close()
		return nil, fmt.Errorf("tesseract languages: %w", err)
	}
	// Orientation and script detection during recognition (--psm 1).
	_ = c.SetVariable("tessedit_pageseg_mode", strconv.Itoa(int(gosseract.PSM_AUTO_OSD)))
	_ = c.SetVariable("debug_file", "/dev/null")
	return &Engine{c: c, langs: langs}, nil
}

// Recognize runs layout analysis with orientation detection and recognition
// on a PGM image at dpi.
func (e *Engine) Recognize(pgm []byte, dpi int) (Page, error) {
	if err := e.c.SetImageFromBytes(pgm); err != nil {
		return Page{}, fmt.Errorf("tesseract image: %w", err)
	}
	// The resolution is not forced: like the tesseract command on a PGM,
	// Tesseract estimates it from the text's size, which reads small text
	// on upsampled low-resolution scans better than the nominal dpi.
	_ = dpi
	out, err := e.c.HOCRText()
	if err != nil {
		return Page{}, fmt.Errorf("tesseract: %w", err)
	}
	pg, err := ParseHOCR(strings.NewReader(out))
	if err != nil {
		return Page{}, err
	}
	return pg, nil
}

// Close frees the engine.
func (e *Engine) Close() error {
	return e.c.Close()
}

// Languages lists the installed Tesseract languages.
func Languages() ([]string, error) {
	return gosseract.GetAvailableLanguages()
}
