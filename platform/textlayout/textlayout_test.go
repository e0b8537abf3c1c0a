package textlayout

import (
	"encoding/json"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const sample = `<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "x"><html xmlns="http://www.w3.org/1999/xhtml">
<head><title></title></head>
<body>
<doc>
  <page width="612.000000" height="792.000000">
    <flow>
      <block xMin="53.86" yMin="49.01" xMax="198.88" yMax="62.885">
        <line xMin="53.86" yMin="49.01" xMax="198.88" yMax="62.885">
          <word xMin="53.860000" yMin="49.010000" xMax="108.025000" yMax="62.885000">Current</word>
          <word xMin="112.195000" yMin="49.010000" xMax="198.880000" yMax="62.885000">Medications</word>
        </line>
        <line xMin="53.86" yMin="70" xMax="100" yMax="80">
          <word xMin="53.86" yMin="70" xMax="100" yMax="80">Fish&amp;Chips-</word>
        </line>
        <line xMin="53.86" yMin="82" xMax="100" yMax="92">
          <word xMin="53.86" yMin="82" xMax="80" yMax="92">&lt;5</word>
          <word xMin="80" yMin="82" xMax="100" yMax="92">mg</word>
        </line>
      </block>
    </flow>
    <flow>
      <block xMin="300" yMin="49" xMax="400" yMax="60">
        <line xMin="300" yMin="49" xMax="400" yMax="60">
          <word xMin="300" yMin="49" xMax="400" yMax="60">Side</word>
        </line>
        <line xMin="300" yMin="60" xMax="300" yMax="60"></line>
      </block>
    </flow>
  </page>
  <page width="100" height="200">
  </page>
</doc>
</body>
</html>`

func TestReadPoppler(t *testing.T) {
	pages := ReadPoppler([]byte(sample))
	want := []Page{
		{Number: 1, Width: 612, Height: 792, Source: SourcePdftotext, Lines: []Line{
			{Block: 0, Words: []Word{{"Current", Box{53.86, 49.01, 108.025, 62.885}}, {"Medications", Box{112.195, 49.01, 198.88, 62.885}}}},
			{Block: 0, Words: []Word{{"Fish&Chips-", Box{53.86, 70, 100, 80}}}},
			{Block: 0, Words: []Word{{"<5", Box{53.86, 82, 80, 92}}, {"mg", Box{80, 82, 100, 92}}}},
			{Block: 1, Words: []Word{{"Side", Box{300, 49, 400, 60}}}},
		}},
		{Number: 2, Width: 100, Height: 200, Source: SourcePdftotext},
	}
	if diff := cmp.Diff(want, pages); diff != "" {
		t.Fatalf("pages (-want +got):\n%s", diff)
	}
	// A hyphen at the end of a line joins the next line of its flow; words
	// that touch get no space; each flow ends with a blank line.
	if got, want := pages[0].Text(), "Current Medications\nFish&Chips<5mg\n\nSide\n\n"; got != want {
		t.Errorf("text: got %q, want %q", got, want)
	}
	if got := pages[1].Text(); got != "" {
		t.Errorf("empty page text: got %q, want empty", got)
	}
}

func TestTesseractText(t *testing.T) {
	p := Page{Source: SourceTesseract, Lines: []Line{
		{Block: 1, Words: []Word{{Text: "a"}, {Text: "b"}}},
		{Block: 1, Words: []Word{{Text: "c"}}},
		{Block: 2, Words: []Word{{Text: "d-"}}},
		{Block: 2, Words: []Word{{Text: "e"}}},
	}}
	if got, want := p.Text(), "a b\nc\n\nd-\ne\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	l := Layout{Version: Version, Pages: []Page{{Number: 1, Width: 612, Height: 792, Source: SourceTesseract,
		Lines: []Line{{Block: 3, Words: []Word{{"5 \"mg\"", Box{1.234, 2, 3.456, 4}}, {"x", Box{math.NaN(), 0, 1, 1}}}}}}}}
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `["5 \"mg\"",1.23,2,3.46,4]`) {
		t.Errorf("word encoding: got %s", b)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	want := l
	want.Pages[0].Lines[0].Words = []Word{{"5 \"mg\"", Box{1.23, 2, 3.46, 4}}, {"x", Box{0, 0, 1, 1}}}
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"not json", `{`},
		{"other version", `{"version":2,"pages":[]}`},
		{"short word", `{"version":1,"pages":[{"lines":[{"words":[["a",1,2]]}]}]}`},
		{"word text not a string", `{"version":1,"pages":[{"lines":[{"words":[[1,1,2,3,4]]}]}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Decode([]byte(tc.in)); err == nil {
				t.Errorf("got no error, want one")
			}
		})
	}
	// Boxes that are not ordered are dropped, not refused.
	l, err := Decode([]byte(`{"version":1,"pages":[{"number":1,"lines":[{"words":[["a",5,0,1,1],["b",0,0,1,1]]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Pages[0].Words(); len(got) != 1 || got[0].Text != "b" {
		t.Errorf("got words %v, want only b", got)
	}
}

// TestPdftotextText checks that the text rebuilt from one
// `pdftotext -bbox-layout` pass is pdftotext's plain text, byte for byte,
// on PDFs of the kinds patients upload (fpdf, Chromium).
func TestPdftotextText(t *testing.T) {
	for _, tool := range []string{"pdftotext"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (scripts/packages.txt: poppler-utils)", tool)
		}
	}
	var files []string
	for _, pattern := range []string{
		"../../testdata/cases/anticoagulant/files/*.pdf",
		"../../testdata/cases/anticoagulant/files/Labs/*.pdf",
		"../../testdata/cases/portal_export/files/*.pdf",
		"../../testdata/ccda-printed/Cerner/*.pdf",
		"../../testdata/ccda-printed/HL7_C-CDA-Examples/CCD/*/*.pdf",
		"../../testdata/ccda-printed/Allscripts/Sunrise Clinical Manager/*.pdf",
	} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 10 {
		t.Fatalf("only %d PDFs found", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			want, err := exec.CommandContext(t.Context(), "pdftotext", "-q", "-enc", "UTF-8", f, "-").Output()
			if err != nil {
				t.Fatalf("pdftotext: %v", err)
			}
			bbox, err := exec.CommandContext(t.Context(), "pdftotext", "-q", "-enc", "UTF-8", "-bbox-layout", f, "-").Output()
			if err != nil {
				t.Fatalf("pdftotext -bbox-layout: %v", err)
			}
			var got strings.Builder
			for _, p := range ReadPoppler(bbox) {
				got.WriteString(p.Text())
				got.WriteByte('\f')
			}
			if got.String() != string(want) {
				t.Errorf("rebuilt text differs from pdftotext's:\n%s", cmp.Diff(string(want), got.String()))
			}
		})
	}
}

func FuzzReadPoppler(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte(`<page width="1e400"><flow><line><word xMin="NaN">x</word></line>`))
	f.Add([]byte(`<word xMin="1">a</word></line><line><word`))
	f.Add([]byte(`<<<>>><page/><line/><word/></word>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, p := range ReadPoppler(data) {
			_ = p.Text()
			for _, w := range p.Words() {
				if !finite(w.Box.X0, w.Box.Y0, w.Box.X1, w.Box.Y1) {
					t.Fatalf("word with a box that is not finite: %v", w.Box)
				}
			}
		}
	})
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"version":1,"pages":[{"number":1,"width":612,"height":792,"source":"tesseract","lines":[{"block":0,"words":[["a",1,2,3,4]]}]}]}`))
	f.Add([]byte(`{"version":1,"pages":[{"lines":[{"words":[["a",1e308,-1e308,1,1]]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Decode(data)
		if err != nil {
			return
		}
		for _, p := range l.Pages {
			_ = p.Text()
			for _, w := range p.Words() {
				if w.Box.X0 > w.Box.X1 || w.Box.Y0 > w.Box.Y1 {
					t.Fatalf("decoded a box that is not ordered: %v", w.Box)
				}
			}
		}
	})
}

func TestReadTesseractTSV(t *testing.T) {
	tsv := "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n" +
		"1\t1\t0\t0\t0\t0\t0\t0\t2550\t3300\t-1\t\n" +
		"5\t1\t1\t1\t1\t1\t300\t300\t150\t50\t96\tApixaban\n" +
		"5\t1\t1\t1\t1\t2\t600\t300\t75\t50\t95\t5\n" +
		"5\t1\t1\t1\t2\t1\t300\t400\t150\t50\t90\tdaily\n" +
		"5\t1\t2\t1\t1\t1\t300\t600\t150\t50\t90\tNext\n" +
		"5\t1\t2\t1\t1\t2\tx\t600\t150\t50\t90\tbad\n"
	got := ReadTesseractTSV([]byte(tsv), 300)
	want := Page{Number: 1, Width: 612, Height: 792, Source: SourceTesseract, Lines: []Line{
		{Block: 0, Words: []Word{{"Apixaban", Box{72, 72, 108, 84}}, {"5", Box{144, 72, 162, 84}}}},
		{Block: 0, Words: []Word{{"daily", Box{72, 96, 108, 108}}}},
		{Block: 1, Words: []Word{{"Next", Box{72, 144, 108, 156}}}},
	}}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-9 })); diff != "" {
		t.Errorf("page (-want +got):\n%s", diff)
	}
}

func FuzzReadTesseractTSV(f *testing.F) {
	f.Add([]byte("5\t1\t1\t1\t1\t1\t300\t300\t150\t50\t96\tApixaban\n"), 300.0)
	f.Add([]byte("1\t1\t0\t0\t0\t0\t0\t0\tNaN\t1e999\t-1\t\n"), 0.0)
	f.Fuzz(func(t *testing.T, data []byte, dpi float64) {
		p := ReadTesseractTSV(data, dpi)
		_ = p.Text()
		for _, w := range p.Words() {
			if !finite(w.Box.X0, w.Box.Y0, w.Box.X1, w.Box.Y1) {
				t.Fatalf("box not finite: %v", w.Box)
			}
		}
	})
}
