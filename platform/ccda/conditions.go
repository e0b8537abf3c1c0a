package ccda

import (
	"strings"

	"github.com/handoffmed/handoff/platform/record"
)

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
