package casestore_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/natstest"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/testenv"
)

// A compare-and-set made while the server restarts is retried until the
// server is back, and applied once.
func TestUpdateOutlastsServerRestart(t *testing.T) {
	t.Parallel()
	port := testenv.FreePort(t)
	dir := t.TempDir()
	srv := natstest.StartDir(t, dir, port)
	nc, err := bus.Connect(t.Context(), bus.ConnectOptions{URL: srv.URL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := casestore.Open(t.Context(), js, casestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateFile(t.Context(), record.File{CaseID: "case0001", ID: "file0001", Status: record.StatusQueued}); err != nil {
		t.Fatal(err)
	}
	srv.Shutdown()
	srv.WaitForShutdown()
	type result struct {
		f   record.File
		err error
	}
	done := make(chan result, 1)
	calls := 0
	go func() {
		f, err := s.UpdateFile(t.Context(), "case0001", "file0001", func(f *record.File) error {
			calls++
			f.Warnings = append(f.Warnings, record.Error{Code: "w"})
			return nil
		})
		done <- result{f, err}
	}()
	time.Sleep(time.Second)
	natstest.StartDir(t, dir, port)
	r := <-done
	if r.err != nil {
		t.Fatalf("update across a restart: %v", r.err)
	}
	f, err := s.File(t.Context(), "case0001", "file0001")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Warnings) != 1 || f.Revision != r.f.Revision {
		t.Errorf("after %d calls: record %+v (revision %d), want one warning at revision %d", calls, f.Warnings, f.Revision, r.f.Revision)
	}
}
