package layout_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffmed/handoff/platform/record"

	"github.com/handoffmed/handoff/services/packager/internal/fixture"
	. "github.com/handoffmed/handoff/services/packager/internal/layout"
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
	got := listing(Build(fixture.Input()))
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
	in := fixture.Input()
	a := listing(Build(in))
	// Reverse the files: the plan must not depend on their order.
	for i, j := 0, len(in.Files)-1; i < j; i, j = i+1, j-1 {
		in.Files[i], in.Files[j] = in.Files[j], in.Files[i]
	}
	if d := cmp.Diff(a, listing(Build(in))); d != "" {
		t.Errorf("plan depends on file order (-first +reversed):\n%s", d)
	}
}
