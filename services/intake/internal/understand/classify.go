package understand

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/handoffmed/handoff/platform/clinical"
	"github.com/handoffmed/handoff/platform/record"
)

// A signal is one rule of the classifier: words that, when found, add
// weight to a category. The label of every signal that fired is kept as
// the evidence of the decision.
type signal struct {
	cat    string
	weight int
	label  string
	re     prefiltered
}

// Thresholds: the score a category needs to be chosen.
var thresholds = map[string]int{
	record.CategorySummary:         7,
	record.CategoryRadiologyReport: 8,
	record.CategoryLabReport:       7,
	record.CategoryEKG:             7,
	record.CategoryOperativeNote:   8,
	record.CategoryMedicationList:  6,
	record.CategoryPassport:        6,
	record.CategoryPortalExport:    8,
	catNote:                        6,
}

// catNote is a clinical note, letter or bill: sorted as "other", but it
// competes with the real categories so that a visit note with a medication
// section is not taken for a medication list.
const catNote = "note"

// order breaks ties between equal scores.
var catOrder = []string{
	record.CategoryPassport, record.CategorySummary, record.CategoryOperativeNote, record.CategoryEKG,
	record.CategoryRadiologyReport, record.CategoryLabReport, record.CategoryMedicationList,
	record.CategoryPortalExport, catNote,
}

