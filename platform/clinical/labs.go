package clinical

import (
	"strings"

	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/textfold"
)

// LabEKG is the key of the EKG entry of the lab table: an EKG result is not
// a lab panel, but the checklist asks for it beside the labs.
const LabEKG = "ekg"

// LabTest is one lab test (or the EKG).
type LabTest struct {
	// Key identifies the test ("hemoglobin", "wbc", ...).
	Key string
	// Name is the English name shown to a specialist; Chinese the Chinese.
	Name, Chinese string
	// Panels are the record.Panel* panels the test belongs to.
	Panels []string
	// LOINC are the test's codes, the main one first.
	LOINC []string
	// Names are the names and abbreviations labs print for it (lower case),
	// matched against a result's name as whole words.
	Names []string
	// Text is a regular expression (case-insensitive, multi-line) that finds
	// the test on a lab report's text; "" when the text is not searched for
	// it.
	Text string
	// Summary marks the key tests the one-page summary shows.
	Summary bool
}

// Panel is a lab panel.
type Panel struct {
	Key           string // record.Panel*
	Name, Chinese string
	LOINC         []string
	// Title is a regular expression (case-insensitive) of the words that
	// name the panel outright on a report.
	Title string
}

type labName struct {
	name string
	i    int
}

func (v *Vocabulary) indexLabs() {
	v.labLOINC = map[string]int{}
	for i, t := range v.labs {
		for _, c := range t.LOINC {
			v.labLOINC[c] = i
		}
		for _, n := range t.Names {
			v.labNames = append(v.labNames, labName{name: n, i: i})
		}
	}
	names := make([]string, len(v.labNames))
	for i, n := range v.labNames {
		names[i] = n.name
	}
	// Longest first: "hemoglobin a1c" before "hemoglobin".
	byName := map[string]int{}
	for _, n := range v.labNames {
		byName[n.name] = n.i
	}
	longestFirst(names)
	v.labNames = v.labNames[:0]
	for _, n := range names {
		v.labNames = append(v.labNames, labName{name: n, i: byName[n]})
	}
	v.panelLOINC = map[string]int{}
	for i, p := range v.panels {
		for _, c := range p.LOINC {
			v.panelLOINC[c] = i
		}
	}
}

// LabTests returns the lab table.
func (v *Vocabulary) LabTests() []LabTest { return v.labs }

// Panels returns the panels in their canonical order.
func (v *Vocabulary) Panels() []Panel { return v.panels }

// Panel returns a panel by its record.Panel* key.
func (v *Vocabulary) Panel(key string) (Panel, bool) {
	for _, p := range v.panels {
		if p.Key == key {
			return p, true
		}
	}
	return Panel{}, false
}

// PanelByLOINC returns the panel a panel code names (58410-2 is a CBC).
func (v *Vocabulary) PanelByLOINC(code string) (Panel, bool) {
	i, ok := v.panelLOINC[strings.TrimSpace(code)]
	if !ok {
		return Panel{}, false
	}
	return v.panels[i], true
}

// SummaryLabs returns the key tests the summary shows, in its order.
func (v *Vocabulary) SummaryLabs() []LabTest {
	var out []LabTest
	for _, k := range []string{"hemoglobin", "wbc", "platelets", "creatinine", "potassium", "glucose", "inr", "hba1c"} {
		if t, ok := v.LabTest(k); ok {
			out = append(out, t)
		}
	}
	return out
}

// LabTest returns a test by its key.
func (v *Vocabulary) LabTest(key string) (LabTest, bool) {
	for _, t := range v.labs {
		if t.Key == key {
			return t, true
		}
	}
	return LabTest{}, false
}

// LabByLOINC returns the test a LOINC code names.
func (v *Vocabulary) LabByLOINC(code string) (LabTest, bool) {
	i, ok := v.labLOINC[strings.TrimSpace(code)]
	if !ok {
		return LabTest{}, false
	}
	return v.labs[i], true
}

