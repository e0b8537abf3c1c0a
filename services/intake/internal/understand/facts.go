package understand

import (
	"regexp"
	"slices"
	"strings"
)

// factReader reads the patient identity and dates printed on a document.
type factReader struct {
	dates      *dateParser
	nameLabel  *regexp.Regexp
	nameStop   *regexp.Regexp
	dobLabel   *regexp.Regexp
	nameBlock  *regexp.Regexp
	lastFirst  *regexp.Regexp
	dateLabels map[string][]*regexp.Regexp
	notName    map[string]bool
	// headName is a "LAST, FIRST M" line heading a page, or followed by the
	// MRN, birth date or age.
	headName *regexp.Regexp
	nameThen *regexp.Regexp
}

// Date kinds: which date of a document Date holds.
const (
	DateCollection = "collection" // lab reports: when the specimen was collected
	DateExam       = "exam"       // radiology: when the exam was performed
	DateSurgery    = "surgery"    // operative notes
	DateTest       = "test"       // EKG
	DateDocument   = "document"   // any other dated document
)

func newFactReader(dates *dateParser) *factReader {
	re := func(s string) *regexp.Regexp { return regexp.MustCompile(`(?i)` + s) }
	f := &factReader{
		dates: dates,
		// "Patient: DOE, JANE A", "Patient Name: Jane Doe", "Name: ...", "Pt: ...".
		nameLabel: re(`(?:^|\s{2,}|\t|\|)\s*(?:patient(?:'s)?\s*(?:full\s+)?name|patient|pt\.?\s*name|pt|name(?:\s+of\s+patient)?|legal\s+name|full\s+name)\s*[:#]\s*`),
		nameStop:  re(`\s{2,}|\t|\||;|\(|\b(?:dob|d\.o\.b|date\s+of\s+birth|birth\s*date|birthdate|mrn|med\s*rec|sex|gender|age|acct|account|id|visit|date|phone|room|encounter|provider|physician|ordering|collected|accession|specimen|ssn|address|location|fin|csn|dos|exam|hospital|facility|attending|pcp|referring)\b`),
		dobLabel:  re(`\b(?:dob|d\.o\.b\.?|date\s+of\s+birth|birth\s*date|birthdate|born)\b\s*(?:\(mm/dd/yyyy\))?\s*[:#]?`),
		// A heading after which the name stands alone on the next line.
		nameBlock: re(`^\s*(?:patient(?:\s+(?:information|details|demographics|name))?|name)\s*:?\s*(?:(?:\s{2,}|\t).*)?$`),
		lastFirst: re(`^([A-Z][A-Za-z'\-]+(?:\s+[A-Z][A-Za-z'\-]+)?),\s*([A-Z][A-Za-z'\-]+(?:\s+[A-Z][A-Za-z'\-.]*){0,2})$`),
		notName:   map[string]bool{},
		headName:  regexp.MustCompile(`^\s*([A-Z][A-Za-z'\-]+(?:\s+[A-Z][A-Za-z'\-]+)?,\s*[A-Z][A-Za-z'\-]+(?:\s+[A-Z][A-Za-z'\-.]*){0,2})\s*$`),
		nameThen:  re(`^\s*([A-Z][A-Za-z'\-]+(?:\s+[A-Z][A-Za-z'\-]+)?,\s*[A-Z][A-Za-z'\-]+(?:\s+[A-Z][A-Za-z'\-.]*){0,2}?)\s*(?:\(\s*MRN|MRN\b|DOB\b|-\s*\d{1,3}\s*(?:y\.?o|yr|year))`),
	}
	for _, w := range strings.Fields(`information details demographics summary report portal name patient unknown test
		results result male female other none n/a na see above below tbd self insurance provider physician doctor
		the of and for with medical record records chart health hospital clinic center department services lab
		laboratory radiology imaging page date signature signed copy mrn dob sex age id number md do np pa rn phd
		dds facs mba crna ordering referring sincerely regards dear thank thanks management utilization team office
		group associates inc llc member claim plan dept`) {
		f.notName[w] = true
	}
	f.dateLabels = map[string][]*regexp.Regexp{
		DateCollection: {
			re(`\b(?:date\s*(?:/\s*time\s*)?collected|collection\s+date(?:\s*/\s*time)?|collected(?:\s+date)?(?:\s*(?:/|and)\s*time)?|specimen\s+collected|coll(?:ection)?\.?\s+(?:date|dt)|drawn|date\s+drawn|date\s+of\s+collection|specimen\s+date)\b\s*(?:on)?\s*[:#]?`),
		},
		DateExam: {
			re(`\b(?:exam(?:ination)?\s+date(?:\s*/\s*time)?|date\s+of\s+(?:exam(?:ination)?|study|service|procedure)|study\s+date|exam\s+performed|performed(?:\s+on)?|date\s+performed|service\s+date|dos|procedure\s+date|exam\s+date/time|scan\s+date)\b\s*[:#]?`),
		},
		DateSurgery: {
			re(`\b(?:date\s+of\s+(?:surgery|operation|procedure|service)|surgery\s+date|operation\s+date|procedure\s+date|operative\s+date|dos|service\s+date)\b\s*[:#]?`),
		},
		DateTest: {
			re(`\b(?:acquired|acquisition\s+date|date\s+of\s+(?:test|study|service|exam)|test\s+date|recorded(?:\s+on)?|study\s+date|performed(?:\s+on)?)\b\s*[:#]?`),
		},
		DateDocument: {
			re(`\b(?:date\s+of\s+service|service\s+date|visit\s+date|date\s+of\s+visit|report\s+date|date)\b\s*[:#]?`),
		},
	}
	// Fallbacks when the main label is absent.
	f.dateLabels[DateCollection] = append(f.dateLabels[DateCollection],
		re(`\b(?:received|date\s+received|reported|date\s+reported|result(?:ed)?\s+date|final\s+report\s+date|report\s+date|date\s+of\s+service)\b\s*(?:on)?\s*[:#]?`))
	f.dateLabels[DateExam] = append(f.dateLabels[DateExam],
		re(`\b(?:dictated|signed|electronically\s+signed(?:\s+by[^\n]*?on)?|report\s+date|date)\b\s*(?:on)?\s*[:#]?`))
	f.dateLabels[DateSurgery] = append(f.dateLabels[DateSurgery],
		re(`\b(?:date|dictated|signed)\b\s*[:#]?`))
	f.dateLabels[DateTest] = append(f.dateLabels[DateTest], re(`\b(?:date|confirmed\s+by[^\n]*?on)\b\s*[:#]?`))
	return f
}

