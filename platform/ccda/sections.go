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

// sectionKinds: each kind's template roots (C-CDA R2.x ".1" entries-required
// ids, R1.1 entries-optional ids, and the CCD 1.0 / HITSP C32 ids; the
// extension does not matter) and its LOINC section code, the fallback when no
// template is known.
var sectionKinds = [...]struct {
	kind  int
	roots []string
	code  string
}{
	{kindMeds, []string{"22.2.1.1", "22.2.1", "1.8"}, "10160-0"},
	{kindResults, []string{"22.2.3.1", "22.2.3", "1.14"}, "30954-2"},
	{kindProblems, []string{"22.2.5.1", "22.2.5", "1.11"}, "11450-4"},
	{kindAllergies, []string{"22.2.6.1", "22.2.6", "1.2"}, "48765-2"},
	{kindProcedures, []string{"22.2.7.1", "22.2.7", "1.12"}, "47519-4"},
	{kindVitals, []string{"22.2.4.1", "22.2.4", "1.16"}, "8716-3"},
}

func sectionKind(roots []string, code string) int {
	for _, r := range roots {
		rest, ok := strings.CutPrefix(r, tplPrefix)
		if !ok {
			continue
		}
		for _, k := range sectionKinds {
			for _, x := range k.roots {
				if rest == x {
					return k.kind
				}
			}
		}
	}
	for _, k := range sectionKinds {
		if code == k.code {
			return k.kind
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
