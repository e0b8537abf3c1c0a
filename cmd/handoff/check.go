package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/handoffmed/handoff/platform/record"
)

// checkCase is what `handoff check` runs on: the case fields and the files.
type checkCase struct {
	fields []byte   // case.json, or nil
	root   string   // absolute folder the files are read from
	files  []string // paths relative to root, slash-separated
}

// collect reads DIR: when it holds case.json, that is the case fields and
// the files are those under DIR/files (or DIR minus case.json and
// expected.json); otherwise every file under DIR is an upload.
func collect(dir, caseFile string) (checkCase, error) {
	var c checkCase
	abs, err := filepath.Abs(dir)
	if err != nil {
		return c, err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return c, err
	}
	if !st.IsDir() {
		return c, usageError{fmt.Sprintf("%s is not a folder", dir)}
	}
	c.root = abs
	if caseFile == "" {
		if _, err := os.Stat(filepath.Join(abs, "case.json")); err == nil {
			caseFile = filepath.Join(abs, "case.json")
		}
	}
	skip := map[string]bool{}
	if caseFile != "" {
		if c.fields, err = os.ReadFile(caseFile); err != nil {
			return c, fmt.Errorf("case fields: %w", err)
		}
		if !json.Valid(c.fields) {
			return c, fmt.Errorf("case fields: %s is not JSON", caseFile)
		}
		if filepath.Dir(mustAbs(caseFile)) == abs {
			skip["case.json"], skip["expected.json"] = true, true
			skip[filepath.Base(caseFile)] = true
			if st, err := os.Stat(filepath.Join(abs, "files")); err == nil && st.IsDir() {
				c.root = filepath.Join(abs, "files")
			}
		}
	}
	err = filepath.WalkDir(c.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && p != c.root {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(c.root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if skip[rel] || strings.HasPrefix(d.Name(), ".") || !d.Type().IsRegular() {
			return nil
		}
		c.files = append(c.files, rel)
		return nil
	})
	if err != nil {
		return c, fmt.Errorf("read %s: %w", dir, err)
	}
	if len(c.files) == 0 {
		return c, fmt.Errorf("no files in %s", dir)
	}
	return c, nil
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	caseFile := fs.String("case", "", "JSON file of case fields (patient, summary, reference_date) as POST /v1/cases takes them; default DIR/case.json when present")
	format := fs.String("format", "text", "output: text or json")
	timeout := fs.Duration("timeout", 15*time.Minute, "give up after this long")
	verbose := fs.Bool("v", false, "show the pipeline's log")
	failOnError := fs.Bool("fail-on-error", false, "exit with a non-zero status when the report has an error-level finding")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: handoff check [flags] DIR\n\nRuns the whole pipeline on a folder of files in this process (embedded NATS and S3 in a\ntemporary directory) and prints the checklist report.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usageError{"check takes one DIR"}
	}
	if *format != "text" && *format != "json" {
		return usageError{"--format is text or json"}
	}
	// Every path is absolute before the embedded S3 gateway changes the
	// working directory.
	c, err := collect(fs.Arg(0), *caseFile)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	r, names, err := checkFolder(ctx, c, *verbose, stderr)
	if err != nil {
		return err
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
	} else if err := r.WriteText(stdout, names); err != nil {
		return err
	}
	if *failOnError && r.HasErrors() {
		return errNotReady
	}
	return nil
}

