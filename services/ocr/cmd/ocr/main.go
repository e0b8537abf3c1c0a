// Command ocr runs the OCR service alone: it makes the PDFs and pictures of
// the work queue handoff.work.ocr searchable and shares the pages of long
// documents with every other OCR worker over handoff.work.ocrpage, against
// an external NATS and S3.
//
// It reads the same HANDOFF_* settings as `handoff serve` (each flag's
// variable is in -h); S3 keys come only from the environment. See
// services/ocr/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"

	"github.com/handoffmed/handoff/platform/app"
	"github.com/handoffmed/handoff/platform/config"
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
	s := config.NewSet(fs, os.LookupEnv)
	f.Register(s, fs, ":8082")
	config.Add(s, &c.DerivedBucket, config.DerivedBucket)
	config.Add(s, &c.Workers, config.OCRWorkers.As("workers"))
	config.Add(s, &c.FileWorkers, config.OCRFileWorkers)
	config.Add(s, &c.Languages, config.OCRLang.As("lang"))
	config.Add(s, &c.SplitPages, config.OCRSplitPages)
	config.Add(s, &c.MaxPages, config.OCRMaxPages)
	config.Add(s, &c.MaxPagePixels, config.OCRMaxPagePixels)
	config.Add(s, &c.PageTimeout, config.OCRPageTimeout)
	config.Add(s, &c.MaxBytes, config.OCRMaxBytes)
	config.Add(s, &c.AckWait, config.OCRAckWait)
	config.Add(s, &c.MaxDeliver, config.OCRMaxDeliver)
	config.Add(s, &c.WorkDir, config.OCRWorkDir)
	config.Add(s, &c.PageWindow, config.OCRPageWindow)
	config.Add(s, &c.CaseDocuments, config.OCRCaseDocuments)
	config.Add(s, &c.FirstPages, config.OCRFirstPages)
	config.Add(s, &c.CasePages, config.OCRCasePages.As("case-pages"))
	if err := f.Parse(ctx, args); err != nil {
		return err
	}
	c.Replicas = f.Replicas
	if err := c.Validate(); err != nil {
		return err
	}
	return app.Run(ctx, "ocr", f, []string{c.DerivedBucket}, func(d app.Deps) (app.Service, func(*http.ServeMux), error) {
		svc, err := ocr.New(c, ocr.Deps{Log: d.Log, Bus: d.Bus, Blobs: d.Blobs, Cases: d.Cases})
		return svc, nil, err
	})
}
