package ccda

import (
	"strings"

	"github.com/handoffmed/handoff/platform/record"
)

// observations reads the result (or vital sign) observations under holder,
// opening organizers; an observation without a date takes its organizer's.
func (rd *reader) observations(holder int32, date string, kind int) {
	t := &rd.t
	for c := t.nodes[holder].first; c != none; c = t.nodes[c].next {
		switch t.nodes[c].name {
		case "observation":
			r := rd.observation(c, date)
			if r.Name == "" && r.LOINC == "" && r.Value == "" {
				continue // a placeholder ("No data", all nullFlavor)
			}
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
