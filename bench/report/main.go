// Command report benchmarks the checklist report of `handoff serve` in
// embedded mode: the time from the last upload of a ten-document case to
// its final report. OCR is excluded: the documents are uploaded as the text
// that pdftotext and tesseract made of them beforehand (the pipeline's text
// route), next to the case's five DICOM instances. The ratio is against the
// 2 s target of issue 5.
//
//	go run ./report -handoff ../bin/handoff -runs 7
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/handoffmed/handoff/bench/internal/serveapi"
)

const target = 2 * time.Second

type upload struct {
	path string
	data []byte
}

type client = serveapi.Client

type report struct {
	Pending  int `json:"pending"`
	Findings []struct {
		Code string `json:"code"`
	} `json:"findings"`
	Digest string `json:"digest"`
}

func (r report) codes() []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Code)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

type caseView struct {
	Pending int `json:"pending"`
	Files   []struct {
		Status string `json:"status"`
	} `json:"files"`
}

// textOf extracts a document's text the way the OCR service would, ahead of
// the measurement.
func textOf(path string) ([]byte, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".pdf":
		return exec.Command("pdftotext", "-q", "-enc", "UTF-8", path, "-").Output()
	case ".jpg", ".png":
		return exec.Command("tesseract", path, "-").Output()
	}
	return os.ReadFile(path)
}

// caseFiles is testdata/cases/complete: its DICOM as uploaded, its seven
// documents as text, and three more documents a patient typically adds
// (a second lab printout, a visit note, an insurance letter): ten documents.
func caseFiles(root string) ([]upload, []byte, error) {
	dir := filepath.Join(root, "testdata/cases/complete")
	fields, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if err != nil {
		return nil, nil, err
	}
	var ups, docs []upload
	err = filepath.WalkDir(filepath.Join(dir, "files"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(filepath.Join(dir, "files"), p)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "Imaging CD/") {
			b, err := os.ReadFile(p)
			ups = append(ups, upload{rel, b})
			return err
		}
		b, err := textOf(p)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		docs = append(docs, upload{strings.TrimSuffix(rel, filepath.Ext(rel)) + ".txt", b})
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for _, d := range docs {
		if strings.HasPrefix(d.path, "Labs/Quest") {
			docs = append(docs, upload{"Labs/Quest results (copy).txt", d.data})
			break
		}
	}
	docs = append(docs,
		upload{"Office visit.txt", []byte("Office Visit\nChief Complaint: right hip pain\nHistory of Present Illness: pain for two years.\nAssessment and Plan: refer to orthopedics.\n")},
		upload{"Insurance letter.txt", []byte("Explanation of Benefits\nThis is not a bill.\nClaim number: 12345\nPatient responsibility: $0.00\n")},
	)
	// The passport last: the report is final once it is understood.
	slices.SortStableFunc(docs, func(a, b upload) int {
		return boolInt(strings.HasPrefix(a.path, "passport")) - boolInt(strings.HasPrefix(b.path, "passport"))
	})
	return append(ups, docs...), fields, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func main() {
	bin := flag.String("handoff", "bin/handoff", "handoff binary")
	runs := flag.Int("runs", 5, "cases to measure")
	root := flag.String("repo", "..", "repository root (for testdata/cases)")
	flag.Parse()
	if err := run(*bin, *root, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "bench/report:", err)
		os.Exit(1)
	}
}

func run(bin, root string, runs int) error {
	ups, fields, err := caseFiles(root)
	if err != nil {
		return err
	}
	docs := 0
	for _, u := range ups {
		if strings.HasSuffix(u.path, ".txt") {
			docs++
		}
	}
	data, err := os.MkdirTemp("", "bench-report-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(data)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	var logs bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "serve", "--data", data, "--http", "127.0.0.1:0", "--s3", "127.0.0.1:0",
		"--nats", "127.0.0.1:0", "--log-level", "warn", "--reconcile", "0")
	cmd.Stdout, cmd.Stderr = io.Discard, &logs
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	c, err := serveapi.WaitServe(ctx, data)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, logs.String())
	}
	var lat []time.Duration
	for i := range runs {
		d, err := measure(ctx, c, fields, ups)
		if err != nil {
			return fmt.Errorf("run %d: %w\n%s", i+1, err, logs.String())
		}
		lat = append(lat, d)
	}
	slices.Sort(lat)
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("case: testdata/cases/complete, %d documents as text (OCR excluded) + %d DICOM instances, %d runs, %d CPUs, load %s\n",
		docs, len(ups)-docs, runs, runtime.NumCPU(), strings.Join(strings.Fields(string(load))[:3], " "))
	fmt.Printf("%-44s %8s %8s %8s %10s\n", "measure", "min_s", "median_s", "max_s", "vs_target")
	med := lat[len(lat)/2]
	fmt.Printf("%-44s %8.3f %8.3f %8.3f %9.2fx\n", "last upload -> final report (serve, embedded)",
		lat[0].Seconds(), med.Seconds(), lat[len(lat)-1].Seconds(), med.Seconds()/target.Seconds())
	fmt.Printf("target: %.1f s (ratio < 1 meets it)\n", target.Seconds())
	return nil
}

// measure uploads one case back to back and times the last upload's answer
// to the first report that is final: nothing pending and no finding (the
// complete case has none).
func measure(ctx context.Context, c client, fields []byte, ups []upload) (time.Duration, error) {
	var created struct {
		ID string `json:"id"`
	}
	if code, err := c.Do(ctx, http.MethodPost, "/v1/cases", fields, &created); err != nil || code != http.StatusCreated {
		return 0, fmt.Errorf("create case: %d %v", code, err)
	}
	for _, u := range ups {
		esc := (&url.URL{Path: u.path}).EscapedPath()
		if code, err := c.Do(ctx, http.MethodPut, "/v1/cases/"+created.ID+"/files/"+esc, u.data, nil); err != nil || code != http.StatusCreated {
			return 0, fmt.Errorf("upload %s: %d %v", u.path, code, err)
		}
	}
	t0 := time.Now()
	deadline := t0.Add(2 * time.Minute)
	var last report
	for time.Now().Before(deadline) {
		var r report
		code, err := c.Do(ctx, http.MethodGet, "/v1/cases/"+created.ID+"/report", nil, &r)
		if err != nil {
			return 0, err
		}
		if code == http.StatusOK {
			last = r
			if r.Pending == 0 && len(r.Findings) == 0 {
				return time.Since(t0), nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return 0, fmt.Errorf("no final report in 2 minutes; last: pending %d, codes %v", last.Pending, last.codes())
}
