package understand

import (
	"strings"

	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/intake/internal/table"
)

// medColumns are the columns of a medication table (-1: none).
type medColumns struct {
	name, dose, how, since, stop, status, route, reason int
}

// medTable recognises a medication table: a header naming the medication
// and its dose or how it is taken, or, without a header, a first column
// that names known drugs in most rows beside a column of strengths.
func (a *Analyzer) medTable(t *table.Table) (medColumns, bool) {
	c := medColumns{name: -1, dose: -1, how: -1, since: -1, stop: -1, status: -1, route: -1, reason: -1}
	if t.Header != nil {
		h := &a.headers
		c.name = t.HeaderIndex(h.medName...)
		c.dose = t.HeaderIndex(h.medDose...)
		c.how = t.HeaderIndex(h.medHow...)
		c.since = t.HeaderIndex(h.medSince...)
		c.stop = t.HeaderIndex(h.medStop...)
		c.status = t.HeaderIndex(h.status...)
		c.route = t.HeaderIndex(h.medRoute...)
		c.reason = t.HeaderIndex(h.medReason...)
		// One column can match two lists ("Dose / how often"): a column
		// keeps its first role.
		for _, p := range []*int{&c.dose, &c.how, &c.since, &c.stop, &c.status, &c.route, &c.reason} {
			if *p == c.name {
				*p = -1
			}
		}
		if c.how == c.dose {
			c.how = -1
		}
		if c.name >= 0 && (c.dose >= 0 || c.how >= 0) {
			return c, true
		}
		if c.name < 0 || t.HeaderIndex(a.headers.labValue...) >= 0 {
			return c, false
		}
	}
	// No header, or one that names only the drug: the rows decide.
	if c.name < 0 {
		c.name = a.drugColumn(t)
	}
	drugs, strengths := 0, 0
	for _, r := range t.Rows {
		if _, _, _, ok := a.meds.findDrug(r[c.name]); ok {
			drugs++
		}
		for i, cell := range r {
			if i != c.name && a.meds.strengthRe.MatchString(cell) {
				strengths++
				break
			}
		}
	}
	return c, drugs*2 >= len(t.Rows) && strengths*2 >= len(t.Rows) && len(t.Rows) >= 2
}

// drugColumn is the column whose cells name a known drug most often (the
// first on a tie, the first column when none does).
func (a *Analyzer) drugColumn(t *table.Table) int {
	best, bestN := 0, 0
	for i := range t.Columns {
		if n := a.drugCount(t, i); n > bestN {
			best, bestN = i, n
		}
	}
	return best
}

// tableMeds reads the medications of a medication table, one per row: the
// drug from its name column (never from the column that says what it is
// for), the dose from the strength column (or the name's own strength, or
// the count the directions give), how it is taken from the directions,
// since when from the start column.
//
// A row that names no medication continues the one above (an export that
// sets a drug's name, directions and quantity on lines of their own, read
// as rows): its text completes that medication. With strict, a row names a
// medication only with a drug the vocabulary knows or a strength (a
// printed EHR record, whose drugs are coded); else any name beside other
// cells does (a patient's own list).
func (a *Analyzer) tableMeds(t *table.Table, c medColumns, strict bool) []record.Medication {
	var out []record.Medication
	var extra []string // text of the rows that continue out's last
	finish := func() {
		if len(out) > 0 && len(extra) > 0 {
			a.completeMed(&out[len(out)-1], strings.Join(extra, " "))
		}
		extra = nil
	}
	for _, r := range t.Rows {
		name := rowCell(r, c.name)
		if noneRe(name) {
			continue
		}
		dose, how := rowCell(r, c.dose), rowCell(r, c.how)
		// The parser sees the name and the strength apart (two spaces end
		// a name), never the reason column.
		m, ok := a.meds.line(strings.TrimSpace(name+"  "+dose+"  "+how), true)
		_, _, _, known := a.meds.findDrug(name)
		strength := a.meds.strengthRe.MatchString(name + " " + dose)
		switch {
		case ok && (known || strength):
		case strength && letters(name) >= 3 || !strict && a.looksLikeName(name) && nonEmptyCells(r) >= 2:
			// A medicine the vocabulary does not know, with its strength
			// ("24 HR Nicotine 0.313 MG/HR Transdermal Patch"), or named in
			// the column a header calls the medication's.
			if !ok || known {
				m = record.Medication{Name: name, Generic: firstName(name)}
			}
			m.Name, ok = name, true
		default:
			ok = false // no medication: a drug named only in the directions, or none
		}
		if !ok {
			if len(out) > 0 {
				for i, cell := range r {
					if i != c.reason && strings.TrimSpace(cell) != "" {
						extra = append(extra, cell)
					}
				}
			}
			continue
		}
		finish()
		if s := a.meds.strengthRe.FindString(dose); s != "" {
			m.Dose = strings.TrimSpace(s)
		} else if dose != "" && strings.ContainsAny(dose, "0123456789") {
			m.Dose = dose
		} else if m.Dose == "" {
			if s := a.meds.strengthRe.FindString(name); s != "" {
				m.Dose = strings.TrimSpace(s)
			} else if s := a.meds.countRe.FindString(dose + " " + how); s != "" {
				m.Dose = strings.TrimSpace(s)
			}
		}
		if f := strings.TrimSpace(a.meds.freqRe.FindString(how)); f != "" {
			m.Frequency = f
		} else if how != "" && len(how) <= 80 {
			m.Frequency = how
		}
		if since := rowCell(r, c.since); since != "" {
			m.Start = partialDate(a.dates, since)
			m.Duration = "since " + since
		}
		if stop := rowCell(r, c.stop); stop != "" {
			m.Stop = partialDate(a.dates, stop)
		}
		if s := rowCell(r, c.status); s != "" {
			m.Status = strings.ToLower(s)
		}
		if s := rowCell(r, c.route); s != "" {
			m.Route = strings.ToLower(s)
		}
		// The row's other cells (not what it is for) may still say how
		// much and how often ("INHALE 2 PUFFS Every 6 hours" under the
		// drug's name in an export's one column).
		for i, cell := range r {
			if i != c.reason && i != c.name && i != c.dose && i != c.how && strings.TrimSpace(cell) != "" {
				extra = append(extra, cell)
			}
		}
		if s := a.meds.countRe.FindString(name); m.Dose == "" && s != "" {
			m.Dose = strings.TrimSpace(s)
		}
		out = append(out, m)
	}
	finish()
	return out
}

