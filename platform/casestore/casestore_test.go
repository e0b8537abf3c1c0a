package casestore_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/natstest"
	"github.com/handoffmed/handoff/platform/record"
)

func open(t *testing.T) *casestore.Store {
	t.Helper()
	js, err := jetstream.New(natstest.Start(t).Conn(t))
	if err != nil {
		t.Fatal(err)
	}
	s, err := casestore.Open(t.Context(), js, casestore.Options{Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCaseLifecycle(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	if _, err := s.Case(ctx, "nope0000"); !errors.Is(err, casestore.ErrNotFound) {
		t.Fatalf("missing case: err = %v, want ErrNotFound", err)
	}
	c, err := s.CreateCase(ctx, record.Case{ID: "case0001", Patient: record.Patient{FamilyName: "Doe"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateCase(ctx, record.Case{ID: "case0001"}); !errors.Is(err, casestore.ErrExists) {
		t.Errorf("duplicate create: err = %v, want ErrExists", err)
	}
	c2, err := s.UpdateCase(ctx, c.ID, func(c *record.Case) error { c.Summary.Procedure = "total right hip replacement"; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if c2.Revision <= c.Revision || c2.Patient.FamilyName != "Doe" || c2.Summary.Procedure == "" {
		t.Errorf("updated case = %+v", c2)
	}
	c3, err := s.UpdateCase(ctx, c.ID, func(*record.Case) error { return casestore.ErrNoChange })
	if err != nil || c3.Revision != c2.Revision {
		t.Errorf("no-change update wrote: rev %d -> %d, err %v", c2.Revision, c3.Revision, err)
	}
	if got, err := s.EnsureCase(ctx, "case0002"); err != nil || got.ID != "case0002" {
		t.Errorf("EnsureCase = %+v, %v", got, err)
	}
}

// Many workers updating the same record concurrently lose no write.
func TestConcurrentFileUpdates(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	const workers, each = 8, 10
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				_, err := s.UpsertFile(ctx, "case0001", "file0001", func(f *record.File, exists bool) error {
					f.Warnings = append(f.Warnings, record.Error{Code: fmt.Sprintf("w%d.%d", w, i)})
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	f, err := s.File(ctx, "case0001", "file0001")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Warnings) != workers*each {
		t.Errorf("got %d writes, want %d", len(f.Warnings), workers*each)
	}
	if f.CaseID != "case0001" || f.ID != "file0001" || f.Received.IsZero() {
		t.Errorf("file identity = %+v", f)
	}
}

func TestFiles(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	if files, err := s.Files(ctx, "case0001"); err != nil || len(files) != 0 {
		t.Fatalf("empty case: %d files, %v", len(files), err)
	}
	for i := range 30 {
		if _, err := s.UpsertFile(ctx, "case0001", fmt.Sprintf("file%04d", i), func(f *record.File, _ bool) error { f.Status = record.StatusQueued; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.UpsertFile(ctx, "case0002", "file0000", func(*record.File, bool) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateFile(ctx, "case0001", "missing1", func(*record.File) error { return nil }); !errors.Is(err, casestore.ErrNotFound) {
		t.Errorf("update of a missing file: err = %v, want ErrNotFound", err)
	}
	files, err := s.Files(ctx, "case0001")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 30 {
		t.Errorf("got %d files, want 30", len(files))
	}
}

func TestFilesSince(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	put := func(id string) record.File {
		f, err := s.UpsertFile(ctx, "case0001", id, func(f *record.File, _ bool) error { f.Size++; return nil })
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	put("file0001")
	b := put("file0002")
	if got, err := s.FilesSince(ctx, "case0001", b.Revision); err != nil || len(got) != 0 {
		t.Fatalf("nothing new: %d files, %v", len(got), err)
	}
	put("file0001")
	put("file0003")
	got, err := s.FilesSince(ctx, "case0001", b.Revision)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "file0001" || got[0].Size != 2 || got[1].ID != "file0003" {
		t.Errorf("changes since %d: %+v", b.Revision, got)
	}
}

// A file record is created once; a second creation, also over a deleted
// key, reports ErrExists, and its revision is the one read back.
func TestCreateFile(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	f, err := s.CreateFile(ctx, record.File{CaseID: "case0001", ID: "file0001", Status: record.StatusQueued})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.File(ctx, "case0001", "file0001")
	if err != nil || got.Revision != f.Revision || got.Status != record.StatusQueued {
		t.Fatalf("read back %+v %v, created revision %d", got, err, f.Revision)
	}
	if _, err := s.CreateFile(ctx, record.File{CaseID: "case0001", ID: "file0001"}); !errors.Is(err, casestore.ErrExists) {
		t.Errorf("second create: err = %v, want ErrExists", err)
	}
	if err := s.KV().Delete(ctx, "file.case0001.file0001"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateFile(ctx, record.File{CaseID: "case0001", ID: "file0001"}); !errors.Is(err, casestore.ErrExists) {
		t.Errorf("create over a deleted key: err = %v, want ErrExists", err)
	}
	if _, err := s.UpsertFile(ctx, "case0001", "file0001", func(f *record.File, exists bool) error {
		if exists {
			t.Error("a deleted record reads as existing")
		}
		f.Status = record.StatusQueued
		return nil
	}); err != nil {
		t.Errorf("upsert over a deleted key: %v", err)
	}
}

// ReportHead reads what a writer compares, not the report's body.
func TestReportHead(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	gen := time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC)
	r := record.Report{Version: 1, CaseID: "c1", Generated: gen, ReferenceDate: "2026-05-04", Pending: 2, Digest: "d1", Basis: 7, CaseDigest: "cd",
		Findings: []record.Finding{{Code: "labs.missing"}}, Facts: &record.Facts{Labs: []record.LabFact{{Name: "Hemoglobin", Value: "13"}}}}
	if err := s.PutReport(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReportHead(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	want := record.Report{Version: 1, CaseID: "c1", Generated: gen, ReferenceDate: "2026-05-04", Pending: 2, Digest: "d1", Basis: 7, CaseDigest: "cd"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("head (-want +got):\n%s", diff)
	}
	if _, err := s.ReportHead(ctx, "none"); !errors.Is(err, casestore.ErrNotFound) {
		t.Errorf("no report: got %v, want ErrNotFound", err)
	}
}

// A listing whose watch never says its initial values are done (a
// consumer lost with its server) fails instead of waiting forever.
func TestEachStalls(t *testing.T) {
	s := open(t)
	casestore.SetWatchStall(t, 200*time.Millisecond)
	if _, err := s.CreateCase(t.Context(), record.Case{ID: "case0001"}); err != nil {
		t.Fatal(err)
	}
	// UpdatesOnly: the watch never sends the end-of-initial-values marker.
	err := casestore.Each(t.Context(), s.KV(), "case.*", func(jetstream.KeyValueEntry) error { return nil }, jetstream.UpdatesOnly())
	if !errors.Is(err, casestore.ErrWatchStalled) {
		t.Errorf("got %v, want ErrWatchStalled", err)
	}
	var ids []string
	err = casestore.Each(t.Context(), s.KV(), "case.*", func(e jetstream.KeyValueEntry) error { ids = append(ids, e.Key()); return nil })
	if err != nil || len(ids) != 1 {
		t.Errorf("listed %v, %v; want the one case", ids, err)
	}
}
