// Package app is what every service's own binary shares: the common
// flags (with environment defaults), connections to NATS and S3, the
// streams and the case store, the ops endpoints (/healthz, /readyz,
// /metrics), logging and signal handling. A service's main only adds its
// own flags and wires its root package.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/obs"
)

// Flags are the settings every service binary takes. Each flag's default
// comes from <PREFIX>_<NAME> in the environment (DICOM_NATS_URL, ...).
type Flags struct {
	prefix        string
	NATSURL       string
	NATSCreds     string
	S3            blob.Config
	HTTP          string // ops endpoints
	LogFormat     string
	LogLevel      string
	Replicas      int
	BucketSubject string
}

// Env reads <PREFIX>_<key>, or def.
func (f *Flags) Env(key, def string) string {
	if v, ok := os.LookupEnv(f.prefix + "_" + key); ok {
		return v
	}
	return def
}

// EnvInt reads <PREFIX>_<key> as an integer, or def.
func (f *Flags) EnvInt(key string, def int) int {
	if v, err := strconv.Atoi(f.Env(key, "")); err == nil {
		return v
	}
	return def
}

// EnvDuration reads <PREFIX>_<key> as a duration, or def.
func (f *Flags) EnvDuration(key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(f.Env(key, "")); err == nil {
		return d
	}
	return def
}

// Register adds the common flags to fs; prefix is the environment prefix
// ("DICOM") and httpAddr the default ops address.
func (f *Flags) Register(fs *flag.FlagSet, prefix, httpAddr string) {
	f.prefix = prefix
	e := func(k string) string { return " (env " + prefix + "_" + k + ")" }
	fs.StringVar(&f.NATSURL, "nats-url", f.Env("NATS_URL", "nats://127.0.0.1:4222"), "NATS URL(s), comma-separated"+e("NATS_URL"))
	fs.StringVar(&f.NATSCreds, "nats-creds", f.Env("NATS_CREDS", ""), "NATS credentials file"+e("NATS_CREDS"))
	fs.StringVar(&f.S3.Endpoint, "s3-endpoint", f.Env("S3_ENDPOINT", "http://127.0.0.1:9000"), "S3/MinIO endpoint"+e("S3_ENDPOINT"))
	fs.StringVar(&f.S3.Region, "s3-region", f.Env("S3_REGION", "us-east-1"), "S3 region"+e("S3_REGION"))
	fs.StringVar(&f.S3.CAFile, "s3-ca", f.Env("S3_CA", ""), "extra CA certificate for the S3 endpoint's TLS"+e("S3_CA"))
	fs.StringVar(&f.HTTP, "http", f.Env("HTTP", httpAddr), "listen address of /healthz, /readyz and /metrics"+e("HTTP"))
	fs.StringVar(&f.LogFormat, "log-format", f.Env("LOG_FORMAT", "json"), "log format: json or text"+e("LOG_FORMAT"))
	fs.StringVar(&f.LogLevel, "log-level", f.Env("LOG_LEVEL", "info"), "log level"+e("LOG_LEVEL"))
	fs.IntVar(&f.Replicas, "replicas", f.EnvInt("REPLICAS", 1), "JetStream stream replicas (3 on a cluster)"+e("REPLICAS"))
	fs.StringVar(&f.BucketSubject, "bucket-subject", f.Env("BUCKET_SUBJECT", event.DefaultBucketSubject), "subject bucket notifications arrive on"+e("BUCKET_SUBJECT"))
}

// Finish reads the secrets (from the environment only) after parsing.
func (f *Flags) Finish() error {
	f.S3.AccessKey = f.Env("S3_ACCESS_KEY", "")
	f.S3.SecretKey = f.Env("S3_SECRET_KEY", "")
	return f.S3.Validate()
}

// Deps are a service's connections.
type Deps struct {
	Log      *slog.Logger
	Bus      *bus.Bus
	Blobs    *blob.Store
	Cases    *casestore.Store
	Registry *prometheus.Registry
}

// Service is what a binary runs.
type Service interface {
	Run(ctx context.Context) error
}

// Run connects, builds the service with build, and runs it with its ops
// endpoints until ctx is done. mount, when not nil, adds routes to the ops
// server (intake's API).
func Run(ctx context.Context, name string, f Flags, buckets []string, build func(Deps) (Service, func(*http.ServeMux), error)) error {
	log := obs.NewLogger(os.Stderr, f.LogFormat, f.LogLevel).With("service", name)
	log.Info("starting", "nats_url", f.NATSURL, "s3", f.S3.String(), "http", f.HTTP, "replicas", f.Replicas)
	reg := obs.NewRegistry()
	nc, err := bus.Connect(ctx, bus.ConnectOptions{URL: f.NATSURL, Name: "handoff-" + name, Creds: f.NATSCreds}, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	b, err := bus.New(nc, "/handoff/"+name, log, bus.Options{Metrics: bus.NewMetrics(reg)})
	if err != nil {
		return err
	}
	if err := b.Setup(ctx, bus.Topology{BucketSubject: f.BucketSubject, Replicas: f.Replicas}); err != nil {
		return err
	}
	cases, err := casestore.Open(ctx, b.JetStream(), casestore.Options{Replicas: f.Replicas})
	if err != nil {
		return err
	}
	blobs, err := blob.New(f.S3)
	if err != nil {
		return err
	}
	defer blobs.Close()
	if err := blobs.EnsureBuckets(ctx, buckets...); err != nil {
		return err
	}
	svc, mount, err := build(Deps{Log: log, Bus: b, Blobs: blobs, Cases: cases, Registry: reg})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	if mount != nil {
		mount(mux)
	}
	obs.Mount(mux, reg, map[string]obs.Check{
		"nats": func(context.Context) error {
			if !nc.IsConnected() {
				return errors.New("not connected")
			}
			return nil
		},
		"s3": func(ctx context.Context) error { _, err := blobs.Client().ListBuckets(ctx); return err },
	})
	ln, err := net.Listen("tcp", f.HTTP)
	if err != nil {
		return fmt.Errorf("listen %s: %w", f.HTTP, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return svc.Run(gctx) })
	g.Go(func() error { return obs.Serve(gctx, srv, func() error { return srv.Serve(ln) }) })
	log.Info("running", "http", ln.Addr().String())
	err = g.Wait()
	log.Info("stopped")
	return err
}

// Main runs a command with a context cancelled by SIGINT or SIGTERM and
// exits with its status: 0, 2 for a bad command line, 1 otherwise.
func Main(name string, run func(ctx context.Context, args []string) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, strings.TrimSpace(err.Error()))
		os.Exit(1)
	}
}
