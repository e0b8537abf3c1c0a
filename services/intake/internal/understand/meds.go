package understand

import (
	"regexp"
	"slices"
	"strings"

	"github.com/handoffmed/handoff/platform/clinical"
	"github.com/handoffmed/handoff/platform/record"
)

// medParser reads medication lines: a US medication list (Epic/MyChart,
// Cerner, a pharmacy printout, a list the patient typed), the medication
// section of another document, or single entries typed on the case.
type medParser struct {
	vocab      *clinical.Vocabulary
	strengthRe *regexp.Regexp
	countRe    *regexp.Regexp
	freqRe     *regexp.Regexp
	durRe      *regexp.Regexp
	sigRe      *regexp.Regexp
	medHeadRe  *regexp.Regexp
	skipHeadRe *regexp.Regexp
	labUnitRe  *regexp.Regexp
	bulletRe   *regexp.Regexp
	dates      *dateParser
	// inlineMedRe is a medication label with the list on its line;
	// labelRe any other "Label: value" line.
	inlineMedRe *regexp.Regexp
	labelRe     *regexp.Regexp
}

func newMedParser(dates *dateParser, vocab *clinical.Vocabulary) *medParser {
	return &medParser{
		vocab: vocab,
		strengthRe: regexp.MustCompile(`(?i)\b(\d+(?:[.,]\d+)?(?:\s*[-/]\s*\d+(?:\.\d+)?)?)\s*` +
			`(mg|mcg|µg|ug|g|gm|grams?|ml|units?|iu|meq|%)(?:\s*/\s*(?:\d+(?:\.\d+)?\s*)?(?:ml|dose|actuation|act|hr|h|kg|tab|spray|puff))?(?:\b|$)`),
		countRe: regexp.MustCompile(`(?i)\b(\d+(?:\.\d+)?|one|two|three|half|1/2)\s*(?:\(\w+\)\s*)?` +
			`(tablets?|tabs?|capsules?|caps?|softgels?|gel\s?caps?|pills?|puffs?|drops?|sprays?|patch(?:es)?|gumm(?:y|ies)|chews?|scoops?|teaspoons?|tsp)\b`),
		freqRe: regexp.MustCompile(`(?i)(?:\b(?:once|twice|three times|four times|\d+\s*(?:\(\w+\)\s*)?times)\s+(?:a\s+|per\s+|each\s+)?(?:day|daily|week|weekly|month)\b` +
			`|\b\d\s?x\s?(?:a\s+|per\s+)?(?:day|daily|week|weekly)\b|\bx\s?\d\s+(?:a\s+|per\s+)?(?:day|daily)\b` +
			`|\b(?:every|each)\s+(?:day|morning|evening|night)\b|\bat night\b|\bwith (?:breakfast|lunch|dinner|supper|food)\b` +
			`|\bevery\s+\d+\s*(?:-\s*\d+\s*)?(?:h|hr|hrs|hours?)\b|\bq\s?\d+(?:-\d+)?\s?h(?:rs?)?\b` +
			`|\bevery\s+(?:other\s+)?(?:day|morning|evening|night|week|month|\d+\s+(?:days|weeks|months))\b` +
			`|\b(?:daily|nightly|weekly|monthly|b\.?i\.?d\.?|t\.?i\.?d\.?|q\.?i\.?d\.?|q\.?d\.?|qhs|qam|qpm|prn|as needed|at bedtime|in the morning|in the evening|with meals|before meals|before breakfast|twice a day|once a day|once daily|twice daily)(?:\b|$))`),
		durRe: regexp.MustCompile(`(?i)(?:\b(?:for|x)\s*(?:the\s+(?:past|last)\s+)?\d+\+?\s*(?:days?|weeks?|wks?|months?|mos?|years?|yrs?)\b` +
			`|\b(?:since|started|start date:?|started on|began|taking since|on it since)\s+(?:\d{1,2}/\d{1,2}/\d{2,4}|\d{1,2}/\d{4}|\d{4}-\d{2}-\d{2}|` + monthRe + `\.?\s*(?:\d{1,2},?\s*)?\d{4}|\d{4})` +
			`|\b\d+\+?\s*(?:years?|yrs?|months?|weeks?)\s+ago\b)`),
		sigRe:       regexp.MustCompile(`(?i)^(?:sig:?\s*|instructions:?\s*|directions:?\s*)?(?:take|inject|apply|inhale|use|place|instill|chew|dissolve|give|insert|spray)\b`),
		medHeadRe:   regexp.MustCompile(`(?i)^(?:current|active|home|outpatient|discharge|your|my|list of|patient)?\s*(?:medications?|meds|medication list|medicines|prescriptions|supplements|vitamins(?: and|/| &) supplements|over[- ]the[- ]counter)(?:\s+(?:list|and supplements|& supplements|reconciliation|you are taking|as of.*|\(.*\)))?\s*:?\s*$`),
		skipHeadRe:  regexp.MustCompile(`(?i)^(?:allerg|adverse reactions|drug allergies|intolerances|discontinued|stopped|inactive|past medications|previous medications|historical medications|medications? (?:discontinued|stopped|to stop)|stop taking|medications? (?:given|administered)|immunizations|vaccines|problem list|diagnos|assessment|plan\b|vital|results|labs?\b|procedures|surgical history|past medical history|family history|social history|review of systems|physical exam|encounters?|visit|insurance|care team)`),
		labUnitRe:   regexp.MustCompile(`(?i)\b(?:mg/dl|g/dl|mmol/l|meq/l|u/l|iu/l|ng/ml|pg|fl|10\^|x10|k/ul|m/ul|/hpf|sec|seconds|ratio|mm\[?hg|bpm|ms)\b`),
		bulletRe:    regexp.MustCompile(`^\s*(?:[-•*·▪◦●○]|\d{1,2}[.)]|\[\s?[xX]?\s?\])\s*`),
		dates:       dates,
		inlineMedRe: regexp.MustCompile(`(?i)^(?:current |home |active |outpatient |discharge |present )?(?:medications?|meds|medicines)(?: list)?\s*:\s*\S`),
		labelRe:     regexp.MustCompile(`^[A-Za-z][A-Za-z /&'-]{2,40}:\s*\S`),
	}
}

