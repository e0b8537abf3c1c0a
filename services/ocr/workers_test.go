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
	"github.com/handoffmed/handoff/platform/testenv"
	"github.com/handoffmed/handoff/services/ocr"
)

// TestWorkerProcesses is the scale benchmark (bench/ocr/workers.sh): a
// scanned document of OCR_BENCH_PAGES pages (default 20) through 1, then 2
// OCR worker processes (the service binary, one Tesseract each; the binary
// OCR_BENCH_BIN when set) sharing real NATS and S3; it prints pages/s for
// each and checks that every process took pages. Skipped unless
// OCR_BENCH=1.
func TestWorkerProcesses(t *testing.T) {
	if os.Getenv("OCR_BENCH") != "1" {
		t.Skip("set OCR_BENCH=1 (bench/ocr/workers.sh)")
	}
	pages := 20
	if n, err := strconv.Atoi(os.Getenv("OCR_BENCH_PAGES")); err == nil && n > 0 {
		pages = n
	}
	bin := os.Getenv("OCR_BENCH_BIN") // another version's worker, to compare
	if bin == "" {
		bin = testenv.ServiceBinary(t, "ocr")
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
			cmd, log := startWorker(ctx, t, bin, e, fmt.Sprintf("worker%d.log", i))
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
		var cpu time.Duration // of the worker processes: what the machine's load does not change
		for _, c := range cmds {
			_ = c.Wait()
			if c.ProcessState != nil {
				cpu += c.ProcessState.UserTime() + c.ProcessState.SystemTime()
			}
		}
		for i, l := range logs {
			data, _ := os.ReadFile(l)
			n := strings.Count(string(data), `"msg":"page done"`)
			t.Logf("%d process(es): worker %d took %d pages", procs, i+1, n)
			if n == 0 {
				t.Errorf("%d processes: worker %d took no page", procs, i+1)
			}
		}
		t.Logf("%d process(es): %d pages in %.1f s = %.3f pages/s; worker CPU %.1f s = %.2f s per page", procs, pages, secs, rate, cpu.Seconds(), cpu.Seconds()/float64(pages))
	}
	t.Logf("pages/s with 2 processes / with 1: %.2fx", rates[1]/rates[0])
}

// startWorker starts an OCR worker process (one Tesseract, documents with
// more than one page split) against the test's NATS and S3, logging into a
// file of the test's temporary directory whose path it returns.
func startWorker(ctx context.Context, t *testing.T, bin string, e *serviceEnv, logName string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	log := filepath.Join(t.TempDir(), logName)
	lf, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lf.Close() })
	args = append([]string{"--nats-url", e.URL, "--s3-endpoint", blobtest.Endpoint(t),
		"--http", "127.0.0.1:0", "--derived-bucket", e.Derived, "--workers", "1", "--split-pages", "1",
		"--work-dir", t.TempDir(), "--log-level", "info"}, args...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "HANDOFF_S3_ACCESS_KEY="+blobtest.AccessKey, "HANDOFF_S3_SECRET_KEY="+blobtest.SecretKey)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, log
}

// TestServiceWorkerKilled: a worker process killed in the middle of a split
// document (SIGKILL: no drain, its page item neither acked nor given back)
// loses nothing: the page it held is redelivered to the other worker, the
// window of queued pages goes on, and the document is assembled once with
// every page.
func TestServiceWorkerKilled(t *testing.T) {
	t.Parallel()
	bin := testenv.ServiceBinary(t, "ocr")
	e := &serviceEnv{Env: pipetest.StartWith(t, "/handoff/test", pipetest.Options{Files: true})}
	e.caseID = e.newCase(t)
	times := e.doneTimes(t)
	done := e.collect(t, event.SubjectOCRDone)
	cmd, log := startWorker(t.Context(), t, bin, e, "killed.log", "--ack-wait", "3s", "--max-page-pixels", strconv.Itoa(quickPage))
	t.Cleanup(func() { _ = cmd.Wait() })
	// The worker process sets the consumers up; the one that survives
	// starts once it has.
	waitFor(t, 2*time.Minute, "worker process started", func() bool {
		b, _ := os.ReadFile(log)
		return strings.Contains(string(b), `"msg":"starting"`)
	})
	logs := e.start(t, "survivor", ocr.Config{Workers: 1, SplitPages: 1, AckWait: 3 * time.Second, MaxPagePixels: quickPage})
	ref := e.upload(t, "long.pdf", repeated(t, "francais.pdf", 12))
	waitFor(t, 10*time.Minute, "the worker process done with a page", func() bool {
		b, _ := os.ReadFile(log)
		return strings.Contains(string(b), `"msg":"page done"`)
	})
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(log)
	killed := strings.Count(string(b), `"msg":"page done"`)
	_, ev := times.wait(t, ref.FileID, 10*time.Minute)
	if ev.Pages != 12 || ev.OCRPages != 12 || ev.FailedPages != 0 {
		t.Errorf("ocr done %+v, want 12 pages OCRed", ev)
	}
	survived := strings.Count(logs.String(), `"msg":"page done"`)
	t.Logf("pages done: %d by the killed process, %d by the survivor", killed, survived)
	if killed+survived < 12 || survived == 0 {
		t.Errorf("pages done: %d by the killed process, %d by the survivor; want all 12", killed, survived)
	}
	e.checkSearchable(t, ev)
	time.Sleep(500 * time.Millisecond)
	if n := len(done.all()); n != 1 {
		t.Errorf("%d completion events, want 1", n)
	}
}
