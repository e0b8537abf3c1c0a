package archive

import (
	"archive/zip"
	"bytes"
	"io/fs"
	"testing"

	"github.com/handoffmed/handoff/platform/record"
)

func zipOf(t testing.TB, entries map[string]string, mode fs.FileMode) []*zip.File {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, data := range entries {
		fh := &zip.FileHeader{Name: name, Method: zip.Deflate}
		if mode != 0 {
			fh.SetMode(mode)
		}
		w, err := zw.CreateHeader(fh)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(data))
	}
	_ = zw.Close()
	zr, err := zip.NewReader(bytes.NewReader(b.Bytes()), int64(b.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return zr.File
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name    string
		entries map[string]string
		mode    fs.FileMode
		limits  Limits
		want    int
		code    string
	}{
		{name: "portal export", entries: map[string]string{"Export/a.pdf": "x", "Export/b.txt": "y", "Export/": ""}, want: 2},
		{name: "junk dropped", entries: map[string]string{"a.pdf": "x", "__MACOSX/._a.pdf": "x", ".DS_Store": "x", "viewer/setup.exe": "MZ"}, want: 1},
		{name: "dotdot", entries: map[string]string{"a/../../x": "x"}, code: record.CodeUnsafeArchive},
		{name: "absolute", entries: map[string]string{"/etc/x": "x"}, code: record.CodeUnsafeArchive},
		{name: "drive letter", entries: map[string]string{"C:/x": "x"}, code: record.CodeUnsafeArchive},
		{name: "symlink", entries: map[string]string{"l": "/etc/passwd"}, mode: fs.ModeSymlink | 0o777, code: record.CodeUnsafeArchive},
		{name: "too many", entries: map[string]string{"a": "1", "b": "2", "c": "3"}, limits: Limits{MaxEntries: 2}, code: record.CodeArchiveBomb},
		{name: "too big", entries: map[string]string{"a": string(make([]byte, 2048))}, limits: Limits{MaxTotal: 1024}, code: record.CodeArchiveBomb},
		{name: "ratio", entries: map[string]string{"z": string(make([]byte, 4<<20))}, code: record.CodeArchiveBomb},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, rej := Plan(zipOf(t, tc.entries, tc.mode), tc.limits)
			if tc.code != "" {
				if rej == nil || rej.Code != tc.code {
					t.Fatalf("rejection %v, want %s", rej, tc.code)
				}
				return
			}
			if rej != nil || len(got) != tc.want {
				t.Fatalf("%d entries, %v; want %d", len(got), rej, tc.want)
			}
		})
	}
}

// Any bytes that open as a ZIP are planned without a panic, and a plan
// never holds an entry that leaves the archive's folder.
func FuzzPlan(f *testing.F) {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, _ := zw.Create("a/b.txt")
	_, _ = w.Write([]byte("hello"))
	_ = zw.Close()
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		entries, _ := Plan(zr.File, Limits{})
		for _, e := range entries {
			if unsafePath(e.Path) || e.Path == "" {
				t.Fatalf("unsafe entry path %q", e.Path)
			}
		}
	})
}
