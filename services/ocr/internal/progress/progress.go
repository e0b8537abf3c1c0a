// Package progress keeps which pages of a split document are done, in a
// NATS KV bucket: one key per document revision, changed only with
// compare-and-set, so that the document is reassembled once, whatever the
// order, the workers and the redeliveries of its pages.
package progress

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/platform/bus"
)

// DefaultBucket is the KV bucket's name.
const DefaultBucket = "handoff-ocr"

// ErrNotFound means the document has no progress record.
var ErrNotFound = errors.New("no progress record")

// Doc is the progress of one document revision.
type Doc struct {
	Pages int `json:"pages"`
	// Done has one byte per page: '1' when the page's result is stored.
	Done string `json:"done"`
	// Assembled is set once the searchable PDF is written and announced.
	Assembled bool `json:"assembled,omitempty"`
	// Window is how many of the document's page items are queued ahead of
	// the workers: each page item, when its work starts, queues the page
	// Window places after it among the pages to OCR. 0: every page item was
	// queued at the split.
	Window int `json:"window,omitempty"`
}

// Complete reports whether every page is done.
func (d Doc) Complete() bool {
	if len(d.Done) != d.Pages {
		return false
	}
	for i := range len(d.Done) {
		if d.Done[i] != '1' {
			return false
		}
	}
	return true
}

// Store is the progress bucket.
type Store struct {
	kv jetstream.KeyValue
}

// Open creates the bucket if needed. Records expire after ttl (0: 7 days).
func Open(ctx context.Context, js jetstream.JetStream, bucket string, replicas int, ttl time.Duration) (*Store, error) {
	if bucket == "" {
		bucket = DefaultBucket
	}
	if ttl == 0 {
		ttl = 7 * 24 * time.Hour
	}
	kv, err := bus.EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket:      bucket,
		Description: "OCR: pages done per split document, each case's turn at the workers",
		TTL:         ttl,
		Replicas:    max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("progress bucket: %w", err)
	}
	// Reads and compare-and-set writes outlast a leader election.
	return &Store{kv: bus.RetryKV(kv, replicas)}, nil
}

// Key names a document revision: safe KV key characters only.
func Key(caseID, fileID, etag string) string {
	clean := make([]byte, 0, len(etag))
	for i := range len(etag) {
		c := etag[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' {
			clean = append(clean, c)
		}
	}
	return "doc." + caseID + "." + fileID + "." + string(clean)
}

// Get reads a document's progress.
func (s *Store) Get(ctx context.Context, key string) (Doc, error) {
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Doc{}, ErrNotFound
	}
	if err != nil {
		return Doc{}, fmt.Errorf("progress %s: %w", key, err)
	}
	var d Doc
	if err := json.Unmarshal(e.Value(), &d); err != nil {
		return Doc{}, fmt.Errorf("progress %s: %w", key, err)
	}
	return d, nil
}

// Start creates the record of a document whose pages are done as done
// says (pages that need no OCR are done from the start), with its page
// window; an existing record (a redelivered split) is kept and returned.
func (s *Store) Start(ctx context.Context, key string, done []bool, window int) (Doc, error) {
	b := make([]byte, len(done))
	for i, ok := range done {
		b[i] = '0'
		if ok {
			b[i] = '1'
		}
	}
	d := Doc{Pages: len(done), Done: string(b), Window: max(window, 0)}
	data, err := json.Marshal(d)
	if err != nil {
		return Doc{}, err
	}
	_, err = s.kv.Create(ctx, key, data)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return s.Get(ctx, key)
	}
	if err != nil {
		return Doc{}, fmt.Errorf("progress %s: %w", key, err)
	}
	return d, nil
}

// errNoChange stops an update without writing.
var errNoChange = errors.New("no change")

// update runs fn on the record with compare-and-set, retrying lost races.
func (s *Store) update(ctx context.Context, key string, fn func(*Doc) error) (Doc, error) {
	for attempt := range 200 {
		e, err := s.kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return Doc{}, ErrNotFound
		}
		if err != nil {
			return Doc{}, fmt.Errorf("progress %s: %w", key, err)
		}
		var d Doc
		if err := json.Unmarshal(e.Value(), &d); err != nil {
			return Doc{}, fmt.Errorf("progress %s: %w", key, err)
		}
		if err := fn(&d); errors.Is(err, errNoChange) {
			return d, nil
		} else if err != nil {
			return d, err
		}
		data, err := json.Marshal(d)
		if err != nil {
			return d, err
		}
		if _, err := s.kv.Update(ctx, key, data, e.Revision()); err == nil {
			return d, nil
		} else if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) && !errors.Is(err, jetstream.ErrKeyExists) {
			return d, fmt.Errorf("progress %s: %w", key, err)
		}
		select {
		case <-ctx.Done():
			return d, ctx.Err()
		case <-time.After(time.Duration(rand.IntN(1+attempt*2)) * time.Millisecond):
		}
	}
	return Doc{}, fmt.Errorf("progress %s: too much contention", key)
}

// PageDone marks page (1-based) done and returns the record after it.
func (s *Store) PageDone(ctx context.Context, key string, page int) (Doc, error) {
	return s.update(ctx, key, func(d *Doc) error {
		if page < 1 || page > d.Pages || len(d.Done) != d.Pages {
			return fmt.Errorf("progress %s: page %d of %d", key, page, d.Pages)
		}
		if d.Done[page-1] == '1' {
			return errNoChange
		}
		b := []byte(d.Done)
		b[page-1] = '1'
		d.Done = string(b)
		return nil
	})
}

// Assembled marks the document assembled.
func (s *Store) Assembled(ctx context.Context, key string) error {
	_, err := s.update(ctx, key, func(d *Doc) error {
		if d.Assembled {
			return errNoChange
		}
		d.Assembled = true
		return nil
	})
	return err
}
