package textpdf

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// TestRoundTrip: words written come back from pdftotext at their place, and
// qpdf finds the file sound, on plain and turned pages.
func TestRoundTrip(t *testing.T) {
	words := []Word{
		{Text: "Hello", X: 100, Y: 700, Width: 60, Size: 12},
		{Text: "wörld", X: 170, Y: 700, Width: 55, Size: 12},
		{Text: "naïve", X: 100, Y: 100, Width: 40, Size: 20},
	}
	for _, rot := range []int{0, 90, 180, 270} {
		t.Run(strconv.Itoa(rot), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "t.pdf")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := Write(f, []Page{{Width: 612, Height: 792, Words: words, Rotate: rot}}); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("qpdf", "--check", path).CombinedOutput(); err != nil {
				t.Fatalf("qpdf --check: %v\n%s", err, out)
			}
			out, err := exec.Command("pdftotext", "-bbox", path, "-").Output()
			if err != nil {
				t.Fatal(err)
			}
			re := regexp.MustCompile(`xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]+)<`)
			got := map[string][4]float64{}
			for _, m := range re.FindAllStringSubmatch(string(out), -1) {
				var v [4]float64
				for i := range v {
					v[i], _ = strconv.ParseFloat(m[1+i], 64)
				}
				got[m[5]] = v
			}
			for _, w := range words {
				b, ok := got[w.Text]
				if !ok {
					t.Errorf("%q not extracted: %s", w.Text, out)
					continue
				}
				// pdftotext's y grows downwards from the top of the shown page.
				want := [4]float64{w.X, 792 - w.Y - w.Size, w.X + w.Width, 792 - w.Y}
				for i := range b {
					if d := b[i] - want[i]; d > 1 || d < -1 {
						t.Errorf("%q box %v, want %v", w.Text, b, want)
						break
					}
				}
			}
		})
	}
}

func TestContentSkipsBadWords(t *testing.T) {
	c := string(Content(Page{Words: []Word{{Text: "", Width: 1, Size: 1}, {Text: "x", Width: 0, Size: 1}, {Text: "ok", Width: 10, Size: 10}}}, "F"))
	if want := "<006F006B> Tj"; !regexp.MustCompile(want).MatchString(c) {
		t.Errorf("content %q lacks %q", c, want)
	}
	if regexp.MustCompile(`<0078>`).MatchString(c) {
		t.Errorf("zero-width word written: %q", c)
	}
}
