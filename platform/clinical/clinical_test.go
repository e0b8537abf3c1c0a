package clinical

import (
	"regexp"
	"strings"
	"testing"

	"github.com/handoffmed/handoff/platform/record"
)

var (
	rxcuiRe = regexp.MustCompile(`^[0-9]{1,8}$`)
	loincRe = regexp.MustCompile(`^[0-9]{1,6}-[0-9]$`)
	hanRe   = regexp.MustCompile(`\p{Han}`)
)

// loincCheck verifies a LOINC code's mod-10 check digit.
func loincCheck(code string) bool {
	body, check, _ := strings.Cut(code, "-")
	sum := 0
	double := true
	for i := len(body) - 1; i >= 0; i-- {
		d := int(body[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return (10-sum%10)%10 == int(check[0]-'0')
}

func TestDrugTableWellFormed(t *testing.T) {
	v := New()
	classes := map[string]bool{"": true, ClassAnticoagulant: true, ClassAntiplatelet: true, ClassClottingSupplement: true,
		ClassNSAID: true, ClassAntidiabetic: true, ClassInhaledRespiratory: true}
	owner := map[string]string{}
	rx := map[string]string{}
	for _, d := range v.Drugs() {
		if d.Generic == "" || d.Generic != Key(d.Generic) {
			t.Errorf("generic %q: want a lower-case, trimmed name", d.Generic)
		}
		if !classes[d.Class] {
			t.Errorf("%s: unknown class %q", d.Generic, d.Class)
		}
		if !hanRe.MatchString(d.Chinese) {
			t.Errorf("%s: got Chinese name %q, want one in Chinese", d.Generic, d.Chinese)
		}
		if d.RxCUI != "" {
			if !rxcuiRe.MatchString(d.RxCUI) {
				t.Errorf("%s: malformed RxCUI %q", d.Generic, d.RxCUI)
			}
			if o, dup := rx[d.RxCUI]; dup {
				t.Errorf("RxCUI %s: both %s and %s", d.RxCUI, o, d.Generic)
			}
			rx[d.RxCUI] = d.Generic
		}
		for _, n := range append(append([]string{d.Generic}, d.Names...), d.Chinese) {
			k := Key(n)
			if k != strings.ToLower(n) {
				t.Errorf("%s: name %q is not normalised", d.Generic, n)
			}
			if o, dup := owner[k]; dup && o != d.Generic {
				t.Errorf("name %q maps to two generics: %s and %s", n, o, d.Generic)
			} else if dup {
				t.Errorf("%s: name %q listed twice", d.Generic, n)
			}
			owner[k] = d.Generic
		}
	}
}

func TestFindDrug(t *testing.T) {
	v := New()
	tests := []struct {
		text, generic, class string
	}{
		{"Eliquis 5 mg twice daily", "apixaban", ClassAnticoagulant},
		{"Fragmin 5000 units daily", "dalteparin", ClassAnticoagulant},
		{"Lixiana 60 mg", "edoxaban", ClassAnticoagulant},
		{"Arixtra 2.5 mg SC", "fondaparinux", ClassAnticoagulant},
		{"Sintrom 4 mg", "acenocoumarol", ClassAnticoagulant},
		{"tinzaparin 4500 IU", "tinzaparin", ClassAnticoagulant},
		{"Innohep", "tinzaparin", ClassAnticoagulant},
		{"Clexane 40 mg", "enoxaparin", ClassAnticoagulant},
		{"ASA 81 mg daily", "aspirin", ClassAntiplatelet},
		{"Plavix 75 mg", "clopidogrel", ClassAntiplatelet},
		{"Aggrenox twice daily", "aspirin-dipyridamole", ClassAntiplatelet},
		{"aspirin-dipyridamole 25/200", "aspirin-dipyridamole", ClassAntiplatelet},
		{"Omega 3 fatty acids 1 g", "fish oil", ClassClottingSupplement},
		{"Advil as needed", "ibuprofen", ClassNSAID},
		{"Lantus 30 units at bedtime", "insulin", ClassAntidiabetic},
		{"Symbicort 2 puffs", "budesonide-formoterol", ClassInhaledRespiratory},
		{"Lipitor 40 mg", "atorvastatin", ""},
	}
	for _, tc := range tests {
		m, ok := v.FindDrug(tc.text)
		if !ok {
			t.Errorf("%q: no drug found, want %s", tc.text, tc.generic)
			continue
		}
		if m.Drug.Generic != tc.generic || m.Drug.Class != tc.class {
			t.Errorf("%q: got %s (%s), want %s (%s)", tc.text, m.Drug.Generic, m.Drug.Class, tc.generic, tc.class)
		}
		if tc.text[m.Start:m.End] != m.Text {
			t.Errorf("%q: offsets %d-%d do not hold %q", tc.text, m.Start, m.End, m.Text)
		}
	}
	for _, text := range []string{"the asa guidelines", "no medicines", "fish\noil"} {
		if m, ok := v.FindDrug(text); ok {
			t.Errorf("%q: got %s, want no drug", text, m.Drug.Generic)
		}
	}
}

func TestDrugLookups(t *testing.T) {
	v := New()
	for _, tc := range []struct {
		display, generic string
	}{
		{"Insulin Glargine 100 UNT/ML Injectable Solution [Lantus]", "insulin"},
		{"Aspirin 81 MG Oral Tablet", "aspirin"},
		{"atorvastatin 40 MG Oral Tablet", "atorvastatin"},
		{"NovoLog", "insulin"},
		{"apixaban 5 MG Oral Tablet [Eliquis]", "apixaban"},
	} {
		d, ok := v.DrugByDisplayName(tc.display)
		if !ok || d.Generic != tc.generic {
			t.Errorf("%q: got %s %v, want %s", tc.display, d.Generic, ok, tc.generic)
		}
	}
	for code, generic := range map[string]string{"1191": "aspirin", "11289": "warfarin", "1364430": "apixaban", "32968": "clopidogrel"} {
		if d, ok := v.DrugByRxNorm(code); !ok || d.Generic != generic {
			t.Errorf("RxCUI %s: got %s, want %s", code, d.Generic, generic)
		}
	}
	if d, ok := v.Drug("华法林"); !ok || d.Generic != "warfarin" {
		t.Errorf("华法林: got %s, want warfarin", d.Generic)
	}
	m := record.Medication{Name: "Aspirin 81 MG Oral Tablet", RxNorm: "243670"}
	if got := v.MedicationClass(m); got != ClassAntiplatelet {
		t.Errorf("class of %q: got %q, want %q", m.Name, got, ClassAntiplatelet)
	}
	if got := v.MedicationClass(record.Medication{Name: "zyflamend", Class: ClassClottingSupplement}); got != ClassClottingSupplement {
		t.Errorf("an unknown drug keeps its record's class: got %q", got)
	}
}

func TestLabTableWellFormed(t *testing.T) {
	v := New()
	panels := map[string]bool{record.PanelCBC: true, record.PanelBMP: true, record.PanelCMP: true, record.PanelCoag: true, record.PanelHbA1c: true}
	codes := map[string]string{}
	names := map[string]string{}
	keys := map[string]bool{}
	for _, l := range v.LabTests() {
		if keys[l.Key] {
			t.Errorf("lab key %s twice", l.Key)
		}
		keys[l.Key] = true
		if l.Name == "" || !hanRe.MatchString(l.Chinese) {
			t.Errorf("%s: got names %q/%q, want English and Chinese", l.Key, l.Name, l.Chinese)
		}
		for _, p := range l.Panels {
			if !panels[p] {
				t.Errorf("%s: unknown panel %q", l.Key, p)
			}
		}
		for _, c := range l.LOINC {
			if !loincRe.MatchString(c) || !loincCheck(c) {
				t.Errorf("%s: LOINC %q is malformed or its check digit is wrong", l.Key, c)
			}
			if o, dup := codes[c]; dup {
				t.Errorf("LOINC %s: both %s and %s", c, o, l.Key)
			}
			codes[c] = l.Key
		}
		for _, n := range l.Names {
			if n != Key(n) {
				t.Errorf("%s: name %q is not normalised", l.Key, n)
			}
			if o, dup := names[n]; dup {
				t.Errorf("lab name %q: both %s and %s", n, o, l.Key)
			}
			names[n] = l.Key
		}
		if l.Text != "" {
			if _, err := regexp.Compile(l.Text); err != nil {
				t.Errorf("%s: %v", l.Key, err)
			}
		}
	}
	for _, p := range v.Panels() {
		if !panels[p.Key] || !hanRe.MatchString(p.Chinese) {
			t.Errorf("panel %s: malformed", p.Key)
		}
		for _, c := range p.LOINC {
			if !loincRe.MatchString(c) || !loincCheck(c) {
				t.Errorf("panel %s: LOINC %q malformed", p.Key, c)
			}
			if o, dup := codes[c]; dup {
				t.Errorf("LOINC %s: both %s and panel %s", c, o, p.Key)
			}
			codes[c] = p.Key
		}
	}
	// The codes the checklist relies on.
	for code, key := range map[string]string{"718-7": "hemoglobin", "6690-2": "wbc", "777-3": "platelets", "2160-0": "creatinine",
		"2823-3": "potassium", "2345-7": "glucose", "5902-2": "pt", "6301-6": "inr", "4548-4": "hba1c", "11524-6": LabEKG,
		"20570-8": "hematocrit", "2951-2": "sodium", "3094-0": "bun", "17856-6": "hba1c", "34714-6": "inr", "2339-0": "glucose"} {
		if l, ok := v.LabByLOINC(code); !ok || l.Key != key {
			t.Errorf("LOINC %s: got %s, want %s", code, l.Key, key)
		}
	}
	for code, panel := range map[string]string{"58410-2": record.PanelCBC, "57021-8": record.PanelCBC, "51990-0": record.PanelBMP, "24323-8": record.PanelCMP} {
		if p, ok := v.PanelByLOINC(code); !ok || p.Key != panel {
			t.Errorf("panel LOINC %s: got %s, want %s", code, p.Key, panel)
		}
	}
	if n := len(v.SummaryLabs()); n != 8 {
		t.Errorf("got %d summary labs, want 8", n)
	}
}

func TestLabByName(t *testing.T) {
	v := New()
	for name, key := range map[string]string{
		"HGB (HEMOGLOBIN)": "hemoglobin", "Hemoglobin A1c/Hemoglobin.total in Blood": "hba1c", "Potassium Level": "potassium",
		"Glucose, Random": "glucose", "INR in Platelet poor plasma by Coagulation assay": "inr", "UREA NITROGEN:MCNC:PT:BLD:QN:": "bun",
		"Creatinine [Mass/volume] in Serum or Plasma": "creatinine", "WBC": "wbc", "Platelet Count": "platelets", "PT/INR": "inr",
		"Prothrombin Time": "pt", "EKG 12 channel panel": LabEKG,
	} {
		if l, ok := v.LabByName(name); !ok || l.Key != key {
			t.Errorf("%q: got %q %v, want %s", name, l.Key, ok, key)
		}
	}
	for _, name := range []string{"Glucose [Mass/volume] in Urine by Test strip", "Troponin T", "C-reactive protein"} {
		if l, ok := v.LabByName(name); ok {
			t.Errorf("%q: got %s, want none", name, l.Key)
		}
	}
}

func TestConditions(t *testing.T) {
	v := New()
	tests := []struct {
		p    record.Problem
		want string
	}{
		{record.Problem{Name: "Diabetes mellitus type 2 (disorder)", Code: "44054006", System: "2.16.840.1.113883.6.96"}, ConditionDiabetes},
		{record.Problem{Name: "Type II DIabetes", Code: "195967001", System: "SNOMED CT"}, ConditionRespiratory}, // the code decides
		{record.Problem{Name: "Angina", Code: "194828000"}, ConditionCardiac},
		{record.Problem{Name: "whatever", Code: "E11.9", System: "ICD-10-CM"}, ConditionDiabetes},
		{record.Problem{Name: "whatever", Code: "R73.03", System: "2.16.840.1.113883.6.90"}, ConditionPrediabetes},
		{record.Problem{Name: "whatever", Code: "I48.91"}, ConditionCardiac},
		{record.Problem{Name: "COPD", Code: "J449"}, ConditionRespiratory},
		{record.Problem{Name: "Prediabetes"}, ConditionPrediabetes},
		{record.Problem{Name: "Exercise-induced angina"}, ConditionCardiac},
		{record.Problem{Name: "Hypercholesterolemia", Code: "13644009"}, ""},
		{record.Problem{Name: "Diabetes", Code: "250.00", System: "ICD-9-CM"}, ConditionDiabetes}, // name fallback
	}
	for _, tc := range tests {
		got, _ := v.Problem(tc.p)
		if got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.p, got, tc.want)
		}
	}
	for _, c := range v.Conditions() {
		if !hanRe.MatchString(c.Chinese) || c.Name == "" {
			t.Errorf("condition %s: want English and Chinese names", c.Key)
		}
		if l := ConditionLabel(c.Key); l.EN == "" || l.ZH == "" {
			t.Errorf("condition %s has no label", c.Key)
		}
	}
	if !ActiveProblem("Active") || !ActiveProblem("") || ActiveProblem("Resolved") {
		t.Error("ActiveProblem: active/empty must be active, resolved not")
	}
	for name, want := range map[string]bool{"Total knee arthroplasty": true, "Appendectomy": true, "Right hip arthroscopy 2018": true,
		"Coronary stent placement": true, "Electrocardiographic procedure": false, "Intranasal oxygen therapy": false, "Influenza vaccination": false} {
		if got := v.Surgical(name); got != want {
			t.Errorf("Surgical(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestLabels(t *testing.T) {
	for _, p := range record.Parts {
		if l := PartLabel(p); l.EN == "" || !hanRe.MatchString(l.ZH) {
			t.Errorf("part %s: got %+v", p, l)
		}
	}
	for _, c := range FindingCodes() {
		l, _ := FindingLabel(c)
		if l.EN == "" || !hanRe.MatchString(l.ZH) {
			t.Errorf("finding %s: got %+v, want English and Chinese", c, l)
		}
	}
	for _, f := range []string{FieldTitle, FieldPatient, FieldAllergies, FieldMedications, FieldLabs, FieldImpression, FieldFindings} {
		if l := SummaryLabel(f); l.EN == "" || !hanRe.MatchString(l.ZH) {
			t.Errorf("field %s: got %+v", f, l)
		}
	}
}

func TestMeasures(t *testing.T) {
	for _, tc := range []struct {
		in, height, weight string
	}{
		{"5 ft 10 in", "5 ft 10 in (178 cm)", ""},
		{`5'10"`, `5'10" (178 cm)`, ""},
		{"178 cm", "178 cm", ""},
		{"70 [in_i]", "70 [in_i] (178 cm)", ""},
		{"182 lb", "", "182 lb (83 kg)"},
		{"182 lbs", "", "182 lbs (83 kg)"},
		{"83 kg", "", "83 kg"},
		{"180 [lb_av]", "", "180 [lb_av] (82 kg)"},
		{"tall", "tall", "tall"},
	} {
		if tc.height != "" {
			if got := MetricHeight(tc.in); got != tc.height {
				t.Errorf("MetricHeight(%q) = %q, want %q", tc.in, got, tc.height)
			}
		}
		if tc.weight != "" {
			if got := MetricWeight(tc.in); got != tc.weight {
				t.Errorf("MetricWeight(%q) = %q, want %q", tc.in, got, tc.weight)
			}
		}
	}
}

func FuzzLookups(f *testing.F) {
	v := New()
	for _, s := range []string{"Eliquis 5 mg", "HGB (HEMOGLOBIN)", "5 ft 10 in", "182 lb", "[Lantus", "E11.9", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v.FindDrug(s)
		v.DrugByDisplayName(s)
		v.LabByName(s)
		v.ConditionByCode(s, "")
		v.ConditionByName(s)
		Height(s)
		Weight(s)
		MetricHeight(s)
		MetricWeight(s)
	})
}
