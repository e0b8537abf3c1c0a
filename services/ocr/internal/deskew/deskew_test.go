package deskew

import (
	"context"
	"image"
	"math"
	"path/filepath"
	"testing"

	"github.com/handoffmed/handoff/services/ocr/internal/render"
)

const corpus = "../../../../testdata/corpus/ocr-peer"

func TestFind(t *testing.T) {
	tests := []struct {
		file string
		want float64 // degrees, from the page's placement matrix
	}{
		{"linn.pdf", 0},
		{"skew.pdf", math.Atan2(19.9187622, 611.6731567) * 180 / math.Pi},
		{"rotated_skew.pdf", math.Atan2(29.8081055, 611.2716064) * 180 / math.Pi},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			img, err := render.Page(context.Background(), filepath.Join(corpus, tc.file), 1, 300)
			if err != nil {
				t.Fatal(err)
			}
			got := Find(img)
			t.Logf("skew %.3f want %.3f", got, tc.want)
			if math.Abs(math.Abs(got)-tc.want) > 0.15 {
				t.Errorf("got %.3f°, want ±%.3f°", got, tc.want)
			}
			if got != 0 {
				straight := Find(Rotate(img, got))
				if math.Abs(straight) > 0.15 {
					t.Errorf("after rotating by %.3f, skew is %.3f, want 0", got, straight)
				}
			}
		})
	}
}

// skewPage is the corpus's skewed scan at 300 dpi.
func skewPage(b *testing.B) *image.Gray {
	b.Helper()
	img, err := render.Page(context.Background(), filepath.Join(corpus, "skew.pdf"), 1, 300)
	if err != nil {
		b.Fatal(err)
	}
	return img
}

func BenchmarkFind(b *testing.B) {
	img := skewPage(b)
	b.ReportAllocs()
	for b.Loop() {
		Find(img)
	}
}

func BenchmarkRotate(b *testing.B) {
	img := skewPage(b)
	b.ReportAllocs()
	for b.Loop() {
		Rotate(img, 1.8)
	}
}
