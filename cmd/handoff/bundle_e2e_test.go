package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"

	"github.com/handoffmed/handoff/cmd/handoff/internal/e2e"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/testenv"
)

var updateBundleGolden = flag.Bool("update-bundle-golden", false, "rewrite testdata/bundle_complete.tree")

// bundleCase reads an example case of testdata/cases: its fields and files.
func bundleCase(t *testing.T, name string) (fields string, files map[string][]byte) {
	t.Helper()
	dir := filepath.Join("../../testdata/cases", name)
	b, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if err != nil {
		t.Fatal(err)
	}
	files = map[string][]byte{}
	root := filepath.Join(dir, "files")
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		data, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b), files
}

func uploadAll(p *e2e.Pipeline, id string, files map[string][]byte) {
	paths := make([]string, 0, len(files))
	for path := range files {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	for _, path := range paths {
		p.Upload(id, path, files[path])
	}
}

// waitProcessed waits until nothing of the case is pending; it skips the
// test when a route never gets processed (its service is not in serve).
func waitProcessed(t *testing.T, p *e2e.Pipeline, id string, n int) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(6 * time.Minute)
	for {
		v := p.Case(id)
		if v.Pending == 0 && len(v.Files) >= n {
			return
		}
		pending, done := map[string]int{}, map[string]int{}
		for _, f := range v.Files {
			if record.Terminal(f.Status) {
				done[f.Route]++
			} else {
				pending[f.Route]++
			}
		}
		for route, k := range pending {
			// A route none of whose files moved in 90 s has a hung or
			// missing worker.
			if done[route] == 0 && k > 0 && time.Since(start) > 90*time.Second && route != "" {
				t.Fatalf("no file on route %q was processed in 90 s: its worker is hung or does not run in handoff serve", route)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("files still pending after 6 minutes, by route %v", pending)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// download follows GET /v1/cases/{id}/bundle?version=N to its presigned
// link and saves the ZIP, checking its size and SHA-256 against the record.
func downloadBundle(t *testing.T, p *e2e.Pipeline, id string, b record.Bundle) string {
	t.Helper()
	var link string
	if code := p.Do(http.MethodGet, "/v1/cases/"+id+"/bundle?version="+strconv.Itoa(b.Version), nil, &link); code != http.StatusFound {
		t.Fatalf("GET bundle link: %d", code)
	}
	// The readable name (the patient's names and birth date) is the
	// download's file name, never part of the link.
	if strings.Contains(link, strings.SplitN(b.Name, "_", 2)[0]) {
		t.Errorf("the bundle link holds the patient's name: %s", link)
	}
	resp, err := p.HTTP.Get(link) //nolint:noctx // a test download
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET presigned link: %s", resp.Status)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, b.Name) {
		t.Errorf("download saved as %q, want the bundle's name %q", cd, b.Name)
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
		t.Fatalf("downloaded %d bytes, record says %d (sha256 match %v)", n, b.Size, hex.EncodeToString(h.Sum(nil)) == b.SHA256)
	}
	return path
}

func runTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%.3000s", name, args, err, out)
	}
	return string(out)
}

var pdfPages = regexp.MustCompile(`(?m)^Pages:\s+(\d+)$`)

// checkExtracted unzips a bundle and runs the recipient's checks; it
// returns the bundle folder.
func checkExtracted(t *testing.T, zipPath, name string) string {
	t.Helper()
	if out := runTool(t, "unzip", "-t", "-qq", zipPath); strings.TrimSpace(out) != "" {
		t.Errorf("unzip -t: %s", out)
	}
	runTool(t, "zipinfo", zipPath)
	dir := t.TempDir()
	runTool(t, "unzip", "-q", zipPath, "-d", dir)
	folder := filepath.Join(dir, strings.TrimSuffix(name, ".zip"))
	if out := runTool(t, "sh", "-c", "cd '"+folder+"' && sha256sum -c --strict SHA256SUMS"); strings.Contains(out, "FAILED") {
		t.Errorf("sha256sum -c:\n%s", out)
	}
	sum := filepath.Join(folder, "00_Case_Summary.pdf")
	if m := pdfPages.FindStringSubmatch(runTool(t, "pdfinfo", sum)); m == nil || m[1] != "1" {
		t.Errorf("pdfinfo: the case summary is not one page")
	}
	if f := runTool(t, "pdffonts", sum); !strings.Contains(strings.ToLower(f), "droidsansfallback") {
		t.Errorf("pdffonts: no CJK font embedded:\n%s", f)
	}
	return folder
}

// checkScans runs the DICOM checks on every scan folder of a bundle.
func checkScans(t *testing.T, folder, checkFS string) {
	t.Helper()
	scans, _ := filepath.Glob(filepath.Join(folder, "02_Imaging_DICOM", "*"))
	if len(scans) == 0 {
		t.Error("no scan folder in 02_Imaging_DICOM")
	}
	for _, s := range scans {
		out, _ := exec.Command("dciodvfy", filepath.Join(s, "DICOMDIR")).CombinedOutput()
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "Error") {
				t.Errorf("dciodvfy %s: %s", filepath.Base(s), l)
			}
		}
		if n := strings.TrimSpace(runTool(t, "/usr/bin/python3", checkFS, s)); n == "0" {
			t.Errorf("pydicom FileSet of %s lists no instance", filepath.Base(s))
		}
	}
}

