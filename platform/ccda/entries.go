package ccda

import (
	"strings"

	"github.com/handoffmed/handoff/platform/record"
)

// Template roots of entries, without tplPrefix.
const (
	tplMedStatus      = tplPrefix + "1.47"
	tplProblemStatus  = tplPrefix + "22.4.6"
	tplProblemStatus1 = tplPrefix + "1.50"
	tplReaction       = tplPrefix + "22.4.9"
	tplReaction1      = tplPrefix + "1.54"
	tplSeverity       = tplPrefix + "22.4.8"
	tplSeverity1      = tplPrefix + "1.55"
	tplAllergyStatus  = tplPrefix + "22.4.28"
	tplAllergyStatus1 = tplPrefix + "1.39"
	loincStatus       = "33999-4"
)

// entry reads the entry just completed in rd.t (node 0 is <entry>).
func (rd *reader) entry(kind int) {
	t := &rd.t
	d := rd.doc
	switch kind {
	case kindMeds:
		// The substance administration, wrapped or not.
		for i := int32(1); i < int32(len(t.nodes)); i++ {
			if t.nodes[i].name == "substanceAdministration" {
				if t.attr(i, "negationInd") != "true" {
					d.Medications = append(d.Medications, rd.medication(i))
				}
				break
			}
		}
	case kindResults, kindVitals:
		rd.observations(0, "", kind)
	case kindProblems, kindAllergies:
		rd.concernItems(func(o, concern int32) {
			if t.attr(o, "negationInd") == "true" {
				return
			}
			if kind == kindProblems {
				d.Problems = append(d.Problems, rd.problem(o, concern))
			} else {
				d.Allergies = append(d.Allergies, rd.allergy(o, concern))
			}
		})
	case kindProcedures:
		for p := t.nodes[0].first; p != none; p = t.nodes[p].next {
			switch t.nodes[p].name {
			case "procedure", "observation", "act":
			default:
				continue
			}
			if t.attr(p, "negationInd") == "true" {
				continue
			}
			d.Procedures = append(d.Procedures, rd.procedure(p))
		}
	}
}

// ref returns the narrative text a reference value ("#id") points to; a
// value that is not a pointer is taken as the text itself.
func (rd *reader) ref(v string) string {
	if v == "" {
		return ""
	}
	id, ok := strings.CutPrefix(v, "#")
	if !ok {
		return norm(v)
	}
	if s, ok := rd.ids[id]; ok {
		return normBytes(rd.narr[s.start:s.end])
	}
	rd.pending = true
	return pendingText + id
}

// rowOf returns the first cell of the narrative table row that n's
// <text><reference> points into (the row's name column), else the text the
// reference points to.
func (rd *reader) rowOf(n int32) string {
	v := rd.t.attr(rd.t.find(n, "text", "reference"), "value")
	id, ok := strings.CutPrefix(v, "#")
	if !ok {
		return ""
	}
	if s, ok := rd.rows[id]; ok {
		return normBytes(rd.narr[s.start:s.end])
	}
	if s, ok := rd.ids[id]; ok {
		return normBytes(rd.narr[s.start:s.end])
	}
	rd.pending = true
	return pendingRow + id
}

// text is the text of an element like originalText: its own text, else
// the narrative its <reference> points to.
func (rd *reader) text(n int32) string {
	if n == none {
		return ""
	}
	if s := rd.t.textOf(n); s != "" {
		return s
	}
	if r := rd.t.child(n, "reference"); r != none {
		return rd.ref(rd.t.attr(r, "value"))
	}
	return ""
}

// textRef is the narrative that n's <text><reference> points to.
func (rd *reader) textRef(n int32) string {
	if r := rd.t.find(n, "text", "reference"); r != none {
		return rd.ref(rd.t.attr(r, "value"))
	}
	return ""
}

// coded names a coded element: its displayName, its originalText (the other
// way round when displayFirst is false), else a translation's displayName.
func (rd *reader) coded(c int32, displayFirst bool) string {
	if c == none {
		return ""
	}
	t := &rd.t
	dn := displayName(t, c)
	if displayFirst && dn != "" {
		return dn
	}
	if ot := rd.text(t.child(c, "originalText")); ot != "" {
		return ot
	}
	if dn != "" {
		return dn
	}
	for x := t.nodes[c].first; x != none; x = t.nodes[x].next {
		if t.nodes[x].name == "translation" {
			if s := displayName(t, x); s != "" {
				return s
			}
		}
	}
	return ""
}

