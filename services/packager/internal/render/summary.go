package render

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/handoffmed/handoff/platform/clinical"
	"github.com/handoffmed/handoff/platform/record"
)

// Medication is one line of the medication list.
type Medication struct {
	Text    string // as written: "apixaban 5 mg twice daily"
	Chinese string // the generic name in Chinese, when known
	Class   string // clinical.Class* when the summary flags it
	// Flagged highlights the line: a blood thinner, antiplatelet or
	// supplement that affects clotting, as the checklist flags it.
	Flagged bool
}

// Lab is one key lab value.
type Lab struct {
	Name, Chinese string
	Value, Unit   string
	Range         string
	Date          string
	// Mark is "H" or "L" (or "A") when the value is out of range.
	Mark string
	// Old marks a value taken more than 90 days before the reference date.
	Old bool
}

// Study is one line of the imaging list.
type Study struct {
	Folder      string // bundle folder name
	Date        string
	Modality    string
	BodyPart    string
	Description string
	Series      int
	Instances   int
}

// Impression is the impression of one radiology report.
type Impression struct {
	Date, Modality, BodyPart string
	Text                     string
}

// SummaryData is everything the case summary page shows.
type SummaryData struct {
	CaseID    string
	Family    string // as read (passport or case fields), not transliterated
	Given     string
	BirthDate string
	Sex       string
	Summary   record.Summary
	// Height and Weight are shown instead of the summary's when set (with
	// metric units beside the patient's, or from the records' vitals).
	Height, Weight string
	// Source says where the fields come from, shown under the title.
	Source      string
	Medications []Medication
	// Labs are the key recent lab values.
	Labs []Lab
	// Problems are the current problems the records list.
	Problems    []string
	Studies     []Study
	Impressions []Impression
	// Findings are the open findings of the checklist (errors and warnings).
	Findings []record.Finding
	// Uploaded lists bundle paths of summaries the patient uploaded.
	Uploaded []string
	// FullTextPath is the bundle path where the full text is, shown when
	// something had to be shortened to fit the page.
	FullTextPath string
	Generated    time.Time
}

// ClassLabel is how a medication class is flagged on the summary ("" for
// classes that are not flagged).
func ClassLabel(class string) string {
	if !clinical.Flagged(class) {
		return ""
	}
	return clinical.ClassLabel(class).String()
}

func lbl(field string) [2]string {
	l := clinical.SummaryLabel(field)
	return [2]string{l.EN, l.ZH}
}

const notStated = "not stated 未填写"

// row is one labelled block of the page.
type row struct {
	label   [2]string
	lines   []line // before wrapping
	trimmed bool
	cut     bool // may be shortened to fit
}

type line struct {
	text      string
	highlight bool
}

func textRow(label [2]string, value string) row {
	if strings.TrimSpace(value) == "" {
		return row{label: label, lines: []line{{text: notStated}}}
	}
	var ls []line
	for _, l := range strings.Split(clean(value), "\n") {
		ls = append(ls, line{text: l})
	}
	return row{label: label, lines: ls, cut: true}
}

