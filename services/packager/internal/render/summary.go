// Package render draws the bundle's generated documents: the one-page case
// summary and the checklist, as PDFs with an embedded CJK TrueType font so
// that the Chinese field labels (and any patient text in Chinese) show on
// every reader.
package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/go-pdf/fpdf"

	"github.com/handoffmed/handoff/platform/record"
)

// Font families as they are named in the PDFs.
const (
	FontFamily = "DroidSansFallback" // CJK
	latinFace  = "DejaVuSans"
)

// Default font files, from Debian's fonts-droid-fallback and fonts-dejavu-core.
// Droid Sans Fallback holds the CJK glyphs but no Latin ones, so text is
// set in DejaVu Sans and every CJK run in Droid Sans Fallback.
const (
	DefaultFontPath      = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"
	DefaultLatinPath     = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
	DefaultLatinBoldPath = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
)

// ErrNoFont means a font is missing.
var ErrNoFont = errors.New("font missing")

// Fonts are the TrueType fonts embedded in the PDFs.
type Fonts struct {
	CJK, Latin, LatinBold []byte
}

// LoadFonts reads the fonts from their files ("" means the default path).
func LoadFonts(cjk, latin, latinBold string) (Fonts, error) {
	var f Fonts
	for _, x := range []struct {
		path, def string
		dst       *[]byte
	}{{cjk, DefaultFontPath, &f.CJK}, {latin, DefaultLatinPath, &f.Latin}, {latinBold, DefaultLatinBoldPath, &f.LatinBold}} {
		p := x.path
		if p == "" {
			p = x.def
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return Fonts{}, fmt.Errorf("%w: %w", ErrNoFont, err)
		}
		*x.dst = b
	}
	return f, nil
}

func (f Fonts) ok() bool { return len(f.CJK) > 0 && len(f.Latin) > 0 && len(f.LatinBold) > 0 }

