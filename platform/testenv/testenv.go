// Package testenv says what a test needs from the machine: the programs it
// runs (Tesseract, poppler, dcmtk, Chromium...), the Python modules of a peer
// tool, and the repository's own test data.
//
// A test that lacks what it needs fails and names it: a missing tool must
// never read as a passing (skipped) test. A developer without some tool can
// set HANDOFF_SKIP_MISSING_TOOLS=1 to skip those tests instead, with the
// same message; `make test` never sets it.
package testenv

import (
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// SkipEnv is the environment variable that turns a missing tool into a skip.
const SkipEnv = "HANDOFF_SKIP_MISSING_TOOLS"

// packages says where each tool comes from.
var packages = map[string]string{
	"tesseract":   "Debian package tesseract-ocr",
	"pdftotext":   "Debian package poppler-utils",
	"pdftoppm":    "Debian package poppler-utils",
	"pdfinfo":     "Debian package poppler-utils",
	"pdffonts":    "Debian package poppler-utils",
	"pdfimages":   "Debian package poppler-utils",
	"qpdf":        "Debian package qpdf",
	"dcmdump":     "Debian package dcmtk",
	"dcmftest":    "Debian package dcmtk",
	"dciodvfy":    "Debian package dicom3tools",
	"dcentvfy":    "Debian package dicom3tools",
	"ocrmypdf":    "Debian package ocrmypdf",
	"chromium":    "Debian package chromium",
	"xsltproc":    "Debian package xsltproc",
	"curl":        "Debian package curl",
	"unzip":       "Debian package unzip",
	"zip":         "Debian package zip",
	"python3":     "Debian package python3",
	"nats-server": "make setup (it installs a pinned nats-server into .tools/bin)",
	"versitygw":   "make setup (it installs a pinned versitygw into .tools/bin)",
	"helm":        "make setup (it installs a pinned helm into .tools/bin)",
}

// Missing ends the test because something it needs is not installed: it
// fails, or skips when SkipEnv is set.
func Missing(t testing.TB, what, how string) {
	t.Helper()
	msg := what + " is required by this test and is not installed"
	if how != "" {
		msg += " (" + how + ")"
	}
	if os.Getenv(SkipEnv) == "1" {
		t.Skip(msg + "; skipped because " + SkipEnv + "=1")
	}
	t.Fatal(msg)
}

// Tool returns the path of the named program, found on PATH or in the
// repository's .tools/bin, and ends the test when there is none.
func Tool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if root, ok := repoRoot(); ok {
		p := filepath.Join(root, ".tools", "bin", name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	Missing(t, name, packages[name])
	return ""
}

// Tools checks several programs at once.
func Tools(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		Tool(t, n)
	}
}

// SystemPython is Debian's interpreter, which sees the python3-* packages
// (another python3 earlier on PATH may not).
const SystemPython = "/usr/bin/python3"

// Python returns a Python 3 interpreter that can import every module named
// (Debian's first), and ends the test when there is none.
func Python(t testing.TB, modules ...string) string {
	t.Helper()
	cands := []string{SystemPython}
	if p, err := exec.LookPath("python3"); err == nil && p != SystemPython {
		cands = append(cands, p)
	}
	for _, py := range cands {
		if _, err := os.Stat(py); err != nil {
			continue
		}
		if len(modules) == 0 {
			return py
		}
		if exec.Command(py, "-c", "import "+strings.Join(modules, ", ")).Run() == nil {
			return py
		}
	}
	var pkgs []string
	for _, m := range modules {
		pkgs = append(pkgs, "python3-"+m)
	}
	what := "python3"
	if len(modules) > 0 {
		what = "python3 with " + strings.Join(modules, ", ")
	}
	Missing(t, what, "Debian packages python3 "+strings.Join(pkgs, " "))
	return ""
}

var root struct {
	once sync.Once
	dir  string
	ok   bool
}

// repoRoot is the directory holding go.work, found from the working
// directory the test binary started in.
func repoRoot() (string, bool) {
	root.once.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			return
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
				root.dir, root.ok = dir, true
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return
			}
			dir = parent
		}
	})
	return root.dir, root.ok
}

// Root returns the repository's root directory (absolute).
func Root(t testing.TB) string {
	t.Helper()
	dir, ok := repoRoot()
	if !ok {
		t.Fatal("the repository root (the directory with go.work) is not above the test's directory")
	}
	return dir
}

// Testdata returns the absolute path of rel under the repository's
// testdata directory ("corpus/ocr-peer/linn.pdf"); the test fails when it
// does not exist.
func Testdata(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(Root(t), "testdata", filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("test data %s: %v", rel, err)
	}
	return p
}

// Ports handed out by FreePort in this process, never handed out twice.
var (
	portsMu sync.Mutex
	ports   = map[int]bool{}
)

// FreePort returns a free TCP port on loopback for a server process to
// listen on. It is taken below Linux's ephemeral range (32768–60999), from
// which the kernel gives a closed test listener's port out again and takes
// the local ports of outgoing connections: either could otherwise take the
// port before the server binds it. Within one test binary no port is given
// twice; across test binaries a random start makes a clash unlikely, and
// the port is checked free when handed out.
func FreePort(t testing.TB) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	const lo, hi = 20000, 32768
	start := lo + rand.IntN(hi-lo)
	for i := range hi - lo {
		port := lo + (start-lo+i)%(hi-lo)
		if ports[port] {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		l.Close()
		ports[port] = true
		return port
	}
	t.Fatal("no free port on loopback")
	return 0
}

// startDir is the test's package directory: the working directory the
// test binary starts in, before anything (a gateway of package blobtest)
// changes it.
var startDir, _ = os.Getwd()

var serviceBins struct {
	sync.Mutex
	dir string
}

// ServiceBinary returns the binary of one service (intake, dicom, ocr,
// packager): the one make test builds beside $HANDOFF_BIN, else one built
// once per test binary.
func ServiceBinary(t testing.TB, name string) string {
	t.Helper()
	if b := os.Getenv("HANDOFF_BIN"); b != "" {
		bin := filepath.Join(filepath.Dir(b), name)
		if st, err := os.Stat(bin); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return bin
		}
	}
	serviceBins.Lock()
	defer serviceBins.Unlock()
	if serviceBins.dir == "" {
		dir, err := os.MkdirTemp("", "handoff-services-")
		if err != nil {
			t.Fatal(err)
		}
		serviceBins.dir = dir
	}
	bin := filepath.Join(serviceBins.dir, name)
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	build := exec.Command("go", "build", "-o", bin, "github.com/handoffmed/handoff/services/"+name+"/cmd/"+name)
	build.Dir = startDir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, out)
	}
	return bin
}

// ToolVersion names a tool with its version, as "tesseract-5.3.0": the
// first word of `name args...` that starts with a digit ("unknown"
// without one). Results cached per tool version are kept under such names.
func ToolVersion(name string, args ...string) string {
	out, _ := exec.Command(name, args...).CombinedOutput()
	for _, w := range strings.Fields(string(out)) {
		if w[0] >= '0' && w[0] <= '9' {
			return name + "-" + w
		}
	}
	return name + "-unknown"
}

// OCRTools names the versions of Tesseract and pdftoppm, as
// "tesseract-5.3.0_pdftoppm-22.12.0": OCR results cached in testdata are
// kept under it, for the tools that made them.
var OCRTools = sync.OnceValue(func() string {
	return ToolVersion("tesseract", "--version") + "_" + ToolVersion("pdftoppm", "-v")
})