func (d SummaryData) rows() []row {
	s := d.Summary
	patient := strings.TrimSpace(d.Family + ", " + d.Given)
	if d.Family == "" && d.Given == "" {
		patient = notStated
	}
	patient += "    " + clinical.SummaryLabel(clinical.FieldBirthDate).String() + ": " + orNot(d.BirthDate)
	if d.Sex != "" {
		patient += "    " + clinical.SummaryLabel(clinical.FieldSex).String() + ": " + d.Sex
	}
	age := ""
	if s.Age > 0 {
		age = fmt.Sprint(s.Age)
	}
	height, weight := d.Height, d.Weight
	if height == "" {
		height = clinical.MetricHeight(s.Height)
	}
	if weight == "" {
		weight = clinical.MetricWeight(s.Weight)
	}
	ageL, heightL, weightL := clinical.SummaryLabel(clinical.FieldAge), clinical.SummaryLabel(clinical.FieldHeight), clinical.SummaryLabel(clinical.FieldWeight)
	rows := []row{
		{label: lbl(clinical.FieldPatient), lines: []line{{text: clean(patient)}}},
		{label: [2]string{ageL.EN + " · " + heightL.EN + " · " + weightL.EN, ageL.ZH + " · " + heightL.ZH + " · " + weightL.ZH}, lines: []line{{text: clean(fmt.Sprintf(
			"%s %s    %s %s    %s %s", ageL.EN, orNot(age), heightL.EN, orNot(height), weightL.EN, orNot(weight)))}}},
		textRow(lbl(clinical.FieldAllergies), s.Allergies),
		textRow(lbl(clinical.FieldProcedure), s.Procedure),
		textRow(lbl(clinical.FieldSymptoms), s.SymptomHistory),
		textRow(lbl(clinical.FieldUSRec), s.USRecommendation),
		textRow(lbl(clinical.FieldCost), s.QuotedCost),
		textRow(lbl(clinical.FieldAbroad), s.ReasonAbroad),
	}

	var cond []line
	c := s.Conditions
	for _, x := range []struct {
		on  bool
		key string
	}{{c.Diabetes, clinical.ConditionDiabetes}, {c.Prediabetes, clinical.ConditionPrediabetes}, {c.HeartDisease, clinical.ConditionCardiac},
		{c.Respiratory, clinical.ConditionRespiratory}} {
		if x.on {
			cond = append(cond, line{text: clinical.ConditionLabel(x.key).String()})
		}
	}
	if c.BloodThinners {
		cond = append(cond, line{text: clinical.ConditionLabel("blood_thinners").String(), highlight: true})
	}
	if len(d.Problems) > 0 {
		cond = append(cond, line{text: clean("Problem list 问题列表: " + strings.Join(d.Problems, "; "))})
	}
	if len(c.PriorSurgeries) > 0 {
		cond = append(cond, line{text: clinical.SummaryLabel(clinical.FieldSurgeries).String() + ": " + clean(strings.Join(c.PriorSurgeries, "; "))})
	}
	if strings.TrimSpace(c.Other) != "" {
		cond = append(cond, line{text: clinical.SummaryLabel(clinical.FieldOther).String() + ": " + clean(c.Other)})
	}
	if len(cond) == 0 {
		cond = []line{{text: "none stated 未填写"}}
	}
	rows = append(rows, row{label: lbl(clinical.FieldConditions), lines: cond, cut: true})

	var meds []line
	for _, m := range d.Medications {
		text := clean(m.Text)
		if m.Chinese != "" {
			text += " (" + m.Chinese + ")"
		}
		l := line{text: "• " + text}
		if m.Flagged {
			lab := ClassLabel(m.Class)
			if lab == "" {
				lab = "AFFECTS CLOTTING 影响凝血"
			}
			l.text = "• [" + lab + "] " + text + " — stop 5–7 days before surgery only under supervision 术前需在医生指导下停药"
			l.highlight = true
		}
		meds = append(meds, l)
	}
	if len(meds) == 0 {
		meds = []line{{text: "none listed 未列出"}}
	}
	rows = append(rows, row{label: lbl(clinical.FieldMedications), lines: meds, cut: true})

	var labs []line
	for _, l := range d.Labs {
		v := strings.TrimSpace(l.Value + " " + l.Unit)
		if l.Mark != "" {
			v += " " + map[string]string{"H": "↑ high 偏高", "L": "↓ low 偏低"}[l.Mark]
			if l.Mark != "H" && l.Mark != "L" {
				v += " abnormal 异常"
			}
		}
		if l.Range != "" {
			v += " [ref " + l.Range + "]"
		}
		date := l.Date
		if l.Old {
			date += ", >90 days 超过90天"
		}
		if date != "" {
			v += " (" + date + ")"
		}
		labs = append(labs, line{text: clean("• " + l.Name + " " + l.Chinese + ": " + v), highlight: l.Mark != ""})
	}
	if len(labs) > 0 {
		rows = append(rows, row{label: lbl(clinical.FieldLabs), lines: labs, cut: true})
	}

	var img []line
	for _, st := range d.Studies {
		desc := strings.TrimSpace(strings.Join(nonEmpty(st.Date, st.Modality, st.BodyPart), " "))
		if st.Description != "" {
			desc += " — " + st.Description
		}
		img = append(img, line{text: clean(fmt.Sprintf("• %s (%d series, %d images) → 02_Imaging_DICOM/%s", desc, st.Series, st.Instances, st.Folder))})
	}
	if len(img) == 0 {
		img = []line{{text: "no DICOM imaging in this bundle 无影像资料"}}
	}
	rows = append(rows, row{label: lbl(clinical.FieldImaging), lines: img, cut: true})

	var imp []line
	for _, im := range d.Impressions {
		head := strings.TrimSpace(strings.Join(nonEmpty(im.Date, im.Modality, im.BodyPart), " "))
		imp = append(imp, line{text: clean("• " + head + ": " + im.Text)})
	}
	if len(imp) > 0 {
		rows = append(rows, row{label: lbl(clinical.FieldImpression), lines: imp, cut: true})
	}

	var fs []line
	seen := map[string]bool{}
	for _, f := range d.Findings {
		if seen[f.Code] {
			continue
		}
		seen[f.Code] = true
		sev := clinical.SeverityLabel(f.Severity).String()
		text := f.Message
		if l, ok := clinical.FindingLabel(f.Code); ok {
			text = l.EN + " " + l.ZH
		}
		fs = append(fs, line{text: clean("• [" + sev + "] " + text), highlight: f.Severity == record.SeverityError})
	}
	if len(fs) == 0 {
		fs = []line{{text: "none: the checklist found nothing missing 无"}}
	}
	rows = append(rows, row{label: lbl(clinical.FieldFindings), lines: fs, cut: true})
	return rows
}