// findDrug returns the first drug of the vocabulary named in s.
func (p *medParser) findDrug(s string) (name string, d clinical.Drug, start int, ok bool) {
	m, ok := p.vocab.FindDrug(s)
	if !ok {
		return "", clinical.Drug{}, 0, false
	}
	return m.Text, m.Drug, m.Start, true
}

// ParseMedicationEntry parses one medication as typed on a case
// ("apixaban 5 mg twice daily since 2023"). ok is false when the entry is
// empty or says there are none.
func (p *medParser) entry(s string) (record.Medication, bool) {
	s = strings.TrimSpace(p.bulletRe.ReplaceAllString(s, ""))
	if s == "" || noneRe(s) {
		return record.Medication{}, false
	}
	m, ok := p.line(s, true)
	if !ok {
		// Words of frequency or duration alone ("daily") are no medicine.
		rest := p.durRe.ReplaceAllString(p.freqRe.ReplaceAllString(s, ""), "")
		if letters(rest) < 3 {
			return record.Medication{}, false
		}
		// Anything typed into the medication field is a medication.
		m = record.Medication{Name: s, Generic: strings.ToLower(s)}
		m.Frequency = p.freqRe.FindString(s)
		m.Duration = p.durRe.FindString(s)
	}
	return m, true
}

func noneRe(s string) bool {
	l := strings.ToLower(strings.Trim(s, " .;:-"))
	switch l {
	case "none", "no", "n/a", "na", "nil", "no medications", "no meds", "no current medications", "none known", "not taking any medications":
		return true
	}
	return false
}

// line parses one medication line. loose accepts a line that names no known
// drug when it gives a strength.
func (p *medParser) line(s string, loose bool) (record.Medication, bool) {
	name, d, start, known := p.findDrug(s)
	str := p.strengthRe.FindStringIndex(s)
	if !known {
		if !loose || str == nil || p.labUnitRe.MatchString(s) {
			return record.Medication{}, false
		}
	}
	m := record.Medication{}
	// The name as written: the text before the strength, count, sig or
	// frequency (or the drug's own words when the line starts with a dose).
	end := len(s)
	for _, re := range []*regexp.Regexp{p.strengthRe, p.countRe, p.freqRe} {
		if loc := re.FindStringIndex(s); loc != nil && loc[0] < end {
			end = loc[0]
		}
	}
	for _, sep := range []string{"  ", "\t", " | ", " - ", " – ", ":", " take ", " Take ", " TAKE ", " by mouth", " inject", " Inject"} {
		if i := strings.Index(s, sep); i > 0 && i < end {
			end = i
		}
	}
	written := strings.Trim(s[:end], " ,;-(|")
	if known && (written == "" || start >= end) {
		written = name
	}
	if !known {
		// An unknown medicine: at most five words of letters.
		words := strings.Fields(written)
		if len(words) == 0 || len(words) > 5 || !isLetters(words[0]) {
			return record.Medication{}, false
		}
	}
	if len(written) > 80 {
		written = written[:80]
	}
	m.Name = written
	if known {
		m.Generic = d.Generic
		m.Class = d.MedicationClass()
	} else {
		m.Generic = strings.ToLower(strings.Fields(written)[0])
	}
	if str != nil {
		m.Dose = strings.TrimSpace(s[str[0]:str[1]])
	} else if c := p.countRe.FindString(s); c != "" && (d.Supplement || !known) {
		m.Dose = strings.TrimSpace(c)
	}
	m.Frequency = strings.TrimSpace(p.freqRe.FindString(s))
	m.Duration = strings.TrimSpace(p.durRe.FindString(s))
	return m, true
}

func letters(s string) int {
	n := 0
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			n++
		}
	}
	return n
}

func isLetters(w string) bool {
	n := 0
	for _, r := range w {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
			n++
		case r == '-' || r == '\'' || r == '.' || r == '(' || r == ')' || r == '/':
		default:
			return false
		}
	}
	return n >= 2
}

