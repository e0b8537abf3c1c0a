package clinical

import (
	"regexp"
	"strings"

	"github.com/handoffmed/handoff/platform/record"
)

// Conditions that decide the checklist's conditional tests.
const (
	ConditionDiabetes    = "diabetes"    // HbA1c
	ConditionPrediabetes = "prediabetes" // HbA1c
	ConditionCardiac     = "cardiac"     // EKG
	ConditionRespiratory = "respiratory" // chest X-ray
)

// Condition is one of the conditions the checklist asks about.
type Condition struct {
	Key           string // Condition*
	Name, Chinese string
	// SNOMED are SNOMED CT concept codes that mean the condition.
	SNOMED []string
	// ICD10 are ICD-10-CM code prefixes ("E11" covers E11.9).
	ICD10 []string
	// Words is a regular expression (case-insensitive) of the words that
	// name it in free text.
	Words string
}

// Code systems as C-CDA documents name them (OIDs) or as people write them.
const (
	SystemSNOMED   = "SNOMED CT"
	SystemICD10CM  = "ICD-10-CM"
	oidSNOMED      = "2.16.840.1.113883.6.96"
	oidICD10CM     = "2.16.840.1.113883.6.90"
	oidICD10       = "2.16.840.1.113883.6.3"
	oidICD9CM      = "2.16.840.1.113883.6.103"
	systemICD9Name = "ICD-9-CM"
)

func (v *Vocabulary) indexConditions() {
	v.condRe = map[string]*regexp.Regexp{}
	for _, c := range v.conds {
		v.condRe[c.Key] = regexp.MustCompile(`(?i)` + c.Words)
	}
	v.surgicalRe = regexp.MustCompile(`(?i)` + surgicalWords)
}

// Conditions returns the condition table.
func (v *Vocabulary) Conditions() []Condition { return v.conds }

// Condition returns a condition by key.
func (v *Vocabulary) Condition(key string) (Condition, bool) {
	for _, c := range v.conds {
		if c.Key == key {
			return c, true
		}
	}
	return Condition{}, false
}

// ConditionWords returns the compiled words of a condition (nil for an
// unknown key). Callers that read free text (a summary) handle negation
// themselves.
func (v *Vocabulary) ConditionWords(key string) *regexp.Regexp { return v.condRe[key] }

// ConditionByCode returns the condition a SNOMED CT or ICD-10-CM code
// means. system may be an OID, a name, or empty (the code's shape decides).
func (v *Vocabulary) ConditionByCode(code, system string) (string, bool) {
	code = strings.ToUpper(strings.TrimSpace(code))
	if code == "" {
		return "", false
	}
	sys := codeSystem(code, system)
	for _, c := range v.conds {
		switch sys {
		case SystemSNOMED:
			for _, s := range c.SNOMED {
				if s == code {
					return c.Key, true
				}
			}
		case SystemICD10CM:
			flat := strings.ReplaceAll(code, ".", "")
			for _, p := range c.ICD10 {
				if strings.HasPrefix(flat, strings.ReplaceAll(p, ".", "")) {
					return c.Key, true
				}
			}
		}
	}
	return "", false
}

// codeSystem normalises a code system to SystemSNOMED or SystemICD10CM ("" for
// others).
func codeSystem(code, system string) string {
	s := strings.ToUpper(strings.TrimSpace(system))
	switch {
	case s == oidSNOMED || strings.Contains(s, "SNOMED") || s == "SCT":
		return SystemSNOMED
	case s == oidICD10CM || s == oidICD10 || strings.Contains(s, "ICD-10") || strings.Contains(s, "ICD10"):
		return SystemICD10CM
	case s == oidICD9CM || strings.Contains(s, "ICD-9") || strings.Contains(s, "ICD9") || s == strings.ToUpper(systemICD9Name):
		return ""
	case s != "":
		return ""
	}
	// No system: SNOMED CT codes are digits, ICD-10-CM a letter then digits.
	if code[0] >= 'A' && code[0] <= 'Z' {
		return SystemICD10CM
	}
	return SystemSNOMED
}

// ConditionByName returns the condition a problem's name means
// ("Diabetes mellitus type 2", "Exercise-induced angina"). Prediabetes is
// tested before diabetes.
func (v *Vocabulary) ConditionByName(name string) (string, bool) {
	for _, k := range []string{ConditionPrediabetes, ConditionDiabetes, ConditionCardiac, ConditionRespiratory} {
		if v.condRe[k].MatchString(name) {
			return k, true
		}
	}
	return "", false
}

