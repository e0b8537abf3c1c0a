package ccda

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"html"
	"io"
	"path"
	"slices"
	"strings"
)

// sniffSize is how much of a file Sniff needs at most.
const sniffSize = 64 << 10

// Sniff reports whether head, the first bytes of a file (a few KiB are
// enough), looks like a C-CDA: XML whose root element is ClinicalDocument in
// the urn:hl7-org:v3 namespace. It reads no further than the root's start tag.
func Sniff(head []byte) bool {
	var s scanner
	s.reset(string(head[:min(len(head), sniffSize)]))
	for {
		if s.next() != nil {
			return false
		}
		switch s.kind {
		case tokStart:
			return s.v3 && s.local == "ClinicalDocument"
		case tokEOF:
			return false
		}
	}
}

// Extract reads the C-CDA in data: a bare C-CDA XML, the first C-CDA of an
// IHE XDM ZIP (IHE_XDM/SUBSET01/DOC0001.XML and the like, first in name
// order), or one embedded in an HTML file such as a Blue Button bbClear
// export (raw, inside a <script>, a comment or CDATA, or HTML-escaped inside
// a <textarea>). Document.Source says which. A container without a
// C-CDA gives ErrNotCCDA; the limits of opt apply to the container and to
// the XML inside it.
func Extract(data []byte, opt Options) (*Document, error) {
	d, _, err := extract(data, opt)
	return d, err
}

// Unwrap returns the C-CDA XML that Extract would read from data, and
// where it was found (a Source* constant).
func Unwrap(data []byte, opt Options) ([]byte, string, error) {
	d, src, err := extract(data, opt)
	if err != nil {
		return nil, "", err
	}
	return []byte(src), d.Source, nil
}

func extract(data []byte, opt Options) (*Document, string, error) {
	if int64(len(data)) > opt.maxBytes() {
		return nil, "", fmt.Errorf("%w (limit %d bytes)", ErrTooLarge, opt.maxBytes())
	}
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) || bytes.HasPrefix(data, []byte("PK\x05\x06")) {
		src, err := fromZip(data, opt)
		if err != nil {
			return nil, "", err
		}
		d, err := readString(src, opt, SourceXDM)
		return d, src, err
	}
	text := string(data)
	head := strings.TrimLeft(strings.TrimPrefix(text, "\xEF\xBB\xBF"), " \t\r\n")
	if Sniff(data) || strings.HasPrefix(head, "<?xml") && !looksHTML(head) {
		d, err := readString(text, opt, SourceXML)
		if !errors.Is(err, ErrNotCCDA) {
			return d, text, err
		}
	}
	var first error
	for _, c := range embedded(text) {
		d, err := readString(c, opt, SourceHTML)
		if err == nil {
			return d, c, nil
		}
		if first == nil {
			first = err
		}
	}
	if first != nil {
		return nil, "", first
	}
	return nil, "", ErrNotCCDA
}

// looksHTML reports whether an XML-declared file is XHTML (which may embed a C-CDA).
func looksHTML(head string) bool {
	h := strings.ToLower(head[:min(len(head), 1024)])
	return strings.Contains(h, "<html") || strings.Contains(h, "<!doctype html")
}

// fromZip returns the first C-CDA of an XDM ZIP, read through the size limit.
func fromZip(data []byte, opt Options) (string, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", fmt.Errorf("%w: unreadable ZIP", ErrMalformed)
	}
	var files []*zip.File
	for _, f := range zr.File {
		name := strings.ToUpper(f.Name)
		if strings.HasSuffix(name, ".XML") && path.Base(name) != "METADATA.XML" && !f.FileInfo().IsDir() {
			files = append(files, f)
		}
	}
	// IHE_XDM/SUBSETnn/DOCnnnn.XML first, then the rest, each in name order.
	slices.SortStableFunc(files, func(a, b *zip.File) int {
		ax, bx := strings.HasPrefix(strings.ToUpper(a.Name), "IHE_XDM/"), strings.HasPrefix(strings.ToUpper(b.Name), "IHE_XDM/")
		switch {
		case ax && !bx:
			return -1
		case bx && !ax:
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	for _, f := range files {
		src, err := zipEntry(f, opt.maxBytes())
		if err != nil {
			return "", err
		}
		if Sniff([]byte(src[:min(len(src), sniffSize)])) {
			return src, nil
		}
	}
	return "", ErrNotCCDA
}

func zipEntry(f *zip.File, limit int64) (string, error) {
	rc, err := f.Open()
	if err != nil {
		return "", fmt.Errorf("%w: unreadable ZIP entry", ErrMalformed)
	}
	defer rc.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, &limited{r: rc, limit: limit}); err != nil {
		if errors.Is(err, ErrTooLarge) {
			return "", fmt.Errorf("%w (ZIP entry over %d bytes)", ErrTooLarge, limit)
		}
		return "", fmt.Errorf("%w: unreadable ZIP entry", ErrMalformed)
	}
	return b.String(), nil
}

// embedded returns the C-CDA documents an HTML text may carry, in order:
// raw (in a <script>, a comment, CDATA), HTML-escaped (in a <textarea> or
// a <pre>), or inside a JavaScript string.
func embedded(text string) []string {
	var out []string
	for _, esc := range []bool{false, true} {
		lt, gt := "<", ">"
		if esc {
			lt, gt = "&lt;", "&gt;"
		}
		for from := 0; ; {
			i := strings.Index(text[from:], "ClinicalDocument")
			if i < 0 {
				break
			}
			i += from
			from = i + len("ClinicalDocument")
			start, qname, ok := openTag(text, i, lt)
			if !ok {
				continue
			}
			closing := lt + "/" + qname
			j := strings.Index(text[from:], closing)
			if j < 0 {
				continue
			}
			j += from + len(closing)
			k := strings.Index(text[j:], gt)
			if k < 0 {
				continue
			}
			end := j + k + len(gt)
			c := text[start:end]
			if esc {
				c = html.UnescapeString(c)
			} else if strings.Contains(c, `\"`) {
				c = unescapeJS(c)
			}
			out = append(out, c)
			from = end
		}
	}
	return out
}

// openTag checks that "ClinicalDocument" at i is the name in a start tag
// (<ClinicalDocument or <p:ClinicalDocument, lt being "<" or "&lt;") and
// returns where the tag starts and its qualified name.
func openTag(text string, i int, lt string) (int, string, bool) {
	after := i + len("ClinicalDocument")
	if after < len(text) && !strings.ContainsRune(" \t\r\n>/&", rune(text[after])) {
		return 0, "", false
	}
	p := i
	if p > 0 && text[p-1] == ':' { // a prefix
		p--
		for p > 0 && isNameByte(text[p-1]) {
			p--
		}
	}
	if !strings.HasSuffix(text[:p], lt) {
		return 0, "", false
	}
	return p - len(lt), text[p:after], true
}

func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.'
}

// unescapeJS undoes the escapes of a JavaScript string literal that an XML
// document may carry.
func unescapeJS(s string) string {
	return strings.NewReplacer(`\"`, `"`, `\'`, `'`, `\/`, `/`, `\n`, "\n", `\r`, "\r", `\t`, "\t", `\\`, `\`).Replace(s)
}