// The acceptance of the packager through `handoff serve`: a complete example
// case's bundle has the golden layout and passes every recipient's check;
// a redelivered request makes no new version; a new upload does, and the
// old version stays downloadable; a case with missing parts gets its bundle
// with the gaps in its checklist.
func TestBundleThroughServe(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	testenv.Tools(t, "unzip", "zipinfo", "pdfinfo", "pdffonts", "dciodvfy", "sha256sum")
	testenv.Python(t, "pydicom")
	checkFS, err := filepath.Abs("../../services/packager/testdata/checkfileset.py")
	if err != nil {
		t.Fatal(err)
	}
	p := e2e.Start(t, e2e.Options{Args: []string{"--quiet-period", "-1s"}})
	nc, err := p.Conn(t, "admin")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var ready []event.BundleReady
	sub, err := nc.Subscribe(event.SubjectBundleReady, func(m *nats.Msg) {
		var ev event.BundleReady
		if _, err := event.Decode(m.Header, m.Data, &ev); err == nil {
			mu.Lock()
			ready = append(ready, ev)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	readyCount := func() int { mu.Lock(); defer mu.Unlock(); return len(ready) }

	fields, files := bundleCase(t, "complete")

	// Imaging only (the DICOM service's file-sets): runs as soon as the
	// DICOM service does.
	iid := p.CreateCase(fields)
	dicomFiles := map[string][]byte{}
	for path, data := range files {
		if strings.HasPrefix(path, "Imaging CD/") {
			dicomFiles[path] = data
		}
	}
	uploadAll(p, iid, dicomFiles)
	waitProcessed(t, p, iid, len(dicomFiles))
	if code := p.Do(http.MethodPost, "/v1/cases/"+iid+"/bundle", nil, nil); code != http.StatusAccepted {
		t.Fatalf("POST bundle: %d", code)
	}
	iv := p.WaitFor(iid, "imaging bundle", 3*time.Minute, func(v e2e.CaseView) bool { return len(v.Bundles) == 1 })
	ifolder := checkExtracted(t, downloadBundle(t, p, iid, iv.Bundles[0]), iv.Bundles[0].Name)
	checkScans(t, ifolder, checkFS)
	if icl, err := os.ReadFile(filepath.Join(ifolder, "CHECKLIST.txt")); err != nil || !strings.Contains(string(icl), "MISSING") {
		t.Errorf("CHECKLIST.txt of an imaging-only case lists nothing missing (%v):\n%s", err, icl)
	}

	id := p.CreateCase(fields)
	uploadAll(p, id, files)
	waitProcessed(t, p, id, len(files))

	if code := p.Do(http.MethodPost, "/v1/cases/"+id+"/bundle", nil, nil); code != http.StatusAccepted {
		t.Fatalf("POST bundle: %d", code)
	}
	v := p.WaitFor(id, "bundle v1", 3*time.Minute, func(v e2e.CaseView) bool { return len(v.Bundles) == 1 })
	v1 := v.Bundles[0]
	zip1 := downloadBundle(t, p, id, v1)

	tree := runTool(t, "zipinfo", "-1", zip1)
	// The layout: one folder of the ZIP's name, the seven parts, the summary
	// on top, the checklist, manifest and sums; and, once recorded, exactly
	// the golden listing.
	top := strings.TrimSuffix(v1.Name, ".zip") + "/"
	for _, want := range []string{"", "00_Case_Summary.pdf", "01_Case_Summary/", "01_Case_Summary/Case_Summary.pdf", "02_Imaging_DICOM/",
		"03_Radiology_Reports/", "04_Labs/", "05_Prior_Surgical_Notes/", "06_Medications/", "07_ID/",
		"CHECKLIST.pdf", "CHECKLIST.txt", "MANIFEST.json", "SHA256SUMS"} {
		if !strings.Contains("\n"+tree, "\n"+top+want+"\n") {
			t.Errorf("bundle lacks %s%s:\n%s", top, want, tree)
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(tree), "\n") {
		if !strings.HasPrefix(l, top) {
			t.Errorf("entry %q outside the bundle folder", l)
		}
	}
	golden := filepath.Join("testdata", "bundle_complete.tree")
	if *updateBundleGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(tree), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want, err := os.ReadFile(golden); err == nil {
		if d := cmp.Diff(string(want), tree); d != "" {
			t.Errorf("bundle tree (-want +got):\n%s", d)
		}
	} else {
		t.Errorf("no %s (record it with -update-bundle-golden): %v; tree:\n%s", golden, err, tree)
	}
	folder := checkExtracted(t, zip1, v1.Name)
	checkScans(t, folder, checkFS)
	var man struct {
		Files []struct {
			Path, Upload, SHA256 string
		} `json:"files"`
	}
	mj, err := os.ReadFile(filepath.Join(folder, "MANIFEST.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(mj, &man); err != nil {
		t.Fatal(err)
	}
	for _, f := range man.Files {
		generated := strings.HasPrefix(f.Path, "00_") || strings.HasPrefix(f.Path, "01_Case_Summary/Case_Summary") ||
			strings.HasSuffix(f.Path, "/DICOMDIR") || !strings.HasPrefix(f.Path, "0")
		if !generated && f.Upload == "" {
			t.Errorf("manifest: %s has no upload it came from", f.Path)
		}
	}

	// A redelivered request (same inputs): the same bundle, announced again, no new version.
	before := readyCount()
	if code := p.Do(http.MethodPost, "/v1/cases/"+id+"/bundle", nil, nil); code != http.StatusAccepted {
		t.Fatalf("POST bundle: %d", code)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for readyCount() == before && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	last := ready[len(ready)-1]
	mu.Unlock()
	if last.BundleVersion != 1 || last.SHA256 != v1.SHA256 {
		t.Errorf("second request announced version %d sha %s, want version 1 %s", last.BundleVersion, last.SHA256, v1.SHA256)
	}
	if n := len(p.Case(id).Bundles); n != 1 {
		t.Errorf("%d bundle versions after a repeated request, want 1", n)
	}

	// A new upload makes version 2; version 1 stays downloadable.
	p.Upload(id, "Labs/PT INR repeat.pdf", files["Labs/PT INR.pdf"])
	waitProcessed(t, p, id, len(files)+1)
	if code := p.Do(http.MethodPost, "/v1/cases/"+id+"/bundle", nil, nil); code != http.StatusAccepted {
		t.Fatalf("POST bundle: %d", code)
	}
	v = p.WaitFor(id, "bundle v2", 3*time.Minute, func(v e2e.CaseView) bool { return len(v.Bundles) == 2 })
	if v.Bundles[1].Version != 2 || v.Bundles[1].SHA256 == v1.SHA256 {
		t.Errorf("v2: %+v", v.Bundles[1])
	}
	checkExtracted(t, downloadBundle(t, p, id, v.Bundles[1]), v.Bundles[1].Name)
	downloadBundle(t, p, id, v1)

	// Missing parts: the bundle comes on request, the gaps in CHECKLIST.
	gid := p.CreateCase(fields)
	p.Upload(gid, "Imaging report.pdf", files["Imaging report.pdf"])
	waitProcessed(t, p, gid, 1)
	if code := p.Do(http.MethodPost, "/v1/cases/"+gid+"/bundle", nil, nil); code != http.StatusAccepted {
		t.Fatalf("POST bundle: %d", code)
	}
	gv := p.WaitFor(gid, "bundle of the incomplete case", 3*time.Minute, func(v e2e.CaseView) bool { return len(v.Bundles) == 1 })
	gf := checkExtracted(t, downloadBundle(t, p, gid, gv.Bundles[0]), gv.Bundles[0].Name)
	cl, err := os.ReadFile(filepath.Join(gf, "CHECKLIST.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cl), "MISSING") {
		t.Errorf("CHECKLIST.txt of an incomplete case lists nothing missing:\n%s", cl)
	}
}
