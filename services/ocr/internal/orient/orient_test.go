package orient

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"path/filepath"
	"testing"

	"github.com/handoffmed/handoff/services/ocr/internal/deskew"
	"github.com/handoffmed/handoff/services/ocr/internal/render"
)

const corpus = "../../../../testdata/corpus/ocr-peer"

func TestDetectCorpus(t *testing.T) {
	tests := []struct {
		file string
		page int
		turn int // -1: may be unsure
	}{
		{"linn.pdf", 1, 0}, {"cardinal.pdf", 1, 0}, {"cardinal.pdf", 2, 270}, {"cardinal.pdf", 3, 180},
		{"cardinal.pdf", 4, 90}, {"ccitt.pdf", 1, 0}, {"epson.pdf", 1, 0}, {"skew.pdf", 1, 0},
		{"rotated_skew.pdf", 1, 0}, {"c02-22.pdf", 1, 0}, {"francais.pdf", 1, -1},
		{"multipage.pdf", 1, 0}, {"multipage.pdf", 2, -1}, {"multipage.pdf", 3, -1}, {"multipage.pdf", 4, -1},
		{"multipage.pdf", 5, 0}, {"multipage.pdf", 6, 0},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%d", tc.file, tc.page), func(t *testing.T) {
			t.Parallel()
			img, err := render.Page(context.Background(), filepath.Join(corpus, tc.file), tc.page, 300)
			if err != nil {
				t.Fatal(err)
			}
			if s := deskew.Find(img); s != 0 {
				img = deskew.Rotate(img, s)
			}
			r := Detect(img)
			t.Logf("%+v", r)
			if tc.turn < 0 {
				if r.Sure && r.Turn != 0 {
					t.Errorf("sure of a %d° turn", r.Turn)
				}
				return
			}
			if !r.Sure || r.Turn != tc.turn {
				t.Errorf("got %+v, want a sure %d° turn", r, tc.turn)
			}
		})
	}
}

func TestTurn(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 3, 2)) // pixel values 1..6, row by row
	for i := range img.Pix {
		img.Pix[i] = uint8(i + 1)
	}
	tests := []struct {
		turn int
		w, h int
		want []uint8
	}{
		{0, 3, 2, []uint8{1, 2, 3, 4, 5, 6}},
		{90, 2, 3, []uint8{4, 1, 5, 2, 6, 3}},
		{180, 3, 2, []uint8{6, 5, 4, 3, 2, 1}},
		{270, 2, 3, []uint8{3, 6, 2, 5, 1, 4}},
	}
	for _, tc := range tests {
		got := Turn(img, tc.turn)
		if got.Bounds().Dx() != tc.w || got.Bounds().Dy() != tc.h || !bytes.Equal(got.Pix, tc.want) {
			t.Errorf("turn %d: got %dx%d %v, want %dx%d %v", tc.turn, got.Bounds().Dx(), got.Bounds().Dy(), got.Pix, tc.w, tc.h, tc.want)
		}
	}
}

func BenchmarkDetect(b *testing.B) {
	img, err := render.Page(context.Background(), filepath.Join(corpus, "linn.pdf"), 1, 300)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		Detect(img)
	}
}
