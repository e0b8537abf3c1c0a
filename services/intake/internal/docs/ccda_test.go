package docs

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffmed/handoff/platform/ccda"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/intake/internal/understand"
)

// corpusDir holds the real C-CDA documents of EHR vendors and HL7.
const corpusDir = "../../../../testdata/corpus/ccda-peer"

const cerner = "Cerner/Transition_of_Care_Referral_Summary.xml"

func corpusFiles(t testing.TB) []string {
	t.Helper()
	root, err := filepath.Abs(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.EqualFold(filepath.Ext(p), ".xml") {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Every corpus C-CDA goes through the text route's reading as a portal
// export whose facts are what platform/ccda reads: every result, problem,
// allergy, procedure and vital sign, and the current medications.
func TestCorpusThroughTextRoute(t *testing.T) {
	t.Parallel()
	an := understand.New()
	files := corpusFiles(t)
	if len(files) != 73 {
		t.Errorf("got %d corpus documents, want 73", len(files))
	}
	for _, p := range files {
		rel, _ := filepath.Rel(corpusDir, p)
		b := readFile(t, p)
		doc, rej, err := UnderstandText(an, bytes.NewReader(b), int64(len(b)))
		if err != nil || rej != nil {
			t.Errorf("%s: error %v, rejected %v", rel, err, rej)
			continue
		}
		want, err := ccda.Read(bytes.NewReader(b), ccda.Options{})
		if err != nil {
			t.Errorf("%s: ccda.Read: %v", rel, err)
			continue
		}
		if doc.Category != record.CategoryPortalExport || doc.Format != record.FormatCCDA {
			t.Errorf("%s: got category %q format %q, want portal_export ccda", rel, doc.Category, doc.Format)
		}
		if doc.Date != want.Date || doc.Sex != want.Patient.Sex {
			t.Errorf("%s: got date %q sex %q, want %q %q", rel, doc.Date, doc.Sex, want.Date, want.Patient.Sex)
		}
		if want.Patient.Family != "" && (len(doc.Names) != 1 || !strings.Contains(doc.Names[0], want.Patient.Family)) {
			t.Errorf("%s: names %d, want the document's patient", rel, len(doc.Names))
		}
		// Results: the reader's, with a panel added from the vocabulary.
		labs := slices.Clone(doc.Labs)
		for i := range labs {
			if i < len(want.Results) && want.Results[i].Panel == "" {
				labs[i].Panel = ""
			}
		}
		for _, c := range []struct {
			what      string
			got, want any
		}{
			{"results", labs, want.Results},
			{"problems", doc.Problems, want.Problems},
			{"allergies", doc.Allergies, want.Allergies},
			{"procedures", doc.Procedures, want.Procedures},
			{"vitals", doc.Vitals, want.Vitals},
		} {
			if diff := cmp.Diff(c.want, c.got); diff != "" {
				t.Errorf("%s: %s (-ccda +docs):\n%s", rel, c.what, diff)
			}
		}
		// Medications: the current ones, in order, names and doses as read.
		var current []string
		for _, m := range want.Medications {
			if currentMed(m, want.Date) {
				current = append(current, m.Name+"|"+m.Dose+"|"+m.RxNorm)
			}
		}
		var got []string
		for _, m := range doc.Medications {
			got = append(got, m.Name+"|"+m.Dose+"|"+m.RxNorm)
		}
		if diff := cmp.Diff(current, got); diff != "" {
			t.Errorf("%s: medications (-current +docs):\n%s", rel, diff)
		}
	}
}

// The Cerner referral summary: aspirin is an antiplatelet, the results get
// their panels, diabetes is an active problem, the identity is the
// document's patient.
func TestCernerFacts(t *testing.T) {
	t.Parallel()
	b := readFile(t, filepath.Join(corpusDir, cerner))
	doc, rej, err := UnderstandText(understand.New(), bytes.NewReader(b), int64(len(b)))
	if err != nil || rej != nil {
		t.Fatalf("error %v, rejected %v", err, rej)
	}
	type med struct{ Generic, Dose, Class string }
	var meds []med
	for _, m := range doc.Medications {
		meds = append(meds, med{m.Generic, m.Dose, m.Class})
	}
	want := []med{{"insulin", "30 units", ""}, {"atorvastatin", "40 mg", ""}, {"insulin", "15 units", ""},
		{"aspirin", "81 mg", record.MedAntiplatelet}}
	if diff := cmp.Diff(want, meds); diff != "" {
		t.Errorf("medications (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Steve Williamson"}, doc.Names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"1947-04-07"}, doc.BirthDates); diff != "" {
		t.Errorf("birth dates (-want +got):\n%s", diff)
	}
	if doc.Date != "2013-07-17" || doc.DateKind != understand.DateDocument || doc.Sex != "M" || doc.Pages != 0 {
		t.Errorf("got date %q (%s), sex %q, pages %d", doc.Date, doc.DateKind, doc.Sex, doc.Pages)
	}
	if diff := cmp.Diff([]string{record.PanelBMP}, doc.Panels); diff != "" {
		t.Errorf("panels (-want +got):\n%s", diff)
	}
	for _, l := range doc.Labs {
		if l.Date == "" {
			t.Errorf("result %s has no date", l.Name)
		}
	}
	if !slices.ContainsFunc(doc.Problems, func(p record.Problem) bool { return p.Code == "44054006" && p.Status == "active" }) {
		t.Errorf("no active type 2 diabetes among %d problems", len(doc.Problems))
	}
}

// A bbClear HTML page that embeds a C-CDA is read as the C-CDA; an HTML
// page and an XML of another kind are text as before.
func TestEmbeddedAndOtherMarkup(t *testing.T) {
	t.Parallel()
	an := understand.New()
	xml := readFile(t, filepath.Join(corpusDir, cerner))
	html := []byte("<!DOCTYPE html>\n<html><head><title>Blue Button</title></head><body><h1>My record</h1>\n<script type=\"text/plain\" id=\"xmlBBData\">\n" +
		string(xml) + "\n</script></body></html>")
	tests := []struct {
		name   string
		data   []byte
		format string
		cat    string
	}{
		{"bbClear", html, record.FormatCCDA, record.CategoryPortalExport},
		{"html page", []byte("<html><body><h1>Current Medications</h1><p>Lipitor 40 mg daily</p><p>Eliquis 5 mg twice daily</p></body></html>"), "", record.CategoryMedicationList},
		{"other xml", []byte(`<?xml version="1.0"?><MedicationList><title>Current Medications</title><item>Lipitor 40 mg daily</item><item>Eliquis 5 mg twice daily</item></MedicationList>`), "", record.CategoryMedicationList},
		{"plain", []byte("Current Medications\nLipitor 40 mg daily\nEliquis 5 mg twice daily\n"), "", record.CategoryMedicationList},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, rej, err := UnderstandText(an, bytes.NewReader(tc.data), int64(len(tc.data)))
			if err != nil || rej != nil {
				t.Fatalf("error %v, rejected %v", err, rej)
			}
			if doc.Format != tc.format || doc.Category != tc.cat {
				t.Errorf("got format %q category %q, want %q %q", doc.Format, doc.Category, tc.format, tc.cat)
			}
		})
	}
}

