package understand

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/handoffmed/handoff/platform/clinical"
	"github.com/handoffmed/handoff/platform/record"
)

// summaryReader reads the facts of a case summary written by a patient:
// labelled fields ("Age: 67", "Procedure sought: ...") and the complicating
// conditions named in it.
type summaryReader struct {
	a        *Analyzer
	labelRe  *regexp.Regexp
	fields   []summaryField
	ageRe    *regexp.Regexp
	costRe   *regexp.Regexp
	cond     map[string]*regexp.Regexp
	negRe    *regexp.Regexp
	answerRe *regexp.Regexp
	// yearsOldRe reads "a 67-year-old".
	yearsOldRe *regexp.Regexp
}

type summaryField struct {
	key  string
	re   *regexp.Regexp
	list bool
}

// Summary field keys.
const (
	fAge, fDOB, fHeight, fWeight, fAllergies      = "age", "dob", "height", "weight", "allergies"
	fProcedure, fSymptoms, fUSRec, fCost, fAbroad = "procedure", "symptoms", "usrec", "cost", "abroad"
	fConditions, fMeds, fSurgeries, fOther        = "conditions", "meds", "surgeries", "other"
)

func newSummaryReader(a *Analyzer) *summaryReader {
	re := func(s string) *regexp.Regexp { return regexp.MustCompile(`(?i)^(?:` + s + `)$`) }
	fields := []summaryField{
		{fAge, re(`age(?:\s*/\s*sex)?|current age`), false},
		{fDOB, re(`date of birth|dob|birth ?date`), false},
		{fHeight, re(`height`), false},
		{fWeight, re(`weight`), false},
		{fAllergies, re(`(?:known\s+)?(?:drug\s+)?allergies(?:\s*(?:and|&|/)\s*reactions)?|allergies to medications`), false},
		{fProcedure, re(`(?:exact\s+)?(?:procedure|treatment|surgery|evaluation|operation)(?:\s+or\s+evaluation)?\s+(?:sought|requested|wanted|needed)|requested procedure|procedure|reason for (?:visit|consultation)`), false},
		{fSymptoms, re(`symptoms?(?:\s+(?:history|timeline|and progression|onset))?|history of (?:my\s+)?symptoms|history of present illness|hpi|when symptoms (?:started|began)`), false},
		{fUSRec, re(`(?:us|u\.s\.|american)\s+(?:doctor'?s?\s+|surgeon'?s?\s+|physician'?s?\s+)?recommendation(?:\s+and\s+(?:quoted\s+)?cost)?|recommended by (?:my\s+)?(?:us|u\.s\.)\s+(?:doctor|surgeon)|what (?:my|the) (?:us\s+|u\.s\.\s+)?doctor recommended`), false},
		{fCost, re(`(?:us\s+|u\.s\.\s+)?quoted cost(?:\s+in the us)?|cost quoted|(?:us|u\.s\.) (?:cost|quote|price)|quote|estimated cost`), false},
		{fAbroad, re(`reasons? (?:for|to)\s+(?:\w+\s+){0,3}abroad|why\s+(?:\w+\s+){0,5}abroad|reason for travel`), false},
		{fConditions, re(`(?:complicating|medical|chronic|other)?\s*conditions|comorbidities|past medical history|medical history|pmh|diagnoses`), true},
		{fMeds, re(`(?:current\s+)?(?:medications?|meds)(?:\s+(?:and|&)\s+supplements)?(?:\s+with doses)?`), true},
		{fSurgeries, re(`(?:prior|previous|past)\s+surger(?:y|ies)|surgical history|past surgical history|prior procedures|previous operations`), true},
		{fOther, re(`notes?|other`), false},
	}
	return &summaryReader{
		a: a,
		// A label: up to six words ending in a colon, at the line's start or
		// after a separator.
		labelRe:    regexp.MustCompile(`(?:^|\s{2,}|\t|[|·•;])\s*([A-Za-z][A-Za-z.'’/&\- ]{1,60}?)\s*:\s*`),
		fields:     fields,
		ageRe:      regexp.MustCompile(`(?i)\b(\d{1,3})\s*(?:-?\s*(?:years?|yrs?|yo|y/o|y\.o\.)(?:[- ]old)?)?\b`),
		costRe:     regexp.MustCompile(`\$\s?\d[\d,]*(?:\.\d+)?(?:\s*(?:k|K|thousand))?`),
		negRe:      regexp.MustCompile(`(?i)\b(?:no|denies|denied|without|negative for|not|none|never|nor|free of|rule out|r/o)\b[^.;:\n]{0,40}$`),
		yearsOldRe: regexp.MustCompile(`(?i)\b(\d{1,3})[- ](?:year|yr)s?[- ]old\b`),
		answerRe:   regexp.MustCompile(`(?i)^\s*[:\-–=]?\s*(?:\(?\s*)(yes|no|none|n/a|y|n)\b`),
		cond: map[string]*regexp.Regexp{
			"prediabetes": a.vocab.ConditionWords(clinical.ConditionPrediabetes),
			"diabetes":    a.vocab.ConditionWords(clinical.ConditionDiabetes),
			"heart":       a.vocab.ConditionWords(clinical.ConditionCardiac),
			"respiratory": a.vocab.ConditionWords(clinical.ConditionRespiratory),
			"thinners":    regexp.MustCompile(`(?i)\bblood[- ]thinners?\b|\banticoagula\w*|\bantiplatelet\w*`),
		},
	}
}

