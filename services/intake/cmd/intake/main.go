// Command intake runs the intake service alone, against an external NATS
// and S3/MinIO: the API, bucket-event intake, sniffing and routing, archive
// expansion, document understanding and the checklist report.
//
// Every flag's default comes from the environment (INTAKE_*); the API token
// and S3 keys come only from the environment. See services/intake/README.md.
package main

import (
	"context"
	"flag"
	"net/http"
	"os"

	"github.com/handoffmed/handoff/platform/app"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/intake"
)

func main() { app.Main("intake", run) }

func run(ctx context.Context, args []string) error {
	var f app.Flags
	var c intake.Config
	fs := flag.NewFlagSet("intake", flag.ContinueOnError)
	f.Register(fs, "INTAKE", ":8080")
	fs.StringVar(&c.IntakeBucket, "intake-bucket", f.Env("INTAKE_BUCKET", record.DefaultIntakeBucket), "bucket of uploads (env INTAKE_INTAKE_BUCKET)")
	fs.StringVar(&c.DerivedBucket, "derived-bucket", f.Env("DERIVED_BUCKET", record.DefaultDerivedBucket), "bucket of derived outputs (env INTAKE_DERIVED_BUCKET)")
	fs.IntVar(&c.BucketEventWorkers, "workers", f.EnvInt("WORKERS", 16), "bucket events handled at once (env INTAKE_WORKERS)")
	fs.IntVar(&c.ArchiveWorkers, "archive-workers", f.EnvInt("ARCHIVE_WORKERS", 2), "archives expanded at once (env INTAKE_ARCHIVE_WORKERS)")
	fs.IntVar(&c.DocumentWorkers, "document-workers", f.EnvInt("DOCUMENT_WORKERS", 4), "documents understood at once (env INTAKE_DOCUMENT_WORKERS)")
	maxUpload := fs.Int("max-upload", f.EnvInt("MAX_UPLOAD", 8<<30), "largest upload through the API, bytes (env INTAKE_MAX_UPLOAD)")
	fs.IntVar(&c.CaseArchiveEntries, "case-archive-entries", f.EnvInt("CASE_ARCHIVE_ENTRIES", 60000), "entries expanded from all of a case's archives; -1 no budget (env INTAKE_CASE_ARCHIVE_ENTRIES)")
	caseArchiveBytes := fs.Int("case-archive-bytes", f.EnvInt("CASE_ARCHIVE_BYTES", 40<<30), "bytes expanded from all of a case's archives; -1 no budget (env INTAKE_CASE_ARCHIVE_BYTES)")
	fs.DurationVar(&c.ReconcileInterval, "reconcile", f.EnvDuration("RECONCILE", 2*60e9), "how often to look for uploads whose notification was lost; 0 disables (env INTAKE_RECONCILE)")
	fs.DurationVar(&c.BundleLinkExpiry, "bundle-link-expiry", f.EnvDuration("BUNDLE_LINK_EXPIRY", 7*24*3600e9), "longest bundle download link (env INTAKE_BUNDLE_LINK_EXPIRY)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := f.Finish(); err != nil {
		return err
	}
	c.MaxUploadBytes, c.CaseArchiveBytes, c.Replicas = int64(*maxUpload), int64(*caseArchiveBytes), f.Replicas
	c.APIToken = os.Getenv("INTAKE_API_TOKEN")
	return app.Run(ctx, "intake", f, []string{c.IntakeBucket, c.DerivedBucket}, func(d app.Deps) (app.Service, func(*http.ServeMux), error) {
		svc, err := intake.New(c, intake.Deps{Log: d.Log, Bus: d.Bus, Blobs: d.Blobs, Cases: d.Cases, Registry: d.Registry})
		if err != nil {
			return nil, nil, err
		}
		return svc, svc.Mount, nil
	})
}
