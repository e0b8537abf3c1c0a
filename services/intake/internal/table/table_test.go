package table

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/handoffmed/handoff/platform/textlayout"
)

// monospace lays text out as a printer with a fixed-width font would: a
// character 6 points wide, lines 14 points apart, words 10 points high.
// Each text line is one source line (one block per blank-line-separated
// paragraph), as Tesseract gives them.
func monospace(text string) textlayout.Page {
	p := textlayout.Page{Number: 1, Width: 612, Height: 792, Source: textlayout.SourceTesseract}
	block := 0
	for i, l := range strings.Split(strings.Trim(text, "\n"), "\n") {
		if strings.TrimSpace(l) == "" {
			block++
			continue
		}
		var line textlayout.Line
		line.Block = block
		rs := []rune(l)
		for x := 0; x < len(rs); {
			if rs[x] == ' ' {
				x++
				continue
			}
			e := x
			for e < len(rs) && rs[e] != ' ' {
				e++
			}
			y := 72 + 14*float64(i)
			line.Words = append(line.Words, textlayout.Word{Text: string(rs[x:e]),
				Box: textlayout.Box{X0: 36 + 6*float64(x), Y0: y, X1: 36 + 6*float64(e), Y1: y + 10}})
			x = e
		}
		p.Lines = append(p.Lines, line)
	}
	return p
}

func TestMedicationTableWithWrappedCells(t *testing.T) {
	p := monospace(`
Current medications

Medication      Strength /   How I take it       What it is for    Taking since
                dose
Apixaban        5 mg         1 tablet twice a    blood clots       06/2023
                             day
Metoprolol      25 mg        1 tablet every      blood pressure    2019
succinate ER                 morning
Fish oil                     2 capsules daily    heart             2021

Allergies: penicillin (hives)
`)
	got := Read(p)
	if len(got.Tables) != 1 {
		t.Fatalf("got %d tables, want 1; text:\n%s", len(got.Tables), got.Text)
	}
	tb := got.Tables[0]
	want := &Table{
		Header: []string{"Medication", "Strength / dose", "How I take it", "What it is for", "Taking since"},
		Rows: [][]string{
			{"Apixaban", "5 mg", "1 tablet twice a day", "blood clots", "06/2023"},
			{"Metoprolol succinate ER", "25 mg", "1 tablet every morning", "blood pressure", "2019"},
			{"Fish oil", "", "2 capsules daily", "heart", "2021"},
		},
		RowLines: []int{2, 2, 1},
	}
	if diff := cmp.Diff(want, &tb, cmpTable); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
	wantText := "Current medications\n\n" +
		"Medication | Strength / dose | How I take it | What it is for | Taking since\n" +
		"Apixaban | 5 mg | 1 tablet twice a day | blood clots | 06/2023\n" +
		"Metoprolol succinate ER | 25 mg | 1 tablet every morning | blood pressure | 2019\n" +
		"Fish oil |  | 2 capsules daily | heart | 2021\n" +
		"\nAllergies: penicillin (hives)\n"
	if got.Text != wantText {
		t.Errorf("text:\n%s", cmp.Diff(wantText, got.Text))
	}
	if got, want := tb.Cell(0, "strength", "dose"), "5 mg"; got != want {
		t.Errorf("cell: got %q, want %q", got, want)
	}
}

// cmpTable compares what a reader uses: header, rows and row heights.
var cmpTable = cmp.Comparer(func(a, b *Table) bool {
	return cmp.Equal(a.Header, b.Header) && cmp.Equal(a.Rows, b.Rows) && cmp.Equal(a.RowLines, b.RowLines)
})

func TestLabTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		page string
		want *Table
	}{
		{
			name: "compact rows, a sparse flag column, right-aligned values",
			page: `
COMPLETE BLOOD COUNT                 Collected: 10/01/2026
Test          Result  Flag  Units        Reference Interval
WBC              6.1        x10E3/uL     3.4-10.8
RBC              5.9  H     x10E6/uL     4.14-5.80
HGB             13.2        g/dL         13.0-17.7
HCT             40.1        %            37.5-51.0
PLT              150  L     x10E3/uL     150-450
`,
			want: &Table{
				Header: []string{"Test", "Result", "Flag", "Units", "Reference Interval"},
				Rows: [][]string{
					{"WBC", "6.1", "", "x10E3/uL", "3.4-10.8"},
					{"RBC", "5.9", "H", "x10E6/uL", "4.14-5.80"},
					{"HGB", "13.2", "", "g/dL", "13.0-17.7"},
					{"HCT", "40.1", "", "%", "37.5-51.0"},
					{"PLT", "150", "L", "x10E3/uL", "150-450"},
				},
				RowLines: []int{1, 1, 1, 1, 1},
			},
		},
		{
			name: "two-line header, a wrapped test name",
			page: `
                               Reference
Test               Result     Interval     Units
Hemoglobin A1c     5.9        4.8-5.6      %
with eAG
Glucose            101        65-99        mg/dL
`,
			want: &Table{
				Header: []string{"Test", "Result", "Reference Interval", "Units"},
				Rows: [][]string{
					{"Hemoglobin A1c with eAG", "5.9", "4.8-5.6", "%"},
					{"Glucose", "101", "65-99", "mg/dL"},
				},
				RowLines: []int{2, 1},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Read(monospace(tc.page))
			if len(got.Tables) != 1 {
				t.Fatalf("got %d tables, want 1; text:\n%s", len(got.Tables), got.Text)
			}
			if diff := cmp.Diff(tc.want, &got.Tables[0], cmpTable); diff != "" {
				t.Errorf("table (-want +got):\n%s\ntext:\n%s", diff, got.Text)
			}
		})
	}
}