// fieldOf maps a label to a summary field key.
func (r *summaryReader) fieldOf(label string) (summaryField, bool) {
	label = strings.TrimSpace(strings.Join(strings.Fields(label), " "))
	// Chinese labels may follow the English one ("Allergies 过敏"): only
	// the English words count.
	for _, f := range r.fields {
		if f.re.MatchString(label) {
			return f, true
		}
	}
	return summaryField{}, false
}

// read collects the labelled fields of a summary.
func (r *summaryReader) read(lines []string) *record.Summary {
	values := map[string][]string{}
	cur := ""
	inline := false
	for _, raw := range lines {
		line := strings.TrimRight(asciiLabels(raw), " \t")
		if strings.TrimSpace(line) == "" {
			// A blank line ends a field, except right after a list heading.
			if cur != "" && (!r.isList(cur) || len(values[cur]) > 0) {
				cur = ""
			}
			continue
		}
		matches := r.labelRe.FindAllStringSubmatchIndex(line, -1)
		var known [][]int
		for _, m := range matches {
			if _, ok := r.fieldOf(line[m[2]:m[3]]); ok {
				known = append(known, m)
			}
		}
		if len(known) == 0 {
			// A heading on its own line ("Procedure Sought") starts a field
			// whose value follows.
			if t := strings.TrimSuffix(strings.TrimSpace(line), ":"); len(strings.Fields(t)) <= 8 && !strings.Contains(t, ":") {
				if f, ok := r.fieldOf(t); ok {
					cur, inline = f.key, false
					continue
				}
			}
			if cur != "" {
				// A heading of another section ends a field.
				if t := strings.TrimSpace(line); strings.HasSuffix(t, ":") && len(t) < 50 {
					cur = ""
					continue
				}
				t := strings.TrimSpace(line)
				// A wrapped line continues the previous item: it starts in
				// lower case and names no medicine of its own.
				if vs := values[cur]; len(vs) > 0 && r.continues(t) {
					vs[len(vs)-1] += " " + t
					continue
				}
				// A field whose value stood on its label's line takes
				// further items only as a bulleted list.
				if inline && r.isList(cur) && !r.a.meds.bulletRe.MatchString(t) {
					cur = ""
					continue
				}
				values[cur] = append(values[cur], t)
			}
			continue
		}
		for i, m := range known {
			f, _ := r.fieldOf(line[m[2]:m[3]])
			end := len(line)
			if i+1 < len(known) {
				end = known[i+1][0]
			}
			v := strings.TrimSpace(line[m[1]:end])
			cur = f.key
			inline = v != ""
			if v != "" {
				values[cur] = append(values[cur], v)
			}
		}
	}
	s := &record.Summary{}
	join := func(k string) string { return strings.Join(values[k], " ") }
	if v := join(fAge); v != "" {
		if m := r.ageRe.FindStringSubmatch(v); m != nil {
			if n, err := strconv.Atoi(m[1]); err == nil && n > 0 && n < 125 {
				s.Age = n
			}
		}
	}
	s.Height = join(fHeight)
	s.Weight = join(fWeight)
	s.Allergies = join(fAllergies)
	s.Procedure = join(fProcedure)
	s.SymptomHistory = join(fSymptoms)
	s.USRecommendation = join(fUSRec)
	s.QuotedCost = join(fCost)
	if s.QuotedCost == "" {
		s.QuotedCost = r.costRe.FindString(s.USRecommendation)
	}
	s.ReasonAbroad = join(fAbroad)
	for _, v := range values[fMeds] {
		for _, seg := range r.a.meds.segments(v) {
			seg = strings.TrimSpace(r.a.meds.bulletRe.ReplaceAllString(seg, ""))
			if seg != "" && !noneRe(seg) {
				s.Medications = append(s.Medications, seg)
			}
		}
	}
	for _, v := range values[fSurgeries] {
		for _, seg := range strings.Split(v, ";") {
			seg = strings.TrimSpace(r.a.meds.bulletRe.ReplaceAllString(seg, ""))
			if seg != "" && !noneRe(seg) {
				s.Conditions.PriorSurgeries = append(s.Conditions.PriorSurgeries, seg)
			}
		}
	}
	condText := strings.Join(values[fConditions], "\n")
	s.Conditions.Other = strings.Join(values[fConditions], "; ")
	// Conditions named in the conditions field, or anywhere in the summary.
	all := strings.Join(lines, "\n")
	r.conditions(&s.Conditions, condText+"\n"+all)
	if s.Age == 0 {
		// "I am a 67-year-old ..."
		if m := r.yearsOldRe.FindStringSubmatch(all); m != nil {
			s.Age, _ = strconv.Atoi(m[1])
		}
	}
	return s
}

