package main

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/handoffmed/handoff/cmd/handoff/internal/e2e"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/testenv"
)

// A case over its OCR page budget (`handoff serve --ocr-case-pages 2`): its
// 3-page scanned radiology report is done with 2 pages OCRed and the third
// left as scanned, the checklist says so in plain words
// (input.case_page_budget), and the report is still in the bundle.
func TestCasePageBudgetThroughServe(t *testing.T) {
	t.Parallel()
	testenv.Tools(t, "qpdf", "unzip", "zipinfo", "pdfinfo", "pdffonts", "sha256sum")
	scan := filepath.Join(t.TempDir(), "scan.pdf")
	report := testenv.Testdata(t, "cases/scanned_report/files/Imaging report (scan).pdf")
	if out, err := exec.Command("qpdf", "--empty", "--pages", report, "1,1,1", "--", scan).CombinedOutput(); err != nil {
		t.Fatalf("qpdf: %v\n%s", err, out)
	}
	data, err := os.ReadFile(scan)
	if err != nil {
		t.Fatal(err)
	}
	p := e2e.Start(t, e2e.Options{Args: []string{"--ocr-case-pages", "2", "--quiet-period", "-1s"}})
	id := p.CreateCase("")
	f := p.Upload(id, "Records/report-scan.pdf", data)
	v := p.WaitIdle(id, 1, 4*time.Minute)
	got := v.Files[0]
	if got.Status != record.StatusDone || got.Error != nil {
		t.Fatalf("file %+v, want done", got)
	}
	if !slices.ContainsFunc(got.Warnings, func(e record.Error) bool {
		return e.Code == record.CodeCasePageBudget && strings.Contains(e.Message, "1 page was not OCRed")
	}) {
		t.Errorf("warnings %+v, want %s for 1 page", got.Warnings, record.CodeCasePageBudget)
	}

	var finding *record.Finding
	deadline := time.Now().Add(time.Minute)
	for finding == nil {
		r := p.Report(id)
		for i, fd := range r.Findings {
			if fd.Code == record.CodeCasePageBudget {
				finding = &r.Findings[i]
			}
		}
		if finding == nil && time.Now().After(deadline) {
			t.Fatalf("report findings %+v, want %s", r.Findings, record.CodeCasePageBudget)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("finding: %s", finding.Message)
	if finding.Severity != record.SeverityWarning || !slices.Equal(finding.Files, []string{f.ID}) ||
		!strings.Contains(finding.Message, "only partly made searchable") || !strings.Contains(finding.Message, "still included") {
		t.Errorf("finding %+v", finding)
	}

	if code := p.Do(http.MethodPost, "/v1/cases/"+id+"/bundle", nil, nil); code != http.StatusAccepted {
		t.Fatalf("POST bundle: %d", code)
	}
	bv := p.WaitFor(id, "bundle", 3*time.Minute, func(v e2e.CaseView) bool { return len(v.Bundles) == 1 })
	folder := checkExtracted(t, downloadBundle(t, p, id, bv.Bundles[0]), bv.Bundles[0].Name)
	var man struct {
		Files []struct {
			Path   string `json:"path"`
			FileID string `json:"file_id"`
		} `json:"files"`
	}
	mj, err := os.ReadFile(filepath.Join(folder, "MANIFEST.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(mj, &man); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(man.Files, func(m struct {
		Path   string `json:"path"`
		FileID string `json:"file_id"`
	}) bool {
		return m.FileID == f.ID && strings.HasPrefix(m.Path, "03_Radiology_Reports/")
	}) {
		t.Errorf("the report over the budget is not in the bundle's radiology reports: %+v", man.Files)
	}
}
