// Command dicom-index is `handoff dicom index` in a binary of its own,
// without the rest of the pipeline linked in: for benchmarks and scripts
// where start-up cost and resident memory should be the indexer's alone.
//
//	dicom-index [--json] [--stats] [--workers N] PATH…
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/handoffmed/handoff/services/dicom"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	fs := flag.NewFlagSet("dicom-index", flag.ExitOnError)
	asJSON := fs.Bool("json", false, "print the index as JSON")
	stats := fs.Bool("stats", false, "print files/s, MB/s and bytes read to stderr")
	workers := fs.Int("workers", 0, "files read at once (default: number of CPUs)")
	_ = fs.Parse(os.Args[1:])
	if fs.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: dicom-index [--json] [--stats] [--workers N] PATH…")
		stop()
		os.Exit(2)
	}
	err := dicom.IndexCommand(ctx, fs.Args(), dicom.IndexCommandOptions{JSON: *asJSON, Stats: *stats, Workers: *workers}, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dicom-index:", err)
		os.Exit(1)
	}
}
