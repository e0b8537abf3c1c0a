package understand

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// A date as printed on a US medical document: 04/12/2026, 4/12/26,
// 2026-04-12, April 12, 2026, Apr 12 2026, 12-Apr-2026, 12 April 2026.
const (
	monthRe   = `(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)`
	dateAnyRe = `(?i)\b(?:` +
		`(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4}|\d{2})` + // 1-3 US M/D/Y
		`|(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})` + // 4-6 ISO
		`|` + monthRe + `\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})` + // 7-9 April 12, 2026
		`|(\d{1,2})[\s-]` + monthRe + `\.?[\s,-]+(\d{4}|\d{2})` + // 10-12 12-Apr-2026
		`)(?:\b|T)`
)

var months = map[string]int{
	"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
	"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}

type dateParser struct {
	re *regexp.Regexp
}

func newDateParser() *dateParser { return &dateParser{re: regexp.MustCompile(dateAnyRe)} }

// dateMatch is a date found in a line: its position and its ISO form.
type dateMatch struct {
	start, end int
	iso        string
}

// find returns the valid dates of s in order.
func (p *dateParser) find(s string) []dateMatch {
	var out []dateMatch
	for _, m := range p.re.FindAllStringSubmatchIndex(s, -1) {
		g := func(i int) string {
			if m[2*i] < 0 {
				return ""
			}
			return s[m[2*i]:m[2*i+1]]
		}
		var y, mo, d int
		switch {
		case g(1) != "":
			mo, d, y = atoi(g(1)), atoi(g(2)), year(g(3))
		case g(4) != "":
			y, mo, d = atoi(g(4)), atoi(g(5)), atoi(g(6))
		case g(7) != "":
			mo, d, y = months[strings.ToLower(g(7))[:3]], atoi(g(8)), atoi(g(9))
		case g(10) != "":
			d, mo, y = atoi(g(10)), months[strings.ToLower(g(11))[:3]], year(g(12))
		}
		if iso, ok := isoDate(y, mo, d); ok {
			out = append(out, dateMatch{start: m[0], end: m[1], iso: iso})
		}
	}
	return out
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// year reads a two-digit year with a fixed pivot (00-40 are 20xx), so that
// the result never depends on the clock.
func year(s string) int {
	y := atoi(s)
	if len(s) == 2 {
		if y <= 40 {
			return 2000 + y
		}
		return 1900 + y
	}
	return y
}

var monthDays = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

func isoDate(y, m, d int) (string, bool) {
	if y < 1900 || y > 2100 || m < 1 || m > 12 || d < 1 || d > monthDays[m] {
		return "", false
	}
	if m == 2 && d == 29 && !(y%4 == 0 && (y%100 != 0 || y%400 == 0)) {
		return "", false
	}
	return fmt.Sprintf("%04d-%02d-%02d", y, m, d), true
}
