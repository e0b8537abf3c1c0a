// Package stage moves a file revision through the pipeline's stages: the
// small protocol every worker follows so that results of a stale revision
// (the patient uploaded the file again meanwhile) are never written, and
// every finished stage has its completion event even after a crash.
package stage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/record"
)

// ErrStale means the file was uploaded again after the work item was made:
// the work item is obsolete and is acked without effect.
var ErrStale = errors.New("stale file revision")

// ErrNotRecorded means the file's record is not written yet: intake
// publishes a work item just before it records the file, so a fast worker
// can get there first. It is a normal wait (bus.ErrLater): the work item
// is handled again later and no failure is counted.
var ErrNotRecorded = errors.New("file not recorded yet")

type publisher interface {
	Publish(ctx context.Context, ev event.Event) error
}

// Tracker updates file records and publishes their completion events.
type Tracker struct {
	Cases *casestore.Store
	Bus   publisher
}

// Update applies fn to the file record of ref's revision with
// compare-and-set. ErrStale when the record holds another revision,
// ErrNotRecorded (retry) when there is no record yet; fn may return
// casestore.ErrNoChange.
//
// Intake writes a file's first record while it publishes the work item,
// and a new revision's record just before it: a fast worker may find no
// record, or the previous revision, for a moment. Both are waited for a
// little before the item is given back (no record) or dropped as stale (a
// moment only: a stale item is usually one a newer upload superseded).
func (t Tracker) Update(ctx context.Context, ref event.FileRef, fn func(*record.File) error) (record.File, error) {
	wait := 2 * time.Millisecond
	for {
		otherRevision := false
		f, err := t.Cases.UpdateFile(ctx, ref.CaseID, ref.FileID, func(f *record.File) error {
			if f.Status == record.StatusSkipped && f.Stage == record.StageSuperseded {
				return ErrStale
			}
			if f.ETag != ref.ETag {
				otherRevision = true
				return ErrStale
			}
			return fn(f)
		})
		notFound := errors.Is(err, casestore.ErrNotFound)
		if !notFound && !otherRevision {
			return f, err
		}
		switch {
		case notFound && wait > 500*time.Millisecond:
			return f, bus.Later(fmt.Errorf("%w: %w", ErrNotRecorded, err))
		case otherRevision && wait > 64*time.Millisecond:
			// Only two first revisions recorded at once race this way.
			return f, err
		}
		select {
		case <-ctx.Done():
			return f, ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// Start marks the revision as being processed by stage.
func (t Tracker) Start(ctx context.Context, ref event.FileRef, stage string) (record.File, error) {
	return t.Update(ctx, ref, func(f *record.File) error {
		if record.Terminal(f.Status) || f.Status == record.StatusProcessing && f.Stage == stage {
			return casestore.ErrNoChange
		}
		f.Status, f.Stage = record.StatusProcessing, stage
		return nil
	})
}

// Done marks the revision done after stage, applying fn (results) first,
// and publishes FileDone. Calling it again is harmless.
func (t Tracker) Done(ctx context.Context, ref event.FileRef, stage string, fn func(*record.File)) (record.File, error) {
	f, err := t.Update(ctx, ref, func(f *record.File) error {
		if f.Status == record.StatusDone && f.Stage == stage {
			return casestore.ErrNoChange
		}
		if fn != nil {
			fn(f)
		}
		f.Status, f.Stage, f.Error, f.Progress = record.StatusDone, stage, nil, nil
		return nil
	})
	if err != nil {
		return f, err
	}
	return f, t.Bus.Publish(ctx, event.FileDone{Version: 1, FileRef: ref, Stage: stage})
}

// Fail marks the revision failed with e at stage and publishes FileRejected.
// The original is kept; the rest of the case goes on.
func (t Tracker) Fail(ctx context.Context, ref event.FileRef, stage string, e *record.Error) (record.File, error) {
	f, err := t.Update(ctx, ref, func(f *record.File) error {
		if f.Status == record.StatusFailed && f.Error != nil && f.Error.Code == e.Code {
			return casestore.ErrNoChange
		}
		f.Status, f.Stage, f.Error, f.Progress = record.StatusFailed, stage, e, nil
		return nil
	})
	if err != nil {
		return f, err
	}
	return f, t.Bus.Publish(ctx, event.FileRejected{Version: 1, FileRef: ref, Code: e.Code, Stage: stage})
}
