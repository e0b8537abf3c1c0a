// Command scale measures how the worker kinds scale out with processes on
// one machine, and what each unit of work costs in CPU: pages per second
// with 1, 2 and 3 OCR worker processes, DICOM instances per second with 1
// and 2 DICOM worker processes, and CPU-seconds per page, per instance, per
// uploaded file (intake) and per bundle (packager). Everything runs as
// separate processes against one nats-server and one versitygw (S3 with
// bucket notifications to NATS): intake and the packager in one
// `handoff serve --services intake,packager`, each OCR or DICOM worker its
// own service binary (bin/ocr --workers 1, bin/dicom --workers 4).
//
//	go run ./bench/scale [-pages 18] [-instances 1500] [-ocr 1,2,3] [-dicom 1,2]
//
// (bench/scale/run.sh builds first and runs it from the repository root.)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

type options struct {
	bin       string // directory of handoff, ocr and dicom
	pages     int
	instances int
	dicomDir  string
	ocr       []int
	dicom     []int
	keep      bool
}

func main() {
	var o options
	var ocrProcs, dicomProcs string
	flag.StringVar(&o.bin, "bin", "bin", "directory of the handoff, ocr and dicom binaries (make build)")
	flag.IntVar(&o.pages, "pages", 18, "pages of the scanned document each OCR run takes")
	flag.IntVar(&o.instances, "instances", 1500, "DICOM instances of the case each DICOM run takes (the smallest of -dicom-dir)")
	flag.StringVar(&o.dicomDir, "dicom-dir", "/tmp/dicom-bulk", "DICOM corpus (go run ./bench/dicomgen makes it when absent)")
	flag.StringVar(&ocrProcs, "ocr", "1,2,3", "OCR worker process counts to run")
	flag.StringVar(&dicomProcs, "dicom", "1,2", "DICOM worker process counts to run")
	flag.BoolVar(&o.keep, "keep", false, "keep the working directory (logs)")
	flag.Parse()
	var err error
	if o.ocr, err = counts(ocrProcs); err == nil {
		o.dicom, err = counts(dicomProcs)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

func counts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("process count %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func run(ctx context.Context, o options) error {
	for _, b := range []string{"handoff", "ocr", "dicom"} {
		if _, err := os.Stat(filepath.Join(o.bin, b)); err != nil {
			return fmt.Errorf("%s missing: run make build", filepath.Join(o.bin, b))
		}
	}
	for _, t := range []string{"nats-server", "versitygw", "qpdf"} {
		if _, err := exec.LookPath(t); err != nil {
			return fmt.Errorf("%s missing: make setup (and scripts/packages.txt)", t)
		}
	}
	dir, err := os.MkdirTemp("", "handoff-scale-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintln(os.Stderr, "working directory:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	b, err := setUp(ctx, dir, o)
	if err != nil {
		return err
	}
	defer b.close()

	scan, err := scannedPDF(dir, o.pages)
	if err != nil {
		return err
	}
	instances, err := smallestInstances(o.dicomDir, o.instances)
	if err != nil {
		return err
	}
	var rows []row
	var ocrCases, dicomCases []string
	for _, n := range o.ocr {
		fmt.Fprintf(os.Stderr, "OCR: %d process(es), %d pages\n", n, o.pages)
		r, caseID, err := b.ocrRun(ctx, n, scan, o.pages)
		if err != nil {
			return err
		}
		rows, ocrCases = append(rows, r), append(ocrCases, caseID)
	}
	var intake row
	for _, n := range o.dicom {
		fmt.Fprintf(os.Stderr, "DICOM: %d process(es), %d instances\n", n, len(instances))
		r, in, caseID, err := b.dicomRun(ctx, n, instances)
		if err != nil {
			return err
		}
		rows, dicomCases = append(rows, r), append(dicomCases, caseID)
		intake.add(in)
	}
	if intake.units > 0 {
		rows = append(rows, intake)
	}
	for _, set := range []struct {
		what  string
		cases []string
	}{{fmt.Sprintf("bundle (%d instances)", len(instances)), dicomCases}, {fmt.Sprintf("bundle (%d pages)", o.pages), ocrCases}} {
		if len(set.cases) == 0 {
			continue
		}
		fmt.Fprintf(os.Stderr, "bundles: %d of %s\n", len(set.cases), set.what)
		r, err := b.bundleRun(ctx, set.what, set.cases)
		if err != nil {
			return err
		}
		rows = append(rows, r)
	}
	printRows(os.Stdout, rows)
	return b.printStorage(ctx, os.Stdout)
}

// errTimeout ends a run whose work did not finish.
var errTimeout = errors.New("timed out")
