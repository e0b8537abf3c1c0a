package header

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

const corpusDir = "../../../../testdata/corpus/dicom-peer"

// seeds adds the first 64 KiB of every corpus file (headers included).
func seeds(f *testing.F) {
	filepath.WalkDir(corpusDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		if len(b) > 64<<10 {
			b = b[:64<<10]
		}
		f.Add(b)
		return nil
	})
}

// FuzzRead: the reader never panics, never reads more than the object, and
// gives the same answer whether or not the size is known.
func FuzzRead(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		opt := Options{MaxHeader: 1 << 20}
		h, err := Read(bytes.NewReader(data), int64(len(data)), opt)
		if h == nil {
			t.Fatalf("nil header (err %v)", err)
		}
		if h.BytesRead > int64(len(data)) {
			t.Fatalf("read %d bytes of %d", h.BytesRead, len(data))
		}
		if err == nil && h.PixelDataOffset > int64(len(data)) {
			t.Fatalf("pixel data offset %d beyond the object", h.PixelDataOffset)
		}
		// Unknown size: same identity when both succeed.
		h2, err2 := Read(io.LimitReader(bytes.NewReader(data), int64(len(data))), -1, opt)
		if err == nil && err2 == nil && (h.SOPInstanceUID != h2.SOPInstanceUID || h.StudyUID != h2.StudyUID) {
			t.Fatalf("size known: %q %q, unknown: %q %q", h.SOPInstanceUID, h.StudyUID, h2.SOPInstanceUID, h2.StudyUID)
		}
	})
}
