package bundler

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/handoffmed/handoff/platform/clinical"
	"github.com/handoffmed/handoff/platform/record"

	"github.com/handoffmed/handoff/services/packager/internal/render"
)

// facts returns the report's facts (nil without a report or facts).
func facts(in Input) *record.Facts {
	if in.Report == nil {
		return nil
	}
	return in.Report.Facts
}

// medications are the summary's medication lines, once per drug (by
// generic name), flagged as the checklist flagged them. The report's facts
// are the source when there are some; without them (an older report) the
// medications typed on the case (or read from the uploaded summary shown)
// and the documents are read with the same vocabulary.
func medications(in Input, typedMeds []string, pathOf map[string]string, vocab *clinical.Vocabulary) []render.Medication {
	var out []render.Medication
	if f := facts(in); f != nil && len(f.Medications) > 0 {
		for _, m := range f.Medications {
			out = append(out, render.Medication{Text: medText(m.Name, m.Dose, m.Frequency, m.Duration), Chinese: chinese(vocab, m.Generic),
				Class: m.Class, Flagged: m.Anticoagulant})
		}
		return out
	}
	seen := map[string]bool{}
	add := func(generic string, m render.Medication) {
		k := clinical.Key(generic)
		if k == "" {
			k = clinical.Key(m.Text)
		}
		if k == "" || seen[k] {
			return
		}
		seen[k] = true
		out = append(out, m)
	}
	for _, typed := range typedMeds {
		d, ok := vocab.MedicationText(typed)
		class, generic, zh := "", typed, ""
		if ok {
			class, generic, zh = d.MedicationClass(), d.Generic, d.Chinese
		}
		add(generic, render.Medication{Text: strings.TrimSpace(typed), Chinese: zh, Class: class, Flagged: clinical.Flagged(class)})
	}
	var docs []record.File
	for _, f := range in.Files {
		if f.Document != nil && len(f.Document.Medications) > 0 && pathOf[f.ID] != "" {
			docs = append(docs, f)
		}
	}
	slices.SortFunc(docs, func(a, b record.File) int { return cmp.Compare(pathOf[a.ID], pathOf[b.ID]) })
	for _, f := range docs {
		for _, m := range f.Document.Medications {
			class := vocab.MedicationClass(m)
			generic, zh := m.Generic, ""
			if d, ok := vocab.Medication(m); ok {
				generic, zh = d.Generic, d.Chinese
			}
			add(cmp.Or(generic, m.Name), render.Medication{Text: medText(m.Name, m.Dose, m.Frequency, m.Duration), Chinese: zh,
				Class: class, Flagged: clinical.Flagged(class)})
		}
	}
	return out
}

// medText joins a medication's parts, leaving out a part the name already
// holds ("Aspirin 81 MG Oral Tablet" with dose "81 mg").
func medText(name string, parts ...string) string {
	text := strings.TrimSpace(name)
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p != "" && !strings.Contains(strings.ToLower(text), strings.ToLower(p)) {
			text += " " + p
		}
	}
	return text
}

func chinese(vocab *clinical.Vocabulary, generic string) string {
	if d, ok := vocab.Drug(generic); ok {
		return d.Chinese
	}
	return ""
}

// keyLabs are the latest value of each key test the summary shows
// (haemoglobin, white cells, platelets, creatinine, potassium, glucose,
// INR, HbA1c), with its date and an out-of-range mark.
func keyLabs(in Input, vocab *clinical.Vocabulary) []render.Lab {
	f := facts(in)
	if f == nil {
		return nil
	}
	ref, err := time.Parse(time.DateOnly, in.Report.ReferenceDate)
	if err != nil {
		ref = time.Time{}
	}
	var out []render.Lab
	for _, t := range vocab.SummaryLabs() {
		var best *record.LabFact
		for i := range f.Labs {
			l := &f.Labs[i]
			got, ok := vocab.Lab(record.LabResult{Name: l.Name, LOINC: l.LOINC})
			if !ok || got.Key != t.Key || strings.TrimSpace(l.Value) == "" {
				continue
			}
			if best == nil || l.Date > best.Date {
				best = l
			}
		}
		if best == nil {
			continue
		}
		lab := render.Lab{Name: t.Name, Chinese: t.Chinese, Value: best.Value, Unit: best.Unit, Range: best.Range, Date: best.Date,
			Mark: outOfRange(best.Value, best.Range, best.Flag)}
		if d, err := time.Parse(time.DateOnly, best.Date); err == nil && !ref.IsZero() && ref.Sub(d) > 90*24*time.Hour {
			lab.Old = true
		}
		out = append(out, lab)
	}
	return out
}

