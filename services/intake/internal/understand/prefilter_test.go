package understand

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/handoffmed/handoff/platform/record"
)

func TestRequired(t *testing.T) {
	tests := []struct {
		pattern string
		want    []string // nil: no prefilter
	}{
		{`\bpassport\b`, []string{"passport"}},
		{`\breference\s+(?:range|interval)\b`, []string{"reference"}},
		{`\bmri|\bct\b`, []string{"mri", "ct"}},
		{`^\s*findings\s*:?`, []string{"findings"}},
		{`\bquoted (?:cost|price)\b|\bcost quoted\b`, []string{"quoted ", "cost quoted"}},
		{`(?:ab)+c?`, []string{"ab"}},
		{`x*`, nil},
		{`\bsig\s*:|\d+`, nil}, // the second branch needs no literal
		{`(?i)Passport`, []string{"passport"}},
		{`(?i)\bglucose|Na\b`, []string{"glucose", "na"}},
		{`(?i)größe`, nil}, // its folding orbits may leave ASCII: not prefiltered
		{`(?i)größe|x`, nil},
		{`(?i)x\d+größe`, []string{"x"}},
		{`a{0,3}`, nil},
	}
	for _, tc := range tests {
		got := newPrefiltered(tc.pattern).need
		if tc.want == nil && got != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%q: need %q, want %q", tc.pattern, got, tc.want)
		}
	}
}

// testDocuments are the texts of testdata/*.txt.
func testDocuments(t testing.TB) []string {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test documents: %v", err)
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// prefilterTexts are the texts the prefilter is checked on: the test
// documents, and their lines one by one.
func prefilterTexts(t testing.TB) []string {
	var out []string
	for _, text := range testDocuments(t) {
		out = append(out, text)
		out = append(out, strings.Split(text, "\n")...)
	}
	return out
}

// The prefilter never hides a match: every signal decides as its plain
// expression does on every test document and each of its lines.
func TestSignalsPrefilterAgrees(t *testing.T) {
	texts := prefilterTexts(t)
	filtered := 0
	for _, s := range signals() {
		plain := regexp.MustCompile(s.re.re.String())
		if s.re.need != nil {
			filtered++
		}
		for _, text := range texts {
			text = strings.ToLower(text)
			if got, want := s.re.MatchString(text), plain.MatchString(text); got != want {
				t.Fatalf("signal %s on %q: prefiltered %v, plain %v", s.label, text, got, want)
			}
		}
	}
	if n := len(signals()); filtered < n*3/4 {
		t.Errorf("only %d of %d signals prefiltered", filtered, n)
	}
}

// The same for the lab analytes, which are case-insensitive, on the
// documents as written.
func TestAnalytesPrefilterAgrees(t *testing.T) {
	texts := prefilterTexts(t)
	texts = append(texts, "GLUCOSE 95", "Glucoſe 95", "HEMOGLOBIN A1C 5.4", "KPOTASSIUM 4.1")
	filtered := 0
	for _, an := range New().analytes {
		plain := regexp.MustCompile(an.re.re.String())
		if an.re.need != nil {
			filtered++
		}
		for _, text := range texts {
			if got, want := an.re.Match(text, fold(text)), plain.MatchString(text); got != want {
				t.Fatalf("analyte %s on %q: prefiltered %v, plain %v", an.name, text, got, want)
			}
		}
	}
	if n := len(New().analytes); filtered < n/2 {
		t.Errorf("only %d of %d analytes prefiltered", filtered, n)
	}
}

func FuzzPrefilter(f *testing.F) {
	for _, text := range prefilterTexts(f)[:20] {
		f.Add(text)
	}
	var res []prefiltered
	for _, s := range signals() {
		res = append(res, s.re)
	}
	for _, an := range New().analytes {
		res = append(res, an.re)
	}
	plain := make([]*regexp.Regexp, len(res))
	for i, p := range res {
		plain[i] = regexp.MustCompile(p.re.String())
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, text := range []string{text, strings.ToLower(text)} {
			folded := fold(text)
			for i, p := range res {
				if got, want := p.Match(text, folded), plain[i].MatchString(text); got != want {
					t.Fatalf("%s on %q: prefiltered %v, plain %v", p.re, text, got, want)
				}
			}
		}
	})
}

// BenchmarkAnalyze analyses every test document once per iteration.
func BenchmarkAnalyze(b *testing.B) {
	var inputs []Input
	for _, text := range testDocuments(b) {
		inputs = append(inputs, Input{Type: record.TypePDF, Pages: SplitPages(text)})
	}
	a := New()
	b.ResetTimer()
	for b.Loop() {
		for _, in := range inputs {
			a.Analyze(in)
		}
	}
}