func signals() []signal {
	var out []signal
	// Patterns are lower case and match the lowered text (score): a
	// case-sensitive expression runs several times faster than (?i).
	add := func(cat string, weight int, label, pattern string) {
		for i, r := range pattern {
			if unicode.IsUpper(r) && (i == 0 || pattern[i-1] != '\\') {
				panic("signal " + label + ": pattern not in lower case")
			}
		}
		out = append(out, signal{cat: cat, weight: weight, label: label, re: newPrefiltered(`(?m)` + pattern)})
	}
	const (
		sum, rad, lab, ekg  = record.CategorySummary, record.CategoryRadiologyReport, record.CategoryLabReport, record.CategoryEKG
		op, med, pp, portal = record.CategoryOperativeNote, record.CategoryMedicationList, record.CategoryPassport, record.CategoryPortalExport
	)
	// Case summary, as the patient writes it for the hospital abroad.
	add(sum, 6, `title "case summary"`, `\b(?:case|medical case|patient case) summary\b`)
	add(sum, 3, `title "summary for"`, `\b(?:medical|patient|clinical|health) summary for\b`)
	add(sum, 4, `field "procedure sought"`, `\b(?:procedure|treatment|surgery|evaluation|operation)\s+(?:sought|requested|wanted|needed)\b|\brequested procedure\b`)
	add(sum, 4, `field "reason for care abroad"`, `\breason(?:s)?\s+(?:for|to)\s+(?:\w+\s+){0,3}abroad\b|\bwhy\s+(?:\w+\s+){0,3}abroad\b|\b(?:treatment|care|surgery)\s+abroad\b`)
	add(sum, 3, `field "US recommendation"`, `\b(?:us|u\.s\.|american)\s+(?:doctor'?s?|surgeon'?s?|physician'?s?)?\s*recommendation\b|\brecommended by (?:my )?(?:us|u\.s\.|american)\b|\bwhat (?:my|the) (?:us |u\.s\. )?doctor recommended\b`)
	add(sum, 3, `field "quoted cost"`, `\bquoted (?:cost|price)\b|\bcost quoted\b|\b(?:us|u\.s\.) (?:cost|quote)\b|\bquote(?:d)?\s*(?:\(us\))?\s*:`)
	add(sum, 2, `field "symptom history"`, `\bsymptom(?:s)?\s+(?:history|timeline|onset)\b|\bhistory of (?:my )?symptoms\b|\bwhen (?:my )?symptoms (?:started|began)\b`)
	add(sum, 3, `field "complicating conditions"`, `\bcomplicating conditions\b|\bco-?morbidities\s*:`)
	add(sum, 1, `field "allergies"`, `^\s*(?:known\s+)?(?:drug\s+)?allergies\s*:`)
	add(sum, 1, `fields "height"/"weight"`, `^\s*height\s*:.*$[\s\S]{0,200}^\s*weight\s*:|^\s*weight\s*:.*$[\s\S]{0,200}^\s*height\s*:|\bheight\s*:[^\n]*\bweight\s*:`)

	// Radiology report.
	add(rad, 3, `section "EXAM"`, `^\s*(?:exam(?:ination)?|study|procedure|exam\s+description|study\s+description)\s*:`)
	add(rad, 4, `section "IMPRESSION"`, `^\s*(?:impression|conclusion|summary impression)\s*:?`)
	add(rad, 3, `section "FINDINGS"`, `^\s*findings\s*:?`)
	add(rad, 3, `section "TECHNIQUE"`, `^\s*(?:technique|protocol)\s*:?`)
	add(rad, 2, `section "COMPARISON"`, `^\s*comparisons?\s*:?`)
	add(rad, 1, `section "HISTORY/INDICATION"`, `^\s*(?:clinical\s+)?(?:history|indications?|reason for (?:exam|study))\s*:`)
	add(rad, 2, `word "radiologist"`, `\bradiolog(?:y|ist|ists)\b|\bimaging (?:center|associates|group)\b`)
	add(rad, 2, `modality words`, `\b(?:mri|mr|ct|cta|mra|x-?ray|xr|radiograph(?:s|y)?|ultrasound|sonogra\w*|pet|pet/ct|nuclear medicine|mammogra\w*|dexa|fluoroscop\w*|cxr)\b`)
	add(rad, 2, `words "contrast"`, `\b(?:with|without|w/o|wo|w/|w)\s+(?:iv\s+)?contrast\b|\bnon-?contrast\b`)
	add(rad, 1, `sign-off`, `\b(?:electronically\s+signed|dictated|transcribed|read)\s+by\b|\binterpreting (?:physician|radiologist)\b`)
	add(rad, 1, `imaging planes`, `\b(?:sagittal|axial|coronal|oblique)\b`)
	add(rad, 1, `sequences`, `\b(?:t1|t2|stir|flair|proton density|dwi|gradient echo)\b`)
	add(rad, 1, `findings words`, `\b(?:unremarkable|no acute|degenerative|effusion|fracture|impingement|herniation|stenosis|osteophyte|joint space)\b`)

	// Lab report.
	add(lab, 3, `words "reference range"`, `\breference\s+(?:range|interval|value)s?\b|\bref(?:\.)?\s+(?:range|interval)\b|\bnormal\s+range\b|\bstandard range\b`)
	add(lab, 3, `laboratory name`, `\bquest diagnostics\b|\blabcorp\b|\blaboratory corporation of america\b|\bclia\b|\bperforming (?:lab|laboratory|site|location|organization)\b|\bbioreference\b|\barup\b|\bsonic healthcare\b|\bclinical laborator(?:y|ies)\b`)
	add(lab, 1, `words "specimen/collected"`, `\bspecimen\b|\bcollected\b|\bcollection\b|\baccession\b`)
	add(lab, 1, `result columns`, `\b(?:flag|units?|result|in range|out of range|abnormal)\b`)
	add(lab, 1, `lab order words`, `\b(?:fasting|final report|result(?:s)? status|lab(?:oratory)? report|lab results?|test name)\b`)

	// EKG.
	add(ekg, 3, `word "ECG/EKG"`, `\b(?:ecg|ekg|electrocardiogram|12[- ]lead)\b`)
	add(ekg, 3, `field "ventricular rate"`, `\bvent(?:ricular)?\.?\s+rate\b|\bheart rate\s*:?\s*\d+\s*bpm\b|\batrial rate\b`)
	add(ekg, 2, `field "PR interval"`, `\bp-?r\s+(?:interval|int)\b`)
	add(ekg, 2, `field "QRS duration"`, `\bqrs\s+(?:duration|dur|interval)\b`)
	add(ekg, 2, `field "QT/QTc"`, `\bqt\s*/\s*qtc\b|\bqtc\b`)
	add(ekg, 1, `field "axes"`, `\bp-r-t\s+axes\b|\b(?:qrs\s+)?axis\b`)
	add(ekg, 2, `rhythm words`, `\bsinus\s+(?:rhythm|bradycardia|tachycardia|arrhythmia)\b|\bnormal (?:ecg|ekg)\b|\babnormal (?:ecg|ekg)\b|\bborderline (?:ecg|ekg)\b|\bleft ventricular hypertrophy\b|\bbundle branch block\b`)

	// Operative / surgical note.
	add(op, 5, `title "operative report"`, `\b(?:operative|operation|op|surgical|surgery)\s+(?:report|note|record)\b|\bprocedure\s+note\b|\bbrief op note\b`)
	add(op, 3, `section "PREOPERATIVE DIAGNOSIS"`, `\bpre-?\s?op(?:erative)?\s+diagnos[ie]s\b`)
	add(op, 3, `section "POSTOPERATIVE DIAGNOSIS"`, `\bpost-?\s?op(?:erative)?\s+diagnos[ie]s\b`)
	add(op, 2, `section "PROCEDURE PERFORMED"`, `\bprocedures?\s+performed\b|\bname of (?:the )?(?:procedure|operation)\b|\boperations?\s+performed\b|^\s*procedures?\s*:`)
	add(op, 2, `field "surgeon"`, `^\s*(?:primary\s+)?surgeon(?:s)?\s*:|\battending surgeon\b`)
	add(op, 1, `field "assistant"`, `^\s*(?:assistants?|first assistant|assist)\s*:`)
	add(op, 2, `field "anesthesia"`, `^\s*(?:type of\s+)?anesthesia(?:\s+type)?\s*:|\bgeneral endotracheal anesthesia\b`)
	add(op, 2, `field "estimated blood loss"`, `\bestimated blood loss\b|\bebl\s*:`)
	add(op, 1, `field "specimens"`, `^\s*specimens?(?:\s+removed)?\s*:`)
	add(op, 1, `field "complications"`, `^\s*(?:complications|intraoperative complications)\s*:`)
	add(op, 1, `field "drains/implants"`, `^\s*(?:drains?|implants?|fluids)\s*:`)
	add(op, 2, `section "description of procedure"`, `\b(?:description|details)\s+of\s+(?:the\s+)?(?:procedure|operation)\b|\bprocedure in detail\b|\boperative (?:technique|procedure|findings)\b`)
	add(op, 1, `section "indications"`, `\bindications?\s+for\s+(?:the\s+)?(?:procedure|surgery|operation)\b`)
	add(op, 2, `field "date of surgery"`, `\b(?:date of (?:surgery|operation)|surgery date|operation date)\b`)

	// Medication list.
	add(med, 4, `title "medication list"`, `\b(?:medication list|current medications|active medications|medication reconciliation|home medications|your medications|my medications|list of medications|medications and supplements|med list|medication summary|outpatient medications|prescription history)\b`)
	add(med, 1, `prescription words`, `\bsig\s*:|\btake \d+ (?:tablet|capsule|tab|cap)s?\b|\bby mouth\b|\bdispense\b|\brefills?\b|\bprescriber\b|\bprescribed by\b`)

	// Passport or other identity document (the zone itself is read apart).
	add(pp, 4, `word "passport"`, `\bpassport\b|\bpasaporte\b|\bpasseport\b|\breisepass\b`)
	add(pp, 1, `field "nationality"`, `\bnationality\b|\bnacionalidad\b|\bnationalit[eé]\b`)
	add(pp, 1, `field "date of expiration"`, `\bdate of (?:expiration|expiry)\b|\bexpiration date\b|\bexpires\b`)
	add(pp, 1, `field "place of birth"`, `\bplace of birth\b|\blieu de naissance\b`)
	add(pp, 1, `field "authority"`, `\bauthority\b|\bdate of issue\b|\bissuing\b`)
	add(pp, 4, `ID card words`, `\bdriver'?s?\s+licen[cs]e\b|\bidentification card\b|\bstate id\b|\breal id\b`)

	// Patient portal export.
	add(portal, 4, `word "MyChart"`, `\bmychart\b`)
	add(portal, 3, `words "patient portal"`, `\bpatient portal\b|\bfollowmyhealth\b|\bhealthelife\b|\bathenahealth\b|\bpatient access\b|\bmy health (?:record|portal)\b|\bhealthvault\b|\bepic systems\b`)
	add(portal, 3, `words "continuity of care"`, `\bcontinuity of care\b|\bsummary of care\b|\bc-?cda\b|\bccd\b|\bhealth summary\b|\bhealth record export\b|\brecords? request\b|\brelease of information\b`)
	add(portal, 1, `words "printed on"`, `\bprinted (?:on|by)\b|\bgenerated on\b|\bexported on\b`)
	add(portal, 1, `section "encounters"`, `\bencounters?\b|\bvisit summar(?:y|ies)\b|\bafter visit summary\b`)
	add(portal, 1, `section "immunizations"`, `\bimmunizations?\b`)
	add(portal, 1, `section "problem list"`, `\bproblem list\b|\bactive problems\b`)
	add(portal, 1, `section "health maintenance"`, `\bhealth maintenance\b|\bcare team\b|\bdemographics\b`)

	// Clinical notes, letters and bills: "other".
	add(catNote, 3, `clinic note sections`, `\bchief complaint\b|\bhistory of present illness\b|^\s*hpi\s*:|\breview of systems\b|\bphysical exam(?:ination)?\b`)
	add(catNote, 3, `section "assessment and plan"`, `\bassessment\s*(?:and|&|/)\s*plan\b|^\s*assessment\s*:`)
	add(catNote, 4, `title "discharge summary/progress note"`, `\bdischarge summary\b|\bprogress note\b|\bconsult(?:ation)? (?:note|report)\b|\boffice visit\b|\bh&p\b|\bhistory and physical\b|\bed (?:provider )?note\b|\bemergency department\b`)
	add(catNote, 5, `billing/insurance words`, `\bexplanation of benefits\b|\bthis is not a bill\b|\bamount due\b|\bprior authorization\b|\bclaim (?:number|#)\b|\bpatient responsibility\b|\bletter of (?:medical )?necessity\b|\bappeal\b`)
	return out
}

