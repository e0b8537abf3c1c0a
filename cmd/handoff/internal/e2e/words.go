package e2e

import "strings"

// Mentions returns the needles that text holds as whole words: ignoring
// case, with no letter, digit or underscore right before or after (what
// the regular expression (?i)(^|\W)needle($|\W) finds). It lowers text
// once and searches with strings.Index: megabytes of captured logs and
// messages against hundreds of names and dates in well under a second,
// where as many regular expressions took minutes under the race detector.
func Mentions(text string, needles []string) []string {
	lower := strings.ToLower(text)
	var found []string
	for _, n := range needles {
		if n != "" && holdsWord(lower, strings.ToLower(n)) {
			found = append(found, n)
		}
	}
	return found
}

func holdsWord(text, word string) bool {
	for from := 0; ; {
		i := strings.Index(text[from:], word)
		if i < 0 {
			return false
		}
		i += from
		end := i + len(word)
		if (i == 0 || !wordByte(text[i-1])) && (end == len(text) || !wordByte(text[end])) {
			return true
		}
		from = i + 1
	}
}

// wordByte is a byte of \w: an ASCII letter, digit or underscore.
func wordByte(b byte) bool {
	return b == '_' || '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
}