// continues reports whether a line continues the previous line's item.
func (r *summaryReader) continues(line string) bool {
	if line == "" || line[0] < 'a' || line[0] > 'z' {
		return false
	}
	_, _, _, drug := r.a.meds.findDrug(line)
	return !drug
}

func (r *summaryReader) isList(key string) bool {
	for _, f := range r.fields {
		if f.key == key {
			return f.list
		}
	}
	return false
}

// conditions sets the flags of the conditions named in text, skipping
// negated mentions ("no diabetes", "Diabetes: No").
func (r *summaryReader) conditions(c *record.Conditions, text string) {
	found := func(key string) bool {
		for _, m := range r.cond[key].FindAllStringIndex(text, -1) {
			before := text[max(0, m[0]-60):m[0]]
			if i := strings.LastIndexAny(before, ".;\n"); i >= 0 {
				before = before[i+1:]
			}
			if r.negRe.MatchString(before) {
				continue
			}
			if key == "diabetes" && m[0] >= 3 && strings.EqualFold(strings.TrimRight(text[max(0, m[0]-4):m[0]], "- "), "pre") {
				continue
			}
			if key == "diabetes" && m[0] >= 4 && strings.HasSuffix(strings.ToLower(text[:m[0]]), "pre-") {
				continue
			}
			after := text[m[1]:min(len(text), m[1]+12)]
			if a := r.answerRe.FindStringSubmatch(after); a != nil {
				switch strings.ToLower(a[1]) {
				case "no", "none", "n/a", "n":
					continue
				}
			}
			return true
		}
		return false
	}
	c.Prediabetes = c.Prediabetes || found("prediabetes")
	c.Diabetes = c.Diabetes || found("diabetes")
	c.HeartDisease = c.HeartDisease || found("heart")
	c.Respiratory = c.Respiratory || found("respiratory")
	c.BloodThinners = c.BloodThinners || found("thinners")
}

// asciiLabels drops CJK characters that bilingual forms put after the
// English label ("Allergies 过敏:"), so the label matches.
func asciiLabels(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r >= 0x2e80 }) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '：':
			b.WriteByte(':')
		case r >= 0x2e80 && r < 0xff00 || r >= 0xff00 && r < 0xffef:
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
