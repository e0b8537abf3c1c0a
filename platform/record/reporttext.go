package record

import (
	"fmt"
	"io"
	"strings"
)

// WriteText writes the report as plain text, for a terminal or the
// CHECKLIST.txt of a bundle: the seven parts with their status, then the
// findings, errors first. names maps file IDs to the names shown for them
// (nil shows the IDs).
func (r *Report) WriteText(w io.Writer, names map[string]string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Handoff checklist for case %s\n", r.CaseID)
	fmt.Fprintf(&b, "Reference date: %s", r.ReferenceDate)
	if r.Pending > 0 {
		fmt.Fprintf(&b, " (%d file(s) still being processed)", r.Pending)
	}
	b.WriteString("\n\n")
	for i, p := range r.Parts {
		fmt.Fprintf(&b, "%d. %-32s %s", i+1, p.Title, statusMark(p.Status))
		if n := len(p.Files); n > 0 {
			fmt.Fprintf(&b, "  (%d file%s)", n, pluralS(n))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	if len(r.Findings) == 0 {
		b.WriteString("Nothing is missing.\n")
	}
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "[%s] %s\n", strings.ToUpper(f.Severity), f.Code)
		writeWrapped(&b, f.Message, "    ", 76)
		for _, id := range f.Files {
			name := id
			if n, ok := names[id]; ok && n != "" {
				name = n
			}
			fmt.Fprintf(&b, "    - %s\n", name)
		}
	}
	if r.HasErrors() {
		b.WriteString("\nResult: not ready (fix the errors above)\n")
	} else {
		b.WriteString("\nResult: ready to bundle\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func statusMark(s string) string {
	switch s {
	case PartOK:
		return "OK"
	case PartWarning:
		return "CHECK"
	case PartMissing:
		return "MISSING"
	}
	return strings.ToUpper(s)
}

func pluralS(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// writeWrapped writes text wrapped at width with an indent.
func writeWrapped(b *strings.Builder, text, indent string, width int) {
	line := indent
	for _, w := range strings.Fields(text) {
		if len(line)+len(w)+1 > width && strings.TrimSpace(line) != "" {
			b.WriteString(line + "\n")
			line = indent
		}
		if strings.TrimSpace(line) != "" {
			line += " "
		}
		line += w
	}
	if strings.TrimSpace(line) != "" {
		b.WriteString(line + "\n")
	}
}