// LabByName reads the test from a result's name as a lab prints it
// ("Hgb", "Potassium Level", "Glucose, Random", "INR in Platelet poor
// plasma by Coagulation assay", "UREA NITROGEN:MCNC:PT:BLD:QN:"). The LOINC
// long name's system and method ("in Blood", "[Mass/volume]", ":PT:BLD")
// are left aside; the longest known name among the words wins.
func (v *Vocabulary) LabByName(name string) (LabTest, bool) {
	n := Key(name)
	// Urine, fluid and stool tests share names with the blood tests.
	for _, w := range []string{"urine", "urinary", "fluid", "csf", "stool", "feces", "dipstick"} {
		if textfold.ContainsWord(n, w) {
			return LabTest{}, false
		}
	}
	for _, cut := range []string{" in ", "[", ":"} {
		if i := strings.Index(n, cut); i > 0 {
			n = n[:i]
		}
	}
	for _, ln := range v.labNames {
		if textfold.ContainsWord(n, ln.name) {
			return v.labs[ln.i], true
		}
	}
	return LabTest{}, false
}

// Lab finds the test of a result: by its LOINC code, else its name.
func (v *Vocabulary) Lab(r record.LabResult) (LabTest, bool) {
	if t, ok := v.LabByLOINC(r.LOINC); ok {
		return t, true
	}
	return v.LabByName(r.Name)
}

