package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/creack/pty"

	"github.com/handoffmed/handoff/cmd/handoff/internal/e2e"
	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/testenv"
)

// cli runs the handoff binary against a pipeline and returns its output
// and exit status.
func cli(t *testing.T, p *e2e.Pipeline, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(e2e.Binary(t), args...)
	cmd.Env = append(os.Environ(), append([]string{"HANDOFF_API=" + p.API, "HANDOFF_API_TOKEN=" + p.Token,
		"HANDOFF_UPLOAD_STATE=" + filepath.Join(t.TempDir(), "state.json")}, env...)...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// clitty runs the handoff binary under a pseudo-terminal.
func clitty(t *testing.T, p *e2e.Pipeline, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(e2e.Binary(t), args...)
	cmd.Env = append(os.Environ(), "HANDOFF_API="+p.API, "HANDOFF_API_TOKEN="+p.Token,
		"HANDOFF_UPLOAD_STATE="+filepath.Join(t.TempDir(), "state.json"), "TERM=xterm")
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatalf("pty: %v", err)
	}
	defer f.Close()
	var out bytes.Buffer
	_, _ = io.Copy(&out, f) // until the process closes its side (EIO)
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), 0
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// The CLI through a running pipeline, as a coordinator uses it: upload an
// example case's folder (progress bars on a terminal, plain lines in a
// pipe), wait for it, fetch the bundle and verify it; a corrupted download
// fails loudly. Usage errors exit 2, a wrong token says which to set.
func TestCLI(t *testing.T) {
	t.Parallel()
	p := e2e.Start(t, e2e.Options{Args: []string{"--quiet-period", "-1s"}})
	caseJSON := testenv.Testdata(t, "cases/complete/case.json")
	folder := testenv.Testdata(t, "cases/complete/files")

	out, code := cli(t, p, nil, "case", "create", "--json", caseJSON)
	id := strings.TrimSpace(out)
	if code != 0 || len(id) != 16 {
		t.Fatalf("case create: %d %q", code, out)
	}

	// On a terminal: bars redrawn in place, and an overall bar.
	out, code = clitty(t, p, "upload", id, folder, "--jobs", "2")
	if code != 0 {
		t.Fatalf("upload on a terminal: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "\x1b[") || !strings.Contains(out, "█") || !strings.Contains(out, "total: 12 of 12 files") {
		t.Errorf("no progress bars on a terminal:\n%q", out)
	}
	// In a pipe: plain lines, one per file, and no escapes. (The same files
	// again: new revisions of the same paths.)
	other, _ := cli(t, p, nil, "case", "create", "--family-name", "Whitfield", "--given-name", "Margaret")
	other = strings.TrimSpace(other)
	out, code = cli(t, p, nil, "upload", other, folder)
	if code != 0 {
		t.Fatalf("upload in a pipe: exit %d\n%s", code, out)
	}
	if ansi.MatchString(out) || strings.Contains(out, "█") {
		t.Errorf("escape sequences or bars in a pipe:\n%q", out)
	}
	if n := strings.Count(out, "\nuploaded ") + strings.Count(out[:min(len(out), 9)], "uploaded "); n != 12 {
		t.Errorf("%d 'uploaded' lines in a pipe, want 12:\n%s", n, out)
	}

	// wait: live progress, then the checklist; 0 for a case with nothing wrong.
	out, code = cli(t, p, nil, "wait", id, "--timeout", "4m")
	if code != 0 || !strings.Contains(out, "12 of 12 files processed") || !strings.Contains(out, "Result: ready to bundle") {
		t.Errorf("wait: exit %d\n%s", code, out)
	}
	// ... and 1 for a case whose checklist has errors.
	empty, _ := cli(t, p, nil, "case", "create")
	empty = strings.TrimSpace(empty)
	p.Upload(empty, "note.txt", []byte("Progress note\nSeen in clinic.\n"))
	if out, code = cli(t, p, nil, "wait", empty, "--timeout", "2m"); code != 1 || !strings.Contains(out, "MISSING") {
		t.Errorf("wait on an incomplete case: exit %d, want 1\n%s", code, out)
	}

	// fetch: the bundle is made, downloaded and verified.
	dir := t.TempDir()
	out, code = cli(t, p, nil, "fetch", id, dir)
	if code != 0 || !strings.Contains(out, "verified") || !strings.Contains(out, "match SHA256SUMS") {
		t.Fatalf("fetch: exit %d\n%s", code, out)
	}
	zips, _ := filepath.Glob(filepath.Join(dir, "*.zip"))
	if len(zips) != 1 {
		t.Fatalf("fetch left %v", zips)
	}
	// A corrupted bundle (a byte changed in the store) fails loudly.
	b := p.Case(id).Bundles[0]
	data, err := os.ReadFile(zips[0])
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if _, err := p.Blobs.Put(t.Context(), b.Bucket, b.Key, bytes.NewReader(data), int64(len(data)), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	dir2 := t.TempDir()
	out, code = cli(t, p, nil, "fetch", id, dir2)
	if code != 1 || !strings.Contains(out, "corrupted") {
		t.Errorf("fetch of a corrupted bundle: exit %d, want 1 with 'corrupted'\n%s", code, out)
	}
	if left, _ := filepath.Glob(filepath.Join(dir2, "*")); len(left) != 0 {
		t.Errorf("a corrupted download was kept: %v", left)
	}

	// cases lists both, the status filter too.
	out, code = cli(t, p, nil, "cases", "--status", "ready,bundled")
	if code != 0 || !strings.Contains(out, id) || strings.Contains(out, empty) {
		t.Errorf("cases --status ready,bundled: exit %d\n%s", code, out)
	}

	// Usage errors exit 2; --version works anywhere; a wrong token says what to set.
	for _, args := range [][]string{{"upload"}, {"upload", "NOT-A-CASE", "x"}, {"wait"}, {"fetch"}, {"cases", "extra"}, {"nosuchcommand"}, {"upload", id, folder, "--nosuchflag"}} {
		if out, code := cli(t, p, nil, args...); code != 2 {
			t.Errorf("handoff %v: exit %d, want 2\n%s", args, code, out)
		}
	}
	for _, args := range [][]string{{"--version"}, {"upload", "--version"}, {"version"}} {
		if out, code := cli(t, p, nil, args...); code != 0 || !strings.HasPrefix(out, "handoff ") {
			t.Errorf("handoff %v: exit %d %q", args, code, out)
		}
	}
	out, code = cli(t, p, []string{"HANDOFF_API_TOKEN=not-the-token-0000"}, "cases")
	if code != 1 || !strings.Contains(out, "HANDOFF_API_TOKEN") || !strings.Contains(out, "api-token") {
		t.Errorf("a wrong token: exit %d, want 1 naming HANDOFF_API_TOKEN and the api-token file\n%s", code, out)
	}
	// A file over the size cap is refused with its code, before any byte.
	p2 := e2e.Start(t, e2e.Options{Args: []string{"--max-upload", "1000"}})
	small, _ := cli(t, p2, nil, "case", "create")
	f := filepath.Join(t.TempDir(), "scan.pdf")
	if err := os.WriteFile(f, bytes.Repeat([]byte("x"), 2000), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code = cli(t, p2, nil, "upload", strings.TrimSpace(small), f)
	if code != 1 || !strings.Contains(out, "input.too_large") || !strings.Contains(out, "at most 1000 bytes") {
		t.Errorf("an upload over the cap: exit %d\n%s", code, out)
	}
}
