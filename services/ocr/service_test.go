package ocr_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/pipetest"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/textlayout"
	"github.com/handoffmed/handoff/services/ocr"
)

// serviceEnv is the pipeline's infrastructure and one case.
type serviceEnv struct {
	*pipetest.Env
	caseID string
}

func newServiceEnv(t *testing.T) *serviceEnv {
	t.Helper()
	e := &serviceEnv{Env: pipetest.Start(t, "/handoff/test"), caseID: record.NewCaseID()}
	if _, err := e.Cases.CreateCase(t.Context(), record.Case{ID: e.caseID, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return e
}

// start runs an OCR service (one worker process) until the test ends.
func (e *serviceEnv) start(t *testing.T, name string, cfg ocr.Config) *pipetest.Logs {
	t.Helper()
	logs := &pipetest.Logs{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("worker", name)
	b, err := bus.New(e.Conn, "/handoff/ocr", log, bus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.DerivedBucket = e.Derived
	cfg.WorkDir = t.TempDir()
	svc, err := ocr.New(cfg, ocr.Deps{Log: log, Bus: b, Blobs: e.Blobs, Cases: e.Cases})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: run: %v", name, err)
		}
	})
	return logs
}

// upload stores a file in the intake bucket, records it as the intake
// service does, and queues it for OCR.
func (e *serviceEnv) upload(t *testing.T, name, path string) event.FileRef {
	t.Helper()
	return e.uploadTo(t, e.caseID, name, path)
}

// newCase creates another case.
func (e *serviceEnv) newCase(t *testing.T) string {
	t.Helper()
	id := record.NewCaseID()
	if _, err := e.Cases.CreateCase(t.Context(), record.Case{ID: id, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return id
}

// uploadTo is upload to another case.
func (e *serviceEnv) uploadTo(t *testing.T, caseID, name, path string) event.FileRef {
	t.Helper()
	ctx := t.Context()
	data := mustRead(t, path)
	key := record.UploadKey(caseID, name)
	info, err := e.Blobs.Put(ctx, e.Intake, key, bytes.NewReader(data), int64(len(data)), blob.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref := event.FileRef{CaseID: caseID, FileID: record.FileID(e.Intake, key), Bucket: e.Intake, Key: key, ETag: info.ETag, Size: info.Size}
	typ := record.TypePDF
	if !strings.HasSuffix(name, ".pdf") {
		typ = record.TypeJPEG
	}
	if _, err := e.Cases.UpsertFile(ctx, caseID, ref.FileID, func(f *record.File, _ bool) error {
		*f = record.File{CaseID: caseID, ID: ref.FileID, Path: name, Bucket: e.Intake, Key: key, ETag: info.ETag,
			Size: info.Size, Source: record.SourceAPI, Type: typ, Route: record.RouteOCR, Status: record.StatusQueued}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.Bus.Publish(ctx, event.FileWork{Version: 1, FileRef: ref, Type: typ, Route: record.RouteOCR}); err != nil {
		t.Fatal(err)
	}
	return ref
}

// collect subscribes to subject and keeps what arrives.
type collector struct {
	mu   sync.Mutex
	msgs []*nats.Msg
}

func (e *serviceEnv) collect(t *testing.T, subject string) *collector {
	t.Helper()
	c := &collector{}
	sub, err := e.Conn.Subscribe(subject, func(m *nats.Msg) {
		c.mu.Lock()
		c.msgs = append(c.msgs, m)
		c.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return c
}

func (c *collector) all() []*nats.Msg {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.msgs)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func ocrDone(t *testing.T, m *nats.Msg) event.OCRDone {
	t.Helper()
	var d event.OCRDone
	if _, err := event.Decode(m.Header, m.Data, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func (e *serviceEnv) get(t *testing.T, bucket, key string) []byte {
	t.Helper()
	rc, _, err := e.Blobs.Get(t.Context(), bucket, key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkSearchable fetches the searchable PDF and checks it and its text.
func (e *serviceEnv) checkSearchable(t *testing.T, d event.OCRDone, words ...string) {
	t.Helper()
	pdf := filepath.Join(t.TempDir(), "out.pdf")
	if err := os.WriteFile(pdf, e.get(t, d.OutputBucket, d.SearchableKey), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("qpdf", "--check", pdf).CombinedOutput(); err != nil {
		t.Errorf("qpdf --check: %v\n%s", err, out)
	}
	out, err := exec.Command("pdftotext", "-q", pdf, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	sidecar := string(e.get(t, d.OutputBucket, d.TextKey))
	for _, w := range words {
		if !strings.Contains(string(out), w) {
			t.Errorf("searchable PDF misses %q", w)
		}
		if !strings.Contains(sidecar, w) {
			t.Errorf("text sidecar misses %q", w)
		}
	}
}

// phiWords are words of the documents that must never reach the logs.
var phiWords = []string{"LinnSequencer", "polyphonic", "TRANSPOSED", "Sequencer"}

func checkLogs(t *testing.T, logs ...*pipetest.Logs) {
	t.Helper()
	for _, l := range logs {
		for _, w := range phiWords {
			if strings.Contains(l.String(), w) {
				t.Errorf("document text %q in the logs", w)
			}
		}
	}
}

func TestServiceDocument(t *testing.T) {
	t.Parallel()
	e := newServiceEnv(t)
	done := e.collect(t, event.SubjectOCRDone)
	logs := e.start(t, "w1", ocr.Config{Workers: 2})
	orig := filepath.Join(corpus, "linn.pdf")
	ref := e.upload(t, "scans/linn.pdf", orig)
	waitFor(t, 2*time.Minute, "ocr done", func() bool { return len(done.all()) > 0 })
	d := ocrDone(t, done.all()[0])
	if d.FileID != ref.FileID || d.Pages != 1 || d.OCRPages != 1 || d.FailedPages != 0 || len(d.SHA256) != 64 {
		t.Errorf("event %+v", d)
	}
	e.checkSearchable(t, d, "LinnSequencer", "MIDI")
	f, err := e.Cases.File(t.Context(), e.caseID, ref.FileID)
	if err != nil {
		t.Fatal(err)
	}
	doc := f.Document
	if doc == nil || doc.SearchableKey != d.SearchableKey || doc.TextKey != d.TextKey || doc.SearchableBucket != e.Derived ||
		!slices.Equal(doc.OCRPages, []int{1}) || len(doc.Confidence) != 1 || doc.Confidence[0] < 50 {
		t.Errorf("file document %+v", doc)
	}
	if f.Stage != ocr.StageName || f.Status != record.StatusProcessing {
		t.Errorf("file status %s/%s, want processing/ocr (understanding finishes it)", f.Status, f.Stage)
	}
	if !strings.HasPrefix(d.SearchableKey, record.DerivedPrefix(e.caseID, ref.FileID)) {
		t.Errorf("output key %s outside the file's derived prefix", d.SearchableKey)
	}
	// The layout sidecar: recorded, announced, and the words of the text.
	if doc == nil || d.LayoutKey == "" || doc.LayoutKey != d.LayoutKey || !strings.HasPrefix(d.LayoutKey, record.DerivedPrefix(e.caseID, ref.FileID)) {
		t.Errorf("layout key: event %q, record %+v", d.LayoutKey, doc)
	} else {
		l, err := textlayout.Decode(e.get(t, d.OutputBucket, d.LayoutKey))
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Pages) != 1 || l.Pages[0].Text() != string(e.get(t, d.OutputBucket, d.TextKey)) {
			t.Errorf("layout sidecar does not give the text sidecar")
		}
	}
	// The original is untouched.
	if !bytes.Equal(e.get(t, e.Intake, ref.Key), mustRead(t, orig)) {
		t.Errorf("original changed")
	}
	checkLogs(t, logs)
}

func TestServicePicture(t *testing.T) {
	t.Parallel()
	e := newServiceEnv(t)
	done := e.collect(t, event.SubjectOCRDone)
	e.start(t, "w1", ocr.Config{Workers: 1})
	root := filepath.Join(t.TempDir(), "photo")
	if out, err := exec.Command("pdftoppm", "-r", "300", "-singlefile", "-jpeg", filepath.Join(corpus, "francais.pdf"), root).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
	e.upload(t, "photo.jpg", root+".jpg")
	waitFor(t, 2*time.Minute, "ocr done", func() bool { return len(done.all()) > 0 })
	d := ocrDone(t, done.all()[0])
	if d.Pages != 1 || d.OCRPages != 1 {
		t.Errorf("event %+v", d)
	}
	e.checkSearchable(t, d, "whisky")
}

func TestServiceRejects(t *testing.T) {
	t.Parallel()
	e := newServiceEnv(t)
	rejected := e.collect(t, event.SubjectFileRejected)
	e.start(t, "w1", ocr.Config{Workers: 1})
	ref := e.upload(t, "locked.pdf", filepath.Join(corpus, "linn_encrypted_user.pdf"))
	waitFor(t, time.Minute, "rejection", func() bool { return len(rejected.all()) > 0 })
	f, err := e.Cases.File(t.Context(), e.caseID, ref.FileID)
	if err != nil {
		t.Fatal(err)
	}
	if f.Status != record.StatusFailed || f.Error == nil || f.Error.Code != record.CodeEncrypted {
		t.Errorf("file %s %+v, want failed with %s", f.Status, f.Error, record.CodeEncrypted)
	}
}

// scannedPDF builds an n-page scanned PDF from corpus pages.
func scannedPDF(t *testing.T, n int) string {
	t.Helper()
	sources := []string{"cardinal.pdf", "linn.pdf", "ccitt.pdf", "epson.pdf", "skew.pdf"}
	args := []string{"--empty", "--pages"}
	for i := 0; i < n; {
		for _, s := range sources {
			if i == n {
				break
			}
			pages := 1
			if s == "cardinal.pdf" {
				pages = min(4, n-i)
				args = append(args, filepath.Join(corpus, s), "1-"+strconv.Itoa(pages))
			} else {
				args = append(args, filepath.Join(corpus, s))
			}
			i += pages
		}
	}
	out := filepath.Join(t.TempDir(), "scanned.pdf")
	args = append(args, "--", out)
	if b, err := exec.Command("qpdf", args...).CombinedOutput(); err != nil {
		t.Fatalf("qpdf: %v %s", err, b)
	}
	return out
}

// TestServiceSplitAcrossWorkers: a long document is split into page items
// that two worker processes share; it is reassembled once; a redelivered
// page changes nothing.
func TestServiceSplitAcrossWorkers(t *testing.T) {
	t.Parallel()
	e := newServiceEnv(t)
	done := e.collect(t, event.SubjectOCRDone)
	// Pages at about 150 dpi: the turns and the words checked are found
	// at that resolution too.
	cfg := ocr.Config{Workers: 1, SplitPages: 1, MaxPagePixels: quickPage}
	logs1 := e.start(t, "w1", cfg)
	logs2 := e.start(t, "w2", cfg)
	pdf := scannedPDF(t, 6)
	ref := e.upload(t, "scans/long.pdf", pdf)
	waitFor(t, 3*time.Minute, "ocr done", func() bool { return len(done.all()) > 0 })
	d := ocrDone(t, done.all()[0])
	if d.Pages != 6 || d.OCRPages != 6 || d.FailedPages != 0 {
		t.Errorf("event %+v", d)
	}
	for i, l := range []*pipetest.Logs{logs1, logs2} {
		if n := strings.Count(l.String(), `"msg":"page done"`); n == 0 {
			t.Errorf("worker %d took no page", i+1)
		} else {
			t.Logf("worker %d took %d pages", i+1, n)
		}
	}
	e.checkSearchable(t, d, "LinnSequencer", "MIDI")
	f, err := e.Cases.File(t.Context(), e.caseID, ref.FileID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.Document.Rotated, []int{0, 270, 180, 90, 0, 0}; !slices.Equal(got, want) {
		t.Errorf("rotated %v, want %v", got, want)
	}
	rev := f.Revision

	// Redeliver a page and the reassembly item (new message IDs, as after
	// the de-duplication window): nothing changes.
	for _, page := range []int{3, event.OCRAssemblePage} {
		msg, err := event.Encode(event.OCRPageWork{Version: 1, FileRef: ref, Page: page, Pages: 6}, "/handoff/test", "")
		if err != nil {
			t.Fatal(err)
		}
		msg.Header.Set(nats.MsgIdHdr, "redelivery-"+strconv.Itoa(page))
		if err := e.Bus.PublishMsg(t.Context(), msg); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := e.Bus.JetStream().Consumer(t.Context(), bus.StreamWork, ocr.ConsumerPage)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "redeliveries handled", func() bool {
		ci, err := cons.Info(t.Context())
		return err == nil && ci.NumPending == 0 && ci.NumAckPending == 0
	})
	time.Sleep(200 * time.Millisecond)
	if n := len(done.all()); n != 1 {
		t.Errorf("%d completion events, want 1", n)
	}
	after, err := e.Cases.File(t.Context(), e.caseID, ref.FileID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Revision != rev {
		t.Errorf("file record rewritten by a redelivery (revision %d -> %d)", rev, after.Revision)
	}
	checkLogs(t, logs1, logs2)
}

// TestServiceFailingPage: a page that cannot be done ends in the dead-letter
// stream with its error, and the document completes with that page left as
// it was and the error on the file.
func TestServiceFailingPage(t *testing.T) {
	t.Parallel()
	e := newServiceEnv(t)
	done := e.collect(t, event.SubjectOCRDone)
	dead := e.collect(t, event.SubjectDeadLetterPrefix+">")
	// multipage.pdf page 2 is 30 inches square: over a 5 MP cap even at 100 dpi.
	e.start(t, "w1", ocr.Config{Workers: 2, SplitPages: 1, MaxPagePixels: 5_000_000})
	ref := e.upload(t, "multi.pdf", filepath.Join(corpus, "multipage.pdf"))
	waitFor(t, 3*time.Minute, "ocr done", func() bool { return len(done.all()) > 0 })
	d := ocrDone(t, done.all()[0])
	if d.Pages != 6 || d.FailedPages != 1 || d.OCRPages != 4 {
		t.Errorf("event %+v, want 6 pages, 4 OCRed, 1 failed", d)
	}
	waitFor(t, time.Minute, "dead letter", func() bool { return len(dead.all()) > 0 })
	var dl event.DeadLetter
	if _, err := event.Decode(dead.all()[0].Header, dead.all()[0].Data, &dl); err != nil {
		t.Fatal(err)
	}
	if dl.Consumer != ocr.ConsumerFirst || !strings.Contains(dl.Error, record.CodePageTooLarge) {
		t.Errorf("dead letter %s: %q", dl.Consumer, dl.Error)
	}
	var work event.OCRPageWork
	if err := json.Unmarshal(dl.Data, &work); err != nil || work.Page != 2 {
		t.Errorf("dead letter holds page %d (%v), want 2", work.Page, err)
	}
	f, err := e.Cases.File(t.Context(), e.caseID, ref.FileID)
	if err != nil {
		t.Fatal(err)
	}
	if pe := f.Document.PageErrors; len(pe) != 1 || pe[0].Code != record.CodePageTooLarge {
		t.Errorf("page errors %+v", pe)
	}
	if !slices.Equal(f.Document.TextPages, []int{4}) {
		t.Errorf("text pages %v, want [4]", f.Document.TextPages)
	}
}
