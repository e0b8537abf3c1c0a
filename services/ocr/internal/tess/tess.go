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
	_ = c.SetVariable("debug_file", "/dev/null")
	return &Engine{c: c, langs: langs}, nil
}

// Recognize runs layout analysis and recognition on a PGM or PBM image;
// with osd, orientation and script detection too (--psm 1, reported per
// line as textangle), else the image must be upright (--psm 3). The
// orientation model loads on the first page that needs it.
func (e *Engine) Recognize(pgm []byte, dpi int, osd bool) (Page, error) {
	if err := e.c.SetImageFromBytes(pgm); err != nil {
		return Page{}, fmt.Errorf("tesseract image: %w", err)
	}
	psm := gosseract.PSM_AUTO
	if osd {
		psm = gosseract.PSM_AUTO_OSD
	}
	_ = e.c.SetVariable("tessedit_pageseg_mode", strconv.Itoa(int(psm)))
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
