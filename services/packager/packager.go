// Package packager makes a case's handoff bundle: a ZIP laid out in the
// seven parts of the handoff file, streamed from the source objects into a
// multipart upload in the bundles bucket, announced with
// handoff.bundle.ready and downloaded through an expiring presigned link.
//
// It consumes handoff.work.bundle (event.BundleRequested) and, for automatic
// bundling, handoff.report.updated (event.ReportUpdated): a case whose report
// has no error-level finding and nothing pending is bundled once no upload
// has arrived for the quiet period.
package packager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/handoffmed/handoff/platform/app"
	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/clinical"
	"github.com/handoffmed/handoff/platform/record"

	"github.com/handoffmed/handoff/services/packager/internal/render"
	"github.com/handoffmed/handoff/services/packager/internal/zipstream"
)

// Config configures the packager. Zero values take the defaults.
type Config struct {
	IntakeBucket  string // uploads (default handoff-intake)
	DerivedBucket string // DICOM index, file-sets, searchable PDFs (default handoff-derived)
	BundleBucket  string // bundles (default handoff-bundles); never public

	// LinkExpiry is how long a bundle stays downloadable: its record's
	// Expires and the longest presigned link (default 7 days).
	LinkExpiry time.Duration
	// QuietPeriod is how long after the newest upload a case with a clean
	// report is bundled automatically (default 15 minutes; negative disables
	// automatic bundling).
	QuietPeriod time.Duration
	// QuietCheck is how often a waiting automatic bundle re-checks the case
	// (default QuietPeriod/4, at least 1 s and at most 1 minute).
	QuietCheck time.Duration
	// PendingRetry is how long a requested bundle waits before it looks
	// again at a case whose files are still being processed (default 2 s),
	// and PendingWait how long it waits in all before it bundles what is
	// there, the pending files listed as gaps (default 20 minutes).
	PendingRetry time.Duration
	PendingWait  time.Duration

	// Workers is how many bundles are made at once (default 1).
	Workers int
	// PartSize is the multipart part size (default 8 MiB, at least 5 MiB).
	// A bundle has at most 10,000 parts: 78 GiB at 8 MiB.
	// UploadConcurrency is how many parts upload at once while the next
	// fills (default 2): the upload holds UploadConcurrency+1 parts in
	// memory, each uploading once full.
	PartSize          int64
	UploadConcurrency int
	// Prefetch is how many source objects are opened ahead (default 4).
	Prefetch int
	// MinGain is the share of an entry's sample deflate must save for the
	// entry to be deflated (default 0.10).
	MinGain float64
	// OpTimeout bounds one S3 metadata call or KV read (default 30 s).
	OpTimeout time.Duration
	// JobTimeout bounds one bundle (default 2 h).
	JobTimeout time.Duration
	// CleanupInterval is how often expired bundles are deleted and bundle
	// uploads left unfinished for UploadMaxAge are aborted (defaults 1 hour
	// and JobTimeout).
	CleanupInterval time.Duration
	UploadMaxAge    time.Duration

	// Fonts: the CJK TrueType font and the Latin regular and bold ones
	// ("" takes the Debian paths in package render).
	CJKFont, LatinFont, LatinBoldFont string
}

// Defaults fills in zero values.
func (c *Config) Defaults() {
	if c.IntakeBucket == "" {
		c.IntakeBucket = record.DefaultIntakeBucket
	}
	if c.DerivedBucket == "" {
		c.DerivedBucket = record.DefaultDerivedBucket
	}
	if c.BundleBucket == "" {
		c.BundleBucket = record.DefaultBundleBucket
	}
	if c.LinkExpiry == 0 {
		c.LinkExpiry = DefaultLinkExpiry
	}
	if c.QuietPeriod == 0 {
		c.QuietPeriod = 15 * time.Minute
	}
	if c.QuietCheck == 0 {
		c.QuietCheck = min(max(c.QuietPeriod/4, time.Second), time.Minute)
	}
	if c.PendingRetry == 0 {
		c.PendingRetry = 2 * time.Second
	}
	if c.PendingWait == 0 {
		c.PendingWait = 20 * time.Minute
	}
	if c.Workers == 0 {
		c.Workers = 1
	}
	if c.PartSize == 0 {
		c.PartSize = 8 << 20
	}
	if c.UploadConcurrency == 0 {
		c.UploadConcurrency = 2
	}
	if c.Prefetch == 0 {
		c.Prefetch = 4
	}
	if c.OpTimeout == 0 {
		c.OpTimeout = 30 * time.Second
	}
	if c.JobTimeout == 0 {
		c.JobTimeout = 2 * time.Hour
	}
	if c.CleanupInterval == 0 {
		c.CleanupInterval = time.Hour
	}
	if c.UploadMaxAge == 0 {
		c.UploadMaxAge = c.JobTimeout
	}
}

