package layout

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// special are letters that do not decompose into an ASCII base letter.
var special = map[rune]string{
	'ß': "ss", 'ẞ': "SS", 'æ': "ae", 'Æ': "AE", 'ø': "o", 'Ø': "O", 'œ': "oe", 'Œ': "OE",
	'ł': "l", 'Ł': "L", 'đ': "d", 'Đ': "D", 'ð': "d", 'Ð': "D", 'þ': "th", 'Þ': "Th",
	'ı': "i", 'ħ': "h", 'Ħ': "H", 'ŋ': "ng", 'Ŋ': "NG", 'ĸ': "k",
}

// ASCII transliterates s to ASCII: accents are dropped (é → e), a few
// letters are spelled out (ß → ss, Ø → O) and anything else that has no
// ASCII form is removed.
func ASCII(s string) string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(s) {
		switch {
		case r < 0x80:
			b.WriteRune(r)
		case unicode.Is(unicode.Mn, r):
			// combining mark of a decomposed letter
		default:
			if t, ok := special[r]; ok {
				b.WriteString(t)
			} else if unicode.IsSpace(r) {
				b.WriteByte(' ')
			}
		}
	}
	return b.String()
}

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
