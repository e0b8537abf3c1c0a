// Package casestore keeps case state in a NATS KV bucket: one key per case,
// one per file and one for the checklist report, each updated with
// compare-and-set so that concurrent workers never lose each other's writes.
//
// Keys:
//
//	case.<case>          record.Case
//	file.<case>.<file>   record.File
//	report.<case>        record.Report
//	bundles.<case>       the case's bundle versions (written by the packager)
//	name.<case>.<ref>    the path of an API upload stored under record.UploadRef
//	path.<case>.<hash>   which upload reference holds a (cleaned) path
package casestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/record"
)

// DefaultBucket is the KV bucket's name.
const DefaultBucket = "handoff-cases"

// Errors callers branch on.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	// ErrNoChange, returned by an update function, skips the write.
	ErrNoChange = errors.New("no change")
	// ErrChanged means a record changed since the revision a write expected.
	ErrChanged = errors.New("changed since it was read")
)

// Store is the case state.
type Store struct {
	kv  jetstream.KeyValue
	js  jetstream.JetStream
	pre string // the subject prefix of the bucket's keys: "$KV.<bucket>."
	now func() time.Time
}

// Options configures the KV bucket. The zero value is the default.
type Options struct {
	Bucket   string
	Replicas int
	Memory   bool
}

// Open creates the KV bucket if needed and returns the store.
func Open(ctx context.Context, js jetstream.JetStream, o Options) (*Store, error) {
	if o.Bucket == "" {
		o.Bucket = DefaultBucket
	}
	storage := jetstream.FileStorage
	if o.Memory {
		storage = jetstream.MemoryStorage
	}
	kv, err := bus.EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket:      o.Bucket,
		Description: "Handoff case state: cases, files, reports",
		History:     3,
		Storage:     storage,
		Replicas:    max(o.Replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("kv %s: %w", o.Bucket, err)
	}
	return &Store{kv: bus.RetryKV(kv, o.Replicas), js: js, pre: "$KV." + o.Bucket + ".", now: time.Now}, nil
}

// KV is the underlying bucket, for watchers.
func (s *Store) KV() jetstream.KeyValue { return s.kv }

func caseKey(id string) string         { return "case." + id }
func fileKey(caseID, id string) string { return "file." + caseID + "." + id }
func reportKey(caseID string) string   { return "report." + caseID }
func filesFilter(caseID string) string { return "file." + caseID + ".*" }

// CreateCase stores a new case; ErrExists if the ID is taken.
func (s *Store) CreateCase(ctx context.Context, c record.Case) (record.Case, error) {
	now := s.now().UTC()
	c.Created, c.Updated = now, now
	data, err := json.Marshal(c)
	if err != nil {
		return c, err
	}
	rev, err := s.kv.Create(ctx, caseKey(c.ID), data)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return c, fmt.Errorf("case %s: %w", c.ID, ErrExists)
	}
	if err != nil {
		return c, fmt.Errorf("create case %s: %w", c.ID, err)
	}
	c.Revision = rev
	return c, nil
}

// Case reads a case.
func (s *Store) Case(ctx context.Context, id string) (record.Case, error) {
	var c record.Case
	rev, err := s.get(ctx, caseKey(id), &c)
	c.Revision = rev
	return c, err
}

// UpdateCase applies fn to the case with compare-and-set, retrying on
// conflicts. fn may return ErrNoChange to skip the write.
func (s *Store) UpdateCase(ctx context.Context, id string, fn func(*record.Case) error) (record.Case, error) {
	var c record.Case
	rev, err := s.update(ctx, caseKey(id), false, func(exists bool) (any, error) {
		c = record.Case{}
		return &c, nil
	}, func(exists bool) error {
		if err := fn(&c); err != nil {
			return err
		}
		c.Updated = s.now().UTC()
		return nil
	})
	c.Revision = rev
	return c, err
}

// EnsureCase creates the case if it does not exist (a plain S3 upload may
// name a case the API never saw) and returns it.
func (s *Store) EnsureCase(ctx context.Context, id string) (record.Case, error) {
	c, err := s.Case(ctx, id)
	if !errors.Is(err, ErrNotFound) {
		return c, err
	}
	c, err = s.CreateCase(ctx, record.Case{ID: id})
	if errors.Is(err, ErrExists) {
		return s.Case(ctx, id)
	}
	return c, err
}

