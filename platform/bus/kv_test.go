package bus_test

import (
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/platform/bus"
)

// lagging answers its first reads as a replica that has not applied the
// newest write yet: the key is missing.
type lagging struct {
	jetstream.KeyValue // nil: only Get is used
	missing            int
	reads              int
}

type entry struct{ jetstream.KeyValueEntry }

func (kv *lagging) Get(context.Context, string) (jetstream.KeyValueEntry, error) {
	kv.reads++
	if kv.reads <= kv.missing {
		return nil, jetstream.ErrKeyNotFound
	}
	return entry{}, nil
}

func TestRetryKVReadsAReplicatedKeyAgain(t *testing.T) {
	tests := []struct {
		name              string
		replicas, missing int
		found             bool
		reads             int
	}{
		{"one replica: missing at once", 1, 1, false, 1},
		{"three replicas: a lagging replica", 3, 2, true, 3},
		{"three replicas: really missing", 3, 100, false, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kv := &lagging{missing: tc.missing}
			_, err := bus.RetryKV(kv, tc.replicas).Get(t.Context(), "file.a.b")
			if found := err == nil; found != tc.found || kv.reads != tc.reads {
				t.Errorf("found %v after %d reads (%v), want %v after %d", found, kv.reads, err, tc.found, tc.reads)
			}
			if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
				t.Errorf("got %v, want ErrKeyNotFound", err)
			}
		})
	}
}
