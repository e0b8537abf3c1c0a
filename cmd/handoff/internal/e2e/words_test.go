package e2e

import (
	"regexp"
	"slices"
	"testing"
)

// Mentions finds what a regular expression for a whole word finds.
func TestMentions(t *testing.T) {
	text := `{"msg":"done","case":"abc","ref":"x_Mary_1"} Patient: O'BRIEN, Mary-Anne 1961-03-14; P<USAEXAMPLE 20261014 Vent. rate 72`
	needles := []string{"o'brien", "Mary", "Anne", "1961-03-14", "P<USA", "Vent. rate", "20261014", "ample", "bri", "msg", "case", "Done", "61-03", "rate 7", ""}
	var want []string
	for _, n := range needles {
		if n != "" && regexp.MustCompile(`(?i)(^|[^a-z0-9])`+regexp.QuoteMeta(n)+`($|[^a-z0-9])`).MatchString(text) {
			want = append(want, n)
		}
	}
	got := Mentions(text, needles)
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if len(want) < 8 {
		t.Errorf("the cases found only %q", want)
	}
}
