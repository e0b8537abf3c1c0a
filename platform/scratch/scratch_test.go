package scratch

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// A directory left by a process that died is swept by the next; the
// directory of a living process is not.
func TestSweepLeavesTheLivingAlone(t *testing.T) {
	base := t.TempDir()
	// A dead process's directory: the lock file is there, nobody holds it.
	dead := filepath.Join(base, "handoff-ocr-999999-1")
	if err := os.MkdirAll(dead, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{lockName, "original.pdf"} {
		if err := os.WriteFile(filepath.Join(dead, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A living one: another process holds its lock.
	live := filepath.Join(base, "handoff-ocr-1-1")
	if err := os.MkdirAll(live, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(live, lockName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	holder := exec.Command("flock", filepath.Join(live, lockName), "sleep", "30")
	if err := holder.Start(); err != nil {
		t.Fatalf("flock(1): %v", err)
	}
	t.Cleanup(func() { _ = holder.Process.Kill(); _ = holder.Wait() })
	waitHeld(t, live)

	d, swept, err := Open(base, "handoff-ocr")
	if err != nil {
		t.Fatal(err)
	}
	if swept != 1 {
		t.Errorf("swept %d directories, want 1", swept)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("dead process's directory still there: %v", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("living process's directory removed: %v", err)
	}
	// Our own directory is held while open, and gone once closed.
	if n, _ := Sweep(base, "handoff-ocr"); n != 0 {
		t.Errorf("a sweep removed %d held directories", n)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d.Path); !os.IsNotExist(err) {
		t.Errorf("closed directory still there: %v", err)
	}
}

func waitHeld(t *testing.T, dir string) {
	t.Helper()
	for range 200 {
		if held(dir) {
			return
		}
		exec.Command("sleep", "0.01").Run()
	}
	t.Fatal("flock(1) never took the lock")
}
