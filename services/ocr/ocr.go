// Package ocr makes scanned PDFs and photos searchable: each page that is an
// image gets an invisible text layer from Tesseract, grafted onto the
// original page content, which is kept as it was.
//
// The package is the OCR service's only public surface: the functions here do
// the work for both the `handoff ocr` command and the service.
package ocr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/textlayout"
	"github.com/handoffmed/handoff/services/ocr/internal/engine"
	"github.com/handoffmed/handoff/services/ocr/internal/inspect"
)

// Options tune OCR. The zero value of each field means its default.
type Options struct {
	Jobs          int           // pages recognised at once (default: number of CPUs)
	Languages     string        // Tesseract languages, e.g. "eng+fra" (default "eng")
	MaxPages      int           // page-count cap (default 2000)
	MaxPagePixels int64         // pixels of one page image given to Tesseract (default 40 MP)
	PageTimeout   time.Duration // time cap for one page (default 3 min)
}

func (o Options) engine() engine.Options {
	return engine.Options{
		Jobs: o.Jobs, Languages: o.Languages, MaxPages: o.MaxPages,
		MaxPagePixels: o.MaxPagePixels, PageTimeout: o.PageTimeout,
	}.WithDefaults()
}

// Page is the outcome for one page.
type Page struct {
	Number     int           `json:"number"` // 1-based
	Action     string        `json:"action"` // "ocr", "text" (kept: has text), "ocr-layer" (kept: OCRed before), "failed", "skipped" (a scan left as it is: over the case's OCR budget)
	Rotated    int           `json:"rotated"`
	Skew       float64       `json:"skew"`
	DPI        float64       `json:"dpi,omitempty"`
	Confidence float64       `json:"confidence"` // 0..100, -1 when not OCRed
	Words      int           `json:"words"`
	Error      *record.Error `json:"error,omitempty"`
}

// Result is the outcome for a document.
type Result struct {
	Pages []Page
	// Text is the plain-text sidecar: every page's text, pages separated by
	// form feeds.
	Text string
	// Layout is the layout sidecar: every page's words with their boxes.
	Layout textlayout.Layout
}

// Document fills a record.Document's OCR fields from r (keys are left to
// the caller).
func (r *Result) Document() record.Document {
	d := record.Document{Pages: len(r.Pages)}
	for _, p := range r.Pages {
		switch p.Action {
		case "ocr":
			d.OCRPages = append(d.OCRPages, p.Number)
		case "text", "ocr-layer":
			d.TextPages = append(d.TextPages, p.Number)
		}
		if p.Error != nil {
			d.PageErrors = append(d.PageErrors, *p.Error)
		}
		d.Confidence = append(d.Confidence, p.Confidence)
		d.Rotated = append(d.Rotated, p.Rotated)
	}
	return d
}

// Engine holds the Tesseract engines (one per job, models loaded once) for
// many documents. It is safe for concurrent use.
type Engine struct {
	opt  engine.Options
	pool *engine.Pool
}

// NewEngine makes an Engine.
func NewEngine(opt Options) (*Engine, error) {
	eo := opt.engine()
	pool, err := engine.NewPool(eo.Languages, eo.Jobs)
	if err != nil {
		return nil, err
	}
	return &Engine{opt: eo, pool: pool}, nil
}

// Close frees the engines.
func (e *Engine) Close() error { return e.pool.Close() }

// File makes the PDF, JPEG, PNG or TIFF at in a searchable PDF at out. Input
// problems come back as *record.Error (input.encrypted, input.unreadable,
// input.too_many_pages …); pages that fail alone are left as they were and
// reported in the result.
func (e *Engine) File(ctx context.Context, in, out string) (*Result, error) {
	head := make([]byte, 16)
	f, err := os.Open(in)
	if err != nil {
		return nil, fmt.Errorf("open input: %w", err)
	}
	n, _ := f.Read(head)
	f.Close()
	head = head[:n]
	var doc *engine.Document
	switch kind := Sniff(head); kind {
	case record.TypePDF:
		doc, err = e.pool.ProcessPDF(ctx, in, out, e.opt)
	case record.TypeJPEG, record.TypePNG, record.TypeTIFF:
		doc, err = e.pool.ProcessImage(ctx, in, out, e.opt)
	default:
		if n == 0 {
			return nil, &record.Error{Code: record.CodeEmpty, Message: "the file is empty"}
		}
		return nil, &record.Error{Code: record.CodeUnknownType, Message: "not a PDF, JPEG, PNG or TIFF"}
	}
	if err != nil {
		return nil, err
	}
	return result(doc), nil
}

func result(doc *engine.Document) *Result {
	r := &Result{Text: doc.Text, Layout: doc.Layout}
	for _, pr := range doc.Pages {
		p := Page{Number: pr.Number, Rotated: pr.Turn, Skew: pr.Skew, DPI: pr.DPI, Confidence: pr.Confidence, Error: pr.Err}
		switch {
		case pr.Err != nil:
			p.Action = "failed"
		case pr.OCRed:
			p.Action = "ocr"
			p.Words = len(pr.Layer.Words)
		case pr.Kind == inspect.KindOCRLayer:
			p.Action = "ocr-layer"
		case pr.Kind == inspect.KindImage:
			p.Action = "skipped"
		default:
			p.Action = "text"
		}
		r.Pages = append(r.Pages, p)
	}
	return r
}

// Sniff names the type of a file from its first bytes: record.TypePDF,
// TypeJPEG, TypePNG, TypeTIFF or TypeUnknown.
func Sniff(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return record.TypePDF
	case bytes.HasPrefix(head, []byte{0xff, 0xd8, 0xff}):
		return record.TypeJPEG
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return record.TypePNG
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		return record.TypeTIFF
	}
	return record.TypeUnknown
}

// EnsureSingleThreaded makes Tesseract's OpenMP run one thread per page.
// libgomp reads OMP_THREAD_LIMIT only from the environment the process
// started with, so when it is not "1" this re-executes the running binary
// with it set and does not return (unless the exec fails). Call it first
// thing in main, before any work starts.
//
// The re-exec also sets MALLOC_ARENA_MAX=2 when it is unset: Tesseract's
// allocations on many cgo threads otherwise spread over many glibc arenas
// and the resident memory of a long-running worker keeps growing.
func EnsureSingleThreaded() error {
	if os.Getenv("OMP_THREAD_LIMIT") == "1" {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("re-exec with OMP_THREAD_LIMIT=1: %w", err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OMP_THREAD_LIMIT=") {
			env = append(env, kv)
		}
	}
	env = append(env, "OMP_THREAD_LIMIT=1")
	if _, ok := os.LookupEnv("MALLOC_ARENA_MAX"); !ok {
		env = append(env, "MALLOC_ARENA_MAX=2")
	}
	if err := syscall.Exec(exe, os.Args, env); err != nil {
		return fmt.Errorf("re-exec with OMP_THREAD_LIMIT=1: %w", err)
	}
	return errors.New("unreachable")
}
