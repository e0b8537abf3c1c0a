package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/handoffmed/handoff/platform/app"
	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/config"
	"github.com/handoffmed/handoff/platform/obs"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/s3gw"
	"github.com/handoffmed/handoff/services/intake"
)

// serveConfig is what `handoff serve` runs.
type serveConfig struct {
	Data     string
	HTTP     string
	S3Addr   string
	NATSAddr string

	NATSURL   string // external NATS; empty: embedded
	NATSCreds string
	S3        blob.Config // external S3 when Endpoint is set; else embedded

	BucketSubject string
	Services      []string
	APIToken      string
	LogFormat     string
	LogLevel      string
	Reconcile     time.Duration
	Replicas      int

	PprofAddr string

	config *config.Set // for the startup log, secrets masked

	Intake   intake.Config
	services serviceFlags
}

var allServices = []string{"intake", "dicom", "ocr", "packager"}

// parseServe reads serve's flags and the HANDOFF_* environment through
// lookupEnv. showVersion is set by --version.
func parseServe(args []string, stderr io.Writer, lookupEnv func(string) (string, bool)) (c serveConfig, showVersion bool, err error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	s := config.NewSet(fs, lookupEnv)
	config.Add(s, &c.Data, config.Data)
	config.Add(s, &c.HTTP, config.HTTP)
	config.Add(s, &c.S3Addr, config.S3Addr)
	config.Add(s, &c.NATSAddr, config.NATSAddr)
	config.Add(s, &c.NATSURL, config.NATSURL)
	config.Add(s, &c.NATSCreds, config.NATSCreds)
	config.Add(s, &c.S3.Endpoint, config.S3Endpoint)
	config.Add(s, &c.S3.Region, config.S3Region)
	config.Add(s, &c.S3.CAFile, config.S3CA)
	config.Add(s, &c.S3.InsecureSkipVerify, config.S3Insecure)
	config.Add(s, &c.S3.AccessKey, config.S3AccessKey)
	config.Add(s, &c.S3.SecretKey, config.S3SecretKey)
	config.Add(s, &c.APIToken, config.APIToken)
	config.Add(s, &c.BucketSubject, config.BucketSubject)
	var services string
	config.Add(s, &services, config.Services)
	config.Add(s, &c.Intake.IntakeBucket, config.IntakeBucket)
	config.Add(s, &c.Intake.DerivedBucket, config.DerivedBucket)
	config.Add(s, &c.services.bundleBucket, config.BundleBucket)
	config.Add(s, &c.Reconcile, config.Reconcile)
	config.Add(s, &c.Replicas, config.Replicas)
	config.Add(s, &c.LogFormat, config.LogFormat)
	config.Add(s, &c.LogLevel, config.LogLevel)
	config.Add(s, &c.PprofAddr, config.Pprof)
	c.services.register(s)
	app.VersionFlag(fs, &showVersion)
	if err := s.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, false, err
		}
		return c, false, usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return c, false, usageError{"serve takes no arguments"}
	}
	c.config = s
	c.Intake.BundleLinkExpiry = c.services.bundleLinkExpiry
	if services == "all" {
		c.Services = allServices
	} else {
		for _, s := range strings.Split(services, ",") {
			s = strings.TrimSpace(s)
			if !slices.Contains(allServices, s) {
				return c, false, usageError{fmt.Sprintf("unknown service %q", s)}
			}
			c.Services = append(c.Services, s)
		}
	}
	return c, showVersion, nil
}

func (c serveConfig) runs(service string) bool { return slices.Contains(c.Services, service) }

