// Package budget counts what each case takes of the pipeline's shared
// machines — OCR pages, DICOM instances and bytes, expanded archive entries
// and bytes — against per-case budgets, so that one case (a 500-page scan, a
// CD of 100,000 images, a folder of archives) cannot take the machines from
// every other case.
//
// Each file revision is charged once, whatever the redeliveries of its work
// item: the case's usage record and the charge's marker live in a NATS KV
// bucket and change only with compare-and-set.
//
// Keys:
//
//	usage.<case>                               what the case has used, and the charges being written
//	charge.<case>.<purpose>.<file>.<revision>  what one file revision was granted
package budget

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/record"
)

// DefaultBucket is the KV bucket's name.
const DefaultBucket = "handoff-usage"

// Counters a case's usage is kept in.
const (
	OCRPages       = "ocr_pages"
	DICOMInstances = "dicom_instances"
	DICOMBytes     = "dicom_bytes"
	ArchiveEntries = "archive_entries"
	ArchiveBytes   = "archive_bytes"
)

// Amounts are values of counters.
type Amounts map[string]int64

// Charge names one file revision's use of a case's budget.
type Charge struct {
	CaseID string
	// Purpose says what is charged for ("ocr", "dicom", "archive"): a
	// file revision is charged once per purpose.
	Purpose string
	FileID  string
	ETag    string
}

func (c Charge) valid() error {
	if !record.ValidID(c.CaseID) || !record.ValidID(c.FileID) || c.ETag == "" || c.Purpose == "" || clean(c.Purpose) != c.Purpose {
		return errors.New("budget: charge with invalid IDs")
	}
	return nil
}

// id is the charge's name inside the case's record and marker key.
func (c Charge) id() string { return c.Purpose + "." + c.FileID + "." + clean(c.ETag) }

func usageKey(caseID string) string { return "usage." + caseID }
func markerKey(c Charge) string     { return "charge." + c.CaseID + "." + c.id() }

// clean keeps the characters a KV key may hold (ETags carry quotes).
func clean(s string) string {
	b := make([]byte, 0, len(s))
	for i := range len(s) {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b = append(b, c)
		}
	}
	return string(b)
}

// usage is the record of one case.
type usage struct {
	Used Amounts `json:"used"`
	// Pending are charges added to Used whose marker is not written yet:
	// a charge asked again in that window gets the same answer.
	Pending map[string]grant `json:"pending,omitempty"`
}

// grant is the answer to a charge, kept in its marker.
type grant struct {
	Granted Amounts `json:"granted"`
	// Before is what the case had used when it was charged.
	Before Amounts `json:"before,omitempty"`
}

// Options configures the KV bucket. The zero value is the default.
type Options struct {
	Bucket   string
	Replicas int
	Memory   bool
}

// Store is the usage of every case. It opens its bucket on first use.
type Store struct {
	js  jetstream.JetStream
	opt Options

	mu sync.Mutex
	kv jetstream.KeyValue
}

// New returns the store of the bucket o names (created when first used).
func New(js jetstream.JetStream, o Options) *Store {
	if o.Bucket == "" {
		o.Bucket = DefaultBucket
	}
	return &Store{js: js, opt: o}
}

