// Command packager runs the packager service alone: it makes the handoff
// bundles of the work queue handoff.work.bundle (and, unless disabled,
// automatic bundles after a clean report), against an external NATS and S3.
//
// Every flag's default comes from the environment (PACKAGER_*); S3 keys
// come only from it. See services/packager/README.md.
package main

import (
	"context"
	"flag"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/handoffmed/handoff/platform/app"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/packager"
)

func main() { app.Main("packager", run) }

func run(ctx context.Context, args []string) error {
	var f app.Flags
	var c packager.Config
	fs := flag.NewFlagSet("packager", flag.ContinueOnError)
	f.Register(fs, "PACKAGER", ":8083")
	fs.StringVar(&c.IntakeBucket, "intake-bucket", f.Env("INTAKE_BUCKET", record.DefaultIntakeBucket), "bucket of uploads (env PACKAGER_INTAKE_BUCKET)")
	fs.StringVar(&c.DerivedBucket, "derived-bucket", f.Env("DERIVED_BUCKET", record.DefaultDerivedBucket), "bucket of derived outputs (env PACKAGER_DERIVED_BUCKET)")
	fs.StringVar(&c.BundleBucket, "bundle-bucket", f.Env("BUNDLE_BUCKET", record.DefaultBundleBucket), "bucket of bundles, never public (env PACKAGER_BUNDLE_BUCKET)")
	fs.DurationVar(&c.LinkExpiry, "link-expiry", f.EnvDuration("LINK_EXPIRY", packager.DefaultLinkExpiry), "how long a bundle stays downloadable (env PACKAGER_LINK_EXPIRY)")
	fs.DurationVar(&c.QuietPeriod, "quiet-period", f.EnvDuration("QUIET_PERIOD", 15*time.Minute), "bundle a clean case automatically this long after its newest upload; negative disables (env PACKAGER_QUIET_PERIOD)")
	fs.DurationVar(&c.PendingRetry, "pending-retry", f.EnvDuration("PENDING_RETRY", 2*time.Second), "look again this often at a requested case with files still processing (env PACKAGER_PENDING_RETRY)")
	fs.DurationVar(&c.PendingWait, "pending-wait", f.EnvDuration("PENDING_WAIT", 20*time.Minute), "then bundle what is there after this long (env PACKAGER_PENDING_WAIT)")
	fs.IntVar(&c.Workers, "workers", f.EnvInt("WORKERS", 1), "bundles made at once (env PACKAGER_WORKERS)")
	partSize := fs.Int("part-size", f.EnvInt("PART_SIZE", 8<<20), "multipart part size, bytes (env PACKAGER_PART_SIZE)")
	fs.IntVar(&c.UploadConcurrency, "upload-concurrency", f.EnvInt("UPLOAD_CONCURRENCY", 2), "parts uploaded at once (env PACKAGER_UPLOAD_CONCURRENCY)")
	fs.IntVar(&c.Prefetch, "prefetch", f.EnvInt("PREFETCH", 4), "source objects opened ahead (env PACKAGER_PREFETCH)")
	minGain := fs.String("min-gain", f.Env("MIN_GAIN", "0.10"), "deflate an entry when a sample shrinks by at least this share (env PACKAGER_MIN_GAIN)")
	fs.StringVar(&c.CJKFont, "cjk-font", f.Env("CJK_FONT", ""), "CJK TrueType font for the PDFs (env PACKAGER_CJK_FONT; default Debian fonts-droid-fallback)")
	fs.StringVar(&c.LatinFont, "latin-font", f.Env("LATIN_FONT", ""), "Latin TrueType font (env PACKAGER_LATIN_FONT; default Debian fonts-dejavu-core)")
	fs.StringVar(&c.LatinBoldFont, "latin-bold-font", f.Env("LATIN_BOLD_FONT", ""), "Latin bold TrueType font (env PACKAGER_LATIN_BOLD_FONT)")
	memLimit := fs.Int("memory-limit", f.EnvInt("MEMORY_LIMIT", 96<<20), "Go soft memory limit, bytes; 0 leaves GOMEMLIMIT to decide (env PACKAGER_MEMORY_LIMIT)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := f.Finish(); err != nil {
		return err
	}
	c.PartSize = int64(*partSize)
	var err error
	if c.MinGain, err = strconv.ParseFloat(*minGain, 64); err != nil {
		return err
	}
	c.Defaults()
	if err := c.Validate(); err != nil {
		return err
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set && *memLimit > 0 {
		// The bundle's buffers are bounded (parts, prepared entries); the
		// limit keeps the garbage collector from letting the heap double.
		debug.SetMemoryLimit(int64(*memLimit))
	}
	return app.Run(ctx, "packager", f, []string{c.BundleBucket}, func(d app.Deps) (app.Service, func(*http.ServeMux), error) {
		svc, err := packager.New(c, packager.Deps{Log: d.Log, Bus: d.Bus, Blobs: d.Blobs, Cases: d.Cases})
		return svc, nil, err
	})
}
