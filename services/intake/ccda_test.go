package intake_test

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/record"
)

const cernerCCDA = "ccda-peer/Cerner/Transition_of_Care_Referral_Summary.xml"

// createCase makes a case from its JSON fields.
func (h *harness) createCase(body string) string {
	h.t.Helper()
	var c struct{ ID string }
	if code := h.do(http.MethodPost, "/v1/cases", strings.NewReader(body), &c); code != http.StatusCreated {
		h.t.Fatalf("create case: %d", code)
	}
	return c.ID
}

// settledReport waits until the case's n files are processed and returns
// the report computed from all of them (its basis is their newest record).
func (h *harness) settledReport(caseID string, n int) record.Report {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		files, err := h.cases.Files(h.t.Context(), caseID)
		if err != nil {
			h.t.Fatal(err)
		}
		var basis uint64
		done := 0
		for _, f := range files {
			basis = max(basis, f.Revision)
			if record.Terminal(f.Status) {
				done++
			}
		}
		var r record.Report
		if done == len(files) && done >= n &&
			h.do(http.MethodGet, "/v1/cases/"+caseID+"/report?format=json", nil, &r) == http.StatusOK && r.Pending == 0 && r.Basis >= basis {
			return r
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("no settled report: %d of %d files done", done, n)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func reportCodes(r record.Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Code)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// The Cerner referral summary uploaded as bare XML is read as a C-CDA: its
// aspirin is flagged, its medication list counts (with doses), its results
// are dated, and its diabetes asks for an HbA1c, which it does not hold.
func TestCCDAUpload(t *testing.T) {
	t.Parallel()
	h := start(t, true)
	id := h.createCase(`{"patient":{"family_name":"Williamson","given_name":"Steve","birth_date":"1947-04-07"},"reference_date":"2013-08-01"}`)
	h.upload(id, "Downloads/Transition_of_Care_Referral_Summary.xml", readCorpus(t, cernerCCDA))
	r := h.settledReport(id, 1)
	codes := reportCodes(r)
	for _, want := range []string{"meds.anticoagulant", "labs.hba1c_missing"} {
		if !slices.Contains(codes, want) {
			t.Errorf("codes %v: no %s", codes, want)
		}
	}
	for _, not := range []string{"meds.missing", "labs.undated", "labs.missing", "labs.stale", "meds.dose_missing", "portal.export_dump"} {
		if slices.Contains(codes, not) {
			t.Errorf("codes %v: %s must not appear", codes, not)
		}
	}
	for _, f := range r.Findings {
		if f.Code == "meds.anticoagulant" && !strings.Contains(f.Message, "aspirin") {
			t.Errorf("meds.anticoagulant does not name aspirin: %q", f.Message)
		}
	}
	// The facts: medications with doses, dated results, the problems.
	var meds []string
	for _, m := range r.Facts.Medications {
		meds = append(meds, m.Generic+" "+m.Dose)
		if m.Generic == "aspirin" && !m.Anticoagulant {
			t.Errorf("aspirin not flagged: %+v", m)
		}
	}
	for _, want := range []string{"aspirin 81 mg", "atorvastatin 40 mg"} {
		if !slices.Contains(meds, want) {
			t.Errorf("medications %q: no %q", meds, want)
		}
	}
	if len(r.Facts.Labs) != 8 {
		t.Errorf("got %d results, want 8", len(r.Facts.Labs))
	}
	for _, l := range r.Facts.Labs {
		if l.Date != "2013-07-10" {
			t.Errorf("result %s dated %q, want 2013-07-10", l.Name, l.Date)
		}
	}
	if !slices.ContainsFunc(r.Facts.Problems, func(p record.ProblemFact) bool { return strings.Contains(p.Name, "Diabetes mellitus type 2") }) {
		t.Errorf("no diabetes among the problems %+v", r.Facts.Problems)
	}
	// The file is a portal export read as a C-CDA.
	f, err := h.cases.File(t.Context(), id, record.FileID(h.intakeB, apiKey(id, "Downloads/Transition_of_Care_Referral_Summary.xml")))
	if err != nil {
		t.Fatal(err)
	}
	if d := f.Document; d == nil || d.Category != record.CategoryPortalExport || d.Format != record.FormatCCDA || d.Date != "2013-07-17" {
		t.Errorf("document: %+v", f.Document)
	}
}

// An IHE XDM ZIP: the document inside is ingested and read as a C-CDA, the
// packaging (metadata, index page, read-me, stylesheet) is skipped.
func TestXDMUpload(t *testing.T) {
	t.Parallel()
	h := start(t, true)
	id := h.createCase(`{"patient":{"family_name":"Williamson","given_name":"Steve","birth_date":"1947-04-07"},"reference_date":"2013-08-01"}`)
	xdm := makeZip(t,
		entry{name: "INDEX.HTM", data: []byte(`<html><body><a href="IHE_XDM/SUBSET01/DOC0001.XML">Health record</a></body></html>`)},
		entry{name: "README.TXT", data: []byte("This archive holds a health record exported by a patient portal.\n")},
		entry{name: "IHE_XDM/SUBSET01/METADATA.XML", data: []byte(`<?xml version="1.0"?><SubmitObjectsRequest xmlns="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"/>`)},
		entry{name: "IHE_XDM/SUBSET01/CDA.XSL", data: []byte(`<xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0"/>`)},
		entry{name: "IHE_XDM/SUBSET01/DOC0001.XML", data: readCorpus(t, cernerCCDA)},
	)
	h.upload(id, "HealthRecord.zip", xdm)
	v := h.waitAll(id)
	var paths []string
	for _, f := range v.Files {
		paths = append(paths, f.Path+":"+f.Type+":"+f.Status)
	}
	slices.Sort(paths)
	want := []string{"HealthRecord.zip!/IHE_XDM/SUBSET01/DOC0001.XML:text:done", "HealthRecord.zip:zip:done"}
	if !slices.Equal(paths, want) {
		t.Errorf("files:\n got %q\nwant %q", paths, want)
	}
	zf, err := h.cases.File(t.Context(), id, record.FileID(h.intakeB, apiKey(id, "HealthRecord.zip")))
	if err != nil {
		t.Fatal(err)
	}
	if a := zf.Archive; a == nil || !a.XDM || a.Entries != 1 || a.Skipped != 4 {
		t.Errorf("archive summary: %+v", zf.Archive)
	}
	r := h.settledReport(id, 2)
	codes := reportCodes(r)
	if !slices.Contains(codes, "meds.anticoagulant") || slices.Contains(codes, "meds.missing") || slices.Contains(codes, "labs.undated") {
		t.Errorf("codes %v: want meds.anticoagulant, no meds.missing or labs.undated", codes)
	}
}

// bigCCDA streams a C-CDA's head, then size bytes of spaces, then its end:
// an XML of any size that is never held in memory.
type bigCCDA struct {
	head, tail []byte
	pad, off   int64
}

var spaces = bytes.Repeat([]byte(" "), 64<<10)

func (r *bigCCDA) Read(p []byte) (int, error) {
	h, end := int64(len(r.head)), int64(len(r.head))+r.pad+int64(len(r.tail))
	if r.off >= end {
		return 0, io.EOF
	}
	var n int
	switch {
	case r.off < h:
		n = copy(p, r.head[r.off:])
	case r.off < h+r.pad:
		n = copy(p[:min(int64(len(p)), h+r.pad-r.off)], spaces)
	default:
		n = copy(p, r.tail[r.off-h-r.pad:])
	}
	r.off += int64(n)
	return n, nil
}

// Bad C-CDAs get their codes and the rest of the case goes on: malformed
// XML, entity declarations, an empty file, a 200 MB XML (streamed into the
// bucket, never read whole); the good export beside them is read.
func TestBadCCDAUploads(t *testing.T) {
	t.Parallel()
	h := start(t, true)
	id := h.createCase(`{"patient":{"family_name":"Williamson","given_name":"Steve","birth_date":"1947-04-07"},"reference_date":"2013-08-01"}`)
	good := string(readCorpus(t, cernerCCDA))
	laughs := `<?xml version="1.0"?>
<!DOCTYPE ClinicalDocument [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&lol3;</title></ClinicalDocument>`
	uploads := []struct {
		path, data, code, words string
	}{
		{"malformed.xml", strings.Replace(good, "</recordTarget>", "</recordTargt>", 1), record.CodeUnreadable, "malformed"},
		{"laughs.xml", laughs, record.CodeUnreadable, "entity declarations are not accepted"},
		{"empty.xml", "", record.CodeEmpty, ""},
		{"good.xml", good, "", ""},
	}
	for _, u := range uploads {
		h.upload(id, u.path, []byte(u.data))
	}
	// 200 MB straight into the bucket, streamed: intake refuses to read it.
	big := &bigCCDA{head: []byte(good[:strings.Index(good, "<component>")]), pad: 200 << 20, tail: []byte("</ClinicalDocument>")}
	size := int64(len(big.head)) + big.pad + int64(len(big.tail))
	key := record.UploadKey(id, "huge.xml")
	if _, err := h.blobs.Put(t.Context(), h.intakeB, key, big, size, blob.PutOptions{}); err != nil {
		t.Fatalf("put: %v", err)
	}
	uploads = append(uploads, struct{ path, data, code, words string }{"huge.xml", "", record.CodeTooLarge, "larger than 64 MiB"})
	r := h.settledReport(id, len(uploads))
	v := h.getCase(id)
	for _, u := range uploads {
		i := slices.IndexFunc(v.Files, func(f struct {
			ID, Path, Type, Route, Status, Source string
			ParentID                              string `json:"parent_id"`
			Error                                 *record.Error
			Warnings                              []record.Error
		}) bool {
			return f.Path == u.path
		})
		if i < 0 {
			t.Errorf("%s: not listed", u.path)
			continue
		}
		f := v.Files[i]
		switch {
		case u.code == "" && (f.Status != record.StatusDone || f.Error != nil):
			t.Errorf("%s: got %s %+v, want done", u.path, f.Status, f.Error)
		case u.code != "" && (f.Error == nil || f.Error.Code != u.code || !strings.Contains(f.Error.Message, u.words)):
			t.Errorf("%s: got %s %+v, want %s saying %q", u.path, f.Status, f.Error, u.code, u.words)
		}
	}
	codes := reportCodes(r)
	for _, want := range []string{"input.unreadable", "input.empty", "input.too_large", "meds.anticoagulant"} {
		if !slices.Contains(codes, want) {
			t.Errorf("codes %v: no %s", codes, want)
		}
	}
}
