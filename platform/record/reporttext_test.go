package record

import (
	"strings"
	"testing"
)

func TestReportWriteText(t *testing.T) {
	r := &Report{
		CaseID: "abcd", ReferenceDate: "2026-11-01",
		Parts: []PartStatus{
			{Part: PartSummary, Title: "Case summary", Status: PartOK, Files: []string{"f1"}},
			{Part: PartImaging, Title: "Imaging (DICOM)", Status: PartMissing},
		},
		Findings: []Finding{{Code: "imaging.none", Severity: SeverityError, Message: "No imaging.", Files: []string{"f2"}}},
	}
	var b strings.Builder
	if err := r.WriteText(&b, map[string]string{"f2": "report.pdf"}); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{"1. Case summary", "OK", "2. Imaging (DICOM)", "MISSING", "[ERROR] imaging.none", "    No imaging.", "    - report.pdf", "not ready"} {
		if !strings.Contains(got, want) {
			t.Errorf("text lacks %q:\n%s", want, got)
		}
	}
}