// outOfRange is "H" or "L" for a value above or below its range ("A" for
// an abnormal flag without direction), "" otherwise. The lab's own flag
// decides when there is one; else the value is compared with a numeric
// range "low-high".
func outOfRange(value, rng, flag string) string {
	switch f := strings.ToUpper(strings.TrimSpace(flag)); f {
	case "H", "HH", "HIGH", ">":
		return "H"
	case "L", "LL", "LOW", "<":
		return "L"
	case "A", "AA", "ABNORMAL":
		return "A"
	case "N", "NORMAL":
		return ""
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
	if err != nil {
		return ""
	}
	lo, hi, ok := strings.Cut(rng, "-")
	if !ok {
		return ""
	}
	l, err1 := strconv.ParseFloat(strings.TrimSpace(lo), 64)
	h, err2 := strconv.ParseFloat(strings.TrimSpace(strings.Fields(hi + " x")[0]), 64)
	switch {
	case err1 != nil || err2 != nil:
		return ""
	case v > h:
		return "H"
	case v < l:
		return "L"
	}
	return ""
}

// measures are the height and weight shown: the summary's, with metric
// units beside the patient's, else the latest vital signs of the records.
func measures(in Input, s record.Summary) (height, weight string) {
	height, weight = clinical.MetricHeight(s.Height), clinical.MetricWeight(s.Weight)
	f := facts(in)
	if f == nil {
		return height, weight
	}
	var hv, wv *record.VitalFact
	for i := range f.Vitals {
		v := &f.Vitals[i]
		n := clinical.Key(v.Name)
		switch {
		case strings.Contains(n, "height") || strings.Contains(n, "length"):
			if _, ok := clinical.Height(v.Value + " " + v.Unit); ok && (hv == nil || v.Date > hv.Date) {
				hv = v
			}
		case strings.Contains(n, "weight"):
			if _, ok := clinical.Weight(v.Value + " " + v.Unit); ok && (wv == nil || v.Date > wv.Date) {
				wv = v
			}
		}
	}
	if strings.TrimSpace(s.Height) == "" && hv != nil {
		height = clinical.MetricHeight(strings.TrimSpace(hv.Value+" "+hv.Unit)) + dated(hv.Date)
	}
	if strings.TrimSpace(s.Weight) == "" && wv != nil {
		weight = clinical.MetricWeight(strings.TrimSpace(wv.Value+" "+wv.Unit)) + dated(wv.Date)
	}
	return height, weight
}

func dated(d string) string {
	if d == "" {
		return " (records 病历)"
	}
	return " (records 病历, " + d + ")"
}

// problems are the current problems of the records' problem lists; the
// conditions they mean are added to the summary's.
func problems(in Input, vocab *clinical.Vocabulary, c *record.Conditions) []string {
	f := facts(in)
	if f == nil {
		return nil
	}
	var out []string
	for _, p := range f.Problems {
		if !clinical.ActiveProblem(p.Status) {
			continue
		}
		if k, ok := vocab.Problem(record.Problem{Name: p.Name, Code: p.Code, System: p.System}); ok {
			switch k {
			case clinical.ConditionDiabetes:
				c.Diabetes = true
			case clinical.ConditionPrediabetes:
				c.Prediabetes = true
			case clinical.ConditionCardiac:
				c.HeartDisease = true
			case clinical.ConditionRespiratory:
				c.Respiratory = true
			}
		}
		if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, p.Name) }) {
			out = append(out, p.Name)
		}
	}
	return out
}

// impressions are the impressions of the radiology reports in the bundle,
// oldest first.
func impressions(in Input, pathOf map[string]string) []render.Impression {
	var out []render.Impression
	for _, f := range in.Files {
		d := f.Document
		if d == nil || pathOf[f.ID] == "" || strings.TrimSpace(d.Impression) == "" ||
			d.Category != record.CategoryRadiologyReport && d.Category != record.CategoryChestXRay {
			continue
		}
		out = append(out, render.Impression{Date: d.Date, Modality: d.Modality, BodyPart: d.BodyPart, Text: d.Impression})
	}
	slices.SortStableFunc(out, func(a, b render.Impression) int { return cmp.Compare(a.Date, b.Date) })
	return out
}