// File reads a file record.
func (s *Store) File(ctx context.Context, caseID, fileID string) (record.File, error) {
	var f record.File
	rev, err := s.get(ctx, fileKey(caseID, fileID), &f)
	f.Revision = rev
	return f, err
}

// UpdateFile applies fn to an existing file record with compare-and-set.
// fn may return ErrNoChange to skip the write.
func (s *Store) UpdateFile(ctx context.Context, caseID, fileID string, fn func(*record.File) error) (record.File, error) {
	return s.UpsertFile(ctx, caseID, fileID, func(f *record.File, exists bool) error {
		if !exists {
			return fmt.Errorf("file %s/%s: %w", caseID, fileID, ErrNotFound)
		}
		return fn(f)
	})
}

// CreateFile stores a new file record; ErrExists if it is there already.
func (s *Store) CreateFile(ctx context.Context, f record.File) (record.File, error) {
	now := s.now().UTC()
	if f.Received.IsZero() {
		f.Received = now
	}
	f.Updated = now
	data, err := json.Marshal(f)
	if err != nil {
		return f, err
	}
	rev, err := s.create(ctx, fileKey(f.CaseID, f.ID), data)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return f, fmt.Errorf("file %s/%s: %w", f.CaseID, f.ID, ErrExists)
	}
	if err != nil {
		return f, fmt.Errorf("create file %s/%s: %w", f.CaseID, f.ID, err)
	}
	f.Revision = rev
	return f, nil
}

// ReplaceFile writes f over the file record at KV revision rev: ErrChanged
// when the record is no longer at that revision.
func (s *Store) ReplaceFile(ctx context.Context, f record.File, rev uint64) (record.File, error) {
	now := s.now().UTC()
	if f.Received.IsZero() {
		f.Received = now
	}
	f.Updated = now
	data, err := json.Marshal(f)
	if err != nil {
		return f, err
	}
	nrev, err := s.kv.Update(ctx, fileKey(f.CaseID, f.ID), data, rev)
	if isWrongSequence(err) || errors.Is(err, jetstream.ErrKeyExists) {
		return f, fmt.Errorf("file %s/%s: %w", f.CaseID, f.ID, ErrChanged)
	}
	if err != nil {
		return f, fmt.Errorf("replace file %s/%s: %w", f.CaseID, f.ID, err)
	}
	f.Revision = nrev
	return f, nil
}

// UpsertFile applies fn to a file record, creating it when it does not
// exist (exists is false and f is zero). fn may return ErrNoChange.
func (s *Store) UpsertFile(ctx context.Context, caseID, fileID string, fn func(f *record.File, exists bool) error) (record.File, error) {
	var f record.File
	rev, err := s.update(ctx, fileKey(caseID, fileID), true, func(bool) (any, error) {
		f = record.File{}
		return &f, nil
	}, func(exists bool) error {
		if err := fn(&f, exists); err != nil {
			return err
		}
		now := s.now().UTC()
		if !exists {
			f.CaseID, f.ID = caseID, fileID
			if f.Received.IsZero() {
				f.Received = now
			}
		}
		f.Updated = now
		return nil
	})
	f.Revision = rev
	return f, err
}

// Files returns every file record of a case, in key order.
func (s *Store) Files(ctx context.Context, caseID string) ([]record.File, error) {
	return s.FilesSince(ctx, caseID, 0)
}

// FilesSince returns the file records of a case written after revision
// rev (every record when rev is 0), oldest first: a reader that keeps the
// case's files reads only what changed.
func (s *Store) FilesSince(ctx context.Context, caseID string, rev uint64) ([]record.File, error) {
	var opts []jetstream.WatchOpt
	if rev > 0 {
		opts = append(opts, jetstream.ResumeFromRevision(rev+1))
	}
	var files []record.File
	err := eachJSON(ctx, s, filesFilter(caseID), func(e jetstream.KeyValueEntry, f record.File) {
		f.Revision = e.Revision()
		files = append(files, f)
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("files of %s: %w", caseID, err)
	}
	return files, nil
}

// PutReport stores a case's report.
func (s *Store) PutReport(ctx context.Context, r record.Report) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := s.kv.Put(ctx, reportKey(r.CaseID), data); err != nil {
		return fmt.Errorf("put report %s: %w", r.CaseID, err)
	}
	return nil
}

