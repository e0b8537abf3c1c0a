// Package reconcile finds uploads whose bucket notification never arrived
// (a NATS outage longer than the sender's reconnect window loses them) and
// ingests them: no upload is ever silently skipped.
package reconcile

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/intake/internal/ingest"
)

// Reconciler compares the intake bucket with the case store.
type Reconciler struct {
	log    *slog.Logger
	blobs  *blob.Store
	cases  *casestore.Store
	ingest *ingest.Recorder
	bucket string
	// Grace leaves objects younger than this to their notification.
	Grace time.Duration
}

// New returns a Reconciler of the intake bucket.
func New(log *slog.Logger, b *blob.Store, cases *casestore.Store, in *ingest.Recorder, bucket string) *Reconciler {
	return &Reconciler{log: log, blobs: b, cases: cases, ingest: in, bucket: bucket, Grace: 10 * time.Second}
}

// Run reconciles every interval until ctx is done.
func (r *Reconciler) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			n, err := r.Pass(ctx)
			if err != nil && ctx.Err() == nil {
				r.log.Warn("reconciliation pass", "err", err)
			}
			if n > 0 {
				r.log.Info("reconciled uploads without a recorded event", "files", n)
			}
		}
	}
}

// Pass lists the intake bucket once and ingests every upload that has no
// record of its current revision, or that was recorded but never routed.
func (r *Reconciler) Pass(ctx context.Context) (int, error) {
	n := 0
	now := time.Now()
	for o, err := range r.blobs.List(ctx, r.bucket, "cases/") {
		if err != nil {
			return n, err
		}
		caseID, path, ok := record.ParseUploadKey(o.Key)
		if !ok || now.Sub(o.Modified) < r.Grace {
			continue
		}
		f, err := r.cases.File(ctx, caseID, record.FileID(r.bucket, o.Key))
		switch {
		case errors.Is(err, casestore.ErrNotFound):
		case err != nil:
			return n, err
		case f.ETag == o.ETag && (f.Status != record.StatusReceived || now.Sub(f.Updated) < r.Grace):
			continue
		}
		if _, err := r.ingest.Ingest(ctx, ingest.Object{Bucket: r.bucket, Key: o.Key, ETag: o.ETag, Size: o.Size},
			ingest.Origin{Source: record.SourceReconcile, CaseID: caseID, Path: path}); err != nil {
			r.log.Warn("reconcile", "case_id", caseID, "err", err)
			continue
		}
		n++
	}
	return n, nil
}
