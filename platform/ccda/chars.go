package ccda

import (
	"strings"
	"unicode/utf8"
)

// unescape replaces entity and character references and turns CR LF and
// lone CR into LF, as encoding/xml does.
func (s *scanner) unescape(raw string) (string, error) {
	if strings.Contains(raw, "]]>") {
		return "", errSyn // only allowed as the end of a CDATA section
	}
	amp := strings.IndexByte(raw, '&')
	if amp < 0 {
		if strings.IndexByte(raw, '\r') >= 0 {
			return s.newlines(raw), nil
		}
		return raw, nil
	}
	b := s.buf[:0]
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch c {
		case '\r':
			b = append(b, '\n')
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
		case '&':
			semi := strings.IndexByte(raw[i+1:min(len(raw), i+12)], ';')
			if semi < 0 {
				return "", errSyn
			}
			ref := raw[i+1 : i+1+semi]
			i += 1 + semi
			switch ref {
			case "lt":
				b = append(b, '<')
			case "gt":
				b = append(b, '>')
			case "amp":
				b = append(b, '&')
			case "apos":
				b = append(b, '\'')
			case "quot":
				b = append(b, '"')
			default:
				r, ok := charRef(ref)
				if !ok {
					return "", errSyn
				}
				b = utf8.AppendRune(b, r)
			}
		default:
			b = append(b, c)
		}
	}
	s.buf = b
	return string(b), nil
}

func (s *scanner) newlines(raw string) string {
	raw = strings.ReplaceAll(raw, "\r\n", "\n")
	return strings.ReplaceAll(raw, "\r", "\n")
}

// charRef reads "#123" or "#x7B" as a character allowed in XML.
func charRef(ref string) (rune, bool) {
	if len(ref) < 2 || ref[0] != '#' {
		return 0, false
	}
	digits, base := ref[1:], 10
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if digits == "" || len(digits) > 8 {
		return 0, false
	}
	var r rune
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		var d rune
		switch {
		case '0' <= c && c <= '9':
			d = rune(c - '0')
		case base == 16 && 'a' <= c && c <= 'f':
			d = rune(c-'a') + 10
		case base == 16 && 'A' <= c && c <= 'F':
			d = rune(c-'A') + 10
		default:
			return 0, false
		}
		r = r*rune(base) + d
	}
	return r, xmlChar(r)
}

// xmlChar is the XML 1.0 Char production.
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// invalidAt returns the offset of the first byte of src that is not part
// of an XML character in UTF-8, or -1. Eight bytes of printable ASCII are
// passed at a time.
func invalidAt(src string) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	for i := 0; i < len(src); {
		if i+8 <= len(src) {
			w := uint64(src[i]) | uint64(src[i+1])<<8 | uint64(src[i+2])<<16 | uint64(src[i+3])<<24 |
				uint64(src[i+4])<<32 | uint64(src[i+5])<<40 | uint64(src[i+6])<<48 | uint64(src[i+7])<<56
			// No byte below 0x20 and none from 0x80 up: nothing to check.
			if (w-0x20*ones)&^w&highs == 0 && w&highs == 0 {
				i += 8
				continue
			}
		}
		c := src[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return i
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(src[i:])
		if r == utf8.RuneError && n == 1 || !xmlChar(r) {
			return i
		}
		i += n
	}
	return -1
}

func skipSpace(s string, p int) int {
	for p < len(s) && (s[p] == ' ' || s[p] == '\t' || s[p] == '\n' || s[p] == '\r') {
		p++
	}
	return p
}

func allSpace(s string) bool { return skipSpace(s, 0) == len(s) }

// pseudoAttr reads name="value" from an XML declaration's content.
func pseudoAttr(content, name string) (string, bool) {
	i := strings.Index(content, name)
	if i < 0 {
		return "", false
	}
	p := skipSpace(content, i+len(name))
	if p >= len(content) || content[p] != '=' {
		return "", false
	}
	p = skipSpace(content, p+1)
	if p >= len(content) || content[p] != '"' && content[p] != '\'' {
		return "", false
	}
	end := strings.IndexByte(content[p+1:], content[p])
	if end < 0 {
		return "", false
	}
	return content[p+1 : p+1+end], true
}
