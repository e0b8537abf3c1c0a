package tess

import (
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Word is one recognised word, in pixels of the image given to Tesseract.
type Word struct {
	Text string
	Box  image.Rectangle
	Conf float64 // 0..100
}

// Line is one text line.
type Line struct {
	Box image.Rectangle
	// Angle is hOCR's textangle: 0, or 90/180/270 when the line's text is
	// turned (Tesseract found its orientation during recognition).
	Angle int
	// HasBaseline is set when hOCR gave the baseline (upright lines).
	HasBaseline   bool
	Slope, Offset float64
	Descenders    float64
	Par           int // paragraph index, for the plain text
	Words         []Word
}

// Page is Tesseract's result for one image.
type Page struct {
	Width, Height int
	Lines         []Line
}

var lineClasses = map[string]bool{"ocr_line": true, "ocr_header": true, "ocr_caption": true, "ocr_textfloat": true}

// ParseHOCR reads Tesseract's hOCR output.
func ParseHOCR(r io.Reader) (Page, error) {
	dec := xml.NewDecoder(r)
	dec.Strict = false
	dec.AutoClose = xml.HTMLAutoClose
	dec.Entity = xml.HTMLEntity
	var (
		pg    Page
		stack []string // class of each open element
		line  *Line
		word  *Word
		text  strings.Builder
		par   int
	)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Page{}, fmt.Errorf("hocr: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			class, title := "", ""
			for _, a := range t.Attr {
				switch a.Name.Local {
				case "class":
					class = a.Value
				case "title":
					title = a.Value
				}
			}
			stack = append(stack, class)
			props := parseTitle(title)
			switch {
			case class == "ocr_page":
				if b, ok := props.box(); ok {
					pg.Width, pg.Height = b.Dx(), b.Dy()
				}
			case class == "ocr_par":
				par++
			case lineClasses[class]:
				pg.Lines = append(pg.Lines, Line{Par: par})
				line = &pg.Lines[len(pg.Lines)-1]
				line.Box, _ = props.box()
				if v, ok := props["textangle"]; ok && len(v) == 1 {
					a, _ := strconv.Atoi(v[0])
					line.Angle = ((a % 360) + 360) % 360
				}
				if v, ok := props["baseline"]; ok && len(v) == 2 {
					s, err1 := strconv.ParseFloat(v[0], 64)
					o, err2 := strconv.ParseFloat(v[1], 64)
					if err1 == nil && err2 == nil {
						line.HasBaseline, line.Slope, line.Offset = true, s, o
					}
				}
				if v, ok := props["x_descenders"]; ok && len(v) == 1 {
					line.Descenders, _ = strconv.ParseFloat(v[0], 64)
				}
			case class == "ocrx_word" && line != nil:
				word = &Word{}
				word.Box, _ = props.box()
				if v, ok := props["x_wconf"]; ok && len(v) == 1 {
					word.Conf, _ = strconv.ParseFloat(v[0], 64)
				}
				text.Reset()
			}
		case xml.CharData:
			if word != nil {
				text.Write(t)
			}
		case xml.EndElement:
			if len(stack) == 0 {
				continue
			}
			class := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			switch {
			case class == "ocrx_word" && word != nil && line != nil:
				word.Text = strings.TrimSpace(text.String())
				if word.Text != "" {
					line.Words = append(line.Words, *word)
				}
				word = nil
			case lineClasses[class]:
				line = nil
			}
		}
	}
	// Drop empty lines.
	lines := pg.Lines[:0]
	for _, l := range pg.Lines {
		if len(l.Words) > 0 {
			lines = append(lines, l)
		}
	}
	pg.Lines = lines
	return pg, nil
}

type props map[string][]string

func parseTitle(s string) props {
	p := props{}
	for _, part := range strings.Split(s, ";") {
		f := strings.Fields(part)
		if len(f) == 0 {
			continue
		}
		p[f[0]] = f[1:]
	}
	return p
}

func (p props) box() (image.Rectangle, bool) {
	v, ok := p["bbox"]
	if !ok || len(v) != 4 {
		return image.Rectangle{}, false
	}
	var n [4]int
	for i, s := range v {
		x, err := strconv.Atoi(s)
		if err != nil {
			return image.Rectangle{}, false
		}
		n[i] = x
	}
	return image.Rect(n[0], n[1], n[2], n[3]), true
}

// Text is the page's plain text: lines joined by newlines, paragraphs by a
// blank line.
func (pg Page) Text() string {
	var b strings.Builder
	lastPar := -1
	for _, l := range pg.Lines {
		if lastPar >= 0 && l.Par != lastPar {
			b.WriteByte('\n')
		}
		lastPar = l.Par
		for i, w := range l.Words {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(w.Text)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// Confidence is the mean word confidence weighted by word length, or -1 for
// a page without words.
func (pg Page) Confidence() float64 {
	var sum, n float64
	for _, l := range pg.Lines {
		for _, w := range l.Words {
			k := float64(len([]rune(w.Text)))
			sum += w.Conf * k
			n += k
		}
	}
	if n == 0 {
		return -1
	}
	return sum / n
}

// Orientation is the clockwise turn, in degrees, that makes most of the
// page's text upright (the textangle of most characters).
func (pg Page) Orientation() int {
	var votes [4]int
	for _, l := range pg.Lines {
		for _, w := range l.Words {
			votes[(l.Angle/90)%4] += utf8.RuneCountInString(w.Text)
		}
	}
	best := 0
	for i := range votes {
		if votes[i] > votes[best] {
			best = i
		}
	}
	return best * 90
}
