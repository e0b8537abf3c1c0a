// Package scratch gives a process a scratch directory of its own for files
// being processed, and removes what processes that died (SIGKILL, a crash,
// a lost node) left behind: each process holds a lock on its directory for
// as long as it lives; a directory whose lock nobody holds is left over.
package scratch

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Dir is a process's scratch directory.
type Dir struct {
	Path string
	lock *os.File
}

const lockName = ".lock"

// Open sweeps base of the name-* directories no living process holds, and
// makes this process's own (base/name-<pid>-<n>).
func Open(base, name string) (*Dir, int, error) {
	if err := os.MkdirAll(base, 0o700); err != nil {
		return nil, 0, fmt.Errorf("scratch: %w", err)
	}
	swept, err := Sweep(base, name)
	if err != nil {
		return nil, swept, err
	}
	path, err := os.MkdirTemp(base, name+"-"+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, swept, fmt.Errorf("scratch: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(path, lockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, swept, fmt.Errorf("scratch: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, swept, fmt.Errorf("scratch: lock: %w", err)
	}
	return &Dir{Path: path, lock: f}, swept, nil
}

// Sweep removes base's name-* directories whose lock no process holds, and
// reports how many.
func Sweep(base, name string) (int, error) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return 0, fmt.Errorf("scratch: %w", err)
	}
	n := 0
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), name+"-") {
			continue
		}
		dir := filepath.Join(base, e.Name())
		if held(dir) {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// held reports whether a living process holds dir's lock.
func held(dir string) bool {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR, 0)
	if err != nil {
		return false // no lock file: not a directory of this package's, or half made
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return true
	}
	_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return false
}

// Close removes the directory and releases it.
func (d *Dir) Close() error {
	err := os.RemoveAll(d.Path)
	_ = d.lock.Close()
	return err
}
