// Package textfold compares and cleans people's names and other free text
// the way travel documents and file systems need them: one transliteration
// of Latin letters to ASCII (ICAO Doc 9303's for the letters it names: ß is
// SS, Æ is AE, Ø is OE, Þ is TH), one edit distance, and one whole-word
// search.
package textfold

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// special are letters that do not decompose into an ASCII base letter, as
// ICAO Doc 9303 (part 3) transliterates them.
var special = map[rune]string{
	'ß': "ss", 'ẞ': "SS", 'æ': "ae", 'Æ': "AE", 'ø': "oe", 'Ø': "OE", 'œ': "oe", 'Œ': "OE",
	'ł': "l", 'Ł': "L", 'đ': "d", 'Đ': "D", 'ð': "d", 'Ð': "D", 'þ': "th", 'Þ': "TH",
	'ı': "i", 'ħ': "h", 'Ħ': "H", 'ŋ': "ng", 'Ŋ': "NG", 'ĸ': "k", 'ĳ': "ij", 'Ĳ': "IJ",
}

// ASCII transliterates s to ASCII: accents are dropped (é → e, Ü → U), the
// letters without a base letter are spelled out (ß → ss, Ø → OE), spaces are
// kept as spaces, and anything else with no ASCII form (other scripts) is
// removed. For file and folder names.
func ASCII(s string) string { return fold(s, false) }

// Fold transliterates the Latin letters of s as ASCII does and keeps the
// letters of other scripts as they are: for comparing names written with or
// without accents ("Müller", "MULLER") whatever their script.
func Fold(s string) string { return fold(s, true) }

func fold(s string, keep bool) string {
	ascii := true
	for i := range len(s) {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	for _, r := range norm.NFKD.String(s) {
		switch {
		case r < 0x80:
			b.WriteRune(r)
		case unicode.Is(unicode.Mn, r):
			// the combining mark of a decomposed letter
		default:
			if t, ok := special[r]; ok {
				b.WriteString(t)
			} else if unicode.IsSpace(r) {
				b.WriteByte(' ')
			} else if keep {
				b.WriteRune(r)
			}
		}
	}
	if keep {
		return norm.NFC.String(b.String())
	}
	return b.String()
}

// EditDistance is the Levenshtein distance of two strings, in runes.
func EditDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// ContainsWord reports whether w occurs in s as a whole word: between
// characters that are not ASCII letters or digits, or the ends. Case
// matters; lower both to ignore it.
func ContainsWord(s, w string) bool {
	for off := 0; ; {
		i := strings.Index(s[off:], w)
		if i < 0 {
			return false
		}
		i += off
		end := i + len(w)
		if (i == 0 || !alnum(s[i-1])) && (end == len(s) || !alnum(s[end])) {
			return true
		}
		off = i + 1
	}
}

func alnum(b byte) bool { return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b >= 'A' && b <= 'Z' }
