// Package intake is the front of the Handoff pipeline: the HTTP API,
// bucket-event intake, content sniffing and routing, archive expansion,
// document understanding, case state and the checklist report.
package intake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/handoffmed/handoff/platform/app"
	"github.com/handoffmed/handoff/platform/budget"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/obs"
	"github.com/handoffmed/handoff/platform/problem"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/s3gw"
	"github.com/handoffmed/handoff/platform/stage"
	"github.com/handoffmed/handoff/services/intake/internal/access"
	"github.com/handoffmed/handoff/services/intake/internal/api"
	"github.com/handoffmed/handoff/services/intake/internal/archive"
	"github.com/handoffmed/handoff/services/intake/internal/checklist"
	"github.com/handoffmed/handoff/services/intake/internal/docs"
	"github.com/handoffmed/handoff/services/intake/internal/ingest"
	"github.com/handoffmed/handoff/services/intake/internal/reconcile"
	"github.com/handoffmed/handoff/services/intake/internal/report"
	"github.com/handoffmed/handoff/services/intake/internal/retention"
	"github.com/handoffmed/handoff/services/intake/internal/web"
)

// Config configures intake.
type Config struct {
	// HTTPAddr is where Run serves the API and the ops endpoints; empty when
	// the caller mounts them itself (handoff serve).
	HTTPAddr string
	// APIToken is the bearer token of the API.
	APIToken string

	IntakeBucket  string
	DerivedBucket string

	// BucketEventWorkers, ArchiveWorkers and DocumentWorkers size the consumers.
	BucketEventWorkers int
	ArchiveWorkers     int
	DocumentWorkers    int

	// MaxUploadBytes caps one upload through the API.
	MaxUploadBytes int64
	// Archive limits (zero: defaults of 20,000 entries, 8 GiB, ratio 200, depth 3).
	MaxArchiveEntries int
	MaxArchiveBytes   int64
	MaxArchiveRatio   int64
	MaxArchiveDepth   int
	// Per-case archive budget: entries and bytes expanded from all of a
	// case's archives (zero: defaults of 60,000 and 40 GiB; negative: no
	// budget). An archive that would go over it is rejected with
	// input.case_archive_budget.
	CaseArchiveEntries int
	CaseArchiveBytes   int64
	// UsageBucket is the KV bucket of the cases' budget usage (default
	// budget.DefaultBucket, shared with the other services).
	UsageBucket string

	// ReconcileInterval is how often the intake bucket is compared with the
	// case store (0 disables reconciliation).
	ReconcileInterval time.Duration
	// ReconcileGrace leaves uploads younger than this to their bucket
	// notification (default 10 s).
	ReconcileGrace time.Duration
	// CleanupInterval is how often unfinished multipart uploads older than
	// UploadMaxAge are aborted in the intake and derived buckets (defaults 1
	// hour and 24 hours; a client may resume an upload until then).
	CleanupInterval time.Duration
	UploadMaxAge    time.Duration
	// PresignExpiry is how long a presigned upload URL works.
	PresignExpiry time.Duration
	// BundleLinkExpiry caps how long a bundle download link works.
	BundleLinkExpiry time.Duration
	// PartSize is the smallest part of a multipart upload (16 MiB).
	PartSize int64
	// SessionTTL is how long a web session lasts (12 h).
	SessionTTL time.Duration
	// LinkExpiry is how long a patient upload link works unless its maker
	// says otherwise (7 days).
	LinkExpiry time.Duration
	// Replicas of the usage and access buckets (1).
	Replicas int
}

// Defaults fills zero fields with defaults.
func (c *Config) Defaults() {
	if c.IntakeBucket == "" {
		c.IntakeBucket = record.DefaultIntakeBucket
	}
	if c.DerivedBucket == "" {
		c.DerivedBucket = record.DefaultDerivedBucket
	}
	if c.BucketEventWorkers == 0 {
		c.BucketEventWorkers = 16
	}
	if c.ArchiveWorkers == 0 {
		c.ArchiveWorkers = 2
	}
	if c.DocumentWorkers == 0 {
		c.DocumentWorkers = 4
	}
	if c.MaxUploadBytes == 0 {
		c.MaxUploadBytes = 8 << 30
	}
	if c.ReconcileGrace == 0 {
		c.ReconcileGrace = 10 * time.Second
	}
	if c.CleanupInterval == 0 {
		c.CleanupInterval = time.Hour
	}
	if c.UploadMaxAge == 0 {
		c.UploadMaxAge = 24 * time.Hour
	}
	if c.PresignExpiry == 0 {
		c.PresignExpiry = time.Hour
	}
	if c.BundleLinkExpiry == 0 {
		c.BundleLinkExpiry = 7 * 24 * time.Hour
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = 12 * time.Hour
	}
	if c.LinkExpiry == 0 {
		c.LinkExpiry = 7 * 24 * time.Hour
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	switch {
	case c.APIToken == "" || len(c.APIToken) < 16:
		return errors.New("intake: an API token of at least 16 characters is required")
	case c.IntakeBucket == "" || c.DerivedBucket == "":
		return errors.New("intake: bucket names are required")
	case c.BucketEventWorkers < 1 || c.ArchiveWorkers < 1 || c.DocumentWorkers < 1:
		return errors.New("intake: worker counts must be positive")
	}
	return nil
}

// LogValue masks the token.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("http", c.HTTPAddr), slog.String("api_token", "***"),
		slog.String("intake_bucket", c.IntakeBucket), slog.String("derived_bucket", c.DerivedBucket),
		slog.Int("bucket_event_workers", c.BucketEventWorkers), slog.Int("archive_workers", c.ArchiveWorkers),
		slog.Int("document_workers", c.DocumentWorkers), slog.Int64("max_upload_bytes", c.MaxUploadBytes),
		slog.Int("case_archive_entries", c.CaseArchiveEntries), slog.Int64("case_archive_bytes", c.CaseArchiveBytes),
		slog.Duration("reconcile_interval", c.ReconcileInterval))
}

