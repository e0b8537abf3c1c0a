// Package charset decodes DICOM text values (PS3.5 §6.1) to UTF-8: the
// single-byte ISO 8859 repertoires, UTF-8, GB18030/GBK, and ISO 2022 code
// extensions with escape sequences (Japanese JIS X 0201/0208/0212, Korean
// KS X 1001, Chinese GB 2312, and ISO 8859 parts in G1).
package charset

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// set is one coded character set that can be designated to G0 or G1.
type set int

const (
	setNone     set = iota
	setASCII        // ISO-IR 6
	setRomaji       // JIS X 0201 Romaji (G0)
	setKatakana     // JIS X 0201 Katakana (G1)
	setJIS0208      // JIS X 0208 (G0, two bytes)
	setJIS0212      // JIS X 0212 (G0, two bytes)
	setKSX1001      // KS X 1001 (G1, two bytes)
	setGB2312       // GB 2312 (G1, two bytes)
	setSingle       // an ISO 8859 part in G1 (see Decoder.g1map)
)

// term describes one Defined Term of Specific Character Set.
type term struct {
	g0    set
	g1    set
	g1map *charmap.Charmap
	whole encoding.Encoding // for terms that do not use code extensions
}

var terms = map[string]term{
	"":           {g0: setASCII},
	"ISO_IR 6":   {g0: setASCII},
	"ISO_IR 100": {g0: setASCII, g1: setSingle, g1map: charmap.ISO8859_1},
	"ISO_IR 101": {g0: setASCII, g1: setSingle, g1map: charmap.ISO8859_2},
	"ISO_IR 109": {g0: setASCII, g1: setSingle, g1map: charmap.ISO8859_3},
	"ISO_IR 110": {g0: setASCII, g1: setSingle, g1map: charmap.ISO8859_4},
	"ISO_IR 144": {g0: setASCII, g1: setSingle, g1map: charmap.ISO8859_5},
	"ISO_IR 127": {g0: setASCII, g1: setSingle, g1map: charmap.ISO8859_6},
	"ISO_IR 126": {g0: setASCII, g1: setSingle, g1map: charmap.ISO8859_7},
	"ISO_IR 138": {g0: setASCII, g1: setSingle, g1map: charmap.ISO8859_8},
	"ISO_IR 148": {g0: setASCII, g1: setSingle, g1map: charmap.ISO8859_9},
	"ISO_IR 203": {g0: setASCII, g1: setSingle, g1map: charmap.ISO8859_15},
	"ISO_IR 166": {g0: setASCII, g1: setSingle, g1map: charmap.Windows874},
	"ISO_IR 13":  {g0: setRomaji, g1: setKatakana},
	"ISO_IR 192": {whole: encoding.Nop},
	"GB18030":    {whole: simplifiedchinese.GB18030},
	"GBK":        {whole: simplifiedchinese.GBK},
	// Code extension terms (ISO 2022).
	"ISO 2022 IR 6":   {g0: setASCII},
	"ISO 2022 IR 100": {g0: setASCII, g1: setSingle, g1map: charmap.ISO8859_1},
	"ISO 2022 IR 101": {g0: setASCII, g1: setSingle, g1map: charmap.ISO8859_2},
	"ISO 2022 IR 109": {g0: setASCII, g1: setSingle, g1map: charmap.ISO8859_3},
	"ISO 2022 IR 110": {g0: setASCII, g1: setSingle, g1map: charmap.ISO8859_4},
	"ISO 2022 IR 144": {g0: setASCII, g1: setSingle, g1map: charmap.ISO8859_5},
	"ISO 2022 IR 127": {g0: setASCII, g1: setSingle, g1map: charmap.ISO8859_6},
	"ISO 2022 IR 126": {g0: setASCII, g1: setSingle, g1map: charmap.ISO8859_7},
	"ISO 2022 IR 138": {g0: setASCII, g1: setSingle, g1map: charmap.ISO8859_8},
	"ISO 2022 IR 148": {g0: setASCII, g1: setSingle, g1map: charmap.ISO8859_9},
	"ISO 2022 IR 203": {g0: setASCII, g1: setSingle, g1map: charmap.ISO8859_15},
	"ISO 2022 IR 166": {g0: setASCII, g1: setSingle, g1map: charmap.Windows874},
	"ISO 2022 IR 13":  {g0: setRomaji, g1: setKatakana},
	"ISO 2022 IR 87":  {g0: setJIS0208},
	"ISO 2022 IR 159": {g0: setJIS0212},
	"ISO 2022 IR 149": {g1: setKSX1001},
	"ISO 2022 IR 58":  {g1: setGB2312},
}

