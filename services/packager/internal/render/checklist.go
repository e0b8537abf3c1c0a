package render

import (
	"fmt"
	"io"
	"strings"
	"time"

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

// ChecklistPDF writes the checklist text as a PDF, missing parts and errors
// in red, warnings in amber.
func ChecklistPDF(w io.Writer, text string, fonts Fonts, created time.Time) error {
	if !fonts.ok() {
		return ErrNoFont
	}
	pdf := newPDF(fonts, created)
	const size = 9.5
	lh := lineH(size)
	pdf.AddPage()
	pdf.SetFontSize(14)
	pdf.SetTextColor(20, 40, 90)
	pdf.Text(margin, margin+5, "Checklist  清单")
	pdf.SetFontSize(size)
	y := margin + 12
	for _, raw := range strings.Split(strings.TrimRight(clean(text), "\n"), "\n") {
		switch {
		case strings.Contains(raw, "MISSING") || strings.HasPrefix(raw, "[ERROR]"):
			pdf.SetTextColor(170, 0, 0)
		case strings.Contains(raw, "CHECK") || strings.HasPrefix(raw, "[WARNING]"):
			pdf.SetTextColor(160, 90, 0)
		default:
			pdf.SetTextColor(0, 0, 0)
		}
		indent := len(raw) - len(strings.TrimLeft(raw, " "))
		x := margin + float64(indent)*1.6
		for _, l := range wrap(pdf, strings.TrimLeft(raw, " "), pageW-margin-x) {
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