// names returns the patient names printed on the text, as printed (trimmed).
func (f *factReader) names(lines []string) []string {
	var out []string
	add := func(n string) {
		n = strings.Trim(n, " ,.;:-")
		if n == "" || !f.plausibleName(n) {
			return
		}
		if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, n) }) {
			out = append(out, n)
		}
	}
	for i, l := range lines {
		for _, m := range f.nameLabel.FindAllStringIndex(l, -1) {
			// "Provider Name:" and the like are not the patient.
			if w := lastWord(strings.ToLower(l[:m[0]])); w != "" && isOtherPartyWord(w) && !strings.Contains(strings.ToLower(l[m[0]:m[1]]), "patient") {
				continue
			}
			rest := l[m[1]:]
			if loc := f.nameStop.FindStringIndex(rest); loc != nil {
				rest = rest[:loc[0]]
			}
			add(rest)
		}
		if m := f.nameThen.FindStringSubmatch(l); m != nil {
			add(m[1])
		} else if i < 6 {
			if m := f.headName.FindStringSubmatch(l); m != nil {
				add(m[1])
			}
		}
		if f.nameBlock.MatchString(l) && i+1 < len(lines) {
			next := strings.TrimSpace(lines[i+1])
			if loc := f.nameStop.FindStringIndex(next); loc != nil {
				next = next[:loc[0]]
			}
			if f.lastFirst.MatchString(strings.TrimSpace(next)) {
				add(next)
			}
		}
	}
	return out
}

