// Command packager runs the packager service alone: it makes the handoff
// bundles of the work queue handoff.work.bundle (and, unless disabled,
// automatic bundles after a clean report), against an external NATS and S3.
//
// Every flag's default comes from the environment (PACKAGER_*); see
// services/packager/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/obs"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/packager"
)

func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

func envInt(key string, def int64) int64 {
	if v, err := strconv.ParseInt(os.Getenv(key), 10, 64); err == nil {
		return v
	}
	return def
}

func envFloat(key string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(key), 64); err == nil {
		return v
	}
	return def
}

func envDuration(key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(key)); err == nil {
		return d
	}
	return def
}

type config struct {
	natsURL, natsCreds string
	s3                 blob.Config
	svc                packager.Config
	logFormat          string
	logLevel           string
	memLimit           int64
}

func parse(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("packager", flag.ContinueOnError)
	fs.StringVar(&c.natsURL, "nats-url", env("PACKAGER_NATS_URL", "nats://127.0.0.1:4222"), "NATS URL(s) (env PACKAGER_NATS_URL)")
	fs.StringVar(&c.natsCreds, "nats-creds", env("PACKAGER_NATS_CREDS", ""), "NATS credentials file (env PACKAGER_NATS_CREDS)")
	fs.StringVar(&c.s3.Endpoint, "s3-endpoint", env("PACKAGER_S3_ENDPOINT", "http://127.0.0.1:9000"), "S3 endpoint (env PACKAGER_S3_ENDPOINT)")
	fs.StringVar(&c.s3.Region, "s3-region", env("PACKAGER_S3_REGION", "us-east-1"), "S3 region (env PACKAGER_S3_REGION)")
	fs.StringVar(&c.s3.CAFile, "s3-ca", env("PACKAGER_S3_CA", ""), "extra CA certificate for S3 TLS (env PACKAGER_S3_CA)")
	fs.StringVar(&c.svc.IntakeBucket, "intake-bucket", env("PACKAGER_INTAKE_BUCKET", record.DefaultIntakeBucket), "bucket of uploads (env PACKAGER_INTAKE_BUCKET)")
	fs.StringVar(&c.svc.DerivedBucket, "derived-bucket", env("PACKAGER_DERIVED_BUCKET", record.DefaultDerivedBucket), "bucket of derived outputs (env PACKAGER_DERIVED_BUCKET)")
	fs.StringVar(&c.svc.BundleBucket, "bundle-bucket", env("PACKAGER_BUNDLE_BUCKET", record.DefaultBundleBucket), "bucket of bundles, never public (env PACKAGER_BUNDLE_BUCKET)")
	fs.DurationVar(&c.svc.LinkExpiry, "link-expiry", envDuration("PACKAGER_LINK_EXPIRY", packager.DefaultLinkExpiry), "how long a bundle stays downloadable (env PACKAGER_LINK_EXPIRY)")
	fs.DurationVar(&c.svc.QuietPeriod, "quiet-period", envDuration("PACKAGER_QUIET_PERIOD", 15*time.Minute), "bundle a clean case automatically this long after its newest upload; negative disables (env PACKAGER_QUIET_PERIOD)")
	fs.DurationVar(&c.svc.PendingRetry, "pending-retry", envDuration("PACKAGER_PENDING_RETRY", 2*time.Second), "look again this often at a requested case with files still processing (env PACKAGER_PENDING_RETRY)")
	fs.DurationVar(&c.svc.PendingWait, "pending-wait", envDuration("PACKAGER_PENDING_WAIT", 20*time.Minute), "then bundle what is there after this long (env PACKAGER_PENDING_WAIT)")
	workers := fs.Int64("workers", envInt("PACKAGER_WORKERS", 1), "bundles made at once (env PACKAGER_WORKERS)")
	fs.Int64Var(&c.svc.PartSize, "part-size", envInt("PACKAGER_PART_SIZE", 8<<20), "multipart part size, bytes (env PACKAGER_PART_SIZE)")
	upConc := fs.Int64("upload-concurrency", envInt("PACKAGER_UPLOAD_CONCURRENCY", 2), "parts uploaded at once (env PACKAGER_UPLOAD_CONCURRENCY)")
	prefetch := fs.Int64("prefetch", envInt("PACKAGER_PREFETCH", 4), "source objects opened ahead (env PACKAGER_PREFETCH)")
	fs.Float64Var(&c.svc.MinGain, "min-gain", envFloat("PACKAGER_MIN_GAIN", 0.10), "deflate an entry when a sample shrinks by at least this share (env PACKAGER_MIN_GAIN)")
	fs.StringVar(&c.svc.CJKFont, "cjk-font", env("PACKAGER_CJK_FONT", ""), "CJK TrueType font for the PDFs (env PACKAGER_CJK_FONT; default Debian fonts-droid-fallback)")
	fs.StringVar(&c.svc.LatinFont, "latin-font", env("PACKAGER_LATIN_FONT", ""), "Latin TrueType font (env PACKAGER_LATIN_FONT; default Debian fonts-dejavu-core)")
	fs.StringVar(&c.svc.LatinBoldFont, "latin-bold-font", env("PACKAGER_LATIN_BOLD_FONT", ""), "Latin bold TrueType font (env PACKAGER_LATIN_BOLD_FONT)")
	fs.Int64Var(&c.memLimit, "memory-limit", envInt("PACKAGER_MEMORY_LIMIT", 96<<20), "Go soft memory limit, bytes; 0 leaves GOMEMLIMIT to decide (env PACKAGER_MEMORY_LIMIT)")
	fs.StringVar(&c.logFormat, "log-format", env("PACKAGER_LOG_FORMAT", "json"), "log format: json or text (env PACKAGER_LOG_FORMAT)")
	fs.StringVar(&c.logLevel, "log-level", env("PACKAGER_LOG_LEVEL", "info"), "log level (env PACKAGER_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.svc.Workers, c.svc.UploadConcurrency, c.svc.Prefetch = int(*workers), int(*upConc), int(*prefetch)
	c.s3.AccessKey = os.Getenv("PACKAGER_S3_ACCESS_KEY")
	c.s3.SecretKey = os.Getenv("PACKAGER_S3_SECRET_KEY")
	c.svc.Defaults()
	return c, errors.Join(c.s3.Validate(), c.svc.Validate())
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "packager:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	c, err := parse(args)
	if err != nil {
		return err
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set && c.memLimit > 0 {
		// The bundle's buffers are bounded (parts, prepared entries); the
		// limit keeps the garbage collector from letting the heap double.
		debug.SetMemoryLimit(c.memLimit)
	}
	log := obs.NewLogger(os.Stderr, c.logFormat, c.logLevel)
	log.Info("config", "nats_url", c.natsURL, "s3", c.s3.String(), "packager", c.svc)
	nc, err := bus.Connect(ctx, bus.ConnectOptions{URL: c.natsURL, Name: "handoff-packager", Creds: c.natsCreds}, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	b, err := bus.New(nc, "/handoff/packager", log, bus.Options{})
	if err != nil {
		return err
	}
	if err := b.Setup(ctx, bus.Topology{}); err != nil {
		return err
	}
	cases, err := casestore.Open(ctx, b.JetStream(), casestore.Options{})
	if err != nil {
		return err
	}
	blobs, err := blob.New(c.s3)
	if err != nil {
		return err
	}
	if err := blobs.EnsureBuckets(ctx, c.svc.BundleBucket); err != nil {
		return err
	}
	svc, err := packager.New(c.svc, packager.Deps{Log: log, Bus: b, Blobs: blobs, Cases: cases})
	if err != nil {
		return err
	}
	return svc.Run(ctx)
}
