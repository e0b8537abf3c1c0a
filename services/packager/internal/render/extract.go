package render

import (
	"io"
	"time"

	"github.com/handoffmed/handoff/platform/clinical"
)

// ExtractData is a readable extract of a portal export: a table of the
// facts read from it (results, medications, procedures), with where they
// come from.
type ExtractData struct {
	Title clinical.Label
	// Patient is the patient line (name and birth date).
	Patient string
	// Provenance says where the facts come from ("Extracted by Handoff
	// from …, a portal export dated …; the export itself is not included").
	Provenance string
	// Note is a line under the provenance (the results' window).
	Note string
	// Columns label the table's columns; Widths are their shares of the
	// page width (any positive numbers).
	Columns []clinical.Label
	Widths  []float64
	Groups  []ExtractGroup
	// Empty is said when there is no row.
	Empty     string
	Generated time.Time
}

// ExtractGroup is a titled run of rows (a lab panel); an empty Title
// draws no group row.
type ExtractGroup struct {
	Title string
	Rows  []ExtractRow
}

// ExtractRow is one row: a cell per column. Highlight draws it in the
// summary's red (a blood thinner); Mark draws it bold (an abnormal result).
type ExtractRow struct {
	Cells     []string
	Highlight bool
	Mark      bool
}

// ExtractPDF writes an extract: title, patient, provenance, then the table,
// flowing onto more pages with its header repeated, and a page footer.
func ExtractPDF(w io.Writer, d ExtractData, fonts Fonts) error {
	if !fonts.ok() {
		return ErrNoFont
	}
	pdf := newPDF(fonts, d.Generated)
	const size = 8.5
	lh := lineH(size)
	width := pageW - 2*margin
	total := 0.0
	for _, x := range d.Widths {
		total += x
	}
	cols := make([]float64, len(d.Columns))
	for i := range cols {
		share := 1.0 / float64(len(cols))
		if i < len(d.Widths) && total > 0 {
			share = d.Widths[i] / total
		}
		cols[i] = share * width
	}
	// The page footer repeats where the table comes from, under the table.
	bottom := pageH - margin - 5
	y := margin
	newPage := func() {
		pdf.AddPage()
		y = margin
		pdf.SetFontSize(7)
		pdf.SetTextColor(120, 120, 120)
		pdf.Text(margin, pageH-margin-0.5, fit(pdf, clean(d.Title.EN+" — "+d.Provenance), width))
		pdf.SetFontSize(size)
	}
	header := func() {
		pdf.SetFillColor(230, 234, 242)
		pdf.Rect(margin, y, width, 2*lh+2*cellPad, "F")
		pdf.SetTextColor(20, 40, 90)
		pdf.setBold(true)
		x := margin
		for i, l := range d.Columns {
			pdf.Text(x+cellPad, y+cellPad+lh*0.8, fit(pdf, l.EN, cols[i]-2*cellPad))
			pdf.Text(x+cellPad, y+cellPad+lh*1.8, fit(pdf, l.ZH, cols[i]-2*cellPad))
			x += cols[i]
		}
		pdf.setBold(false)
		y += 2*lh + 2*cellPad
	}
	newPage()
	pdf.SetFontSize(14)
	pdf.SetTextColor(20, 40, 90)
	pdf.setBold(true)
	pdf.Text(margin, y+5, d.Title.EN+"  "+d.Title.ZH)
	pdf.setBold(false)
	y += 9
	pdf.SetFontSize(size)
	for _, t := range nonEmpty(d.Patient, d.Provenance, d.Note) {
		pdf.SetTextColor(60, 60, 60)
		for _, l := range wrap(pdf, clean(t), width) {
			pdf.Text(margin, y+lh*0.8, l)
			y += lh
		}
	}
	y += 2
	header()
	rows := 0
	for _, g := range d.Groups {
		if g.Title != "" {
			if y+2*lh+2*cellPad > bottom {
				newPage()
				header()
			}
			pdf.SetFillColor(244, 246, 250)
			pdf.Rect(margin, y, width, lh+2*cellPad, "F")
			pdf.SetTextColor(20, 40, 90)
			pdf.setBold(true)
			pdf.Text(margin+cellPad, y+cellPad+lh*0.8, fit(pdf, clean(g.Title), width-2*cellPad))
			pdf.setBold(false)
			y += lh + 2*cellPad
		}
		for _, r := range g.Rows {
			rows++
			var cells [][]string
			n := 1
			for i := range cols {
				text := ""
				if i < len(r.Cells) {
					text = r.Cells[i]
				}
				ls := wrap(pdf, clean(text), cols[i]-2*cellPad)
				cells = append(cells, ls)
				n = max(n, len(ls))
			}
			h := float64(n)*lh + 2*cellPad
			if y+h > bottom {
				newPage()
				header()
			}
			switch {
			case r.Highlight:
				pdf.SetTextColor(170, 0, 0)
			default:
				pdf.SetTextColor(0, 0, 0)
			}
			pdf.setBold(r.Highlight || r.Mark)
			x := margin
			for i, ls := range cells {
				for j, l := range ls {
					pdf.Text(x+cellPad, y+cellPad+float64(j)*lh+lh*0.8, l)
				}
				x += cols[i]
			}
			pdf.setBold(false)
			y += h
			pdf.SetDrawColor(200, 200, 200)
			pdf.Line(margin, y, pageW-margin, y)
		}
	}
	if rows == 0 && d.Empty != "" {
		pdf.SetTextColor(60, 60, 60)
		for _, l := range wrap(pdf, clean(d.Empty), width) {
			pdf.Text(margin, y+lh*0.8+cellPad, l)
			y += lh
		}
	}
	return output(pdf, w)
}
