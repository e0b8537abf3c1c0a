package checklist

import (
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/handoffmed/handoff/platform/record"
)

var refTime = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func codes(r record.Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Code)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func docFile(id string, d record.Document) record.File {
	return record.File{ID: id, Status: record.StatusDone, Type: record.TypePDF, Document: &d}
}

func dicomFile(id string, inst record.DicomInstance) record.File {
	if inst.SOPClassUID == "" {
		inst.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
	}
	return record.File{ID: id, Status: record.StatusDone, Type: record.TypeDICOM, DICOM: &inst}
}

func mri(id, name, dob string, n int) record.File {
	return dicomFile(id, record.DicomInstance{PatientName: name, PatientBirthDate: dob, StudyUID: "1.2." + name,
		StudyDate: "2026-09-15", SeriesUID: "1.2.3." + name, Modality: "MR", BodyPart: "HIP", SOPInstanceUID: id, InstanceNumber: n})
}

// complete returns the files of a case with nothing missing.
func complete() (record.Case, []record.File) {
	c := record.Case{ID: "case1", Patient: record.Patient{FamilyName: "Doe", GivenName: "Jane", BirthDate: "1958-03-14"},
		Summary: record.Summary{Age: 68, Procedure: "Total right hip replacement", Medications: []string{"metoprolol 25 mg daily"}}}
	files := []record.File{
		mri("d1", "DOE^JANE", "1958-03-14", 1), mri("d2", "DOE^JANE", "1958-03-14", 2), mri("d3", "DOE^JANE", "1958-03-14", 3),
		docFile("rad", record.Document{Category: record.CategoryRadiologyReport, Date: "2026-09-15", Modality: "MRI", BodyPart: "right hip", Names: []string{"DOE, JANE"}, BirthDates: []string{"1958-03-14"}}),
		docFile("lab", record.Document{Category: record.CategoryLabReport, Date: "2026-10-02", Panels: []string{"cbc", "cmp", "coag"}, Names: []string{"Jane Doe"}}),
		docFile("ekg", record.Document{Category: record.CategoryEKG, Date: "2026-10-01"}),
		docFile("pp", record.Document{Category: record.CategoryPassport, Passport: &record.Passport{Surname: "DOE", GivenNames: "JANE", BirthDate: "1958-03-14", Expiry: "2031-01-01", Valid: true}}),
	}
	return c, files
}

