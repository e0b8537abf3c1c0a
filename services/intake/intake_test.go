package intake_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/blobtest"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/pipetest"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/intake"
)

// corpus is the repository's test corpus (testdata/corpus), resolved before the embedded S3
// gateway changes the working directory.
var corpus string

func TestMain(m *testing.M) {
	corpus, _ = filepath.Abs(filepath.Join("..", "..", "testdata", "corpus"))
	os.Exit(blobtest.Run(m))
}

const token = "test-token-0123456789"

type harness struct {
	t       *testing.T
	api     string
	bus     *bus.Bus
	cases   *casestore.Store
	blobs   *blob.Store
	svc     *intake.Service
	intakeB string
	derived string
}

func start(t *testing.T, notify bool) *harness {
	t.Helper()
	return startWith(t, notify, intake.Config{})
}

// startWith runs intake with cfg's reconciliation and case budget settings.
func startWith(t *testing.T, notify bool, cfg intake.Config) *harness {
	t.Helper()
	env := pipetest.StartWith(t, "/test/intake", pipetest.Options{Notify: notify})
	h := &harness{t: t, bus: env.Bus, cases: env.Cases, blobs: env.Blobs, intakeB: env.Intake, derived: env.Derived}
	log := env.Log
	var err error
	h.svc, err = intake.New(intake.Config{APIToken: token, IntakeBucket: h.intakeB, DerivedBucket: h.derived, MaxUploadBytes: 64 << 20, MaxArchiveEntries: 50,
		ReconcileGrace: cfg.ReconcileGrace, CaseArchiveEntries: cfg.CaseArchiveEntries, CaseArchiveBytes: cfg.CaseArchiveBytes},
		intake.Deps{Log: log, Bus: h.bus, Blobs: h.blobs, Cases: h.cases})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.svc.Run(ctx) }()
	mux := http.NewServeMux()
	h.svc.Mount(mux)
	hs := httptest.NewServer(mux)
	h.api = hs.URL
	t.Cleanup(func() {
		hs.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("intake run: %v", err)
		}
	})
	return h
}

