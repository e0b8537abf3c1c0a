package casestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/platform/record"
)

// Cases returns every case record, in key order.
func (s *Store) Cases(ctx context.Context) ([]record.Case, error) {
	var out []record.Case
	err := eachJSON(ctx, s, "case.*", func(e jetstream.KeyValueEntry, c record.Case) {
		c.Revision = e.Revision()
		out = append(out, c)
	})
	return out, err
}

// Reports returns every case's report, by case ID.
func (s *Store) Reports(ctx context.Context) (map[string]record.Report, error) {
	out := map[string]record.Report{}
	err := eachJSON(ctx, s, "report.*", func(e jetstream.KeyValueEntry, r record.Report) {
		out[strings.TrimPrefix(e.Key(), "report.")] = r
	})
	return out, err
}

// AllBundles returns the bundle versions of every case that has some, by
// case ID.
func (s *Store) AllBundles(ctx context.Context) (map[string][]record.Bundle, error) {
	out := map[string][]record.Bundle{}
	err := eachJSON(ctx, s, "bundles.*", func(e jetstream.KeyValueEntry, b bundleSet) {
		out[strings.TrimPrefix(e.Key(), "bundles.")] = b.Bundles
	})
	return out, err
}

// DeleteCase purges every key of a case (its record, its files' records,
// its report, its bundle versions and the names of its uploads) with their
// history, and returns how many it purged.
func (s *Store) DeleteCase(ctx context.Context, caseID string) (int, error) {
	keys := []string{caseKey(caseID), reportKey(caseID), bundlesKey(caseID)}
	lister, err := s.kv.ListKeysFiltered(ctx, filesFilter(caseID), "name."+caseID+".*", "path."+caseID+".*")
	if err != nil && !errors.Is(err, jetstream.ErrNoKeysFound) {
		return 0, fmt.Errorf("list keys of %s: %w", caseID, err)
	}
	if err == nil {
		for k := range lister.Keys() {
			keys = append(keys, k)
		}
		_ = lister.Stop() // already stopped once every key was read
	}
	n := 0
	for _, k := range keys {
		if _, err := s.kv.Get(ctx, k); errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err := s.kv.Purge(ctx, k); err != nil {
			return n, fmt.Errorf("purge %s: %w", k, err)
		}
		n++
	}
	return n, nil
}

func (s *Store) each(ctx context.Context, filter string, fn func(jetstream.KeyValueEntry) error, opts ...jetstream.WatchOpt) error {
	return Each(ctx, s.kv, filter, fn, opts...)
}

// eachJSON is each with every value decoded as a T.
func eachJSON[T any](ctx context.Context, s *Store, filter string, fn func(jetstream.KeyValueEntry, T), opts ...jetstream.WatchOpt) error {
	return s.each(ctx, filter, func(e jetstream.KeyValueEntry) error {
		var v T
		if err := json.Unmarshal(e.Value(), &v); err != nil {
			return fmt.Errorf("decode %s: %w", e.Key(), err)
		}
		fn(e, v)
		return nil
	}, opts...)
}

// Each calls fn with every live entry of kv matching filter, as a watch
// reads them, and returns once it has read them all.
func Each(ctx context.Context, kv jetstream.KeyValue, filter string, fn func(jetstream.KeyValueEntry) error, opts ...jetstream.WatchOpt) error {
	w, err := kv.Watch(ctx, filter, append([]jetstream.WatchOpt{jetstream.IgnoreDeletes()}, opts...)...)
	if err != nil {
		return fmt.Errorf("list %s: %w", filter, err)
	}
	defer func() { _ = w.Stop() }()
	// A watch whose consumer lived on a server that died, or whose
	// creation could not learn how much it would deliver, may never say
	// that the initial values are done: a stalled watch is an error (the
	// caller's work is tried again), never a reader waiting forever.
	stall := time.NewTimer(watchStall)
	defer stall.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-stall.C:
			return fmt.Errorf("list %s: %w", filter, ErrWatchStalled)
		case e, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("list %s: watcher closed", filter)
			}
			if e == nil {
				return nil
			}
			if err := fn(e); err != nil {
				return err
			}
			stall.Reset(watchStall)
		}
	}
}

// ErrWatchStalled means a listing received nothing for watchStall.
var ErrWatchStalled = errors.New("watch stalled")

// watchStall is how long a listing waits for its next value.
var watchStall = 15 * time.Second