func TestComputeCases(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *record.Case, fs *[]record.File)
		want   []string
	}{
		{"complete", func(*record.Case, *[]record.File) {}, nil},
		{"empty", func(c *record.Case, fs *[]record.File) { *c = record.Case{ID: "x"}; *fs = nil },
			[]string{"id.missing", "imaging.none", "labs.missing", "meds.missing", "summary.missing"}},
		{"pictures only", func(c *record.Case, fs *[]record.File) {
			*fs = slices.DeleteFunc(*fs, func(f record.File) bool { return f.DICOM != nil })
			*fs = append(*fs, docFile("jpg", record.Document{Category: record.CategoryImagingPicture}))
		}, []string{"imaging.not_dicom"}},
		{"stale labs", func(c *record.Case, fs *[]record.File) { (*fs)[4].Document.Date = "2026-03-01" }, []string{"labs.stale"}},
		{"stale labs superseded", func(c *record.Case, fs *[]record.File) {
			*fs = append(*fs, docFile("old", record.Document{Category: record.CategoryLabReport, Date: "2025-01-01", Panels: []string{"cbc"}}))
		}, nil},
		{"another patient's series", func(c *record.Case, fs *[]record.File) {
			*fs = append(*fs, mri("x1", "SMITH^ROBERT", "1971-02-02", 1))
		}, []string{"imaging.patient_mismatch"}},
		{"misspelled in DICOM", func(c *record.Case, fs *[]record.File) {
			for i := 0; i < 3; i++ {
				(*fs)[i].DICOM.PatientName = "DOE^JAYNE"
			}
		}, []string{"id.name_mismatch", "imaging.patient_mismatch"}},
		{"misspelled in DICOM, no case fields", func(c *record.Case, fs *[]record.File) {
			c.Patient = record.Patient{}
			for i := 0; i < 3; i++ {
				(*fs)[i].DICOM.PatientName = "DOE^JAYNE"
			}
		}, []string{"id.name_mismatch"}},
		{"long name cut in the passport zone", func(c *record.Case, fs *[]record.File) {
			c.Patient = record.Patient{FamilyName: "Fernandez-Castellanos", GivenName: "Maria Guadalupe Alejandra", BirthDate: "1958-03-14"}
			for i := 0; i < 3; i++ {
				(*fs)[i].DICOM.PatientName = "FERNANDEZ-CASTELLANOS^MARIA GUADALUPE ALEJANDRA"
			}
			(*fs)[3].Document.Names = nil
			(*fs)[4].Document.Names = nil
			(*fs)[6].Document.Passport = &record.Passport{Surname: "FERNANDEZ CASTELLANOS", GivenNames: "MARIA GUADALUPE ALEJ", BirthDate: "1958-03-14", Expiry: "2031-01-01", Valid: true}
		}, nil},
		{"order and separators tolerated", func(c *record.Case, fs *[]record.File) {
			(*fs)[3].Document.Names = []string{"Doe Jane A."}
		}, nil},
		{"birth date differs", func(c *record.Case, fs *[]record.File) { c.Patient.BirthDate = "1958-03-15" }, []string{"id.name_mismatch", "imaging.patient_mismatch"}},
		{"anticoagulant", func(c *record.Case, fs *[]record.File) {
			c.Summary.Medications = append(c.Summary.Medications, "Eliquis 5 mg twice daily", "fish oil")
		}, []string{"meds.anticoagulant", "meds.dose_missing"}},
		{"NSAID only", func(c *record.Case, fs *[]record.File) {
			c.Summary.Medications = append(c.Summary.Medications, "ibuprofen 400 mg as needed")
		}, []string{"meds.nsaid"}},
		{"relevant prior surgery without op note", func(c *record.Case, fs *[]record.File) {
			c.Summary.Conditions.PriorSurgeries = []string{"Right hip arthroscopy 2018"}
		}, []string{"surgical.missing"}},
		{"unrelated prior surgery", func(c *record.Case, fs *[]record.File) {
			c.Summary.Conditions.PriorSurgeries = []string{"Appendectomy 1990"}
		}, nil},
		{"diabetic without HbA1c", func(c *record.Case, fs *[]record.File) { c.Summary.Conditions.Diabetes = true }, []string{"labs.hba1c_missing"}},
		{"no EKG over 50", func(c *record.Case, fs *[]record.File) {
			*fs = slices.DeleteFunc(*fs, func(f record.File) bool { return f.ID == "ekg" })
		}, []string{"labs.ekg_missing"}},
		{"young, no EKG needed", func(c *record.Case, fs *[]record.File) {
			c.Summary.Age = 40
			*fs = slices.DeleteFunc(*fs, func(f record.File) bool { return f.ID == "ekg" })
		}, nil},
		{"respiratory", func(c *record.Case, fs *[]record.File) { c.Summary.Conditions.Respiratory = true }, []string{"labs.chest_xray_missing"}},
		{"respiratory, X-ray inside a combined packet", func(c *record.Case, fs *[]record.File) {
			c.Summary.Conditions.Respiratory = true
			(*fs)[4].Document.Also = []string{record.CategoryChestXRay}
		}, nil},
		{"EKG inside a combined packet", func(c *record.Case, fs *[]record.File) {
			*fs = slices.DeleteFunc(*fs, func(f record.File) bool { return f.ID == "ekg" })
			(*fs)[3].Document.Also = []string{record.CategoryEKG}
		}, nil},
		{"missing series image", func(c *record.Case, fs *[]record.File) { (*fs)[1].DICOM.Declared = 5 }, []string{"imaging.incomplete_series"}},
		{"no report", func(c *record.Case, fs *[]record.File) {
			*fs = slices.DeleteFunc(*fs, func(f record.File) bool { return f.ID == "rad" })
		}, []string{"report.missing"}},
		{"scanned report", func(c *record.Case, fs *[]record.File) { (*fs)[3].Document.OCRPages = []int{1} }, []string{"report.scanned_ocr"}},
		{"portal dump", func(c *record.Case, fs *[]record.File) {
			c.Summary = record.Summary{}
			*fs = append(*fs, docFile("portal", record.Document{Category: record.CategoryPortalExport, Pages: 120}))
		}, []string{"meds.missing", "portal.export_dump", "summary.missing"}},
		{"rejected file", func(c *record.Case, fs *[]record.File) {
			*fs = append(*fs, record.File{ID: "bad", Status: record.StatusFailed, Error: &record.Error{Code: record.CodeEncrypted}})
		}, []string{"input.encrypted"}},
	}
	k := New()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, fs := complete()
			tc.change(&c, &fs)
			r := k.Compute(c, fs, nil, refTime)
			if diff := cmp.Diff(tc.want, codes(r)); diff != "" {
				t.Errorf("codes (-want +got):\n%s\n%+v", diff, r.Findings)
			}
			if len(r.Parts) != 7 {
				t.Errorf("got %d parts, want 7", len(r.Parts))
			}
			for _, f := range r.Findings {
				for _, phi := range []string{"Jane", "JANE", "Doe", "DOE", "1958", "JAYNE", "SMITH"} {
					if strings.Contains(f.Message, phi) {
						t.Errorf("finding %s quotes patient data: %q", f.Code, f.Message)
					}
				}
			}
		})
	}
}

func TestDigestStable(t *testing.T) {
	c, fs := complete()
	k := New()
	a := k.Compute(c, fs, nil, refTime)
	b := k.Compute(c, fs, nil, refTime.Add(time.Hour))
	if a.Digest != b.Digest {
		t.Errorf("digest changed with generation time: %s != %s", a.Digest, b.Digest)
	}
	fs[4].Document.Date = "2025-01-01"
	if d := k.Compute(c, fs, nil, refTime); d.Digest == a.Digest {
		t.Error("digest did not change with the findings")
	}
}

