package bundler

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/handoffmed/handoff/platform/clinical"
	"github.com/handoffmed/handoff/platform/record"

	"github.com/handoffmed/handoff/services/packager/internal/layout"
	"github.com/handoffmed/handoff/services/packager/internal/render"
)

// summaryData gathers what the one-page summary shows. The case fields are
// the source; when the patient entered none and uploaded a summary instead,
// the facts read from that upload are shown and the upload is pointed to.
func summaryData(in Input, plan layout.Plan, stamp time.Time, vocab *clinical.Vocabulary) render.SummaryData {
	id := layout.PatientIdentity(in.Case, in.Files)
	d := render.SummaryData{
		CaseID: in.Case.ID, Family: id.Family, Given: id.Given, BirthDate: id.BirthDate,
		Sex: in.Case.Patient.Sex, Summary: in.Case.Summary, Generated: stamp,
	}
	if id.FromPassport {
		d.Source = "Names as on the passport. Free text is kept as the patient wrote it, never translated. 患者原文，未经翻译。"
	}

	pathOf := map[string]string{}
	for _, it := range plan.Items {
		pathOf[it.FileID] = it.Path
	}
	var uploaded []record.File
	for _, f := range in.Files {
		if f.Document != nil && f.Document.Category == record.CategorySummary && pathOf[f.ID] != "" {
			uploaded = append(uploaded, f)
		}
	}
	slices.SortFunc(uploaded, func(a, b record.File) int { return cmp.Compare(pathOf[a.ID], pathOf[b.ID]) })
	for _, f := range uploaded {
		d.Uploaded = append(d.Uploaded, pathOf[f.ID])
	}
	if emptySummary(d.Summary) {
		for _, f := range uploaded {
			if f.Document.SummaryFact != nil {
				d.Summary = *f.Document.SummaryFact
				d.Source = "Read from the summary the patient uploaded (" + pathOf[f.ID] + "), kept as written. 摘自患者上传的摘要，未经翻译。"
				break
			}
		}
	}

	d.Medications = medications(in, d.Summary.Medications, pathOf, vocab)
	d.Labs = keyLabs(in, vocab)
	d.Height, d.Weight = measures(in, d.Summary)
	d.Problems = problems(in, vocab, &d.Summary.Conditions)
	d.Impressions = impressions(in, pathOf)

	if in.Index != nil {
		for _, st := range in.Index.Studies {
			s := render.Study{Folder: layout.FilePart(st.Folder), Date: st.Date, Description: st.Description, Series: len(st.Series)}
			for _, se := range st.Series {
				s.Instances += se.Instances
				if s.Modality == "" {
					s.Modality = se.Modality
				}
				if s.BodyPart == "" {
					s.BodyPart = se.BodyPart
				}
			}
			d.Studies = append(d.Studies, s)
		}
		slices.SortFunc(d.Studies, func(a, b render.Study) int { return cmp.Compare(a.Folder, b.Folder) })
	}
	if in.Report != nil {
		for _, f := range in.Report.Findings {
			if f.Severity == record.SeverityError || f.Severity == record.SeverityWarning {
				d.Findings = append(d.Findings, f)
			}
		}
		slices.SortStableFunc(d.Findings, func(a, b record.Finding) int {
			return cmp.Compare(sevRank(a.Severity), sevRank(b.Severity))
		})
	}
	return d
}

func sevRank(s string) int {
	if s == record.SeverityError {
		return 0
	}
	return 1
}

func emptySummary(s record.Summary) bool {
	return s.Age == 0 && s.Height == "" && s.Weight == "" && s.Allergies == "" && s.Procedure == "" &&
		s.SymptomHistory == "" && s.USRecommendation == "" && s.QuotedCost == "" && s.ReasonAbroad == "" &&
		len(s.Medications) == 0
}

// fullText is the summary's text in full, for when the page had to cut it.
func fullText(d render.SummaryData) string {
	var b strings.Builder
	s := d.Summary
	fmt.Fprintf(&b, "Case summary (full text, as written) — case %s\n\n", d.CaseID)
	for _, f := range []struct{ k, v string }{
		{"Allergies", s.Allergies}, {"Procedure sought", s.Procedure}, {"Symptom history", s.SymptomHistory},
		{"US recommendation", s.USRecommendation}, {"Quoted cost", s.QuotedCost}, {"Reason for care abroad", s.ReasonAbroad},
		{"Other conditions", s.Conditions.Other}, {"Prior surgeries", strings.Join(s.Conditions.PriorSurgeries, "; ")},
	} {
		if strings.TrimSpace(f.v) != "" {
			fmt.Fprintf(&b, "%s:\n%s\n\n", f.k, f.v)
		}
	}
	if len(d.Medications) > 0 {
		b.WriteString("Medications:\n")
		for _, m := range d.Medications {
			flag := ""
			if m.Flagged {
				flag = " [" + cmp.Or(render.ClassLabel(m.Class), "AFFECTS CLOTTING") + "]"
			}
			fmt.Fprintf(&b, "- %s%s\n", m.Text, flag)
		}
		b.WriteString("\n")
	}
	if len(d.Findings) > 0 {
		b.WriteString("Open findings:\n")
		for _, f := range d.Findings {
			fmt.Fprintf(&b, "- [%s] %s\n", strings.ToUpper(f.Severity), f.Message)
		}
	}
	return b.String()
}
