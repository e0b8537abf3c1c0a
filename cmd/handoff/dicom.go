package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/handoffmed/handoff/services/dicom"
)

const dicomUsage = `usage:
  handoff dicom index [--json] [--stats] [--workers N] PATH…   index DICOM files from their headers
  handoff dicom fileset DIR OUT                              write one viewer-ready file-set per study
`

func runDICOM(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, dicomUsage)
		return usageError{"dicom: no subcommand"}
	}
	switch args[0] {
	case "index":
		fs := flag.NewFlagSet("dicom index", flag.ContinueOnError)
		fs.SetOutput(stderr)
		asJSON := fs.Bool("json", false, "print the index as JSON")
		stats := fs.Bool("stats", false, "print files/s, MB/s and bytes read to stderr")
		workers := fs.Int("workers", 0, "files read at once (default: number of CPUs)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			fmt.Fprint(stderr, dicomUsage)
			return usageError{"dicom index: no path"}
		}
		return dicom.IndexCommand(ctx, fs.Args(), dicom.IndexCommandOptions{JSON: *asJSON, Stats: *stats, Workers: *workers}, stdout, stderr)
	case "fileset":
		fs := flag.NewFlagSet("dicom fileset", flag.ContinueOnError)
		fs.SetOutput(stderr)
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 2 {
			fmt.Fprint(stderr, dicomUsage)
			return usageError{"dicom fileset: want DIR OUT"}
		}
		return dicom.FileSetCommand(ctx, fs.Arg(0), fs.Arg(1), stdout)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, dicomUsage)
		return nil
	default:
		fmt.Fprint(stderr, dicomUsage)
		return usageError{fmt.Sprintf("dicom: unknown subcommand %q", args[0])}
	}
}
