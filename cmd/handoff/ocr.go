package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/ocr"
)

const ocrUsage = `usage: handoff ocr [flags] IN.pdf|IN.jpg|IN.png|IN.tif OUT.pdf

Makes a scanned PDF or a photo searchable: pages that are images get an
invisible text layer (Tesseract); pages with text are kept as they are.
`

// runOCR is `handoff ocr`. The binary must run with OMP_THREAD_LIMIT=1 in its
// initial environment (main calls ocr.EnsureSingleThreaded).
func runOCR(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ocr", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, ocrUsage)
		fs.PrintDefaults()
	}
	jobs := fs.Int("jobs", 0, "pages recognised at once (default: number of CPUs)")
	lang := fs.String("lang", "eng", "Tesseract languages, e.g. eng+fra")
	sidecar := fs.String("sidecar", "", "write the plain text to this file")
	layout := fs.String("layout", "", "write the layout (every page's words with their boxes, JSON) to this file")
	maxPages := fs.Int("max-pages", 0, "page-count cap (default 2000)")
	maxMP := fs.Float64("max-page-megapixels", 0, "pixels of one page given to Tesseract, in megapixels (default 40)")
	timeout := fs.Duration("page-timeout", 0, "time cap for one page (default 3m)")
	quiet := fs.Bool("q", false, "do not print the per-page summary")
	if err := fs.Parse(interleave(args, fs)); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return usageError{"ocr needs IN and OUT.pdf"}
	}
	in, out := fs.Arg(0), fs.Arg(1)
	eng, err := ocr.NewEngine(ocr.Options{
		Jobs: *jobs, Languages: *lang, MaxPages: *maxPages,
		MaxPagePixels: int64(*maxMP * 1e6), PageTimeout: *timeout,
	})
	if err != nil {
		return fmt.Errorf("ocr: %w", err)
	}
	defer eng.Close()
	start := time.Now()
	res, err := eng.File(ctx, in, out)
	if err != nil {
		var re *record.Error
		if errors.As(err, &re) {
			return fmt.Errorf("ocr: %w", re)
		}
		return fmt.Errorf("ocr: %w", err)
	}
	if *sidecar != "" {
		if err := os.WriteFile(*sidecar, []byte(res.Text), 0o644); err != nil {
			return fmt.Errorf("ocr: sidecar: %w", err)
		}
	}
	if *layout != "" {
		b, err := json.Marshal(res.Layout)
		if err != nil {
			return fmt.Errorf("ocr: layout: %w", err)
		}
		if err := os.WriteFile(*layout, b, 0o644); err != nil {
			return fmt.Errorf("ocr: layout: %w", err)
		}
	}
	if !*quiet {
		for _, p := range res.Pages {
			line := fmt.Sprintf("page %d: %s", p.Number, p.Action)
			if p.Action == "ocr" {
				line += fmt.Sprintf(" dpi=%.0f rotated=%d skew=%.2f words=%d confidence=%.1f", p.DPI, p.Rotated, p.Skew, p.Words, p.Confidence)
			}
			if p.Error != nil {
				line += " error=" + p.Error.Error()
			}
			fmt.Fprintln(stdout, line)
		}
		fmt.Fprintf(stdout, "%d pages in %.2fs\n", len(res.Pages), time.Since(start).Seconds())
	}
	return nil
}

// interleave moves flags after the positional arguments to the front, so
// `handoff ocr IN OUT --jobs 2` works like `handoff ocr --jobs 2 IN OUT`.
func interleave(args []string, fs *flag.FlagSet) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) > 1 && a[0] == '-' {
			flags = append(flags, a)
			name := a[1:]
			if name != "" && name[0] == '-' {
				name = name[1:]
			}
			if _, _, hasValue := cut(name); !hasValue {
				if f := fs.Lookup(name); f != nil {
					if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !bf.IsBoolFlag() {
						if i+1 < len(args) {
							flags = append(flags, args[i+1])
							i++
						}
					}
				}
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}

func cut(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == '=' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
