package layout

import (
	"strings"
	"unicode"

	"github.com/handoffmed/handoff/platform/textfold"
)

// ASCII transliterates s to ASCII (platform/textfold: accents dropped,
// ß → ss, Ø → OE).
func ASCII(s string) string { return textfold.ASCII(s) }

// NamePart makes a person's name safe for a file name: ASCII letters and
// digits, words joined by '-', capitalised when the source is all upper case
// (as a passport's machine-readable zone is). "" when nothing is left.
func NamePart(s string) string {
	s = ASCII(s)
	upper := strings.ToUpper(s) == s
	var words []string
	for _, w := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '-' || r == '<' || r == ',' || r == '_' || r == '.'
	}) {
		var b strings.Builder
		for _, r := range w {
			if r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
				b.WriteRune(r)
			}
		}
		word := b.String()
		if word == "" {
			continue
		}
		if upper {
			word = word[:1] + strings.ToLower(word[1:])
		}
		words = append(words, word)
	}
	return strings.Join(words, "-")
}

// FilePart makes a phrase safe for a file name: ASCII letters, digits and
// '-' kept, everything else becomes '_', runs of '_' collapse.
func FilePart(s string) string {
	s = ASCII(s)
	var b strings.Builder
	under := false
	for _, r := range s {
		ok := r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-')
		if !ok {
			if !under && b.Len() > 0 {
				b.WriteByte('_')
			}
			under = true
			continue
		}
		under = false
		b.WriteRune(r)
	}
	return strings.TrimRight(b.String(), "_")
}

// validDate reports whether s looks like YYYY-MM-DD.
func validDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	for i, r := range s {
		if i != 4 && i != 7 && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}