// padReader streams a C-CDA's head, pad spaces and its tail without
// holding them.
type padReader struct {
	head, tail []byte
	pad        int64
	off        int64
}

func (r *padReader) Read(p []byte) (int, error) {
	total := int64(len(r.head)) + r.pad + int64(len(r.tail))
	if r.off >= total {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && r.off < total {
		switch {
		case r.off < int64(len(r.head)):
			c := copy(p[n:], r.head[r.off:])
			n += c
			r.off += int64(c)
		case r.off < int64(len(r.head))+r.pad:
			c := int(min(int64(len(p)-n), int64(len(r.head))+r.pad-r.off, int64(len(spaces))))
			copy(p[n:n+c], spaces)
			n += c
			r.off += int64(c)
		default:
			c := copy(p[n:], r.tail[r.off-int64(len(r.head))-r.pad:])
			n += c
			r.off += int64(c)
		}
	}
	return n, nil
}

var spaces = bytes.Repeat([]byte(" "), 64<<10)

func (r *padReader) size() int64 { return int64(len(r.head)) + r.pad + int64(len(r.tail)) }

// Bad C-CDAs are rejected with their code and a message that quotes
// nothing of the document.
func TestBadCCDA(t *testing.T) {
	t.Parallel()
	an := understand.New()
	good := string(readFile(t, filepath.Join(corpusDir, cerner)))
	laughs := `<?xml version="1.0"?>
<!DOCTYPE ClinicalDocument [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&lol3;</title></ClinicalDocument>`
	external := `<?xml version="1.0"?>
<!DOCTYPE ClinicalDocument [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&xxe;</title></ClinicalDocument>`
	tests := []struct {
		name  string
		r     func() (io.Reader, int64)
		code  string
		words string // the message says this
	}{
		{"malformed", func() (io.Reader, int64) {
			s := strings.Replace(good, "</recordTarget>", "</recordTargt>", 1)
			return strings.NewReader(s), int64(len(s))
		}, record.CodeUnreadable, "malformed"},
		{"truncated", func() (io.Reader, int64) { return strings.NewReader(good[:len(good)/2]), int64(len(good) / 2) }, record.CodeUnreadable, "malformed"},
		{"billion laughs", func() (io.Reader, int64) { return strings.NewReader(laughs), int64(len(laughs)) }, record.CodeUnreadable, "entity declarations are not accepted"},
		{"external entity", func() (io.Reader, int64) { return strings.NewReader(external), int64(len(external)) }, record.CodeUnreadable, "entity declarations are not accepted"},
		{"200 MB", func() (io.Reader, int64) {
			r := &padReader{head: []byte(good[:strings.Index(good, "<component>")]), pad: 200 << 20, tail: []byte("</ClinicalDocument>")}
			return r, r.size()
		}, record.CodeTooLarge, "larger than 64 MiB"},
		{"200 MB of unknown size", func() (io.Reader, int64) {
			// Read until the limit is passed: 4 MiB here, as reading 64 MiB
			// into memory takes seconds (uploads always say their size).
			r := &padReader{head: []byte(good[:strings.Index(good, "<component>")]), pad: 200 << 20, tail: []byte("</ClinicalDocument>")}
			return r, 0
		}, record.CodeTooLarge, "larger than"},
		{"too deep", func() (io.Reader, int64) {
			s := `<ClinicalDocument xmlns="urn:hl7-org:v3">` + strings.Repeat("<a>", 300) + strings.Repeat("</a>", 300) + `</ClinicalDocument>`
			return strings.NewReader(s), int64(len(s))
		}, record.CodeUnreadable, "nests elements"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, size := tc.r()
			limit := int64(MaxCCDA)
			if size == 0 {
				limit = 4 << 20
			}
			_, rej, err := understandText(an, r, size, limit)
			if err != nil {
				t.Fatal(err)
			}
			if rej == nil {
				t.Fatalf("not rejected, want %s", tc.code)
			}
			if rej.Code != tc.code || !strings.Contains(rej.Message, tc.words) {
				t.Errorf("got %s %q, want %s with %q", rej.Code, rej.Message, tc.code, tc.words)
			}
			for _, phi := range []string{"Williamson", "Steve", "lol", "passwd", "1947"} {
				if strings.Contains(rej.Message, phi) {
					t.Errorf("message quotes the document: %q", rej.Message)
				}
			}
		})
	}
}

