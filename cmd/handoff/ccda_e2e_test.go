package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/handoffmed/handoff/cmd/handoff/internal/e2e"
	"github.com/handoffmed/handoff/platform/testenv"
)

// A portal's C-CDA export in an XDM ZIP through `handoff serve`: the bundle
// leaves the export out and holds readable extracts of its recent results,
// its medications (aspirin highlighted) and its procedures, each saying
// where it comes from and listed in MANIFEST.json with the upload.
func TestPortalExportBundleThroughServe(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	testenv.Tools(t, "unzip", "pdftotext", "tesseract", "sha256sum")
	p := e2e.Start(t, e2e.Options{Args: []string{"--quiet-period", "-1s"}})
	fields, files := bundleCase(t, "portal_ccda")
	id := p.CreateCase(fields)
	uploadAll(p, id, files)
	waitProcessed(t, p, id, len(files)+1) // the ZIP's document is a file of its own
	if code := p.Do(http.MethodPost, "/v1/cases/"+id+"/bundle", nil, nil); code != http.StatusAccepted {
		t.Fatalf("POST bundle: %d", code)
	}
	v := p.WaitFor(id, "bundle", 3*time.Minute, func(v e2e.CaseView) bool { return len(v.Bundles) == 1 })
	folder := checkExtracted(t, downloadBundle(t, p, id, v.Bundles[0]), v.Bundles[0].Name)

	from := "Extracted by Handoff from MyHealthRecord_export.zip!/IHE_XDM/SUBSET01/DOC0001.XML"
	for path, words := range map[string][]string{
		"04_Labs/2026-10-06_Lab_Results_from_portal.pdf":     {from, "Basic metabolic panel (BMP)", "Potassium Level", "Glucose, Random", "185", "2026-10-06"},
		"06_Medications/Medication_List_from_portal.pdf":     {from, "Aspirin 81 MG Oral Tablet", "BLOOD THINNER", "NovoLog", "30 units"},
		"05_Prior_Surgical_Notes/Procedures_from_portal.pdf": {from, "Electrocardiographic procedure"},
	} {
		text := runTool(t, "pdftotext", filepath.Join(folder, filepath.FromSlash(path)), "-")
		text = strings.Join(strings.Fields(text), " ")
		for _, w := range words {
			if !strings.Contains(text, w) {
				t.Errorf("%s lacks %q:\n%s", path, w, text)
			}
		}
	}
	var man struct {
		Files []struct {
			Path, Upload, Category string
		} `json:"files"`
		Excluded []struct {
			Upload, Reason string
		} `json:"excluded"`
	}
	mj, err := os.ReadFile(filepath.Join(folder, "MANIFEST.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(mj, &man); err != nil {
		t.Fatal(err)
	}
	// Object keys hold no file names: the export is the upload left out as
	// a C-CDA, and each extract names it.
	export := ""
	for _, e := range man.Excluded {
		if strings.Contains(e.Reason, "C-CDA") {
			export = e.Upload
		}
	}
	if export == "" {
		t.Errorf("the export is not listed as left out: %+v", man.Excluded)
	}
	extracts := 0
	for _, f := range man.Files {
		if strings.Contains(f.Path, "_from_portal") {
			extracts++
			if f.Upload != export {
				t.Errorf("manifest: %s comes from %q, want the export %q", f.Path, f.Upload, export)
			}
		}
		if f.Upload == export && !strings.Contains(f.Path, "_from_portal") {
			t.Errorf("the export itself is in the bundle: %s", f.Path)
		}
	}
	if extracts != 3 {
		t.Errorf("got %d extracts in MANIFEST.json, want 3", extracts)
	}
}