// Endpoints is what serve prints and writes to <data>/endpoints.json.
type Endpoints struct {
	API       string `json:"api"`
	S3        string `json:"s3"`
	NATS      string `json:"nats"`
	Data      string `json:"data"`
	S3Access  string `json:"s3_access_key"`
	TokenFile string `json:"api_token_file,omitempty"`
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, showVersion, err := parseServe(args, stderr, os.LookupEnv)
	if err != nil {
		return err
	}
	if showVersion {
		fmt.Fprintln(stdout, app.Version())
		return nil
	}
	log := obs.NewLogger(stderr, cfg.LogFormat, cfg.LogLevel)
	log.Info("handoff starting", "version", app.Version(), "config", cfg.config)
	// Embedded S3 changes the working directory: every path is absolute first.
	if cfg.Data, err = filepath.Abs(cfg.Data); err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	tokenGiven, secretGiven := cfg.APIToken != "", cfg.S3.SecretKey != ""
	if cfg.APIToken == "" && cfg.runs("intake") {
		if cfg.APIToken, err = secretFile(filepath.Join(cfg.Data, "api-token")); err != nil {
			return err
		}
	}
	var ep Endpoints
	ep.Data = cfg.Data
	reg := app.NewRegistry()

	// NATS: embedded unless --nats-url.
	var nc *nats.Conn
	var ns *server.Server
	if cfg.NATSURL == "" {
		ns, err = startNATS(cfg.NATSAddr, filepath.Join(cfg.Data, "nats"))
		if err != nil {
			return err
		}
		defer ns.Shutdown()
		ep.NATS = ns.ClientURL()
		nc, err = bus.Connect(ctx, bus.ConnectOptions{Name: "handoff", InProcess: ns}, log)
	} else {
		ep.NATS = cfg.NATSURL
		nc, err = bus.Connect(ctx, bus.ConnectOptions{URL: cfg.NATSURL, Name: "handoff-" + strings.Join(cfg.Services, "-"), Creds: cfg.NATSCreds}, log)
	}
	if err != nil {
		return err
	}
	defer nc.Close()
	b, err := bus.New(nc, "/handoff/"+strings.Join(cfg.Services, "+"), log, bus.Options{Metrics: bus.NewMetrics(reg)})
	if err != nil {
		return err
	}
	topo := bus.Topology{BucketSubject: cfg.BucketSubject, Replicas: cfg.Replicas}
	if err := b.Setup(ctx, topo); err != nil {
		return err
	}
	cases, err := casestore.Open(ctx, b.JetStream(), casestore.Options{Replicas: cfg.Replicas})
	if err != nil {
		return err
	}

	// S3: embedded unless --s3-endpoint.
	var gw *s3gw.Gateway
	if cfg.S3.Endpoint == "" {
		if cfg.S3.AccessKey == "" || cfg.S3.SecretKey == "" {
			if cfg.S3.AccessKey, cfg.S3.SecretKey, err = s3Keys(cfg.Data); err != nil {
				return err
			}
		}
		gw, err = s3gw.Start(ctx, s3gw.Config{
			Addr: cfg.S3Addr, Dir: filepath.Join(cfg.Data, "s3"), AccessKey: cfg.S3.AccessKey, SecretKey: cfg.S3.SecretKey,
			Region: cfg.S3.Region, Notifier: s3gw.NewJetStreamNotifier(b, cfg.BucketSubject, cfg.Intake.IntakeBucket).WithPrefix(record.UploadsPrefix),
		})
		if err != nil {
			return err
		}
		defer gw.Close()
		cfg.S3.Endpoint = gw.Endpoint()
	}
	ep.S3, ep.S3Access = cfg.S3.Endpoint, cfg.S3.AccessKey
	blobs, err := blob.New(cfg.S3)
	if err != nil {
		return err
	}
	defer blobs.Close() // before the gateway closes: it waits for open connections
	if err := blobs.EnsureBuckets(ctx, cfg.Intake.IntakeBucket, cfg.Intake.DerivedBucket, cfg.services.bundleBucket); err != nil {
		return err
	}

	deps := depsFor{log: log, bus: b, blobs: blobs, cases: cases, reg: reg}
	runners, mount, err := cfg.build(deps)
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	mount(mux)
	obs.Mount(mux, reg, map[string]obs.Check{
		"nats": func(context.Context) error {
			if !nc.IsConnected() {
				return errors.New("not connected")
			}
			return nil
		},
		"s3": func(ctx context.Context) error {
			_, err := blobs.Client().BucketExists(ctx, cfg.Intake.IntakeBucket)
			return err
		},
	})
	ln, err := net.Listen("tcp", cfg.HTTP)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.HTTP, err)
	}
	ep.API = "http://" + ln.Addr().String()
	if cfg.runs("intake") {
		ep.TokenFile = filepath.Join(cfg.Data, "api-token")
		if tokenGiven {
			ep.TokenFile = ""
		}
	}
	if err := writeEndpoints(cfg.Data, ep); err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	g, gctx := errgroup.WithContext(ctx)
	if cfg.PprofAddr != "" {
		psrv := &http.Server{Addr: cfg.PprofAddr, Handler: pprofMux(), ReadHeaderTimeout: 10 * time.Second}
		g.Go(func() error { return obs.Serve(gctx, psrv, psrv.ListenAndServe) })
	}
	for _, r := range runners {
		g.Go(func() error { return r.Run(gctx) })
	}
	g.Go(func() error { return obs.Serve(gctx, srv, func() error { return srv.Serve(ln) }) })
	printEndpoints(stdout, ep, cfg, gw != nil && !secretGiven)
	log.Info("handoff serving", "services", cfg.Services, "api", ep.API, "s3", ep.S3, "nats", ep.NATS)
	err = g.Wait()
	log.Info("handoff stopped")
	return err
}

