package layout

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffmed/handoff/platform/record"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestNames(t *testing.T) {
	tests := []struct {
		name string
		fn   func(string) string
		in   string
		want string
	}{
		{"accents", NamePart, "Zoë", "Zoe"},
		{"MRZ upper case", NamePart, "GARCIA LOPEZ", "Garcia-Lopez"},
		{"mixed case kept", NamePart, "McDonald", "McDonald"},
		{"apostrophe", NamePart, "O'Brien", "OBrien"},
		{"german", NamePart, "Größe", "Grosse"},
		{"nordic", NamePart, "Søren Ærø", "Soren-AEro"},
		{"polish", NamePart, "Łukasz", "Lukasz"},
		{"han only", NamePart, "王小明", ""},
		{"MRZ fillers", NamePart, "JEAN<<PAUL", "Jean-Paul"},
		{"file part", FilePart, "right hip (L4/L5)", "right_hip_L4_L5"},
		{"file part accents", FilePart, "Épaule droite", "Epaule_droite"},
		{"file part trailing", FilePart, "MRI!!", "MRI"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.fn(tc.in); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestBundleName(t *testing.T) {
	c := record.Case{Patient: record.Patient{FamilyName: "Müller-Lüdenscheidt", GivenName: "Zoë Anne", BirthDate: "1961-03-14"}}
	passport := record.File{ID: "pp", Status: record.StatusDone, Document: &record.Document{
		Category: record.CategoryPassport,
		Passport: &record.Passport{Surname: "MUELLER LUEDENSCHEIDT", GivenNames: "ZOE ANNE", BirthDate: "1961-03-14", Valid: true}}}
	invalid := record.File{ID: "pq", Status: record.StatusDone, Document: &record.Document{
		Category: record.CategoryPassport,
		Passport: &record.Passport{Surname: "MUELLFR", GivenNames: "Z0E", BirthDate: "1961-03-14"}}}
	tests := []struct {
		name  string
		c     record.Case
		files []record.File
		want  string
	}{
		{"case fields", c, nil, "Muller-Ludenscheidt_Zoe-Anne_1961-03-14_MedicalRecords"},
		{"passport wins", c, []record.File{passport}, "Mueller-Luedenscheidt_Zoe-Anne_1961-03-14_MedicalRecords"},
		{"valid passport wins over invalid", c, []record.File{invalid, passport}, "Mueller-Luedenscheidt_Zoe-Anne_1961-03-14_MedicalRecords"},
		{"nothing known", record.Case{}, nil, "Unknown_Unknown_0000-00-00_MedicalRecords"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := BundleName(PatientIdentity(tc.c, tc.files)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// exampleInput is a complete case with one of everything, and some noise.
func exampleInput() Input {
	c := record.Case{ID: "case0001", Patient: record.Patient{FamilyName: "Doe", GivenName: "Jane", BirthDate: "1958-07-01"}}
	doc := func(id, typ, cat, date string, mod func(*record.Document)) record.File {
		d := &record.Document{Category: cat, Date: date}
		if typ == record.TypePDF || typ == record.TypeJPEG {
			d.SearchableKey = "cases/case0001/files/" + id + "/searchable.pdf"
		}
		if mod != nil {
			mod(d)
		}
		return record.File{CaseID: "case0001", ID: id, Path: id + ".pdf", Bucket: "intake", Key: "cases/case0001/uploads/" + id,
			Size: 1000, ETag: "e-" + id, Type: typ, Status: record.StatusDone, Document: d}
	}
	files := []record.File{
		doc("sum1", record.TypePDF, record.CategorySummary, "2026-05-01", nil),
		doc("rad1", record.TypePDF, record.CategoryRadiologyReport, "2026-04-12", func(d *record.Document) { d.Modality, d.BodyPart = "MRI", "right hip" }),
		doc("rad2", record.TypePDF, record.CategoryRadiologyReport, "2026-04-12", func(d *record.Document) { d.Modality, d.BodyPart = "MRI", "right hip" }),
		doc("lab1", record.TypePDF, record.CategoryLabReport, "2026-05-02", func(d *record.Document) { d.Panels = []string{"cbc", "bmp"} }),
		doc("lab2", record.TypePDF, record.CategoryLabReport, "", func(d *record.Document) { d.Panels = []string{"coag"} }),
		doc("ekg1", record.TypePDF, record.CategoryEKG, "2026-05-03", nil),
		doc("cxr1", record.TypePDF, record.CategoryChestXRay, "2026-05-03", nil),
		doc("op1", record.TypePDF, record.CategoryOperativeNote, "2019-11-20", nil),
		doc("med1", record.TypeText, record.CategoryMedicationList, "", nil),
		doc("pass", record.TypeJPEG, record.CategoryPassport, "", func(d *record.Document) {
			d.Passport = &record.Passport{Surname: "DOE", GivenNames: "JANE MARIE", BirthDate: "1958-07-01", Valid: true}
		}),
		doc("port", record.TypePDF, record.CategoryPortalExport, "2026-03-01", nil),
		doc("jpg1", record.TypeJPEG, record.CategoryImagingPicture, "", nil),
		doc("oth1", record.TypePDF, record.CategoryOther, "2011-01-01", nil),
		{CaseID: "case0001", ID: "bad1", Key: "cases/case0001/uploads/bad1", Status: record.StatusFailed, Error: &record.Error{Code: record.CodeEncrypted}},
		{CaseID: "case0001", ID: "zip1", Key: "cases/case0001/uploads/cd.zip", Type: record.TypeZIP, Status: record.StatusDone, Archive: &record.Archive{Entries: 3}},
		{CaseID: "case0001", ID: "dcm1", Key: "cases/case0001/archives/zip1/IM1", Type: record.TypeDICOM, Status: record.StatusDone, DICOM: &record.DicomInstance{}},
		{CaseID: "case0001", ID: "dcm2", Key: "cases/case0001/archives/zip1/IM2", Type: record.TypeDICOM, Status: record.StatusDone, DICOM: &record.DicomInstance{}},
		{CaseID: "case0001", ID: "dcm3", Key: "cases/case0001/uploads/copy", Type: record.TypeDICOM, Status: record.StatusDone, DICOM: &record.DicomInstance{DuplicateOf: "dcm1"}},
		{CaseID: "case0001", ID: "ddir", Key: "cases/case0001/archives/zip1/DICOMDIR", Type: record.TypeDICOMDIR, Status: record.StatusDone},
		{CaseID: "case0001", ID: "xray", Key: "cases/case0001/uploads/xr", Type: record.TypeDICOM, Status: record.StatusDone, DICOM: &record.DicomInstance{}},
		{CaseID: "case0001", ID: "pend", Key: "cases/case0001/uploads/late.pdf", Type: record.TypePDF, Status: record.StatusProcessing},
	}
	idx := &record.DicomIndex{CaseID: "case0001", Studies: []record.Study{
		{Folder: "2026-04-12_MRI_right_hip", FileSet: &record.FileSet{
			DICOMDIRBucket: "derived", DICOMDIRKey: "cases/case0001/dicom/filesets/2026-04-12_MRI_right_hip/DICOMDIR", DICOMDIRSize: 600,
			Entries: []record.FileSetEntry{
				{Path: "DICOM/ST000000/SE000000/IM000000", FileID: "dcm1", Bucket: "derived", Key: "cases/case0001/archives/zip1/IM1", Size: 5000},
				{Path: "DICOM/ST000000/SE000000/IM000001", FileID: "dcm2", Bucket: "derived", Key: "cases/case0001/archives/zip1/IM2", Size: 5000},
			}}},
		{Folder: "2025-12-01_XR_chest", Series: []record.Series{{Members: []record.SeriesInstanceRef{
			{FileID: "xray", Bucket: "intake", Key: "cases/case0001/uploads/xr", Size: 9000}}}}},
	}}
	return Input{Case: c, Files: files, Index: idx, DerivedBucket: "derived"}
}

func listing(p Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name %s\npending %d\n", p.ZipName(), p.Pending)
	for _, it := range p.Items {
		fmt.Fprintf(&b, "item %s <- %s/%s file=%s cat=%s searchable=%v\n", it.Path, it.Source.Bucket, it.Source.Key, it.FileID, it.Category, it.Searchable)
	}
	for _, e := range p.Excluded {
		fmt.Fprintf(&b, "excluded %s %s: %s\n", e.FileID, e.Upload, e.Reason)
	}
	for _, g := range p.Gaps {
		fmt.Fprintf(&b, "gap %s\n", g)
	}
	return b.String()
}

func TestBuildGolden(t *testing.T) {
	got := listing(Build(exampleInput()))
	golden := filepath.Join("testdata", "example.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("layout (-want +got):\n%s", d)
	}
}

func TestBuildDeterministic(t *testing.T) {
	in := exampleInput()
	a := listing(Build(in))
	// Reverse the files: the plan must not depend on their order.
	for i, j := 0, len(in.Files)-1; i < j; i, j = i+1, j-1 {
		in.Files[i], in.Files[j] = in.Files[j], in.Files[i]
	}
	if d := cmp.Diff(a, listing(Build(in))); d != "" {
		t.Errorf("plan depends on file order (-first +reversed):\n%s", d)
	}
}

func TestCleanRel(t *testing.T) {
	for in, want := range map[string]string{
		"DICOM/ST0/SE0/IM0": "DICOM/ST0/SE0/IM0",
		"../x":              "",
		"/abs":              "",
		"a/./b":             "",
		"a\\b":              "",
		"":                  "",
	} {
		if got := cleanRel(in); got != want {
			t.Errorf("cleanRel(%q) = %q, want %q", in, got, want)
		}
	}
}