// Deps are the service's connections, as every service binary makes them
// (app.Deps).
type Deps = app.Deps

// Service is a running intake.
type Service struct {
	cfg       Config
	deps      Deps
	recorder  *ingest.Recorder
	api       *api.Server
	archive   *archive.Expander
	docs      *docs.Worker
	report    *report.Worker
	reconcile *reconcile.Reconciler
	retention *retention.Sweeper
}

// New wires intake.
func New(cfg Config, d Deps) (*Service, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Log == nil || d.Bus == nil || d.Blobs == nil || d.Cases == nil {
		return nil, errors.New("intake: log, bus, blobs and cases are required")
	}
	if d.Registry == nil {
		d.Registry = obs.NewRegistry()
	}
	log := d.Log.With("service", "intake")
	tracker := stage.Tracker{Cases: d.Cases, Bus: d.Bus}
	rec := ingest.New(log, d.Blobs, d.Cases, d.Bus, cfg.IntakeBucket)
	s := &Service{cfg: cfg, deps: d, recorder: rec}
	actx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	acc, err := access.Open(actx, d.Bus.JetStream(), cfg.Replicas, cfg.SessionTTL)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("intake: %w", err)
	}
	s.api = api.New(api.Config{
		Token: cfg.APIToken, IntakeBucket: cfg.IntakeBucket, DerivedBucket: cfg.DerivedBucket, MaxUploadBytes: cfg.MaxUploadBytes,
		PresignExpiry: cfg.PresignExpiry, BundleLinkExpiry: cfg.BundleLinkExpiry, PartSize: cfg.PartSize, LinkExpiry: cfg.LinkExpiry,
	}, log, api.Deps{Blobs: d.Blobs, Cases: d.Cases, Access: acc, Bus: d.Bus, Ingest: rec, View: renderReport(d.Cases), Web: web.Handler(),
		JS: d.Bus.JetStream(), Streams: []string{bus.StreamBucket, bus.StreamEvents, bus.StreamDeadLetter}}, d.Registry)
	s.archive = archive.New(log, d.Blobs, d.Cases, tracker, rec, cfg.DerivedBucket, archive.Limits{
		MaxEntries: cfg.MaxArchiveEntries, MaxTotal: cfg.MaxArchiveBytes, MaxRatio: cfg.MaxArchiveRatio, MaxDepth: cfg.MaxArchiveDepth,
		CaseEntries: cfg.CaseArchiveEntries, CaseBytes: cfg.CaseArchiveBytes,
	}, budget.New(d.Bus.JetStream(), budget.Options{Bucket: cfg.UsageBucket, Replicas: cfg.Replicas}))
	s.docs = docs.New(log, d.Blobs, tracker, d.Bus)
	s.report = report.New(log, d.Cases, d.Blobs, d.Bus, cfg.DerivedBucket)
	s.reconcile = reconcile.New(log, d.Blobs, d.Cases, rec, cfg.IntakeBucket)
	s.reconcile.Grace = cfg.ReconcileGrace
	s.retention = retention.New(log, d.Blobs, cfg.UploadMaxAge, cfg.IntakeBucket, cfg.DerivedBucket)
	return s, nil
}

// renderReport shows a report with the patient's own file names.
func renderReport(cases *casestore.Store) api.ReportView {
	return func(w io.Writer, c record.Case, r record.Report) error {
		names := map[string]string{}
		if files, err := cases.Files(context.Background(), c.ID); err == nil {
			for _, f := range files {
				names[f.ID] = f.Path
			}
		}
		return checklist.RenderHTML(w, r, names)
	}
}

