package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
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

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/handoffmed/handoff/platform/app"
	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/config"
	"github.com/handoffmed/handoff/platform/localca"
	"github.com/handoffmed/handoff/platform/natsauth"
	"github.com/handoffmed/handoff/platform/obs"
	"github.com/handoffmed/handoff/platform/problem"
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
	AuditMaxAge   time.Duration

	PprofAddr string

	// TLS is off, auto (a local CA in <data>/tls) or cert (TLSCert, TLSKey).
	TLS, TLSCert, TLSKey string
	// NATSKeys is the directory of per-role nkey seeds (external NATS);
	// NATSCA, NATSCert and NATSKey its TLS.
	NATSKeys, NATSCA, NATSCert, NATSKey string
	// NATSStoreKeyFile and NATSStoreKey give the embedded NATS's storage key.
	NATSStoreKeyFile, NATSStoreKey string

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
	config.Add(s, &c.S3.PublicEndpoint, config.S3PublicURL)
	config.Add(s, &c.S3.InsecureSkipVerify, config.S3Insecure)
	config.Add(s, &c.S3.AccessKey, config.S3AccessKey)
	config.Add(s, &c.S3.SecretKey, config.S3SecretKey)
	config.Add(s, &c.APIToken, config.APIToken)
	config.Add(s, &c.BucketSubject, config.BucketSubject)
	config.Add(s, &c.AuditMaxAge, config.AuditMaxAge)
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
	config.Add(s, &c.TLS, config.TLS)
	config.Add(s, &c.TLSCert, config.TLSCert)
	config.Add(s, &c.TLSKey, config.TLSKey)
	config.Add(s, &c.NATSKeys, config.NATSKeys)
	config.Add(s, &c.NATSCA, config.NATSCA)
	config.Add(s, &c.NATSCert, config.NATSCert)
	config.Add(s, &c.NATSKey, config.NATSKey)
	config.Add(s, &c.NATSStoreKeyFile, config.NATSStoreKeyFile)
	config.Add(s, &c.NATSStoreKey, config.NATSStoreKey)
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
	if c.TLS == "cert" && (c.TLSCert == "" || c.TLSKey == "") {
		return c, false, usageError{"--tls cert needs --tls-cert and --tls-key"}
	}
	if c.TLS != "cert" && (c.TLSCert != "" || c.TLSKey != "") {
		return c, false, usageError{"--tls-cert and --tls-key are taken with --tls cert"}
	}
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
	// CA is the local CA's certificate (--tls auto): clients trust it.
	CA string `json:"ca,omitempty"`
	// NATSKeys is the directory of the NATS identities' nkey seeds.
	NATSKeys string `json:"nats_keys,omitempty"`
	// PID is the process serving.
	PID int `json:"pid"`
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
	for _, p := range []*string{&cfg.Data, &cfg.TLSCert, &cfg.TLSKey, &cfg.NATSKeys, &cfg.NATSCA, &cfg.NATSCert, &cfg.NATSKey, &cfg.NATSStoreKeyFile, &cfg.S3.CAFile} {
		if *p != "" {
			if *p, err = filepath.Abs(*p); err != nil {
				return err
			}
		}
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	unlock, err := lockData(cfg.Data)
	if err != nil {
		return err
	}
	defer unlock()
	tokenGiven, secretGiven := cfg.APIToken != "", cfg.S3.SecretKey != ""
	tokenMade := false
	if cfg.APIToken == "" && cfg.runs("intake") {
		if cfg.APIToken, tokenMade, err = secretFile(filepath.Join(cfg.Data, "api-token")); err != nil {
			return err
		}
	}
	ep := Endpoints{Data: cfg.Data, PID: os.Getpid()}
	reg := app.NewRegistry()

	tlsFiles, err := cfg.tlsFiles()
	if err != nil {
		return err
	}
	ep.CA = tlsFiles.CA

	// NATS: embedded unless --nats-url; every service on a connection of
	// its own role.
	nb, err := cfg.startBus(ctx, log, tlsFiles)
	if err != nil {
		return err
	}
	defer nb.close()
	ep.NATS, ep.NATSKeys = nb.url, nb.keys.Dir
	if !nb.secured {
		ep.NATSKeys = ""
	}
	metrics := bus.NewMetrics(reg)
	if err := nb.setup(ctx, log, metrics, cfg); err != nil {
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
		notifier, err := nb.roleBus(ctx, log, metrics, natsauth.S3)
		if err != nil {
			return err
		}
		gw, err = s3gw.Start(ctx, s3gw.Config{
			Addr: cfg.S3Addr, Dir: filepath.Join(cfg.Data, "s3"), AccessKey: cfg.S3.AccessKey, SecretKey: cfg.S3.SecretKey,
			Region: cfg.S3.Region, CertFile: tlsFiles.Cert, KeyFile: tlsFiles.Key, CORSAllowOrigin: "*",
			Notifier: s3gw.NewJetStreamNotifier(notifier, cfg.BucketSubject, cfg.Intake.IntakeBucket).WithPrefix(record.UploadsPrefix),
		})
		if err != nil {
			return err
		}
		defer gw.Close()
		cfg.S3.Endpoint = gw.Endpoint()
		if cfg.S3.CAFile == "" {
			cfg.S3.CAFile = tlsFiles.CA
		}
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

	runners, mount, err := cfg.build(func(role natsauth.Role) (depsFor, error) {
		b, err := nb.roleBus(ctx, log, metrics, role)
		if err != nil {
			return depsFor{}, err
		}
		cases, err := casestore.Open(ctx, b.JetStream(), casestore.Options{Replicas: cfg.Replicas})
		if err != nil {
			return depsFor{}, err
		}
		return depsFor{log: log, bus: b, blobs: blobs, cases: cases, reg: reg}, nil
	})
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	mount(mux)
	obs.Mount(mux, reg, map[string]obs.Check{
		"nats": func(context.Context) error { return nb.ready() },
		"s3": func(ctx context.Context) error {
			_, err := blobs.Client().BucketExists(ctx, cfg.Intake.IntakeBucket)
			return err
		},
	})
	ln, err := net.Listen("tcp", cfg.HTTP)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.HTTP, err)
	}
	handler := problem.Wrap(mux)
	scheme := "http"
	var serverTLS *tls.Config
	if tlsFiles.Cert != "" {
		if serverTLS, err = localca.ServerTLS(tlsFiles.Cert, tlsFiles.Key); err != nil {
			return err
		}
		scheme, handler = "https", hsts(handler)
	}
	ep.API = scheme + "://" + ln.Addr().String()
	if cfg.runs("intake") {
		ep.TokenFile = filepath.Join(cfg.Data, "api-token")
		if tokenGiven {
			ep.TokenFile = ""
		}
	}
	if err := writeEndpoints(cfg.Data, ep); err != nil {
		return err
	}
	srv := newHTTPServer(handler, serverTLS)

	g, gctx := errgroup.WithContext(ctx)
	if cfg.PprofAddr != "" {
		psrv := &http.Server{Addr: cfg.PprofAddr, Handler: pprofMux(), ReadHeaderTimeout: 10 * time.Second}
		g.Go(func() error { return obs.Serve(gctx, psrv, psrv.ListenAndServe) })
	}
	for _, r := range runners {
		g.Go(func() error { return r.Run(gctx) })
	}
	g.Go(func() error {
		return obs.Serve(gctx, srv, func() error {
			if serverTLS != nil {
				return srv.ServeTLS(ln, "", "")
			}
			return srv.Serve(ln)
		})
	})
	printEndpoints(stdout, ep, cfg, banner{token: tokenMade, s3Keys: gw != nil && !secretGiven, storeKey: nb.storeKeyFile, storeKeyMade: nb.storeKeyMade})
	log.Info("handoff serving", "services", cfg.Services, "api", ep.API, "s3", ep.S3, "nats", ep.NATS, "tls", cfg.TLS)
	err = g.Wait()
	log.Info("handoff stopped")
	return err
}

