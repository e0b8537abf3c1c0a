package understand

import (
	"strings"

	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/intake/internal/table"
)

// labColumns are the columns of a lab table (-1: none). value and
// outOfRange are both value columns on reports that print a flagged value
// in a column of its own (Quest's "In Range" and "Out Of Range").
type labColumns struct {
	name, value, outOfRange, unit, rng, flag, date, code, system int
	// dates are the columns headed by a collection date, in a cumulative
	// report or a vital-signs table (a value per date): -1 when none.
	dates []int
}

// labTable recognises a lab table: a header naming the test and its value
// (or dates: a cumulative report), or, without a header, a first column of
// tests the vocabulary knows beside a column of numbers.
func (a *Analyzer) labTable(t *table.Table) (labColumns, bool) {
	h := &a.headers
	c := labColumns{name: -1, value: -1, outOfRange: -1, unit: -1, rng: -1, flag: -1, date: -1, code: -1, system: -1}
	if t.Header != nil {
		c.name = t.HeaderIndex(h.labName...)
		c.value = t.HeaderIndex(h.labValue...)
		c.outOfRange = t.HeaderIndex(h.labOutOfRange...)
		c.unit = t.HeaderIndex(h.labUnit...)
		c.rng = t.HeaderIndex(h.labRange...)
		c.flag = t.HeaderIndex(h.labFlag...)
		c.date = t.HeaderIndex(h.date...)
		c.system = t.HeaderIndex(h.codeSystem...)
		c.code = t.HeaderIndex(h.code...)
		if c.code == c.system || c.code == c.name {
			c.code = -1
		}
		if c.rng == c.value {
			c.rng = -1
		}
		for i, hd := range t.Header {
			if i > 0 && a.firstDate(hd) != "" && len(strings.Fields(hd)) <= 5 {
				c.dates = append(c.dates, i)
			}
		}
		if len(c.dates) > 0 && c.value < 0 {
			if c.name < 0 {
				c.name = 0
			}
			return c, true
		}
		if c.name >= 0 && (c.value >= 0 || c.outOfRange >= 0) {
			return c, true
		}
		if c.name >= 0 || c.value >= 0 {
			return c, false
		}
	}
	// The rows decide: known tests beside numbers.
	c.name, c.value = 0, -1
	known, numbers := 0, make([]int, len(t.Columns))
	for _, r := range t.Rows {
		if _, ok := a.vocab.LabByName(r[0]); ok {
			known++
		}
		for i := 1; i < len(r); i++ {
			if v, _, _, _ := a.labValue(r[i]); v != "" && strings.ContainsAny(v, "0123456789") {
				numbers[i]++
			}
		}
	}
	for i := 1; i < len(numbers); i++ {
		if numbers[i]*2 >= len(t.Rows) {
			c.value = i
			break
		}
	}
	return c, c.value > 0 && known*2 >= len(t.Rows) && len(t.Rows) >= 2
}

// tableLabs reads the results of a lab table, one per row (or one per row
// and date column in a cumulative report). A result without a date of its
// own takes date, the report's collection date.
func (a *Analyzer) tableLabs(t *table.Table, c labColumns, date string) []record.LabResult {
	carried := ""
	return a.tableLabsCarry(t, c, date, &carried)
}