// labTable lists the tests. The order is the order analytes are reported
// as evidence.
func labTable() []LabTest {
	const cbc, bmp, cmp, coag, a1c = record.PanelCBC, record.PanelBMP, record.PanelCMP, record.PanelCoag, record.PanelHbA1c
	p := func(ps ...string) []string { return ps }
	return []LabTest{
		{Key: "wbc", Name: "White blood cells", Chinese: "白细胞计数", Panels: p(cbc), Summary: true,
			LOINC: []string{"6690-2", "26464-8", "804-5", "33765-9"},
			Names: []string{"wbc", "white blood cell count", "white blood cells", "white blood count", "white cell count", "leukocytes", "leukocyte count", "wbc count"},
			Text:  `\bwbc\b|\bwhite blood (?:cell|cells|count)\b|\bleukocytes\b`},
		{Key: "rbc", Name: "Red blood cells", Chinese: "红细胞计数", Panels: p(cbc),
			LOINC: []string{"789-8"},
			Names: []string{"rbc", "red blood cell count", "red blood cells", "red blood count", "erythrocytes", "erythrocyte count"},
			Text:  `\brbc\b|\bred blood (?:cell|cells|count)\b|\berythrocytes\b`},
		{Key: "hemoglobin", Name: "Hemoglobin", Chinese: "血红蛋白", Panels: p(cbc), Summary: true,
			LOINC: []string{"718-7", "30313-1"},
			Names: []string{"hemoglobin", "haemoglobin", "hgb", "hb", "hgb (hemoglobin)"},
			Text:  `\b(?:hemoglobin|haemoglobin|hgb|hb)\b(?:\s*(?:,\s*)?(?:blood|total))?(?:[^a-z0-9]*$|\s+(?:\d|[<>]|l\b|h\b))`},
		{Key: "hematocrit", Name: "Hematocrit", Chinese: "红细胞压积", Panels: p(cbc),
			LOINC: []string{"4544-3", "20570-8"},
			Names: []string{"hematocrit", "haematocrit", "hct"},
			Text:  `\bhematocrit\b|\bhct\b`},
		{Key: "platelets", Name: "Platelets", Chinese: "血小板计数", Panels: p(cbc), Summary: true,
			LOINC: []string{"777-3", "26515-7"},
			Names: []string{"platelets", "platelet", "platelet count", "plt", "thrombocytes"},
			Text:  `\bplatelets?\b|\bplt\b|\bplatelet count\b`},
		{Key: "mcv", Name: "MCV", Chinese: "平均红细胞体积", Panels: p(cbc),
			Names: []string{"mcv", "mean corpuscular volume"},
			Text:  `\bmcv\b|\bmean corpuscular volume\b`},
		{Key: "rbc_indices", Name: "MCH/MCHC/RDW", Chinese: "红细胞指数", Panels: p(cbc),
			Names: []string{"mch", "mchc", "rdw", "mean corpuscular hemoglobin", "red cell distribution width"},
			Text:  `\bmchc?\b|\brdw\b`},
		{Key: "sodium", Name: "Sodium", Chinese: "钠", Panels: p(bmp),
			LOINC: []string{"2951-2", "2947-0"},
			Names: []string{"sodium", "na", "sodium level"},
			Text:  `\bsodium\b|^\s*na\b`},
		{Key: "potassium", Name: "Potassium", Chinese: "钾", Panels: p(bmp), Summary: true,
			LOINC: []string{"2823-3", "6298-4", "22760-3", "75940-7"},
			Names: []string{"potassium", "k", "potassium level"},
			Text:  `\bpotassium\b|^\s*k\b`},
		{Key: "chloride", Name: "Chloride", Chinese: "氯", Panels: p(bmp),
			LOINC: []string{"2069-3"},
			Names: []string{"chloride", "cl"},
			Text:  `\bchloride\b|^\s*cl\b`},
		{Key: "co2", Name: "CO2 (bicarbonate)", Chinese: "二氧化碳", Panels: p(bmp),
			LOINC: []string{"2028-9", "20565-8"},
			Names: []string{"co2", "carbon dioxide", "bicarbonate", "hco3", "total co2"},
			Text:  `\bco2\b|\bcarbon dioxide\b|\bbicarbonate\b|\bhco3\b|\btotal co2\b`},
		{Key: "bun", Name: "Urea nitrogen (BUN)", Chinese: "尿素氮", Panels: p(bmp),
			LOINC: []string{"3094-0", "6299-2"},
			Names: []string{"bun", "urea nitrogen", "blood urea nitrogen", "blood urea"},
			Text:  `\bbun\b|\burea nitrogen\b|\bblood urea\b`},
		{Key: "creatinine", Name: "Creatinine", Chinese: "肌酐", Panels: p(bmp), Summary: true,
			LOINC: []string{"2160-0", "38483-4"},
			Names: []string{"creatinine", "creat", "creatinine level"},
			Text:  `\bcreatinine\b(?:\s*,\s*(?:serum|blood))?`},
		{Key: "glucose", Name: "Glucose", Chinese: "葡萄糖", Panels: p(bmp), Summary: true,
			LOINC: []string{"2345-7", "2339-0"},
			Names: []string{"glucose", "blood glucose", "blood sugar", "glucose level", "fasting glucose"},
			Text:  `\bglucose\b`},
		{Key: "calcium", Name: "Calcium", Chinese: "钙", Panels: p(bmp),
			LOINC: []string{"17861-6"},
			Names: []string{"calcium"},
			Text:  `\bcalcium\b(?:\s*,\s*serum)?`},
		{Key: "egfr", Name: "eGFR", Chinese: "估算肾小球滤过率", Panels: p(bmp),
			Names: []string{"egfr", "glomerular filtration rate", "estimated gfr", "gfr"},
			Text:  `\begfr\b|\bglomerular filtration\b`},
		{Key: "bun_creatinine_ratio", Name: "BUN/creatinine ratio", Chinese: "尿素氮/肌酐比值",
			Names: []string{"bun/creatinine ratio", "bun/creatinine", "urea nitrogen/creatinine"}},
		{Key: "albumin", Name: "Albumin", Chinese: "白蛋白", Panels: p(cmp),
			Names: []string{"albumin"},
			Text:  `\balbumin\b`},
		{Key: "total_protein", Name: "Total protein", Chinese: "总蛋白", Panels: p(cmp),
			Names: []string{"total protein", "protein, total"},
			Text:  `\btotal protein\b|\bprotein,\s*total\b`},
		{Key: "alt", Name: "ALT", Chinese: "丙氨酸氨基转移酶", Panels: p(cmp),
			Names: []string{"alt", "sgpt", "alanine aminotransferase", "alt (sgpt)"},
			Text:  `\balt\b|\bsgpt\b|\balanine aminotransferase\b`},
		{Key: "ast", Name: "AST", Chinese: "天门冬氨酸氨基转移酶", Panels: p(cmp),
			Names: []string{"ast", "sgot", "aspartate aminotransferase", "ast (sgot)"},
			Text:  `\bast\b|\bsgot\b|\baspartate aminotransferase\b`},
		{Key: "bilirubin", Name: "Bilirubin", Chinese: "胆红素", Panels: p(cmp),
			Names: []string{"bilirubin", "total bilirubin", "bilirubin, total", "bilirubin.total"},
			Text:  `\bbilirubin\b`},
		{Key: "alkaline_phosphatase", Name: "Alkaline phosphatase", Chinese: "碱性磷酸酶", Panels: p(cmp),
			Names: []string{"alkaline phosphatase", "alk phos", "alp"},
			Text:  `\balkaline phosphatase\b|\balk\s*phos\b|\balp\b`},
		{Key: "pt", Name: "Prothrombin time (PT)", Chinese: "凝血酶原时间", Panels: p(coag),
			LOINC: []string{"5902-2", "5964-2"},
			Names: []string{"pt", "prothrombin time", "protime", "pro time"},
			Text:  `\bprothrombin time\b|\bprotime\b|^\s*pt\b(?:\s*(?:\(|sec|\d))|\bpt\s*/\s*inr\b`},
		{Key: "inr", Name: "INR", Chinese: "国际标准化比值", Panels: p(coag), Summary: true,
			LOINC: []string{"6301-6", "34714-6"},
			Names: []string{"inr", "international normalized ratio", "international normalised ratio", "pt inr", "pt/inr"},
			Text:  `\binr\b|\binternational normali[sz]ed ratio\b`},
		{Key: "ptt", Name: "aPTT", Chinese: "活化部分凝血活酶时间", Panels: p(coag),
			LOINC: []string{"3173-2"},
			Names: []string{"ptt", "aptt", "partial thromboplastin time", "activated partial thromboplastin time"},
			Text:  `\ba?ptt\b|\bpartial thromboplastin\b`},
		{Key: "fibrinogen", Name: "Fibrinogen", Chinese: "纤维蛋白原", Panels: p(coag),
			Names: []string{"fibrinogen"},
			Text:  `\bfibrinogen\b`},
		{Key: "hba1c", Name: "HbA1c", Chinese: "糖化血红蛋白", Panels: p(a1c), Summary: true,
			LOINC: []string{"4548-4", "17856-6", "4549-2"},
			Names: []string{"hba1c", "a1c", "hemoglobin a1c", "haemoglobin a1c", "hgb a1c", "hb a1c", "glycated hemoglobin",
				"glycohemoglobin", "glycosylated hemoglobin", "hemoglobin a1c/hemoglobin.total"},
			Text: `\b(?:hemoglobin|haemoglobin|hgb|hb)\s*a1c\b|\bhba1c\b|\ba1c\b|\bglycated hemoglobin\b|\bglycohemoglobin\b|\bglycosylated hemoglobin\b`},
		{Key: LabEKG, Name: "EKG", Chinese: "心电图",
			LOINC: []string{"11524-6", "34534-8"},
			Names: []string{"ekg", "ecg", "electrocardiogram", "12 lead ekg", "12-lead ekg", "ekg 12 channel panel", "ekg study"}},
	}
}

