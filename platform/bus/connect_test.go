package bus_test

import (
	"context"
	"errors"
	"fmt"

	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/natstest"
	"github.com/handoffmed/handoff/platform/testenv"
)

func freePort(t *testing.T) int {
	t.Helper()
	return testenv.FreePort(t)
}

// Several seed URLs: a server that is down is skipped.
func TestConnectSeeds(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	urls := fmt.Sprintf("nats://127.0.0.1:%d,%s", freePort(t), srv.URL())
	nc, err := bus.Connect(t.Context(), bus.ConnectOptions{URL: urls, Name: "test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if nc.ConnectedUrl() != srv.URL() {
		t.Errorf("connected to %s, want %s", nc.ConnectedUrl(), srv.URL())
	}
}

// No server at all: Connect gives up at ctx's deadline with an error.
func TestConnectGivesUp(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 700*time.Millisecond)
	defer cancel()
	start := time.Now()
	nc, err := bus.Connect(ctx, bus.ConnectOptions{URL: fmt.Sprintf("nats://127.0.0.1:%d", freePort(t))}, nil)
	if err == nil {
		nc.Close()
		t.Fatal("connected to nothing")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("gave up after %v, want about the deadline", d)
	}
}

// The first connection is retried: a worker may start before NATS.
func TestConnectWaitsForTheServer(t *testing.T) {
	t.Parallel()
	port, dir := freePort(t), t.TempDir()
	go func() {
		time.Sleep(500 * time.Millisecond)
		natstest.StartDir(t, dir, port)
	}()
	nc, err := bus.Connect(t.Context(), bus.ConnectOptions{URL: fmt.Sprintf("nats://127.0.0.1:%d", port)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
}

// A publish made while the server restarts is stored once it is back (the
// reconnect buffer, then a retry with the same message ID), and once.
func TestPublishOutlastsServerRestart(t *testing.T) {
	t.Parallel()
	port, dir := freePort(t), t.TempDir()
	srv := natstest.StartDir(t, dir, port)
	nc, err := bus.Connect(t.Context(), bus.ConnectOptions{URL: srv.URL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	b, err := bus.New(nc, "/test", nil, bus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Setup(t.Context(), bus.Topology{}); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(t.Context(), work(0)); err != nil {
		t.Fatal(err)
	}
	srv.Shutdown()
	srv.WaitForShutdown()
	errc := make(chan error, 1)
	go func() { errc <- b.PublishAsync(t.Context(), work(0), work(1))() }()
	time.Sleep(time.Second)
	natstest.StartDir(t, dir, port)
	if err := <-errc; err != nil {
		t.Fatalf("publish across a restart: %v", err)
	}
	if err := b.Publish(t.Context(), work(2)); err != nil {
		t.Fatal(err)
	}
	if n := pending(t, b); n != 3 {
		t.Errorf("stored %d, want 3 (work 0 once)", n)
	}
}

func TestTransient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{nats.ErrNoResponders, true},
		{fmt.Errorf("publish x: %w", jetstream.ErrNoStreamResponse), true},
		{nats.ErrTimeout, true},
		{context.DeadlineExceeded, true},
		{nats.ErrConnectionReconnecting, true},
		{fmt.Errorf("nats: %w", &jetstream.APIError{Code: 503, ErrorCode: 10008, Description: "JetStream system temporarily unavailable"}), true},
		{&jetstream.APIError{Code: 500, ErrorCode: 10009}, true},
		{&jetstream.APIError{Code: 400, ErrorCode: jetstream.JSErrCodeStreamWrongLastSequence}, false},
		{jetstream.ErrKeyExists, false},
		{jetstream.ErrKeyNotFound, false},
		{context.Canceled, false},
		{errors.New("input.unreadable"), false},
	}
	for _, tc := range tests {
		if got := bus.Transient(tc.err); got != tc.want {
			t.Errorf("Transient(%v): got %v, want %v", tc.err, got, tc.want)
		}
	}
}

// Retry gives up on an error that is not transient at once, and retries a
// transient one until it passes.
func TestRetry(t *testing.T) {
	t.Parallel()
	calls := 0
	err := bus.Retry(t.Context(), func(context.Context) error {
		calls++
		if calls < 3 {
			return nats.ErrNoResponders
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Errorf("transient: got %v after %d calls, want nil after 3", err, calls)
	}
	calls = 0
	err = bus.Retry(t.Context(), func(context.Context) error { calls++; return jetstream.ErrKeyExists })
	if !errors.Is(err, jetstream.ErrKeyExists) || calls != 1 {
		t.Errorf("permanent: got %v after %d calls, want ErrKeyExists after 1", err, calls)
	}
}
