package checklist

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/handoffmed/handoff/platform/clinical"
	"github.com/handoffmed/handoff/platform/record"
)

// labUnit is a set of lab results of one date from one file: a lab report
// as a whole (its own date and the panels its text holds), or the dated
// results a document lists (a portal export's results, a lab table).
type labUnit struct {
	id     string
	date   string // "" when undated
	panels []string
}

// ageOf is how many days before the reference date a date is (-1 when it
// is not a date).
func (s *state) ageOf(date string) int {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return -1
	}
	days := int(s.ref.Sub(t).Hours() / 24)
	return max(days, 0)
}

// ageDays is how many days before the reference date a document is dated
// (-1 when it has no date).
func (s *state) ageDays(d *record.Document) int { return s.ageOf(d.Date) }

// labUnits gathers the lab results of the case, and the EKG results listed
// among them (dates of EKGs read from coded results).
func (k *Checker) labUnits(s *state) (units []labUnit, ekgs []labUnit) {
	isLabReport := map[string]bool{}
	for _, d := range s.byCat[record.CategoryLabReport] {
		isLabReport[d.id] = true
	}
	for _, d := range s.docs {
		if !isLabReport[d.id] && len(d.d.Labs) == 0 {
			continue
		}
		if isLabReport[d.id] && len(d.d.Labs) == 0 {
			units = append(units, labUnit{id: d.id, date: d.d.Date, panels: d.d.Panels})
			continue
		}
		byDate := map[string][]string{}
		var dates []string
		undated := false
		for _, r := range d.d.Labs {
			date := r.Date
			if date == "" {
				date = d.d.Date
			}
			if date == "" {
				undated = true
			}
			t, ok := k.vocab.Lab(r)
			if ok && t.Key == clinical.LabEKG {
				if date != "" {
					ekgs = append(ekgs, labUnit{id: d.id, date: date})
				}
				continue
			}
			if _, seen := byDate[date]; !seen {
				dates = append(dates, date)
				byDate[date] = nil
			}
			panel := r.Panel
			if panel == "" && ok && len(t.Panels) > 0 {
				panel = t.Panels[0]
			}
			if panel != "" && !slices.Contains(byDate[date], panel) {
				byDate[date] = append(byDate[date], panel)
			}
		}
		if isLabReport[d.id] {
			// The panels the report's text holds belong to its own date, or
			// to its latest result's when it states none.
			date := d.d.Date
			if date == "" && !undated && len(dates) > 0 {
				date = slices.Max(dates)
			}
			if _, seen := byDate[date]; !seen {
				dates = append(dates, date)
			}
			byDate[date] = union(byDate[date], d.d.Panels)
		} else {
			// Results of other documents count only with a date.
			dates = slices.DeleteFunc(dates, func(x string) bool { return x == "" })
		}
		sort.Strings(dates)
		for _, date := range dates {
			units = append(units, labUnit{id: d.id, date: date, panels: panelOrder(byDate[date])})
		}
	}
	return units, ekgs
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// panelOrder puts panels in the canonical order.
func panelOrder(ps []string) []string {
	var out []string
	for _, p := range []string{record.PanelCBC, record.PanelBMP, record.PanelCMP, record.PanelCoag, record.PanelHbA1c} {
		if slices.Contains(ps, p) {
			out = append(out, p)
		}
	}
	return out
}

func unitIDs(us []labUnit) []string {
	out := make([]string, 0, len(us))
	for _, u := range us {
		out = append(out, u.id)
	}
	return out
}

func (k *Checker) labs(s *state, f facts) {
	units, ekgResults := k.labUnits(s)
	ekgs := s.byCat[record.CategoryEKG]
	cxrs := s.byCat[record.CategoryChestXRay]
	files := append(append(ids(s.byCat[record.CategoryLabReport]), unitIDs(units)...), ids(ekgs)...)
	files = append(append(files, ids(cxrs)...), unitIDs(ekgResults)...)
	warn := false
	if len(units) == 0 {
		s.add(CodeLabsMissing, record.SeverityError,
			"No lab results: upload recent (within 90 days) blood work: complete blood count (CBC), basic metabolic panel (BMP) and PT/INR.")
		s.part(record.PartLabs, record.PartMissing, files)
		warn = true
	}
	// Panels of recent results, and stale results whose panels no recent
	// result repeats.
	recent := map[string]bool{}
	all := map[string]bool{}
	var undated []string
	hasRecentLab := false
	for _, u := range units {
		age := s.ageOf(u.date)
		for _, p := range u.panels {
			all[p] = true
			if age >= 0 && age <= labsMaxAge {
				recent[p] = true
			}
		}
		if age < 0 {
			undated = append(undated, u.id)
		}
		if age >= 0 && age <= labsMaxAge {
			hasRecentLab = true
		}
	}
	recentEKG := slices.ContainsFunc(ekgResults, func(u labUnit) bool { a := s.ageOf(u.date); return a >= 0 && a <= labsMaxAge })
	var stale []string
	oldest := 0
	for _, u := range units {
		age := s.ageOf(u.date)
		if age <= labsMaxAge {
			continue
		}
		covered := hasRecentLab
		for _, p := range u.panels {
			if !recent[p] && !(p == record.PanelBMP && recent[record.PanelCMP]) {
				covered = false
			}
		}
		if !covered {
			stale = append(stale, u.id)
			oldest = max(oldest, age)
		}
	}
	for _, d := range append(slices.Clone(ekgs), cxrs...) {
		age := s.ageDays(d.d)
		if age <= labsMaxAge || slices.ContainsFunc(s.byCat[record.CategoryLabReport], func(l doc) bool { return l.id == d.id }) {
			continue // a combined packet's pages are judged as a lab report
		}
		covered := false
		cat := record.CategoryEKG
		if slices.Contains(cxrs, d) {
			cat = record.CategoryChestXRay
		}
		for _, o := range s.byCat[cat] {
			if a := s.ageDays(o.d); a >= 0 && a <= labsMaxAge {
				covered = true
			}
		}
		if cat == record.CategoryEKG && recentEKG {
			covered = true
		}
		if !covered {
			stale = append(stale, d.id)
			oldest = max(oldest, age)
		}
	}
	for _, u := range ekgResults {
		age := s.ageOf(u.date)
		if age <= labsMaxAge || recentEKG || slices.ContainsFunc(ekgs, func(o doc) bool { a := s.ageDays(o.d); return a >= 0 && a <= labsMaxAge }) {
			continue
		}
		stale = append(stale, u.id)
		oldest = max(oldest, age)
	}
	if len(stale) > 0 {
		s.add(CodeLabsStale, record.SeverityError,
			fmt.Sprintf("%s older than 90 days at the reference date (up to %d days old); hospitals abroad ask for tests from the last 90 days, so repeat them before travel.",
				plural(len(slices.Compact(sorted(stale))), "lab result or test is", "lab results or tests are"), oldest), stale...)
		warn = true
	}
	if len(undated) > 0 {
		n := len(slices.Compact(sorted(undated)))
		s.add(CodeLabsUndated, record.SeverityInfo,
			"The collection date of "+plural(n, "lab report", "lab reports")+" could not be read; check that the labs are from the last 90 days.", undated...)
	}
	if len(units) > 0 {
		need := []struct {
			code, msg string
			ok        bool
		}{
			{CodeLabsCBC, "No complete blood count (CBC) among the labs.", all[record.PanelCBC]},
			{CodeLabsBMP, "No basic or comprehensive metabolic panel (BMP/CMP) among the labs.", all[record.PanelBMP] || all[record.PanelCMP]},
			{CodeLabsCoag, "No coagulation test (PT/INR) among the labs.", all[record.PanelCoag]},
		}
		for _, n := range need {
			if !n.ok {
				s.add(n.code, record.SeverityWarning, n.msg+" Ask for it with the other pre-surgery labs.")
				warn = true
			}
		}
	}
	if (f.cond.Diabetes || f.cond.Prediabetes) && !all[record.PanelHbA1c] {
		s.add(CodeLabsHbA1c, record.SeverityWarning,
			"Diabetes or prediabetes is declared but there is no HbA1c result: add a recent HbA1c.")
		warn = true
	}
	if (f.age > ekgAgeOver || f.cond.HeartDisease) && len(ekgs) == 0 && len(ekgResults) == 0 {
		why := "the patient is over 50"
		if f.cond.HeartDisease {
			why = "there is a cardiac history"
		}
		s.add(CodeLabsEKG, record.SeverityWarning, "No EKG: one is needed because "+why+". Add a recent 12-lead EKG.")
		warn = true
	}
	if f.cond.Respiratory && len(cxrs) == 0 && !s.chestImaging() {
		s.add(CodeLabsChestXRay, record.SeverityWarning,
			"A respiratory condition is declared but there is no chest X-ray report: add a recent chest X-ray.")
		warn = true
	}
	if len(units) == 0 {
		return
	}
	status := record.PartOK
	if warn {
		status = record.PartWarning
	}
	s.part(record.PartLabs, status, files)
}

func sorted(xs []string) []string {
	out := slices.Clone(xs)
	sort.Strings(out)
	return out
}

// chestImaging reports whether a chest CT or chest radiograph report is there.
func (s *state) chestImaging() bool {
	for _, d := range s.byCat[record.CategoryRadiologyReport] {
		if bodyKey(d.d.BodyPart) == "chest" && (d.d.Modality == "CT" || d.d.Modality == "XRay") {
			return true
		}
	}
	return false
}
