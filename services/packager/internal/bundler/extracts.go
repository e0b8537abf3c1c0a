package bundler

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/handoffmed/handoff/platform/clinical"
	"github.com/handoffmed/handoff/platform/record"

	"github.com/handoffmed/handoff/services/packager/internal/layout"
	"github.com/handoffmed/handoff/services/packager/internal/render"
)

// extractPDF renders one extract of a portal export.
func (j *Job) extractPDF(e layout.Extract) ([]byte, error) {
	var f *record.File
	for i := range j.in.Files {
		if j.in.Files[i].ID == e.FileID {
			f = &j.in.Files[i]
		}
	}
	if f == nil || f.Document == nil {
		return nil, fmt.Errorf("extract %s: file %s is gone", e.Kind, e.FileID)
	}
	d := extractData(e, f.Document, layout.PatientIdentity(j.in.Case, j.in.Files), j.in.Vocab)
	d.Generated = j.stamp
	var b bytes.Buffer
	if err := render.ExtractPDF(&b, d, j.in.Fonts); err != nil {
		return nil, fmt.Errorf("extract %s: %w", e.Kind, err)
	}
	return b.Bytes(), nil
}

// extractData lays out an extract's table from the export's facts.
func extractData(e layout.Extract, doc *record.Document, id layout.Identity, vocab *clinical.Vocabulary) render.ExtractData {
	dated := "undated"
	if doc.Date != "" {
		dated = "dated " + doc.Date
	}
	d := render.ExtractData{
		Patient: "Patient 患者: " + strings.TrimSpace(cmp.Or(strings.TrimSpace(id.Family+", "+id.Given), "not stated 未填写")) +
			"   DOB 出生日期: " + cmp.Or(id.BirthDate, "not stated 未填写"),
		Provenance: "Extracted by Handoff from " + e.From + ", a portal export (HL7 C-CDA) " + dated +
			"; the export itself is not included. 由 Handoff 从患者门户导出文件中提取；原导出文件未纳入。",
	}
	switch e.Kind {
	case layout.ExtractLabs:
		d.Title = clinical.Label{EN: "Lab results from the patient portal", ZH: "患者门户化验结果"}
		d.Note = "Results of the " + fmt.Sprint(layout.LabWindow) + " days before the reference date (from " + e.Since + "), grouped by panel; out-of-range results in bold."
		if e.Since == "" {
			d.Note = "Every dated result, grouped by panel; out-of-range results in bold."
		}
		d.Columns = []clinical.Label{{EN: "Test", ZH: "检验项目"}, {EN: "Value", ZH: "结果"}, {EN: "Unit", ZH: "单位"},
			{EN: "Range", ZH: "参考范围"}, {EN: "Flag", ZH: "标志"}, {EN: "Date", ZH: "日期"}}
		d.Widths = []float64{34, 12, 12, 18, 8, 16}
		d.Empty = "No dated result in this window. 此期间无化验结果。"
		d.Groups = labGroups(layout.RecentLabs(doc.Labs, e.Since, ""), vocab)
	case layout.ExtractMedications:
		d.Title = clinical.Label{EN: "Medication list from the patient portal", ZH: "患者门户用药清单"}
		d.Note = "Current medications as the export lists them; blood thinners, antiplatelets and supplements that affect clotting are highlighted."
		d.Columns = []clinical.Label{{EN: "Drug", ZH: "药品"}, {EN: "Dose", ZH: "剂量"}, {EN: "Frequency, route", ZH: "频次、途径"},
			{EN: "Start", ZH: "开始日期"}, {EN: "Class", ZH: "类别"}}
		d.Widths = []float64{38, 12, 20, 12, 18}
		var rows []render.ExtractRow
		for _, m := range doc.Medications {
			class := vocab.MedicationClass(m)
			name := m.Name
			if drug, ok := vocab.Medication(m); ok && drug.Chinese != "" {
				name += " (" + drug.Chinese + ")"
			}
			rows = append(rows, render.ExtractRow{
				Cells:     []string{name, m.Dose, strings.Join(nonEmptyStrings(m.Frequency, m.Route), ", "), m.Start, clinical.ClassLabel(class).String()},
				Highlight: clinical.Flagged(class),
			})
		}
		d.Groups = []render.ExtractGroup{{Rows: rows}}
	case layout.ExtractProcedures:
		d.Title = clinical.Label{EN: "Procedures from the patient portal", ZH: "患者门户手术及操作记录"}
		d.Note = "Procedures as the export lists them (coded entries; no operative note is part of the export)."
		d.Columns = []clinical.Label{{EN: "Procedure", ZH: "手术/操作"}, {EN: "Code", ZH: "编码"}, {EN: "Date", ZH: "日期"}}
		d.Widths = []float64{60, 24, 16}
		var rows []render.ExtractRow
		for _, p := range doc.Procedures {
			code := p.Code
			if code != "" && p.System != "" {
				code += " (" + p.System + ")"
			}
			rows = append(rows, render.ExtractRow{Cells: []string{p.Name, code, p.Date}})
		}
		d.Groups = []render.ExtractGroup{{Rows: rows}}
	}
	return d
}

// labGroups groups results by panel in the canonical order, then the rest;
// within a group, newest first.
func labGroups(labs []record.LabResult, vocab *clinical.Vocabulary) []render.ExtractGroup {
	byPanel := map[string][]record.LabResult{}
	for _, r := range labs {
		p := r.Panel
		if p == "" {
			if t, ok := vocab.Lab(r); ok && len(t.Panels) > 0 {
				p = t.Panels[0]
			}
		}
		byPanel[p] = append(byPanel[p], r)
	}
	var out []render.ExtractGroup
	for _, p := range []string{record.PanelCBC, record.PanelBMP, record.PanelCMP, record.PanelCoag, record.PanelHbA1c, ""} {
		rs := byPanel[p]
		if len(rs) == 0 {
			continue
		}
		slices.SortStableFunc(rs, func(a, b record.LabResult) int { return cmp.Compare(b.Date, a.Date) })
		title := "Other results 其他检验"
		if pl, ok := vocab.Panel(p); ok {
			title = pl.Name + " " + pl.Chinese
		}
		g := render.ExtractGroup{Title: title}
		for _, r := range rs {
			flag := r.Flag
			if flag == "N" {
				flag = ""
			}
			g.Rows = append(g.Rows, render.ExtractRow{Cells: []string{r.Name, r.Value, r.Unit, r.Range, flag, r.Date}, Mark: flag != ""})
		}
		out = append(out, g)
	}
	return out
}

func nonEmptyStrings(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			out = append(out, strings.TrimSpace(s))
		}
	}
	return out
}
