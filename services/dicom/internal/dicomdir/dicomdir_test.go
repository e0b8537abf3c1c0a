package dicomdir

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

const corpus = "../../../../testdata/corpus/dicom-peer/pydicom/dicomdirtests"

func TestReadCorpus(t *testing.T) {
	tests := []struct {
		file    string
		wantErr bool
		records int
	}{
		{"DICOMDIR", false, 2 + 6 + 0},
		{"TINY_ALPHA/DICOMDIR", false, 1},
		{"DICOMDIR-empty.dcm", false, 0},
		{"DICOMDIR-reordered", false, 2},
		{"DICOMDIR-bigEnd", true, 0},
		{"DICOMDIR-implicit", true, 0},
		{"DICOMDIR-nooffset", true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(corpus, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			f, err := Read(b)
			if tc.wantErr {
				if err == nil || !errors.Is(err, ErrFormat) {
					t.Fatalf("got err %v, want ErrFormat", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if len(f.Roots) < min(tc.records, 1) {
				t.Fatalf("got %d roots", len(f.Roots))
			}
			// Round trip: what we read, we write and read back the same.
			out, err := Encode(f.FileSetID, f.InstanceUID, f.Roots)
			if err != nil {
				t.Fatal(err)
			}
			g, err := Read(out)
			if err != nil {
				t.Fatalf("re-read: %v", err)
			}
			if !Equal(f.Roots, g.Roots) {
				t.Fatal("round trip changed the records")
			}
			out2, _ := Encode(g.FileSetID, g.InstanceUID, g.Roots)
			if !bytes.Equal(out, out2) {
				t.Fatal("encoding is not stable")
			}
		})
	}
}

func count(rs []*Record) int {
	n := 0
	for _, r := range rs {
		n += 1 + count(r.Children)
	}
	return n
}
