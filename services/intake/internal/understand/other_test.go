package understand

import (
	"strings"
	"testing"

	"github.com/handoffmed/handoff/platform/record"
)

// Documents that are not parts of the handoff file, or are in layouts the
// other fixtures do not cover.
func TestOtherDocuments(t *testing.T) {
	a := New()
	want := map[string]struct {
		cat  string
		meds string
	}{
		"denial":          {record.CategoryOther, ""},
		"discharge":       {record.CategoryOther, "warfarin amoxicillin"},
		"consult":         {record.CategoryOther, "lisinopril aspirin"},
		"avs":             {record.CategoryMedicationList, "ibuprofen lisinopril"},
		"labcorp_cbc_raw": {record.CategoryLabReport, ""},
		"echo":            {record.CategoryRadiologyReport, ""},
	}
	docs := map[string]string{
		"denial": `BlueCross BlueShield of Illinois
Re: Prior Authorization Request - Total Hip Arthroplasty
Member: Jane Doe   Member ID: XYZ123456
Dear Ms. Doe,
We have reviewed the request for total hip arthroplasty. This service is not medically necessary under your plan. You may appeal this decision within 180 days.
Sincerely, Utilization Management`,
		"discharge": `DISCHARGE SUMMARY
Patient: DOE, JANE   DOB: 03/14/1958
Admission Date: 01/02/2025 Discharge Date: 01/05/2025
Hospital Course: The patient was admitted with pneumonia and treated with IV antibiotics.
Discharge Medications:
warfarin 5 mg daily
amoxicillin 500 mg three times a day for 5 days
Follow-up: PCP in 1 week.`,
		"consult": `Orthopedic Consultation
Chief Complaint: Right hip pain
History of Present Illness: 67 year old female with right hip pain for 3 years.
Medications: lisinopril 10 mg daily, aspirin 81 mg daily
Physical Exam: antalgic gait, painful internal rotation.
Imaging: X-ray shows severe joint space narrowing.
Assessment and Plan: Severe right hip osteoarthritis. Recommend total hip arthroplasty.`,
		"avs": `After Visit Summary
Jane Doe  10/02/2026  Northside Clinic
Your medication list
START taking:
ibuprofen 600 MG tablet Take 1 tablet (600 mg total) by mouth every 6 (six) hours as needed for Pain.
CONTINUE taking these medications:
lisinopril 10 MG tablet Take 1 tablet by mouth daily.
STOP taking these medications:
clopidogrel 75 MG tablet
Today's Visit: You saw Robert Lee, MD.`,
		"labcorp_cbc_raw": `CBC With Differential/Platelet
Test
Current Result and Flag
Previous Result and Date
Units
Reference Interval
WBC 01
6.2
x10E3/uL
3.4-10.8
RBC 01
4.51
x10E6/uL
3.77-5.28
Hemoglobin 01
13.6
g/dL
11.1-15.9
Hematocrit 01
41.0
%
34.0-46.6
Platelets 01
245
x10E3/uL
150-450
Date Collected: 10/02/2026
Patient Details
Doe, Jane
DOB: 03/14/1958`,
		"echo": `TRANSTHORACIC ECHOCARDIOGRAM REPORT
Patient Name: DOE, JANE  DOB: 03/14/1958  Study Date: 09/20/2026
Indication: preoperative evaluation
FINDINGS:
Left ventricle: normal size and systolic function, LVEF 60%.
Valves: mild mitral regurgitation.
CONCLUSIONS:
Normal left ventricular function.`,
	}
	for name, txt := range docs {
		d := a.Analyze(Input{Type: record.TypePDF, Pages: []string{txt}})
		var meds []string
		for _, m := range d.Medications {
			meds = append(meds, m.Generic)
		}
		if d.Category != want[name].cat || strings.Join(meds, " ") != want[name].meds {
			t.Errorf("%s: got %s %v, want %s %s (evidence %q)", name, d.Category, meds, want[name].cat, want[name].meds, d.Evidence)
		}
		if name == "denial" && len(d.Names) > 0 {
			t.Errorf("denial: names %q", d.Names)
		}
	}
}