// Page geometry, millimetres (A4).
const (
	pageW, pageH = 210.0, 297.0
	margin       = 12.0
	labelW       = 44.0
	gap          = 3.0
	valueX       = margin + labelW + gap
	valueW       = pageW - margin - valueX
	headerH      = 24.0
	footerH      = 12.0
	rowPad       = 1.6
	maxFont      = 10.0
	minFont      = 6.0
)

// SummaryResult says how the page came out.
type SummaryResult struct {
	FontSize  float64
	Shortened bool // some text was cut to fit the page
}

// SummaryPDF writes the one-page case summary. Long free text shrinks the
// font down to 6 pt; past that the longest blocks are shortened, marked
// with "[…]" and a note pointing to the full text. The page stays one page:
// the specialist reads it first, and the full text is in the bundle.
func SummaryPDF(w io.Writer, d SummaryData, fonts Fonts) (SummaryResult, error) {
	if !fonts.ok() {
		return SummaryResult{}, ErrNoFont
	}
	pdf := newPDF(fonts, d.Generated)
	rows := d.rows()
	avail := pageH - 2*margin - headerH - footerH

	var res SummaryResult
	var wrapped [][]line
	size := maxFont
	for ; size >= minFont; size -= 0.5 {
		pdf.SetFontSize(size)
		wrapped = wrapRows(pdf, rows)
		if height(wrapped, size) <= avail {
			break
		}
	}
	if size < minFont {
		size = minFont
		pdf.SetFontSize(size)
		wrapped = wrapRows(pdf, rows)
		res.Shortened = true
		shorten(rows, wrapped, size, avail-2*lineH(size)) // room for the note
	}
	res.FontSize = size

	pdf.AddPage()
	y := margin
	pdf.SetFontSize(16)
	pdf.SetTextColor(20, 40, 90)
	pdf.setBold(true)
	title := clinical.SummaryLabel(clinical.FieldTitle)
	pdf.Text(margin, y+6, title.EN+"  "+title.ZH)
	pdf.setBold(false)
	pdf.SetFontSize(8)
	pdf.SetTextColor(90, 90, 90)
	src := d.Source
	if src == "" {
		src = "From the case fields the patient entered. Free text is kept as written, never translated. 患者原文，未经翻译。"
	}
	pdf.Text(margin, y+12, fit(pdf, clean(src), pageW-2*margin))
	if len(d.Uploaded) > 0 {
		pdf.Text(margin, y+16, fit(pdf, clean("Uploaded summary 患者上传的摘要: "+strings.Join(d.Uploaded, ", ")), pageW-2*margin))
	}
	pdf.SetDrawColor(20, 40, 90)
	pdf.Line(margin, y+headerH-3, pageW-margin, y+headerH-3)
	y += headerH

	lh := lineH(size)
	for i, r := range rows {
		ls := wrapped[i]
		h := rowHeight(len(ls), size)
		// label
		pdf.SetTextColor(20, 40, 90)
		pdf.SetFontSize(min(size, 8.5))
		pdf.setBold(true)
		pdf.Text(margin, y+lh*0.8, fit(pdf, r.label[0], labelW))
		pdf.setBold(false)
		pdf.SetTextColor(70, 70, 70)
		pdf.Text(margin, y+lh*0.8+lineH(min(size, 8.5)), fit(pdf, r.label[1], labelW))
		// value
		pdf.SetFontSize(size)
		for j, l := range ls {
			ly := y + float64(j)*lh
			if l.highlight {
				pdf.SetFillColor(255, 225, 225)
				pdf.Rect(valueX-1, ly, valueW+1, lh, "F")
				pdf.SetTextColor(170, 0, 0)
			} else {
				pdf.SetTextColor(0, 0, 0)
			}
			pdf.Text(valueX, ly+lh*0.8, l.text)
		}
		y += h
		pdf.SetDrawColor(210, 210, 210)
		pdf.Line(margin, y-rowPad/2, pageW-margin, y-rowPad/2)
	}
	if res.Shortened {
		pdf.SetFontSize(size)
		pdf.SetTextColor(170, 0, 0)
		note := "[…] Text shortened to fit one page 内容过长已截短"
		if d.FullTextPath != "" {
			note += "; full text 全文: " + d.FullTextPath
		}
		for i, l := range wrap(pdf, clean(note), pageW-2*margin) {
			pdf.Text(margin, y+lh*0.8+float64(i)*lh, l)
		}
	}
	pdf.SetFontSize(7)
	pdf.SetTextColor(120, 120, 120)
	foot := "Prepared by Handoff for case " + d.CaseID
	if !d.Generated.IsZero() {
		foot += " on " + d.Generated.UTC().Format("2006-01-02")
	}
	pdf.Text(margin, pageH-margin, fit(pdf, foot+". Blood thinners are highlighted 抗凝药已标红.", pageW-2*margin))
	return res, output(pdf, w)
}

