package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestCollect(t *testing.T) {
	// An example case: case.json beside files/.
	c, err := collect("../../testdata/cases/jpeg_screenshots", "")
	if err != nil {
		t.Fatal(err)
	}
	if c.fields == nil || filepath.Base(c.root) != "files" || !filepath.IsAbs(c.root) {
		t.Errorf("got fields %v, root %s", c.fields != nil, c.root)
	}
	if !slices.Contains(c.files, "MRI pictures/IMG_2041.jpg") || slices.Contains(c.files, "case.json") {
		t.Errorf("files: %v", c.files)
	}
	// A plain folder: every file is an upload, hidden ones aside.
	dir := t.TempDir()
	for _, p := range []string{"a.pdf", "sub/b.jpg", ".DS_Store", ".git/x"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c, err = collect(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.fields != nil || !slices.Equal(c.files, []string{"a.pdf", "sub/b.jpg"}) {
		t.Errorf("files: %v", c.files)
	}
	if _, err := collect(filepath.Join(dir, "a.pdf"), ""); err == nil {
		t.Error("a file was taken as a folder")
	}
}

func TestReportUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"NOT AN ID"}, {"--format", "xml", "abcdefgh"}} {
		err := runReport(t.Context(), args, os.Stdout, os.Stderr)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("report %v: got %v, want a usage error", args, err)
		}
	}
}
