package packager_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"

	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/blobtest"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/pipetest"
	"github.com/handoffmed/handoff/platform/record"

	"github.com/handoffmed/handoff/services/packager"
	"github.com/handoffmed/handoff/services/packager/internal/ziptest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// Paths resolved before the embedded S3 endpoint changes the working directory.
var (
	testdata  = "testdata"
	corpusDir = "../../testdata/corpus/dicom-peer/pydicom"
)

func TestMain(m *testing.M) {
	flag.Parse()
	for _, p := range []*string{&testdata, &corpusDir} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			panic(err)
		}
		*p = abs
	}
	os.Exit(blobtest.Run(m))
}

type env struct {
	*pipetest.Env
	svc *packager.Service
	cfg packager.Config

	mu    sync.Mutex
	ready []event.BundleReady
}

func newEnv(t *testing.T, mod func(*packager.Config)) *env {
	t.Helper()
	e := &env{Env: pipetest.Start(t, "/handoff/packager")}
	e.cfg = packager.Config{IntakeBucket: e.Intake, DerivedBucket: e.Derived, BundleBucket: e.Bundles,
		QuietPeriod: -1, PendingRetry: 100 * time.Millisecond, PendingWait: 300 * time.Millisecond}
	if mod != nil {
		mod(&e.cfg)
	}
	var err error
	e.svc, err = packager.New(e.cfg, packager.Deps{Log: e.Log, Bus: e.Bus, Blobs: e.Blobs, Cases: e.Cases})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := e.Conn.Subscribe(event.SubjectBundleReady, func(m *nats.Msg) {
		var ev event.BundleReady
		if _, err := event.Decode(m.Header, m.Data, &ev); err == nil {
			e.mu.Lock()
			e.ready = append(e.ready, ev)
			e.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return e
}

// run starts the service and stops it when the test ends.
func (e *env) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan error, 1)
	go func() { done <- e.svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func (e *env) readyFor(caseID string) []event.BundleReady {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []event.BundleReady
	for _, r := range e.ready {
		if r.CaseID == caseID {
			out = append(out, r)
		}
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (e *env) put(t *testing.T, bucket, key string, data []byte) blob.Info {
	t.Helper()
	info, err := e.Blobs.Put(t.Context(), bucket, key, bytes.NewReader(data), int64(len(data)), blob.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// textPDF is a small text PDF standing in for an OCR service output.
func textPDF(t *testing.T, text string) []byte {
	t.Helper()
	p := fpdf.New("P", "mm", "A4", "")
	p.AddPage()
	p.SetFont("Helvetica", "", 12)
	p.MultiCell(0, 6, text, "", "", false)
	var b bytes.Buffer
	if err := p.Output(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type caseBuilder struct {
	e      *env
	caseID string
	t      *testing.T
}

func (e *env) newCase(t *testing.T, c record.Case) *caseBuilder {
	t.Helper()
	c.ID = record.NewCaseID()
	if _, err := e.Cases.CreateCase(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	return &caseBuilder{e: e, caseID: c.ID, t: t}
}

// document uploads a document, its searchable PDF, and records it as done.
func (b *caseBuilder) document(name, category, date string, mod func(*record.File)) record.File {
	t := b.t
	key := record.UploadKey(b.caseID, name)
	data := textPDF(t, "Scanned "+category+" "+date)
	info := b.e.put(t, b.e.Intake, key, data)
	id := record.FileID(b.e.Intake, key)
	doc := &record.Document{Category: category, Date: date}
	if !strings.HasSuffix(name, ".jpg") {
		doc.SearchableBucket, doc.SearchableKey = b.e.Derived, record.DerivedPrefix(b.caseID, id)+"searchable.pdf"
		b.e.put(t, b.e.Derived, doc.SearchableKey, textPDF(t, "Searchable "+category+" "+date))
	}
	f, err := b.e.Cases.UpsertFile(t.Context(), b.caseID, id, func(f *record.File, _ bool) error {
		f.Path, f.Bucket, f.Key, f.ETag, f.Size = name, b.e.Intake, key, info.ETag, info.Size
		f.Source, f.Type, f.Status, f.Document = record.SourceAPI, record.TypePDF, record.StatusDone, doc
		if strings.HasSuffix(name, ".jpg") {
			f.Type = record.TypeJPEG
		}
		if mod != nil {
			mod(f)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// scans uploads DICOM files, writes one pydicom file-set per folder into the
// derived bucket, and stores the imaging index.
func (b *caseBuilder) scans(folders map[string][]string) {
	t := b.t
	idx := record.DicomIndex{Version: 1, CaseID: b.caseID}
	for folder, srcs := range folders {
		st := record.Study{Folder: folder, Date: folder[:10], UID: "1.2.3." + fmt.Sprint(len(idx.Studies))}
		se := record.Series{UID: st.UID + ".1", Modality: strings.Split(folder, "_")[1], Instances: len(srcs)}
		var paths []string
		for _, src := range srcs {
			p := filepath.Join(corpusDir, src)
			paths = append(paths, p)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			key := record.UploadKey(b.caseID, "cd/"+src)
			info := b.e.put(t, b.e.Intake, key, data)
			id := record.FileID(b.e.Intake, key)
			_, err = b.e.Cases.UpsertFile(t.Context(), b.caseID, id, func(f *record.File, _ bool) error {
				f.Path, f.Bucket, f.Key, f.ETag, f.Size = "cd/"+src, b.e.Intake, key, info.ETag, info.Size
				f.Type, f.Status, f.DICOM = record.TypeDICOM, record.StatusDone, &record.DicomInstance{StudyUID: st.UID}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			se.Members = append(se.Members, record.SeriesInstanceRef{FileID: id, Bucket: b.e.Intake, Key: key, Size: info.Size, ETag: info.ETag})
		}
		st.Series = []record.Series{se}
		out := filepath.Join(t.TempDir(), "fs")
		ziptest.Run(t, ziptest.Python, append([]string{filepath.Join(testdata, "mkfileset.py"), out}, paths...)...)
		prefix := record.FileSetPrefix(b.caseID, 1, folder)
		fset := &record.FileSet{DICOMDIRBucket: b.e.Derived, DICOMDIRKey: prefix + "DICOMDIR"}
		i := 0
		err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(out, p)
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			info := b.e.put(t, b.e.Derived, prefix+rel, data)
			if rel == "DICOMDIR" {
				fset.DICOMDIRSize = info.Size
				return nil
			}
			fset.Entries = append(fset.Entries, record.FileSetEntry{Path: rel, FileID: se.Members[min(i, len(se.Members)-1)].FileID,
				Bucket: b.e.Derived, Key: prefix + rel, Size: info.Size})
			i++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		st.FileSet = fset
		idx.Studies = append(idx.Studies, st)
	}
	data, err := json.Marshal(idx)
	if err != nil {
		t.Fatal(err)
	}
	b.e.put(t, b.e.Derived, record.DicomIndexKey(b.caseID), data)
}

// report stores the case's report, computed (as intake would) from the
// case and files as they are now.
func (b *caseBuilder) report(r record.Report) {
	r.CaseID = b.caseID
	c, err := b.e.Cases.Case(b.t.Context(), b.caseID)
	if err != nil {
		b.t.Fatal(err)
	}
	files, err := b.e.Cases.Files(b.t.Context(), b.caseID)
	if err != nil {
		b.t.Fatal(err)
	}
	r.CaseDigest = c.FieldsDigest()
	for _, f := range files {
		r.Basis = max(r.Basis, f.Revision)
	}
	if err := b.e.Cases.PutReport(b.t.Context(), r); err != nil {
		b.t.Fatal(err)
	}
}

func parts(missing ...string) []record.PartStatus {
	var out []record.PartStatus
	for _, p := range record.Parts {
		st := record.PartOK
		for _, m := range missing {
			if m == p {
				st = record.PartMissing
			}
		}
		out = append(out, record.PartStatus{Part: p, Title: p, Status: st})
	}
	return out
}

func completeCase(t *testing.T, e *env) *caseBuilder {
	b := e.newCase(t, record.Case{
		Patient: record.Patient{FamilyName: "Łukasiewicz", GivenName: "Zoë", BirthDate: "1961-03-14", Sex: "F"},
		Summary: record.Summary{Age: 65, Height: "165 cm", Weight: "62 kg", Allergies: "Penicillin — hives",
			Procedure: "Total right hip replacement", SymptomHistory: "Pain since 2023; 夜间疼痛.",
			USRecommendation: "Total hip arthroplasty", QuotedCost: "$61,000", ReasonAbroad: "Cost",
			Conditions: record.Conditions{BloodThinners: true}, Medications: []string{"Apixaban 5 mg twice daily"}},
	})
	b.document("summary.pdf", record.CategorySummary, "2026-05-01", nil)
	b.document("mri report.pdf", record.CategoryRadiologyReport, "2026-04-12", func(f *record.File) {
		f.Document.Modality, f.Document.BodyPart = "MRI", "right hip"
	})
	b.document("labs.pdf", record.CategoryLabReport, "2026-05-02", func(f *record.File) { f.Document.Panels = []string{"cbc", "bmp", "coag"} })
	b.document("ekg.pdf", record.CategoryEKG, "2026-05-03", nil)
	b.document("op note 2015.pdf", record.CategoryOperativeNote, "2015-06-01", nil)
	b.document("meds.pdf", record.CategoryMedicationList, "2026-05-01", func(f *record.File) {
		f.Document.Medications = []record.Medication{{Name: "Apixaban", Dose: "5 mg", Frequency: "twice daily", Class: record.MedAnticoagulant}}
	})
	b.document("passport.jpg", record.CategoryPassport, "", func(f *record.File) {
		f.Document.Passport = &record.Passport{Surname: "LUKASIEWICZ", GivenNames: "ZOE", BirthDate: "1961-03-14", Valid: true}
	})
	b.document("portal.pdf", record.CategoryPortalExport, "2026-03-01", nil)
	b.scans(map[string][]string{
		"2026-04-12_CT_chest":     {"CT_small.dcm"},
		"2026-04-13_MR_right_hip": {"MR_small.dcm"},
	})
	b.report(record.Report{Version: 1, ReferenceDate: "2026-05-04", Parts: parts(), Digest: "complete-1",
		Generated: time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC), Findings: []record.Finding{}})
	return b
}

func (e *env) request(t *testing.T, caseID, requestID string) {
	t.Helper()
	if err := e.Bus.Publish(t.Context(), event.BundleRequested{Version: 1, CaseID: caseID, Trigger: "request", RequestID: requestID}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) versions(t *testing.T, caseID string) []record.Bundle {
	t.Helper()
	c, err := e.Cases.Case(t.Context(), caseID)
	if err != nil {
		t.Fatal(err)
	}
	return c.Bundles
}

// download fetches a bundle through its presigned link, as a hospital would.
func (e *env) download(t *testing.T, b record.Bundle) string {
	t.Helper()
	u, err := packager.PresignBundle(t.Context(), e.Blobs, b, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u.String(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET presigned link: %s", resp.Status)
	}
	path := filepath.Join(t.TempDir(), b.Name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), resp.Body)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if n != b.Size || hex.EncodeToString(h.Sum(nil)) != b.SHA256 {
		t.Fatalf("downloaded %d bytes sha256 %x, record says %d %s", n, h.Sum(nil), b.Size, b.SHA256)
	}
	return path
}

var pagesRe = regexp.MustCompile(`(?m)^Pages:\s+(\d+)$`)

func checkBundle(t *testing.T, zipPath, name string) string {
	t.Helper()
	ziptest.Verify(t, zipPath)
	dir := t.TempDir()
	ziptest.Run(t, "unzip", "-q", zipPath, "-d", dir)
	folder := filepath.Join(dir, strings.TrimSuffix(name, ".zip"))
	out := ziptest.Run(t, "sh", "-c", "cd '"+folder+"' && sha256sum -c --strict SHA256SUMS")
	if strings.Contains(out, "FAILED") {
		t.Errorf("sha256sum -c:\n%s", out)
	}
	sum := filepath.Join(folder, "00_Case_Summary.pdf")
	if m := pagesRe.FindStringSubmatch(ziptest.Run(t, "pdfinfo", sum)); m == nil || m[1] != "1" {
		t.Errorf("pdfinfo: case summary is not one page")
	}
	if f := ziptest.Run(t, "pdffonts", sum); !strings.Contains(strings.ToLower(f), "droidsansfallback") {
		t.Errorf("pdffonts: no CJK font embedded:\n%s", f)
	}
	return folder
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(testdata, name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s (-want +got):\n%s", name, d)
	}
}

func TestCompleteCase(t *testing.T) {
	ziptest.Need(t, "dciodvfy", "pdfinfo", "pdffonts", "sha256sum")
	e := newEnv(t, nil)
	e.run(t)
	b := completeCase(t, e)

	e.request(t, b.caseID, "r1")
	waitFor(t, "bundle v1", func() bool { return len(e.readyFor(b.caseID)) == 1 })
	bs := e.versions(t, b.caseID)
	if len(bs) != 1 {
		t.Fatalf("%d bundles recorded, want 1", len(bs))
	}
	v1 := bs[0]
	ev := e.readyFor(b.caseID)[0]
	if ev.Key != v1.Key || ev.Size != v1.Size || ev.SHA256 != v1.SHA256 || ev.BundleVersion != 1 || ev.Bucket != e.Bundles {
		t.Errorf("BundleReady %+v does not match the record %+v", ev, v1)
	}
	if v1.Name != "Lukasiewicz_Zoe_1961-03-14_MedicalRecords.zip" || v1.Trigger != "request" ||
		v1.Key != record.BundleKey(b.caseID, 1, v1.Name) || v1.Expires.Sub(v1.Created) != packager.DefaultLinkExpiry {
		t.Errorf("bundle record: %+v", v1)
	}

	zipPath := e.download(t, v1)
	tree := ziptest.Run(t, "zipinfo", "-1", zipPath)
	golden(t, "complete.tree", tree)
	folder := checkBundle(t, zipPath, v1.Name)

	// Every scan folder is a self-contained file-set.
	scans, _ := filepath.Glob(filepath.Join(folder, "02_Imaging_DICOM", "*"))
	if len(scans) != 2 {
		t.Fatalf("%d scan folders, want 2", len(scans))
	}
	for _, s := range scans {
		out, _ := exec.CommandContext(t.Context(), "dciodvfy", filepath.Join(s, "DICOMDIR")).CombinedOutput()
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "Error") {
				t.Errorf("dciodvfy %s: %s", filepath.Base(s), l)
			}
		}
		if n := strings.TrimSpace(ziptest.Run(t, ziptest.Python, filepath.Join(testdata, "checkfileset.py"), s)); n != "1" {
			t.Errorf("pydicom FileSet of %s: %s instances, want 1", filepath.Base(s), n)
		}
	}

	// Redelivered job (same inputs): the same bundle, no new version.
	e.request(t, b.caseID, "r2")
	again, err := e.svc.Bundle(t.Context(), b.caseID, packager.BundleOptions{Trigger: "request"})
	if err != nil {
		t.Fatal(err)
	}
	if again.Version != 1 || again.SHA256 != v1.SHA256 {
		t.Errorf("same inputs made version %d sha %s, want version 1 %s", again.Version, again.SHA256, v1.SHA256)
	}
	waitForIdle(t, e)
	if n := len(e.versions(t, b.caseID)); n != 1 {
		t.Errorf("%d bundle versions after a redelivered job, want 1", n)
	}

	// A new upload makes version 2; version 1 stays downloadable.
	b.document("new labs.pdf", record.CategoryLabReport, "2026-05-05", func(f *record.File) { f.Document.Panels = []string{"hba1c"} })
	e.request(t, b.caseID, "r3")
	waitFor(t, "bundle v2", func() bool { return len(e.versions(t, b.caseID)) == 2 })
	v2 := e.versions(t, b.caseID)[1]
	if v2.Version != 2 || v2.Key == v1.Key || v2.Inputs == v1.Inputs {
		t.Errorf("v2: %+v", v2)
	}
	z2 := e.download(t, v2)
	if !strings.Contains(ziptest.Run(t, "zipinfo", "-1", z2), "04_Labs/2026-05-05_Lab_Report_HBA1C.pdf") {
		t.Error("v2 lacks the new upload")
	}
	e.download(t, v1)

	// No patient data in the logs.
	logs := e.Logs.String()
	for _, phi := range []string{"Łukasiewicz", "Lukasiewicz", "LUKASIEWICZ", "Zoë", "1961-03-14", "Penicillin", "Apixaban"} {
		if strings.Contains(logs, phi) {
			t.Errorf("logs contain patient data %q", phi)
		}
	}
}

// waitForIdle waits until the bundle consumer has nothing pending or unacked.
func waitForIdle(t *testing.T, e *env) {
	t.Helper()
	waitFor(t, "bundle queue drained", func() bool {
		c, err := e.Bus.JetStream().Consumer(t.Context(), bus.StreamWork, packager.ConsumerBundle)
		if err != nil {
			return false
		}
		info, err := c.Info(t.Context())
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	})
}

func TestMissingPartsAndPending(t *testing.T) {
	e := newEnv(t, nil)
	e.run(t)
	b := e.newCase(t, record.Case{Patient: record.Patient{FamilyName: "Doe", GivenName: "John", BirthDate: "1970-01-02"}})
	b.document("mri report.pdf", record.CategoryRadiologyReport, "2026-04-12", nil)
	// One upload never finishes processing.
	key := record.UploadKey(b.caseID, "slow.pdf")
	info := e.put(t, e.Intake, key, []byte("%PDF-1.4 slow"))
	if _, err := e.Cases.UpsertFile(t.Context(), b.caseID, record.FileID(e.Intake, key), func(f *record.File, _ bool) error {
		f.Path, f.Bucket, f.Key, f.ETag, f.Size, f.Status = "slow.pdf", e.Intake, key, info.ETag, info.Size, record.StatusProcessing
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	b.report(record.Report{Version: 1, ReferenceDate: "2026-05-04", Pending: 1, Digest: "gaps",
		Parts: parts(record.PartImaging, record.PartLabs, record.PartID),
		Findings: []record.Finding{{Code: "imaging.missing", Severity: record.SeverityError,
			Message: "The radiology report has no images: upload the DICOM files.", Files: []string{}}}})

	// The automatic path never bundles a case with pending files.
	if _, err := e.svc.Bundle(t.Context(), b.caseID, packager.BundleOptions{Trigger: "auto"}); !errors.Is(err, packager.ErrPending) {
		t.Fatalf("got %v, want ErrPending", err)
	}
	// A request waits, then bundles what is there with the gaps listed.
	e.request(t, b.caseID, "r1")
	waitFor(t, "bundle", func() bool { return len(e.versions(t, b.caseID)) == 1 })
	v1 := e.versions(t, b.caseID)[0]
	folder := checkBundle(t, e.download(t, v1), v1.Name)
	cl, err := os.ReadFile(filepath.Join(folder, "CHECKLIST.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"MISSING", "The radiology report has no images", "still being processed", "Result: not ready"} {
		if !strings.Contains(string(cl), want) {
			t.Errorf("CHECKLIST.txt lacks %q:\n%s", want, cl)
		}
	}
	text := ziptest.Run(t, "pdftotext", filepath.Join(folder, "CHECKLIST.pdf"), "-")
	if !strings.Contains(text, "MISSING") {
		t.Errorf("CHECKLIST.pdf lacks the missing parts:\n%s", text)
	}
}

func TestAutomaticBundle(t *testing.T) {
	e := newEnv(t, func(c *packager.Config) { c.QuietPeriod, c.QuietCheck = 1500*time.Millisecond, 100*time.Millisecond })
	e.run(t)
	b := e.newCase(t, record.Case{Patient: record.Patient{FamilyName: "Roe", GivenName: "Ann", BirthDate: "1950-05-05"}})
	b.document("labs.pdf", record.CategoryLabReport, "2026-05-02", nil)
	b.report(record.Report{Version: 1, Parts: parts(), Digest: "clean-1", Findings: []record.Finding{}})
	// A report with errors is not bundled.
	if err := e.Bus.Publish(t.Context(), event.ReportUpdated{Version: 1, CaseID: b.caseID, Digest: "dirty", Errors: 1}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := e.Bus.Publish(t.Context(), event.ReportUpdated{Version: 1, CaseID: b.caseID, Digest: "clean-1"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "automatic bundle", func() bool { return len(e.versions(t, b.caseID)) == 1 })
	got := e.versions(t, b.caseID)[0]
	if got.Trigger != "auto" {
		t.Errorf("trigger %q, want auto", got.Trigger)
	}
	if time.Since(start) < time.Second {
		t.Errorf("bundled %s after the report, before the quiet period", time.Since(start))
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  packager.Config
		ok   bool
	}{
		{"defaults", packager.Config{}, true},
		{"shared bucket", packager.Config{BundleBucket: "x", IntakeBucket: "x"}, false},
		{"link too long", packager.Config{LinkExpiry: 8 * 24 * time.Hour}, false},
		{"small parts", packager.Config{PartSize: 1 << 20}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			c.Defaults()
			if err := c.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