// tableLabsCarry is tableLabs with the date carried down the rows kept in
// *carried, so that a table continued on the next page (its header
// printed again) goes on with the date of the group above.
func (a *Analyzer) tableLabsCarry(t *table.Table, c labColumns, date string, carried *string) []record.LabResult {
	var out []record.LabResult
	cell := func(r []string, i int) string {
		if i < 0 || i >= len(r) {
			return ""
		}
		return strings.TrimSpace(r[i])
	}
	// A date cell spans the rows of its group (a panel's results under
	// one "Resulted on"): a row without one takes the last one above.
	for _, r := range t.Rows {
		if d := a.firstDate(cell(r, c.date)); d != "" {
			*carried = d
		}
		nameCell := cell(r, c.name)
		if nameCell == "" {
			// A name under a header centred apart from it: the first text
			// of the row that is no value, date or code.
			for i := range r {
				if i == c.date && a.firstDate(cell(r, i)) != "" {
					continue
				}
				if i != c.value && i != c.outOfRange && i != c.code && i != c.system && i != c.unit && i != c.rng && cell(r, i) != "" {
					nameCell = cell(r, i)
					break
				}
			}
		}
		// A date in the name's cell is the group's date, no part of the
		// name ("Troponin T 2-Oct-2012" under a date column set apart).
		if ds := a.dates.find(nameCell); len(ds) > 0 {
			*carried = ds[0].iso
			nameCell = strings.TrimSpace(nameCell[:ds[0].start] + nameCell[ds[0].end:])
		}
		name, rng := labName(nameCell)
		if name == "" || strings.HasSuffix(name, ":") {
			continue
		}
		if len(c.dates) > 0 && c.value < 0 {
			for _, i := range c.dates {
				v, unit, flag, _ := a.labValue(cell(r, i))
				if v == "" {
					continue
				}
				out = append(out, a.labResult(record.LabResult{Name: name, Value: v, Unit: unit, Flag: flag, Range: rng,
					Date: a.firstDate(t.Header[i])}, cell(r, c.code), cell(r, c.system)))
			}
			continue
		}
		raw, flagged := cell(r, c.value), false
		if raw == "" {
			raw, flagged = cell(r, c.outOfRange), true
		}
		v, unit, flag, d := a.labValue(raw)
		if v == "" {
			continue
		}
		res := record.LabResult{Name: name, Value: v, Unit: unit, Flag: flag, Range: rng, Date: d}
		if u := cell(r, c.unit); u != "" {
			res.Unit = u
		}
		if x := cell(r, c.rng); x != "" {
			res.Range = x
		}
		if f := flagOf(cell(r, c.flag)); f != "" {
			res.Flag = f
		} else if flagged && res.Flag == "" {
			res.Flag = "A"
		}
		if *carried != "" && (c.date >= 0 || res.Date == "") {
			res.Date = *carried
		}
		if res.Date == "" {
			res.Date = date
		}
		out = append(out, a.labResult(res, cell(r, c.code), cell(r, c.system)))
	}
	return out
}

// labResult fills a result's LOINC code and panel: the code printed
// beside it when it is a LOINC code, else the vocabulary's for its name.
func (a *Analyzer) labResult(r record.LabResult, code, system string) record.LabResult {
	r.Name = ocrA1c(r.Name)
	// A row can list a test's codes in several systems ("LOINC CPT
	// SNOMED-CT" beside "14646-4 83701 28036006"): the LOINC-shaped one,
	// when the system names LOINC or is not given.
	if system == "" || strings.Contains(strings.ToUpper(system), "LOINC") {
		for _, f := range strings.Fields(code) {
			if isLOINC(f) {
				r.LOINC = f
				break
			}
		}
	}
	if t, ok := a.vocab.Lab(r); ok {
		if r.LOINC == "" && len(t.LOINC) > 0 {
			r.LOINC = t.LOINC[0]
		}
		if len(t.Panels) == 1 {
			r.Panel = t.Panels[0]
		}
	}
	return r
}

// ocrA1c undoes OCR's most common slip on a lab report: "A1c" read as
// "Alc" ("Hemoglobin Alc" is no hemoglobin).
func ocrA1c(name string) string {
	f := strings.Fields(name)
	for i, w := range f {
		if strings.EqualFold(w, "alc") || strings.EqualFold(w, "hbalc") {
			f[i] = w[:len(w)-2] + "1c"
		}
	}
	return strings.Join(f, " ")
}

// isLOINC reports whether s has a LOINC code's shape: 1-7 digits, a
// hyphen, a check digit.
func isLOINC(s string) bool {
	i := strings.IndexByte(s, '-')
	return i >= 1 && i <= 7 && i == len(s)-2 && allDigits(s[:i]) && allDigits(s[i+1:])
}