// completeMed fills what a medication lacks from text that continues it:
// a dose (a strength, else how many: "2 puffs"), how often, since when.
func (a *Analyzer) completeMed(m *record.Medication, text string) {
	if m.Dose == "" {
		if s := a.meds.strengthRe.FindString(text); s != "" {
			m.Dose = strings.TrimSpace(s)
		} else if s := a.meds.countRe.FindString(text); s != "" {
			m.Dose = strings.TrimSpace(s)
		}
	}
	if m.Frequency == "" {
		m.Frequency = strings.TrimSpace(a.meds.freqRe.FindString(text))
	}
	if m.Duration == "" {
		m.Duration = strings.TrimSpace(a.meds.durRe.FindString(text))
	}
}

// firstName is the first word of letters of a name, lower case: the
// generic of a medicine the vocabulary does not know.
func firstName(s string) string {
	for _, f := range strings.Fields(s) {
		if isLetters(f) {
			return strings.ToLower(strings.Trim(f, "(),.;:"))
		}
	}
	return strings.ToLower(s)
}

// looksLikeName reports whether a cell reads as a medicine's name: it
// starts with a letter, is no label ("Quantity:") and has at most six
// words.
func (a *Analyzer) looksLikeName(s string) bool {
	f := strings.Fields(s)
	if len(f) == 0 || len(f) > 6 || strings.HasSuffix(f[0], ":") {
		return false
	}
	r := f[0][0]
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}

func nonEmptyCells(r []string) int {
	n := 0
	for _, c := range r {
		if strings.TrimSpace(c) != "" {
			n++
		}
	}
	return n
}

// partialDate reads a date as a medication list gives a start: a full date
// (YYYY-MM-DD), a month ("06/2023", "June 2023": YYYY-MM) or a year
// ("2019"); "" when none.
func partialDate(dates *dateParser, s string) string {
	if ds := dates.find(s); len(ds) > 0 {
		return ds[0].iso
	}
	fields := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return r == ' ' || r == ',' || r == '/' || r == '-' || r == '.' })
	year, month := "", 0
	for _, f := range fields {
		switch {
		case len(f) == 4 && allDigits(f) && (f[:2] == "19" || f[:2] == "20"):
			year = f
		case len(f) <= 2 && allDigits(f) && atoi(f) >= 1 && atoi(f) <= 12 && month == 0:
			month = atoi(f)
		case len(f) >= 3 && months[f[:3]] > 0 && month == 0:
			month = months[f[:3]]
		}
	}
	switch {
	case year == "":
		return ""
	case month > 0:
		return year + "-" + string(rune('0'+month/10)) + string(rune('0'+month%10))
	}
	return year
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