// S3's bounds on a multipart part's size (but for the last part).
const (
	MinPartSize = 5 << 20
	MaxPartSize = 5 << 30
)

// DefaultLinkExpiry is how long a bundle link works unless configured.
const DefaultLinkExpiry = 7 * 24 * time.Hour

// MaxLinkExpiry is the longest a SigV4 presigned link can live.
const MaxLinkExpiry = 7 * 24 * time.Hour

// Validate checks the configuration (after Defaults).
func (c Config) Validate() error {
	var errs []error
	if c.BundleBucket == c.IntakeBucket || c.BundleBucket == c.DerivedBucket {
		errs = append(errs, errors.New("the bundles bucket must be a bucket of its own"))
	}
	if c.LinkExpiry < time.Second || c.LinkExpiry > MaxLinkExpiry {
		errs = append(errs, fmt.Errorf("link expiry %s: must be between 1s and %s", c.LinkExpiry, MaxLinkExpiry))
	}
	if c.PartSize < MinPartSize || c.PartSize > MaxPartSize {
		errs = append(errs, fmt.Errorf("part size %d: S3 needs %d to %d", c.PartSize, MinPartSize, MaxPartSize))
	}
	if c.Workers < 1 || c.UploadConcurrency < 1 || c.Prefetch < 1 {
		errs = append(errs, errors.New("workers, upload concurrency and prefetch must be at least 1"))
	}
	if c.MinGain < 0 || c.MinGain >= 1 {
		errs = append(errs, fmt.Errorf("min gain %v: must be in [0, 1)", c.MinGain))
	}
	if c.PendingRetry <= 0 || c.PendingWait < c.PendingRetry {
		errs = append(errs, errors.New("pending retry must be positive and pending wait at least one retry"))
	}
	return errors.Join(errs...)
}

// LogValue logs the effective configuration (it holds no secrets).
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("intake_bucket", c.IntakeBucket), slog.String("derived_bucket", c.DerivedBucket),
		slog.String("bundle_bucket", c.BundleBucket), slog.Duration("link_expiry", c.LinkExpiry),
		slog.Duration("quiet_period", c.QuietPeriod), slog.Int("workers", c.Workers),
		slog.Int64("part_size", c.PartSize), slog.Int("upload_concurrency", c.UploadConcurrency))
}

// Deps are the service's connections, as every service binary makes them
// (app.Deps).
type Deps = app.Deps

// Service is the packager.
type Service struct {
	cfg   Config
	deps  Deps
	log   *slog.Logger
	fonts render.Fonts
	vocab *clinical.Vocabulary
	now   func() time.Time
}

// New checks the configuration, loads the fonts and returns the service.
func New(cfg Config, d Deps) (*Service, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("packager config: %w", err)
	}
	if d.Bus == nil || d.Blobs == nil || d.Cases == nil {
		return nil, errors.New("packager: bus, blobs and cases are required")
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	fonts, err := render.LoadFonts(cfg.CJKFont, cfg.LatinFont, cfg.LatinBoldFont)
	if err != nil {
		return nil, fmt.Errorf("packager: %w", err)
	}
	return &Service{cfg: cfg, deps: d, log: d.Log.With("service", "packager"), fonts: fonts, vocab: clinical.New(), now: time.Now}, nil
}

// PresignBundle returns the download link of a bundle version: a presigned
// GET that expires after expiry or when the bundle does, whichever is first
// (ErrExpired once the bundle has). The browser saves it under its ZIP name.
func PresignBundle(ctx context.Context, blobs *blob.Store, b record.Bundle, expiry time.Duration, now time.Time) (*url.URL, error) {
	if expiry <= 0 || expiry > MaxLinkExpiry {
		expiry = MaxLinkExpiry
	}
	if !b.Expires.IsZero() {
		left := b.Expires.Sub(now).Truncate(time.Second)
		if left < time.Second { // S3 signs links of whole seconds, one at least
			return nil, ErrExpired
		}
		expiry = min(expiry, left)
	}
	return blobs.PresignGet(ctx, b.Bucket, b.Key, "", expiry) // the name is stored with the object
}

// ErrExpired means a bundle's link time is over.
var ErrExpired = errors.New("bundle expired")

// Latest returns the newest of a case's bundles (casestore.Bundles) that
// has not expired.
func Latest(bundles []record.Bundle, now time.Time) (record.Bundle, bool) {
	for i := len(bundles) - 1; i >= 0; i-- {
		if b := bundles[i]; b.Expires.IsZero() || now.Before(b.Expires) {
			return b, true
		}
	}
	return record.Bundle{}, false
}

func (s *Service) zipOptions() zipstream.Options {
	return zipstream.Options{MinGain: s.cfg.MinGain, NoSum: true} // the upload hashes the ZIP
}
