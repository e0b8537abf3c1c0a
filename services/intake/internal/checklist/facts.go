package checklist

import (
	"strings"
	"time"

	"github.com/handoffmed/handoff/platform/clinical"
	"github.com/handoffmed/handoff/platform/record"
)

// factsOf collects the clinical facts of a case for the report: the
// medications typed on the case, then what every finished document says,
// file by file in ID order, each fact once across files. A fact read from
// several files keeps the most complete reading (a medication with its
// dose over one without).
func (k *Checker) factsOf(s *state) *record.Facts {
	v := k.vocab
	f := &record.Facts{Medications: []record.MedicationFact{}, Labs: []record.LabFact{}, Problems: []record.ProblemFact{},
		Allergies: []record.AllergyFact{}, Procedures: []record.ProcedureFact{}, Vitals: []record.VitalFact{}}

	meds := map[string]int{}
	addMed := func(m record.Medication, file string) {
		generic := clinical.Key(m.Generic)
		if d, ok := v.Medication(m); ok {
			generic = d.Generic
		}
		if generic == "" {
			generic = clinical.Key(m.Name)
		}
		if generic == "" {
			return
		}
		class := v.MedicationClass(m)
		mf := record.MedicationFact{Name: m.Name, Generic: generic, Dose: m.Dose, Frequency: m.Frequency, Duration: m.Duration,
			Route: m.Route, Start: m.Start, Status: m.Status, Class: class, Anticoagulant: clinical.Flagged(class), File: file}
		if i, ok := meds[generic]; ok {
			if medScore(mf) > medScore(f.Medications[i]) {
				f.Medications[i] = mf
			}
			return
		}
		meds[generic] = len(f.Medications)
		f.Medications = append(f.Medications, mf)
	}
	for _, m := range k.an.Medications(s.c.Summary.Medications) {
		addMed(m, "")
	}

	labs := map[string]int{}
	problems := map[string]int{}
	allergies := map[string]int{}
	procedures := map[string]bool{}
	vitals := map[string]bool{}
	for _, d := range s.docs {
		for _, m := range d.d.Medications {
			if currentMed(m, s.ref) {
				addMed(m, d.id)
			}
		}
		for _, r := range d.d.Labs {
			lf := record.LabFact{Name: r.Name, LOINC: r.LOINC, Panel: r.Panel, Value: r.Value, Unit: r.Unit, Range: r.Range,
				Flag: r.Flag, Date: r.Date, File: d.id}
			test := clinical.Key(r.Name)
			if r.LOINC != "" {
				test = r.LOINC
			}
			if t, ok := v.Lab(r); ok {
				test = t.Key
				if lf.Panel == "" && len(t.Panels) > 0 {
					lf.Panel = t.Panels[0]
				}
			}
			key := test + "|" + r.Date + "|" + clinical.Key(r.Value)
			if i, ok := labs[key]; ok {
				if labScore(lf) > labScore(f.Labs[i]) {
					f.Labs[i] = lf
				}
				continue
			}
			labs[key] = len(f.Labs)
			f.Labs = append(f.Labs, lf)
		}
		for _, p := range d.d.Problems {
			pf := record.ProblemFact{Name: p.Name, Code: p.Code, System: p.System, Status: p.Status, File: d.id}
			keys := []string{"name:" + clinical.Key(p.Name)}
			if p.Code != "" {
				keys = append(keys, "code:"+strings.ToUpper(strings.TrimSpace(p.Code)))
			}
			i, seen := -1, false
			for _, k := range keys {
				if j, ok := problems[k]; ok {
					i, seen = j, true
					break
				}
			}
			if seen {
				if problemScore(pf) > problemScore(f.Problems[i]) {
					f.Problems[i] = pf
				}
			} else {
				i = len(f.Problems)
				f.Problems = append(f.Problems, pf)
			}
			for _, k := range keys {
				problems[k] = i
			}
		}
		for _, a := range d.d.Allergies {
			key := clinical.Key(a.Name)
			af := record.AllergyFact{Name: a.Name, Reaction: a.Reaction, File: d.id}
			if i, ok := allergies[key]; ok {
				if f.Allergies[i].Reaction == "" && af.Reaction != "" {
					f.Allergies[i] = af
				}
				continue
			}
			allergies[key] = len(f.Allergies)
			f.Allergies = append(f.Allergies, af)
		}
		for _, p := range d.d.Procedures {
			key := clinical.Key(p.Name) + "|" + p.Date
			if procedures[key] {
				continue
			}
			procedures[key] = true
			f.Procedures = append(f.Procedures, record.ProcedureFact{Name: p.Name, Date: p.Date, File: d.id})
		}
		for _, x := range d.d.Vitals {
			name := clinical.Key(x.Name)
			if x.LOINC != "" {
				name = x.LOINC
			}
			key := name + "|" + x.Date + "|" + clinical.Key(x.Value) + "|" + clinical.Key(x.Unit)
			if vitals[key] {
				continue
			}
			vitals[key] = true
			f.Vitals = append(f.Vitals, record.VitalFact{Name: x.Name, Value: x.Value, Unit: x.Unit, Date: x.Date, File: d.id})
		}
	}
	return f
}

func medScore(m record.MedicationFact) int {
	n := 0
	for _, x := range []struct {
		v string
		w int
	}{{m.Dose, 8}, {m.Frequency, 4}, {m.Duration, 1}, {m.Route, 1}, {m.Start, 1}} {
		if strings.TrimSpace(x.v) != "" {
			n += x.w
		}
	}
	return n
}

func labScore(l record.LabFact) int {
	n := 0
	for _, x := range []string{l.LOINC, l.Unit, l.Range, l.Flag, l.Panel} {
		if x != "" {
			n++
		}
	}
	return n
}

func problemScore(p record.ProblemFact) int {
	n := 0
	if p.Code != "" {
		n += 2
	}
	if p.Status != "" {
		n++
	}
	return n
}

// currentMed reports whether a medication read from a document is current:
// not stopped, completed or ended before the reference date.
func currentMed(m record.Medication, ref time.Time) bool {
	switch clinical.Key(m.Status) {
	case "completed", "stopped", "discontinued", "inactive", "cancelled", "canceled", "aborted", "nullified",
		"entered-in-error", "entered in error", "held", "suspended":
		return false
	}
	if m.Stop != "" {
		if t, ok := partialDate(m.Stop); ok && t.Before(ref) {
			return false
		}
	}
	return true
}

// partialDate reads YYYY-MM-DD, YYYY-MM or YYYY (the end of the period
// for the shorter forms).
func partialDate(s string) (time.Time, bool) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, true
	}
	if t, err := time.Parse("2006-01", s); err == nil {
		return t.AddDate(0, 1, -1), true
	}
	if t, err := time.Parse("2006", s); err == nil {
		return t.AddDate(1, 0, -1), true
	}
	return time.Time{}, false
}
