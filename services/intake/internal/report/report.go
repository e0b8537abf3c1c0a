// Package report keeps every case's checklist report current: each event
// about a case triggers a recomputation, bursts of events about one case
// share one computation, and a changed report is stored and announced.
package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/intake/internal/checklist"
)

type publisher interface {
	Publish(ctx context.Context, ev event.Event) error
}

// Worker recomputes reports.
type Worker struct {
	log     *slog.Logger
	cases   *casestore.Store
	blobs   *blob.Store
	bus     publisher
	derived string
	checker *checklist.Checker
	now     func() time.Time
	// MinInterval spaces computations of one case: a burst of uploads is
	// folded into a few computations instead of one per event. A case whose
	// computation takes long (thousands of files) is spaced more: by nine
	// times its last computation, so reports never take more than a tenth
	// of a core however large the case.
	MinInterval time.Duration

	mu    sync.Mutex
	runs  map[string]*run // per case: the computation in progress, if any
	files map[string]*caseFiles
}

// caseFiles are a case's file records as of revision rev: a computation
// reads only the records written since (a large case is thousands).
type caseFiles struct {
	byID map[string]record.File
	rev  uint64
	used time.Time
}

// cacheIdle is how long an unused case's files are kept.
const cacheIdle = 10 * time.Minute

// run is one computation of a case's report; callers that arrive while it
// is in progress wait for the next one, which starts after they arrived.
type run struct {
	done chan struct{}
	err  error
	next *run
}

// New returns a Worker storing report JSON in the derived bucket.
func New(log *slog.Logger, cases *casestore.Store, b *blob.Store, pub publisher, derivedBucket string) *Worker {
	return &Worker{log: log, cases: cases, blobs: b, bus: pub, derived: derivedBucket, checker: checklist.New(),
		now: time.Now, runs: map[string]*run{}, files: map[string]*caseFiles{}, MinInterval: 250 * time.Millisecond}
}

// Handle recomputes the report of the event's case. It returns once a
// computation that started after the event arrived has finished, so the
// ack means the report reflects the event.
func (w *Worker) Handle(ctx context.Context, m *bus.Msg) error {
	if m.Meta.CaseID == "" || !record.ValidID(m.Meta.CaseID) {
		return nil
	}
	return w.Refresh(ctx, m.Meta.CaseID)
}

