package tess

import (
	"image"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const sample = `<?xml version="1.0" encoding="UTF-8"?>
<html><body>
 <div class='ocr_page' id='page_1' title='image "x"; bbox 0 0 3300 2550; ppageno 0'>
  <div class='ocr_carea' id='block_1_1' title="bbox 3083 882 3169 1657">
   <p class='ocr_par' id='par_1_1' lang='eng' title="bbox 3083 882 3169 1657">
    <span class='ocr_header' id='line_1_1' title="bbox 3083 882 3169 1657; textangle 270; x_size 86; x_descenders 17; x_ascenders 19">
     <span class='ocrx_word' id='word_1_1' title='bbox 3098 882 3168 1036; x_wconf 93'>The</span>
     <span class='ocrx_word' id='word_1_2' title='bbox 3083 1061 3169 1657; x_wconf 91'>R&amp;D</span>
    </span>
   </p>
   <p class='ocr_par' id='par_1_2' lang='eng'>
    <span class='ocr_line' id='line_1_2' title="bbox 10 20 110 40; baseline 0.01 -5; x_size 20; x_descenders 5; x_ascenders 5">
     <span class='ocrx_word' id='word_1_3' title='bbox 10 20 110 40; x_wconf 50'>naïve</span>
     <span class='ocrx_word' id='word_1_4' title='bbox 10 20 110 40; x_wconf 50'> </span>
    </span>
   </p>
  </div>
 </div>
</body></html>`

func TestParseHOCR(t *testing.T) {
	pg, err := ParseHOCR(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	want := Page{Width: 3300, Height: 2550, Lines: []Line{
		{Box: image.Rect(3083, 882, 3169, 1657), Angle: 270, Descenders: 17, Par: 1, Words: []Word{
			{Text: "The", Box: image.Rect(3098, 882, 3168, 1036), Conf: 93},
			{Text: "R&D", Box: image.Rect(3083, 1061, 3169, 1657), Conf: 91},
		}},
		{Box: image.Rect(10, 20, 110, 40), HasBaseline: true, Slope: 0.01, Offset: -5, Descenders: 5, Par: 2, Words: []Word{
			{Text: "naïve", Box: image.Rect(10, 20, 110, 40), Conf: 50},
		}},
	}}
	if d := cmp.Diff(want, pg); d != "" {
		t.Errorf("page (-want +got):\n%s", d)
	}
	if got := pg.Orientation(); got != 270 {
		t.Errorf("orientation %d, want 270", got)
	}
	if got, want := pg.Text(), "The R&D\n\nnaïve\n"; got != want {
		t.Errorf("text %q, want %q", got, want)
	}
	if c := pg.Confidence(); c < 70 || c > 80 {
		t.Errorf("confidence %.1f", c)
	}
}

func FuzzParseHOCR(f *testing.F) {
	f.Add(sample)
	f.Fuzz(func(t *testing.T, s string) {
		pg, err := ParseHOCR(strings.NewReader(s))
		if err != nil {
			return
		}
		_ = pg.Text()
		_ = pg.Orientation()
	})
}

func BenchmarkParseHOCR(b *testing.B) {
	big := strings.Repeat(sample, 50)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseHOCR(strings.NewReader(big)); err != nil {
			b.Fatal(err)
		}
	}
}
