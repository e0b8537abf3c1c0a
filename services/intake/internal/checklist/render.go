package checklist

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"

	"github.com/handoffmed/handoff/platform/record"
)

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r record.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	return nil
}

var pageTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"inc": func(i int) int { return i + 1 },
	"name": func(names map[string]string, id string) string {
		if n := names[id]; n != "" {
			return n
		}
		return id
	},
	"mark": func(status string) string {
		switch status {
		case record.PartOK:
			return "OK"
		case record.PartWarning:
			return "Check"
		}
		return "Missing"
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Handoff checklist</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1d2330;line-height:1.45}
h1{font-size:1.5rem;margin-bottom:.2rem}
.meta{color:#5b6475;margin-top:0}
.verdict{padding:.7rem 1rem;border-radius:.5rem;font-weight:600;margin:1rem 0}
.verdict.ready{background:#e6f5ea;color:#1c6b34}
.verdict.notready{background:#fdecea;color:#8a1f17}
table{border-collapse:collapse;width:100%;margin:1rem 0}
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #e3e6ec}
th{font-size:.85rem;color:#5b6475;font-weight:600}
.badge{display:inline-block;min-width:4.5rem;text-align:center;border-radius:1rem;padding:.1rem .6rem;font-size:.85rem;font-weight:600}
.ok{background:#e6f5ea;color:#1c6b34}.warning{background:#fff4db;color:#7a5300}.missing{background:#fdecea;color:#8a1f17}
.finding{border-left:4px solid #c7ccd6;padding:.4rem .8rem;margin:.7rem 0;background:#f8f9fb;border-radius:0 .4rem .4rem 0}
.finding.error{border-color:#c0392b}.finding.warning{border-color:#e0a100}.finding.info{border-color:#3b7dd8}
.code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem;color:#5b6475}
.sev{font-weight:700;text-transform:uppercase;font-size:.75rem;margin-right:.4rem}
ul.files{margin:.3rem 0 0 1rem;padding:0;font-size:.9rem;color:#3a4252}
</style>
</head>
<body>
<h1>Handoff checklist</h1>
<p class="meta">Case {{.R.CaseID}} &middot; reference date {{.R.ReferenceDate}}{{if .R.Pending}} &middot; {{.R.Pending}} file(s) still being processed{{end}}</p>
{{if .R.HasErrors}}<div class="verdict notready">Not ready yet: fix the errors below.</div>{{else}}<div class="verdict ready">Ready to bundle{{if .R.Findings}}: see the notes below{{end}}.</div>{{end}}
<table>
<thead><tr><th>#</th><th>Part</th><th>Status</th><th>Files</th></tr></thead>
<tbody>
{{range $i, $p := .R.Parts}}<tr><td>{{inc $i}}</td><td>{{$p.Title}}</td><td><span class="badge {{$p.Status}}">{{mark $p.Status}}</span></td><td>{{len $p.Files}}</td></tr>
{{end}}</tbody>
</table>
<h2>What to do</h2>
{{if not .R.Findings}}<p>Nothing is missing.</p>{{end}}
{{range .R.Findings}}<div class="finding {{.Severity}}">
<div><span class="sev">{{.Severity}}</span><span class="code">{{.Code}}</span></div>
<div>{{.Message}}</div>
{{if .Files}}<ul class="files">{{range .Files}}<li>{{name $.Names .}}</li>{{end}}</ul>{{end}}
</div>
{{end}}
</body>
</html>
`))

// RenderHTML writes the report as a readable page. names maps file IDs to
// the names to show for them (the patient's own file names; nil shows IDs).
func RenderHTML(w io.Writer, r record.Report, names map[string]string) error {
	if err := pageTmpl.Execute(w, struct {
		R     *record.Report
		Names map[string]string
	}{&r, names}); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	return nil
}