// miniCCDA is a small C-CDA with one medication and one result, a seed
// that keeps the fuzzer on the C-CDA branch.
const miniCCDA = `<?xml version="1.0"?>
<ClinicalDocument xmlns="urn:hl7-org:v3"><templateId root="2.16.840.1.113883.10.20.22.1.1" extension="2015-08-01"/>
<effectiveTime value="20260901"/><recordTarget><patientRole><patient><name use="L"><given>Pat</given><family>Doe</family></name>
<administrativeGenderCode code="F"/><birthTime value="19610314"/></patient></patientRole></recordTarget>
<component><structuredBody><component><section><templateId root="2.16.840.1.113883.10.20.22.2.1.1"/><code code="10160-0"/>
<entry><substanceAdministration classCode="SBADM" moodCode="INT"><statusCode code="active"/>
<effectiveTime xsi:type="IVL_TS" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><low value="20250101"/></effectiveTime>
<doseQuantity value="5" unit="mg"/><consumable><manufacturedProduct><manufacturedMaterial>
<code code="1364435" codeSystem="2.16.840.1.113883.6.88" displayName="apixaban 5 MG Oral Tablet"/></manufacturedMaterial></manufacturedProduct></consumable>
</substanceAdministration></entry></section></component>
<component><section><templateId root="2.16.840.1.113883.10.20.22.2.3.1"/><code code="30954-2"/>
<entry><observation classCode="OBS" moodCode="EVN"><code code="718-7" codeSystem="2.16.840.1.113883.6.1" displayName="Hemoglobin"/>
<effectiveTime value="20260820"/><value xsi:type="PQ" value="13.2" unit="g/dL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/></observation></entry>
</section></component></structuredBody></component></ClinicalDocument>`

