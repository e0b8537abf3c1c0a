// Package pipetest sets up what a service test runs against: a real
// in-process NATS server with the pipeline's streams and case store, and
// fresh buckets on the embedded S3 endpoint (call blobtest.Run from
// TestMain), with the service's logs captured for checks.
package pipetest

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/blobtest"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/natstest"
	"github.com/handoffmed/handoff/platform/s3gw"
)

// Env is one test's pipeline infrastructure.
type Env struct {
	URL     string // the NATS server's, for processes the test starts
	Conn    *nats.Conn
	Bus     *bus.Bus
	Cases   *casestore.Store
	Blobs   *blob.Store
	Intake  string // bucket names
	Derived string
	Bundles string
	Logs    *Logs
	// Log writes JSON records at debug level into Logs.
	Log *slog.Logger
}

// Options tunes Start. The zero value is the default.
type Options struct {
	// Files keeps streams on disk, as deployed services set them up (a
	// test that starts service processes against the server needs it).
	Files bool
	// Notify has uploads to the intake bucket notified to the pipeline's
	// bucket-event subject, as the embedded S3 endpoint of handoff serve does.
	Notify bool
}

// Start starts NATS (memory streams), opens the case store and makes the
// three buckets; source names the bus in events ("/handoff/dicom").
func Start(t testing.TB, source string) *Env { return StartWith(t, source, Options{}) }

// StartWith is Start with options.
func StartWith(t testing.TB, source string, o Options) *Env {
	t.Helper()
	ns := natstest.Start(t)
	logs := &Logs{}
	e := &Env{URL: ns.URL(), Conn: ns.Conn(t), Logs: logs, Log: logs.Logger(), Blobs: blobtest.Store(t)}
	var err error
	if e.Bus, err = bus.New(e.Conn, source, e.Log, bus.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := e.Bus.Setup(t.Context(), bus.Topology{Memory: !o.Files}); err != nil {
		t.Fatal(err)
	}
	if e.Cases, err = casestore.Open(t.Context(), e.Bus.JetStream(), casestore.Options{Memory: !o.Files}); err != nil {
		t.Fatal(err)
	}
	var n s3gw.Notifier
	if o.Notify {
		n = s3gw.NewJetStreamNotifier(e.Bus, "")
	}
	e.Intake, e.Derived, e.Bundles = blobtest.Bucket(t, n), blobtest.Bucket(t, nil), blobtest.Bucket(t, nil)
	return e
}

// Logs collects log output from several goroutines.
type Logs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Logger returns a JSON logger at debug level writing into l.
func (l *Logs) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Write implements io.Writer.
func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String is everything logged so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