// fit cuts text to the width, marking a cut with "…".
func fit(pdf *doc, text string, width float64) string {
	if pdf.GetStringWidth(text) <= width {
		return text
	}
	r := []rune(text)
	for len(r) > 0 && pdf.GetStringWidth(string(r)+"…") > width {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

func rowHeight(lines int, size float64) float64 {
	labelH := lineH(min(size, 8.5)) * 2
	return max(float64(lines)*lineH(size), labelH) + rowPad
}

func height(wrapped [][]line, size float64) float64 {
	h := 0.0
	for _, ls := range wrapped {
		h += rowHeight(len(ls), size)
	}
	return h
}

func wrapRows(pdf *doc, rows []row) [][]line {
	out := make([][]line, len(rows))
	for i, r := range rows {
		for _, l := range r.lines {
			for _, t := range wrap(pdf, l.text, valueW) {
				out[i] = append(out[i], line{text: t, highlight: l.highlight})
			}
		}
	}
	return out
}

// shorten drops lines from the longest cuttable rows until the page fits,
// marking each shortened row's last line with "[…]".
func shorten(rows []row, wrapped [][]line, size, avail float64) {
	for height(wrapped, size) > avail {
		best := -1
		for i := range wrapped {
			if rows[i].cut && len(wrapped[i]) > 1 && (best < 0 || len(wrapped[i]) > len(wrapped[best])) {
				best = i
			}
		}
		if best < 0 {
			return
		}
		wrapped[best] = wrapped[best][:len(wrapped[best])-1]
		rows[best].trimmed = true
	}
	for i := range rows {
		if rows[i].trimmed {
			last := &wrapped[i][len(wrapped[i])-1]
			r := []rune(last.text)
			if len(r) > 4 {
				r = r[:len(r)-4]
			}
			last.text = string(r) + " […]"
		}
	}
}
