package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/handoffmed/handoff/cmd/handoff/internal/e2e"
	"github.com/handoffmed/handoff/platform/record"
)

// uploadMix uploads a DICOM file, a text PDF, a JPEG and a ZIP through the
// API and one more file through a stock S3 client, and returns what each
// path must be sniffed and routed as.
func uploadMix(t *testing.T, p *e2e.Pipeline, caseID string) map[string]string {
	t.Helper()
	p.Upload(caseID, "scans/CT chest", e2e.ReadCorpus(t, "dicom-peer/pydicom/CT_small.dcm"))
	p.Upload(caseID, "Lab results 2026-10.pdf", e2e.TextPDF("Quest Diagnostics", "Complete blood count", "Hemoglobin 14.1 g/dL"))
	p.Upload(caseID, "phone/IMG_2041.jpg", e2e.JPEG(t))
	p.Upload(caseID, "portal.zip", e2e.Zip(t,
		[2]string{"Export/Visit summary.txt", "Visit summary\nSeen in clinic for right hip pain.\n"},
		[2]string{"Export/Imaging/IM0001", string(e2e.ReadCorpus(t, "dicom-peer/pydicom/MR_small.dcm"))},
	))
	dir := t.TempDir()
	direct := filepath.Join(dir, "op-note.pdf")
	if err := os.WriteFile(direct, e2e.TextPDF("Operative report", "Procedure: right knee arthroscopy"), 0o600); err != nil {
		t.Fatal(err)
	}
	p.UploadS3(caseID, "from s3/op note.pdf", direct)
	return map[string]string{
		"scans/CT chest":                       "dicom/dicom",
		"Lab results 2026-10.pdf":              "pdf/ocr",
		"phone/IMG_2041.jpg":                   "jpeg/ocr",
		"portal.zip":                           "zip/archive",
		"portal.zip!/Export/Visit summary.txt": "text/text",
		"portal.zip!/Export/Imaging/IM0001":    "dicom/dicom",
		"from s3/op note.pdf":                  "pdf/ocr",
	}
}