func (s *Store) bucket(ctx context.Context) (jetstream.KeyValue, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kv != nil {
		return s.kv, nil
	}
	storage := jetstream.FileStorage
	if s.opt.Memory {
		storage = jetstream.MemoryStorage
	}
	kv, err := bus.EnsureKeyValue(ctx, s.js, jetstream.KeyValueConfig{
		Bucket:      s.opt.Bucket,
		Description: "Handoff: what each case used of its budgets (OCR pages, DICOM, archives)",
		Storage:     storage,
		Replicas:    max(s.opt.Replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("budget bucket: %w", err)
	}
	s.kv = bus.RetryKV(kv, s.opt.Replicas) // reads and compare-and-set writes outlast a leader election
	return s.kv, nil
}

// Take charges up to want of counter, as much as fits under limit (no limit
// when limit <= 0), and returns what it granted and what the case had used
// of counter before. Asking again for the same charge returns the first
// answer and charges nothing more.
func (s *Store) Take(ctx context.Context, c Charge, counter string, want, limit int64) (granted, before int64, err error) {
	g, err := s.charge(ctx, c, func(used Amounts) Amounts {
		g := max(want, 0)
		if limit > 0 {
			g = max(min(g, limit-used[counter]), 0)
		}
		return Amounts{counter: g}
	})
	return g.Granted[counter], g.Before[counter], err
}

// TakeAll charges every amount of want, or nothing when one of them would
// take its counter over its limit (counters without a positive limit have
// none). It reports whether it charged; asking again for the same charge
// returns the first answer.
func (s *Store) TakeAll(ctx context.Context, c Charge, want, limits Amounts) (bool, error) {
	got, err := s.charge(ctx, c, func(used Amounts) Amounts {
		for k, v := range want {
			if l := limits[k]; l > 0 && used[k]+max(v, 0) > l {
				return Amounts{}
			}
		}
		g := Amounts{}
		for k, v := range want {
			g[k] = max(v, 0)
		}
		return g
	})
	if err != nil {
		return false, err
	}
	for k, v := range want {
		if v > 0 && got.Granted[k] != v {
			return false, nil
		}
	}
	return true, nil
}

// Used is what a case has used so far.
func (s *Store) Used(ctx context.Context, caseID string) (Amounts, error) {
	kv, err := s.bucket(ctx)
	if err != nil {
		return nil, err
	}
	u, _, err := s.read(ctx, kv, caseID)
	return u.Used, err
}

func (s *Store) read(ctx context.Context, kv jetstream.KeyValue, caseID string) (usage, uint64, error) {
	var u usage
	e, err := kv.Get(ctx, usageKey(caseID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return usage{Used: Amounts{}}, 0, nil
	}
	if err != nil {
		return u, 0, fmt.Errorf("usage of %s: %w", caseID, err)
	}
	if err := json.Unmarshal(e.Value(), &u); err != nil {
		return u, 0, fmt.Errorf("usage of %s: %w", caseID, err)
	}
	if u.Used == nil {
		u.Used = Amounts{}
	}
	return u, e.Revision(), nil
}

func (s *Store) marker(ctx context.Context, kv jetstream.KeyValue, c Charge) (grant, bool, error) {
	var g grant
	e, err := kv.Get(ctx, markerKey(c))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return g, false, nil
	}
	if err != nil {
		return g, false, fmt.Errorf("charge %s: %w", c.id(), err)
	}
	if err := json.Unmarshal(e.Value(), &g); err != nil {
		return g, false, fmt.Errorf("charge %s: %w", c.id(), err)
	}
	return g, true, nil
}

// charge applies a charge once. The grant is added to the case's usage
// together with a pending entry (one compare-and-set), then the charge's
// marker is written and the pending entry removed. The marker is read after
// the usage record and before its update, so the update fails when another
// delivery of the same charge finished in between: a charge is never
// counted twice, and a crash at any step leaves what the next try finishes.
func (s *Store) charge(ctx context.Context, c Charge, decide func(used Amounts) Amounts) (grant, error) {
	if err := c.valid(); err != nil {
		return grant{}, err
	}
	kv, err := s.bucket(ctx)
	if err != nil {
		return grant{}, err
	}
	id := c.id()
	var granted grant
	for attempt := 0; ; attempt++ {
		if attempt == 200 {
			return grant{}, fmt.Errorf("usage of %s: too much contention", c.CaseID)
		}
		u, rev, err := s.read(ctx, kv, c.CaseID)
		if err != nil {
			return grant{}, err
		}
		if g, ok := u.Pending[id]; ok {
			granted = g
			break
		}
		if g, ok, err := s.marker(ctx, kv, c); err != nil {
			return grant{}, err
		} else if ok {
			return g, nil
		}
		granted = grant{Granted: decide(u.Used), Before: Amounts{}}
		for k, v := range granted.Granted {
			granted.Before[k] = u.Used[k]
			u.Used[k] += v
		}
		if u.Pending == nil {
			u.Pending = map[string]grant{}
		}
		u.Pending[id] = granted
		if err := s.write(ctx, kv, c.CaseID, u, rev); err == nil {
			break
		} else if !conflict(err) {
			return grant{}, err
		}
		if err := backoff(ctx, attempt); err != nil {
			return grant{}, err
		}
	}
	data, err := json.Marshal(granted)
	if err != nil {
		return grant{}, err
	}
	if _, err := kv.Create(ctx, markerKey(c), data); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return grant{}, fmt.Errorf("charge %s: %w", id, err)
	}
	return granted, s.settle(ctx, kv, c.CaseID, id)
}

// settle removes a pending entry whose marker is written.
func (s *Store) settle(ctx context.Context, kv jetstream.KeyValue, caseID, id string) error {
	for attempt := 0; attempt < 200; attempt++ {
		u, rev, err := s.read(ctx, kv, caseID)
		if err != nil {
			return err
		}
		if _, ok := u.Pending[id]; !ok {
			return nil
		}
		delete(u.Pending, id)
		if err := s.write(ctx, kv, caseID, u, rev); err == nil || !conflict(err) {
			return err
		}
		if err := backoff(ctx, attempt); err != nil {
			return err
		}
	}
	return fmt.Errorf("usage of %s: too much contention", caseID)
}

func (s *Store) write(ctx context.Context, kv jetstream.KeyValue, caseID string, u usage, rev uint64) error {
	data, err := json.Marshal(u)
	if err != nil {
		return err
	}
	if rev == 0 {
		_, err = kv.Create(ctx, usageKey(caseID), data)
	} else {
		_, err = kv.Update(ctx, usageKey(caseID), data, rev)
	}
	if err != nil {
		return fmt.Errorf("usage of %s: %w", caseID, err)
	}
	return nil
}

// conflict reports a lost compare-and-set race.
func conflict(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) ||
		errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

func backoff(ctx context.Context, attempt int) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Duration(rand.IntN(1+attempt*2)) * time.Millisecond):
		return nil
	}
}
