// Command dicom runs the DICOM service alone: it indexes the DICOM files of
// the work queue handoff.work.dicom, against an external NATS and S3.
//
// Every flag's default comes from the environment (DICOM_*); S3 keys come
// only from it. See services/dicom/README.md.
package main

import (
	"context"
	"flag"
	"net/http"

	"github.com/handoffmed/handoff/platform/app"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/dicom"
)

func main() { app.Main("dicom", run) }

func run(ctx context.Context, args []string) error {
	var f app.Flags
	var c dicom.Config
	fs := flag.NewFlagSet("dicom", flag.ContinueOnError)
	f.Register(fs, "DICOM", ":8081")
	fs.StringVar(&c.DerivedBucket, "derived-bucket", f.Env("DERIVED_BUCKET", record.DefaultDerivedBucket), "bucket for the index and file-sets (env DICOM_DERIVED_BUCKET)")
	fs.IntVar(&c.Workers, "workers", f.EnvInt("WORKERS", 4), "work items handled at once (env DICOM_WORKERS)")
	maxObject := fs.Int("max-object", f.EnvInt("MAX_OBJECT", 4<<30), "largest DICOM object accepted, bytes (env DICOM_MAX_OBJECT)")
	maxHeader := fs.Int("max-header", f.EnvInt("MAX_HEADER", 32<<20), "most header bytes read before the pixel data (env DICOM_MAX_HEADER)")
	rangeSize := fs.Int("range-size", f.EnvInt("RANGE_SIZE", 64<<10), "bytes per ranged S3 read, at most 64 KiB (env DICOM_RANGE_SIZE)")
	fs.DurationVar(&c.AckWait, "ack-wait", f.EnvDuration("ACK_WAIT", 60e9), "redeliver a work item after this long without progress (env DICOM_ACK_WAIT)")
	fs.IntVar(&c.CaseInstances, "case-instances", f.EnvInt("CASE_INSTANCES", 30000), "DICOM files indexed per case; more are kept but not indexed; -1 no budget (env DICOM_CASE_INSTANCES)")
	caseBytes := fs.Int("case-bytes", f.EnvInt("CASE_BYTES", 30<<30), "bytes of DICOM indexed per case; -1 no budget (env DICOM_CASE_BYTES)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := f.Finish(); err != nil {
		return err
	}
	c.MaxObject, c.MaxHeader, c.RangeSize = int64(*maxObject), int64(*maxHeader), int64(*rangeSize)
	c.CaseBytes, c.Replicas = int64(*caseBytes), f.Replicas
	if err := c.Validate(); err != nil {
		return err
	}
	return app.Run(ctx, "dicom", f, []string{c.DerivedBucket}, func(d app.Deps) (app.Service, func(*http.ServeMux), error) {
		svc, err := dicom.New(c, dicom.Deps{Log: d.Log, Bus: d.Bus, Blobs: d.Blobs, Cases: d.Cases})
		return svc, nil, err
	})
}
