package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
// patient name, birth date or document text reaches the pipeline's log or
// any message on its subjects (events and work items). The documents are
// uploaded as their text (the text route: understanding, report) next to
// the DICOM series (the DICOM service), and as the original PDFs and photo
// (sniffing and routing to OCR).
func TestNoPatientDataInLogsOrMessages(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	testenv.Tools(t, "tesseract", "pdftotext")
	p := e2e.Start(t, e2e.Options{Args: []string{"--log-level", "debug"}})
	msgs := p.CaptureMessages(t)

	c := loadExample(t, "complete")
	paths := make([]string, 0, len(c.files))
	for path := range c.files {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	asText := p.CreateCase(string(c.fields))
	originals := p.CreateCase(string(c.fields))
	for _, path := range paths {
		data := c.files[path]
		p.Upload(originals, path, data)
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
	// The originals are at least sniffed and routed.
	p.WaitFor(originals, "every original routed", time.Minute, func(v e2e.CaseView) bool {
		n := 0
		for _, f := range v.Files {
			if f.Route != "" {
				n++
			}
		}
		return n >= len(paths)
	})
	time.Sleep(time.Second) // let in-flight log lines and messages land
	events := msgs.String()
	logs := p.Serve.Output()
	if !strings.Contains(events, "handoff.report.updated") || !strings.Contains(logs, asText) {
		t.Fatalf("nothing captured: %d bytes of messages, %d of logs", len(events), len(logs))
	}
	for _, s := range append(phiStrings(c), documentText...) {
		re := regexp.MustCompile(`(?i)\b` + regexp.QuoteMeta(s) + `\b`)
		if re.MatchString(logs) {
			t.Errorf("the pipeline's log holds patient data or document text %q", s)
		}
		if re.MatchString(events) {
			t.Errorf("a message holds patient data or document text %q", s)
		}
	}
}

func writeFile(path string, data []byte) error { return os.WriteFile(path, data, 0o600) }
