// Package clinical is the one clinical vocabulary of the pipeline: drugs
// (generic and brand names, the class that matters before surgery, RxNorm
// ingredient codes, Chinese generic names), lab tests (LOINC codes, the
// names labs print, the panel each belongs to), the conditions that decide
// the checklist's conditional tests (SNOMED CT and ICD-10-CM codes and the
// words that name them), and the English and Chinese labels of the handoff
// file's parts, summary fields and findings.
//
// Every service that needs this knowledge reads it from here: a shorter copy
// elsewhere drifts, and a blood thinner one list knows and another does not
// is a safety bug.
//
// Codes are included only where they were checked against a public source
// (NLM RxNorm, LOINC value sets of HL7 implementation guides, the codes real
// C-CDA exports use); an entry without a code is matched by its names.
package clinical

import (
	"regexp"
	"sort"
	"strings"
)

// Vocabulary holds the tables with their indexes. It is read-only after New
// and safe for concurrent use.
type Vocabulary struct {
	drugs    []Drug
	drugName map[string]int // normalised name -> index of drugs
	drugRx   map[string]int
	drugRe   *regexp.Regexp

	labs       []LabTest
	labLOINC   map[string]int
	labNames   []labName // longest first
	panels     []Panel
	panelLOINC map[string]int

	conds      []Condition
	condRe     map[string]*regexp.Regexp
	surgicalRe *regexp.Regexp
}

// New builds the vocabulary and its indexes (a few milliseconds: keep one).
func New() *Vocabulary {
	v := &Vocabulary{drugs: drugTable(), labs: labTable(), panels: panelTable(), conds: conditionTable()}
	v.indexDrugs()
	v.indexLabs()
	v.indexConditions()
	return v
}

// Key normalises a name for lookups: lower case, runs of white space as one
// space, trimmed.
func Key(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// longestFirst sorts names longest first, then alphabetically, so that a
// regexp alternation prefers "aspirin-dipyridamole" to "aspirin".
func longestFirst(names []string) {
	sort.Slice(names, func(i, j int) bool {
		if len(names[i]) != len(names[j]) {
			return len(names[i]) > len(names[j])
		}
		return names[i] < names[j]
	})
}