// checkFolder runs `handoff serve` in this process on a temporary data
// directory, uploads the folder as one case through the API, waits for the
// final report and stops the pipeline.
func checkFolder(ctx context.Context, c checkCase, verbose bool, stderr io.Writer) (*record.Report, map[string]string, error) {
	data, err := os.MkdirTemp("", "handoff-check-")
	if err != nil {
		return nil, nil, fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(data)
	var logs bytes.Buffer
	logw := io.Writer(&logs)
	if verbose {
		logw = stderr
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() {
		served <- runServe(sctx, []string{"--data", data, "--http", "127.0.0.1:0", "--s3", "127.0.0.1:0", "--nats", "127.0.0.1:0",
			"--reconcile", "0", "--log-level", "warn"}, io.Discard, logw)
	}()
	defer func() {
		stop()
		<-served
	}()
	a, err := waitServe(ctx, data, served)
	if err != nil {
		if !verbose {
			stderr.Write(logs.Bytes())
		}
		return nil, nil, err
	}
	fields := c.fields
	if fields == nil {
		fields = []byte("{}")
	}
	var created struct {
		ID string `json:"id"`
	}
	if err := a.do(ctx, http.MethodPost, "/v1/cases", "application/json", bytes.NewReader(fields), &created); err != nil {
		return nil, nil, fmt.Errorf("create case: %w", err)
	}
	for _, rel := range c.files {
		b, err := os.ReadFile(filepath.Join(c.root, filepath.FromSlash(rel)))
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", rel, err)
		}
		esc := (&url.URL{Path: rel}).EscapedPath()
		if err := a.do(ctx, http.MethodPut, "/v1/cases/"+created.ID+"/files/"+esc, "application/json", bytes.NewReader(b), nil); err != nil {
			return nil, nil, fmt.Errorf("upload %s: %w", rel, err)
		}
	}
	r, cf, err := waitReport(ctx, a, created.ID, len(c.files), newStatus(stderr))
	if err != nil {
		if !verbose {
			stderr.Write(logs.Bytes())
		}
		return nil, nil, err
	}
	return r, cf.names(), nil
}

// waitServe waits until the in-process pipeline has written its endpoints
// and answers.
func waitServe(ctx context.Context, data string, served <-chan error) (*apiClient, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-served:
			if err == nil {
				err = errors.New("stopped")
			}
			return nil, fmt.Errorf("pipeline: %w", err)
		case <-ctx.Done():
			return nil, fmt.Errorf("pipeline did not start: %w", ctx.Err())
		case <-tick.C:
		}
		if _, err := os.Stat(filepath.Join(data, "endpoints.json")); err != nil {
			continue
		}
		a, err := clientFlags{data: data}.client()
		if err != nil {
			return nil, err
		}
		if err := a.do(ctx, http.MethodGet, "/readyz", "", nil, nil); err == nil {
			return a, nil
		}
	}
}

// settle is how long a report must stay the same, with no file pending,
// before it counts as final.
const settle = 1500 * time.Millisecond

// waitReport waits until every file is processed and the report, computed
// with nothing pending, has not changed for a moment.
func waitReport(ctx context.Context, a *apiClient, caseID string, minFiles int, st *status) (*record.Report, caseFiles, error) {
	var last string
	var since time.Time
	defer st.done()
	for {
		var c caseFiles
		if err := a.do(ctx, http.MethodGet, "/v1/cases/"+caseID, "application/json", nil, &c); err != nil {
			return nil, c, fmt.Errorf("case: %w", err)
		}
		st.show(fmt.Sprintf("%d of %d files processed", len(c.Files)-c.Pending, max(len(c.Files), minFiles)))
		if c.Pending == 0 && len(c.Files) >= minFiles {
			var r record.Report
			err := a.do(ctx, http.MethodGet, "/v1/cases/"+caseID+"/report", "application/json", nil, &r)
			var ae *apiError
			switch {
			case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
			case err != nil:
				return nil, c, fmt.Errorf("report: %w", err)
			case r.Pending == 0 && r.Digest == last && time.Since(since) >= settle:
				return &r, c, nil
			case r.Digest != last:
				last, since = r.Digest, time.Now()
			}
		}
		select {
		case <-ctx.Done():
			stuck := map[string]int{}
			for _, f := range c.Files {
				if !record.Terminal(f.Status) {
					stuck[f.Stage+"/"+f.Route]++
				}
			}
			if len(stuck) > 0 {
				return nil, c, fmt.Errorf("waiting for the report: %w; files still pending by stage/route: %v", ctx.Err(), stuck)
			}
			return nil, c, fmt.Errorf("waiting for the report: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
