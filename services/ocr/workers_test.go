package ocr_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/handoffmed/handoff/platform/blobtest"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/pipetest"
	"github.com/handoffmed/handoff/platform/record"
)

// TestWorkerProcesses is the scale benchmark (bench/ocr/workers.sh): a
// scanned document of OCR_BENCH_PAGES pages (default 20) through 1, then 2
// OCR worker processes (the service binary, one Tesseract each) sharing
// real NATS and S3; it prints pages/s for each and checks that every
// process took pages. Skipped unless OCR_BENCH=1.
func TestWorkerProcesses(t *testing.T) {
	if os.Getenv("OCR_BENCH") != "1" {
		t.Skip("set OCR_BENCH=1 (bench/ocr/workers.sh)")
	}
	pages := 20
	if n, err := strconv.Atoi(os.Getenv("OCR_BENCH_PAGES")); err == nil && n > 0 {
		pages = n
	}
	bin := filepath.Join(t.TempDir(), "ocr")
	build := exec.Command("go", "build", "-o", bin, "./cmd/ocr")
	build.Dir = blobtest.WorkDir(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	pdf := scannedPDF(t, pages)
	// File storage, as the worker processes set it up.
	e := &serviceEnv{Env: pipetest.StartWith(t, "/handoff/bench", pipetest.Options{Files: true})}
	cs := e.Cases
	done := e.collect(t, event.SubjectOCRDone)
	var rates []float64
	for _, procs := range []int{1, 2} {
		e.caseID = record.NewCaseID()
		if _, err := cs.CreateCase(t.Context(), record.Case{ID: e.caseID, Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		var logs []string
		var cmds []*exec.Cmd
		for i := range procs {
			log := filepath.Join(t.TempDir(), fmt.Sprintf("worker%d.log", i))
			lf, err := os.Create(log)
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.CommandContext(ctx, bin, "--nats-url", e.URL, "--s3-endpoint", blobtest.Endpoint(t),
				"--http", "127.0.0.1:0", "--derived-bucket", e.Derived, "--workers", "1", "--split-pages", "1",
				"--work-dir", t.TempDir(), "--log-level", "info")
			cmd.Env = append(os.Environ(), "HANDOFF_S3_ACCESS_KEY="+blobtest.AccessKey, "HANDOFF_S3_SECRET_KEY="+blobtest.SecretKey)
			cmd.Stdout, cmd.Stderr = lf, lf
			cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
			cmd.WaitDelay = 30 * time.Second
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			cmds, logs = append(cmds, cmd), append(logs, log)
		}
		// Let the workers connect and load, then time one document.
		time.Sleep(2 * time.Second)
		before := len(done.all())
		start := time.Now()
		e.upload(t, "scans/long.pdf", pdf)
		waitFor(t, 10*time.Minute, "ocr done", func() bool { return len(done.all()) > before })
		secs := time.Since(start).Seconds()
		rate := float64(pages) / secs
		rates = append(rates, rate)
		cancel()
		for _, c := range cmds {
			_ = c.Wait()
		}
		for i, l := range logs {
			data, _ := os.ReadFile(l)
			n := strings.Count(string(data), `"msg":"page done"`)
			t.Logf("%d process(es): worker %d took %d pages", procs, i+1, n)
			if n == 0 {
				t.Errorf("%d processes: worker %d took no page", procs, i+1)
			}
		}
		t.Logf("%d process(es): %d pages in %.1f s = %.3f pages/s", procs, pages, secs, rate)
	}
	t.Logf("pages/s with 2 processes / with 1: %.2fx", rates[1]/rates[0])
}