// labName splits a test's cell into its name and the reference range some
// reports print with it ("Sodium Level [135-145 mmol/L]", "HGB (M 13-18
// g/dl; F 12-16 g/dl)").
func labName(s string) (name, rng string) {
	s = strings.TrimSpace(s)
	for _, br := range [][2]string{{"[", "]"}, {"(", ")"}} {
		i := strings.LastIndex(s, br[0])
		if i <= 0 {
			continue
		}
		inner := strings.TrimSuffix(s[i+1:], br[1])
		if strings.ContainsAny(inner, "0123456789") && (strings.ContainsAny(inner, "-<>") || strings.Contains(inner, " to ")) {
			return strings.TrimSpace(s[:i]), strings.TrimSpace(inner)
		}
	}
	return s, ""
}

// labValue reads a result cell: the value ("13.2", "<0.5", "Negative"),
// the unit printed after a number ("13.2 g/dL"), an abnormal flag printed
// with it ("123 (L)", "185 mg/dL *HI*", "5.9 H") and a date printed with
// it ("(07/10/2013 22:25:00 America/Chicago)").
func (a *Analyzer) labValue(s string) (value, unit, flag, date string) {
	s = strings.TrimSpace(s)
	if ds := a.dates.find(s); len(ds) > 0 {
		date = ds[0].iso
		cut := ds[0].start
		if o := strings.LastIndex(s[:cut], "("); o >= 0 && strings.TrimSpace(s[o+1:cut]) == "" {
			cut = o
		}
		s = strings.TrimSpace(s[:cut])
	}
	var rest []string
	for _, f := range strings.Fields(s) {
		if fl := flagOf(f); fl != "" && fl != "N" && len(rest) > 0 {
			flag = fl
			continue
		}
		rest = append(rest, f)
	}
	if len(rest) == 0 {
		return "", "", flag, date
	}
	first := rest[0]
	if numeric(first) {
		value = first
		if len(rest) > 1 && unitLike(rest[1]) {
			unit = rest[1]
		}
		return value, unit, flag, date
	}
	// A qualitative result: the words as written.
	return strings.Join(rest, " "), "", flag, date
}

// numeric reports whether w is a number as results print them: "13.2",
// ".8", "<0.5", ">=60", "1,000".
func numeric(w string) bool {
	w = strings.TrimLeft(w, "<>=≤≥~")
	w = strings.ReplaceAll(w, ",", "")
	if w == "" {
		return false
	}
	dot := false
	for i, r := range w {
		switch {
		case r >= '0' && r <= '9':
		case r == '.' && !dot:
			dot = true
		case r == '-' && i == 0:
		default:
			return false
		}
	}
	return strings.ContainsAny(w, "0123456789")
}

// unitLike reports whether a word after a value reads as its unit.
func unitLike(w string) bool {
	if strings.HasPrefix(w, "(") || flagOf(w) != "" {
		return false
	}
	return strings.ContainsAny(w, "%/*^") || letters(w) > 0 && len(w) <= 12
}

// flagOf reads an abnormal flag: H, L, HH, LL, A, N and the words and
// marks reports print for them ("High", "*HI*", "(L)", "Abnormal").
func flagOf(s string) string {
	f := strings.ToUpper(strings.Trim(s, " *()[]!"))
	switch f {
	case "H", "HI", "HIGH", "ABOVE HIGH NORMAL":
		return "H"
	case "L", "LO", "LOW", "BELOW LOW NORMAL":
		return "L"
	case "HH", "CRIT HIGH", "CRITICAL HIGH", "PANIC HIGH":
		return "HH"
	case "LL", "CRIT LOW", "CRITICAL LOW", "PANIC LOW":
		return "LL"
	case "A", "ABN", "ABNORMAL":
		return "A"
	case "N", "NORMAL", "WNL":
		return "N"
	}
	return ""
}

// firstDate is the first date of s (YYYY-MM-DD), or "".
func (a *Analyzer) firstDate(s string) string {
	if ds := a.dates.find(s); len(ds) > 0 {
		return ds[0].iso
	}
	return ""
}