func lastWord(s string) string {
	fs := strings.Fields(s)
	if len(fs) == 0 {
		return ""
	}
	return strings.Trim(fs[len(fs)-1], ":|,")
}

func isOtherPartyWord(w string) bool {
	switch w {
	case "provider", "physician", "doctor", "facility", "lab", "laboratory", "test", "drug", "medication", "insurance",
		"company", "surgeon", "contact", "emergency", "guarantor", "subscriber", "insured", "employer", "pharmacy",
		"father", "mother", "spouse", "plan", "product", "brand", "generic", "file", "user", "practice", "clinic",
		"hospital", "referring", "ordering", "attending", "radiologist", "technologist", "institution", "study",
		"procedure", "exam", "device", "manufacturer", "performer", "author", "signer", "site", "location":
		return true
	}
	return false
}

// plausibleName accepts 2-5 words of letters (with ' - . ,) that are not
// headings or field names.
func (f *factReader) plausibleName(n string) bool {
	if len(n) > 60 || strings.ContainsAny(n, "0123456789@/\\()[]{}<>=*_") {
		return false
	}
	words := strings.FieldsFunc(n, func(r rune) bool { return r == ' ' || r == ',' || r == '^' })
	if len(words) < 2 || len(words) > 5 {
		return false
	}
	letters := 0
	for _, w := range words {
		lw := strings.ToLower(strings.Trim(w, ".'-"))
		if f.notName[lw] {
			return false
		}
		for _, r := range w {
			switch {
			case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 0xbf && r < 0x250:
				letters++
			case r == '.' || r == '\'' || r == '-' || r == '’':
			default:
				return false
			}
		}
	}
	return letters >= 4
}

// birthDates returns the birth dates printed on the text (YYYY-MM-DD).
func (f *factReader) birthDates(lines []string) []string {
	var out []string
	for i, l := range lines {
		for _, m := range f.dobLabel.FindAllStringIndex(l, -1) {
			rest := l[m[1]:]
			ds := f.dates.find(rest)
			// The date must follow the label closely (a table may put it on
			// the next line).
			if len(ds) == 0 || ds[0].start > 24 {
				if strings.TrimSpace(rest) == "" && i+1 < len(lines) {
					ds = f.dates.find(lines[i+1])
					if len(ds) == 0 || ds[0].start > 4 {
						continue
					}
				} else {
					continue
				}
			}
			if !slices.Contains(out, ds[0].iso) {
				out = append(out, ds[0].iso)
			}
		}
	}
	return out
}

// date returns the document's own date of the given kind: the first date
// after the kind's label (a date on a birth-date line never counts), else
// the date of a fallback label.
func (f *factReader) date(lines []string, kind string) (string, bool) {
	for _, lab := range f.dateLabels[kind] {
		for i, l := range lines {
			for _, m := range lab.FindAllStringIndex(l, -1) {
				// "Date" of "Date of Birth" is no document date.
				if loc := f.dobLabel.FindStringIndex(l[m[0]:min(len(l), m[1]+16)]); loc != nil && loc[0] <= m[1]-m[0] {
					continue
				}
				rest := l[m[1]:]
				if loc := f.dobLabel.FindStringIndex(rest); loc != nil {
					rest = rest[:loc[0]]
				}
				ds := f.dates.find(rest)
				if len(ds) > 0 && ds[0].start <= 30 {
					return ds[0].iso, true
				}
				// Label alone at the end of a line, value on the next.
				if strings.TrimSpace(rest) == "" && i+1 < len(lines) && !f.dobLabel.MatchString(lines[i+1]) {
					if ds := f.dates.find(lines[i+1]); len(ds) > 0 && ds[0].start <= 4 {
						return ds[0].iso, true
					}
				}
			}
		}
	}
	return "", false
}