// displayName is c's displayName, unless it is a placeholder: some
// exports write "????" where a name did not survive a character set.
func displayName(t *tree, c int32) string {
	s := norm(t.attr(c, "displayName"))
	if strings.Trim(s, "? ") == "" {
		return ""
	}
	return s
}

// codeIn returns c's code in the given system, or a translation's.
func (rd *reader) codeIn(c int32, system string) string {
	t := &rd.t
	if c == none {
		return ""
	}
	if t.attr(c, "codeSystem") == system && t.attr(c, "code") != "" {
		return t.attr(c, "code")
	}
	for x := t.nodes[c].first; x != none; x = t.nodes[x].next {
		if t.nodes[x].name == "translation" && t.attr(x, "codeSystem") == system && t.attr(x, "code") != "" {
			return t.attr(x, "code")
		}
	}
	return ""
}

// timeOf is the date of an effectiveTime: its value, else its low, else its center.
func (rd *reader) timeOf(et int32) string {
	t := &rd.t
	if et == none {
		return ""
	}
	if v := t.attr(et, "value"); v != "" {
		return tsDate(v)
	}
	for _, name := range [...]string{"low", "center"} {
		if c := t.child(et, name); c != none && t.attr(c, "value") != "" {
			return tsDate(t.attr(c, "value"))
		}
	}
	return ""
}

// statusValue reads a status observation's value: its name, else the name
// of its SNOMED CT code, lower case.
func (rd *reader) statusValue(o int32) string {
	v := rd.t.child(o, "value")
	if v == none {
		return ""
	}
	s := rd.coded(v, true)
	if s == "" {
		s = statusByCode(rd.t.attr(v, "code"))
	}
	if strings.HasPrefix(s, "\x00") { // lower-cased once resolved
		return s
	}
	return strings.ToLower(s)
}

func (rd *reader) isStatusObs(o int32, roots ...string) bool {
	return rd.t.attr(rd.t.child(o, "code"), "code") == loincStatus || rd.t.templates(o, roots...)
}

// concernItems calls fn for each observation of the entry: those under a
// concern act (with the act), or one standing alone.
func (rd *reader) concernItems(fn func(o, concern int32)) {
	t := &rd.t
	for c := t.nodes[0].first; c != none; c = t.nodes[c].next {
		switch t.nodes[c].name {
		case "act":
			t.each(c, "entryRelationship", func(er int32) {
				t.each(er, "observation", func(o int32) { fn(o, c) })
			})
		case "observation":
			fn(c, none)
		}
	}
}

func (rd *reader) medication(sa int32) record.Medication {
	t := &rd.t
	mm := t.find(sa, "consumable", "manufacturedProduct", "manufacturedMaterial")
	code := t.child(mm, "code")
	m := record.Medication{Name: displayName(t, code)}
	if m.Name == "" {
		m.Name = rd.text(t.child(code, "originalText"))
	}
	if m.Name == "" {
		m.Name = t.textOf(t.child(mm, "name"))
	}
	if m.Name == "" {
		m.Name = rd.coded(code, true)
	}
	if m.Name == "" {
		m.Name = rd.rowOf(sa)
	}
	m.RxNorm = rd.codeIn(code, oidRxNorm)
	m.Dose = rd.dose(t.child(sa, "doseQuantity"))
	m.Route = rd.coded(t.child(sa, "routeCode"), true)
	for et := t.nodes[sa].first; et != none; et = t.nodes[et].next {
		if t.nodes[et].name != "effectiveTime" {
			continue
		}
		typ := t.xsiType(et)
		lo, hi := t.child(et, "low"), t.child(et, "high")
		switch {
		case typ == "IVL_TS" || typ == "" && (lo != none || hi != none):
			if lo == none {
				lo = et
			}
			m.Start = tsDate(t.attr(lo, "value"))
			m.Stop = tsDate(t.attr(hi, "value"))
		case typ == "" && t.attr(et, "value") != "":
			m.Start = tsDate(t.attr(et, "value"))
		case typ == "PIVL_TS" || typ == "EIVL_TS":
			if m.Frequency == "" {
				m.Frequency = rd.frequency(et, typ)
			}
		}
	}
	for er := t.nodes[sa].first; er != none && m.Status == ""; er = t.nodes[er].next {
		if t.nodes[er].name != "entryRelationship" {
			continue
		}
		t.each(er, "observation", func(o int32) {
			if m.Status == "" && rd.isStatusObs(o, tplMedStatus) {
				m.Status = rd.statusValue(o)
			}
		})
	}
	if m.Status == "" {
		m.Status = strings.ToLower(t.attr(t.child(sa, "statusCode"), "code"))
	}
	if m.Dose == "" || m.Frequency == "" {
		sig := rd.text(t.child(sa, "text"))
		if m.Dose == "" {
			m.Dose = doseIn(sig)
		}
		if m.Dose == "" {
			m.Dose = strengthIn(m.Name)
		}
		if m.Frequency == "" {
			m.Frequency = frequencyIn(sig)
		}
	}
	return m
}

