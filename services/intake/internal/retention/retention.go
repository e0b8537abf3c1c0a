// Package retention removes what uploads leave behind: multipart uploads
// that were never finished (a client gone, a process killed mid-upload)
// keep their parts on the object store's disk until they are aborted. A
// browser or `handoff upload` may resume an unfinished upload for a while,
// so only those older than the maximum age go.
package retention

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

type aborter interface {
	AbortIncompleteUploads(ctx context.Context, bucket string, olderThan time.Duration) (int, error)
}

// Sweeper aborts stale multipart uploads in some buckets.
type Sweeper struct {
	log     *slog.Logger
	blobs   aborter
	buckets []string
	maxAge  time.Duration
}

// New returns a Sweeper of buckets' uploads older than maxAge.
func New(log *slog.Logger, b aborter, maxAge time.Duration, buckets ...string) *Sweeper {
	return &Sweeper{log: log, blobs: b, buckets: buckets, maxAge: maxAge}
}

// Pass sweeps once and reports how many uploads it aborted.
func (s *Sweeper) Pass(ctx context.Context) (int, error) {
	n := 0
	var errs []error
	for _, b := range s.buckets {
		k, err := s.blobs.AbortIncompleteUploads(ctx, b, s.maxAge)
		n += k
		errs = append(errs, err)
	}
	return n, errors.Join(errs...)
}

// Run sweeps at once (a restart after a crash), then every interval,
// until ctx is done.
func (s *Sweeper) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := s.Pass(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("unfinished uploads", "err", err)
		}
		if n > 0 {
			s.log.Info("aborted unfinished uploads", "uploads", n, "older_than_seconds", s.maxAge.Seconds())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