// analyte is a lab test the classifier looks for on a report's text, with
// the panels it belongs to (from the clinical vocabulary).
type analyte struct {
	name   string
	panels []string
	re     prefiltered
}

func analytes(v *clinical.Vocabulary) []analyte {
	var out []analyte
	for _, t := range v.LabTests() {
		if t.Text == "" {
			continue
		}
		out = append(out, analyte{name: t.Name, panels: t.Panels, re: newPrefiltered(`(?im)` + t.Text)})
	}
	return out
}

// panelTitles name a panel outright.
func panelTitles(v *clinical.Vocabulary) map[string]*regexp.Regexp {
	out := map[string]*regexp.Regexp{}
	for _, p := range v.Panels() {
		out[p.Key] = regexp.MustCompile(`(?i)` + p.Title)
	}
	return out
}

// labPanels finds the panels a lab report holds: a panel is present when
// its title is printed with at least one of its analytes, or when enough of
// its analytes are.
func (a *Analyzer) labPanels(text string) (panels []string, found []string) {
	count := map[string]int{}
	folded := fold(text)
	for _, an := range a.analytes {
		if an.re.Match(text, folded) {
			found = append(found, an.name)
			for _, p := range an.panels {
				count[p]++
			}
		}
	}
	has := map[string]bool{}
	title := func(p string) bool { return a.panelTitles[p].MatchString(text) }
	if count[record.PanelCBC] >= 3 || title(record.PanelCBC) && count[record.PanelCBC] >= 1 {
		has[record.PanelCBC] = true
	}
	if count[record.PanelBMP] >= 5 || title(record.PanelBMP) && count[record.PanelBMP] >= 1 {
		has[record.PanelBMP] = true
	}
	if count[record.PanelBMP] >= 5 && count[record.PanelCMP] >= 3 || title(record.PanelCMP) && count[record.PanelBMP]+count[record.PanelCMP] >= 1 {
		has[record.PanelCMP] = true
		delete(has, record.PanelBMP)
	}
	if count[record.PanelCoag] >= 1 && (title(record.PanelCoag) || count[record.PanelCoag] >= 2 || a.inrRe.MatchString(text)) {
		has[record.PanelCoag] = true
	}
	if count[record.PanelHbA1c] >= 1 {
		has[record.PanelHbA1c] = true
	}
	for _, p := range []string{record.PanelCBC, record.PanelBMP, record.PanelCMP, record.PanelCoag, record.PanelHbA1c} {
		if has[p] {
			panels = append(panels, p)
		}
	}
	return panels, found
}

// scored is one category's score and evidence.
type scored struct {
	cat      string
	score    int
	evidence []string
}

// score runs every signal over the text.
func (a *Analyzer) score(text string) map[string]*scored {
	out := map[string]*scored{}
	text = strings.ToLower(text)
	for _, s := range a.signals {
		if !s.re.MatchString(text) {
			continue
		}
		sc := out[s.cat]
		if sc == nil {
			sc = &scored{cat: s.cat}
			out[s.cat] = sc
		}
		sc.score += s.weight
		sc.evidence = append(sc.evidence, s.label)
	}
	return out
}

func best(scores map[string]*scored, exclude ...string) *scored {
	var b *scored
	for _, c := range catOrder {
		s := scores[c]
		if s == nil || s.score < thresholds[c] || slices.Contains(exclude, c) {
			continue
		}
		if b == nil || s.score > b.score {
			b = s
		}
	}
	return b
}

func evidenceOf(s *scored) []string {
	ev := []string{fmt.Sprintf("%s score %d (threshold %d)", s.cat, s.score, thresholds[s.cat])}
	ev = append(ev, s.evidence...)
	return ev
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// normSpace collapses runs of spaces for matching signals that span words.
func normSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