// Medication is one line of the medication list.
type Medication struct {
	Text  string // as written: "apixaban 5 mg twice daily"
	Class string // record.Med* when it affects clotting
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

// SummaryData is everything the case summary page shows.
type SummaryData struct {
	CaseID    string
	Family    string // as read (passport or case fields), not transliterated
	Given     string
	BirthDate string
	Sex       string
	Summary   record.Summary
	// Source says where the fields come from, shown under the title.
	Source      string
	Medications []Medication
	Studies     []Study
	// Findings are the open findings of the checklist (errors and warnings).
	Findings []record.Finding
	// Uploaded lists bundle paths of summaries the patient uploaded.
	Uploaded []string
	// FullTextPath is the bundle path where the full text is, shown when
	// something had to be shortened to fit the page.
	FullTextPath string
	Generated    time.Time
}

// Labels, English and Chinese.
var (
	lblTitle      = [2]string{"Case Summary", "病例摘要"}
	lblPatient    = [2]string{"Patient", "患者"}
	lblAge        = [2]string{"Age", "年龄"}
	lblHeight     = [2]string{"Height", "身高"}
	lblWeight     = [2]string{"Weight", "体重"}
	lblAllergies  = [2]string{"Allergies", "过敏史"}
	lblProcedure  = [2]string{"Procedure sought", "拟行手术"}
	lblSymptoms   = [2]string{"Symptom history", "现病史"}
	lblUSRec      = [2]string{"US recommendation", "美国医生建议"}
	lblCost       = [2]string{"Quoted cost (US)", "美国报价费用"}
	lblAbroad     = [2]string{"Reason for care abroad", "出国就医原因"}
	lblConditions = [2]string{"Complicating conditions", "合并症及既往史"}
	lblMeds       = [2]string{"Current medications", "用药"}
	lblImaging    = [2]string{"Imaging", "影像资料"}
	lblFindings   = [2]string{"Open findings", "待补充事项"}
)

// Condition labels.
var (
	condDiabetes    = "Diabetes 糖尿病"
	condPrediabetes = "Prediabetes 糖尿病前期"
	condHeart       = "Heart disease 心脏病"
	condRespiratory = "Respiratory disease 呼吸系统疾病"
	condThinners    = "Takes blood thinners 服用抗凝药物"
	condSurgeries   = "Prior surgeries 既往手术史"
	condOther       = "Other 其他"
)

// ClassLabel is how a clotting-relevant medication class is flagged.
func ClassLabel(class string) string {
	switch class {
	case record.MedAnticoagulant:
		return "BLOOD THINNER 抗凝药"
	case record.MedAntiplatelet:
		return "BLOOD THINNER 抗血小板药"
	case record.MedSupplement:
		return "AFFECTS CLOTTING 影响凝血"
	}
	return ""
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
	patient += "    DOB 出生日期: " + orNot(d.BirthDate)
	if d.Sex != "" {
		patient += "    Sex 性别: " + d.Sex
	}
	age := ""
	if s.Age > 0 {
		age = fmt.Sprint(s.Age)
	}
	rows := []row{
		{label: lblPatient, lines: []line{{text: clean(patient)}}},
		{label: [2]string{"Age · Height · Weight", "年龄 · 身高 · 体重"}, lines: []line{{text: clean(fmt.Sprintf(
			"%s %s    %s %s    %s %s", lblAge[0], orNot(age), lblHeight[0], orNot(s.Height), lblWeight[0], orNot(s.Weight)))}}},
		textRow(lblAllergies, s.Allergies),
		textRow(lblProcedure, s.Procedure),
		textRow(lblSymptoms, s.SymptomHistory),
		textRow(lblUSRec, s.USRecommendation),
		textRow(lblCost, s.QuotedCost),
		textRow(lblAbroad, s.ReasonAbroad),
	}

	var cond []line
	c := s.Conditions
	for _, x := range []struct {
		on bool
		l  string
	}{{c.Diabetes, condDiabetes}, {c.Prediabetes, condPrediabetes}, {c.HeartDisease, condHeart}, {c.Respiratory, condRespiratory}} {
		if x.on {
			cond = append(cond, line{text: x.l})
		}
	}
	if c.BloodThinners {
		cond = append(cond, line{text: condThinners, highlight: true})
	}
	if len(c.PriorSurgeries) > 0 {
		cond = append(cond, line{text: condSurgeries + ": " + clean(strings.Join(c.PriorSurgeries, "; "))})
	}
	if strings.TrimSpace(c.Other) != "" {
		cond = append(cond, line{text: condOther + ": " + clean(c.Other)})
	}
	if len(cond) == 0 {
		cond = []line{{text: "none stated 未填写"}}
	}
	rows = append(rows, row{label: lblConditions, lines: cond, cut: true})

	var meds []line
	for _, m := range d.Medications {
		l := line{text: "• " + clean(m.Text)}
		if lab := ClassLabel(m.Class); lab != "" {
			l.text = "• [" + lab + "] " + clean(m.Text) + " — stop 5–7 days before surgery only under supervision"
			l.highlight = true
		}
		meds = append(meds, l)
	}
	if len(meds) == 0 {
		meds = []line{{text: "none listed 未列出"}}
	}
	rows = append(rows, row{label: lblMeds, lines: meds, cut: true})

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
	rows = append(rows, row{label: lblImaging, lines: img, cut: true})

	var fs []line
	for _, f := range d.Findings {
		fs = append(fs, line{text: clean("• [" + strings.ToUpper(f.Severity) + "] " + f.Message), highlight: f.Severity == record.SeverityError})
	}
	if len(fs) == 0 {
		fs = []line{{text: "none: the checklist found nothing missing 无"}}
	}
	rows = append(rows, row{label: lblFindings, lines: fs, cut: true})
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
// with "[…]" and a note pointing to the full text.
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
		shorten(rows, wrapped, size, avail-lineH(size)) // room for the note
	}
	res.FontSize = size

	pdf.AddPage()
	y := margin
	pdf.SetFontSize(16)
	pdf.SetTextColor(20, 40, 90)
	pdf.setBold(true)
	pdf.Text(margin, y+6, lblTitle[0]+"  "+lblTitle[1])
	pdf.setBold(false)
	pdf.SetFontSize(8)
	pdf.SetTextColor(90, 90, 90)
	src := d.Source
	if src == "" {
		src = "From the case fields the patient entered. Free text is kept as written, never translated. 患者原文，未经翻译。"
	}
	pdf.Text(margin, y+12, clean(src))
	if len(d.Uploaded) > 0 {
		pdf.Text(margin, y+16, clean("Uploaded summary 患者上传的摘要: "+strings.Join(d.Uploaded, ", ")))
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
		pdf.Text(margin, y+lh*0.8, r.label[0])
		pdf.setBold(false)
		pdf.SetTextColor(70, 70, 70)
		pdf.Text(margin, y+lh*0.8+lineH(min(size, 8.5)), r.label[1])
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
		pdf.Text(margin, y+lh*0.8, clean(note))
	}
	pdf.SetFontSize(7)
	pdf.SetTextColor(120, 120, 120)
	foot := "Prepared by Handoff for case " + d.CaseID
	if !d.Generated.IsZero() {
		foot += " on " + d.Generated.UTC().Format("2006-01-02")
	}
	pdf.Text(margin, pageH-margin, foot+". Blood thinners are highlighted 抗凝药已标红.")
	return res, output(pdf, w)
}