// Decoder turns the bytes of a text value into UTF-8 according to one
// Specific Character Set (0008,0005) value list.
type Decoder struct {
	whole    encoding.Encoding // non-nil: no code extensions, one encoding for everything
	iso2022  bool
	g0       set
	g1       set
	g1map    *charmap.Charmap
	fallback bool // default repertoire: accept UTF-8, else Latin-1
}

// New returns the decoder for the values of Specific Character Set, and the
// terms it does not know (decoded as the default repertoire).
func New(values []string) (*Decoder, []string) {
	d := &Decoder{g0: setASCII, fallback: true}
	var unknown []string
	if len(values) == 0 {
		return d, nil
	}
	first := strings.TrimSpace(values[0])
	t, ok := terms[first]
	if !ok {
		unknown = append(unknown, first)
		t = terms[""]
	}
	if len(values) == 1 || t.whole != nil {
		if t.whole != nil {
			d.whole, d.fallback = t.whole, false
			return d, unknown
		}
	}
	if t.g0 != setNone {
		d.g0 = t.g0
	}
	d.g1, d.g1map = t.g1, t.g1map
	if d.g1 != setNone {
		d.fallback = false
	}
	d.iso2022 = len(values) > 1 || strings.HasPrefix(first, "ISO 2022")
	for _, v := range values[1:] {
		v = strings.TrimSpace(v)
		if _, ok := terms[v]; !ok {
			unknown = append(unknown, v)
		}
	}
	return d, unknown
}

// Default is the decoder of the default repertoire.
func Default() *Decoder { return &Decoder{g0: setASCII, fallback: true} }

func ascii(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 || c == 0x1b {
			return false
		}
	}
	return true
}

// Decode decodes one value. pn selects Person Name rules: the initial
// character sets are re-activated at each '^' and '=' delimiter.
func (d *Decoder) Decode(b []byte, pn bool) string {
	if ascii(b) {
		return string(b)
	}
	if d.whole != nil {
		if d.whole == encoding.Nop {
			return strings.ToValidUTF8(string(b), "\uFFFD")
		}
		s, err := d.whole.NewDecoder().Bytes(b)
		if err != nil {
			return latin1(b)
		}
		return string(s)
	}
	if !d.iso2022 {
		if d.fallback {
			if utf8.Valid(b) {
				return string(b)
			}
			return latin1(b)
		}
		if d.g1 == setSingle {
			s, err := d.g1map.NewDecoder().Bytes(b)
			if err != nil {
				return latin1(b)
			}
			return string(s)
		}
	}
	return d.decode2022(b, pn)
}

func latin1(b []byte) string {
	s, _ := charmap.ISO8859_1.NewDecoder().Bytes(b) // never fails
	return string(s)
}