func TestNoTable(t *testing.T) {
	for _, tc := range []struct{ name, page string }{
		{"two columns of prose", `
The LinnSequencer is a polyphonic      and sixteen outputs. Every track
sequencer with thirty-two tracks       can be transposed, looped and
that record from any MIDI keyboard,    edited note by note, and songs
with sixteen channels of input          are saved to a floppy disk.
`},
		{"a letter", `
Dear Dr. Lee,

Thank you for seeing Mrs. Doe today. She has been taking apixaban 5 mg
twice daily since June 2023 for atrial fibrillation, and metoprolol.
Please call me with any questions.
`},
		{"a form of two columns", `
Patient:        Jane Doe
Date of birth:  03/14/1961
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := monospace(tc.page)
			got := Read(p)
			if len(got.Tables) != 0 {
				t.Errorf("got %d tables, want none: %+v", len(got.Tables), got.Tables)
			}
			if got.Text != p.Text() {
				t.Errorf("text changed:\n%s", cmp.Diff(p.Text(), got.Text))
			}
		})
	}
}

func TestHeaderIndex(t *testing.T) {
	tb := Table{Header: []string{"Medication", "Strength/dose", "Directions", "Start Date"}}
	for _, tc := range []struct {
		names []string
		want  int
	}{
		{[]string{"dose"}, 1},
		{[]string{"start date", "since"}, 3},
		{[]string{"date"}, 3},
		{[]string{"med"}, -1},
		{[]string{"unit", "directions"}, 2},
	} {
		if got := tb.HeaderIndex(tc.names...); got != tc.want {
			t.Errorf("HeaderIndex(%q): got %d, want %d", tc.names, got, tc.want)
		}
	}
}

func FuzzRead(f *testing.F) {
	f.Add("Medication  Dose  Since\nApixaban    5 mg  2023\nAspirin     81 mg 2019\n", 6.0, 14.0)
	f.Add("a b\n\nc    d\ne    f\n", 1.0, 0.5)
	f.Add("", 0.0, 0.0)
	f.Fuzz(func(t *testing.T, text string, cw, lh float64) {
		p := textlayout.Page{Source: textlayout.SourcePdftotext}
		for i, l := range strings.Split(text, "\n") {
			var line textlayout.Line
			line.Block = i % 3
			for k, w := range strings.Fields(l) {
				x := float64(k) * cw * float64(len(w)+1)
				y := float64(i) * lh
				line.Words = append(line.Words, textlayout.Word{Text: w, Box: textlayout.Box{X0: x, Y0: y, X1: x + cw*float64(len(w)), Y1: y + lh}})
			}
			p.Lines = append(p.Lines, line)
		}
		got := Read(p)
		for _, tb := range got.Tables {
			for _, r := range tb.Rows {
				if len(r) != len(tb.Columns) {
					t.Fatalf("row of %d cells in a table of %d columns", len(r), len(tb.Columns))
				}
			}
		}
		_ = got.Text
	})
}

// TestGroupLabelsAndContinuation: a group label across the columns is a
// row of its own; a part of the table set off by blank lines gets the
// header of the part above.
func TestGroupLabelsAndContinuation(t *testing.T) {
	got := Read(monospace(`
Test Name                    In Range   Out Of Range   Reference Range
CBC (INCLUDES DIFF/PLT)
WHITE BLOOD CELL COUNT       6.4                       3.8-10.8 Thousand/uL
HEMOGLOBIN                              10.1 L         11.7-15.5 g/dL
COMPREHENSIVE METABOLIC PANEL WITH EGFR
SODIUM                       139                       135-146 mmol/L


GLUCOSE                      94                        65-99 mg/dL
POTASSIUM                    4.4                       3.5-5.3 mmol/L
`))
	if len(got.Tables) != 2 {
		t.Fatalf("got %d tables, want 2:\n%s", len(got.Tables), got.Text)
	}
	want := []*Table{{
		Header: []string{"Test Name", "In Range", "Out Of Range", "Reference Range"},
		Rows: [][]string{
			{"CBC (INCLUDES DIFF/PLT)", "", "", ""},
			{"WHITE BLOOD CELL COUNT", "6.4", "", "3.8-10.8 Thousand/uL"},
			{"HEMOGLOBIN", "", "10.1 L", "11.7-15.5 g/dL"},
			{"COMPREHENSIVE METABOLIC PANEL WITH EGFR", "", "", ""},
			{"SODIUM", "139", "", "135-146 mmol/L"},
		},
		RowLines: []int{1, 1, 1, 1, 1},
	}, {
		Header:   []string{"Test Name", "In Range", "Reference Range"},
		Rows:     [][]string{{"GLUCOSE", "94", "65-99 mg/dL"}, {"POTASSIUM", "4.4", "3.5-5.3 mmol/L"}},
		RowLines: []int{1, 1},
	}}
	for i := range want {
		if diff := cmp.Diff(want[i], &got.Tables[i], cmpTable); diff != "" {
			t.Errorf("table %d (-want +got):\n%s", i, diff)
		}
	}
	if !got.Tables[1].Continued || strings.Count(got.Text, "Test Name") != 1 {
		t.Errorf("the continued part prints the header again:\n%s", got.Text)
	}
}

// BenchmarkRead reads a page of a long table: 60 rows of six columns.
func BenchmarkRead(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("Test                 Result  Flag  Units      Reference      Collected\n")
	for i := range 60 {
		sb.WriteString("Hemoglobin A1c       5.9     H     %          4.8-5.6        10/0" + string(rune('1'+i%9)) + "/2026\n")
	}
	p := monospace(sb.String())
	b.ReportAllocs()
	for b.Loop() {
		Read(p)
	}
}

// FuzzReadBoxes reads pages of words at arbitrary places and sizes (five
// bytes a word: x, y, width, height, a letter or digit, with a line break
// every eighth word): no panics, and every row has a cell per column.
func FuzzReadBoxes(f *testing.F) {
	f.Add([]byte("\x10\x10\x20\x0aA\x40\x10\x10\x0a5\x10\x18\x20\x0aB\x40\x18\x10\x0a6\x10\x20\x20\x0aC\x40\x20\x10\x0a7"))
	f.Add([]byte("\x00\x00\x00\x00\x00\xff\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := textlayout.Page{Source: textlayout.SourceTesseract}
		var line textlayout.Line
		for k := 0; k+5 <= len(data); k += 5 {
			b := data[k : k+5]
			x, y := float64(b[0])*3, float64(b[1])*2
			text := string(rune('0' + b[4]%43))
			line.Words = append(line.Words, textlayout.Word{Text: text,
				Box: textlayout.Box{X0: x, Y0: y, X1: x + float64(b[2]) + 0.5, Y1: y + float64(b[3]%24) + 0.5}})
			if k/5%8 == 7 {
				p.Lines = append(p.Lines, line)
				line = textlayout.Line{Block: len(p.Lines) % 3}
			}
		}
		p.Lines = append(p.Lines, line)
		got := Read(p)
		for _, tb := range got.Tables {
			if tb.Header != nil && len(tb.Header) != len(tb.Columns) {
				t.Fatalf("header of %d cells in a table of %d columns", len(tb.Header), len(tb.Columns))
			}
			for _, r := range tb.Rows {
				if len(r) != len(tb.Columns) {
					t.Fatalf("row of %d cells in a table of %d columns", len(r), len(tb.Columns))
				}
			}
		}
	})
}
