package ccda

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// scanTokens lists the scanner's tokens in a form comparable with
// encoding/xml's: start elements with their namespace flag and attributes,
// end elements, and the text between tags (adjacent pieces joined).
func scanTokens(src string) ([]string, error) {
	src, err := prepare(src)
	if err != nil {
		return nil, err
	}
	var s scanner
	s.reset(src)
	var out []string
	text := ""
	flush := func() {
		if text != "" {
			out = append(out, "T"+text)
			text = ""
		}
	}
	for {
		if err := s.next(); err != nil {
			return nil, err
		}
		switch s.kind {
		case tokEOF:
			flush()
			return out, nil
		case tokStart:
			flush()
			t := fmt.Sprintf("S%v %s", s.v3, s.local)
			for _, a := range s.attrs {
				t += fmt.Sprintf(" %v:%s=%q", a.prefix == "", a.local, a.value)
			}
			out = append(out, t)
		case tokEnd:
			flush()
			out = append(out, "E")
		case tokText:
			text += s.text
		}
	}
}

// stdTokens lists encoding/xml's tokens the same way (text outside the
// root, comments, processing instructions and directives left out).
func stdTokens(src string) ([]string, error) {
	dec := xml.NewDecoder(strings.NewReader(src))
	dec.Strict = true
	dec.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "us-ascii", "ascii", "utf8":
			return in, nil
		case "iso-8859-1", "latin1", "latin-1", "l1", "iso_8859-1", "windows-1252", "cp1252":
			b, err := io.ReadAll(in)
			return strings.NewReader(decodeSingleByte(string(b), strings.Contains(label, "1252"))), err
		}
		return nil, errors.New("charset")
	}
	var out []string
	text := ""
	depth := 0
	flush := func() {
		if text != "" {
			out = append(out, "T"+text)
			text = ""
		}
	}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			flush()
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			flush()
			depth++
			s := fmt.Sprintf("S%v %s", t.Name.Space == nsV3, t.Name.Local)
			for _, a := range t.Attr {
				s += fmt.Sprintf(" %v:%s=%q", a.Name.Space == "", a.Name.Local, a.Value)
			}
			out = append(out, s)
		case xml.EndElement:
			flush()
			depth--
			out = append(out, "E")
		case xml.CharData:
			if depth > 0 {
				text += string(t)
			}
		}
	}
}

// scanSeeds are inputs at the scanner's edges.
var scanSeeds = []string{
	`<a/>`,
	`<?xml version="1.0" encoding="UTF-8"?><a xmlns="urn:hl7-org:v3" b='1' c="x&amp;y&#65;&#x42;"><b>t&lt;</b><![CDATA[<x>]]></a>`,
	"<a>\r\n x \r y</a>",
	`<v:a xmlns:v="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><v:b xsi:type="PQ"/></v:a>`,
	`<!DOCTYPE a><!-- c --><?pi x?><a>1</a>`,
	`<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>`,
	`<a><!-- a -- b --></a>`,
	`<a>&unknown;</a>`,
	`<a></b>`,
	`<a b=1/>`,
	`<a>&#0;</a>`,
	`<?xml version="1.0" encoding="ISO-8859-1"?><a>` + "\xe9" + `</a>`,
	`<a/><b/>`,
	`x<a/>`,
	`<a:b:c/>`,
	`<?xml version="1.1"?><a/>`,
}

// FuzzScanner holds the scanner to encoding/xml: whatever the scanner
// accepts, encoding/xml accepts too, with the same tokens.
func FuzzScanner(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add(s)
	}
	for _, p := range []string{"HL7/UD.sample.xml"} {
		b, err := os.ReadFile("../../testdata/corpus/ccda-peer/" + p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, src string) {
		got, err := scanTokens(src)
		if err != nil {
			return // refusing more than encoding/xml is allowed
		}
		want, err := stdTokens(src)
		if err != nil {
			t.Fatalf("scanner accepted what encoding/xml refuses (%v): %q", err, src)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("tokens differ (-encoding/xml +scanner):\n%s\ninput %q", diff, src)
		}
	})
}

// TestScannerCorpus: the scanner and encoding/xml agree on every corpus
// document (every fifth under -race, where encoding/xml is slow).
func TestScannerCorpus(t *testing.T) {
	t.Parallel()
	root := "../../testdata/corpus/ccda-peer"
	var n int
	err := walkXML(root, func(p string, b []byte) {
		n++
		if raceOn && n%5 != 0 {
			return
		}
		got, err := scanTokens(string(b))
		if err != nil {
			t.Errorf("%s: scanner: %v", p, err)
			return
		}
		want, err := stdTokens(string(b))
		if err != nil {
			t.Errorf("%s: encoding/xml: %v", p, err)
			return
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: tokens differ (-encoding/xml +scanner):\n%s", p, diff)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 70 {
		t.Fatalf("got %d documents, want the corpus", n)
	}
}

func TestInvalidAt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int
	}{
		{"", -1},
		{"plain ascii text that is long enough", -1},
		{"tabs\tand\nnewlines\r\n in a longer line of text", -1},
		{"01234567\x01", 8},
		{"0123456\x1f89", 7},
		{"\x7f is DEL, allowed", -1},
		{"caf\u00e9 and \u4e2d\u6587 and \U0001F600 ok", -1},
		{"abcdefgh\xff", 8},
		{"abc\xef\xbf\xbe", 3},     // U+FFFE
		{"abcdefg\xed\xa0\x80", 7}, // a surrogate
		{"\x00", 0},
	}
	for _, tc := range tests {
		if got := invalidAt(tc.in); got != tc.want {
			t.Errorf("invalidAt(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