// decode2022 walks the value, switching G0 and G1 at escape sequences.
func (d *Decoder) decode2022(b []byte, pn bool) string {
	var out strings.Builder
	out.Grow(len(b) * 2)
	g0, g1, g1map := d.g0, d.g1, d.g1map
	var run []byte // pending multi-byte run
	runSet := setNone
	flush := func() {
		if len(run) == 0 {
			return
		}
		var dec *encoding.Decoder
		switch runSet {
		case setJIS0208, setJIS0212:
			dec = japanese.EUCJP.NewDecoder()
		case setKSX1001:
			dec = korean.EUCKR.NewDecoder()
		case setGB2312:
			dec = simplifiedchinese.GBK.NewDecoder()
		}
		if dec != nil {
			if s, err := dec.Bytes(run); err == nil {
				out.Write(s)
			} else {
				out.WriteString(strings.Repeat("\uFFFD", len(run)/2))
			}
		}
		run = run[:0]
		runSet = setNone
	}
	reset := func() {
		flush()
		g0, g1, g1map = d.g0, d.g1, d.g1map
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == 0x1b {
			flush()
			n, s0, s1, m := escape(b[i+1:])
			if n == 0 {
				continue // unknown escape: drop the ESC byte
			}
			if s0 != setNone {
				g0 = s0
			}
			if s1 != setNone {
				g1, g1map = s1, m
			}
			i += n
			continue
		}
		if c == '\r' || c == '\n' || c == '\t' || c == '\f' || (pn && (c == '^' || c == '=')) {
			reset()
			out.WriteByte(c)
			continue
		}
		if c < 0x80 {
			switch g0 {
			case setJIS0208, setJIS0212:
				if c >= 0x21 && c <= 0x7e && i+1 < len(b) && b[i+1] >= 0x21 && b[i+1] <= 0x7e {
					if runSet != g0 {
						flush()
						runSet = g0
					}
					if g0 == setJIS0212 {
						run = append(run, 0x8f)
					}
					run = append(run, c|0x80, b[i+1]|0x80)
					i++
					continue
				}
			}
			flush()
			out.WriteByte(c)
			continue
		}
		switch g1 {
		case setKSX1001, setGB2312:
			if i+1 < len(b) && b[i+1] >= 0x80 {
				if runSet != g1 {
					flush()
					runSet = g1
				}
				run = append(run, c, b[i+1])
				i++
				continue
			}
			flush()
			out.WriteRune(utf8.RuneError)
		case setKatakana:
			flush()
			if c >= 0xa1 && c <= 0xdf {
				out.WriteRune(rune(0xff61 + int(c) - 0xa1))
			} else {
				out.WriteRune(utf8.RuneError)
			}
		case setSingle:
			flush()
			out.WriteRune(g1map.DecodeByte(c))
		default:
			flush()
			out.WriteRune(rune(c)) // Latin-1 as a last resort
		}
	}
	flush()
	return out.String()
}

// escape reads an escape sequence after ESC and returns its length and the
// sets it designates; n == 0 for an unknown sequence.
func escape(b []byte) (n int, g0, g1 set, m *charmap.Charmap) {
	has := func(s string) bool { return len(b) >= len(s) && string(b[:len(s)]) == s }
	switch {
	case has("(B"):
		return 2, setASCII, setNone, nil
	case has("(J"):
		return 2, setRomaji, setNone, nil
	case has(")I"):
		return 2, setNone, setKatakana, nil
	case has("$B"), has("$@"):
		return 2, setJIS0208, setNone, nil
	case has("$(D"):
		return 3, setJIS0212, setNone, nil
	case has("$)C"):
		return 3, setNone, setKSX1001, nil
	case has("$)A"):
		return 3, setNone, setGB2312, nil
	}
	if len(b) >= 2 && b[0] == '-' {
		var cm *charmap.Charmap
		switch b[1] {
		case 'A':
			cm = charmap.ISO8859_1
		case 'B':
			cm = charmap.ISO8859_2
		case 'C':
			cm = charmap.ISO8859_3
		case 'D':
			cm = charmap.ISO8859_4
		case 'L':
			cm = charmap.ISO8859_5
		case 'G':
			cm = charmap.ISO8859_6
		case 'F':
			cm = charmap.ISO8859_7
		case 'H':
			cm = charmap.ISO8859_8
		case 'M':
			cm = charmap.ISO8859_9
		case 'b':
			cm = charmap.ISO8859_15
		case 'T':
			cm = charmap.Windows874
		}
		if cm != nil {
			return 2, setNone, setSingle, cm
		}
	}
	return 0, setNone, setNone, nil
}