// Report reads a case's report.
func (s *Store) Report(ctx context.Context, caseID string) (record.Report, error) {
	var r record.Report
	_, err := s.get(ctx, reportKey(caseID), &r)
	return r, err
}

// ReportHead reads a case's report without its parts, findings and facts:
// what a writer compares before replacing it (version, case, times,
// pending, digest, basis, case digest), at a fraction of the cost of a
// report that carries thousands of results.
func (s *Store) ReportHead(ctx context.Context, caseID string) (record.Report, error) {
	var h struct {
		Version       int       `json:"version"`
		CaseID        string    `json:"case_id"`
		Generated     time.Time `json:"generated"`
		ReferenceDate string    `json:"reference_date"`
		Pending       int       `json:"pending"`
		Digest        string    `json:"digest"`
		Basis         uint64    `json:"basis,omitempty"`
		CaseDigest    string    `json:"case_digest,omitempty"`
	}
	_, err := s.get(ctx, reportKey(caseID), &h)
	return record.Report{Version: h.Version, CaseID: h.CaseID, Generated: h.Generated, ReferenceDate: h.ReferenceDate,
		Pending: h.Pending, Digest: h.Digest, Basis: h.Basis, CaseDigest: h.CaseDigest}, err
}

func (s *Store) get(ctx context.Context, key string, v any) (uint64, error) {
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("get %s: %w", key, err)
	}
	if err := json.Unmarshal(e.Value(), v); err != nil {
		return 0, fmt.Errorf("decode %s: %w", key, err)
	}
	return e.Revision(), nil
}

// maxAttempts bounds compare-and-set retries under contention.
const maxAttempts = 200

// update runs a read-modify-write loop on key. reset returns the zero value
// to decode into; apply modifies it.
func (s *Store) update(ctx context.Context, key string, create bool, reset func(exists bool) (any, error), apply func(exists bool) error) (uint64, error) {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		e, err := s.kv.Get(ctx, key)
		exists := err == nil
		if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			return 0, fmt.Errorf("get %s: %w", key, err)
		}
		if !exists && !create {
			return 0, fmt.Errorf("%s: %w", key, ErrNotFound)
		}
		v, err := reset(exists)
		if err != nil {
			return 0, err
		}
		var rev uint64
		if exists {
			rev = e.Revision()
			if err := json.Unmarshal(e.Value(), v); err != nil {
				return 0, fmt.Errorf("decode %s: %w", key, err)
			}
		}
		if err := apply(exists); err != nil {
			if errors.Is(err, ErrNoChange) {
				return rev, nil
			}
			return rev, err
		}
		data, err := json.Marshal(v)
		if err != nil {
			return rev, err
		}
		if exists {
			rev, err = s.kv.Update(ctx, key, data, rev)
		} else {
			rev, err = s.kv.Create(ctx, key, data)
		}
		if err == nil {
			return rev, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !isWrongSequence(err) {
			return 0, fmt.Errorf("write %s: %w", key, err)
		}
		// Lost a race: back off a little and read again.
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Duration(rand.IntN(1+attempt*2)) * time.Millisecond):
		}
	}
	return 0, fmt.Errorf("update %s: too much contention", key)
}

// create writes a key that must not exist yet, as KeyValue.Create does,
// without validating the key against a regular expression first (that
// costs more than the write on the ingestion path; file keys are built
// from validated IDs). A key whose last entry is a deletion counts as
// existing here: UpsertFile, which callers fall back to, handles it.
func (s *Store) create(ctx context.Context, key string, data []byte) (uint64, error) {
	rev, err := bus.WriteOnce(ctx, s.kv, key, data, func(ctx context.Context) (uint64, error) {
		ack, err := s.js.PublishMsg(ctx, &nats.Msg{Subject: s.pre + key, Data: data}, jetstream.WithExpectLastSequencePerSubject(0))
		if err != nil {
			return 0, err
		}
		return ack.Sequence, nil
	})
	if isWrongSequence(err) {
		return 0, jetstream.ErrKeyExists
	}
	return rev, err
}

func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
		return true
	}
	return errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}