// newHTTPServer is the API's server, with timeouts: a client that sends
// its headers or body too slowly, or keeps an idle connection, is dropped
// (uploads and event streams set their own deadlines as data flows).
func newHTTPServer(h http.Handler, tc *tls.Config) *http.Server {
	return &http.Server{
		Handler:           h,
		TLSConfig:         tc,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

// hsts tells browsers to come back over TLS only.
func hsts(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		h.ServeHTTP(w, r)
	})
}

// banner says what printEndpoints may show: secrets only when this run
// made them.
type banner struct {
	token, s3Keys bool
	storeKey      string
	storeKeyMade  bool
}

func printEndpoints(w io.Writer, ep Endpoints, cfg serveConfig, b banner) {
	fmt.Fprintf(w, "Handoff is running (%s).\n", strings.Join(cfg.Services, ", "))
	fmt.Fprintf(w, "  API   %s\n", ep.API)
	if cfg.runs("intake") {
		switch {
		case b.token:
			fmt.Fprintf(w, "        token: %s (made now, kept in %s)\n", cfg.APIToken, ep.TokenFile)
		case ep.TokenFile != "":
			fmt.Fprintf(w, "        token in %s\n", ep.TokenFile)
		default:
			fmt.Fprintln(w, "        token from HANDOFF_API_TOKEN")
		}
	}
	fmt.Fprintf(w, "  S3    %s (access key %s", ep.S3, ep.S3Access)
	if b.s3Keys {
		fmt.Fprintf(w, ", secret key in %s", filepath.Join(ep.Data, "s3-credentials"))
	}
	fmt.Fprintln(w, ")")
	fmt.Fprintf(w, "  NATS  %s", ep.NATS)
	if ep.NATSKeys != "" {
		fmt.Fprintf(w, " (each service with its own key, in %s)", ep.NATSKeys)
	}
	fmt.Fprintln(w)
	if ep.CA != "" {
		fmt.Fprintf(w, "  TLS   local CA %s (the handoff CLI trusts it; add it to a browser to open the web page without a warning)\n", ep.CA)
	}
	fmt.Fprintf(w, "  Data  %s\n", ep.Data)
	if b.storeKeyMade {
		fmt.Fprintf(w, "        NATS storage is encrypted with the key in %s: back it up, the data cannot be read without it.\n", b.storeKey)
	}
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

// secretFile reads a secret from path, creating a random one there first
// (made reports that).
func secretFile(path string) (secret string, made bool, err error) {
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 16 {
		return strings.TrimSpace(string(b)), false, nil
	}
	var raw [24]byte
	_, _ = rand.Read(raw[:])
	s := hex.EncodeToString(raw[:])
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("write %s: %w", path, err)
	}
	return s, true, nil
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
