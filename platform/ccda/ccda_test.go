package ccda_test

import (
	"archive/zip"
	"bytes"
	"html"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffmed/handoff/platform/ccda"
	"github.com/handoffmed/handoff/platform/record"
)

func readCorpus(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const cerner = "Cerner/Transition_of_Care_Referral_Summary.xml"

// TestCernerGolden checks the Cerner referral summary against values read
// by hand from the XML (and its narrative, for the doses only given there).
func TestCernerGolden(t *testing.T) {
	t.Parallel()
	d, err := ccda.Read(bytes.NewReader(readCorpus(t, cerner)), ccda.Options{})
	if err != nil {
		t.Fatal(err)
	}
	header := struct {
		Patient                        ccda.Patient
		Title, TypeCode, Date, Version string
	}{d.Patient, d.Title, d.TypeCode, d.Date, d.Version}
	wantHeader := header
	wantHeader.Patient = ccda.Patient{Given: []string{"Steve"}, Family: "Williamson", BirthDate: "1947-04-07", Sex: "M"}
	wantHeader.Title, wantHeader.TypeCode, wantHeader.Date, wantHeader.Version = "Transition of Care/Referral Summary", "34133-9", "2013-07-17", ccda.VersionR11
	if diff := cmp.Diff(wantHeader, header); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}

	// Four medications with doses: two structured (insulin units, the unit
	// "1" spelled out by a translation), two only in the sig ("81 mg = 1 tab(s)").
	wantMeds := []record.Medication{
		{Name: "Insulin Glargine 100 UNT/ML Injectable Solution", RxNorm: "311041", Dose: "30 units", Frequency: "At Bedtime",
			Route: "Subcutaneous", Start: "2009-01-09", Status: "ordered"},
		{Name: "atorvastatin 40 MG Oral Tablet", RxNorm: "617311", Dose: "40 mg", Frequency: "Once Daily",
			Route: "Oral", Start: "2008-08-08", Status: "ordered"},
		{Name: "NovoLog", RxNorm: "284810", Dose: "15 units", Frequency: "TIDAC",
			Route: "Subcutaneous", Start: "2009-01-09", Status: "ordered"},
		{Name: "Aspirin 81 MG Oral Tablet", RxNorm: "243670", Dose: "81 mg", Frequency: "Once Daily",
			Route: "Oral", Start: "2013-07-10", Status: "ordered"},
	}
	if diff := cmp.Diff(wantMeds, d.Medications); diff != "" {
		t.Errorf("medications (-want +got):\n%s", diff)
	}

	tests := []struct {
		name string
		got  func() any
		want any
	}{
		{"problem names", func() any { return names(d.Problems, func(p record.Problem) string { return p.Name }) }, []string{
			"Angina (disorder)", "Diabetes mellitus type 2 (disorder)", "Hypercholesterolemia (disorder)",
			"Angina (disorder)", "Angina (disorder)"}},
		{"diabetes", func() any { return find(d.Problems, func(p record.Problem) bool { return p.Code == "44054006" }) },
			record.Problem{Name: "Diabetes mellitus type 2 (disorder)", Code: "44054006", System: "SNOMED CT", Status: "active", Onset: "2009-01-09"}},
		{"angina", func() any { return find(d.Problems, func(p record.Problem) bool { return p.Code == "194828000" }) },
			record.Problem{Name: "Angina (disorder)", Code: "194828000", System: "SNOMED CT", Status: "active", Onset: "2013-07-10"}},
		{"allergies", func() any { return d.Allergies }, []record.Allergy{
			{Name: "Codeine", Reaction: "Nausea (finding)", Severity: "Moderate", Status: "active"},
			{Name: "Penicillin G", Reaction: "Weal (disorder)", Severity: "Moderate", Status: "active"}}},
		{"procedures", func() any { return d.Procedures }, []record.Procedure{
			{Name: "Electrocardiographic procedure (procedure)", Code: "29303009", System: "SNOMED CT", Date: "2013-07-10"},
			{Name: "Intranasal oxygen therapy (procedure)", Code: "71786000", System: "SNOMED CT", Date: "2013-07-10"}}},
		{"vital signs", func() any { return d.Vitals }, []record.Vital{
			{Name: "Body Mass Index Measured", Value: "25.88", Unit: "m2", Date: "2013-07-10"},
			{Name: "BSA Measured", LOINC: "3139-2", Value: "2.01", Unit: "mm2", Date: "2013-07-10"},
			{Name: "Mean Arterial Pressure", Value: "113", Unit: "mm[Hg]", Date: "2013-07-10"},
			{Name: "Diastolic Blood Pressure", LOINC: "8462-4", Value: "95", Unit: "mm[Hg]", Date: "2013-07-10"},
			{Name: "Weight Measured", LOINC: "3141-9", Value: "82", Unit: "kg", Date: "2013-07-10"},
			{Name: "Height/Length Measured", LOINC: "8302-2", Value: "178", Unit: "cm", Date: "2013-07-10"},
			{Name: "Systolic Blood Pressure", LOINC: "8480-6", Value: "150", Unit: "mm[Hg]", Date: "2013-07-10"}}},
		{"results", func() any { return d.Results }, []record.LabResult{
			{Name: "Troponin-T", LOINC: "6598-7", Value: "0.01", Unit: "ng/mL", Range: "0.00-0.20 ng/mL", Flag: "N", Date: "2013-07-10"},
			{Name: "Potassium Level", LOINC: "6298-4", Value: "3.5", Unit: "mmol/L", Range: "3.5-5.0 mmol/L", Flag: "N", Date: "2013-07-10"},
			{Name: "BUN", LOINC: "6299-2", Value: "8", Unit: "mg/dL", Range: "4-18 mg/dL", Flag: "N", Date: "2013-07-10"},
			{Name: "CO2", LOINC: "2028-9", Value: "23", Unit: "mmol/L", Range: "22-33 mmol/L", Flag: "N", Date: "2013-07-10"},
			{Name: "Sodium Level", LOINC: "2947-0", Value: "135", Unit: "mmol/L", Range: "135-145 mmol/L", Flag: "N", Date: "2013-07-10"},
			{Name: "Chloride", LOINC: "2069-3", Value: "95", Unit: "mmol/L", Range: "95-110 mmol/L", Flag: "N", Date: "2013-07-10"},
			{Name: "Glucose, Random", LOINC: "2339-0", Value: "185", Unit: "mg/dL", Range: "65-110 mg/dL", Flag: "H", Date: "2013-07-10"},
			{Name: "Creatinine", LOINC: "38483-4", Value: "0.8", Unit: "mg/dL", Range: "0.5-1.2 mg/dL", Flag: "N", Date: "2013-07-10"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.got()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func names[T any](list []T, f func(T) string) []string {
	var out []string
	for _, x := range list {
		out = append(out, f(x))
	}
	return out
}

func find[T any](list []T, ok func(T) bool) T {
	for _, x := range list {
		if ok(x) {
			return x
		}
	}
	var zero T
	return zero
}

// buildXDM makes an IHE XDM ZIP around a C-CDA, as portals export it.
func buildXDM(t testing.TB, doc []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range []struct {
		name string
		body []byte
	}{
		{"INDEX.HTM", []byte("<html><body><a href=\"IHE_XDM/SUBSET01/DOC0001.XML\">record</a></body></html>")},
		{"README.TXT", []byte("Exported record")},
		{"IHE_XDM/SUBSET01/METADATA.XML", []byte(`<?xml version="1.0"?><SubmitObjectsRequest xmlns="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"/>`)},
		{"IHE_XDM/SUBSET01/CDA.XSL", []byte(`<xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0"/>`)},
		{"IHE_XDM/SUBSET01/DOC0001.XML", doc},
	} {
		w, err := zw.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// bbClear wraps a C-CDA the way a Blue Button bbClear export does: the
// viewer's HTML, then the XML in a <script type="text/plain">.
func bbClear(doc []byte) []byte {
	return []byte(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Health Record</title>
<script>var xml = document.getElementById("xmlBBData").innerHTML; // parse the ClinicalDocument
</script></head>
<body><h1>My health record</h1><p>Read with <code>&lt;ClinicalDocument&gt;</code> viewer.</p></body>
</html>
<script style="display: none;" id="xmlBBData" type="text/plain">` + string(doc) + `</script>
`)
}

func TestExtract(t *testing.T) {
	t.Parallel()
	doc := readCorpus(t, cerner)
	want, err := ccda.Read(bytes.NewReader(doc), ccda.Options{})
	if err != nil {
		t.Fatal(err)
	}
	body := doc[bytes.Index(doc, []byte("<ClinicalDocument")):]
	tests := []struct {
		name   string
		data   []byte
		source string
	}{
		{"bare XML", doc, ccda.SourceXML},
		{"XDM ZIP", buildXDM(t, doc), ccda.SourceXDM},
		{"bbClear HTML", bbClear(doc), ccda.SourceHTML},
		{"escaped in a textarea", []byte("<html><body><textarea id=\"ccda\">" + html.EscapeString(string(doc)) + "</textarea></body></html>"), ccda.SourceHTML},
		{"in a comment", []byte("<html><body>record<!--\n" + string(body) + "\n--></body></html>"), ccda.SourceHTML},
		{"in CDATA of XHTML", []byte(`<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body><script type="text/xml">/*<![CDATA[*/` + string(body) + `/*]]>*/</script></body></html>`), ccda.SourceHTML},
		{"in a JavaScript string", []byte("<html><script>var doc = \"" + strings.NewReplacer(`"`, `\"`, "\n", `\n`).Replace(string(body)) + "\";</script></html>"), ccda.SourceHTML},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ccda.Extract(tc.data, ccda.Options{})
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if got.Source != tc.source {
				t.Errorf("got source %q, want %q", got.Source, tc.source)
			}
			w := *want
			w.Source = tc.source
			if diff := cmp.Diff(&w, got); diff != "" {
				t.Errorf("(-bare read +extracted):\n%s", diff)
			}
			xml, source, err := ccda.Unwrap(tc.data, ccda.Options{})
			if err != nil || source != tc.source || !ccda.Sniff(xml) {
				t.Errorf("Unwrap: got source %q, sniff %v, error %v; want %q, true, nil", source, ccda.Sniff(xml), err, tc.source)
			}
		})
	}
}

func TestExtractNoCCDA(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("IHE_XDM/SUBSET01/DOC0001.XML")
	_, _ = w.Write([]byte(`<?xml version="1.0"?><other/>`))
	_ = zw.Close()
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"ZIP without a C-CDA", buf.Bytes(), ccda.ErrNotCCDA},
		{"HTML without a C-CDA", []byte("<html><body>Discharge summary</body></html>"), ccda.ErrNotCCDA},
		{"broken ZIP", []byte("PK\x03\x04 not really"), ccda.ErrMalformed},
		{"HTML with a broken C-CDA", bbClear([]byte(`<ClinicalDocument xmlns="urn:hl7-org:v3"><title>x</titl></ClinicalDocument>`)), ccda.ErrMalformed},
		{"plain text", []byte("hello"), ccda.ErrNotCCDA},
		{"empty", nil, ccda.ErrNotCCDA},
		{"too large", bytes.Repeat([]byte(" "), 2048), ccda.ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ccda.Extract(tc.data, ccda.Options{MaxBytes: 1024})
			if !errorsIs(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestExtractZipBomb: an XDM entry that inflates past the limit stops there.
func TestExtractZipBomb(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("IHE_XDM/SUBSET01/DOC0001.XML")
	_, _ = w.Write([]byte(`<ClinicalDocument xmlns="urn:hl7-org:v3"><title>`))
	chunk := bytes.Repeat([]byte("a"), 1<<20)
	for range 4 {
		_, _ = w.Write(chunk)
	}
	_, _ = w.Write([]byte(`</title></ClinicalDocument>`))
	_ = zw.Close()
	if buf.Len() > 1<<20 {
		t.Fatalf("the test ZIP is %d bytes, want a small one", buf.Len())
	}
	_, err := ccda.Extract(buf.Bytes(), ccda.Options{MaxBytes: 1 << 20})
	if !errorsIs(err, ccda.ErrTooLarge) {
		t.Errorf("got %v, want ErrTooLarge", err)
	}
}

func TestSniff(t *testing.T) {
	t.Parallel()
	doc := readCorpus(t, cerner)
	tests := []struct {
		name string
		head []byte
		want bool
	}{
		{"C-CDA head", doc[:512], true},
		{"whole C-CDA", doc, true},
		{"BOM and prefix", []byte("\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<!-- export -->\n<cda:ClinicalDocument xmlns:cda=\"urn:hl7-org:v3\">"), true},
		{"wrong namespace", []byte(`<ClinicalDocument xmlns="urn:example">`), false},
		{"no namespace", []byte(`<ClinicalDocument>`), false},
		{"other root", []byte(`<?xml version="1.0"?><html xmlns="urn:hl7-org:v3">`), false},
		{"cut in the root tag", doc[:bytes.Index(doc, []byte("<ClinicalDocument"))+20], false},
		{"empty", nil, false},
		{"PDF", []byte("%PDF-1.7\n"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ccda.Sniff(tc.head); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestLogValue: a logged document or patient shows no patient data.
func TestLogValue(t *testing.T) {
	t.Parallel()
	d, err := ccda.Read(bytes.NewReader(readCorpus(t, cerner)), ccda.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("read", "doc", d, "value", *d, "patient", d.Patient)
	for _, phi := range []string{"Steve", "Williamson", "1947", "Aspirin", "Angina", "Codeine"} {
		if strings.Contains(buf.String(), phi) {
			t.Errorf("log line has %q: %s", phi, buf.String())
		}
	}
	if !strings.Contains(buf.String(), `"medications":4`) {
		t.Errorf("got log %s, want the counts", buf.String())
	}
}
