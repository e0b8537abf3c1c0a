package dicom

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/handoffmed/handoff/platform/record"
)

func TestIndexCommand(t *testing.T) {
	dir := filepath.Join(corpusDir, "pydicom/dicomdirtests/98892003")
	var out, errb bytes.Buffer
	if err := IndexCommand(t.Context(), []string{dir, filepath.Join(corpusDir, "README.md")}, IndexCommandOptions{JSON: true, Stats: true}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Index      record.DicomIndex `json:"index"`
		Unreadable []struct{ Path, Code, Message string }
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("JSON: %v", err)
	}
	if len(got.Index.Studies) != 3 || len(got.Unreadable) != 1 || got.Unreadable[0].Code != record.CodeUnreadable {
		t.Errorf("got %d studies, unreadable %+v", len(got.Index.Studies), got.Unreadable)
	}
	if !strings.Contains(errb.String(), "files=18 indexed=17 failed=1") {
		t.Errorf("stats: %s", errb.String())
	}
	out.Reset()
	if err := IndexCommand(t.Context(), []string{dir}, IndexCommandOptions{}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2003-05-05_MRI_brain_mra", "17 files, 17 instances in 3 studies, 0 unreadable"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestFileSetCommand(t *testing.T) {
	out := t.TempDir()
	var stdout bytes.Buffer
	if err := FileSetCommand(t.Context(), filepath.Join(corpusDir, "pydicom/dicomdirtests/98892003"), out, &stdout); err != nil {
		t.Fatal(err)
	}
	dirs, err := os.ReadDir(out)
	if err != nil || len(dirs) != 3 {
		t.Fatalf("got %d scan folders (%v), want 3", len(dirs), err)
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(out, d.Name(), "DICOMDIR")); err != nil {
			t.Errorf("%s: %v", d.Name(), err)
		}
	}
	if err := FileSetCommand(t.Context(), filepath.Join(corpusDir, "pydicom/charset/FileInfo.txt"), t.TempDir(), &stdout); err == nil {
		t.Error("a folder without DICOM gave no error")
	}
}
