package stage_test

import (
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/natstest"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/stage"
)

func TestTracker(t *testing.T) {
	nc := natstest.Start(t).Conn(t)
	b, err := bus.New(nc, "/test", nil, bus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Setup(t.Context(), bus.Topology{Memory: true}); err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	cases, err := casestore.Open(t.Context(), js, casestore.Options{Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	tr := stage.Tracker{Cases: cases, Bus: b}
	ctx := t.Context()
	ref := event.FileRef{CaseID: "case0001", FileID: "file0001", ETag: "e1"}

	if _, err := tr.Start(ctx, ref, "dicom"); !errors.Is(err, stage.ErrNotRecorded) {
		t.Fatalf("before the record exists: err = %v, want ErrNotRecorded", err)
	}
	if _, err := cases.UpsertFile(ctx, ref.CaseID, ref.FileID, func(f *record.File, _ bool) error {
		f.ETag, f.Status = "e1", record.StatusQueued
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	f, err := tr.Start(ctx, ref, "dicom")
	if err != nil || f.Status != record.StatusProcessing || f.Stage != "dicom" {
		t.Fatalf("start: %+v, %v", f, err)
	}
	for range 2 { // done twice: the second changes nothing
		f, err = tr.Done(ctx, ref, "dicom", func(f *record.File) { f.DICOM = &record.DicomInstance{SOPInstanceUID: "1.2.3"} })
		if err != nil || f.Status != record.StatusDone || f.DICOM == nil {
			t.Fatalf("done: %+v, %v", f, err)
		}
	}
	stale := ref
	stale.ETag = "e0"
	if _, err := tr.Fail(ctx, stale, "dicom", &record.Error{Code: record.CodeUnreadable}); !errors.Is(err, stage.ErrStale) {
		t.Errorf("older revision: err = %v, want ErrStale", err)
	}
	st, _ := b.JetStream().Stream(ctx, bus.StreamEvents)
	info, _ := st.Info(ctx)
	if info.State.Msgs != 1 {
		t.Errorf("%d events, want one FileDone (the repeat is de-duplicated)", info.State.Msgs)
	}
}
