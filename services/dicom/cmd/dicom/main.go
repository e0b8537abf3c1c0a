// Command dicom runs the DICOM service alone: it indexes the DICOM files of
// the work queue handoff.work.dicom, against an external NATS and S3.
//
// It reads the same HANDOFF_* settings as `handoff serve` (each flag's
// variable is in -h); S3 keys come only from the environment. See
// services/dicom/README.md.
package main

import (
	"context"
	"flag"
	"net/http"
	"os"

	"github.com/handoffmed/handoff/platform/app"
	"github.com/handoffmed/handoff/platform/config"
	"github.com/handoffmed/handoff/services/dicom"
)

func main() { app.Main("dicom", run) }

func run(ctx context.Context, args []string) error {
	var f app.Flags
	var c dicom.Config
	fs := flag.NewFlagSet("dicom", flag.ContinueOnError)
	s := config.NewSet(fs, os.LookupEnv)
	f.Register(s, fs, ":8081")
	config.Add(s, &c.DerivedBucket, config.DerivedBucket)
	config.Add(s, &c.Workers, config.DICOMWorkers.As("workers"))
	config.Add(s, &c.MaxObject, config.DICOMMaxObject)
	config.Add(s, &c.MaxHeader, config.DICOMMaxHeader)
	config.Add(s, &c.RangeSize, config.DICOMRangeSize)
	config.Add(s, &c.AckWait, config.DICOMAckWait)
	config.Add(s, &c.CaseInstances, config.DICOMCaseInstances.As("case-instances"))
	config.Add(s, &c.CaseBytes, config.DICOMCaseBytes.As("case-bytes"))
	if err := f.Parse(ctx, args); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	return app.Run(ctx, "dicom", f, []string{c.DerivedBucket}, func(d app.Deps) (app.Service, func(*http.ServeMux), error) {
		svc, err := dicom.New(c, dicom.Deps{Log: d.Log, Bus: d.Bus, Blobs: d.Blobs, Cases: d.Cases})
		return svc, nil, err
	})
}