// Consumers are intake's durable consumers.
func (s *Service) Consumers() []bus.ConsumerSpec {
	return []bus.ConsumerSpec{
		{Stream: bus.StreamBucket, Durable: "intake-bucket", AckWait: 30 * time.Second, MaxDeliver: 8, Workers: s.cfg.BucketEventWorkers},
		{Stream: bus.StreamWork, Durable: "intake-archive", Filters: []string{event.SubjectWorkArchive}, AckWait: 15 * time.Second, MaxDeliver: 5, Workers: s.cfg.ArchiveWorkers},
		{Stream: bus.StreamWork, Durable: "intake-text", Filters: []string{event.SubjectWorkText}, AckWait: 30 * time.Second, MaxDeliver: 5, Workers: s.cfg.DocumentWorkers},
		{Stream: bus.StreamEvents, Durable: "intake-understand", Filters: []string{event.SubjectOCRDone}, AckWait: 30 * time.Second, MaxDeliver: 5, Workers: s.cfg.DocumentWorkers},
		// A received file changes no part of the report until a stage
		// finishes with it (done, rejected, indexed, classified).
		{Stream: bus.StreamEvents, Durable: "intake-report", Filters: []string{
			event.SubjectFileDone, event.SubjectFileRejected, event.SubjectDICOMIndexed, event.SubjectDocumentClassified, event.SubjectCaseUpdated,
		}, AckWait: 30 * time.Second, MaxDeliver: 10, Workers: 64},
	}
}

// Mount adds the API's routes and the web app to mux. Serve mux through
// problem.Wrap so that unknown routes and methods answer problem documents.
func (s *Service) Mount(mux *http.ServeMux) { s.api.Mount(mux) }

// OpenAPI is the API's OpenAPI 3.1 document.
func OpenAPI() []byte { return api.OpenAPI }

// Routes lists the API's route patterns with the name of each one's
// authorization rule.
func Routes() map[string]string {
	out := map[string]string{}
	for _, r := range api.Routes() {
		out[r.Pattern] = r.Rule.Name
	}
	return out
}

// Run runs intake's consumers, the reconciliation and (with HTTPAddr) the
// API until ctx is done, then drains.
func (s *Service) Run(ctx context.Context) error {
	specs := s.Consumers()
	handlers := []bus.Handler{s.handleBucketEvent, s.archive.Handle, s.docs.HandleText, s.docs.HandleOCRDone, s.report.Handle}
	s.deps.Log.Info("intake starting", "config", s.cfg)
	g, ctx := errgroup.WithContext(ctx)
	for i, spec := range specs {
		h := handlers[i]
		g.Go(func() error { return s.deps.Bus.Consume(ctx, spec, h) })
	}
	if s.cfg.ReconcileInterval > 0 {
		g.Go(func() error { return s.reconcile.Run(ctx, s.cfg.ReconcileInterval) })
	}
	if s.cfg.CleanupInterval > 0 {
		g.Go(func() error { return s.retention.Run(ctx, s.cfg.CleanupInterval) })
	}
	// Event streams end with the service, so that the HTTP server's
	// shutdown does not wait for them.
	g.Go(func() error { <-ctx.Done(); s.api.Close(); return nil })
	if s.cfg.HTTPAddr != "" {
		mux := http.NewServeMux()
		s.Mount(mux)
		obs.Mount(mux, s.deps.Registry, map[string]obs.Check{"nats": s.natsReady})
		srv := &http.Server{Addr: s.cfg.HTTPAddr, Handler: problem.Wrap(mux), ReadHeaderTimeout: 10 * time.Second}
		ln, err := net.Listen("tcp", s.cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("intake: listen: %w", err)
		}
		g.Go(func() error { return obs.Serve(ctx, srv, func() error { return srv.Serve(ln) }) })
	}
	return g.Wait()
}

func (s *Service) natsReady(context.Context) error {
	if !s.deps.Bus.Conn().IsConnected() {
		return errors.New("not connected")
	}
	return nil
}

// handleBucketEvent ingests the intake-bucket objects of a notification.
func (s *Service) handleBucketEvent(ctx context.Context, m *bus.Msg) error {
	recs, err := event.ParseBucketNotification(m.Data)
	if err != nil {
		return bus.Permanent(err)
	}
	for _, r := range recs {
		o := ingest.Object{Bucket: r.Bucket, Key: r.Key, ETag: r.ETag, Size: r.Size, Type: sniffedBySender(m, r)}
		from, err := s.recorder.Upload(o)
		if errors.Is(err, ingest.ErrNotUpload) || s.recorder.Ingested(o) {
			continue
		}
		from.Source, from.FirstSight = record.SourceS3, m.Delivered == 1
		if _, err := s.recorder.Ingest(ctx, o, from); err != nil && !errors.Is(err, ingest.ErrGone) {
			return err
		}
	}
	return nil
}

// sniffedBySender returns the content type the sender found in the
// object's first bytes when it says so (the embedded S3 endpoint does, see
// s3gw.HeaderType): then intake does not read the object back to sniff it.
func sniffedBySender(m *bus.Msg, r event.ObjectCreated) string {
	if m.Header.Get(s3gw.HeaderETag) != r.ETag {
		return ""
	}
	return m.Header.Get(s3gw.HeaderType)
}

// Reconcile runs one reconciliation pass now; it returns how many uploads
// it ingested.
func (s *Service) Reconcile(ctx context.Context) (int, error) { return s.reconcile.Pass(ctx) }

// Report recomputes a case's report now and returns it.
func (s *Service) Report(ctx context.Context, caseID string) (record.Report, error) {
	return s.report.Compute(ctx, caseID)
}
