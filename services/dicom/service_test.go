package dicom

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/blobtest"
	"github.com/handoffmed/handoff/platform/budget"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/pipetest"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/dicom/internal/dicomdir"
)

func TestMain(m *testing.M) {
	for _, p := range []*string{&corpusDir, &testdata} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			panic(err)
		}
		*p = abs
	}
	os.Exit(blobtest.Run(m))
}

// serviceEnv is the pipeline's infrastructure and one case.
type serviceEnv struct {
	*pipetest.Env
	caseID string
}

func newServiceEnv(t *testing.T) *serviceEnv {
	t.Helper()
	e := &serviceEnv{Env: pipetest.Start(t, "/handoff/dicom")}
	c, err := e.Cases.CreateCase(t.Context(), record.Case{ID: record.NewCaseID(), Patient: record.Patient{FamilyName: "Doe", GivenName: "Peter"}})
	if err != nil {
		t.Fatal(err)
	}
	e.caseID = c.ID
	return e
}

// upload stores a corpus file as an upload of the case, records it as intake
// would (routed to dicom) and queues its work item.
func (e *serviceEnv) upload(t *testing.T, src, name string) event.FileWork {
	t.Helper()
	ctx := t.Context()
	data, err := os.ReadFile(filepath.Join(corpusDir, src))
	if err != nil {
		t.Fatal(err)
	}
	key := record.UploadKey(e.caseID, name)
	info, err := e.Blobs.Put(ctx, e.Intake, key, bytes.NewReader(data), int64(len(data)), blob.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref := event.FileRef{CaseID: e.caseID, FileID: record.FileID(e.Intake, key), Bucket: e.Intake, Key: key, ETag: info.ETag, Size: info.Size}
	_, err = e.Cases.UpsertFile(ctx, e.caseID, ref.FileID, func(f *record.File, _ bool) error {
		f.Path, f.Bucket, f.Key, f.ETag, f.Size = name, ref.Bucket, ref.Key, ref.ETag, ref.Size
		f.Source, f.Type, f.Route, f.Status = record.SourceAPI, record.TypeDICOM, record.RouteDICOM, record.StatusQueued
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	w := event.FileWork{Version: 1, FileRef: ref, Type: record.TypeDICOM, Route: record.RouteDICOM}
	if err := e.Bus.Publish(ctx, w); err != nil {
		t.Fatal(err)
	}
	return w
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestService(t *testing.T) {
	e := newServiceEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	// Completion events, watched from the EVENTS stream.
	var mu sync.Mutex
	indexed := map[string]event.DICOMIndexed{}
	sub, err := e.Bus.Conn().Subscribe(event.SubjectDICOMIndexed, func(m *nats.Msg) {
		var ev event.DICOMIndexed
		if _, err := event.Decode(m.Header, m.Data, &ev); err == nil {
			mu.Lock()
			indexed[ev.SeriesUID+"/"+ev.Digest] = ev
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	mr := "pydicom/dicomdirtests/98892003"
	var works []event.FileWork
	for _, f := range []string{"MR1/4919", "MR1/5641", "MR1/15820", "MR2/4950", "MR2/4981", "MR2/5011"} {
		works = append(works, e.upload(t, filepath.Join(mr, f), "cd/"+f))
	}
	dup := e.upload(t, filepath.Join(mr, "MR1/4919"), "again/IM0001")
	noMeta := e.upload(t, "pydicom/ExplVR_LitEndNoMeta.dcm", "rt/plan.dcm")
	bad := e.upload(t, "pydicom/charset/FileInfo.txt", "notes.dcm")
	other := e.upload(t, "pydicom/CT_small.dcm", "someone-else.dcm") // another patient

	svc, err := New(Config{DerivedBucket: e.Derived, Workers: 2}, Deps{Log: slog.New(slog.NewJSONHandler(e.Logs, nil)), Bus: e.Bus, Blobs: e.Blobs, Cases: e.Cases})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	var idx record.DicomIndex
	waitFor(t, "the case index", func() bool {
		rc, _, err := e.Blobs.Get(t.Context(), e.Derived, record.DicomIndexKey(e.caseID))
		if err != nil {
			return false
		}
		defer rc.Close()
		return json.NewDecoder(rc).Decode(&idx) == nil
	})

	files, err := e.Cases.Files(t.Context(), e.caseID)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]record.File{}
	for _, f := range files {
		byID[f.ID] = f
	}
	for _, w := range append(works, noMeta, other) {
		f := byID[w.FileID]
		if f.Status != record.StatusDone || f.Stage != StageName || f.DICOM == nil {
			t.Fatalf("file %s: status %s stage %s dicom %v", f.Path, f.Status, f.Stage, f.DICOM != nil)
		}
		if hb := f.DICOM.HeaderBytes; hb <= 0 || hb > f.Size || hb > 64<<10+f.Size {
			t.Errorf("file %s: %d header bytes read of %d", f.Path, hb, f.Size)
		}
	}
	if f := byID[bad.FileID]; f.Status != record.StatusFailed || f.Error == nil || f.Error.Code != record.CodeUnreadable {
		t.Errorf("unreadable file: status %s error %+v", f.Status, f.Error)
	}
	if got := byID[dup.FileID].DICOM; got == nil || (got.DuplicateOf == "" && byID[works[0].FileID].DICOM.DuplicateOf == "") {
		t.Errorf("duplicate upload not marked")
	}

	// The index has the studies a local index of the same files has, with file-sets.
	var paths []string
	for _, f := range []string{"MR1/4919", "MR1/5641", "MR1/15820", "MR2/4950", "MR2/4981", "MR2/5011"} {
		paths = append(paths, filepath.Join(corpusDir, mr, f))
	}
	paths = append(paths, filepath.Join(corpusDir, "pydicom/ExplVR_LitEndNoMeta.dcm"), filepath.Join(corpusDir, "pydicom/CT_small.dcm"))
	local, err := IndexLocal(t.Context(), paths, LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(idx.Studies) != len(local.Index.Studies) || len(idx.Studies) < 2 {
		t.Fatalf("got %d studies, want %d", len(idx.Studies), len(local.Index.Studies))
	}
	for i, st := range idx.Studies {
		if st.Folder != local.Index.Studies[i].Folder || st.UID != local.Index.Studies[i].UID {
			t.Errorf("study %d: %s %s, want %s %s", i, st.Folder, st.UID, local.Index.Studies[i].Folder, local.Index.Studies[i].UID)
		}
	}
	if len(idx.Unreadable) != 1 || idx.Unreadable[0] != bad.FileID {
		t.Errorf("unreadable: %v", idx.Unreadable)
	}
	codes := map[string]bool{}
	for _, f := range idx.Findings {
		codes[f.Code] = true
	}
	if !codes[record.CodeImagingDuplicate] || !codes[record.CodeImagingPatientMismatch] {
		t.Errorf("findings %v, want duplicate and (for the CT) patient mismatch", codes)
	}
	series := 0
	for _, st := range idx.Studies {
		series += len(st.Series)
		if st.FileSet == nil {
			t.Fatalf("study %s has no file-set", st.Folder)
		}
		rc, _, err := e.Blobs.Get(t.Context(), st.FileSet.DICOMDIRBucket, st.FileSet.DICOMDIRKey)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if _, err := dicomdir.Read(b); err != nil {
			t.Errorf("%s: DICOMDIR: %v", st.Folder, err)
		}
		for _, en := range st.FileSet.Entries {
			if !ValidFileID(en.Path) {
				t.Errorf("bad file ID %s", en.Path)
			}
			if en.FileID == noMeta.FileID && en.Bucket != e.Derived {
				t.Errorf("the preamble-less instance is not normalised: %+v", en)
			}
			info, err := e.Blobs.Stat(t.Context(), en.Bucket, en.Key)
			if err != nil || info.Size != en.Size {
				t.Errorf("entry %s: %v, size %d want %d", en.Path, err, info.Size, en.Size)
			}
		}
	}
	waitFor(t, "one completion event per series", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(indexed) == series
	})

	// A redelivered work item changes nothing.
	before := byID[works[0].FileID].Revision
	msg, err := event.Encode(works[0], "/test", "")
	if err != nil {
		t.Fatal(err)
	}
	msg.Header.Set(nats.MsgIdHdr, "redelivery-1")
	if err := e.Bus.PublishMsg(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	cons, err := e.Bus.JetStream().Consumer(t.Context(), bus.StreamWork, "dicom")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the redelivered item to be acked", func() bool {
		ci, err := cons.Info(t.Context())
		return err == nil && ci.NumPending == 0 && ci.NumAckPending == 0 && ci.Delivered.Consumer >= uint64(len(works)+4)
	})
	after, err := e.Cases.File(t.Context(), e.caseID, works[0].FileID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Revision != before {
		t.Errorf("redelivery changed the file record: revision %d → %d", before, after.Revision)
	}

	// No patient data in the logs.
	logs := e.Logs.String()
	for _, phi := range []string{"Doe", "Peter", "98890234", "Brain", "CompressedSamples", "1CT1", "someone-else"} {
		if strings.Contains(logs, phi) {
			t.Errorf("logs contain patient data %q", phi)
		}
	}
	if !strings.Contains(logs, `"msg":"case indexed"`) {
		t.Errorf("logs lack the case indexed line")
	}
}

// TestServiceCaseBudget: a case over its DICOM budget keeps its files: the
// files past the budget are rejected with input.case_dicom_budget (not as
// unreadable), the others indexed, and a redelivery counts nothing twice.
func TestServiceCaseBudget(t *testing.T) {
	e := newServiceEnv(t)
	mr := "pydicom/dicomdirtests/98892003"
	var works []event.FileWork
	for _, f := range []string{"MR1/4919", "MR1/5641", "MR1/15820", "MR2/4950", "MR2/4981"} {
		works = append(works, e.upload(t, filepath.Join(mr, f), "cd/"+f))
	}
	svc, err := New(Config{DerivedBucket: e.Derived, Workers: 2, CaseInstances: 3}, Deps{Log: e.Log, Bus: e.Bus, Blobs: e.Blobs, Cases: e.Cases})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	var files []record.File
	waitFor(t, "every file settled", func() bool {
		files, err = e.Cases.Files(t.Context(), e.caseID)
		if err != nil {
			return false
		}
		for _, f := range files {
			if f.Pending() {
				return false
			}
		}
		return true
	})
	indexed, over := 0, 0
	for _, f := range files {
		switch {
		case f.Status == record.StatusDone && f.DICOM != nil:
			indexed++
		case f.Status == record.StatusFailed && f.Error != nil && f.Error.Code == record.CodeCaseDICOMBudget:
			over++
			if !strings.Contains(f.Error.Message, "3 DICOM files") {
				t.Errorf("message %q, want the budget", f.Error.Message)
			}
		default:
			t.Errorf("file %s: %s %+v", f.Path, f.Status, f.Error)
		}
	}
	if indexed != 3 || over != 2 {
		t.Errorf("%d indexed, %d over the budget; want 3 and 2", indexed, over)
	}
	var idx record.DicomIndex
	waitFor(t, "the case index of the 3 files", func() bool {
		rc, _, err := e.Blobs.Get(t.Context(), e.Derived, record.DicomIndexKey(e.caseID))
		if err != nil {
			return false
		}
		defer rc.Close()
		n := 0
		if json.NewDecoder(rc).Decode(&idx) == nil {
			for _, st := range idx.Studies {
				for _, se := range st.Series {
					n += se.Instances
				}
			}
		}
		return n == 3
	})
	if len(idx.Unreadable) != 0 {
		t.Errorf("unreadable %v: files over the budget are not unreadable", idx.Unreadable)
	}
	// A redelivered item (after the de-duplication window) counts nothing again.
	msg, err := event.Encode(works[0], "/test", "")
	if err != nil {
		t.Fatal(err)
	}
	msg.Header.Set(nats.MsgIdHdr, "redelivery-1")
	if err := e.Bus.PublishMsg(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	cons, err := e.Bus.JetStream().Consumer(t.Context(), bus.StreamWork, "dicom")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the redelivered item to be acked", func() bool {
		ci, err := cons.Info(t.Context())
		return err == nil && ci.NumPending == 0 && ci.NumAckPending == 0 && ci.Delivered.Consumer >= uint64(len(works)+1)
	})
	used, err := budget.New(e.Bus.JetStream(), budget.Options{}).Used(t.Context(), e.caseID)
	if err != nil {
		t.Fatal(err)
	}
	if used[budget.DICOMInstances] != 3 {
		t.Errorf("usage %v, want 3 instances", used)
	}
}
