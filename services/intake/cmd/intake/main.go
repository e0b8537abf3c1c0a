// Command intake runs the intake service alone, against an external NATS
// and S3/MinIO: the API, bucket-event intake, sniffing and routing, archive
// expansion, document understanding and the checklist report.
//
// It reads the same HANDOFF_* settings as `handoff serve` (each flag's
// variable is in -h); the API token and S3 keys come only from the
// environment. See services/intake/README.md.
package main

import (
	"context"
	"flag"
	"net/http"
	"os"

	"github.com/handoffmed/handoff/platform/app"
	"github.com/handoffmed/handoff/platform/config"
	"github.com/handoffmed/handoff/services/intake"
)

func main() { app.Main("intake", run) }

func run(ctx context.Context, args []string) error {
	var f app.Flags
	var c intake.Config
	fs := flag.NewFlagSet("intake", flag.ContinueOnError)
	s := config.NewSet(fs, os.LookupEnv)
	f.Register(s, fs, ":8080")
	config.Add(s, &c.APIToken, config.APIToken)
	config.Add(s, &c.IntakeBucket, config.IntakeBucket)
	config.Add(s, &c.DerivedBucket, config.DerivedBucket)
	config.Add(s, &c.BucketEventWorkers, config.IntakeWorkers.As("workers"))
	config.Add(s, &c.ArchiveWorkers, config.IntakeArchiveWorkers)
	config.Add(s, &c.DocumentWorkers, config.IntakeDocumentWorkers)
	config.Add(s, &c.MaxUploadBytes, config.IntakeMaxUpload)
	config.Add(s, &c.CaseArchiveEntries, config.ArchiveCaseEntries.As("case-archive-entries"))
	config.Add(s, &c.CaseArchiveBytes, config.ArchiveCaseBytes.As("case-archive-bytes"))
	config.Add(s, &c.ReconcileInterval, config.Reconcile)
	config.Add(s, &c.CleanupInterval, config.CleanupInterval)
	config.Add(s, &c.UploadMaxAge, config.UploadMaxAge)
	config.Add(s, &c.BundleLinkExpiry, config.BundleLinkExpiry)
	if err := f.Parse(ctx, args); err != nil {
		return err
	}
	return app.Run(ctx, "intake", f, []string{c.IntakeBucket, c.DerivedBucket}, func(d app.Deps) (app.Service, func(*http.ServeMux), error) {
		svc, err := intake.New(c, intake.Deps{Log: d.Log, Bus: d.Bus, Blobs: d.Blobs, Cases: d.Cases, Registry: d.Registry})
		if err != nil {
			return nil, nil, err
		}
		return svc, svc.Mount, nil
	})
}