// parse reads the medications of a text. whole says the text is a
// medication list (every line is looked at, unknown medicines with a
// strength count); otherwise only lines under a medication heading are.
func (p *medParser) parse(text string, whole bool) []record.Medication {
	var out []record.Medication
	inMeds, skipping := whole, false
	startCol := false
	sinceLines := 0
	for _, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(p.bulletRe.ReplaceAllString(raw, ""))
		if line == "" {
			continue
		}
		lower := strings.ToLower(line)
		heading := isHeading(line)
		switch {
		case heading && p.skipHeadRe.MatchString(line):
			skipping = true
			if !whole {
				inMeds = false
			}
			continue
		case heading && (p.medHeadRe.MatchString(line) || strings.HasSuffix(lower, "medications:")):
			inMeds, skipping = true, false
			sinceLines = 0
			continue
		case !whole && p.inlineMedRe.MatchString(line):
			// "Medications: lisinopril 10 mg daily, aspirin 81 mg daily".
			inMeds, skipping = true, false
			sinceLines = 0
		case !whole && inMeds && p.labelRe.MatchString(line):
			// Another labelled field ("Physical Exam: ...") ends the section.
			inMeds = false
			continue
		case strings.Contains(lower, "allerg") || strings.Contains(lower, "reaction:"):
			// Inline "Allergies: penicillin (hives)".
			continue
		}
		if strings.Contains(lower, "start date") || strings.Contains(lower, "started") && !p.hasDose(line) {
			startCol = true
		}
		if skipping || !inMeds {
			continue
		}
		sinceLines++
		if !whole && sinceLines > 80 {
			inMeds = false
			continue
		}
		// An inline label: "Medications: apixaban 5 mg BID, fish oil daily".
		if i := strings.Index(lower, "medications:"); i >= 0 {
			line = line[i+len("medications:"):]
		}
		// A sig line continues the previous medication.
		if p.sigRe.MatchString(line) && len(out) > 0 {
			if _, _, _, ok := p.findDrug(line); !ok {
				prev := &out[len(out)-1]
				if prev.Dose == "" {
					if str := p.strengthRe.FindString(line); str != "" {
						prev.Dose = strings.TrimSpace(str)
					}
				}
				if prev.Frequency == "" {
					prev.Frequency = strings.TrimSpace(p.freqRe.FindString(line))
				}
				if prev.Duration == "" {
					prev.Duration = strings.TrimSpace(p.durRe.FindString(line))
				}
				continue
			}
		}
		for _, seg := range p.segments(line) {
			m, ok := p.line(seg, whole)
			if !ok {
				continue
			}
			if m.Duration == "" && startCol {
				if ds := p.dates.find(seg); len(ds) > 0 {
					m.Duration = "since " + ds[0].iso
				}
			}
			out = append(out, m)
		}
	}
	return dedupeMeds(out)
}

func (p *medParser) hasDose(s string) bool { return p.strengthRe.MatchString(s) }

// isHeading reports whether a line looks like a section heading: short, no
// digits, and either ending in a colon or holding none.
func isHeading(line string) bool {
	if len(line) > 60 || strings.ContainsAny(line, "0123456789") {
		return false
	}
	if len(strings.Fields(line)) > 7 {
		return false
	}
	i := strings.Index(line, ":")
	return i < 0 || i == len(line)-1
}

// segments splits a line that lists several medicines ("aspirin 81 mg daily;
// fish oil 1000 mg, vitamin E") into one segment each.
func (p *medParser) segments(line string) []string {
	if strings.Contains(line, ";") {
		var out []string
		for _, s := range strings.Split(line, ";") {
			out = append(out, p.segments(s)...)
		}
		return out
	}
	parts := strings.Split(line, ",")
	if len(parts) < 2 {
		return []string{strings.TrimSpace(line)}
	}
	n := 0
	for _, s := range parts {
		if _, _, _, ok := p.findDrug(s); ok {
			n++
		}
	}
	if n < 2 {
		return []string{strings.TrimSpace(line)}
	}
	// Attach parts without a drug (", with food") to the previous segment.
	var out []string
	for _, s := range parts {
		if _, _, _, ok := p.findDrug(s); ok || len(out) == 0 {
			out = append(out, strings.TrimSpace(s))
		} else {
			out[len(out)-1] += "," + s
		}
	}
	return out
}

// dedupeMeds keeps the first of medications with the same generic and dose,
// filling its gaps from the later ones.
func dedupeMeds(ms []record.Medication) []record.Medication {
	var out []record.Medication
	for _, m := range ms {
		i := slices.IndexFunc(out, func(o record.Medication) bool {
			return o.Generic == m.Generic && (o.Dose == m.Dose || o.Dose == "" || m.Dose == "")
		})
		if i < 0 {
			out = append(out, m)
			continue
		}
		o := &out[i]
		if o.Dose == "" {
			o.Dose = m.Dose
		}
		if o.Frequency == "" {
			o.Frequency = m.Frequency
		}
		if o.Duration == "" {
			o.Duration = m.Duration
		}
	}
	return out
}