// checkRouted waits until every expected file is sniffed and routed and
// checks its type and route.
func checkRouted(t *testing.T, p *e2e.Pipeline, caseID string, want map[string]string) e2e.CaseView {
	t.Helper()
	v := p.WaitFor(caseID, "every file sniffed and routed", 60*time.Second, func(v e2e.CaseView) bool {
		routed := 0
		for _, f := range v.Files {
			if f.Route != "" && f.Status != record.StatusReceived {
				routed++
			}
		}
		return routed >= len(want)
	})
	got := map[string]string{}
	for _, f := range v.Files {
		got[f.Path] = f.Type + "/" + f.Route
		if f.Error != nil {
			t.Errorf("%s: unexpected error %+v", f.Path, f.Error)
		}
	}
	for path, w := range want {
		if got[path] != w {
			t.Errorf("%s: got %q, want %q", path, got[path], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("case has %d files, want %d: %v", len(got), len(want), got)
	}
	return v
}

// The whole pipeline in one process on the embedded default: uploads through
// the API and through a stock S3 client are sniffed, routed and listed.
// Work left queued when the process stops is done after a restart on the
// same data directory.
func TestServeEmbedded(t *testing.T) {
	t.Parallel()
	// Intake alone first: the DICOM and OCR work stays on its queues.
	p := e2e.Start(t, e2e.Options{Args: []string{"--services", "intake"}})
	id := p.CreateCase(`{"patient":{"family_name":"Example","given_name":"Robin","birth_date":"1961-03-14"}}`)
	want := uploadMix(t, p, id)
	checkRouted(t, p, id, want)

	// Every service now: the queued work is taken up where it stopped.
	p2 := p.RestartWith(nil)
	v := p2.WaitIdle(id, len(want), 3*time.Minute)
	for _, f := range v.Files {
		if f.Status != record.StatusDone {
			t.Errorf("%s: status %s after restart, want done (error %+v)", f.Path, f.Status, f.Error)
		}
	}
	// It still takes uploads.
	p2.Upload(id, "after restart.txt", []byte("Medication list\naspirin 81 mg daily\n"))
	want["after restart.txt"] = "text/text"
	checkRouted(t, p2, id, want)
}

// The same, split across processes against a real nats-server and a
// versitygw S3 server that publishes bucket notifications to NATS (core
// NATS, plain S3 payloads, as MinIO would in production).
func TestServeExternal(t *testing.T) {
	t.Parallel()
	x := e2e.StartExternal(t, e2e.ExternalOptions{Groups: []string{"intake", "dicom,ocr,packager"}})
	id := x.CreateCase(`{"patient":{"family_name":"Example","given_name":"Robin"}}`)
	want := uploadMix(t, x.Pipeline, id)
	checkRouted(t, x.Pipeline, id, want)
	// The worker process does the DICOM and OCR work.
	v := x.WaitIdle(id, len(want), 3*time.Minute)
	for _, f := range v.Files {
		if f.Status != record.StatusDone {
			t.Errorf("%s: status %s, want done (error %+v)", f.Path, f.Status, f.Error)
		}
	}
}

// Killing intake in the middle of expanding an archive and starting it again
// loses nothing and does nothing twice.
func TestKillAndRestartLosesNothing(t *testing.T) {
	t.Parallel()
	x := e2e.StartExternal(t, e2e.ExternalOptions{Groups: []string{"intake"}})
	id := x.CreateCase("")
	const n = 400
	entries := make([][2]string, n)
	for i := range entries {
		entries[i] = [2]string{fmt.Sprintf("notes/%03d.txt", i), fmt.Sprintf("Progress note %d\n%s", i, strings.Repeat("text ", 200))}
	}
	x.Upload(id, "export.zip", e2e.Zip(t, entries...))
	// Kill intake once the expansion is under way.
	x.WaitFor(id, "expansion under way", 60*time.Second, func(v e2e.CaseView) bool { return len(v.Files) > 20 })
	x.Processes["intake"].Kill()
	x.RestartGroup(t, "intake")
	v := x.WaitIdle(id, n+1, 3*time.Minute)
	seen := map[string]int{}
	for _, f := range v.Files {
		seen[f.Path]++
		if f.Status != record.StatusDone {
			t.Errorf("%s: status %s", f.Path, f.Status)
		}
	}
	if len(v.Files) != n+1 {
		t.Errorf("%d files, want %d", len(v.Files), n+1)
	}
	for path, c := range seen {
		if c != 1 {
			t.Errorf("%s recorded %d times", path, c)
		}
	}
}

// Bucket notifications lost in a NATS outage are made up for by
// reconciliation. The S3 server keeps the notifications of uploads made
// during the outage in its client's reconnect buffer and drops them when it
// gives up (versitygw's nats.go client: after 60 attempts 2 s apart, not
// configurable) or when it stops first: here it is killed while NATS is
// down, so the buffered notifications are lost in seconds instead of minutes.
func TestNATSOutageReconciliation(t *testing.T) {
	t.Parallel()
	x := e2e.StartExternal(t, e2e.ExternalOptions{Groups: []string{"intake"}, Args: []string{"--reconcile", "3s"}})
	id := x.CreateCase("")
	x.Upload(id, "before.txt", []byte("Medication list\n"))
	x.WaitIdle(id, 1, 30*time.Second)

	if err := x.NATS.Stop(t); err != nil {
		t.Logf("nats-server exit: %v", err)
	}
	dir := t.TempDir()
	upload := func(name string) {
		f := filepath.Join(dir, "f.txt")
		if err := os.WriteFile(f, []byte("Progress note "+name+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		x.UploadS3(id, name, f)
	}
	// While NATS is down, S3 keeps taking uploads; their notifications wait
	// in versitygw's client buffer, and are lost when it dies.
	for i := range 3 {
		upload(fmt.Sprintf("during-outage-%d.txt", i))
	}
	x.S3Proc.Kill()
	x.StartNATS(t, "")
	x.StartS3(t, "")
	upload("after-outage.txt")
	v := x.WaitIdle(id, 5, 2*time.Minute)
	for _, f := range v.Files {
		if strings.HasPrefix(f.Path, "during-outage") && f.Source != record.SourceReconcile {
			t.Errorf("%s: source %q, want reconcile (its notification was lost)", f.Path, f.Source)
		}
	}
}
