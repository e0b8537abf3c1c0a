package ccda

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/handoffmed/handoff/platform/record"
)

// medication reads a substance administration (README.md has the rules).
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

// frequency words a PIVL_TS period or an EIVL_TS event.
func (rd *reader) frequency(et int32, typ string) string {
	t := &rd.t
	if typ == "EIVL_TS" {
		return eventWords(t.attr(t.child(et, "event"), "code"))
	}
	p := t.child(et, "period")
	v, unit := strings.TrimSpace(t.attr(p, "value")), strings.TrimSpace(t.attr(p, "unit"))
	if v == "" {
		return ""
	}
	v = num(v)
	if t.attr(et, "institutionSpecified") == "true" {
		// "Twice daily" rather than "every 12 hours": the times are the institution's.
		if words := timesDaily(v, unit); words != "" {
			return words
		}
	}
	if unit == "" {
		unit = "d"
	}
	return "every " + v + " " + unit
}

// timesDaily words a period as a number of times a day or week.
func timesDaily(v, unit string) string {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 {
		return ""
	}
	var perDay float64
	switch unit {
	case "h":
		perDay = 24 / f
	case "d":
		perDay = 1 / f
	case "min":
		perDay = 24 * 60 / f
	case "wk":
		if f == 1 {
			return "once weekly"
		}
		return ""
	default:
		return ""
	}
	switch perDay {
	case 1:
		return "once daily"
	case 2:
		return "twice daily"
	case 3:
		return "three times daily"
	case 4:
		return "four times daily"
	}
	if perDay == float64(int(perDay)) && perDay > 4 && perDay <= 24 {
		return strconv.Itoa(int(perDay)) + " times daily"
	}
	return ""
}

// eventWords names the HL7 TimingEvent codes of an EIVL_TS.
func eventWords(code string) string {
	switch strings.ToUpper(code) {
	case "AC":
		return "before meals"
	case "ACM":
		return "before breakfast"
	case "ACD":
		return "before lunch"
	case "ACV":
		return "before dinner"
	case "PC":
		return "after meals"
	case "PCM":
		return "after breakfast"
	case "PCD":
		return "after lunch"
	case "PCV":
		return "after dinner"
	case "C":
		return "with meals"
	case "CM":
		return "with breakfast"
	case "CD":
		return "with lunch"
	case "CV":
		return "with dinner"
	case "HS":
		return "at bedtime"
	case "WAKE":
		return "upon waking"
	}
	return ""
}

// sigPatterns find the dose and the frequency in a free-text sig
// ("81 mg = 1 tab(s), PO, Once Daily, 30 tab(s)") or a product name
// ("aspirin 81 mg oral tablet").
type sigPatterns struct {
	dose *regexp.Regexp
	freq *regexp.Regexp
}

// doseUnits are the units a number must carry to be taken as a dose.
var doseUnits = map[string]bool{
	"mg": true, "mcg": true, "µg": true, "ug": true, "g": true, "gm": true, "kg": true, "ml": true, "l": true,
	"unit": true, "units": true, "unt": true, "iu": true, "meq": true, "mmol": true, "%": true,
	"tab": true, "tabs": true, "tablet": true, "tablets": true, "cap": true, "caps": true, "capsule": true, "capsules": true,
	"puff": true, "puffs": true, "drop": true, "drops": true, "spray": true, "sprays": true, "patch": true, "patches": true,
	"application": true, "applications": true, "actuation": true, "actuations": true,
}

var sig = sigPatterns{
	dose: regexp.MustCompile(`(\d+(?:\.\d+)?(?:\s*-\s*\d+(?:\.\d+)?)?)\s*([A-Za-zµ%]+)(\(s\))?(/[A-Za-z]+)?`),
	freq: regexp.MustCompile(`(?i)\b(once daily|twice daily|three times daily|four times daily|once a day|twice a day|` +
		`every \d+(?:\s*-\s*\d+)? (?:hours?|hrs?|days?|weeks?)|every (?:morning|evening|night|day|other day)|` +
		`q\d+h|q\.?\s?d\.?|b\.?i\.?d\.?|t\.?i\.?d\.?|q\.?i\.?d\.?|tidac|qhs|qam|qpm|` +
		`daily|nightly|weekly|at bedtime|before meals|after meals|with meals|as needed|prn)\b`),
}

// doseIn returns the first number with a dose unit in a sig ("81 mg"), as written.
func doseIn(s string) string { return amountIn(s, false) }

// strengthIn returns the strength in a product name: its first number with
// a dose unit, past the pack quantity RxNorm names start with ("3 ML
// Insulin Lispro 100 UNT/ML Prefilled Syringe" -> "100 UNT/ML").
func strengthIn(s string) string { return amountIn(s, true) }

func amountIn(s string, name bool) string {
	if s == "" || s[0] == 0 { // nothing, or a reference not yet resolved
		return ""
	}
	for _, m := range sig.dose.FindAllStringSubmatchIndex(s, 6) {
		if name && m[0] == 0 && m[1] < len(s) {
			continue
		}
		unit := s[m[4]:m[5]]
		if doseUnits[strings.ToLower(unit)] {
			out := strings.Join(strings.Fields(s[m[2]:m[3]]), "") + " " + unit
			for _, g := range [][2]int{{m[6], m[7]}, {m[8], m[9]}} {
				if g[0] >= 0 {
					out += s[g[0]:g[1]]
				}
			}
			return out
		}
	}
	return ""
}

// frequencyIn returns the first frequency phrase in s, as written.
func frequencyIn(s string) string {
	if s == "" || s[0] == 0 {
		return ""
	}
	return sig.freq.FindString(s)
}
