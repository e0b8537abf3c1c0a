package checklist

import (
	"bytes"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/intake/internal/docs"
	"github.com/handoffmed/handoff/services/intake/internal/understand"
)

// cernerDoc is the Cerner referral summary as the text route reads it
// (patient Steve Williamson, born 1947-04-07).
func cernerDoc(t *testing.T) record.Document {
	t.Helper()
	b, err := os.ReadFile("../../../../testdata/corpus/ccda-peer/Cerner/Transition_of_Care_Referral_Summary.xml")
	if err != nil {
		t.Fatal(err)
	}
	d, rej, err := docs.UnderstandText(understand.New(), bytes.NewReader(b), int64(len(b)))
	if err != nil || rej != nil {
		t.Fatalf("error %v, rejected %v", err, rej)
	}
	return d
}

// A C-CDA's identity is checked against the passport like any record's: a
// C-CDA of another patient is reported, one that spells the name
// differently is a name mismatch, the patient's own is neither.
func TestCCDAIdentity(t *testing.T) {
	t.Parallel()
	export := cernerDoc(t)
	tests := []struct {
		name            string
		surname, given  string
		birth           string
		want, notWanted string
	}{
		{"another patient", "DOE", "JANE", "1958-03-14", CodeDocPatientMismatch, CodeIDNameMismatch},
		{"spelled differently", "WILLIAMSON", "STEVEN", "1947-04-07", CodeIDNameMismatch, CodeDocPatientMismatch},
		{"the patient", "WILLIAMSON", "STEVE", "1947-04-07", "", CodeDocPatientMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := record.Case{ID: "c", ReferenceDate: "2013-08-01"}
			files := []record.File{
				docFile("pp", record.Document{Category: record.CategoryPassport, Passport: &record.Passport{
					Surname: tc.surname, GivenNames: tc.given, BirthDate: tc.birth, Expiry: "2031-01-01", Valid: true}}),
				{ID: "ccda", Status: record.StatusDone, Type: record.TypeText, Document: &export},
			}
			got := codes(New().Compute(c, files, nil, time.Date(2013, 8, 1, 0, 0, 0, 0, time.UTC)))
			if tc.want != "" && !slices.Contains(got, tc.want) {
				t.Errorf("codes %v: no %s", got, tc.want)
			}
			if slices.Contains(got, tc.notWanted) {
				t.Errorf("codes %v: %s must not appear", got, tc.notWanted)
			}
			if tc.want == "" && slices.Contains(got, CodeIDNameMismatch) {
				t.Errorf("codes %v: the patient's own export is a mismatch", got)
			}
		})
	}
}
