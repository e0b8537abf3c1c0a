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
	"github.com/handoffmed/handoff/services/packager/internal/layout"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestNames(t *testing.T) {
	tests := []struct {
		name string
		fn   func(string) string
		in   string
		want string
	}{
		{"accents", layout.NamePart, "Zoë", "Zoe"},
		{"MRZ upper case", layout.NamePart, "GARCIA LOPEZ", "Garcia-Lopez"},
		{"mixed case kept", layout.NamePart, "McDonald", "McDonald"},
		{"apostrophe", layout.NamePart, "O'Brien", "OBrien"},
		{"german", layout.NamePart, "Größe", "Grosse"},
		{"nordic (ICAO 9303)", layout.NamePart, "Søren Ærø", "Soeren-AEroe"},
		{"polish", layout.NamePart, "Łukasz", "Lukasz"},
		{"han only", layout.NamePart, "王小明", ""},
		{"MRZ fillers", layout.NamePart, "JEAN<<PAUL", "Jean-Paul"},
		{"file part", layout.FilePart, "right hip (L4/L5)", "right_hip_L4_L5"},
		{"file part accents", layout.FilePart, "Épaule droite", "Epaule_droite"},
		{"file part trailing", layout.FilePart, "MRI!!", "MRI"},
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
			if got := layout.BundleName(layout.PatientIdentity(tc.c, tc.files)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func listing(p layout.Plan) string {
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
	for _, e := range p.Extracts {
		fmt.Fprintf(&b, "extract %s <- file=%s %s kind=%s cat=%s date=%s since=%s\n", e.Path, e.FileID, e.From, e.Kind, e.Category, e.Date, e.Since)
	}
	return b.String()
}

func TestBuildGolden(t *testing.T) {
	got := listing(layout.Build(fixture.Input()))
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
	a := listing(layout.Build(in))
	// Reverse the files: the plan must not depend on their order.
	for i, j := 0, len(in.Files)-1; i < j; i, j = i+1, j-1 {
		in.Files[i], in.Files[j] = in.Files[j], in.Files[i]
	}
	if d := cmp.Diff(a, listing(layout.Build(in))); d != "" {
		t.Errorf("plan depends on file order (-first +reversed):\n%s", d)
	}
}

// FuzzNames feeds arbitrary (patient-typed) names to the file-name makers:
// no panic, and what comes out is ASCII without separators a path could
// be split on.
func FuzzNames(f *testing.F) {
	for _, s := range []string{"Zoë", "GARCIA LOPEZ", "O'Brien", "王小明", "../../etc", "a/b\\c", "\x00\xff", "Łukasz Ærø"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, fn := range []func(string) string{layout.NamePart, layout.FilePart, layout.ASCII} {
			out := fn(s)
			for _, r := range out {
				if r >= 0x80 {
					t.Fatalf("%q -> %q: not ASCII", s, out)
				}
			}
		}
		for _, out := range []string{layout.NamePart(s), layout.FilePart(s)} {
			if strings.ContainsAny(out, "/\\. \x00") && out != "" {
				t.Fatalf("%q -> %q: unsafe in a file name", s, out)
			}
		}
		name := layout.BundleName(layout.Identity{Family: s, Given: s, BirthDate: s})
		if err := checkComponent(name); err != nil {
			t.Fatalf("bundle name %q: %v", name, err)
		}
	})
}

func checkComponent(s string) error {
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\\\x00") {
		return fmt.Errorf("unsafe path component")
	}
	return nil
}
