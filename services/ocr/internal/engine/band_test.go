package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/handoffmed/handoff/services/ocr/internal/render"
)

const corpus = "../../../../testdata/corpus/ocr-peer"

func TestBandCuts(t *testing.T) {
	for _, f := range []string{"linn.pdf", "epson.pdf", "c02-22.pdf", "francais.pdf"} {
		img, err := render.Page(context.Background(), filepath.Join(corpus, f), 1, 300)
		if err != nil {
			t.Fatal(err)
		}
		cuts := bandCuts(img, 2)
		t.Logf("%s: %v of height %d", f, cuts, img.Bounds().Dy())
		if (f == "linn.pdf" || f == "epson.pdf") && len(cuts) != 1 {
			t.Errorf("%s: no cut", f)
		}
	}
}

// TestBands: a page cut in two bands reads the same words as whole, and
// (on an idle machine) in less wall time for about the same CPU.
func TestBands(t *testing.T) {
	img, err := render.Page(context.Background(), filepath.Join(corpus, "linn.pdf"), 1, 300)
	if err != nil {
		t.Fatal(err)
	}
	pool, _ := NewPool("eng", 2)
	defer pool.Close()
	for _, parts := range []int{1, 2} {
		st := time.Now()
		var r0, r1 syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
		tp, err := pool.recognizeBands(context.Background(), img, parts, render.PBM, 300)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, l := range tp.Lines {
			n += len(l.Words)
		}
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
		cpu := time.Duration(r1.Utime.Nano() - r0.Utime.Nano() + r1.Stime.Nano() - r0.Stime.Nano())
		t.Logf("parts %d: wall %v cpu %v, %d words", parts, time.Since(st), cpu, n)
		if n < 700 {
			t.Errorf("parts %d: %d words, want about 728", parts, n)
		}
	}
}

// TestMain re-executes the test binary with OMP_THREAD_LIMIT=1: libgomp
// reads it only at start (see ocr.EnsureSingleThreaded).
func TestMain(m *testing.M) {
	if os.Getenv("OMP_THREAD_LIMIT") != "1" {
		exe, err := os.Executable()
		if err == nil {
			err = syscall.Exec(exe, os.Args, append(os.Environ(), "OMP_THREAD_LIMIT=1"))
		}
		fmt.Fprintln(os.Stderr, "re-exec:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}
