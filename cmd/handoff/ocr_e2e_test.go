package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/cmd/handoff/internal/e2e"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/record"
)

// A 5-page scanned PDF (a corpus page in its four turns, and another)
// uploaded to a case through `handoff serve` ends as a
// searchable PDF in the derived bucket with its completion event, and a
// second OCR worker process takes pages of it alongside serve's own.
func TestOCRTwoWorkersThroughServe(t *testing.T) {
	dir := t.TempDir()
	scan := filepath.Join(dir, "scan.pdf")
	t.Parallel()
	// The same generator the OCR benchmark uses: corpus pages, 5 in all.
	gen := exec.Command("bash", filepath.Join("..", "..", "bench", "ocr", "make_scanned.sh"), scan, "5")
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("make_scanned.sh: %v\n%s", err, out)
	}
	// One Tesseract per process, so that the two processes share the pages;
	// pages taken at about 150 dpi (2.2 megapixels), where the words
	// checked are read too, in half the time of 300 dpi.
	quick := "HANDOFF_OCR_MAX_PAGE_PIXELS=2200000"
	p := e2e.Start(t, e2e.Options{Args: []string{"--ocr-workers", "1"}, Env: []string{quick}})
	worker := e2e.StartProc(t, "handoff serve --services ocr",
		[]string{"HANDOFF_S3_ACCESS_KEY=" + p.S3Access, "HANDOFF_S3_SECRET_KEY=" + p.S3Secret, quick},
		e2e.Binary(t), "serve", "--services", "ocr", "--nats-url", p.Endpoints.NATS, "--nats-keys", p.NATSKeys, "--s3-endpoint", p.S3,
		"--data", filepath.Join(dir, "worker"), "--http", "127.0.0.1:0", "--ocr-workers", "1", "--log-format", "json")

	id := p.CreateCase("")
	data, err := os.ReadFile(scan)
	if err != nil {
		t.Fatal(err)
	}
	f := p.Upload(id, "Records/scanned packet.pdf", data)
	v := p.WaitIdle(id, 1, 6*time.Minute)
	if got := v.Files[0]; got.Status != record.StatusDone || got.Route != record.RouteOCR {
		t.Fatalf("file: %+v", got)
	}

	serveds, workers := strings.Count(p.Serve.Output(), `"msg":"page done"`), strings.Count(worker.Output(), `"msg":"page done"`)
	t.Logf("pages done: %d by serve, %d by the second worker", serveds, workers)
	if serveds == 0 || workers == 0 {
		t.Errorf("pages done: %d by serve, %d by the second worker; want both to take pages", serveds, workers)
	}

	// The completion event names the searchable PDF in the derived bucket.
	done := ocrDone(t, p, id, f.ID)
	if done.Pages != 5 || done.OCRPages != 5 || done.FailedPages != 0 || done.OutputBucket != p.Derived {
		t.Errorf("ocr.done = %+v", done)
	}
	rc, info, err := p.Blobs.Get(t.Context(), done.OutputBucket, done.SearchableKey)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "searchable.pdf")
	w, _ := os.Create(out)
	_, err = io.Copy(w, rc)
	rc.Close()
	w.Close()
	if err != nil || info.Size == 0 {
		t.Fatalf("searchable PDF: %d bytes, %v", info.Size, err)
	}
	if msg, err := exec.Command("qpdf", "--check", out).CombinedOutput(); err != nil {
		t.Errorf("qpdf --check: %v\n%s", err, msg)
	}
	text, err := exec.Command("pdftotext", out, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, word := range []string{"LinnSequencer", "MIDI"} {
		if !strings.Contains(string(text), word) {
			t.Errorf("the searchable PDF's text layer has no %q", word)
		}
	}
	// The original is untouched.
	if st, err := p.Blobs.Stat(t.Context(), p.Intake, record.UploadKey(id, record.UploadRef(id, "Records/scanned packet.pdf"))); err != nil || st.Size != int64(len(data)) {
		t.Errorf("original: %+v, %v", st, err)
	}
}

// ocrDone finds a file's handoff.ocr.done event in the EVENTS stream.
func ocrDone(t *testing.T, p *e2e.Pipeline, caseID, fileID string) event.OCRDone {
	t.Helper()
	nc, err := p.Conn(t, "admin")
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, bus.StreamEvents, jetstream.OrderedConsumerConfig{FilterSubjects: []string{event.SubjectOCRDone}})
	if err != nil {
		t.Fatal(err)
	}
	for {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("no handoff.ocr.done for the file: %v", err)
		}
		var done event.OCRDone
		if _, err := event.Decode(m.Headers(), m.Data(), &done); err != nil {
			t.Fatal(err)
		}
		if done.CaseID == caseID && done.FileID == fileID {
			if m.Headers().Get(event.HeaderType) != done.EventType() {
				t.Errorf("ce-type %q", m.Headers().Get(event.HeaderType))
			}
			return done
		}
	}
}
