package ccda

import (
	"strings"
	"unicode/utf8"
)

// norm collapses runs of white space to one space and trims the ends.
func norm(s string) string {
	if !needsNorm(s) {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

func normBytes(b []byte) string {
	if !needsNorm(string(b)) { // no allocation: the conversion is only compared
		return string(b)
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

func needsNorm(s string) bool {
	if s == "" {
		return false
	}
	if isSpace(s[0]) || isSpace(s[len(s)-1]) {
		return true
	}
	prev := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return true // let strings.Fields judge Unicode spaces
		}
		sp := isSpace(c)
		if sp && (prev || c != ' ') {
			return true
		}
		prev = sp
	}
	return false
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// tsDate turns an HL7 TS (YYYYMMDDHHMMSS.UUUU±ZZZZ, any precision) into
// YYYY-MM-DD, YYYY-MM or YYYY, as precise as the value and no more; an
// impossible month or day cuts it short; "" when it is not a date.
func tsDate(v string) string {
	v = strings.TrimSpace(v)
	digits := 0
	for digits < len(v) && digits < 8 && v[digits] >= '0' && v[digits] <= '9' {
		digits++
	}
	switch {
	case digits < 4:
		return ""
	case digits < 6:
		return v[:4]
	case !between(v[4:6], 1, 12):
		return v[:4]
	case digits < 8:
		return v[:4] + "-" + v[4:6]
	case !between(v[6:8], 1, 31):
		return v[:4] + "-" + v[4:6]
	}
	return v[:4] + "-" + v[4:6] + "-" + v[6:8]
}

func between(two string, lo, hi int) bool {
	n := int(two[0]-'0')*10 + int(two[1]-'0')
	return n >= lo && n <= hi
}

// num writes a decimal without trailing zeros after the point ("30.0" -> "30").
func num(v string) string {
	v = strings.TrimSpace(v)
	dot := strings.IndexByte(v, '.')
	if dot < 0 {
		return v
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= '0' && c <= '9' || c == '.' || i == 0 && c == '-') {
			return v
		}
	}
	if strings.Count(v, ".") != 1 || dot == 0 || dot == 1 && v[0] == '-' {
		return v
	}
	v = strings.TrimRight(v, "0")
	return strings.TrimSuffix(v, ".")
}

func versionOf(ext string) string {
	switch ext {
	case "2015-08-01":
		return VersionR21
	case "2014-06-09":
		return VersionR20
	}
	return VersionR11
}

func versionRank(v string) int {
	switch v {
	case VersionR11:
		return 1
	case VersionR20:
		return 2
	case VersionR21:
		return 3
	}
	return 0
}

// cp1252 maps bytes 0x80-0x9F of Windows-1252 (0 where undefined: kept as Latin-1).
var cp1252 = [32]rune{
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
}

// decodeSingleByte turns Latin-1 (or Windows-1252) text into UTF-8.
func decodeSingleByte(src string, windows bool) string {
	b := make([]byte, 0, len(src)+len(src)/8)
	for i := 0; i < len(src); i++ {
		c := src[i]
		r := rune(c)
		if windows && c >= 0x80 && c < 0xA0 && cp1252[c-0x80] != 0 {
			r = cp1252[c-0x80]
		}
		b = utf8.AppendRune(b, r)
	}
	return string(b)
}
