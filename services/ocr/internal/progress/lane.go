package progress

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// LaneDoc is one document revision in its case's lane.
type LaneDoc struct {
	File string `json:"file"`
	ETag string `json:"etag"`
	// ByFile and ByETag name the document whose end (or admission) gave
	// this one its turn: that document's worker publishes this one's
	// resume item, and publishes it again when its own item is redelivered.
	ByFile string `json:"by_file,omitempty"`
	ByETag string `json:"by_etag,omitempty"`
}

func (d LaneDoc) is(o LaneDoc) bool { return d.File == o.File && d.ETag == o.ETag }
func (d LaneDoc) by(o LaneDoc) bool { return d.ByFile == o.File && d.ByETag == o.ETag }

// Lane is one case's turn at the OCR workers: the documents being OCRed
// (at most a few) and the documents waiting, in arrival order.
type Lane struct {
	Active  []LaneDoc `json:"active,omitempty"`
	Waiting []LaneDoc `json:"waiting,omitempty"`
}

// Turn is what a document may do when it arrives.
type Turn int

// Turns.
const (
	// Go: the document holds a slot of its case's lane.
	Go Turn = iota
	// Wait: the document waits for a slot; a resume item will bring it
	// back when a document of its case ends.
	Wait
)

// LaneKey names a case's lane.
func LaneKey(caseID string) string { return "lane." + caseID }

// Admit gives doc a slot of its case's lane when one of slots is free, and
// else puts it at the end of the waiting documents (a document already
// in the lane keeps its place). dead reports whether an active document no
// longer needs its slot (it finished or was uploaded again, and the end of
// it was missed); it is asked only when the lane is full. Admit returns
// doc's turn and the documents that doc's call gave a turn to: the caller
// publishes their resume items.
func (s *Store) Admit(ctx context.Context, caseID string, doc LaneDoc, slots int, dead func(LaneDoc) (bool, error)) (Turn, []LaneDoc, error) {
	checked := map[LaneDoc]bool{}
	var turn Turn
	l, err := s.updateLane(ctx, caseID, func(l *Lane) error {
		for _, a := range l.Active {
			if a.is(doc) {
				turn = Go
				return errNoChange
			}
		}
		for _, w := range l.Waiting {
			if w.is(doc) {
				turn = Wait
				return errNoChange
			}
		}
		if len(l.Active) >= slots {
			keep := l.Active[:0:0]
			for _, a := range l.Active {
				key := LaneDoc{File: a.File, ETag: a.ETag}
				gone, ok := checked[key]
				if !ok {
					var err error
					if gone, err = dead(key); err != nil {
						return err
					}
					checked[key] = gone
				}
				if !gone {
					keep = append(keep, a)
				}
			}
			l.Active = keep
		}
		fill(l, doc, slots)
		turn = Wait
		if len(l.Active) < slots {
			turn = Go
			l.Active = append(l.Active, LaneDoc{File: doc.File, ETag: doc.ETag})
		} else {
			l.Waiting = append(l.Waiting, LaneDoc{File: doc.File, ETag: doc.ETag})
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return turn, promotedBy(l, doc), nil
}

// Release ends doc's turn: it leaves the lane and its slot goes to the
// first waiting document. It returns the documents doc gave a turn to, in
// this call or an earlier one (whose resume items may not have been
// published when a worker died). Releasing a document not in the lane
// changes nothing.
func (s *Store) Release(ctx context.Context, caseID string, doc LaneDoc, slots int) ([]LaneDoc, error) {
	l, err := s.updateLane(ctx, caseID, func(l *Lane) error {
		n := len(l.Active) + len(l.Waiting)
		l.Active = without(l.Active, doc)
		l.Waiting = without(l.Waiting, doc)
		fill(l, doc, slots)
		if len(l.Active)+len(l.Waiting) == n {
			return errNoChange
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return promotedBy(l, doc), nil
}

// Lane reads a case's lane (empty when it has none).
func (s *Store) Lane(ctx context.Context, caseID string) (Lane, error) {
	var l Lane
	e, err := s.kv.Get(ctx, LaneKey(caseID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return l, nil
	}
	if err != nil {
		return l, fmt.Errorf("lane %s: %w", caseID, err)
	}
	if err := json.Unmarshal(e.Value(), &l); err != nil {
		return l, fmt.Errorf("lane %s: %w", caseID, err)
	}
	return l, nil
}

// fill gives free slots to waiting documents, in order, on by's behalf.
func fill(l *Lane, by LaneDoc, slots int) {
	for len(l.Active) < slots && len(l.Waiting) > 0 {
		w := l.Waiting[0]
		l.Waiting = l.Waiting[1:]
		w.ByFile, w.ByETag = by.File, by.ETag
		l.Active = append(l.Active, w)
	}
}

func without(ds []LaneDoc, doc LaneDoc) []LaneDoc {
	out := ds[:0:0]
	for _, d := range ds {
		if !d.is(doc) {
			out = append(out, d)
		}
	}
	return out
}

func promotedBy(l Lane, doc LaneDoc) []LaneDoc {
	var out []LaneDoc
	for _, a := range l.Active {
		if a.by(doc) {
			out = append(out, LaneDoc{File: a.File, ETag: a.ETag})
		}
	}
	return out
}

// updateLane runs fn on a case's lane with compare-and-set, creating it
// when needed and retrying lost races; fn may return errNoChange.
func (s *Store) updateLane(ctx context.Context, caseID string, fn func(*Lane) error) (Lane, error) {
	key := LaneKey(caseID)
	for attempt := range 200 {
		var l Lane
		var rev uint64
		e, err := s.kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return l, fmt.Errorf("lane %s: %w", caseID, err)
		default:
			rev = e.Revision()
			if err := json.Unmarshal(e.Value(), &l); err != nil {
				return l, fmt.Errorf("lane %s: %w", caseID, err)
			}
		}
		if err := fn(&l); errors.Is(err, errNoChange) {
			return l, nil
		} else if err != nil {
			return l, err
		}
		data, err := json.Marshal(l)
		if err != nil {
			return l, err
		}
		if rev == 0 {
			_, err = s.kv.Create(ctx, key, data)
		} else {
			_, err = s.kv.Update(ctx, key, data, rev)
		}
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return l, fmt.Errorf("lane %s: %w", caseID, err)
		}
		select {
		case <-ctx.Done():
			return l, ctx.Err()
		case <-time.After(time.Duration(rand.IntN(1+attempt*2)) * time.Millisecond):
		}
	}
	return Lane{}, fmt.Errorf("lane %s: too much contention", caseID)
}