func printEndpoints(w io.Writer, ep Endpoints, cfg serveConfig, generatedS3Keys bool) {
	fmt.Fprintf(w, "Handoff is running (%s).\n", strings.Join(cfg.Services, ", "))
	fmt.Fprintf(w, "  API   %s\n", ep.API)
	if cfg.runs("intake") {
		fmt.Fprintf(w, "        token: %s", cfg.APIToken)
		if ep.TokenFile != "" {
			fmt.Fprintf(w, " (in %s)", ep.TokenFile)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  S3    %s (access key %s", ep.S3, ep.S3Access)
	if generatedS3Keys {
		fmt.Fprintf(w, ", secret key in %s", filepath.Join(ep.Data, "s3-credentials"))
	}
	fmt.Fprintln(w, ")")
	fmt.Fprintf(w, "  NATS  %s\n", ep.NATS)
	fmt.Fprintf(w, "  Data  %s\n", ep.Data)
	fmt.Fprintln(w, "Ctrl-C drains in-flight work and stops.")
}

func writeEndpoints(dir string, ep Endpoints) error {
	data, err := json.MarshalIndent(ep, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "endpoints.json.tmp")
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "endpoints.json"))
}

func startNATS(addr, dir string) (*server.Server, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("nats address %q: %w", addr, err)
	}
	port := 0
	if _, err := fmt.Sscan(portStr, &port); err != nil {
		return nil, fmt.Errorf("nats address %q: %w", addr, err)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	ns, err := server.NewServer(&server.Options{
		ServerName: "handoff", Host: host, Port: port, JetStream: true, StoreDir: dir,
		NoSigs: true, NoLog: true, MaxPayload: 8 << 20,
	})
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("nats: not ready")
	}
	return ns, nil
}

// secretFile reads a secret from path, creating a random one there first.
func secretFile(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 16 {
		return strings.TrimSpace(string(b)), nil
	}
	var raw [24]byte
	_, _ = rand.Read(raw[:])
	s := hex.EncodeToString(raw[:])
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return s, nil
}

// s3Keys returns the embedded S3's keys, generated once per data directory.
func s3Keys(dir string) (access, secret string, err error) {
	path := filepath.Join(dir, "s3-credentials")
	if b, err := os.ReadFile(path); err == nil {
		if a, s, ok := strings.Cut(strings.TrimSpace(string(b)), ":"); ok && a != "" && s != "" {
			return a, s, nil
		}
	}
	var raw [20]byte
	_, _ = rand.Read(raw[:])
	access = "handoff" + hex.EncodeToString(raw[:4])
	secret = hex.EncodeToString(raw[4:])
	if err := os.WriteFile(path, []byte(access+":"+secret+"\n"), 0o600); err != nil {
		return "", "", fmt.Errorf("write %s: %w", path, err)
	}
	return access, secret, nil
}

func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// runner is a service of the pipeline.
type runner interface {
	Run(ctx context.Context) error
}

type depsFor struct {
	log   *slog.Logger
	bus   *bus.Bus
	blobs *blob.Store
	cases *casestore.Store
	reg   *prometheus.Registry
}