// Problem returns the condition a problem-list entry means: by its code
// when the vocabulary knows it, else by its name.
func (v *Vocabulary) Problem(p record.Problem) (string, bool) {
	if k, ok := v.ConditionByCode(p.Code, p.System); ok {
		return k, true
	}
	return v.ConditionByName(p.Name)
}

// ActiveProblem reports whether a problem's status says it is current
// (active, or no status at all).
func ActiveProblem(status string) bool {
	switch Key(status) {
	case "resolved", "inactive", "completed", "historical", "history of", "ruled out", "refuted", "entered-in-error", "entered in error", "remission":
		return false
	}
	return true
}

// surgicalWords name operations: a procedure named so is a prior surgery;
// others (an EKG, oxygen therapy, an immunisation, imaging) are not.
const surgicalWords = `\b\w*(?:ectomy|ectomies|otomy|otomies|ostomy|plasty|plasties|pexy|rrhaphy)\b` +
	`|\barthroscop\w*|\blaparoscop\w*|\bthoracoscop\w*|\breplacement\b|\brepair\b|\bfusion\b|\breconstruction\b` +
	`|\bbypass\b|\bcabg\b|\bstent\w*|\bimplant\w*|\bexcision\b|\bresection\b|\bamputation\b|\bfixation\b|\borif\b` +
	`|\btransplant\w*|\bgraft\w*|\bsurgery\b|\bsurgical\b|\boperation\b|\bablation\b|\barthrodesis\b|\bdebridement\b` +
	`|\bcesarean\b|\bc-section\b|\bpacemaker insertion\b|\bdiscectomy\b|\blaminectomy\b`

// Surgical reports whether a procedure's name names an operation.
func (v *Vocabulary) Surgical(name string) bool { return v.surgicalRe.MatchString(name) }

func conditionTable() []Condition {
	return []Condition{
		{Key: ConditionDiabetes, Name: "Diabetes", Chinese: "糖尿病",
			SNOMED: []string{"73211009", "44054006", "46635009"},
			ICD10:  []string{"E08", "E09", "E10", "E11", "E13"},
			Words:  `\b(?:type\s*(?:1|2|i|ii|one|two)\s+diabet\w*|diabetes(?:\s+mellitus)?|diabetic|t[12]dm|dm\s?(?:1|2|ii)|iddm|niddm)\b`},
		{Key: ConditionPrediabetes, Name: "Prediabetes", Chinese: "糖尿病前期",
			SNOMED: []string{"714628002"},
			ICD10:  []string{"R73.0"},
			Words:  `\bpre-?\s?diabet\w*|\bimpaired fasting glucose\b|\bimpaired glucose tolerance\b|\bborderline diabet\w*`},
		{Key: ConditionCardiac, Name: "Heart disease", Chinese: "心脏病",
			SNOMED: []string{"194828000", "22298006", "53741008", "414545008", "84114007", "49436004"},
			ICD10: []string{"I05", "I06", "I07", "I08", "I09", "I11", "I20", "I21", "I22", "I23", "I24", "I25", "I34", "I35", "I36", "I37",
				"I38", "I42", "I44", "I45", "I47", "I48", "I49", "I50", "Z95"},
			Words: `\b(?:coronary artery disease|cad|heart disease|heart failure|chf|hfref|hfpef|myocardial infarction|heart attack|atrial fibrillation|afib|a-fib|a\. fib|arrhythmias?|cardiomyopathy|angina|coronary stents?|cardiac stents?|stent placement|cabg|coronary (?:artery )?bypass|valve (?:replacement|disease|repair)|aortic stenosis|mitral (?:valve|regurgitation|stenosis)|pacemaker|defibrillator|cardiac history|heart condition|ischemic heart)\b`},
		{Key: ConditionRespiratory, Name: "Respiratory disease", Chinese: "呼吸系统疾病",
			SNOMED: []string{"195967001", "13645005"},
			ICD10:  []string{"J41", "J42", "J43", "J44", "J45", "J47", "J84", "J96", "G47.33", "I27", "Z99.81", "R06.0"},
			Words:  `\b(?:copd|asthma|emphysema|chronic bronchitis|sleep apnea|obstructive sleep apnea|osa|pulmonary fibrosis|interstitial lung disease|shortness of breath|dyspnea|chronic cough|respiratory (?:issues?|problems?|disease|condition)|lung disease|bronchiectasis|cpap|home oxygen|pulmonary hypertension|lung nodules?)\b`},
	}
}
