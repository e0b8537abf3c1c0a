// Command dicom runs the DICOM service alone: it indexes the DICOM files of
// the work queue handoff.work.dicom, against an external NATS and S3.
//
// Every flag's default comes from the environment (DICOM_*); see
// services/dicom/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/obs"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/dicom"
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

func envDuration(key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(key)); err == nil {
		return d
	}
	return def
}

type config struct {
	natsURL, natsCreds string
	s3                 blob.Config
	svc                dicom.Config
	logFormat          string
	logLevel           string
}

func parse(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("dicom", flag.ContinueOnError)
	fs.StringVar(&c.natsURL, "nats-url", env("DICOM_NATS_URL", "nats://127.0.0.1:4222"), "NATS URL(s) (env DICOM_NATS_URL)")
	fs.StringVar(&c.natsCreds, "nats-creds", env("DICOM_NATS_CREDS", ""), "NATS credentials file (env DICOM_NATS_CREDS)")
	fs.StringVar(&c.s3.Endpoint, "s3-endpoint", env("DICOM_S3_ENDPOINT", "http://127.0.0.1:9000"), "S3 endpoint (env DICOM_S3_ENDPOINT)")
	fs.StringVar(&c.s3.Region, "s3-region", env("DICOM_S3_REGION", "us-east-1"), "S3 region (env DICOM_S3_REGION)")
	fs.StringVar(&c.s3.CAFile, "s3-ca", env("DICOM_S3_CA", ""), "extra CA certificate for S3 TLS (env DICOM_S3_CA)")
	fs.StringVar(&c.svc.DerivedBucket, "derived-bucket", env("DICOM_DERIVED_BUCKET", record.DefaultDerivedBucket), "bucket for the index and file-sets (env DICOM_DERIVED_BUCKET)")
	workers := fs.Int64("workers", envInt("DICOM_WORKERS", 4), "work items handled at once (env DICOM_WORKERS)")
	fs.Int64Var(&c.svc.MaxObject, "max-object", envInt("DICOM_MAX_OBJECT", 4<<30), "largest DICOM object accepted, bytes (env DICOM_MAX_OBJECT)")
	fs.Int64Var(&c.svc.MaxHeader, "max-header", envInt("DICOM_MAX_HEADER", 32<<20), "most header bytes read before the pixel data (env DICOM_MAX_HEADER)")
	fs.Int64Var(&c.svc.RangeSize, "range-size", envInt("DICOM_RANGE_SIZE", 64<<10), "bytes per ranged S3 read, at most 64 KiB (env DICOM_RANGE_SIZE)")
	fs.DurationVar(&c.svc.AckWait, "ack-wait", envDuration("DICOM_ACK_WAIT", time.Minute), "redeliver a work item after this long without progress (env DICOM_ACK_WAIT)")
	fs.StringVar(&c.logFormat, "log-format", env("DICOM_LOG_FORMAT", "json"), "log format: json or text (env DICOM_LOG_FORMAT)")
	fs.StringVar(&c.logLevel, "log-level", env("DICOM_LOG_LEVEL", "info"), "log level (env DICOM_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.svc.Workers = int(*workers)
	c.s3.AccessKey = os.Getenv("DICOM_S3_ACCESS_KEY")
	c.s3.SecretKey = os.Getenv("DICOM_S3_SECRET_KEY")
	return c, errors.Join(c.s3.Validate(), c.svc.Validate())
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "dicom:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	c, err := parse(args)
	if err != nil {
		return err
	}
	log := obs.NewLogger(os.Stderr, c.logFormat, c.logLevel)
	log.Info("config", "nats_url", c.natsURL, "s3", c.s3.String(), "derived_bucket", c.svc.DerivedBucket,
		"workers", c.svc.Workers, "max_object", c.svc.MaxObject, "max_header", c.svc.MaxHeader)
	nc, err := bus.Connect(ctx, bus.ConnectOptions{URL: c.natsURL, Name: "handoff-dicom", Creds: c.natsCreds}, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	b, err := bus.New(nc, "/handoff/dicom", log, bus.Options{})
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
	if err := blobs.EnsureBuckets(ctx, c.svc.DerivedBucket); err != nil {
		return err
	}
	svc, err := dicom.New(c.svc, dicom.Deps{Log: log, Bus: b, Blobs: blobs, Cases: cases})
	if err != nil {
		return err
	}
	return svc.Run(ctx)
}
