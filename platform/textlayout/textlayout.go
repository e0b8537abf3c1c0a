// Package textlayout holds where the words of a document's pages are: the
// layout sidecar the OCR service writes next to the text sidecar, so that
// readers can see a table's columns and rows, which plain text loses (a
// medication list read column by column puts a drug and its dose on
// different lines).
//
// A page holds its lines in the reading order of the text sidecar (the
// lines of pdftotext's reading order for pages with their own text layer,
// Tesseract's lines for OCRed pages), each line its words with their boxes
// in PDF points, origin at the top left of the page as shown, y down.
//
// The sidecar holds document text: it is patient data, never logged.
package textlayout

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Version of the sidecar's format.
const Version = 1

// Layout is the words of every page of a document.
type Layout struct {
	Version int    `json:"version"`
	Pages   []Page `json:"pages"`
}

// Sources of a page's words (Page.Source).
const (
	// SourcePdftotext: the page's own text layer, read by poppler's
	// pdftotext.
	SourcePdftotext = "pdftotext"
	// SourceTesseract: words recognised by Tesseract (boxes less regular
	// than a text layer's: baselines wander, a word may be missing).
	SourceTesseract = "tesseract"
)

// Page is one page: its size and its lines.
type Page struct {
	Number int     `json:"number"` // 1-based
	Width  float64 `json:"width"`  // points, as shown
	Height float64 `json:"height"` // points, as shown
	Source string  `json:"source"` // Source* constant
	Lines  []Line  `json:"lines"`
}

// Line is one line of the source, its words left to right.
type Line struct {
	// Block numbers the source's blocks on the page (pdftotext's flows,
	// Tesseract's paragraphs): a new block starts a new paragraph.
	Block int    `json:"block"`
	Words []Word `json:"words"`
}

// Word is one word and its box.
type Word struct {
	Text string
	Box  Box
}

// Box is a rectangle in points, origin top left, y down: X0 < X1, Y0 < Y1.
type Box struct {
	X0, Y0, X1, Y1 float64
}

// W is the box's width.
func (b Box) W() float64 { return b.X1 - b.X0 }

// H is the box's height.
func (b Box) H() float64 { return b.Y1 - b.Y0 }

// CX is the box's horizontal centre.
func (b Box) CX() float64 { return (b.X0 + b.X1) / 2 }

// CY is the box's vertical centre.
func (b Box) CY() float64 { return (b.Y0 + b.Y1) / 2 }

// Union is the smallest box holding b and c.
func (b Box) Union(c Box) Box {
	return Box{math.Min(b.X0, c.X0), math.Min(b.Y0, c.Y0), math.Max(b.X1, c.X1), math.Max(b.Y1, c.Y1)}
}

// MarshalJSON writes a word as ["text", x0, y0, x1, y1], coordinates to
// a hundredth of a point: a layout has tens of thousands of words.
func (w Word) MarshalJSON() ([]byte, error) {
	t, err := json.Marshal(w.Text)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(t)+40)
	b = append(b, '[')
	b = append(b, t...)
	for _, v := range [4]float64{w.Box.X0, w.Box.Y0, w.Box.X1, w.Box.Y1} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			v = 0
		}
		b = append(b, ',')
		b = strconv.AppendFloat(b, math.Round(v*100)/100, 'f', -1, 64)
	}
	return append(b, ']'), nil
}

// UnmarshalJSON reads a word written by MarshalJSON.
func (w *Word) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("word: %w", err)
	}
	if len(raw) != 5 {
		return errors.New("word: want [text, x0, y0, x1, y1]")
	}
	if err := json.Unmarshal(raw[0], &w.Text); err != nil {
		return fmt.Errorf("word text: %w", err)
	}
	var v [4]float64
	for i := range v {
		if err := json.Unmarshal(raw[i+1], &v[i]); err != nil {
			return fmt.Errorf("word box: %w", err)
		}
	}
	w.Box = Box{v[0], v[1], v[2], v[3]}
	return nil
}

// Words lists the page's words in reading order.
func (p Page) Words() []Word {
	n := 0
	for _, l := range p.Lines {
		n += len(l.Words)
	}
	out := make([]Word, 0, n)
	for _, l := range p.Lines {
		out = append(out, l.Words...)
	}
	return out
}

// Text is the page's plain text as its source prints it: pdftotext's plain
// output for SourcePdftotext pages (PdftotextText), else a line per line,
// words joined by a space and a blank line between blocks, as Tesseract's
// text output.
func (p Page) Text() string {
	if p.Source == SourcePdftotext {
		return p.PdftotextText()
	}
	var b strings.Builder
	for i, l := range p.Lines {
		if i > 0 && l.Block != p.Lines[i-1].Block {
			b.WriteByte('\n')
		}
		for k, w := range l.Words {
			if k > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(w.Text)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// Page returns the page numbered n, or false.
func (l *Layout) Page(n int) (Page, bool) {
	for _, p := range l.Pages {
		if p.Number == n {
			return p, true
		}
	}
	return Page{}, false
}

// Decode reads a layout sidecar; it checks the version and drops words
// whose boxes are not finite or not ordered (a reader never has to).
func Decode(data []byte) (*Layout, error) {
	var l Layout
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("layout: %w", err)
	}
	if l.Version != Version {
		return nil, fmt.Errorf("layout: version %d, want %d", l.Version, Version)
	}
	for i := range l.Pages {
		p := &l.Pages[i]
		if !finite(p.Width, p.Height) || p.Width < 0 || p.Height < 0 {
			p.Width, p.Height = 0, 0
		}
		for k := range p.Lines {
			ws := p.Lines[k].Words[:0]
			for _, w := range p.Lines[k].Words {
				b := w.Box
				if finite(b.X0, b.Y0, b.X1, b.Y1) && b.X0 <= b.X1 && b.Y0 <= b.Y1 && w.Text != "" {
					ws = append(ws, w)
				}
			}
			p.Lines[k].Words = ws
		}
	}
	return &l, nil
}

func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1e7 {
			return false
		}
	}
	return true
}
