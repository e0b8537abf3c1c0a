// Command packager runs the packager service alone: it makes the handoff
// bundles of the work queue handoff.work.bundle (and, unless disabled,
// automatic bundles after a clean report), against an external NATS and S3.
//
// It reads the same HANDOFF_* settings as `handoff serve` (each flag's
// variable is in -h); S3 keys come only from the environment. See
// services/packager/README.md.
package main

import (
	"context"
	"flag"
	"net/http"
	"os"
	"runtime/debug"

	"github.com/handoffmed/handoff/platform/app"
	"github.com/handoffmed/handoff/platform/config"
	"github.com/handoffmed/handoff/services/packager"
)

func main() { app.Main("packager", run) }

func run(ctx context.Context, args []string) error {
	var f app.Flags
	var c packager.Config
	var memLimit int64
	fs := flag.NewFlagSet("packager", flag.ContinueOnError)
	s := config.NewSet(fs, os.LookupEnv)
	f.Register(s, fs, ":8083")
	config.Add(s, &c.IntakeBucket, config.IntakeBucket)
	config.Add(s, &c.DerivedBucket, config.DerivedBucket)
	config.Add(s, &c.BundleBucket, config.BundleBucket)
	config.Add(s, &c.LinkExpiry, config.BundleLinkExpiry.As("link-expiry"))
	config.Add(s, &c.QuietPeriod, config.QuietPeriod)
	config.Add(s, &c.CleanupInterval, config.CleanupInterval)
	config.Add(s, &c.UploadMaxAge, config.BundleUploadMaxAge.As("upload-max-age"))
	config.Add(s, &c.PendingRetry, config.PackagerPendingRetry)
	config.Add(s, &c.PendingWait, config.PackagerPendingWait)
	config.Add(s, &c.Workers, config.PackagerWorkers.As("workers"))
	config.Add(s, &c.PartSize, config.PackagerPartSize)
	config.Add(s, &c.UploadConcurrency, config.PackagerUploadConcurrency)
	config.Add(s, &c.Prefetch, config.PackagerPrefetch)
	config.Add(s, &c.MinGain, config.PackagerMinGain)
	config.Add(s, &c.CJKFont, config.PackagerCJKFont)
	config.Add(s, &c.LatinFont, config.PackagerLatinFont)
	config.Add(s, &c.LatinBoldFont, config.PackagerLatinBoldFont)
	config.Add(s, &memLimit, config.PackagerMemoryLimit)
	if err := f.Parse(ctx, args); err != nil {
		return err
	}
	c.Defaults()
	if err := c.Validate(); err != nil {
		return err
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set && memLimit > 0 {
		// The bundle's buffers are bounded (parts, prepared entries); the
		// limit keeps the garbage collector from letting the heap double.
		debug.SetMemoryLimit(memLimit)
	}
	return app.Run(ctx, "packager", f, []string{c.BundleBucket}, func(d app.Deps) (app.Service, func(*http.ServeMux), error) {
		svc, err := packager.New(c, packager.Deps{Log: d.Log, Bus: d.Bus, Blobs: d.Blobs, Cases: d.Cases})
		return svc, nil, err
	})
}
