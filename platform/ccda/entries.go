package ccda

import "strings"

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
			// Entries with nothing in them (all nullFlavor) are placeholders.
			if kind == kindProblems {
				if p := rd.problem(o, concern); p.Name != "" || p.Code != "" {
					d.Problems = append(d.Problems, p)
				}
			} else if a := rd.allergy(o, concern); a.Name != "" || a.Reaction != "" {
				d.Allergies = append(d.Allergies, a)
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
			if pr := rd.procedure(p); pr.Name != "" || pr.Code != "" {
				d.Procedures = append(d.Procedures, pr)
			}
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