// uploadName is the value of a name.<case>.<ref> key.
type uploadName struct {
	Path string `json:"path"`
}

func nameKey(caseID, ref string) string { return "name." + caseID + "." + ref }

func pathKey(caseID, path string) string {
	return "path." + caseID + "." + record.FileID("path", path)
}

// ClaimUploadName records the path of the upload stored under ref, taking
// the first free one of path, "path (2)", "path (3)"... (the number before
// the extension): two different uploads never share a path, even when
// their names clean to the same one. A ref claims the same path again.
func (s *Store) ClaimUploadName(ctx context.Context, caseID, ref, path string) (string, error) {
	if got, err := s.UploadName(ctx, caseID, ref); err == nil {
		return got, nil
	} else if !errors.Is(err, ErrNotFound) {
		return "", err
	}
	for n := 1; n <= 1000; n++ {
		name := numbered(path, n)
		_, err := s.kv.Create(ctx, pathKey(caseID, name), []byte(ref))
		if errors.Is(err, jetstream.ErrKeyExists) {
			e, gerr := s.kv.Get(ctx, pathKey(caseID, name))
			if gerr != nil {
				return "", fmt.Errorf("claim upload name: %w", gerr)
			}
			if string(e.Value()) != ref {
				continue // another upload holds this path
			}
		} else if err != nil {
			return "", fmt.Errorf("claim upload name: %w", err)
		}
		data, _ := json.Marshal(uploadName{Path: name})
		if _, err := s.kv.Put(ctx, nameKey(caseID, ref), data); err != nil {
			return "", fmt.Errorf("record upload name: %w", err)
		}
		return name, nil
	}
	return "", fmt.Errorf("claim upload name: %w", ErrExists)
}

// UploadName returns the path of the upload stored under ref.
func (s *Store) UploadName(ctx context.Context, caseID, ref string) (string, error) {
	var n uploadName
	if _, err := s.get(ctx, nameKey(caseID, ref), &n); err != nil {
		return "", err
	}
	return n.Path, nil
}

// numbered is path with " (n)" before its extension (n > 1).
func numbered(path string, n int) string {
	if n == 1 {
		return path
	}
	dir, base := "", path
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		dir, base = path[:i+1], path[i+1:]
	}
	ext := ""
	if i := strings.LastIndexByte(base, '.'); i > 0 {
		base, ext = base[:i], base[i:]
	}
	return fmt.Sprintf("%s%s (%d)%s", dir, base, n, ext)
}

// bundleSet is the value of a bundles.<case> key: a case's bundle versions,
// kept apart from the case record so that the packager, which writes them,
// may not write the case (the patient's fields).
type bundleSet struct {
	CaseID  string          `json:"case_id"`
	Bundles []record.Bundle `json:"bundles"`
}

func bundlesKey(caseID string) string { return "bundles." + caseID }

// BundlesKey is the key of a case's bundle versions, for watchers.
func BundlesKey(caseID string) string { return bundlesKey(caseID) }

// DecodeBundles reads the bundle versions from the value of a BundlesKey
// entry, oldest first (never nil).
func DecodeBundles(value []byte) ([]record.Bundle, error) {
	var b bundleSet
	if err := json.Unmarshal(value, &b); err != nil {
		return nil, err
	}
	if b.Bundles == nil {
		b.Bundles = []record.Bundle{}
	}
	return b.Bundles, nil
}

// Bundles returns a case's bundle versions, oldest first (none when it has
// no bundle yet).
func (s *Store) Bundles(ctx context.Context, caseID string) ([]record.Bundle, error) {
	var b bundleSet
	if _, err := s.get(ctx, bundlesKey(caseID), &b); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	return b.Bundles, nil
}

// UpdateBundles applies fn to a case's bundle versions with
// compare-and-set; fn may return ErrNoChange.
func (s *Store) UpdateBundles(ctx context.Context, caseID string, fn func(*[]record.Bundle) error) ([]record.Bundle, error) {
	var b bundleSet
	_, err := s.update(ctx, bundlesKey(caseID), true, func(bool) (any, error) {
		b = bundleSet{}
		return &b, nil
	}, func(bool) error {
		b.CaseID = caseID
		return fn(&b.Bundles)
	})
	return b.Bundles, err
}
