package table

import (
	"strings"

	"github.com/handoffmed/handoff/platform/textlayout"
)

// Sep separates the cells of a rendered row.
const Sep = " | "

// Text renders the table: the header (when there is one, and printed on
// this part of the table) and each row on
// a line of its own, cells separated by Sep (empty cells kept, so that a
// cell's place says its column; trailing empty cells dropped).
func (t *Table) Text() string {
	var b strings.Builder
	row := func(cells []string) {
		n := len(cells)
		for n > 0 && strings.TrimSpace(cells[n-1]) == "" {
			n--
		}
		b.WriteString(strings.Join(cells[:n], Sep))
		b.WriteByte('\n')
	}
	if t.Header != nil && !t.Continued {
		row(t.Header)
	}
	for _, r := range t.Rows {
		row(r)
	}
	return b.String()
}

// render is the page's text with its tables in place: the source's lines
// in their reading order, as the source's text prints them, except the
// words of a table, which give way to the table's rendering where its
// first word is read. Two columns of prose, a letter head, everything that
// is no table reads as it did.
func render(p textlayout.Page, words []word, tables []Table) string {
	if len(tables) == 0 {
		return p.Text()
	}
	// valid is collect's filter: the words it skipped belong to no table.
	valid := func(w textlayout.Word) bool {
		b := w.Box
		return w.Text != "" && finite(b.X0, b.Y0, b.X1, b.Y1) && b.X1 >= b.X0 && b.Y1 >= b.Y0
	}
	// The block each table ends in, to part it from what follows as the
	// source parts its blocks (a blank line).
	lastBlock := make([]int, len(tables))
	k := 0
	for _, l := range p.Lines {
		for _, w := range l.Words {
			if valid(w) {
				if t := words[k].table; t > 0 {
					lastBlock[t-1] = l.Block
				}
				k++
			}
		}
	}
	var b strings.Builder
	block := -1 // block of the last line written
	write := func(text string, first, last int) {
		if b.Len() > 0 && first != block && !strings.HasSuffix(b.String(), "\n\n") {
			b.WriteByte('\n')
		}
		b.WriteString(text)
		block = last
	}
	emitted := make([]bool, len(tables))
	run := textlayout.Page{Number: p.Number, Width: p.Width, Height: p.Height, Source: p.Source}
	flush := func() {
		if len(run.Lines) > 0 {
			write(run.Text(), run.Lines[0].Block, run.Lines[len(run.Lines)-1].Block)
			run.Lines = nil
		}
	}
	k = 0
	for _, l := range p.Lines {
		var keep []textlayout.Word
		for _, w := range l.Words {
			if !valid(w) {
				keep = append(keep, w)
				continue
			}
			t := words[k].table
			k++
			if t == 0 {
				keep = append(keep, w)
				continue
			}
			if !emitted[t-1] {
				if len(keep) > 0 {
					run.Lines = append(run.Lines, textlayout.Line{Block: l.Block, Words: keep})
					keep = nil
				}
				flush()
				write(tables[t-1].Text(), l.Block, lastBlock[t-1])
				emitted[t-1] = true
			}
		}
		if len(keep) > 0 {
			run.Lines = append(run.Lines, textlayout.Line{Block: l.Block, Words: keep})
		}
	}
	flush()
	return b.String()
}

// HeaderIndex is the column whose header names one of names: a name
// matches a header that is it, or else one that holds it as whole words,
// case-insensitive ("dose" matches "Strength / dose"; "code" prefers
// "Code" to "Code System"). Names are tried in order; -1 when none
// matches or the table has no header.
func (t *Table) HeaderIndex(names ...string) int {
	for _, n := range names {
		n = strings.ToLower(n)
		for i, h := range t.Header {
			if normHeader(h) == n {
				return i
			}
		}
		for i, h := range t.Header {
			if strings.Contains(" "+normHeader(h)+" ", " "+n+" ") {
				return i
			}
		}
	}
	return -1
}

// normHeader lower-cases a header and turns punctuation into spaces.
func normHeader(h string) string {
	h = strings.ToLower(h)
	h = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 0x7f {
			return r
		}
		return ' '
	}, h)
	return strings.Join(strings.Fields(h), " ")
}
