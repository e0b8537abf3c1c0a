package ccda

import "strings"

// scanner is the XML tokenizer of the reader: a strict subset of XML 1.0
// over the whole (bounded) input held as one string, so names, attribute
// values and text are substrings of it and reading allocates almost
// nothing. It is what encoding/xml accepts, minus some things C-CDA never
// needs (FuzzScanner checks that whatever it accepts encoding/xml accepts
// with the same tokens):
//
//   - UTF-8 only (Latin-1 and Windows-1252 are converted first, see
//     prepare); names are ASCII, with at most one colon;
//   - no entities but the five predefined ones and character references;
//     a DOCTYPE that declares entities is refused (ErrEntities), any other
//     DOCTYPE is skipped; nothing is ever fetched;
//   - one root element, nothing but white space, comments and processing
//     instructions around it.
type scanner struct {
	src string
	pos int

	// The current token.
	kind   tokKind
	prefix string // element prefix
	local  string // element local name
	v3     bool   // the element is in the urn:hl7-org:v3 namespace
	attrs  []xattr
	text   string // character data (entities replaced)

	selfClose bool // the start just returned was <x/>: its end comes next
	open      []openEl
	ns        []binding
	sawRoot   bool

	buf []byte // scratch for replaced entities
}

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokStart
	tokEnd
	tokText
)

// xattr is an attribute; xsi is set for the XML Schema instance namespace
// (xsi:type) and other for any other prefixed attribute.
type xattr struct {
	local, value string
	xsi, other   bool
	prefix       string
}

type openEl struct {
	qname string
	nsLen int
}

type binding struct{ prefix, uri string }

// errSyntax is what the scanner returns for input that is not well formed;
// the reader turns it into a MalformedError with the position.
type errSyntax struct{}

func (errSyntax) Error() string { return "syntax" }

var errSyn = errSyntax{}

func (s *scanner) reset(src string) {
	s.src, s.pos = src, 0
	s.open, s.ns, s.attrs = s.open[:0], s.ns[:0], s.attrs[:0]
	s.selfClose, s.sawRoot = false, false
	if strings.HasPrefix(src, "\xEF\xBB\xBF") {
		s.pos = 3
	}
}

// line is the 1-based line of the scanner's position.
func (s *scanner) line() int { return 1 + strings.Count(s.src[:min(s.pos, len(s.src))], "\n") }

// next reads the next token into s; errSyn, ErrEntities on failure.
func (s *scanner) next() error {
	if s.selfClose {
		s.selfClose = false
		s.kind = tokEnd
		s.pop()
		return nil
	}
	for {
		if s.pos >= len(s.src) {
			if len(s.open) > 0 || !s.sawRoot {
				return errSyn
			}
			s.kind = tokEOF
			return nil
		}
		if s.src[s.pos] != '<' {
			end := strings.IndexByte(s.src[s.pos:], '<')
			if end < 0 {
				end = len(s.src)
			} else {
				end += s.pos
			}
			raw := s.src[s.pos:end]
			if len(s.open) == 0 {
				if !allSpace(raw) {
					return errSyn
				}
				s.pos = end
				continue
			}
			t, err := s.unescape(raw)
			if err != nil {
				return err
			}
			s.pos = end
			s.kind, s.text = tokText, t
			return nil
		}
		rest := s.src[s.pos+1:]
		switch {
		case strings.HasPrefix(rest, "/"):
			return s.endTag()
		case strings.HasPrefix(rest, "?"):
			if err := s.procInst(); err != nil {
				return err
			}
		case strings.HasPrefix(rest, "!--"):
			end := strings.Index(s.src[s.pos+4:], "--")
			if end < 0 || !strings.HasPrefix(s.src[s.pos+4+end:], "-->") {
				return errSyn // unterminated, or "--" inside a comment
			}
			s.pos += 4 + end + 3
		case strings.HasPrefix(rest, "![CDATA["):
			if len(s.open) == 0 {
				return errSyn
			}
			start := s.pos + 9
			end := strings.Index(s.src[start:], "]]>")
			if end < 0 {
				return errSyn
			}
			raw := s.src[start : start+end]
			s.pos = start + end + 3
			s.kind, s.text = tokText, raw
			if strings.IndexByte(raw, '\r') >= 0 {
				s.text = s.newlines(raw)
			}
			return nil
		case strings.HasPrefix(rest, "!DOCTYPE"):
			if err := s.doctype(); err != nil {
				return err
			}
		case strings.HasPrefix(rest, "!"):
			return errSyn
		default:
			return s.startTag()
		}
	}
}

