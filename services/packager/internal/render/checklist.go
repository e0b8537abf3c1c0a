package render

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/handoffmed/handoff/platform/clinical"
	"github.com/handoffmed/handoff/platform/record"
)

// ChecklistData is what CHECKLIST.txt and CHECKLIST.pdf say.
type ChecklistData struct {
	// Report is the case's checklist report (nil when none was made yet).
	Report *record.Report
	// Names maps file IDs to what is shown for them: their bundle paths, or
	// the uploads they were for files left out.
	Names map[string]string
	// Excluded are uploads left out, with the reason, already formatted.
	Excluded []string
	// Gaps are the packager's own notes (a scan without a DICOMDIR).
	Gaps []string
	// BundleName is the bundle's folder name.
	BundleName string
	Version    int
	Generated  time.Time
}

// ChecklistText writes CHECKLIST.txt: the checklist report as the platform
// renders it, then what the packager left out and why.
func ChecklistText(w io.Writer, d ChecklistData) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s — bundle version %d", d.BundleName, d.Version)
	if !d.Generated.IsZero() {
		fmt.Fprintf(&b, ", %s", d.Generated.UTC().Format("2006-01-02 15:04 UTC"))
	}
	b.WriteString("\n\n")
	if d.Report != nil {
		if err := d.Report.WriteText(&b, d.Names); err != nil {
			return fmt.Errorf("checklist text: %w", err)
		}
	} else {
		b.WriteString("No checklist report was made for this case yet: every part is unchecked.\n")
	}
	if len(d.Gaps) > 0 {
		b.WriteString("\nBundle notes:\n")
		for _, g := range d.Gaps {
			fmt.Fprintf(&b, "  - %s\n", g)
		}
	}
	if len(d.Excluded) > 0 {
		b.WriteString("\nUploads left out of the bundle:\n")
		for _, e := range d.Excluded {
			fmt.Fprintf(&b, "  - %s\n", e)
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write checklist: %w", err)
	}
	return nil
}

// partOf is the part a finding belongs to ("" for findings of no part:
// rejected uploads, a portal export dump).
func partOf(code string) string {
	prefix, _, _ := strings.Cut(code, ".")
	return map[string]string{
		"summary": record.PartSummary, "imaging": record.PartImaging, "report": record.PartRadiology, "labs": record.PartLabs,
		"surgical": record.PartSurgical, "meds": record.PartMedications, "id": record.PartID, "records": record.PartID,
	}[prefix]
}

// Checklist table columns, millimetres.
const (
	colPart, colStatus, colFiles = 36.0, 24.0, 56.0
	colFindings                  = pageW - 2*margin - colPart - colStatus - colFiles
	cellPad                      = 1.2
)