// Refresh brings a case's report up to date.
func (w *Worker) Refresh(ctx context.Context, caseID string) error {
	w.mu.Lock()
	cur := w.runs[caseID]
	if cur == nil {
		r := &run{done: make(chan struct{})}
		w.runs[caseID] = r
		w.mu.Unlock()
		w.execute(ctx, caseID, r)
		return r.err
	}
	if cur.next == nil {
		cur.next = &run{done: make(chan struct{})}
	}
	next := cur.next
	w.mu.Unlock()
	select {
	case <-next.done:
		return next.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// execute runs r, then the run queued behind it, if any.
func (w *Worker) execute(ctx context.Context, caseID string, r *run) {
	for r != nil {
		started := time.Now()
		_, r.err = w.Compute(ctx, caseID)
		w.mu.Lock()
		queued := r.next != nil
		w.mu.Unlock()
		if queued {
			// More events arrived meanwhile: let them gather before the
			// next computation (its callers are already waiting).
			took := time.Since(started)
			time.Sleep(max(w.MinInterval, 10*took) - took)
		}
		w.mu.Lock()
		next := r.next
		if next == nil {
			delete(w.runs, caseID)
		} else {
			w.runs[caseID] = next
		}
		w.mu.Unlock()
		close(r.done)
		r = next
	}
}

// Compute recomputes, stores and announces a case's report when it changed.
func (w *Worker) Compute(ctx context.Context, caseID string) (record.Report, error) {
	c, err := w.cases.Case(ctx, caseID)
	if errors.Is(err, casestore.ErrNotFound) {
		return record.Report{}, nil
	}
	if err != nil {
		return record.Report{}, err
	}
	files, err := w.caseFiles(ctx, caseID)
	if err != nil {
		return record.Report{}, err
	}
	idx, err := w.index(ctx, caseID)
	if err != nil {
		return record.Report{}, err
	}
	// Compute judges staleness against the case's own reference date when
	// it has one; the time given is the report's.
	rep := w.checker.Compute(c, files, idx, w.now())
	rep.CaseDigest = c.FieldsDigest()
	for _, f := range files {
		rep.Basis = max(rep.Basis, f.Revision)
	}
	// Only the stored report's head is read: a report may carry thousands
	// of results (a portal export's), and the digest says whether they changed.
	old, err := w.cases.ReportHead(ctx, caseID)
	if err != nil && !errors.Is(err, casestore.ErrNotFound) {
		return rep, err
	}
	changed := err != nil || old.Digest != rep.Digest || old.Pending != rep.Pending
	if !changed && old.Basis >= rep.Basis && old.CaseDigest == rep.CaseDigest {
		// The stored report: the same content (same digest), as stamped then.
		rep.Generated, rep.Basis = old.Generated, old.Basis
		return rep, nil
	}
	// The stored report always carries its basis, so readers can tell it is
	// current; only a change of content is announced.
	if err := w.cases.PutReport(ctx, rep); err != nil {
		return rep, err
	}
	if !changed {
		return rep, nil
	}
	var buf bytes.Buffer
	if err := checklist.WriteJSON(&buf, rep); err != nil {
		return rep, err
	}
	if _, err := w.blobs.Put(ctx, w.derived, record.ReportKey(caseID), &buf, int64(buf.Len()), blob.PutOptions{ContentType: "application/json"}); err != nil {
		return rep, err
	}
	ev := event.ReportUpdated{Version: 1, CaseID: caseID, Digest: rep.Digest, ReportKey: record.ReportKey(caseID), Pending: rep.Pending, Missing: []string{}, Codes: []string{}}
	for _, p := range rep.Parts {
		if p.Status == record.PartMissing {
			ev.Missing = append(ev.Missing, p.Part)
		}
	}
	for _, f := range rep.Findings {
		if !slices.Contains(ev.Codes, f.Code) {
			ev.Codes = append(ev.Codes, f.Code)
		}
		if f.Severity == record.SeverityError {
			ev.Errors++
		}
	}
	if err := w.bus.Publish(ctx, ev); err != nil {
		return rep, err
	}
	w.log.Debug("report updated", "case_id", caseID, "pending", rep.Pending, "findings", len(rep.Findings))
	return rep, nil
}

// caseFiles returns a case's file records in ID order, reading only those
// written since the last computation of the case. Only one computation of
// a case runs at a time, so its entry is not shared while in use.
func (w *Worker) caseFiles(ctx context.Context, caseID string) ([]record.File, error) {
	now := w.now()
	w.mu.Lock()
	cf := w.files[caseID]
	if cf == nil {
		cf = &caseFiles{byID: map[string]record.File{}}
		w.files[caseID] = cf
	}
	cf.used = now
	for id, c := range w.files {
		if now.Sub(c.used) > cacheIdle {
			delete(w.files, id)
		}
	}
	w.mu.Unlock()
	changed, err := w.cases.FilesSince(ctx, caseID, cf.rev)
	if err != nil {
		return nil, err
	}
	for _, f := range changed {
		cf.byID[f.ID] = f
		cf.rev = max(cf.rev, f.Revision)
	}
	files := make([]record.File, 0, len(cf.byID))
	for _, f := range cf.byID {
		files = append(files, f)
	}
	slices.SortFunc(files, func(a, b record.File) int { return strings.Compare(a.ID, b.ID) })
	return files, nil
}

func (w *Worker) index(ctx context.Context, caseID string) (*record.DicomIndex, error) {
	rc, _, err := w.blobs.Get(ctx, w.derived, record.DicomIndexKey(caseID))
	if errors.Is(err, blob.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var idx record.DicomIndex
	if err := json.NewDecoder(rc).Decode(&idx); err != nil {
		return nil, fmt.Errorf("dicom index of %s: %w", caseID, err)
	}
	return &idx, nil
}