func (s *scanner) startTag() error {
	prefix, local, p := s.name(s.pos + 1)
	if local == "" {
		return errSyn
	}
	qend := p
	s.attrs = s.attrs[:0]
	for {
		q := skipSpace(s.src, p)
		spaced := q > p
		p = q
		if p >= len(s.src) {
			return errSyn
		}
		c := s.src[p]
		if c == '>' {
			p++
			break
		}
		if c == '/' {
			if p+1 < len(s.src) && s.src[p+1] == '>' {
				s.selfClose = true
				p += 2
				break
			}
			return errSyn
		}
		if !spaced {
			return errSyn
		}
		ap, al, q2 := s.name(p)
		if al == "" {
			return errSyn
		}
		p = skipSpace(s.src, q2)
		if p >= len(s.src) || s.src[p] != '=' {
			return errSyn
		}
		p = skipSpace(s.src, p+1)
		if p >= len(s.src) || s.src[p] != '"' && s.src[p] != '\'' {
			return errSyn
		}
		end := strings.IndexByte(s.src[p+1:], s.src[p])
		if end < 0 {
			return errSyn
		}
		raw := s.src[p+1 : p+1+end]
		if strings.IndexByte(raw, '<') >= 0 {
			return errSyn
		}
		v, err := s.unescape(raw)
		if err != nil {
			return err
		}
		p += 1 + end + 1
		s.attrs = append(s.attrs, xattr{local: al, prefix: ap, value: v})
	}
	if len(s.open) == 0 {
		if s.sawRoot {
			return errSyn // a second root
		}
		s.sawRoot = true
	}
	nsLen := len(s.ns)
	for _, a := range s.attrs {
		switch {
		case a.prefix == "" && a.local == "xmlns":
			s.ns = append(s.ns, binding{"", a.value})
		case a.prefix == "xmlns":
			s.ns = append(s.ns, binding{a.local, a.value})
		}
	}
	for i := range s.attrs {
		a := &s.attrs[i]
		if a.prefix != "" && a.prefix != "xmlns" {
			uri, ok := s.lookup(a.prefix)
			if ok && uri == "" {
				a.prefix = "" // bound to no namespace: as if unprefixed (so says encoding/xml)
				continue
			}
			a.xsi = uri == nsXSI || !ok && a.prefix == "xsi"
			a.other = !a.xsi
		}
	}
	uri, _ := s.lookup(prefix)
	s.kind, s.prefix, s.local, s.v3 = tokStart, prefix, local, uri == nsV3
	s.open = append(s.open, openEl{qname: s.src[s.pos+1 : qend], nsLen: nsLen})
	s.pos = p
	return nil
}

// lookup resolves a prefix ("" for the default namespace).
func (s *scanner) lookup(prefix string) (string, bool) {
	for i := len(s.ns) - 1; i >= 0; i-- {
		if s.ns[i].prefix == prefix {
			return s.ns[i].uri, true
		}
	}
	if prefix == "xml" {
		return "http://www.w3.org/XML/1998/namespace", true
	}
	return "", false
}

func (s *scanner) endTag() error {
	start := s.pos + 2
	_, local, p := s.name(start)
	if local == "" || len(s.open) == 0 {
		return errSyn
	}
	qname := s.src[start:p]
	p = skipSpace(s.src, p)
	if p >= len(s.src) || s.src[p] != '>' || s.open[len(s.open)-1].qname != qname {
		return errSyn
	}
	s.pos = p + 1
	s.kind = tokEnd
	s.pop()
	return nil
}

func (s *scanner) pop() {
	top := s.open[len(s.open)-1]
	s.ns = s.ns[:top.nsLen]
	s.open = s.open[:len(s.open)-1]
}

// procInst skips a processing instruction; the XML declaration may only
// come first and must say version 1.0 (its encoding is handled by prepare).
func (s *scanner) procInst() error {
	_, target, p := s.name(s.pos + 2)
	if target == "" {
		return errSyn
	}
	end := strings.Index(s.src[p:], "?>")
	if end < 0 {
		return errSyn
	}
	if strings.EqualFold(target, "xml") {
		first := s.pos == 0 || s.pos == 3 && strings.HasPrefix(s.src, "\xEF\xBB\xBF")
		if !first || target != "xml" {
			return errSyn
		}
		if v, ok := pseudoAttr(s.src[p:p+end], "version"); ok && v != "1.0" {
			return errSyn
		}
	} else if p < len(s.src) && !isSpace(s.src[p]) && s.src[p] != '?' {
		return errSyn
	}
	s.pos = p + end + 2
	return nil
}

// doctype skips a DOCTYPE declaration before the root; one that declares
// entities (or anything else in an internal subset) is refused.
func (s *scanner) doctype() error {
	if s.sawRoot {
		return errSyn
	}
	depth := 0
	if p := s.pos + 9; p >= len(s.src) || !isSpace(s.src[p]) {
		return errSyn
	}
	for p := s.pos + 9; p < len(s.src); p++ {
		switch c := s.src[p]; c {
		case '"', '\'':
			end := strings.IndexByte(s.src[p+1:], c)
			if end < 0 {
				return errSyn
			}
			p += 1 + end
		case '[':
			depth++
		case ']':
			depth--
		case '<':
			if strings.HasPrefix(s.src[p:], "<!ENTITY") {
				return ErrEntities
			}
			if strings.HasPrefix(s.src[p:], "<!--") {
				end := strings.Index(s.src[p+4:], "--")
				if end < 0 || !strings.HasPrefix(s.src[p+4+end:], "-->") {
					return errSyn
				}
				p += 4 + end + 2
				continue
			}
			depth++
		case '>':
			if depth == 0 {
				s.pos = p + 1
				return nil
			}
			depth--
		}
	}
	return errSyn
}

// name reads an ASCII XML name at p, split at its colon.
func (s *scanner) name(p int) (prefix, local string, end int) {
	start, colon := p, -1
	for ; p < len(s.src); p++ {
		c := s.src[p]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_':
		case '0' <= c && c <= '9' || c == '-' || c == '.':
			if p == start {
				return "", "", start
			}
		case c == ':':
			if p == start || colon >= 0 {
				return "", "", start
			}
			colon = p
		default:
			goto done
		}
	}
done:
	if p == start || colon == p-1 {
		return "", "", start
	}
	if colon < 0 {
		return "", s.src[start:p], p
	}
	return s.src[start:colon], s.src[colon+1 : p], p
}
