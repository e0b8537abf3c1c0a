package inspect

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// corpus is testdata/corpus/ocr-peer from the repository root.
const corpus = "../../../../testdata/corpus/ocr-peer"

type pageWant struct {
	Kind   Kind
	Rotate int
	Native bool // taken at the scan's own resolution
}

func TestInspectCorpus(t *testing.T) {
	img := pageWant{Kind: KindImage, Native: true}
	tests := []struct {
		file    string
		want    []pageWant
		wantErr error
	}{
		{"linn.pdf", []pageWant{img}, nil},
		{"linn_encrypted_owner.pdf", []pageWant{img}, nil},
		{"linn_encrypted_user.pdf", nil, ErrEncrypted},
		{"cardinal.pdf", []pageWant{img, img, img, img}, nil},
		{"ccitt.pdf", []pageWant{img}, nil},
		{"epson.pdf", []pageWant{img}, nil},
		{"c02-22.pdf", []pageWant{img}, nil},
		{"francais.pdf", []pageWant{img}, nil},
		{"skew.pdf", []pageWant{{Kind: KindImage}}, nil},
		{"rotated_skew.pdf", []pageWant{{Kind: KindImage, Rotate: 90}}, nil},
		{"multipage.pdf", []pageWant{img, img, img, {Kind: KindOCRLayer, Native: true}, img, {Kind: KindImage}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(corpus, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			doc, err := Inspect(data, Options{})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got error %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			var got []pageWant
			for _, p := range doc.Pages {
				got = append(got, pageWant{Kind: p.Kind, Rotate: p.Rotate, Native: p.ScanDPI > 0})
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("pages (-want +got):\n%s", d)
			}
		})
	}
}

func TestInspectLimits(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(corpus, "cardinal.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Inspect(data, Options{MaxPages: 3}); !errors.Is(err, ErrTooManyPages) {
		t.Errorf("got %v, want ErrTooManyPages", err)
	}
	for _, bad := range [][]byte{nil, []byte("hello"), []byte("%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF"), data[:len(data)/2]} {
		if _, err := Inspect(bad, Options{}); !errors.Is(err, ErrUnreadable) {
			t.Errorf("%.20q: got %v, want ErrUnreadable", bad, err)
		}
	}
}

func TestScanText(t *testing.T) {
	tests := []struct {
		name       string
		content    string
		vis, invis int
		images     int
	}{
		{"visible", "BT /F1 12 Tf (Hello) Tj ET", 5, 0, 0},
		{"invisible", "BT 3 Tr <00480065> Tj [(ab) -20 (cd)] TJ ET", 0, 8, 0},
		{"mode kept across BT", "3 Tr BT (abc) Tj ET 0 Tr BT (de) ' ET", 2, 3, 0},
		{"q restores mode", "q 3 Tr BT (abc) Tj ET Q BT (xy) Tj ET", 2, 3, 0},
		{"escapes", `BT (a\(b\)\\c\101) Tj ET`, 7, 0, 0},
		{"inline image", "q 10 0 0 10 0 0 cm BI /W 2 /H 2 /BPC 8 /CS /G ID \x00\x01EI\x02\x03 EI Q BT (z) Tj ET", 1, 0, 1},
		{"garbage", "((( [[[ << /a ] >> ) Tj Do cm 1 2 3 4 5 6 7 cm", 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := Scan([]byte(tc.content), nil, Identity, DefaultLimits)
			if st.VisibleChars != tc.vis || st.InvisibleChars != tc.invis || len(st.Images) != tc.images {
				t.Errorf("got visible %d invisible %d images %d, want %d %d %d",
					st.VisibleChars, st.InvisibleChars, len(st.Images), tc.vis, tc.invis, tc.images)
			}
		})
	}
}

// FuzzInspect feeds arbitrary bytes to the page inspection: it must never
// panic and must classify every page it returns.
func FuzzInspect(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(corpus, "*.pdf"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err == nil && len(data) < 200_000 {
			f.Add(data)
		}
	}
	f.Add([]byte("%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n" +
		"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >> endobj\n" +
		"4 0 obj << /Length 44 >> stream\nBT /F1 12 Tf 72 712 Td (Hello) Tj ET\nendstream endobj\n" +
		"trailer << /Root 1 0 R >>\n%%EOF\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<20 {
			return
		}
		doc, err := Inspect(data, Options{MaxPages: 50, Limits: Limits{MaxOps: 100_000, MaxDepth: 8, MaxImgs: 1000}})
		if err != nil {
			return
		}
		for _, p := range doc.Pages {
			if p.CropBox.Area() <= 0 || p.Rotate%90 != 0 || p.Rotate < 0 || p.Rotate >= 360 {
				t.Fatalf("page %d: bad geometry %+v rotate %d", p.Number, p.CropBox, p.Rotate)
			}
		}
	})
}

// FuzzScan feeds arbitrary content streams to the scanner.
func FuzzScan(f *testing.F) {
	f.Add([]byte("q 612 0 0 792 0 0 cm /Im0 Do Q BT 3 Tr (abc) Tj ET"))
	f.Add([]byte("BI /W 1 /H 1 ID x EI"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st := Scan(data, nil, Identity, Limits{MaxOps: 100_000, MaxDepth: 8, MaxImgs: 100})
		if st.VisibleChars < 0 || st.InvisibleChars < 0 {
			t.Fatal("negative counts")
		}
	})
}

func BenchmarkInspect(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(corpus, "multipage.pdf"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Inspect(data, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