// panelTable lists the panels in their canonical order.
func panelTable() []Panel {
	return []Panel{
		{Key: record.PanelCBC, Name: "Complete blood count (CBC)", Chinese: "血常规",
			LOINC: []string{"58410-2", "57021-8", "57782-5"},
			Title: `\bcbc\b|\bcomplete blood count\b|\bhemogram\b`},
		{Key: record.PanelBMP, Name: "Basic metabolic panel (BMP)", Chinese: "基础代谢检查",
			LOINC: []string{"51990-0", "24321-2"},
			Title: `\bbmp\b|\bbasic metabolic panel\b|\bchem(?:istry)?[- ]?7\b|\bbasic metabolic\b`},
		{Key: record.PanelCMP, Name: "Comprehensive metabolic panel (CMP)", Chinese: "综合代谢检查",
			LOINC: []string{"24323-8"},
			Title: `\bcmp\b|\bcomprehensive metabolic panel\b|\bchem(?:istry)?[- ]?(?:12|14)\b|\bcomprehensive metabolic\b`},
		{Key: record.PanelCoag, Name: "Coagulation (PT/INR)", Chinese: "凝血功能",
			Title: `\bpt\s*/\s*inr\b|\bprothrombin time\b|\bcoagulation (?:panel|profile|studies)\b|\bcoag panel\b|\bprotime\b`},
		{Key: record.PanelHbA1c, Name: "HbA1c", Chinese: "糖化血红蛋白",
			Title: `\bhemoglobin a1c\b|\bhba1c\b|\bhgb a1c\b|\bglycated hemoglobin\b`},
	}
}
