// Package app is what every service's own binary shares: the common
// settings (platform/config), --version and --healthcheck, connections to
// NATS and S3, the streams and the case store, the ops endpoints (/healthz,
// /readyz, /metrics), logging and signal handling. A service's main only adds its
// own flags and wires its root package.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/config"
	"github.com/handoffmed/handoff/platform/localca"
	"github.com/handoffmed/handoff/platform/natsauth"
	"github.com/handoffmed/handoff/platform/obs"
)

// Flags are the settings every service binary takes, read from the same
// HANDOFF_* variables as `handoff serve` (platform/config).
type Flags struct {
	NATSURL       string
	NATSCreds     string
	NATSKeys      string // directory of the roles' nkey seeds
	NATSCA        string
	NATSCert      string
	NATSKey       string
	S3            blob.Config
	HTTP          string // ops endpoints
	LogFormat     string
	LogLevel      string
	Replicas      int
	BucketSubject string
	AuditMaxAge   time.Duration

	set         *config.Set
	version     bool
	healthcheck bool
}

// Register adds the common settings to s; httpAddr is the binary's default
// ops address.
func (f *Flags) Register(s *config.Set, fs *flag.FlagSet, httpAddr string) {
	f.set = s
	config.Add(s, &f.NATSURL, config.NATSURL.WithDefault("nats://127.0.0.1:4222"))
	config.Add(s, &f.NATSCreds, config.NATSCreds)
	config.Add(s, &f.NATSKeys, config.NATSKeys)
	config.Add(s, &f.NATSCA, config.NATSCA)
	config.Add(s, &f.NATSCert, config.NATSCert)
	config.Add(s, &f.NATSKey, config.NATSKey)
	config.Add(s, &f.S3.Endpoint, config.S3Endpoint.WithDefault("http://127.0.0.1:9000"))
	config.Add(s, &f.S3.Region, config.S3Region)
	config.Add(s, &f.S3.CAFile, config.S3CA)
	config.Add(s, &f.S3.InsecureSkipVerify, config.S3Insecure)
	config.Add(s, &f.S3.AccessKey, config.S3AccessKey)
	config.Add(s, &f.S3.SecretKey, config.S3SecretKey)
	config.Add(s, &f.HTTP, config.HTTP.WithDefault(httpAddr))
	config.Add(s, &f.LogFormat, config.LogFormat.WithDefault("json"))
	config.Add(s, &f.LogLevel, config.LogLevel)
	config.Add(s, &f.Replicas, config.Replicas)
	config.Add(s, &f.BucketSubject, config.BucketSubject)
	config.Add(s, &f.AuditMaxAge, config.AuditMaxAge)
	VersionFlag(fs, &f.version)
	fs.BoolVar(&f.healthcheck, "healthcheck", false, "ask this binary's /readyz on its --http address and exit 0 when ready (container health checks)")
}

// Parse parses the command line and the environment. --version and
// --healthcheck are done here: after them it returns ErrDone, or the
// health check's error.
func (f *Flags) Parse(ctx context.Context, args []string) error {
	if err := f.set.Parse(args); err != nil {
		return err
	}
	if len(f.set.Args()) > 0 {
		return fmt.Errorf("unexpected arguments %q", f.set.Args())
	}
	switch {
	case f.version:
		fmt.Fprintln(os.Stdout, Version())
		return ErrDone
	case f.healthcheck:
		if err := Healthcheck(ctx, ReadyURL(f.HTTP)); err != nil {
			return err
		}
		return ErrDone
	}
	return f.S3.Validate()
}

// connectOptions are the NATS connection of the service name: its role's
// nkey when a keys directory is given, and TLS.
func (f *Flags) connectOptions(name string) (bus.ConnectOptions, error) {
	a := NATSAccess{URL: f.NATSURL, Creds: f.NATSCreds, Keys: f.NATSKeys, CA: f.NATSCA, Cert: f.NATSCert, Key: f.NATSKey}
	if f.NATSKeys == "" {
		return a.ConnectOptions("handoff-"+name, "")
	}
	role, err := natsauth.ParseRole(name)
	if err != nil {
		return bus.ConnectOptions{}, err
	}
	return a.ConnectOptions("handoff-"+name, role)
}

// NATSAccess is how a process reaches NATS: the servers, its identity (a
// credentials file, or the nkey of a role in a keys directory) and TLS.
type NATSAccess struct {
	URL, Creds, Keys string
	// CA is the CA certificate to trust; Cert and Key a client certificate.
	CA, Cert, Key string
}

// ConnectOptions are the bus options of a connection named name as role
// (its nkey from Keys, when Keys is set).
func (a NATSAccess) ConnectOptions(name string, role natsauth.Role) (bus.ConnectOptions, error) {
	o := bus.ConnectOptions{URL: a.URL, Name: name, Creds: a.Creds}
	if a.Keys != "" {
		o.NKeySeedFile = natsauth.Keys{Dir: a.Keys}.SeedFile(role)
		o.InboxPrefix = natsauth.InboxPrefix(role)
	}
	if a.CA != "" || a.Cert != "" {
		tc, err := localca.ClientTLS(a.CA)
		if err != nil {
			return o, err
		}
		if a.Cert != "" {
			pair, err := tls.LoadX509KeyPair(a.Cert, a.Key)
			if err != nil {
				return o, fmt.Errorf("nats client certificate: %w", err)
			}
			tc.Certificates = []tls.Certificate{pair}
		}
		o.TLS = tc
	}
	return o, nil
}

// ErrDone ends a command that did all it had to (--version): Main exits 0.
var ErrDone = errors.New("done")

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
	// The services add "service" to their own loggers; the binary's logger
	// and the bus's say it here.
	base := obs.NewLogger(os.Stderr, f.LogFormat, f.LogLevel)
	log := base.With("service", name)
	log.Info("starting", "version", Version(), "config", f.set)
	reg := NewRegistry()
	co, err := f.connectOptions(name)
	if err != nil {
		return err
	}
	nc, err := bus.Connect(ctx, co, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	b, err := bus.New(nc, "/handoff/"+name, log, bus.Options{Metrics: bus.NewMetrics(reg)})
	if err != nil {
		return err
	}
	if err := b.Setup(ctx, bus.Topology{BucketSubject: f.BucketSubject, Replicas: f.Replicas, AuditMaxAge: f.AuditMaxAge}); err != nil {
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
	svc, mount, err := build(Deps{Log: base, Bus: b, Blobs: blobs, Cases: cases, Registry: reg})
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
	case err == nil, errors.Is(err, ErrDone):
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, strings.TrimSpace(err.Error()))
		os.Exit(1)
	}
}
