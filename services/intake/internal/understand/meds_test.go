package understand

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/handoffmed/handoff/platform/clinical"
	"github.com/handoffmed/handoff/platform/record"
)

func TestMedicationEntries(t *testing.T) {
	a := New()
	tests := []struct {
		in   string
		want []record.Medication
	}{
		{"apixaban 5 mg twice daily since 2023", []record.Medication{{Name: "apixaban", Generic: "apixaban", Dose: "5 mg", Frequency: "twice daily", Duration: "since 2023", Class: record.MedAnticoagulant}}},
		{"Eliquis", []record.Medication{{Name: "Eliquis", Generic: "apixaban", Class: record.MedAnticoagulant}}},
		{"Xarelto 20mg daily with supper", []record.Medication{{Name: "Xarelto", Generic: "rivaroxaban", Dose: "20mg", Frequency: "daily", Class: record.MedAnticoagulant}}},
		{"Coumadin 5 mg qd, fish oil 1200 mg bid", []record.Medication{
			{Name: "Coumadin", Generic: "warfarin", Dose: "5 mg", Frequency: "qd", Class: record.MedAnticoagulant},
			{Name: "fish oil", Generic: "fish oil", Dose: "1200 mg", Frequency: "bid", Class: record.MedSupplement}}},
		{"Baby aspirin 81 mg every morning x 10 years", []record.Medication{{Name: "Baby aspirin", Generic: "aspirin", Dose: "81 mg", Frequency: "every morning", Duration: "x 10 years", Class: record.MedAntiplatelet}}},
		{"ASA 325mg", []record.Medication{{Name: "ASA", Generic: "aspirin", Dose: "325mg", Class: record.MedAntiplatelet}}},
		{"Lovenox 40 mg/0.4 mL subcutaneous injection daily", []record.Medication{{Name: "Lovenox", Generic: "enoxaparin", Dose: "40 mg/0.4 mL", Frequency: "daily", Class: record.MedAnticoagulant}}},
		{"Plavix (clopidogrel) 75 mg daily", []record.Medication{{Name: "Plavix (clopidogrel)", Generic: "clopidogrel", Dose: "75 mg", Frequency: "daily", Class: record.MedAntiplatelet}}},
		{"Brilinta 90mg BID", []record.Medication{{Name: "Brilinta", Generic: "ticagrelor", Dose: "90mg", Frequency: "BID", Class: record.MedAntiplatelet}}},
		{"Ginkgo biloba 120 mg daily", []record.Medication{{Name: "Ginkgo biloba", Generic: "ginkgo", Dose: "120 mg", Frequency: "daily", Class: record.MedSupplement}}},
		{"Vitamin E 400 IU", []record.Medication{{Name: "Vitamin E", Generic: "vitamin e", Dose: "400 IU", Class: record.MedSupplement}}},
		{"turmeric 1 capsule daily", []record.Medication{{Name: "turmeric", Generic: "turmeric", Dose: "1 capsule", Frequency: "daily", Class: record.MedSupplement}}},
		{"ibuprofen 600 mg as needed", []record.Medication{{Name: "ibuprofen", Generic: "ibuprofen", Dose: "600 mg", Frequency: "as needed", Class: clinical.ClassNSAID}}},
		{"Levothyroxine 50 mcg every morning", []record.Medication{{Name: "Levothyroxine", Generic: "levothyroxine", Dose: "50 mcg", Frequency: "every morning"}}},
		{"Humira", []record.Medication{{Name: "Humira", Generic: "adalimumab"}}},
		{"Eliquis 5mg 2x a day", []record.Medication{{Name: "Eliquis", Generic: "apixaban", Dose: "5mg", Frequency: "2x a day", Class: record.MedAnticoagulant}}},
		{"Metformin 500 mg with breakfast", []record.Medication{{Name: "Metformin", Generic: "metformin", Dose: "500 mg", Frequency: "with breakfast"}}},
		{"None", nil},
		{"daily", nil},
	}
	for _, tc := range tests {
		got := a.Medications([]string{tc.in})
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Medications(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestMedicationSections(t *testing.T) {
	a := New()
	// A clinic note: only its medication section is read, allergies never.
	note := `Office Visit
Chief Complaint: hip pain
Allergies:
Aspirin - hives
Medications:
1. Xarelto 20 mg tablet daily
2. metoprolol 25 mg BID
Assessment and Plan:
Continue current medications. Consider ibuprofen.
`
	got := a.meds.parse(note, false)
	var names []string
	for _, m := range got {
		names = append(names, m.Generic)
	}
	if diff := cmp.Diff([]string{"rivaroxaban", "metoprolol"}, names); diff != "" {
		t.Errorf("section medications (-want +got):\n%s", diff)
	}
	// A Cerner style table with a start date column.
	table := `Medication Name        Dose      Frequency     Start Date
Warfarin Sodium        5 mg      Daily         01/15/2022
Omega-3 Fatty Acids    1 g       BID           03/02/2020
`
	got = a.meds.parse(table, true)
	if len(got) != 2 || got[0].Generic != "warfarin" || got[0].Duration != "since 2022-01-15" || got[1].Class != record.MedSupplement {
		t.Errorf("table medications: %+v", got)
	}
	// Discontinued medications are not current.
	disc := "Current Medications\nlisinopril 10 mg daily\nDiscontinued Medications\nclopidogrel 75 mg daily\n"
	got = a.meds.parse(disc, true)
	if len(got) != 1 || got[0].Generic != "lisinopril" {
		t.Errorf("discontinued: %+v", got)
	}
}

func FuzzMedications(f *testing.F) {
	a := New()
	f.Add("apixaban (ELIQUIS) 5 mg tablet\nTake 1 tablet (5 mg total) by mouth 2 (two) times daily.")
	f.Add("Coumadin 5 mg qd, fish oil 1200 mg bid; ASA 81")
	f.Add("Medications:\n- ginkgo\n- Vitamin E 400 IU\nAllergies: none")
	f.Add("Start Date\nWarfarin 5 mg daily 01/15/2022")
	f.Fuzz(func(t *testing.T, s string) {
		for _, whole := range []bool{true, false} {
			for _, m := range a.meds.parse(s, whole) {
				if m.Name == "" || m.Generic == "" {
					t.Fatalf("medication without a name: %+v", m)
				}
				if !utf8.ValidString(m.Name) && utf8.ValidString(s) {
					t.Fatalf("name is not valid UTF-8: %q", m.Name)
				}
				if m.Dose != "" && !strings.Contains(s, m.Dose) {
					t.Fatalf("dose %q not in the input", m.Dose)
				}
			}
		}
		_ = a.Medications(strings.Split(s, "\n"))
	})
}

func FuzzAnalyze(f *testing.F) {
	a := New()
	f.Add("EXAM: MRI RIGHT HIP\nIMPRESSION: arthritis\nDOB: 01/02/1960\nPatient: DOE, JANE")
	f.Add("Collected: 10/02/2026\nWBC 6.2\nHemoglobin 13\nPlatelets 250\nINR 1.0")
	f.Add("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10")
	f.Fuzz(func(t *testing.T, s string) {
		d := a.Analyze(Input{Type: record.TypePDF, Pages: SplitPages(s)})
		if d.Category == "" || len(d.Evidence) == 0 {
			t.Fatalf("no category or evidence: %+v", d)
		}
	})
}