// ChecklistPDF writes CHECKLIST.pdf: a table of the seven parts (part,
// status, files, findings) with English and Chinese labels, then the
// bundle's notes and the uploads left out. The table flows onto more pages
// with its header repeated.
func ChecklistPDF(w io.Writer, d ChecklistData, fonts Fonts) error {
	if !fonts.ok() {
		return ErrNoFont
	}
	pdf := newPDF(fonts, d.Generated)
	const size = 8.5
	lh := lineH(size)
	pdf.AddPage()
	y := margin
	title := clinical.SummaryLabel(clinical.FieldChecklist)
	pdf.SetFontSize(14)
	pdf.SetTextColor(20, 40, 90)
	pdf.setBold(true)
	pdf.Text(margin, y+5, title.EN+"  "+title.ZH)
	pdf.setBold(false)
	pdf.SetFontSize(size)
	pdf.SetTextColor(60, 60, 60)
	y += 9
	head := fmt.Sprintf("%s — bundle version %d", d.BundleName, d.Version)
	if !d.Generated.IsZero() {
		head += ", " + d.Generated.UTC().Format("2006-01-02 15:04 UTC")
	}
	if d.Report != nil {
		head += "; reference date 参考日期 " + d.Report.ReferenceDate
	}
	for _, l := range wrap(pdf, clean(head), pageW-2*margin) {
		pdf.Text(margin, y+lh*0.8, l)
		y += lh
	}
	verdict, vr, vg, vb := "No checklist report was made for this case yet: every part is unchecked. 尚未生成清单。", 160, 90, 0
	if d.Report != nil {
		verdict, vr, vg, vb = "Result: ready 已齐备", 28, 107, 52
		if d.Report.HasErrors() {
			verdict, vr, vg, vb = "Result: not ready (errors below) 尚未齐备", 170, 0, 0
		}
	}
	pdf.SetTextColor(vr, vg, vb)
	pdf.setBold(true)
	pdf.Text(margin, y+lh*0.8, verdict)
	pdf.setBold(false)
	y += lh + 2

	cols := []float64{colPart, colStatus, colFiles, colFindings}
	header := func() {
		labels := []clinical.Label{clinical.SummaryLabel(clinical.FieldPart), clinical.SummaryLabel(clinical.FieldStatus),
			clinical.SummaryLabel(clinical.FieldFiles), clinical.SummaryLabel(clinical.FieldFindings)}
		pdf.SetFillColor(230, 234, 242)
		pdf.Rect(margin, y, pageW-2*margin, lh+2*cellPad, "F")
		pdf.SetTextColor(20, 40, 90)
		pdf.setBold(true)
		x := margin
		for i, l := range labels {
			pdf.Text(x+cellPad, y+cellPad+lh*0.8, fit(pdf, l.String(), cols[i]-2*cellPad))
			x += cols[i]
		}
		pdf.setBold(false)
		y += lh + 2*cellPad
	}
	newPage := func() {
		pdf.AddPage()
		y = margin
		header()
	}
	header()

	var rows []tableRow
	if d.Report != nil {
		byPart := map[string][]record.Finding{}
		for _, f := range d.Report.Findings {
			byPart[partOf(f.Code)] = append(byPart[partOf(f.Code)], f)
		}
		for _, p := range d.Report.Parts {
			rows = append(rows, tableRow{part: clinical.PartLabel(p.Part), status: p.Status, files: p.Files, findings: byPart[p.Part]})
		}
		if fs := byPart[""]; len(fs) > 0 {
			rows = append(rows, tableRow{part: clinical.SummaryLabel(clinical.FieldOther), findings: fs})
		}
	} else {
		for _, p := range record.Parts {
			rows = append(rows, tableRow{part: clinical.PartLabel(p)})
		}
	}
	for _, r := range rows {
		cells := [][]cellLine{
			{{text: r.part.EN}, {text: r.part.ZH}},
			nil,
			nil,
			nil,
		}
		if r.status != "" {
			st := clinical.StatusLabel(r.status)
			cells[1] = []cellLine{{text: st.EN, status: r.status}, {text: st.ZH, status: r.status}}
		}
		for _, id := range r.files {
			name := id
			if n := d.Names[id]; n != "" {
				name = n
			}
			cells[2] = append(cells[2], cellLine{text: name})
		}
		for _, f := range r.findings {
			sev := clinical.SeverityLabel(f.Severity).String()
			text := f.Message
			if l, ok := clinical.FindingLabel(f.Code); ok {
				text = l.EN + " " + l.ZH
			}
			cells[3] = append(cells[3], cellLine{text: "[" + sev + "] " + text, severity: f.Severity})
		}
		// Wrap every cell to its column.
		var wrapped [][]cellLine
		n := 1
		for i, c := range cells {
			var out []cellLine
			for _, l := range c {
				for _, t := range wrap(pdf, clean(l.text), cols[i]-2*cellPad) {
					out = append(out, cellLine{text: t, status: l.status, severity: l.severity})
				}
			}
			wrapped = append(wrapped, out)
			n = max(n, len(out))
		}
		for start := 0; start < n; {
			// Lines of this row that fit on the page; the rest continue on
			// the next.
			room := int((pageH - margin - y - 2*cellPad) / lh)
			if room < 1 {
				newPage()
				continue
			}
			end := min(n, start+room)
			h := float64(end-start)*lh + 2*cellPad
			x := margin
			for i, c := range wrapped {
				for j := start; j < end && j < len(c); j++ {
					l := c[j]
					switch {
					case l.status == record.PartMissing || l.severity == record.SeverityError:
						pdf.SetTextColor(170, 0, 0)
					case l.status == record.PartWarning || l.severity == record.SeverityWarning:
						pdf.SetTextColor(160, 90, 0)
					case l.status == record.PartOK:
						pdf.SetTextColor(28, 107, 52)
					default:
						pdf.SetTextColor(0, 0, 0)
					}
					pdf.setBold(i == 0)
					pdf.Text(x+cellPad, y+cellPad+float64(j-start)*lh+lh*0.8, l.text)
					pdf.setBold(false)
				}
				x += cols[i]
			}
			y += h
			pdf.SetDrawColor(200, 200, 200)
			pdf.Line(margin, y, pageW-margin, y)
			start = end
			if start < n {
				newPage()
			}
		}
	}

	// Notes and left-out uploads, as text under the table.
	var notes []string
	if len(d.Gaps) > 0 {
		notes = append(notes, "", "Bundle notes 打包说明:")
		for _, g := range d.Gaps {
			notes = append(notes, "  - "+g)
		}
	}
	if len(d.Excluded) > 0 {
		notes = append(notes, "", "Uploads left out of the bundle 未纳入的上传文件:")
		for _, e := range d.Excluded {
			notes = append(notes, "  - "+e)
		}
	}
	pdf.SetTextColor(0, 0, 0)
	for _, raw := range notes {
		indent := len(raw) - len(strings.TrimLeft(raw, " "))
		x := margin + float64(indent)*1.6
		for _, l := range wrap(pdf, clean(strings.TrimLeft(raw, " ")), pageW-margin-x) {
			if y+lh > pageH-margin {
				pdf.AddPage()
				y = margin
			}
			pdf.Text(x, y+lh*0.8, l)
			y += lh
		}
	}
	return output(pdf, w)
}

type tableRow struct {
	part     clinical.Label
	status   string
	files    []string
	findings []record.Finding
}

type cellLine struct {
	text     string
	status   string
	severity string
}
