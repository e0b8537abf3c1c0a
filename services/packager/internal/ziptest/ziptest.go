// Package ziptest checks a ZIP file with the real tools a recipient would
// use: Info-ZIP's unzip and zipinfo, Python's zipfile and Go's archive/zip.
// It is for tests only.
package ziptest

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// Python is the interpreter whose zipfile module checks archives (Debian's,
// not a virtualenv's).
const Python = "/usr/bin/python3"

// Need skips the test when a tool is missing.
func Need(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not installed (scripts/packages.txt lists it): %v", tool, err)
		}
	}
}

// Run runs a command and returns its standard output, failing the test on error.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout: %.4000s\nstderr: %.4000s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// Entry is what the tools agree an entry holds.
type Entry struct {
	Size   int64
	SHA256 string
}

const pyCheck = `
import sys, zipfile, hashlib, json
z = zipfile.ZipFile(sys.argv[1])
bad = z.testzip()
if bad is not None:
    sys.exit("testzip: bad entry %r" % bad)
out = {}
for i in z.infolist():
    if i.is_dir():
        out[i.filename] = {"size": 0, "sha256": "", "dir": True}
        continue
    h = hashlib.sha256()
    with z.open(i) as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    out[i.filename] = {"size": i.file_size, "sha256": h.hexdigest(), "dir": False}
json.dump(out, sys.stdout)
`

// Verify runs unzip -t, zipinfo, Python's zipfile and Go's archive/zip on
// the archive at path and returns the entries (directories have an empty
// SHA256) as they all read them.
func Verify(t testing.TB, path string) map[string]Entry {
	t.Helper()
	Need(t, "unzip", "zipinfo", Python)
	out := Run(t, "unzip", "-t", "-qq", path)
	if strings.TrimSpace(out) != "" {
		t.Fatalf("unzip -t: %s", out)
	}
	info := Run(t, "zipinfo", "-t", path)
	if !strings.Contains(info, "files,") {
		t.Fatalf("zipinfo -t: %s", info)
	}

	var py map[string]struct {
		Size   int64  `json:"size"`
		SHA256 string `json:"sha256"`
		Dir    bool   `json:"dir"`
	}
	if err := json.Unmarshal([]byte(Run(t, Python, "-c", pyCheck, path)), &py); err != nil {
		t.Fatalf("python zipfile output: %v", err)
	}

	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatalf("archive/zip: %v", err)
	}
	defer zr.Close()
	got := make(map[string]Entry, len(zr.File))
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			got[f.Name] = Entry{}
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("archive/zip open %s: %v", f.Name, err)
		}
		h := sha256.New()
		n, err := io.Copy(h, rc)
		rc.Close()
		if err != nil {
			t.Fatalf("archive/zip read %s: %v", f.Name, err)
		}
		got[f.Name] = Entry{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}
	}
	if len(py) != len(got) {
		t.Fatalf("python sees %d entries, archive/zip %d", len(py), len(got))
	}
	for name, e := range got {
		p, ok := py[name]
		if !ok {
			t.Fatalf("python does not see %q", name)
		}
		if p.Size != e.Size || p.SHA256 != e.SHA256 {
			t.Fatalf("%s: python reads %d bytes sha256 %s, archive/zip %d bytes %s", name, p.Size, p.SHA256, e.Size, e.SHA256)
		}
	}
	return got
}