// dose reads a doseQuantity: value and unit, a unit of "1" meaning a count
// (then the unit a translation spells out, if any); or a low-high range.
func (rd *reader) dose(dq int32) string {
	t := &rd.t
	if dq == none {
		return ""
	}
	if v := t.attr(dq, "value"); v != "" {
		unit := t.attr(dq, "unit")
		if unit == "1" {
			unit = ""
		}
		if unit == "" {
			unit = rd.text(t.find(dq, "translation", "originalText"))
		}
		return strings.TrimSpace(num(v) + " " + unit)
	}
	lo := t.child(dq, "low")
	if lv := t.attr(lo, "value"); lv != "" {
		s := num(lv)
		if hv := t.attr(t.child(dq, "high"), "value"); hv != "" {
			s += "-" + num(hv)
		}
		if u := t.attr(lo, "unit"); u != "" && u != "1" {
			s += " " + u
		}
		return s
	}
	return ""
}

// observations reads the result (or vital sign) observations under holder,
// opening organizers; an observation without a date takes its organizer's.
func (rd *reader) observations(holder int32, date string, kind int) {
	t := &rd.t
	for c := t.nodes[holder].first; c != none; c = t.nodes[c].next {
		switch t.nodes[c].name {
		case "observation":
			r := rd.observation(c, date)
			if kind == kindVitals {
				rd.doc.Vitals = append(rd.doc.Vitals, record.Vital{Name: r.Name, LOINC: r.LOINC, Value: r.Value, Unit: r.Unit, Date: r.Date})
			} else {
				rd.doc.Results = append(rd.doc.Results, r)
			}
		case "organizer":
			d := rd.timeOf(t.child(c, "effectiveTime"))
			if d == "" {
				d = date
			}
			t.each(c, "component", func(comp int32) { rd.observations(comp, d, kind) })
		}
	}
}

func (rd *reader) observation(o int32, date string) record.LabResult {
	t := &rd.t
	code := t.child(o, "code")
	r := record.LabResult{Name: rd.coded(code, false)}
	if r.Name == "" {
		r.Name = rd.textRef(o)
	}
	r.LOINC = rd.codeIn(code, oidLOINC)
	if v := t.child(o, "value"); v != none && !t.has(v, "nullFlavor") {
		switch typ := t.xsiType(v); {
		case typ == "PQ" || typ == "" && t.attr(v, "unit") != "":
			r.Value, r.Unit = strings.TrimSpace(t.attr(v, "value")), t.attr(v, "unit")
		case typ == "CD" || typ == "CE" || typ == "CV" || typ == "CO":
			r.Value = rd.coded(v, true)
			if r.Value == "" {
				r.Value = t.attr(v, "code")
			}
		case typ == "IVL_PQ":
			lo, hi := t.child(v, "low"), t.child(v, "high")
			lv, hv := t.attr(lo, "value"), t.attr(hi, "value")
			r.Value = interval(lv, hv, "-", ">", "<")
			switch {
			case lv != "":
				r.Unit = t.attr(lo, "unit")
			case hv != "":
				r.Unit = t.attr(hi, "unit")
			}
		case typ == "INT" || typ == "REAL" || typ == "BL" || typ == "TS" || typ == "MO":
			r.Value = t.attr(v, "value")
		default: // ST, ED and the like: the text
			r.Value = rd.text(v)
		}
	}
	if r.Unit == "1" {
		r.Unit = ""
	}
	r.Value, r.Unit = norm(r.Value), strings.TrimSpace(r.Unit)
	if orng := t.find(o, "referenceRange", "observationRange"); orng != none {
		r.Range = rd.text(t.child(orng, "text"))
		if ov := t.child(orng, "value"); r.Range == "" && ov != none {
			lo, hi := t.child(ov, "low"), t.child(ov, "high")
			lv, hv := t.attr(lo, "value"), t.attr(hi, "value")
			r.Range = interval(lv, hv, "-", ">=", "<=")
			unit := ""
			for _, x := range [...]int32{lo, hi} {
				if u := t.attr(x, "unit"); t.attr(x, "value") != "" && u != "" && u != "1" {
					unit = u
					break
				}
			}
			if r.Range != "" && unit != "" {
				r.Range += " " + unit
			}
		}
	}
	r.Flag = flagOf(t.attr(t.child(o, "interpretationCode"), "code"))
	r.Date = rd.timeOf(t.child(o, "effectiveTime"))
	if r.Date == "" {
		r.Date = date
	}
	return r
}