func (h *harness) do(method, path string, body io.Reader, out any) int {
	h.t.Helper()
	req, err := http.NewRequestWithContext(h.t.Context(), method, h.api+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

func (h *harness) newCase() string {
	h.t.Helper()
	var c struct{ ID string }
	if code := h.do(http.MethodPost, "/v1/cases", strings.NewReader(`{"patient":{"family_name":"Testperson","given_name":"Pat"}}`), &c); code != http.StatusCreated {
		h.t.Fatalf("create case: %d", code)
	}
	return c.ID
}

func (h *harness) upload(caseID, name string, data []byte) {
	h.t.Helper()
	p := (&url.URL{Path: name}).EscapedPath()
	if code := h.do(http.MethodPut, "/v1/cases/"+caseID+"/files/"+p, bytes.NewReader(data), nil); code != http.StatusCreated {
		h.t.Fatalf("upload %s: %d", name, code)
	}
}

// apiKey is where an upload of path through the API is stored: under a
// reference to the path, never the path itself.
func apiKey(caseID, path string) string {
	return record.UploadPrefix(caseID) + record.UploadRef(caseID, path)
}

// put writes data straight into the intake bucket under key, as a stock S3
// client would, and returns the stored object.
func (h *harness) put(key string, data []byte) blob.Info {
	h.t.Helper()
	info, err := h.blobs.Put(h.t.Context(), h.intakeB, key, bytes.NewReader(data), int64(len(data)), blob.PutOptions{})
	if err != nil {
		h.t.Fatalf("put %s: %v", key, err)
	}
	return info
}

type caseView struct {
	Pending int `json:"pending"`
	Files   []struct {
		ID, Path, Type, Route, Status, Source string
		ParentID                              string `json:"parent_id"`
		Error                                 *record.Error
		Warnings                              []record.Error
	} `json:"files"`
}

func (h *harness) getCase(caseID string) caseView {
	h.t.Helper()
	var v caseView
	if code := h.do(http.MethodGet, "/v1/cases/"+caseID, nil, &v); code != http.StatusOK {
		h.t.Fatalf("get case: %d", code)
	}
	return v
}

// waitFiles polls until the case has n files that are no longer "received".
func (h *harness) waitFiles(caseID string, n int) caseView {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		v := h.getCase(caseID)
		settled := 0
		for _, f := range v.Files {
			if f.Status != record.StatusReceived && f.Status != record.StatusProcessing {
				settled++
			}
		}
		if settled >= n {
			return v
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out: %d of %d files settled: %+v", settled, n, v.Files)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readCorpus(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpus, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type entry struct {
	name string
	data []byte
	mode fs.FileMode
	// method overrides the compression method (default deflate).
	method uint16
	flags  uint16
}

func makeZip(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		fh := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Flags: e.flags}
		if e.method != 0 || e.name == "stored" {
			fh.Method = e.method
		}
		if e.mode != 0 {
			fh.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(fh)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// jpeg is the smallest file that sniffs as a JPEG.
var jpeg = []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0xFF, 0xD9}

// Uploads through the API and straight into the bucket are sniffed by
// content, routed to the right queue and listed on the case.
func TestUploadsAreSniffedAndRouted(t *testing.T) {
	h := start(t, true)
	id := h.newCase()
	h.upload(id, "Imaging/CT head", readCorpus(t, "dicom-peer/pydicom/CT_small.dcm")) // no extension
	h.upload(id, "labs.pdf", readCorpus(t, "ocr-peer/linn.pdf"))
	h.upload(id, "phone/IMG_0001.JPG", jpeg)
	h.upload(id, "portal export.zip", makeZip(t,
		entry{name: "export/notes.txt", data: []byte("Progress note\nPatient seen today.\n")},
		entry{name: "export/scan.dcm", data: readCorpus(t, "dicom-peer/pydicom/MR_small.dcm")},
	))
	// A stock S3 client writes straight into the bucket.
	key := record.UploadKey(id, "direct/report.txt")
	h.put(key, []byte("Radiology report\n"))
	v := h.waitFiles(id, 7)
	got := map[string]string{}
	for _, f := range v.Files {
		got[f.Path] = f.Type + "->" + f.Route
	}
	want := map[string]string{
		"Imaging/CT head":                     "dicom->dicom",
		"labs.pdf":                            "pdf->ocr",
		"phone/IMG_0001.JPG":                  "jpeg->ocr",
		"portal export.zip":                   "zip->archive",
		"portal export.zip!/export/notes.txt": "text->text",
		"portal export.zip!/export/scan.dcm":  "dicom->dicom",
		"direct/report.txt":                   "text->text",
	}
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s: got %q, want %q", p, got[p], w)
		}
	}
	// The work items are on their queues.
	subjects := workSubjects(t, h.bus)
	for _, s := range []string{event.SubjectWorkDICOM, event.SubjectWorkOCR} {
		if subjects[s] < 2 {
			t.Errorf("%s has %d work items, want 2", s, subjects[s])
		}
	}
}

// workSubjects counts work items ever published per subject (including
// those a consumer already took).
func workSubjects(t *testing.T, b *bus.Bus) map[string]int {
	t.Helper()
	st, err := b.JetStream().Stream(t.Context(), bus.StreamWork)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(t.Context(), jetstream.WithSubjectFilter(">"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for s, n := range info.State.Subjects {
		out[s] = int(n)
	}
	// Consumed items (archive, text) are gone from a work queue: count
	// their consumers' deliveries instead.
	for _, name := range []string{"intake-archive", "intake-text"} {
		c, err := b.JetStream().Consumer(t.Context(), bus.StreamWork, name)
		if err == nil {
			ci, _ := c.Info(t.Context())
			out[name] = int(ci.Delivered.Consumer)
		}
	}
	return out
}

// Bad input gets a specific code on its file, the original is kept, and
// the service keeps going.
func TestBadInput(t *testing.T) {
	h := start(t, true)
	zeros := make([]byte, 20<<20)
	many := make([]entry, 0, 60)
	for i := range 60 {
		many = append(many, entry{name: fmt.Sprintf("f%d.txt", i), data: []byte("x")})
	}
	nested := makeZip(t, entry{name: "a.txt", data: []byte("deep")})
	for range 3 {
		nested = makeZip(t, entry{name: "inner.zip", data: nested, method: zip.Store})
	}
	tests := []struct {
		name     string
		data     []byte
		wantCode string // on the file itself, or on the archive when entries are rejected
	}{
		{"empty.pdf", nil, record.CodeEmpty},
		{"noise.bin", []byte{0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10}, record.CodeUnreadable},
		{"photo.heic", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), record.CodeUnknownType},
		{"letter.docx", []byte("PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml"), record.CodeUnknownType},
		{"broken.zip", []byte("PK\x03\x04 this is not really a zip archive"), record.CodeUnreadable},
		{"escape.zip", makeZip(t, entry{name: "../../etc/passwd", data: []byte("x")}), record.CodeUnsafeArchive},
		{"absolute.zip", makeZip(t, entry{name: "/etc/passwd", data: []byte("x")}), record.CodeUnsafeArchive},
		{"windows.zip", makeZip(t, entry{name: "..\\..\\boot.ini", data: []byte("x")}), record.CodeUnsafeArchive},
		{"symlink.zip", makeZip(t, entry{name: "link", data: []byte("/etc/passwd"), mode: fs.ModeSymlink | 0o777}), record.CodeUnsafeArchive},
		{"encrypted.zip", makeZip(t, entry{name: "secret.pdf", data: []byte("%PDF-1.4"), flags: 0x1, method: zip.Store}), record.CodeEncrypted},
		{"bomb.zip", makeZip(t, entry{name: "zeros.txt", data: zeros}), record.CodeArchiveBomb},
		{"many.zip", makeZip(t, many...), record.CodeArchiveBomb},
		{"nested.zip", nested, record.CodeArchiveBomb},
	}
	id := h.newCase()
	for _, tc := range tests {
		h.upload(id, "bad/"+tc.name, tc.data)
	}
	// An odd name (bytes that are not UTF-8) is kept readable, with a warning.
	if code := h.do(http.MethodPut, "/v1/cases/"+id+"/files/bad/R%E9sultats%01.txt", strings.NewReader("lab results\n"), nil); code != http.StatusCreated {
		t.Fatalf("odd name upload: %d", code)
	}
	v := h.waitAll(id)
	byPath := map[string]string{}
	for _, f := range v.Files {
		code := ""
		if f.Error != nil {
			code = f.Error.Code
		}
		byPath[f.Path] = code
		if strings.HasPrefix(f.Path, "bad/nested.zip!/") && code != "" {
			byPath["bad/nested.zip"] = code // the archive too deep inside it is rejected
		}
		if strings.HasPrefix(f.Path, "bad/Résultats") {
			if f.Route != record.RouteText || len(f.Warnings) != 1 || f.Warnings[0].Code != record.CodeBadName {
				t.Errorf("odd name: %+v", f)
			}
		}
	}
	for _, tc := range tests {
		if got := byPath["bad/"+tc.name]; got != tc.wantCode {
			t.Errorf("%s: code %q, want %q", tc.name, got, tc.wantCode)
		}
	}
	// Originals are untouched.
	for _, tc := range tests {
		st, err := h.blobs.Stat(t.Context(), h.intakeB, apiKey(id, "bad/"+tc.name))
		if err != nil || st.Size != int64(len(tc.data)) {
			t.Errorf("%s: original %+v, %v", tc.name, st, err)
		}
	}
	// The service still works.
	id2 := h.newCase()
	h.upload(id2, "fine.txt", []byte("Medication list\nlisinopril 10 mg daily\n"))
	if v := h.waitFiles(id2, 1); v.Files[0].Route != record.RouteText {
		t.Errorf("after bad input: %+v", v.Files)
	}
}

// waitAll polls until nothing of the case is pending or queued for intake's
// own workers (DICOM and OCR work stays queued: no such worker runs here).
func (h *harness) waitAll(caseID string) caseView {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		v := h.getCase(caseID)
		busy := 0
		for _, f := range v.Files {
			switch {
			case f.Status == record.StatusReceived || f.Status == record.StatusProcessing:
				busy++
			case f.Status == record.StatusQueued && (f.Route == record.RouteArchive || f.Route == record.RouteText):
				busy++
			}
		}
		if busy == 0 && len(v.Files) > 0 {
			return v
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out with %d files busy: %+v", busy, v.Files)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// The archives of a case share a budget: an archive that would take the
// case over it is rejected with input.case_archive_budget and nothing of it
// is expanded; a smaller one still fits; another case has its own.
func TestArchiveCaseBudget(t *testing.T) {
	h := startWith(t, true, intake.Config{CaseArchiveEntries: 3})
	id := h.newCase()
	text := func(s string) entry { return entry{name: s + ".txt", data: []byte("Medication list\n" + s + "\n")} }
	for _, tc := range []struct {
		name    string
		entries []entry
		code    string
	}{
		{"a.zip", []entry{text("a1"), text("a2")}, ""},
		{"b.zip", []entry{text("b1"), text("b2")}, record.CodeCaseArchiveBudget},
		{"c.zip", []entry{text("c1")}, ""},
	} {
		h.upload(id, tc.name, makeZip(t, tc.entries...))
		v := h.waitAll(id)
		for _, f := range v.Files {
			if f.Path != tc.name {
				continue
			}
			code := ""
			if f.Error != nil {
				code = f.Error.Code
				if !strings.Contains(f.Error.Message, "budget of 3 files") {
					t.Errorf("%s: message %q, want the budget", tc.name, f.Error.Message)
				}
			}
			if code != tc.code {
				t.Errorf("%s: code %q, want %q", tc.name, code, tc.code)
			}
		}
	}
	var paths []string
	for _, f := range h.getCase(id).Files {
		if strings.Contains(f.Path, "!/") {
			paths = append(paths, f.Path)
		}
	}
	slices.Sort(paths)
	if want := []string{"a.zip!/a1.txt", "a.zip!/a2.txt", "c.zip!/c1.txt"}; !slices.Equal(paths, want) {
		t.Errorf("entries %q, want %q", paths, want)
	}
	other := h.newCase()
	h.upload(other, "b.zip", makeZip(t, text("b1"), text("b2")))
	for _, f := range h.waitAll(other).Files {
		if f.Path == "b.zip" && f.Error != nil {
			t.Errorf("another case: %+v", f.Error)
		}
	}
}

// An imaging CD keeps its images and drops the viewer software.
func TestImagingCD(t *testing.T) {
	h := start(t, true)
	id := h.newCase()
	cd := makeZip(t,
		entry{name: "DICOMDIR", data: readCorpus(t, "dicom-peer/pydicom/dicomdirtests/DICOMDIR")},
		entry{name: "DICOM/IM000001", data: readCorpus(t, "dicom-peer/pydicom/CT_small.dcm")},
		entry{name: "DICOM/IM000002", data: readCorpus(t, "dicom-peer/pydicom/MR_small.dcm")},
		entry{name: "Viewer/viewer.exe", data: []byte("MZ\x90\x00 a viewer")},
		entry{name: "Viewer/help/logo.png", data: []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")},
		entry{name: "Viewer/launch", data: []byte("\x7fELF\x02\x01\x01")},
		entry{name: "__MACOSX/._DICOMDIR", data: []byte{0, 5, 22, 7}},
	)
	h.upload(id, "cd.zip", cd)
	v := h.waitAll(id)
	var paths []string
	for _, f := range v.Files {
		paths = append(paths, f.Path+":"+f.Type+":"+f.Status)
	}
	slices.Sort(paths)
	want := []string{
		"cd.zip!/DICOM/IM000001:dicom:queued",
		"cd.zip!/DICOM/IM000002:dicom:queued",
		"cd.zip!/DICOMDIR:dicomdir:skipped",
		"cd.zip:zip:done",
	}
	if !slices.Equal(paths, want) {
		t.Errorf("files:\n got %q\nwant %q", paths, want)
	}
	f, err := h.cases.File(t.Context(), id, record.FileID(h.intakeB, apiKey(id, "cd.zip")))
	if err != nil {
		t.Fatal(err)
	}
	if f.Archive == nil || !f.Archive.ImagingCD || f.Archive.Entries != 3 || f.Archive.Skipped != 4 {
		t.Errorf("archive summary = %+v", f.Archive)
	}
}

// Objects whose notification never arrived are found by reconciliation.
func TestReconciliationFindsUnnotifiedUploads(t *testing.T) {
	// The bucket publishes no events; reconciliation leaves uploads younger
	// than 3 s to their notification (object times have a resolution of a
	// second).
	h := startWith(t, false, intake.Config{ReconcileGrace: 3 * time.Second})
	id := h.newCase()
	for i := range 3 {
		key := record.UploadKey(id, fmt.Sprintf("lost/%d.txt", i))
		h.put(key, []byte("note\n"))
	}
	if n, err := h.svc.Reconcile(t.Context()); err != nil || n != 0 {
		t.Fatalf("reconcile of fresh uploads: %d files, %v; want none (their notification may still come)", n, err)
	}
	if v := h.getCase(id); len(v.Files) != 0 {
		t.Fatalf("files before reconciliation: %d", len(v.Files))
	}
	// The three uploads may fall in two seconds of object time: each is
	// reconciled once its grace is over, the later ones a pass later.
	var n int
	for deadline := time.Now().Add(10 * time.Second); n < 3 && time.Now().Before(deadline); {
		time.Sleep(250 * time.Millisecond)
		k, err := h.svc.Reconcile(t.Context())
		if err != nil {
			t.Fatalf("reconcile: %v", err)
		}
		n += k
	}
	if n != 3 {
		t.Fatalf("reconcile: %d files; want 3", n)
	}
	if v := h.waitFiles(id, 3); len(v.Files) != 3 {
		t.Errorf("files after reconciliation: %d", len(v.Files))
	}
	if n, err := h.svc.Reconcile(t.Context()); err != nil || n != 0 {
		t.Errorf("second pass: %d, %v; want 0", n, err)
	}
}

// notify publishes the intake bucket's notification of an object n
// times: plain core-NATS publishes (no Nats-Msg-Id), as versitygw sends them.
func (h *harness) notify(key string, info blob.Info, n int) {
	h.t.Helper()
	payload, _ := event.MinIONotification(h.intakeB, key, info.ETag, info.Size, "ObjectCreated:Put")
	for range n {
		if err := h.bus.Conn().Publish(event.DefaultBucketSubject, payload); err != nil {
			h.t.Fatal(err)
		}
	}
}

// waitUntil polls cond for up to 10 seconds.
func waitUntil(cond func() bool) {
	for deadline := time.Now().Add(10 * time.Second); !cond() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
}

// A notification delivered twice (at-least-once) records and routes the
// file once.
func TestDuplicateNotifications(t *testing.T) {
	h := start(t, false)
	id := h.newCase()
	key := record.UploadKey(id, "a.dcm")
	info := h.put(key, readCorpus(t, "dicom-peer/pydicom/CT_small.dcm"))
	h.notify(key, info, 3)
	h.waitFiles(id, 1)
	time.Sleep(300 * time.Millisecond)
	if n := workSubjects(t, h.bus)[event.SubjectWorkDICOM]; n != 1 {
		t.Errorf("dicom work items = %d, want 1", n)
	}
	if v := h.getCase(id); len(v.Files) != 1 {
		t.Errorf("files = %d, want 1", len(v.Files))
	}
}

// An ingestion that died after writing the record but before its work
// item was stored (the record and the item are written at once): the next
// delivery of the notification stores the item, once.
func TestLostWorkItemIsPublishedAgain(t *testing.T) {
	h := start(t, false)
	id := h.newCase()
	key := record.UploadKey(id, "scan.dcm")
	info := h.put(key, readCorpus(t, "dicom-peer/pydicom/CT_small.dcm"))
	if _, err := h.cases.CreateFile(t.Context(), record.File{
		CaseID: id, ID: record.FileID(h.intakeB, key), Path: "scan.dcm", Bucket: h.intakeB, Key: key, ETag: info.ETag, Size: info.Size,
		Source: record.SourceS3, Type: record.TypeDICOM, Route: record.RouteDICOM, Status: record.StatusQueued, Stage: record.RouteDICOM,
	}); err != nil {
		t.Fatal(err)
	}
	if n := workSubjects(t, h.bus)[event.SubjectWorkDICOM]; n != 0 {
		t.Fatalf("dicom work items before the redelivery = %d", n)
	}
	h.notify(key, info, 2)
	waitUntil(func() bool { return workSubjects(t, h.bus)[event.SubjectWorkDICOM] > 0 })
	time.Sleep(300 * time.Millisecond)
	if n := workSubjects(t, h.bus)[event.SubjectWorkDICOM]; n != 1 {
		t.Errorf("dicom work items = %d, want 1", n)
	}
	if v := h.getCase(id); len(v.Files) != 1 || v.Files[0].Status != record.StatusQueued {
		t.Errorf("files = %+v, want the one record, still queued", v.Files)
	}
}

// Likewise for a rejected file whose rejection event was lost: the next
// delivery publishes it, once.
func TestLostRejectionIsPublishedAgain(t *testing.T) {
	h := start(t, false)
	id := h.newCase()
	key := record.UploadKey(id, "empty.pdf")
	info := h.put(key, nil)
	if _, err := h.cases.CreateFile(t.Context(), record.File{
		CaseID: id, ID: record.FileID(h.intakeB, key), Path: "empty.pdf", Bucket: h.intakeB, Key: key, ETag: info.ETag,
		Source: record.SourceS3, Type: record.TypeUnknown, Route: record.RouteNone, Status: record.StatusFailed, Stage: "sniff",
		Error: &record.Error{Code: record.CodeEmpty, Message: "the file is empty"},
	}); err != nil {
		t.Fatal(err)
	}
	rejections := func() uint64 {
		st, err := h.bus.JetStream().Stream(t.Context(), bus.StreamEvents)
		if err != nil {
			t.Fatal(err)
		}
		info, err := st.Info(t.Context(), jetstream.WithSubjectFilter(event.SubjectFileRejected))
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Subjects[event.SubjectFileRejected]
	}
	h.notify(key, info, 2)
	waitUntil(func() bool { return rejections() > 0 })
	time.Sleep(300 * time.Millisecond)
	if n := rejections(); n != 1 {
		t.Errorf("rejection events = %d, want 1", n)
	}
}

// The events endpoint streams the case's state, then its changes.
func TestEventsStream(t *testing.T) {
	h := start(t, true)
	id := h.newCase()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.api+"/v1/cases/"+id+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	readUntil := func(want string) {
		t.Helper()
		for sc.Scan() {
			if strings.Contains(sc.Text(), want) {
				return
			}
		}
		t.Fatalf("stream ended before %q: %v", want, sc.Err())
	}
	readUntil("event: case")
	readUntil("event: ready")
	h.upload(id, "note.txt", []byte("Operative report\n"))
	readUntil(`"path":"note.txt"`)
	readUntil(`"status":"done"`)
}

func TestAuthAndNotFound(t *testing.T) {
	h := start(t, true)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, h.api+"/v1/cases", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", resp.StatusCode)
	}
	if code := h.do(http.MethodGet, "/v1/cases/nosuchcase1", nil, nil); code != http.StatusNotFound {
		t.Errorf("unknown case: %d, want 404", code)
	}
	if code := h.do(http.MethodPut, "/v1/cases/nosuchcase1/files/a.pdf", strings.NewReader("x"), nil); code != http.StatusNotFound {
		t.Errorf("upload to unknown case: %d, want 404", code)
	}
	if code := h.do(http.MethodPost, "/v1/cases", strings.NewReader(`{"patient":{"birth_date":"02/03/1960"}}`), nil); code != http.StatusBadRequest {
		t.Errorf("bad date: %d, want 400", code)
	}
}

// The report served by the API carries the case's facts: the medications
// typed on the case and those a medication list names, each once, blood
// thinners flagged.
func TestReportFacts(t *testing.T) {
	h := start(t, true)
	var c struct{ ID string }
	body := `{"patient":{"family_name":"Testperson","given_name":"Pat"},"summary":{"medications":["Fragmin 5000 units daily"]}}`
	if code := h.do(http.MethodPost, "/v1/cases", strings.NewReader(body), &c); code != http.StatusCreated {
		t.Fatalf("create case: %d", code)
	}
	h.upload(c.ID, "meds.txt", []byte("Current Medications\nFragmin 5000 units subcutaneous daily\nLipitor 40 mg daily\nMetformin 500 mg twice daily\n"))
	deadline := time.Now().Add(20 * time.Second)
	for {
		var r record.Report
		if code := h.do(http.MethodGet, "/v1/cases/"+c.ID+"/report?format=json", nil, &r); code == http.StatusOK && r.Pending == 0 && r.Facts != nil && len(r.Facts.Medications) >= 3 {
			var got []string
			for _, m := range r.Facts.Medications {
				got = append(got, fmt.Sprintf("%s %v %q", m.Generic, m.Anticoagulant, fmt.Sprint(m.File != "")))
			}
			want := []string{`dalteparin true "false"`, `atorvastatin false "true"`, `metformin false "true"`}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("facts (-want +got):\n%s", diff)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for a report with facts")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestUploadNames: names a patient's computer can make, as the API gets
// them. Each answers 400 input.bad_name or is kept — two names that clean
// to the same path as two files, the second numbered — and never 500.
func TestUploadNames(t *testing.T) {
	h := start(t, false)
	id := h.newCase()
	long := strings.Repeat("a", 5000) + ".pdf"
	tests := []struct {
		name     string
		escaped  string // the request path after /files/
		wantCode int
	}{
		{"5,000-character name", long, http.StatusBadRequest},
		{"300-character segment", "folder/" + strings.Repeat("b", 300) + ".pdf", http.StatusBadRequest},
		{"NUL", "a%00b.txt", http.StatusCreated},
		{"CR LF", "a%0d%0ab.txt", http.StatusCreated},
		{"dot dot", "x/%2e%2e/%2e%2e/etc.txt", http.StatusCreated},
		{"only dots", "%2e%2e", http.StatusCreated}, // kept as "unnamed"
		{"backslashes", `win\path\scan.pdf`, http.StatusCreated},
		{"Windows-1252 bytes", "R%E9sultats.txt", http.StatusCreated},
		{"emoji and accents", "%F0%9F%98%80%20r%C3%A9sum%C3%A9.txt", http.StatusCreated},
		{"trailing slash", "folder/", http.StatusCreated},
		{"bidi override", "report%E2%80%AEfdp.exe", http.StatusCreated},
		{"same as an earlier one once cleaned", "a%01b.txt", http.StatusCreated},
	}
	created := 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, h.api+"/v1/cases/"+id+"/files/"+tc.escaped, strings.NewReader("x "+tc.name+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body struct {
				Code string `json:"code"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("%s: %d, want %d", tc.escaped, resp.StatusCode, tc.wantCode)
			}
			if resp.StatusCode == http.StatusBadRequest && body.Code != record.CodeBadName {
				t.Errorf("%s: code %q, want %s", tc.escaped, body.Code, record.CodeBadName)
			}
			if resp.StatusCode == http.StatusCreated {
				created++
			}
		})
	}
	// Every accepted upload is a file of its own: none replaced another.
	v := h.waitFiles(id, created)
	paths := map[string]bool{}
	for _, f := range v.Files {
		if paths[f.Path] {
			t.Errorf("two files with the path %q", f.Path)
		}
		paths[f.Path] = true
	}
	if len(v.Files) != created {
		t.Errorf("%d files for %d accepted uploads: %v", len(v.Files), created, paths)
	}
}
