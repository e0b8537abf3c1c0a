package checklist

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/intake/internal/understand"
)

// categoryOf says what each generated file must be understood as, by the
// name the generator gives it.
func categoryOf(path string) (cat string, panels []string) {
	switch {
	case strings.HasPrefix(path, "Imaging CD/"):
		return "", nil // DICOM
	case path == "passport.jpg":
		return record.CategoryPassport, nil
	case strings.HasPrefix(path, "Imaging report"):
		return record.CategoryRadiologyReport, nil
	case strings.HasPrefix(path, "Labs/Quest"):
		return record.CategoryLabReport, []string{record.PanelCBC, record.PanelCMP}
	case strings.HasPrefix(path, "Labs/HbA1c"):
		return record.CategoryLabReport, []string{record.PanelHbA1c}
	case path == "Labs/PT INR.pdf":
		return record.CategoryLabReport, []string{record.PanelCoag}
	case strings.HasPrefix(path, "Labs/EKG"):
		return record.CategoryEKG, nil
	case path == "Medication list.pdf", path == "My medicine record.pdf":
		return record.CategoryMedicationList, nil
	case path == "My case summary.pdf":
		return record.CategorySummary, nil
	case strings.Contains(path, "arthroscopy"):
		return record.CategoryOperativeNote, nil
	case strings.HasPrefix(path, "MyChart"), strings.HasSuffix(path, "!/IHE_XDM/SUBSET01/DOC0001.XML"):
		return record.CategoryPortalExport, nil
	case strings.HasSuffix(path, ".zip"):
		return "archive", nil
	case strings.HasPrefix(path, "MRI pictures/"):
		return record.CategoryImagingPicture, nil
	}
	return "rejected", nil
}

func TestExampleCases(t *testing.T) {
	requireTools(t, "pdftotext", "pdfinfo", "pdftoppm", "tesseract", "dcmdump")
	an := understand.New()
	k := New()
	for _, name := range caseNames(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := loadCase(t, an, name)
			for _, f := range c.files {
				want, panels := categoryOf(f.Path)
				switch {
				case want == "rejected":
					if f.Status != record.StatusFailed {
						t.Errorf("%s: got status %s, want rejected", f.Path, f.Status)
					}
				case want == "archive":
					if f.Type != record.TypeZIP || f.Archive == nil || f.Archive.Entries == 0 {
						t.Errorf("%s: not expanded as an archive: %+v", f.Path, f.Archive)
					}
				case want == "":
					if f.DICOM == nil {
						t.Errorf("%s: not read as DICOM", f.Path)
					}
				case f.Document == nil:
					t.Errorf("%s: no document (status %s)", f.Path, f.Status)
				default:
					d := f.Document
					if d.Category != want {
						t.Errorf("%s: got category %s, want %s (evidence %q)", f.Path, d.Category, want, d.Evidence)
					}
					if panels != nil && !cmp.Equal(panels, d.Panels) {
						t.Errorf("%s: got panels %v, want %v", f.Path, d.Panels, panels)
					}
					if want == record.CategoryPassport && (d.Passport == nil || !d.Passport.Valid) {
						t.Errorf("%s: passport zone not read with valid check digits: %+v", f.Path, d.Passport)
					}
				}
			}
			r := k.Compute(c.input, c.files, nil, refNow)
			got := codes(r)
			if got == nil {
				got = []string{}
			}
			if diff := cmp.Diff(c.expected.Codes, got); diff != "" {
				var b strings.Builder
				for _, f := range r.Findings {
					var ps []string
					for _, id := range f.Files {
						ps = append(ps, c.paths[id])
					}
					b.WriteString("  " + f.Code + " " + f.Severity + ": " + f.Message + " " + strings.Join(ps, ", ") + "\n")
				}
				t.Errorf("codes (-want +got):\n%s\nfindings:\n%s", diff, b.String())
			}
			for _, code := range c.expected.Absent {
				if slices.Contains(got, code) {
					t.Errorf("code %s must not appear", code)
				}
			}
			if !slices.ContainsFunc(c.expected.Codes, isErrorCode) && r.HasErrors() {
				t.Errorf("report has errors; the case expects none")
			}
			// Messages never quote the patient's name or birth date.
			p := c.input.Patient
			phi := []string{p.FamilyName, p.GivenName, p.BirthDate}
			for _, f := range r.Findings {
				for _, s := range phi {
					if s != "" && strings.Contains(strings.ToLower(f.Message), strings.ToLower(s)) {
						t.Errorf("finding %s quotes patient data", f.Code)
					}
				}
			}
		})
	}
}

// isErrorCode reports whether a code is error-level in this checklist.
func isErrorCode(code string) bool {
	switch code {
	case CodeSummaryMissing, CodeImagingNone, CodeImagingNotDICOM, CodeImagingMismatch, CodeReportMissing, CodeLabsMissing, CodeLabsStale,
		CodeMedsMissing, CodeIDMissing, CodeIDNameMismatch:
		return true
	}
	return false
}
