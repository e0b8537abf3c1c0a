package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/textlayout"
	"github.com/handoffmed/handoff/services/ocr/internal/inspect"
	"github.com/handoffmed/handoff/services/ocr/internal/textpdf"
)

// Document is the result for a whole input.
type Document struct {
	Pages []PageResult
	Text  string // plain text of every page, pages separated by form feeds
	// Layout is every page's words with their boxes.
	Layout textlayout.Layout
}

// InspectFile reads and inspects the PDF at path, mapping failures to input
// error codes.
func InspectFile(path string, opt Options) (*inspect.Document, error) {
	opt = opt.WithDefaults()
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read input: %w", err)
	}
	return InspectBytes(data, opt)
}

// InspectBytes inspects a PDF in memory, mapping failures to input error codes.
func InspectBytes(data []byte, opt Options) (*inspect.Document, error) {
	opt = opt.WithDefaults()
	if len(data) == 0 {
		return nil, Errorf(record.CodeEmpty, "the file is empty")
	}
	doc, err := inspect.Inspect(data, inspect.Options{MaxPages: opt.MaxPages})
	switch {
	case errors.Is(err, inspect.ErrEncrypted):
		return nil, Errorf(record.CodeEncrypted, "the PDF needs a password to open")
	case errors.Is(err, inspect.ErrTooManyPages):
		return nil, Errorf(record.CodeTooManyPages, "the PDF has more than %d pages", opt.MaxPages)
	case err != nil:
		return nil, Errorf(record.CodeUnreadable, "the PDF cannot be read")
	}
	return doc, nil
}

// ProcessPDF makes the PDF at in searchable and writes it to out.
func (p *Pool) ProcessPDF(ctx context.Context, in, out string, opt Options) (*Document, error) {
	opt = opt.WithDefaults()
	doc, err := InspectFile(in, opt)
	if err != nil {
		return nil, err
	}
	return p.ProcessInspected(ctx, in, out, doc, -1, opt)
}

// ProcessInspected is ProcessPDF on the PDF at in inspected as doc, OCRing
// only its first limit pages to OCR (every one when limit < 0): the others
// are left as they are, not OCRed and without an error.
func (p *Pool) ProcessInspected(ctx context.Context, in, out string, doc *inspect.Document, limit int, opt Options) (*Document, error) {
	opt = opt.WithDefaults()
	results := make([]PageResult, len(doc.Pages))
	n := countKind(doc, inspect.KindImage)
	if limit >= 0 {
		n = min(n, limit)
	}
	// Fewer pages than engines: cut pages into bands so that every engine works.
	if n > 0 && n < opt.Jobs {
		opt.PageParts = opt.Jobs / n
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(opt.Jobs, len(doc.Pages)) {
		wg.Go(func() {
			for i := range jobs {
				results[i] = p.OCRPage(ctx, in, doc.Pages[i], opt)
			}
		})
	}
	for i, pg := range doc.Pages {
		if pg.Kind != inspect.KindImage || n == 0 {
			results[i] = PageResult{Number: pg.Number, Kind: pg.Kind, Confidence: -1}
			continue
		}
		n--
		select {
		case jobs <- i:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ocr: %w", err)
	}
	if err := Assemble(ctx, in, out, results); err != nil {
		return nil, err
	}
	text, layout, err := Sidecars(ctx, in, results)
	if err != nil {
		return nil, err
	}
	return &Document{Pages: results, Text: text, Layout: layout}, nil
}

func countKind(doc *inspect.Document, k inspect.Kind) int {
	n := 0
	for _, p := range doc.Pages {
		if p.Kind == k {
			n++
		}
	}
	return n
}

// Assemble writes out: the PDF at in with each OCRed page turned upright and
// its text layer grafted on, every other byte of page content as it was.
func Assemble(ctx context.Context, in, out string, pages []PageResult) error {
	var layers []textpdf.Page
	var to []string
	turns := map[int][]string{}
	for _, r := range pages {
		if r.Err != nil || !r.OCRed {
			continue
		}
		if r.Turn != 0 {
			turns[r.Turn] = append(turns[r.Turn], strconv.Itoa(r.Number))
		}
		if len(r.Layer.Words) > 0 {
			layers = append(layers, r.Layer)
			to = append(to, strconv.Itoa(r.Number))
		}
	}
	if len(layers) == 0 && len(turns) == 0 {
		return copyFile(in, out)
	}
	// preserve: every stream of the original is written as it is (no
	// recompression); only the few new objects are added.
	args := []string{"--warning-exit-0", "--no-original-object-ids", "--stream-data=preserve", in}
	angles := make([]int, 0, len(turns))
	for a := range turns {
		angles = append(angles, a)
	}
	sort.Ints(angles)
	for _, a := range angles {
		args = append(args, fmt.Sprintf("--rotate=+%d:%s", a, strings.Join(turns[a], ",")))
	}
	if len(layers) > 0 {
		tmp, err := os.CreateTemp(filepath.Dir(out), ".ocr-layer-*.pdf")
		if err != nil {
			return fmt.Errorf("text layer: %w", err)
		}
		defer os.Remove(tmp.Name())
		if err := textpdf.Write(tmp, layers); err != nil {
			tmp.Close()
			return fmt.Errorf("text layer: %w", err)
		}
		if err := tmp.Close(); err != nil {
			return fmt.Errorf("text layer: %w", err)
		}
		args = append(args, "--overlay", tmp.Name(), "--to="+strings.Join(to, ","), "--")
	}
	args = append(args, out)
	cmd := exec.CommandContext(ctx, "qpdf", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("qpdf graft: %w: %s", err, firstLine(stderr.String()))
	}
	return nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

func copyFile(in, out string) error {
	src, err := os.Open(in)
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	defer src.Close()
	dst, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return fmt.Errorf("copy: %w", err)
	}
	if err := dst.Close(); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	return nil
}

// Sidecars are the text sidecar and the layout sidecar. OCRed pages give
// their OCR text and words; the others the PDF's own text, read by one
// `pdftotext -bbox-layout` pass that gives both: its words with their boxes,
// and pdftotext's plain text rebuilt from them (textlayout.Page.Text). Pages
// are separated by form feeds in the text.
func Sidecars(ctx context.Context, in string, pages []PageResult) (string, textlayout.Layout, error) {
	var own []textlayout.Page
	need := false
	for _, r := range pages {
		if !r.OCRed {
			need = true
		}
	}
	if need {
		cmd := exec.CommandContext(ctx, "pdftotext", "-q", "-enc", "UTF-8", "-bbox-layout", in, "-")
		outb, err := cmd.Output()
		if err != nil {
			return "", textlayout.Layout{}, fmt.Errorf("pdftotext: %w", err)
		}
		own = textlayout.ReadPoppler(outb)
	}
	layout := textlayout.Layout{Version: textlayout.Version, Pages: make([]textlayout.Page, 0, len(pages))}
	var b strings.Builder
	for i, r := range pages {
		if i > 0 {
			b.WriteByte('\f')
		}
		var p textlayout.Page
		switch {
		case r.OCRed:
			b.WriteString(r.Text)
			p = r.Layout
		case i < len(own):
			p = own[i]
			b.WriteString(p.Text())
		}
		p.Number = r.Number
		layout.Pages = append(layout.Pages, p)
	}
	return b.String(), layout, nil
}
