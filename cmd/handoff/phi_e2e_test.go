package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/handoffmed/handoff/cmd/handoff/internal/e2e"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/testenv"
)

// textOf extracts a document's text as the OCR service would.
func textOf(t *testing.T, path string, data []byte) []byte {
	t.Helper()
	tmp := filepath.Join(t.TempDir(), "in"+filepath.Ext(path))
	if err := writeFile(tmp, data); err != nil {
		t.Fatal(err)
	}
	var cmd *exec.Cmd
	switch strings.ToLower(filepath.Ext(path)) {
	case ".pdf":
		cmd = exec.Command("pdftotext", "-q", "-enc", "UTF-8", tmp, "-")
	case ".jpg", ".png":
		cmd = exec.Command("tesseract", tmp, "-")
	default:
		return data
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}

// While a case is processed through `handoff serve` (debug logging on), no
// patient name, birth date, file name or document text reaches the
// pipeline's log or any message on any subject (events, work items, bucket
// notifications, dead letters, bundle announcements): messages carry IDs.
// The documents are uploaded as their text (the text route: understanding,
// report) next to the DICOM series (the DICOM service, with the patient's
// name in its tags), and as the original PDFs and photo under file names
// that hold the patient's name (sniffing, OCR, the bundle, which is built).
func TestNoPatientDataInLogsOrMessages(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	testenv.Tools(t, "tesseract", "pdftotext")
	p := e2e.Start(t, e2e.Options{Args: []string{"--log-level", "debug", "--quiet-period", "-1s"}})
	msgs := p.CaptureMessages(t)

	c := loadExample(t, "complete")
	paths := make([]string, 0, len(c.files))
	for path := range c.files {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	// File names chosen by the patient, with the patient's name in them.
	folder := c.patient.GivenName + " " + c.patient.FamilyName + " records/"
	named := func(path string) string { return folder + c.patient.FamilyName + " " + path }
	asText := p.CreateCase(string(c.fields))
	originals := p.CreateCase(string(c.fields))
	var fileNames []string
	for _, path := range paths {
		data := c.files[path]
		p.Upload(originals, named(path), data)
		fileNames = append(fileNames, filepath.Base(path))
		if strings.HasPrefix(path, "Imaging CD/") {
			p.Upload(asText, path, data)
			continue
		}
		p.Upload(asText, strings.TrimSuffix(path, filepath.Ext(path))+".txt", textOf(t, path, data))
	}
	// The text case is complete: its final report has no finding.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var r record.Report
		if p.Do(http.MethodGet, "/v1/cases/"+asText+"/report", nil, &r) == http.StatusOK && r.Pending == 0 && len(r.Findings) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no final report; last: %+v", r)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The originals go all the way: processed, then bundled.
	p.WaitIdle(originals, len(paths), 3*time.Minute)
	if code := p.Do(http.MethodPost, "/v1/cases/"+originals+"/bundle", nil, nil); code != http.StatusAccepted {
		t.Fatalf("bundle request: %d", code)
	}
	v := p.WaitFor(originals, "a bundle", 3*time.Minute, func(v e2e.CaseView) bool { return len(v.Bundles) > 0 })
	if b := v.Bundles[0]; !strings.Contains(b.Name, c.patient.FamilyName) || strings.Contains(b.Key, c.patient.FamilyName) {
		t.Errorf("bundle %q at key %q: the readable name is the download's, never the key's", b.Name, b.Key)
	}
	time.Sleep(time.Second) // let in-flight log lines and messages land
	events := msgs.String()
	logs := p.Serve.Output()
	for _, subject := range []string{"handoff.report.updated", "handoff.bundle.ready", "handoff.work.bundle", "handoff.bucket.events", "handoff.work.ocr"} {
		if !strings.Contains(events, subject) {
			t.Errorf("no message on %s captured", subject)
		}
	}
	if !strings.Contains(logs, asText) {
		t.Fatalf("nothing logged: %d bytes of logs", len(logs))
	}
	needles := append(append(phiStrings(c), documentText...), fileNames...)
	for _, s := range e2e.Mentions(logs, needles) {
		t.Errorf("the pipeline's log holds patient data, a file name or document text %q", s)
	}
	for _, s := range e2e.Mentions(events, needles) {
		t.Errorf("a message holds patient data, a file name or document text %q", s)
	}
}

func writeFile(path string, data []byte) error { return os.WriteFile(path, data, 0o600) }
