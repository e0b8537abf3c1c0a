package ccda_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffmed/handoff/platform/ccda"
	"github.com/handoffmed/handoff/platform/record"
)

// cdaDoc wraps sections in a minimal C-CDA.
func cdaDoc(sections ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:sdtc="urn:hl7-org:sdtc">
<templateId root="2.16.840.1.113883.10.20.22.1.1" extension="2015-08-01"/>
<code code="34133-9" codeSystem="2.16.840.1.113883.6.1"/>
<title>Summary</title>
<effectiveTime value="201602"/>
<recordTarget><patientRole><patient>
<name use="P"><given>Nick</given><family>Name</family></name>
<name use="L"><given>Ann</given><given>Marie</given><family>Doe</family></name>
<administrativeGenderCode code="UN"/><birthTime value="198002"/><sdtc:deceasedInd value="false"/>
</patient></patientRole></recordTarget>
<component><structuredBody>`)
	for _, s := range sections {
		b.WriteString("<component><section>" + s + "</section></component>\n")
	}
	b.WriteString("</structuredBody></component></ClinicalDocument>\n")
	return b.String()
}

// variantDocs are small documents written the ways vendors differ, with
// what the reader must make of them.
var variantDocs = []struct {
	name string
	doc  string
	want func(d *ccda.Document) any
	exp  any
}{
	{"header", cdaDoc(), func(d *ccda.Document) any {
		return []string{strings.Join(d.Patient.Given, "+"), d.Patient.Family, d.Patient.BirthDate, d.Patient.Sex, d.Version, d.Date}
	}, []string{"Ann+Marie", "Doe", "1980-02", "X", "R2.1", "2016-02"}},
	{"medications by narrative", cdaDoc(`<templateId root="2.16.840.1.113883.10.20.22.2.1.1" extension="2014-06-09"/>
<code code="10160-0"/><text><table><tbody>
<tr><td>Metoprolol 25 mg tablet</td><td><content ID="sig1">25 mg by mouth twice a day</content></td></tr>
<tr><td><content ID="name2">Warfarin</content></td><td><content ID="sig2">5 mg = 1 tab(s), PO, every evening</content></td></tr>
</tbody></table></text>
<entry><substanceAdministration moodCode="INT"><text><reference value="#sig1"/></text>
 <statusCode code="active"/><effectiveTime xsi:type="IVL_TS"><low value="2015"/></effectiveTime>
 <effectiveTime xsi:type="PIVL_TS" institutionSpecified="true"><period value="12" unit="h"/></effectiveTime>
 <consumable><manufacturedProduct><manufacturedMaterial><code nullFlavor="UNK"/></manufacturedMaterial></manufacturedProduct></consumable>
</substanceAdministration></entry>
<entry><substanceAdministration moodCode="INT"><text><reference value="#sig2"/></text>
 <effectiveTime value="20150102"/>
 <effectiveTime xsi:type="EIVL_TS"><event code="HS"/></effectiveTime>
 <consumable><manufacturedProduct><manufacturedMaterial><code code="855332" codeSystem="2.16.840.1.113883.6.88" nullFlavor="OTH"><originalText><reference value="#name2"/></originalText>
 <translation code="11289" codeSystem="2.16.840.1.113883.6.88" displayName="warfarin"/></code></manufacturedMaterial></manufacturedProduct></consumable>
 <entryRelationship typeCode="REFR"><observation><code code="33999-4"/><value xsi:type="CE" code="55561003"/></observation></entryRelationship>
</substanceAdministration></entry>
<entry><substanceAdministration moodCode="EVN" negationInd="true"><consumable><manufacturedProduct><manufacturedMaterial>
 <code displayName="No known medications"/></manufacturedMaterial></manufacturedProduct></consumable></substanceAdministration></entry>
<entry><act><entryRelationship><substanceAdministration><doseQuantity><low value="1.50" unit="mg"/><high value="2" unit="mg"/></doseQuantity>
 <effectiveTime xsi:type="PIVL_TS" institutionSpecified="false"><period value="8" unit="h"/></effectiveTime>
 <routeCode nullFlavor="OTH"><originalText>by mouth</originalText></routeCode>
 <consumable><manufacturedProduct><manufacturedMaterial><code displayName="????"/><name>Lorazepam</name></manufacturedMaterial></manufacturedProduct></consumable>
</substanceAdministration></entryRelationship></act></entry>`), func(d *ccda.Document) any { return d.Medications }, []record.Medication{
		{Name: "Metoprolol 25 mg tablet", Dose: "25 mg", Frequency: "twice daily", Start: "2015", Status: "active"},
		{Name: "Warfarin", RxNorm: "855332", Dose: "5 mg", Frequency: "at bedtime", Start: "2015-01-02", Status: "active"},
		{Name: "Lorazepam", Dose: "1.5-2 mg", Frequency: "every 8 h", Route: "by mouth"},
	}},
	{"results", cdaDoc(`<code code="30954-2" codeSystem="2.16.840.1.113883.6.1"/><text><content ID="r1">Urine culture: no growth</content></text>
<entry><organizer classCode="BATTERY"><effectiveTime><low value="20160105083000-0500"/></effectiveTime>
 <component><observation><code code="718-7" codeSystem="2.16.840.1.113883.6.1" displayName="Hemoglobin [Mass/volume] in Blood"/>
  <value xsi:type="PQ" value="10.1" unit="g/dL"/><interpretationCode code="L"/>
  <referenceRange><observationRange><value xsi:type="IVL_PQ"><low value="12" unit="g/dL"/><high value="15.5" unit="g/dL"/></value></observationRange></referenceRange></observation></component>
 <component><observation><code code="5902-2" codeSystem="2.16.840.1.113883.6.1"><originalText>PT</originalText></code><effectiveTime value="20160106"/>
  <value xsi:type="IVL_PQ"><high value="11" unit="s"/></value><interpretationCode code="AA"/></observation></component>
</organizer></entry>
<entry><observation><code nullFlavor="UNK"/><text><reference value="#r1"/></text><effectiveTime><center value="20151231"/></effectiveTime>
 <value xsi:type="ST">no growth</value></observation></entry>
<entry><observation><code code="X" codeSystem="1.2.3"><translation code="2160-0" codeSystem="2.16.840.1.113883.6.1" displayName="Creatinine"/></code>
 <value xsi:type="CD" code="260385009" displayName="Negative"/><value nullFlavor="NI"/></observation></entry>`),
		func(d *ccda.Document) any { return d.Results }, []record.LabResult{
			{Name: "Hemoglobin [Mass/volume] in Blood", LOINC: "718-7", Value: "10.1", Unit: "g/dL", Range: "12-15.5 g/dL", Flag: "L", Date: "2016-01-05"},
			{Name: "PT", LOINC: "5902-2", Value: "<11", Unit: "s", Flag: "A", Date: "2016-01-06"},
			{Name: "Urine culture: no growth", Value: "no growth", Date: "2015-12-31"},
			{Name: "Creatinine", LOINC: "2160-0", Value: "Negative"},
		}},
	{"problems from a C32", cdaDoc(`<templateId root="2.16.840.1.113883.3.88.11.83.103"/><code nullFlavor="NI"/>
<entry><act><statusCode code="completed"/><effectiveTime><low value="2010"/></effectiveTime>
 <entryRelationship><observation><value xsi:type="CD" nullFlavor="OTH"><originalText>Hip pain</originalText>
  <translation code="M25.551" codeSystem="2.16.840.1.113883.6.90"/></value></observation></entryRelationship></act></entry>
<entry><act><entryRelationship><observation negationInd="true"><value xsi:type="CD" code="1" displayName="No known problems"/></observation></entryRelationship></act></entry>`),
		func(d *ccda.Document) any { return d.Problems }, []record.Problem{
			{Name: "Hip pain", Code: "M25.551", System: "ICD-10-CM", Status: "resolved", Onset: "2010"},
		}},
	{"reference to a later section", cdaDoc(`<code code="48765-2"/>
<entry><act><statusCode code="active"/><entryRelationship><observation>
 <participant typeCode="CSM"><participantRole><playingEntity><code nullFlavor="UNK"><originalText><reference value="#later"/></originalText></code></playingEntity></participantRole></participant>
 <entryRelationship typeCode="MFST"><observation><value xsi:type="CD" displayName="Hives"/>
  <entryRelationship><observation><templateId root="2.16.840.1.113883.10.20.22.4.8"/><value xsi:type="CD" displayName="Mild"/></observation></entryRelationship></observation></entryRelationship>
 <entryRelationship typeCode="MFST"><observation><value xsi:type="CD" displayName="Hives"/></observation></entryRelationship>
</observation></entryRelationship></act></entry>`, `<code code="11348-0"/><text><content ID="later">Penicillin V</content></text>`),
		func(d *ccda.Document) any { return d.Allergies }, []record.Allergy{{Name: "Penicillin V", Reaction: "Hives", Severity: "Mild", Status: "active"}}},
}

func TestVariants(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var files []string
	for i, v := range variantDocs {
		p := filepath.Join(dir, string(rune('a'+i))+".xml")
		if err := os.WriteFile(p, []byte(v.doc), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	ref := runReference(t, files)
	for i, v := range variantDocs {
		t.Run(v.name, func(t *testing.T) {
			d, err := ccda.Read(strings.NewReader(v.doc), ccda.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(v.exp, v.want(d)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			want := normRef(ref[files[i]])
			if diff := cmp.Diff(want, asRef(d, want)); diff != "" {
				t.Errorf("differs from reference.py (-python +go):\n%s", diff)
			}
		})
	}
}

// TestEncodings: a Latin-1 document and a prefixed namespace read like UTF-8 and a default one.
func TestEncodings(t *testing.T) {
	t.Parallel()
	utf := cdaDoc(`<code code="11450-4"/><entry><observation><value xsi:type="CD" code="1" displayName="Morbus Crohn – Schübe"/></observation></entry>`)
	latin := strings.Replace(strings.Replace(utf, "UTF-8", "ISO-8859-1", 1), "Morbus Crohn – Schübe", "Morbus Crohn Sch\xfcbe", 1)
	win := strings.Replace(strings.Replace(utf, "UTF-8", "windows-1252", 1), "Morbus Crohn – Schübe", "Morbus Crohn \x96 Sch\xfcbe", 1)
	prefixed := strings.NewReplacer(`<ClinicalDocument xmlns="urn:hl7-org:v3"`, `<cda:ClinicalDocument xmlns:cda="urn:hl7-org:v3"`,
		"</ClinicalDocument>", "</cda:ClinicalDocument>").Replace(utf)
	prefixed = prefixElements(prefixed)
	tests := []struct {
		name, doc, want string
	}{
		{"UTF-8", utf, "Morbus Crohn – Schübe"},
		{"ISO-8859-1", latin, "Morbus Crohn Schübe"},
		{"windows-1252", win, "Morbus Crohn – Schübe"},
		{"cda: prefix", prefixed, "Morbus Crohn – Schübe"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ccda.Read(strings.NewReader(tc.doc), ccda.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Problems) != 1 || d.Problems[0].Name != tc.want {
				t.Errorf("got problems %+v, want one named %q", d.Problems, tc.want)
			}
			if len(d.Patient.Given) == 0 || d.Patient.Given[0] != "Ann" {
				t.Errorf("got patient %+v, want Ann", d.Patient.Given)
			}
		})
	}
}

// prefixElements puts "cda:" before every element name in the default
// namespace of a cdaDoc document (all but sdtc: ones).
func prefixElements(doc string) string {
	var b strings.Builder
	for i := 0; i < len(doc); i++ {
		b.WriteByte(doc[i])
		if doc[i] != '<' || i+1 >= len(doc) {
			continue
		}
		rest := doc[i+1:]
		switch {
		case strings.HasPrefix(rest, "?"), strings.HasPrefix(rest, "!"), strings.HasPrefix(rest, "cda:"),
			strings.HasPrefix(rest, "/cda:"), strings.HasPrefix(rest, "sdtc:"), strings.HasPrefix(rest, "/sdtc:"):
		case strings.HasPrefix(rest, "/"):
			b.WriteString("/cda:")
			i++
		default:
			b.WriteString("cda:")
		}
	}
	return b.String()
}
