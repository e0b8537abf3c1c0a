package event

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestEncodeDecode(t *testing.T) {
	ev := FileWork{Version: 1, FileRef: FileRef{CaseID: "abcd1234", FileID: "f1", Bucket: "b", Key: "cases/abcd1234/uploads/x.pdf", ETag: `"e-1"`, Size: 3}, Type: "pdf", Route: "ocr"}
	parent := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	msg, err := Encode(ev, "/handoff/intake", parent)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := msg.Subject, "handoff.work.ocr"; got != want {
		t.Errorf("subject = %q, want %q", got, want)
	}
	for h, want := range map[string]string{
		HeaderSpecVersion: "1.0", HeaderType: "dev.handoff.file.routed.v1", HeaderSource: "/handoff/intake",
		HeaderSubject: "abcd1234", "Nats-Msg-Id": "work.ocr.f1.e-1", HeaderContentType: "application/json",
	} {
		if got := msg.Header.Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	tp := msg.Header.Get(HeaderTraceParent)
	if !strings.HasPrefix(tp, "00-4bf92f3577b34da6a3ce929d0e0e4736-") || tp == parent {
		t.Errorf("traceparent %q does not continue the parent trace in a new span", tp)
	}
	var got FileWork
	meta, err := Decode(msg.Header, msg.Data, &got)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ev, got); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
	if meta.CaseID != "abcd1234" || meta.Time.IsZero() {
		t.Errorf("meta = %+v", meta)
	}
	var wrong OCRDone
	if _, err := Decode(msg.Header, msg.Data, &wrong); !errors.Is(err, ErrWrongType) {
		t.Errorf("decoding as another type: err = %v, want ErrWrongType", err)
	}
}

func TestTraceParent(t *testing.T) {
	re := regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$`)
	for _, parent := range []string{"", "garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"} {
		if tp := ChildTraceParent(parent); !re.MatchString(tp) || strings.Contains(tp, "-00000000000000000000000000000000-") {
			t.Errorf("ChildTraceParent(%q) = %q", parent, tp)
		}
	}
}

// TestWireForms pins the JSON of every event type: a change here is a
// contract change (only add fields; a breaking change is a new version).
func TestWireForms(t *testing.T) {
	ref := FileRef{CaseID: "abcd1234", FileID: "ffff0000", Bucket: "handoff-intake", Key: "cases/abcd1234/uploads/a.pdf", ETag: "e1", Size: 42}
	events := []Event{
		FileWork{Version: 1, FileRef: ref, Type: "pdf", Route: "ocr"},
		FileRejected{Version: 1, FileRef: ref, Code: "input.empty", Stage: "sniff"},
		FileDone{Version: 1, FileRef: ref, Stage: "understand"},
		DICOMIndexed{Version: 1, CaseID: "abcd1234", StudyUID: "1.2", SeriesUID: "1.2.3", Instances: 3, IndexKey: "cases/abcd1234/dicom/index.json", Digest: "d", Basis: 7},
		OCRDone{Version: 1, FileRef: ref, OutputBucket: "handoff-derived", SearchableKey: "s.pdf", TextKey: "t.txt", SHA256: "00", Pages: 2, OCRPages: 1, LayoutKey: "l.json"},
		OCRPageWork{Version: 1, FileRef: ref, Page: 2, Pages: 20},
		OCRPageWork{Version: 1, FileRef: ref, Page: 3, Pages: 20, First: true},
		DocumentClassified{Version: 1, CaseID: "abcd1234", FileID: "ffff0000", ETag: "e1", Category: "lab_report"},
		CaseUpdated{Version: 1, CaseID: "abcd1234", Revision: 7},
		CaseDeleted{Version: 1, CaseID: "abcd1234", ByKind: "coordinator", ByID: "alice", Objects: 12, Records: 9, Messages: 30, Deleted: "2026-11-02T10:00:00Z"},
		ReportUpdated{Version: 1, CaseID: "abcd1234", Digest: "d", ReportKey: "r", Missing: []string{"labs"}, Codes: []string{"labs.missing"}, Errors: 1},
		BundleRequested{Version: 1, CaseID: "abcd1234", Trigger: "request", RequestID: "r1"},
		BundleReady{Version: 1, CaseID: "abcd1234", BundleVersion: 2, Bucket: "handoff-bundles", Key: "k.zip", Size: 9, SHA256: "00"},
		DeadLetter{Version: 1, Stream: "WORK", Consumer: "dicom", OrigSubject: "handoff.work.dicom", StreamSeq: 5, Deliveries: 5, Error: "input.unreadable: x", Data: []byte("{}")},
	}
	var b strings.Builder
	for _, ev := range events {
		msg, err := Encode(ev, "/test", "")
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(ev.EventType() + " on " + msg.Subject + " id " + ev.MsgID() + "\n" + string(msg.Data) + "\n\n")
	}
	golden := filepath.Join("testdata", "wire.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("wire forms changed (-golden +got):\n%s", diff)
	}
}