// interval writes low and high as "lo-hi", or one side alone with its sign.
func interval(lo, hi, sep, above, below string) string {
	switch {
	case lo != "" && hi != "":
		return lo + sep + hi
	case lo != "":
		return above + lo
	case hi != "":
		return below + hi
	}
	return ""
}

func (rd *reader) problem(o, concern int32) record.Problem {
	t := &rd.t
	v := t.child(o, "value")
	p := record.Problem{Name: rd.coded(v, true)}
	if p.Name == "" {
		p.Name = rd.textRef(o)
	}
	if v != none {
		for c := v; c != none; {
			if code := t.attr(c, "code"); code != "" {
				p.Code, p.System = code, systemName(t.attr(c, "codeSystem"), t.attr(c, "codeSystemName"))
				break
			}
			c = nextTranslation(t, c, v)
		}
	}
	found := false
	t.each(o, "entryRelationship", func(er int32) {
		t.each(er, "observation", func(so int32) {
			if !found && rd.isStatusObs(so, tplProblemStatus, tplProblemStatus1) {
				p.Status = rd.statusValue(so)
				found = true
			}
		})
	})
	if p.Status == "" && concern != none {
		if sc := t.child(concern, "statusCode"); sc != none {
			switch t.attr(sc, "code") {
			case "active":
				p.Status = "active"
			case "completed":
				p.Status = "resolved"
			case "suspended", "aborted":
				p.Status = "inactive"
			}
		}
	}
	p.Onset = rd.timeOf(t.child(o, "effectiveTime"))
	if p.Onset == "" && concern != none {
		p.Onset = rd.timeOf(t.child(concern, "effectiveTime"))
	}
	return p
}

// nextTranslation walks v's translations after c (c is v or one of them).
func nextTranslation(t *tree, c, v int32) int32 {
	if c == v {
		c = t.nodes[v].first
	} else {
		c = t.nodes[c].next
	}
	for ; c != none; c = t.nodes[c].next {
		if t.nodes[c].name == "translation" {
			return c
		}
	}
	return none
}

func (rd *reader) allergy(o, concern int32) record.Allergy {
	t := &rd.t
	pe := t.find(o, "participant", "participantRole", "playingEntity")
	a := record.Allergy{Name: rd.coded(t.child(pe, "code"), true)}
	if a.Name == "" {
		if n := t.child(pe, "name"); n != none {
			a.Name = t.textOf(n)
		}
	}
	if a.Name == "" {
		a.Name = rd.coded(t.child(o, "value"), true)
	}
	var reactions []string
	t.each(o, "entryRelationship", func(er int32) {
		so := t.child(er, "observation")
		if so == none {
			return
		}
		code := t.attr(t.child(so, "code"), "code")
		switch {
		case t.attr(er, "typeCode") == "MFST" || t.templates(so, tplReaction, tplReaction1):
			if r := rd.coded(t.child(so, "value"), true); r != "" && !contains(reactions, r) {
				reactions = append(reactions, r)
			}
			t.each(so, "entryRelationship", func(er2 int32) {
				t.each(er2, "observation", func(sev int32) {
					if a.Severity == "" && t.templates(sev, tplSeverity) {
						a.Severity = rd.coded(t.child(sev, "value"), true)
					}
				})
			})
		case t.templates(so, tplSeverity, tplSeverity1) || code == "SEV":
			if a.Severity == "" {
				a.Severity = rd.coded(t.child(so, "value"), true)
			}
		case t.templates(so, tplAllergyStatus, tplAllergyStatus1) || code == loincStatus:
			if a.Status == "" {
				a.Status = rd.statusValue(so)
			}
		}
	})
	a.Reaction = strings.Join(reactions, ", ")
	if a.Status == "" && concern != none {
		if sc := t.child(concern, "statusCode"); sc != none {
			a.Status = strings.ToLower(t.attr(sc, "code"))
		}
	}
	return a
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (rd *reader) procedure(p int32) record.Procedure {
	t := &rd.t
	code := t.child(p, "code")
	pr := record.Procedure{Name: rd.coded(code, true)}
	if pr.Name == "" {
		pr.Name = rd.textRef(p)
	}
	if c := t.attr(code, "code"); c != "" {
		pr.Code = c
		pr.System = systemName(t.attr(code, "codeSystem"), t.attr(code, "codeSystemName"))
	}
	pr.Date = rd.timeOf(t.child(p, "effectiveTime"))
	return pr
}