func newPDF(fonts Fonts, created time.Time) *doc {
	pdf := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", SizeStr: "A4"})
	pdf.SetMargins(margin, margin, margin)
	pdf.SetAutoPageBreak(false, margin)
	pdf.AddUTF8FontFromBytes(FontFamily, "", fonts.CJK)
	pdf.AddUTF8FontFromBytes(latinFace, "", fonts.Latin)
	pdf.AddUTF8FontFromBytes(latinFace, "B", fonts.LatinBold)
	pdf.SetFont(latinFace, "", maxFont)
	pdf.SetCatalogSort(true)
	if !created.IsZero() {
		pdf.SetCreationDate(created)
		pdf.SetModificationDate(created)
	}
	pdf.SetCreator("Handoff packager", true)
	return &doc{Fpdf: pdf, size: maxFont}
}

// doc sets mixed Latin and CJK text: each run of CJK characters in the CJK
// font, the rest in DejaVu Sans.
type doc struct {
	*fpdf.Fpdf
	size float64
	bold bool
}

func (d *doc) SetFontSize(size float64) {
	d.size = size
	d.Fpdf.SetFontSize(size)
}

func (d *doc) setBold(b bool) { d.bold = b }

func (d *doc) use(cjk bool) {
	switch {
	case cjk:
		d.Fpdf.SetFont(FontFamily, "", d.size)
	case d.bold:
		d.Fpdf.SetFont(latinFace, "B", d.size)
	default:
		d.Fpdf.SetFont(latinFace, "", d.size)
	}
}

// runs splits s into runs of CJK and non-CJK characters.
func runs(s string, fn func(text string, cjk bool)) {
	start, cur := 0, false
	for i, r := range s {
		c := isCJK(r)
		if i > start && c != cur {
			fn(s[start:i], cur)
			start = i
		}
		cur = c
	}
	if start < len(s) {
		fn(s[start:], cur)
	}
}

func isCJK(r rune) bool {
	return (r >= 0x2E80 && r <= 0x9FFF) || (r >= 0xAC00 && r <= 0xD7AF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0xFE30 && r <= 0xFE4F) || (r >= 0xFF00 && r <= 0xFFEF)
}

// Text draws s at (x, y), switching fonts between runs.
func (d *doc) Text(x, y float64, s string) {
	runs(s, func(t string, cjk bool) {
		d.use(cjk)
		d.Fpdf.Text(x, y, t)
		x += d.Fpdf.GetStringWidth(t)
	})
}

// GetStringWidth measures s as Text draws it.
func (d *doc) GetStringWidth(s string) float64 {
	w := 0.0
	runs(s, func(t string, cjk bool) {
		d.use(cjk)
		w += d.Fpdf.GetStringWidth(t)
	})
	return w
}

func output(pdf *doc, w io.Writer) error {
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return fmt.Errorf("render pdf: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write pdf: %w", err)
	}
	return nil
}

func lineH(size float64) float64 { return size * 0.3528 * 1.25 }

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

// wrap breaks text into lines no wider than width: at spaces, or anywhere
// within long words and CJK text.
func wrap(pdf *doc, text string, width float64) []string {
	var out []string
	for _, para := range strings.Split(text, "\n") {
		runes := []rune(para)
		if len(runes) == 0 {
			out = append(out, "")
			continue
		}
		start, lastBreak := 0, -1
		w := 0.0
		for i := 0; i < len(runes); i++ {
			cw := pdf.GetStringWidth(string(runes[i]))
			if w+cw > width && i > start {
				end := i
				next := i
				if lastBreak > start {
					end, next = lastBreak, lastBreak
					if unicode.IsSpace(runes[lastBreak]) {
						next = lastBreak + 1
					}
				}
				out = append(out, strings.TrimRight(string(runes[start:end]), " "))
				start, lastBreak = next, -1
				i = next - 1
				w = 0
				continue
			}
			w += cw
			if unicode.IsSpace(runes[i]) || unicode.Is(unicode.Han, runes[i]) {
				lastBreak = i
				if unicode.Is(unicode.Han, runes[i]) {
					lastBreak = i + 1 // break after a Han character
				}
			}
		}
		out = append(out, string(runes[start:]))
	}
	return out
}

// clean keeps text as written but for what a PDF text line cannot hold:
// control characters become spaces, tabs too, and characters outside the
// Basic Multilingual Plane (emoji) become '?'.
func clean(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r > 0xFFFF || r == unicode.ReplacementChar:
			return '?'
		case unicode.IsControl(r) || r == '\t':
			return ' '
		}
		return r
	}, s)
}

func orNot(s string) string {
	if strings.TrimSpace(s) == "" {
		return notStated
	}
	return s
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}
