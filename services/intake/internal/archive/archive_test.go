package archive

import (
	"archive/zip"
	"bytes"
	"io/fs"
	"slices"
	"strings"
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
	b.Reset()
	zw = zip.NewWriter(&b)
	for _, name := range []string{"INDEX.HTM", "IHE_XDM/SUBSET01/METADATA.XML", "IHE_XDM/SUBSET01/DOC0001.XML"} {
		w, _ = zw.Create(name)
		_, _ = w.Write([]byte("<x/>"))
	}
	_ = zw.Close()
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		entries, _ := Plan(zr.File, Limits{})
		xdm := XDM(entries)
		for _, e := range entries {
			if unsafePath(e.Path) || e.Path == "" {
				t.Fatalf("unsafe entry path %q", e.Path)
			}
			if xdm && XDMPackaging(e.Path) && strings.HasSuffix(strings.ToUpper(e.Path), "/DOC0001.XML") {
				t.Fatalf("a document %q taken for packaging", e.Path)
			}
		}
	})
}

// An IHE XDM package is told by its layout; its packaging is skipped and
// its documents are kept.
func TestXDM(t *testing.T) {
	xdm := map[string]string{
		"INDEX.HTM": "<html/>", "README.TXT": "read me",
		"IHE_XDM/SUBSET01/METADATA.XML": "<x/>", "IHE_XDM/SUBSET01/DOC0001.XML": "<ClinicalDocument/>",
		"IHE_XDM/SUBSET01/CDA.XSL": "<xsl/>", "IHE_XDM/SUBSET01/DOC0002.PDF": "%PDF-",
	}
	tests := []struct {
		name    string
		entries map[string]string
		xdm     bool
		kept    []string
	}{
		{"xdm", xdm, true, []string{"IHE_XDM/SUBSET01/DOC0001.XML", "IHE_XDM/SUBSET01/DOC0002.PDF"}},
		{"xdm in a folder", map[string]string{"Export/IHE_XDM/Subset1/metadata.xml": "<x/>", "Export/IHE_XDM/Subset1/doc1.xml": "<x/>", "Export/index.htm": "<html/>"},
			true, []string{"Export/IHE_XDM/Subset1/doc1.xml"}},
		{"no metadata", map[string]string{"IHE_XDM/SUBSET01/DOC0001.XML": "<x/>", "INDEX.HTM": "<html/>"}, false, nil},
		{"a plain folder", map[string]string{"Export/README.txt": "x", "Export/labs.pdf": "%PDF-"}, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			entries, rej := Plan(zipOf(t, tc.entries, 0), Limits{})
			if rej != nil {
				t.Fatal(rej)
			}
			if got := XDM(entries); got != tc.xdm {
				t.Fatalf("got XDM %v, want %v", got, tc.xdm)
			}
			if !tc.xdm {
				return
			}
			var kept []string
			for _, en := range entries {
				if !XDMPackaging(en.Path) {
					kept = append(kept, en.Path)
				}
			}
			slices.Sort(kept)
			if !slices.Equal(kept, tc.kept) {
				t.Errorf("got kept %v, want %v", kept, tc.kept)
			}
		})
	}
}
