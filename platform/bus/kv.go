package bus

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// retryKV retries the reads and writes of a KV bucket on transient errors
// (Transient: a leader election, the connection's server restarting),
// so that a cluster losing a node delays a compare-and-set instead of
// failing it. Watches are not wrapped: their consumer outlives the call.
//
// A write whose answer was lost may have been stored: its retry then finds
// the key changed (a create finds it existing, an update a newer
// revision). When the key holds exactly the value written, the write was
// ours and is reported as done; otherwise the conflict stands and the
// caller's compare-and-set loop reads again.
//
// A replicated bucket's reads are direct gets, which any replica answers,
// one that has not applied the newest writes too: a key written a moment
// ago may read as missing (nats-server has no read-after-write for them
// yet). With replicas > 1, a missing key is read again a few times over a
// third of a second before it counts as missing; a stale value is the
// compare-and-set loop's to catch.
func RetryKV(kv jetstream.KeyValue, replicas int) jetstream.KeyValue {
	return retryKV{kv, replicas > 1}
}

type retryKV struct {
	jetstream.KeyValue
	replicated bool
}

func (kv retryKV) Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	var e jetstream.KeyValueEntry
	get := func() error {
		return Retry(ctx, func(ctx context.Context) error {
			var err error
			e, err = kv.KeyValue.Get(ctx, key)
			return err
		})
	}
	err := get()
	for wait := 10 * time.Millisecond; kv.replicated && errors.Is(err, jetstream.ErrKeyNotFound) && wait <= replicaLag; wait *= 2 {
		select {
		case <-ctx.Done():
			return e, err
		case <-time.After(wait):
		}
		err = get()
	}
	return e, err
}

// replicaLag is the longest pause between reads of a missing key of a
// replicated bucket (10 ms doubling: 310 ms in all).
const replicaLag = 160 * time.Millisecond

func (kv retryKV) Put(ctx context.Context, key string, value []byte) (uint64, error) {
	var rev uint64
	err := Retry(ctx, func(ctx context.Context) error {
		var err error
		rev, err = kv.KeyValue.Put(ctx, key, value)
		return err
	})
	return rev, err
}

func (kv retryKV) Create(ctx context.Context, key string, value []byte, opts ...jetstream.KVCreateOpt) (uint64, error) {
	return WriteOnce(ctx, kv.KeyValue, key, value, func(ctx context.Context) (uint64, error) {
		return kv.KeyValue.Create(ctx, key, value, opts...)
	})
}

func (kv retryKV) Update(ctx context.Context, key string, value []byte, revision uint64) (uint64, error) {
	return WriteOnce(ctx, kv.KeyValue, key, value, func(ctx context.Context) (uint64, error) {
		return kv.KeyValue.Update(ctx, key, value, revision)
	})
}

// WriteOnce runs a conditional write of value to key with retries
// (Retry); after a try that may have been stored, a conflict — the key
// exists, or is at another revision — is checked against what the key
// holds: the same value means the write was stored.
func WriteOnce(ctx context.Context, kv jetstream.KeyValue, key string, value []byte, write func(context.Context) (uint64, error)) (uint64, error) {
	var rev uint64
	uncertain := false
	err := Retry(ctx, func(ctx context.Context) error {
		var err error
		rev, err = write(ctx)
		if uncertain && (errors.Is(err, jetstream.ErrKeyExists) || wrongSequence(err)) {
			if e, gerr := kv.Get(ctx, key); gerr == nil && e.Operation() == jetstream.KeyValuePut && bytes.Equal(e.Value(), value) {
				rev = e.Revision()
				return nil
			}
		}
		uncertain = uncertain || Transient(err)
		return err
	})
	return rev, err
}

// wrongSequence is a conditional write's conflict.
func wrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
		return true
	}
	return errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}