// FuzzUnderstandText: no input makes the text route panic or fail with
// anything but a rejection. Inputs are kept small: the plain-text rules
// under the fuzzer's instrumentation take seconds on a long text.
func FuzzUnderstandText(f *testing.F) {
	f.Add([]byte(miniCCDA))
	f.Add([]byte(miniCCDA[:len(miniCCDA)/3]))
	f.Add([]byte(`<ClinicalDocument xmlns="urn:hl7-org:v3"><recordTarget/></ClinicalDocument>`))
	f.Add([]byte(`<!DOCTYPE ClinicalDocument [<!ENTITY a "b">]><ClinicalDocument xmlns="urn:hl7-org:v3">&a;</ClinicalDocument>`))
	f.Add([]byte("<html><script type=\"text/plain\">&lt;ClinicalDocument xmlns=\"urn:hl7-org:v3\"/&gt;</script></html>"))
	f.Add([]byte("Current Medications\nLipitor 40 mg daily\n"))
	an := understand.New()
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 8<<10 {
			return
		}
		doc, rej, err := UnderstandText(an, bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("read error on an in-memory input: %v", err)
		}
		if rej != nil && (rej.Code == "" || rej.Message == "") {
			t.Fatalf("rejection without a code or message: %+v", rej)
		}
		if rej == nil && doc.Category == "" {
			t.Fatalf("no category")
		}
	})
}

// The small seed reads as a C-CDA with its apixaban flagged.
func TestMiniCCDA(t *testing.T) {
	t.Parallel()
	doc, rej, err := UnderstandText(understand.New(), strings.NewReader(miniCCDA), int64(len(miniCCDA)))
	if err != nil || rej != nil {
		t.Fatalf("error %v, rejected %v", err, rej)
	}
	if len(doc.Medications) != 1 || doc.Medications[0].Class != record.MedAnticoagulant || doc.Medications[0].Generic != "apixaban" {
		t.Errorf("medications: got %+v", doc.Medications)
	}
	if len(doc.Labs) != 1 || doc.Labs[0].Panel != record.PanelCBC || doc.Labs[0].Date != "2026-08-20" {
		t.Errorf("labs: got %+v", doc.Labs)
	}
}
