package textlayout

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ReadPoppler reads the output of poppler's `pdftotext -bbox-layout`: an
// XHTML document of pages, flows, blocks, lines and words with their boxes
// in points (origin top left), in the reading order pdftotext's plain text
// follows. Each flow becomes a Block. Anything else in the input is
// skipped: the reader never fails, it returns what it could read.
func ReadPoppler(data []byte) []Page {
	var (
		pages []Page
		page  *Page
		line  *Line
		flow  = -1
		word  *Word
		text  []byte
	)
	for len(data) > 0 {
		lt := bytes.IndexByte(data, '<')
		if lt < 0 {
			break
		}
		if word != nil {
			text = append(text, data[:lt]...)
		}
		data = data[lt+1:]
		gt := bytes.IndexByte(data, '>')
		if gt < 0 {
			break
		}
		tag := data[:gt]
		data = data[gt+1:]
		closing := len(tag) > 0 && tag[0] == '/'
		if closing {
			tag = tag[1:]
		}
		name, attrs := tagName(tag)
		switch {
		case string(name) == "word" && !closing && line != nil:
			word = &Word{Box: Box{attrFloat(attrs, "xMin=\""), attrFloat(attrs, "yMin=\""),
				attrFloat(attrs, "xMax=\""), attrFloat(attrs, "yMax=\"")}}
			text = text[:0]
		case string(name) == "word" && word != nil && line != nil:
			word.Text = unescape(text)
			if word.Text != "" {
				line.Words = append(line.Words, *word)
			}
			word = nil
		case string(name) == "line" && !closing && page != nil:
			page.Lines = append(page.Lines, Line{Block: max(flow, 0)})
			line, word = &page.Lines[len(page.Lines)-1], nil
		case string(name) == "line":
			if line != nil && page != nil && len(line.Words) == 0 {
				page.Lines = page.Lines[:len(page.Lines)-1]
			}
			line, word = nil, nil
		case string(name) == "page" && !closing:
			pages = append(pages, Page{Number: len(pages) + 1, Source: SourcePdftotext,
				Width: attrFloat(attrs, "width=\""), Height: attrFloat(attrs, "height=\"")})
			page, line, word, flow = &pages[len(pages)-1], nil, nil, -1
		case string(name) == "page":
			page, line, word = nil, nil, nil
		case string(name) == "flow" && !closing:
			flow++
		}
	}
	return pages
}

// tagName splits "word xMin=..." into its name and the attribute text.
func tagName(tag []byte) (name, attrs []byte) {
	i := bytes.IndexAny(tag, " \t\r\n/")
	if i < 0 {
		return tag, nil
	}
	return tag[:i], tag[i:]
}

// attrFloat reads the number of attribute name (given with its `="`, as
// `xMin="`) from attrs: 0 when absent or not a finite number.
func attrFloat(attrs []byte, name string) float64 {
	for {
		i := bytes.Index(attrs, []byte(name))
		if i < 0 {
			return 0
		}
		// The name must start an attribute ("yMin" is not "Min").
		if i > 0 && attrs[i-1] != ' ' && attrs[i-1] != '\t' && attrs[i-1] != '\n' && attrs[i-1] != '\r' {
			attrs = attrs[i+len(name):]
			continue
		}
		v := attrs[i+len(name):]
		end := bytes.IndexByte(v, '"')
		if end < 0 {
			return 0
		}
		f, err := strconv.ParseFloat(string(v[:end]), 64)
		if err != nil || !finite(f) {
			return 0
		}
		return f
	}
}

func unescape(b []byte) string {
	if bytes.IndexByte(b, '&') < 0 {
		return string(b)
	}
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`, "&apos;", "'", "&#39;", "'").Replace(string(b))
}

// PdftotextText is the text `pdftotext -enc UTF-8` prints for the page
// (without the form feed that ends it), rebuilt from the words that
// ReadPoppler read: one pass of pdftotext gives both the text sidecar and
// the layout. The rules are TextPage::dump's for the reading order: each
// line on its own line, a blank line after each flow, and a line ending in
// a hyphen joined to the next line of its flow without the hyphen; words
// of a line are separated by a space when the gap between them reaches
// spaceThreshold.
//
// The result is byte for byte pdftotext's on the documents this pipeline
// sees (fpdf, Chromium, LibreOffice, Word); it can differ in the spacing of
// rotated, right-to-left and sub- or superscript text, where pdftotext's
// decisions use glyph data the boxes do not carry.
func (p Page) PdftotextText() string {
	var b strings.Builder
	for i, l := range p.Lines {
		if i > 0 && l.Block != p.Lines[i-1].Block {
			b.WriteByte('\n')
		}
		space := spaceThreshold(l.Words)
		for k, w := range l.Words {
			if k > 0 && w.Box.X0-l.Words[k-1].Box.X1 >= space {
				b.WriteByte(' ')
			}
			t := w.Text
			if k < len(l.Words)-1 {
				b.WriteString(t)
				continue
			}
			if strings.HasSuffix(t, "-") && i+1 < len(p.Lines) && p.Lines[i+1].Block == l.Block {
				b.WriteString(t[:len(t)-1])
				continue
			}
			b.WriteString(t)
			b.WriteByte('\n')
		}
	}
	if len(p.Lines) > 0 {
		b.WriteByte('\n')
	}
	return b.String()
}

// spaceThreshold is the gap between two words of a line from which
// pdftotext puts a space between them (TextLine::coalesce): 0.03 of the
// font size, or, for a line of single letters spaced out, 1.3 times their
// smallest gap (at most 0.4 of the font size). The font size is taken as
// the first word's box height, which is a little larger.
func spaceThreshold(ws []Word) float64 {
	if len(ws) < 2 {
		return 0
	}
	fs := ws[0].Box.H()
	minSpace := 0.0
	if utf8.RuneCountInString(ws[0].Text) == 1 && utf8.RuneCountInString(ws[1].Text) == 1 {
		minSpace = ws[1].Box.X0 - ws[0].Box.X1
		for i := 2; i < len(ws) && minSpace > 0; i++ {
			if utf8.RuneCountInString(ws[i].Text) > 1 {
				minSpace = 0
			}
			if d := ws[i].Box.X0 - ws[i-1].Box.X1; d < minSpace {
				minSpace = d
			}
		}
	}
	if minSpace <= 0 {
		return 0.03 * fs
	}
	return min(1.3*minSpace, 0.4*fs)
}
