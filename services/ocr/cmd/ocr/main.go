// Command ocr runs the OCR service alone: it makes the PDFs and pictures of
// the work queue handoff.work.ocr searchable and shares the pages of long
// documents with every other OCR worker over handoff.work.ocrpage, against
// an external NATS and S3.
//
// Every flag's default comes from the environment (OCR_*); S3 keys come only
// from it. See services/ocr/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime"

	"github.com/handoffmed/handoff/platform/app"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/ocr"
)

func main() {
	// Tesseract's OpenMP reads OMP_THREAD_LIMIT only at start: re-exec with it.
	if err := ocr.EnsureSingleThreaded(); err != nil {
		fmt.Fprintln(os.Stderr, "ocr:", err)
		os.Exit(1)
	}
	app.Main("ocr", run)
}

func run(ctx context.Context, args []string) error {
	var f app.Flags
	var c ocr.Config
	fs := flag.NewFlagSet("ocr", flag.ContinueOnError)
	f.Register(fs, "OCR", ":8082")
	fs.StringVar(&c.DerivedBucket, "derived-bucket", f.Env("DERIVED_BUCKET", record.DefaultDerivedBucket), "bucket for searchable PDFs, text sidecars and page results (env OCR_DERIVED_BUCKET)")
	fs.IntVar(&c.Workers, "workers", f.EnvInt("WORKERS", runtime.NumCPU()), "pages recognised at once, one single-threaded Tesseract each (env OCR_WORKERS)")
	fs.IntVar(&c.FileWorkers, "file-workers", f.EnvInt("FILE_WORKERS", 2), "documents taken at once (env OCR_FILE_WORKERS)")
	fs.StringVar(&c.Languages, "lang", f.Env("LANG", "eng"), "Tesseract languages, e.g. eng+fra (env OCR_LANG)")
	fs.IntVar(&c.SplitPages, "split-pages", f.EnvInt("SPLIT_PAGES", 2), "split a PDF with more pages to OCR than this into page work items; -1 never (env OCR_SPLIT_PAGES)")
	fs.IntVar(&c.MaxPages, "max-pages", f.EnvInt("MAX_PAGES", 2000), "page-count cap (env OCR_MAX_PAGES)")
	maxPixels := fs.Int("max-page-pixels", f.EnvInt("MAX_PAGE_PIXELS", 40_000_000), "pixels of one page image given to Tesseract (env OCR_MAX_PAGE_PIXELS)")
	fs.DurationVar(&c.PageTimeout, "page-timeout", f.EnvDuration("PAGE_TIMEOUT", 3*60e9), "time cap for one page (env OCR_PAGE_TIMEOUT)")
	maxBytes := fs.Int("max-bytes", f.EnvInt("MAX_BYTES", 2<<30), "largest input, bytes (env OCR_MAX_BYTES)")
	fs.DurationVar(&c.AckWait, "ack-wait", f.EnvDuration("ACK_WAIT", 60e9), "redeliver a work item after this long without progress (env OCR_ACK_WAIT)")
	fs.IntVar(&c.MaxDeliver, "max-deliver", f.EnvInt("MAX_DELIVER", 3), "tries of a page before it is dead-lettered (env OCR_MAX_DELIVER)")
	fs.StringVar(&c.WorkDir, "work-dir", f.Env("WORK_DIR", os.TempDir()), "directory for the documents being processed (env OCR_WORK_DIR)")
	fs.IntVar(&c.PageWindow, "page-window", f.EnvInt("PAGE_WINDOW", 2), "page items of one split document queued at once; -1 every page at the split (env OCR_PAGE_WINDOW)")
	fs.IntVar(&c.CaseDocuments, "case-documents", f.EnvInt("CASE_DOCUMENTS", 2), "documents of one case OCRed at once, the others wait their turn; -1 no limit (env OCR_CASE_DOCUMENTS)")
	fs.IntVar(&c.FirstPages, "first-pages", f.EnvInt("FIRST_PAGES", 16), "a case's first pages to OCR go ahead of other cases' later pages; -1 none (env OCR_FIRST_PAGES)")
	fs.IntVar(&c.CasePages, "case-pages", f.EnvInt("CASE_PAGES", 1000), "pages OCRed per case, more are left as scanned (input.case_page_budget); -1 no budget (env OCR_CASE_PAGES)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := f.Finish(); err != nil {
		return err
	}
	c.MaxPagePixels, c.MaxBytes, c.Replicas = int64(*maxPixels), int64(*maxBytes), f.Replicas
	if err := c.Validate(); err != nil {
		return err
	}
	return app.Run(ctx, "ocr", f, []string{c.DerivedBucket}, func(d app.Deps) (app.Service, func(*http.ServeMux), error) {
		svc, err := ocr.New(c, ocr.Deps{Log: d.Log, Bus: d.Bus, Blobs: d.Blobs, Cases: d.Cases})
		return svc, nil, err
	})
}
