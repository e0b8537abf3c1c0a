package bus_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/natstest"
)

func setup(t *testing.T) *bus.Bus {
	t.Helper()
	srv := natstest.Start(t)
	b, err := bus.New(srv.Conn(t), "/test", nil, bus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Setup(t.Context(), bus.Topology{Memory: true}); err != nil {
		t.Fatal(err)
	}
	return b
}

func work(i int) event.FileWork {
	return event.FileWork{Version: 1, FileRef: event.FileRef{CaseID: "case0001", FileID: "file" + string(rune('a'+i)), ETag: "e"}, Route: "dicom"}
}

func spec() bus.ConsumerSpec {
	return bus.ConsumerSpec{Stream: bus.StreamWork, Durable: "dicom", Filters: []string{event.SubjectWorkDICOM},
		AckWait: time.Second, MaxDeliver: 3, Workers: 2, Backoff: []time.Duration{10 * time.Millisecond}}
}

// run consumes until stop is closed.
func run(t *testing.T, b *bus.Bus, s bus.ConsumerSpec, h bus.Handler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- b.Consume(ctx, s, h) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("consume: %v", err)
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func deadLetters(t *testing.T, b *bus.Bus) []event.DeadLetter {
	t.Helper()
	st, err := b.JetStream().Stream(t.Context(), bus.StreamDeadLetter)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []event.DeadLetter
	for seq := info.State.FirstSeq; seq > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(t.Context(), seq)
		if err != nil {
			continue
		}
		var dl event.DeadLetter
		if err := json.Unmarshal(m.Data, &dl); err != nil {
			t.Fatal(err)
		}
		out = append(out, dl)
	}
	return out
}

func pending(t *testing.T, b *bus.Bus) uint64 {
	t.Helper()
	st, err := b.JetStream().Stream(t.Context(), bus.StreamWork)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func TestConsumeAcksAndDeduplicates(t *testing.T) {
	b := setup(t)
	for range 2 { // the same event twice is stored once (Nats-Msg-Id)
		for i := range 5 {
			if err := b.Publish(t.Context(), work(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	stop := run(t, b, spec(), func(ctx context.Context, m *bus.Msg) error {
		var w event.FileWork
		if err := m.Decode(&w); err != nil {
			return err
		}
		if m.Meta.CaseID != "case0001" || bus.TraceParent(ctx) == "" {
			t.Errorf("meta = %+v, traceparent %q", m.Meta, bus.TraceParent(ctx))
		}
		mu.Lock()
		seen[w.FileID]++
		mu.Unlock()
		return nil
	})
	waitFor(t, "work queue empty", func() bool { return pending(t, b) == 0 })
	stop()
	if len(seen) != 5 {
		t.Errorf("handled %d files, want 5", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s handled %d times, want 1", id, n)
		}
	}
}

func TestRetryThenSucceed(t *testing.T) {
	b := setup(t)
	if err := b.Publish(t.Context(), work(0)); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	stop := run(t, b, spec(), func(ctx context.Context, m *bus.Msg) error {
		if calls.Add(1) < 3 {
			return errors.New("transient")
		}
		return nil
	})
	waitFor(t, "work queue empty", func() bool { return pending(t, b) == 0 })
	stop()
	if got := calls.Load(); got != 3 {
		t.Errorf("calls = %d, want 3", got)
	}
	if dl := deadLetters(t, b); len(dl) != 0 {
		t.Errorf("dead letters = %d, want 0", len(dl))
	}
}

func TestPoisonMessagesAreDeadLettered(t *testing.T) {
	tests := []struct {
		name      string
		handler   bus.Handler
		wantCalls int32
		wantErr   string
	}{
		{"permanent", func(context.Context, *bus.Msg) error {
			return bus.Permanent(errors.New("input.unreadable: bad header"))
		}, 1, "permanent: input.unreadable: bad header"},
		{"always failing", func(context.Context, *bus.Msg) error { return errors.New("s3 down") }, 3, "s3 down"},
		{"panic", func(context.Context, *bus.Msg) error { var m map[string]int; m["x"]++; return nil }, 1, "permanent: handler panic"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := setup(t)
			if err := b.Publish(t.Context(), work(0)); err != nil {
				t.Fatal(err)
			}
			var calls atomic.Int32
			stop := run(t, b, spec(), func(ctx context.Context, m *bus.Msg) error {
				calls.Add(1)
				return tc.handler(ctx, m)
			})
			waitFor(t, "dead letter", func() bool { return len(deadLetters(t, b)) == 1 })
			waitFor(t, "work queue empty", func() bool { return pending(t, b) == 0 })
			stop()
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("calls = %d, want %d", got, tc.wantCalls)
			}
			dl := deadLetters(t, b)[0]
			if len(dl.Error) < len(tc.wantErr) || dl.Error[:len(tc.wantErr)] != tc.wantErr {
				t.Errorf("dead letter error = %q, want prefix %q", dl.Error, tc.wantErr)
			}
			var w event.FileWork
			if err := json.Unmarshal(dl.Data, &w); err != nil || w.FileID != "filea" {
				t.Errorf("dead letter keeps %q (%v), want the original message", dl.Data, err)
			}
			if dl.Consumer != "dicom" || dl.OrigSubject != event.SubjectWorkDICOM || dl.CaseID != "case0001" {
				t.Errorf("dead letter = %+v", dl)
			}
		})
	}
}

func TestLongWorkIsNotRedelivered(t *testing.T) {
	b := setup(t)
	if err := b.Publish(t.Context(), work(0)); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	s := spec()
	s.AckWait = 300 * time.Millisecond
	stop := run(t, b, s, func(ctx context.Context, m *bus.Msg) error {
		calls.Add(1)
		time.Sleep(1500 * time.Millisecond) // five AckWaits
		return nil
	})
	waitFor(t, "work queue empty", func() bool { return pending(t, b) == 0 })
	stop()
	if got := calls.Load(); got != 1 {
		t.Errorf("calls = %d, want 1 (heartbeats keep the message)", got)
	}
}

func TestShutdownDrainsInFlightWork(t *testing.T) {
	b := setup(t)
	if err := b.Publish(t.Context(), work(0)); err != nil {
		t.Fatal(err)
	}
	started, finished := make(chan struct{}), atomic.Bool{}
	stop := run(t, b, spec(), func(ctx context.Context, m *bus.Msg) error {
		close(started)
		time.Sleep(300 * time.Millisecond)
		finished.Store(ctx.Err() == nil)
		return nil
	})
	<-started
	stop() // returns only after the handler finished and acked
	if !finished.Load() {
		t.Error("handler context was cancelled before the handler finished")
	}
	if n := pending(t, b); n != 0 {
		t.Errorf("pending = %d after drain, want 0", n)
	}
}

// A worker that dies on every delivery never acks; after MaxDeliver the
// server gives up and the message must still reach the dead-letter stream.
func TestCrashingWorkerMessageIsDeadLettered(t *testing.T) {
	b := setup(t)
	if err := b.Publish(t.Context(), work(0)); err != nil {
		t.Fatal(err)
	}
	s := spec()
	s.AckWait = 100 * time.Millisecond
	s.MaxDeliver = 2
	cons, err := b.EnsureConsumer(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	unwatch, err := b.WatchMaxDeliveries(s)
	if err != nil {
		t.Fatal(err)
	}
	defer unwatch()
	// The dead worker: takes each delivery and never acks or heartbeats.
	deliveries := 0
	for deliveries < 10 && len(deadLetters(t, b)) == 0 {
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(300*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		for range batch.Messages() {
			deliveries++
		}
	}
	waitFor(t, "dead letter after max deliveries", func() bool { return len(deadLetters(t, b)) == 1 })
	dl := deadLetters(t, b)[0]
	if dl.Deliveries != 3 || deliveries != 3 {
		t.Errorf("deliveries: dead letter says %d, worker saw %d, want 3 (MaxDeliver+1)", dl.Deliveries, deliveries)
	}
	waitFor(t, "work queue empty", func() bool { return pending(t, b) == 0 })
}

// A consumer deleted underneath (an operator resetting it) is set up again
// and work goes on.
func TestConsumerSetUpAgain(t *testing.T) {
	b := setup(t)
	var calls atomic.Int32
	stop := run(t, b, spec(), func(context.Context, *bus.Msg) error { calls.Add(1); return nil })
	defer stop()
	if err := b.Publish(t.Context(), work(0)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "first message", func() bool { return calls.Load() == 1 })
	waitFor(t, "consumer deleted", func() bool {
		return b.JetStream().DeleteConsumer(t.Context(), bus.StreamWork, "dicom") == nil
	})
	if err := b.Publish(t.Context(), work(1)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "second message after the consumer was set up again", func() bool { return calls.Load() == 2 })
}

// Events published at once are all stored when the wait returns, and
// publishing them again stores nothing (same message IDs).
func TestPublishAsync(t *testing.T) {
	b := setup(t)
	if err := b.PublishAsync(t.Context(), work(0), work(1), work(2))(); err != nil {
		t.Fatal(err)
	}
	if n := pending(t, b); n != 3 {
		t.Fatalf("stored %d, want 3", n)
	}
	if err := b.PublishAsync(t.Context(), work(1), work(2))(); err != nil {
		t.Fatal(err)
	}
	if n := pending(t, b); n != 3 {
		t.Errorf("stored %d after publishing again, want 3", n)
	}
	if err := b.PublishAsync(t.Context())(); err != nil {
		t.Errorf("nothing to publish: %v", err)
	}
}

// TestNoPrefetch: a consumer with NoPrefetch holds no more messages than it
// has handlers busy, so another process's idle handler gets the next one;
// without it, a process with busy handlers may hold more.
func TestNoPrefetch(t *testing.T) {
	for _, tc := range []struct {
		name       string
		noPrefetch bool
		more       bool // more messages held than handlers busy
	}{
		{"no prefetch", true, false},
		{"batches", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			for i := range 10 {
				if err := b.Publish(t.Context(), work(i)); err != nil {
					t.Fatal(err)
				}
			}
			release := make(chan struct{})
			var busy atomic.Int32
			s := spec()
			s.AckWait, s.Workers, s.NoPrefetch = 30*time.Second, 4, tc.noPrefetch
			stop := run(t, b, s, func(ctx context.Context, m *bus.Msg) error {
				busy.Add(1)
				<-release
				return nil
			})
			defer stop()
			defer close(release)
			waitFor(t, "every handler busy", func() bool { return busy.Load() == 4 })
			cons, err := b.JetStream().Consumer(t.Context(), bus.StreamWork, "dicom")
			if err != nil {
				t.Fatal(err)
			}
			// Give prefetched messages time to arrive.
			time.Sleep(300 * time.Millisecond)
			ci, err := cons.Info(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if got := ci.NumAckPending; (got > 4) != tc.more || got < 4 {
				t.Errorf("messages held by a process with 4 busy handlers: got %d, want more than 4: %v", got, tc.more)
			}
		})
	}
}

// TestConsumeTiers: a free handler takes the first tier's messages before
// the second's; each message is settled by its own tier's consumer.
func TestConsumeTiers(t *testing.T) {
	b := setup(t)
	low := spec()
	low.Workers = 1
	high := bus.ConsumerSpec{Stream: bus.StreamWork, Durable: "text", Filters: []string{event.SubjectWorkText},
		AckWait: time.Second, MaxDeliver: 3, Workers: 1, Backoff: []time.Duration{10 * time.Millisecond}}
	item := func(route string, i int) event.FileWork {
		w := work(i)
		w.Route = route
		return w
	}
	for i := range 3 {
		if err := b.Publish(t.Context(), item("dicom", i)); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	var order []string
	release := make(chan struct{})
	first := true
	stop := run2(t, b, []bus.ConsumerSpec{high, low}, func(ctx context.Context, m *bus.Msg) error {
		var w event.FileWork
		if err := m.Decode(&w); err != nil {
			return err
		}
		mu.Lock()
		order = append(order, w.Route+":"+w.FileID)
		wait := first
		first = false
		mu.Unlock()
		if wait {
			<-release
		}
		if w.FileID == "filec" && w.Route == "text" {
			return bus.Permanent(errors.New("bad"))
		}
		return nil
	})
	defer stop()
	waitFor(t, "first message taken", func() bool { mu.Lock(); defer mu.Unlock(); return len(order) == 1 })
	for i := range 3 {
		if err := b.Publish(t.Context(), item("text", i)); err != nil {
			t.Fatal(err)
		}
	}
	// The first tier goes first among the messages its consumer holds: wait
	// until the stream has handed it all three.
	text, err := b.JetStream().Consumer(t.Context(), bus.StreamWork, "text")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "text messages pending", func() bool {
		ci, err := text.Info(t.Context())
		return err == nil && ci.NumPending == 3
	})
	close(release)
	waitFor(t, "every message handled", func() bool { mu.Lock(); defer mu.Unlock(); return len(order) == 6 })
	want := []string{"dicom:filea", "text:filea", "text:fileb", "text:filec", "dicom:fileb", "dicom:filec"}
	mu.Lock()
	got := append([]string(nil), order...)
	mu.Unlock()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("handled %v, want %v", got, want)
	}
	waitFor(t, "dead letter", func() bool { return len(deadLetters(t, b)) == 1 })
	if dl := deadLetters(t, b)[0]; dl.Consumer != "text" || dl.OrigSubject != event.SubjectWorkText {
		t.Errorf("dead letter of %s from %s, want text's", dl.Consumer, dl.OrigSubject)
	}
	waitFor(t, "work queue empty", func() bool { return pending(t, b) == 0 })
}

func run2(t *testing.T, b *bus.Bus, tiers []bus.ConsumerSpec, h bus.Handler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- b.ConsumeTiers(ctx, tiers, h) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("consume: %v", err)
		}
	}
}
