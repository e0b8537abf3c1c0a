package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// cernerReferral is the corpus document the portal case is made from: a
// transition-of-care referral summary written by Cerner's export pipeline
// (github.com/jmandel/sample_ccdas, CC-BY 4.0, "Sample CCDA Documents,
// SMART community contributors").
const cernerReferral = "Cerner/Transition_of_Care_Referral_Summary.xml"

// portalCCDA rewrites the Cerner referral summary for patient p: the
// recordTarget's name, birth date and sex are p's, and every date (HL7
// timestamps and the narrative's MM/DD/YYYY) moves by the days between
// the document's result date (2013-07-10) and resultsOn.
func portalCCDA(corpus string, p patient, resultsOn time.Time) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(corpus, filepath.FromSlash(cernerReferral)))
	if err != nil {
		return nil, fmt.Errorf("read the corpus document: %w", err)
	}
	s := string(b)
	shift := int(resultsOn.Sub(day(2013, 7, 10)).Hours() / 24)
	for _, r := range []struct{ old, new string }{
		{"<given>Steve</given>", "<given>" + p.given + "</given>"},
		{"<family>Williamson</family>", "<family>" + p.family + "</family>"},
		{`<birthTime value="19470407"/>`, `<birthTime value="` + p.birth.Format("20060102") + `"/>`},
	} {
		if strings.Count(s, r.old) != 1 {
			return nil, fmt.Errorf("the corpus document changed: %q is not there once", r.old)
		}
		s = strings.Replace(s, r.old, r.new, 1)
	}
	if p.sex != "M" {
		s = strings.Replace(s, `<administrativeGenderCode code="M"`, `<administrativeGenderCode code="`+p.sex+`"`, 1)
	}
	birth := p.birth.Format("20060102")
	s = tsRe.ReplaceAllStringFunc(s, func(m string) string {
		sub := tsRe.FindStringSubmatch(m)
		if sub[1] == birth {
			return m
		}
		t, err := time.Parse("20060102", sub[1])
		if err != nil {
			return m
		}
		return `value="` + t.AddDate(0, 0, shift).Format("20060102") + sub[2] + `"`
	})
	s = usDateRe.ReplaceAllStringFunc(s, func(m string) string {
		t, err := time.Parse("01/02/2006", m)
		if err != nil {
			return m
		}
		return t.AddDate(0, 0, shift).Format("01/02/2006")
	})
	return []byte(s), nil
}

var (
	tsRe     = regexp.MustCompile(`value="((?:19|20)\d{6})([0-9.+-]*)"`)
	usDateRe = regexp.MustCompile(`\b(?:0[1-9]|1[0-2])/(?:0[1-9]|[12]\d|3[01])/(?:19|20)\d{2}\b`)
)

// xdmZip wraps a C-CDA in an IHE XDM package (ITI TF-1 16, TF-3 4.2.2) as
// a portal's "download my record" button makes it: INDEX.HTM and
// README.TXT at the root, the submission set's METADATA.XML (an ebRS
// SubmitObjectsRequest naming the document, its size and SHA-1) and the
// document, IHE_XDM/SUBSET01/DOC0001.XML. Entries carry a fixed time, so the
// ZIP is the same bytes on every run.
func xdmZip(doc []byte, p patient, created time.Time) ([]byte, error) {
	sum := sha1.Sum(doc)
	ts := created.Format("20060102150405")
	index := `<!DOCTYPE html>
<html><head><title>Health record export</title></head>
<body>
<h1>Health record export</h1>
<p>This archive was made by a patient portal's "Download my record". It follows the IHE XDM profile.</p>
<ul><li><a href="IHE_XDM/SUBSET01/DOC0001.XML">Transition of Care/Referral Summary</a> (HL7 C-CDA)</li></ul>
</body></html>
`
	readme := "Health record export\r\n\r\nIHE_XDM/SUBSET01/DOC0001.XML is the health record as an HL7 C-CDA document.\r\n" +
		"IHE_XDM/SUBSET01/METADATA.XML describes it (IHE XDM). Open INDEX.HTM to browse.\r\n"
	meta := `<?xml version="1.0" encoding="UTF-8"?>
<lcm:SubmitObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">
 <rim:RegistryObjectList>
  <rim:ExtrinsicObject id="Document01" mimeType="text/xml" objectType="urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1">
   <rim:Slot name="creationTime"><rim:ValueList><rim:Value>` + ts + `</rim:Value></rim:ValueList></rim:Slot>
   <rim:Slot name="hash"><rim:ValueList><rim:Value>` + hex.EncodeToString(sum[:]) + `</rim:Value></rim:ValueList></rim:Slot>
   <rim:Slot name="size"><rim:ValueList><rim:Value>` + strconv.Itoa(len(doc)) + `</rim:Value></rim:ValueList></rim:Slot>
   <rim:Slot name="languageCode"><rim:ValueList><rim:Value>en-US</rim:Value></rim:ValueList></rim:Slot>
   <rim:Slot name="URI"><rim:ValueList><rim:Value>DOC0001.XML</rim:Value></rim:ValueList></rim:Slot>
   <rim:Slot name="sourcePatientId"><rim:ValueList><rim:Value>` + p.mrn + `^^^&amp;2.16.840.1.113883.1.13.99999.1&amp;ISO</rim:Value></rim:ValueList></rim:Slot>
   <rim:Name><rim:LocalizedString value="Transition of Care/Referral Summary"/></rim:Name>
   <rim:Classification classificationScheme="urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a" classifiedObject="Document01" nodeRepresentation="34133-9">
    <rim:Slot name="codingScheme"><rim:ValueList><rim:Value>2.16.840.1.113883.6.1</rim:Value></rim:ValueList></rim:Slot>
    <rim:Name><rim:LocalizedString value="Summarization of Episode Note"/></rim:Name>
   </rim:Classification>
   <rim:Classification classificationScheme="urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d" classifiedObject="Document01" nodeRepresentation="urn:hl7-org:sdwg:ccda-structuredBody:1.1">
    <rim:Slot name="codingScheme"><rim:ValueList><rim:Value>1.3.6.1.4.1.19376.1.2.3</rim:Value></rim:ValueList></rim:Slot>
    <rim:Name><rim:LocalizedString value="HL7 C-CDA"/></rim:Name>
   </rim:Classification>
  </rim:ExtrinsicObject>
  <rim:RegistryPackage id="SubmissionSet01">
   <rim:Slot name="submissionTime"><rim:ValueList><rim:Value>` + ts + `</rim:Value></rim:ValueList></rim:Slot>
  </rim:RegistryPackage>
  <rim:Association associationType="urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember" sourceObject="SubmissionSet01" targetObject="Document01" id="Association01"/>
 </rim:RegistryObjectList>
</lcm:SubmitObjectsRequest>
`
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range []struct {
		name string
		data []byte
	}{
		{"INDEX.HTM", []byte(index)},
		{"README.TXT", []byte(readme)},
		{"IHE_XDM/SUBSET01/METADATA.XML", []byte(meta)},
		{"IHE_XDM/SUBSET01/DOC0001.XML", doc},
	} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: created})
		if err != nil {
			return nil, fmt.Errorf("zip: %w", err)
		}
		if _, err := w.Write(e.data); err != nil {
			return nil, fmt.Errorf("zip: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("zip: %w", err)
	}
	return buf.Bytes(), nil
}