func TestSameName(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
		rel  relation
	}{
		{"DOE^JANE", "Jane Doe", true, relSame},
		{"DOE, JANE A", "JANE ANN DOE", true, relSame},
		{"Doe^Jane^Ann", "DOE JANE", true, relSame},
		{"MARY ANN SMITH", "MARYANN SMITH", true, relSame},
		{"O'Brien, Sean", "OBRIEN SEAN", true, relSame},
		{"José García", "JOSE GARCIA", true, relSame},
		{"Katherine Smith", "Catherine Smith", false, relMisspelled},
		{"JANE DOE", "JAYNE DOE", false, relMisspelled},
		{"JANE DOE", "ROBERT SMITH", false, relOther},
		{"DOE, JANE B", "JANE A DOE", false, relMisspelled},
		{"JOHN DOE", "JANE DOE", false, relOther},
	}
	for _, tc := range tests {
		if got := sameName(nameTokens(tc.a), nameTokens(tc.b)); got != tc.same {
			t.Errorf("sameName(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.same)
		}
		if got := compare(person{tokens: nameTokens(tc.a)}, person{tokens: nameTokens(tc.b)}); got != tc.rel {
			t.Errorf("compare(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.rel)
		}
	}
}

func TestRenderHTML(t *testing.T) {
	c, fs := complete()
	fs[4].Document.Date = "2025-01-01"
	r := New().Compute(c, fs, nil, refTime)
	var b strings.Builder
	if err := RenderHTML(&b, r, map[string]string{"lab": "labs <2025>.pdf"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<title>Handoff checklist</title>", "labs.stale", "labs &lt;2025&gt;.pdf", "Not ready"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// With an index, the imaging findings are the DICOM service's, as stored.
func TestComputeWithIndex(t *testing.T) {
	c, fs := complete()
	fs = append(fs, mri("x1", "SMITH^ROBERT", "1971-02-02", 1))
	idx := &record.DicomIndex{Version: 1, CaseID: c.ID, Studies: studiesFromFiles(fs), Findings: []record.Finding{
		{Code: record.CodeImagingPatientMismatch, Severity: record.SeverityError, Message: "Scan 2026-09-15_MR_hip, series 0: the patient's name does not match the case.", Files: []string{"x1"}},
		{Code: record.CodeImagingDuplicate, Severity: record.SeverityInfo, Message: "1 DICOM file(s) were uploaded more than once.", Files: []string{"d9"}},
	}}
	r := New().Compute(c, fs, idx, refTime)
	if diff := cmp.Diff([]string{"imaging.duplicate", "imaging.patient_mismatch"}, codes(r)); diff != "" {
		t.Errorf("codes (-want +got):\n%s", diff)
	}
	// The other patient's study needs no radiology report of its own.
	for _, f := range r.Findings {
		if f.Code == CodeReportMissing {
			t.Errorf("report.missing for another patient's study")
		}
	}
}

// TestBudgetFindings: a case over one of its budgets gets a finding in plain
// words: partly OCRed documents are still included (a warning), DICOM files
// and archives over the budget are kept but left out.
func TestBudgetFindings(t *testing.T) {
	partly := docFile("scan", record.Document{Category: record.CategoryOther, OCRPages: []int{1, 2}})
	partly.Warnings = []record.Error{{Code: record.CodeCasePageBudget, Message: "2 pages were not OCRed"}}
	tests := []struct {
		name     string
		file     record.File
		severity string
		words    []string
	}{
		{"pages", partly, record.SeverityWarning, []string{"1 document was only partly made searchable", "budget of pages to OCR", "still included"}},
		{"dicom", record.File{ID: "im", Status: record.StatusFailed, Type: record.TypeDICOM,
			Error: &record.Error{Code: record.CodeCaseDICOMBudget, Message: "the case is over its imaging budget of 3 DICOM files; the file is kept but not indexed"}},
			record.SeverityWarning, []string{"1 file was rejected", "imaging budget of 3 DICOM files", "kept"}},
		{"archive", record.File{ID: "zip", Status: record.StatusFailed, Type: record.TypeZIP,
			Error: &record.Error{Code: record.CodeCaseArchiveBudget}},
			record.SeverityWarning, []string{"1 file was rejected", "archives together expand to more than one case may have"}},
	}
	k := New()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, fs := complete()
			r := k.Compute(c, append(fs, tc.file), nil, refTime)
			var got *record.Finding
			for i, f := range r.Findings {
				if f.Code == code(tc.file) {
					got = &r.Findings[i]
				}
			}
			if got == nil {
				t.Fatalf("findings %+v, want one for %s", r.Findings, tc.name)
			}
			if got.Severity != tc.severity || !slices.Equal(got.Files, []string{tc.file.ID}) {
				t.Errorf("finding %+v, want severity %s on %s", got, tc.severity, tc.file.ID)
			}
			for _, w := range tc.words {
				if !strings.Contains(got.Message, w) {
					t.Errorf("message %q, want %q", got.Message, w)
				}
			}
		})
	}
}

// code is a file's error code, else its first warning's.
func code(f record.File) string {
	if f.Error != nil {
		return f.Error.Code
	}
	return f.Warnings[0].Code
}
