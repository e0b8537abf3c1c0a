package ccda

import "strings"

const tplPrefix = "2.16.840.1.113883.10.20."

// Section kinds the reader takes entries from.
const (
	kindNone = iota
	kindMeds
	kindResults
	kindProblems
	kindAllergies
	kindProcedures
	kindVitals
)

// sectionKinds: each kind's section template roots and LOINC section codes,
// the codes being the fallback when no template is known. Roots: C-CDA
// R2.x (".1", entries required) and R1.1 ids, whatever their extension;
// CCD 1.0; HITSP C83 and IHE PCC (C32 documents). The discharge medications
// of a discharge summary count as medications.
var sectionKinds = [...]struct {
	kind  int
	roots []string
	codes []string
}{
	{kindMeds, []string{tplPrefix + "22.2.1.1", tplPrefix + "22.2.1", tplPrefix + "1.8",
		hitsp + "112", ihe + "3.19",
		tplPrefix + "22.2.11.1", tplPrefix + "22.2.11"}, []string{"10160-0", "10183-2", "75311-1"}},
	{kindResults, []string{tplPrefix + "22.2.3.1", tplPrefix + "22.2.3", tplPrefix + "1.14",
		hitsp + "122", ihe + "3.28"}, []string{"30954-2"}},
	{kindProblems, []string{tplPrefix + "22.2.5.1", tplPrefix + "22.2.5", tplPrefix + "1.11",
		hitsp + "103", ihe + "3.6"}, []string{"11450-4"}},
	{kindAllergies, []string{tplPrefix + "22.2.6.1", tplPrefix + "22.2.6", tplPrefix + "1.2",
		hitsp + "102", ihe + "3.13"}, []string{"48765-2"}},
	{kindProcedures, []string{tplPrefix + "22.2.7.1", tplPrefix + "22.2.7", tplPrefix + "1.12",
		hitsp + "108", ihe + "3.12"}, []string{"47519-4"}},
	{kindVitals, []string{tplPrefix + "22.2.4.1", tplPrefix + "22.2.4", tplPrefix + "1.16",
		hitsp + "119", ihe + "3.25", ihe + "1.5.3.2"}, []string{"8716-3"}},
}

const (
	hitsp = "2.16.840.1.113883.3.88.11.83."
	ihe   = "1.3.6.1.4.1.19376.1.5.3.1."
)

func sectionKind(roots []string, code string) int {
	for _, k := range sectionKinds {
		for _, r := range roots {
			for _, x := range k.roots {
				if r == x {
					return k.kind
				}
			}
		}
	}
	for _, k := range sectionKinds {
		for _, c := range k.codes {
			if code == c {
				return k.kind
			}
		}
	}
	return kindNone
}

// Code systems.
const (
	oidRxNorm = "2.16.840.1.113883.6.88"
	oidLOINC  = "2.16.840.1.113883.6.1"
)

// systemName names the code systems of problems and procedures.
func systemName(oid, fallback string) string {
	switch oid {
	case "2.16.840.1.113883.6.96":
		return "SNOMED CT"
	case "2.16.840.1.113883.6.90":
		return "ICD-10-CM"
	case "2.16.840.1.113883.6.103", "2.16.840.1.113883.6.2", "2.16.840.1.113883.6.104":
		return "ICD-9-CM"
	case "2.16.840.1.113883.6.4":
		return "ICD-10-PCS"
	case "2.16.840.1.113883.6.12":
		return "CPT"
	case "2.16.840.1.113883.6.285":
		return "HCPCS"
	case oidLOINC:
		return "LOINC"
	case oidRxNorm:
		return "RxNorm"
	}
	return fallback
}

// statusByCode: the SNOMED CT status values vendors send without a name.
func statusByCode(code string) string {
	switch code {
	case "55561003":
		return "active"
	case "73425007":
		return "inactive"
	case "413322009":
		return "resolved"
	}
	return ""
}

// flagOf keeps the interpretation codes the record knows (AA counts as A).
func flagOf(code string) string {
	switch f := strings.ToUpper(code); f {
	case "H", "L", "HH", "LL", "A", "N":
		return f
	case "AA":
		return "A"
	}
	return ""
}
