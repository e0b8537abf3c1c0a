package packager

import (
	"context"
	"errors"
	"time"

	"github.com/handoffmed/handoff/platform/record"
)

// sweep removes what bundling leaves behind: bundle uploads a killed
// packager never finished, and bundles whose time is over (their links
// expired with them; a bundle is not kept past LinkExpiry).
func (s *Service) sweep(ctx context.Context) error {
	n, err := s.deps.Blobs.AbortIncompleteUploads(ctx, s.cfg.BundleBucket, s.cfg.UploadMaxAge)
	if n > 0 {
		s.log.Info("aborted unfinished bundle uploads", "uploads", n)
	}
	errs := []error{err}
	cutoff := s.now().Add(-s.cfg.LinkExpiry)
	removed := 0
	for o, err := range s.deps.Blobs.List(ctx, s.cfg.BundleBucket, record.UploadsPrefix) {
		if err != nil {
			errs = append(errs, err)
			break
		}
		if o.Modified.IsZero() || o.Modified.After(cutoff) {
			continue
		}
		if err := s.deps.Blobs.Remove(ctx, s.cfg.BundleBucket, o.Key); err != nil {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	if removed > 0 {
		s.log.Info("removed expired bundles", "bundles", removed)
	}
	return errors.Join(errs...)
}

// sweepEvery sweeps at once (a restart after a crash), then every
// CleanupInterval, until ctx is done.
func (s *Service) sweepEvery(ctx context.Context) error {
	t := time.NewTicker(s.cfg.CleanupInterval)
	defer t.Stop()
	for {
		if err := s.sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("bundle clean-up", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
