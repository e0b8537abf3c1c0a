package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// upload is one file of a case as the patient uploads it.
type upload struct {
	path string
	make func() ([]byte, error)
}

// caseInput is case.json: the structured fields of POST /v1/cases.
type caseInput struct {
	Patient       casePatient  `json:"patient"`
	Summary       *caseSummary `json:"summary,omitempty"`
	ReferenceDate string       `json:"reference_date"`
}

type casePatient struct {
	FamilyName string `json:"family_name"`
	GivenName  string `json:"given_name"`
	BirthDate  string `json:"birth_date"`
	Sex        string `json:"sex"`
}

type caseSummary struct {
	Age              int            `json:"age,omitempty"`
	Height           string         `json:"height,omitempty"`
	Weight           string         `json:"weight,omitempty"`
	Allergies        string         `json:"allergies,omitempty"`
	Procedure        string         `json:"procedure,omitempty"`
	SymptomHistory   string         `json:"symptom_history,omitempty"`
	USRecommendation string         `json:"us_recommendation,omitempty"`
	QuotedCost       string         `json:"quoted_cost,omitempty"`
	ReasonAbroad     string         `json:"reason_abroad,omitempty"`
	Conditions       caseConditions `json:"conditions,omitzero"`
	Medications      []string       `json:"medications,omitempty"`
}

type caseConditions struct {
	Diabetes       bool     `json:"diabetes,omitempty"`
	Prediabetes    bool     `json:"prediabetes,omitempty"`
	HeartDisease   bool     `json:"heart_disease,omitempty"`
	Respiratory    bool     `json:"respiratory,omitempty"`
	BloodThinners  bool     `json:"blood_thinners,omitempty"`
	PriorSurgeries []string `json:"prior_surgeries,omitempty"`
	Other          string   `json:"other,omitempty"`
}

// expected is expected.json: exactly the codes the case's report has, and
// the checklist codes it must not have.
type expected struct {
	About  string   `json:"about"`
	Codes  []string `json:"codes"`
	Absent []string `json:"absent"`
}

type caseSpec struct {
	name  string
	about string
	input caseInput
	files []upload
	codes []string
}

// issueCodes are the finding codes issue 5 names; every case asserts which
// of them it has and which it must not.
var issueCodes = []string{
	"summary.missing", "imaging.none", "imaging.not_dicom", "imaging.patient_mismatch", "imaging.incomplete_series",
	"report.missing", "report.scanned_ocr", "labs.missing", "labs.stale", "labs.cbc_missing", "labs.bmp_missing",
	"labs.coag_missing", "labs.hba1c_missing", "labs.ekg_missing", "labs.chest_xray_missing", "meds.missing",
	"meds.anticoagulant", "meds.dose_missing", "id.missing", "id.name_mismatch", "portal.export_dump",
	"input.empty", "input.unreadable", "input.encrypted", "input.unknown_type",
}

var refDate = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func pdfOf(d document) func() ([]byte, error) { return func() ([]byte, error) { return textPDF(d) } }

func bytesOf(b []byte) func() ([]byte, error) { return func() ([]byte, error) { return b, nil } }

// dicomUploads writes a series as files of an imaging CD.
func dicomUploads(dir string, s seriesSpec, first int) []upload {
	var out []upload
	files := func() ([][]byte, error) { return writeSeries(s) }
	for i := 0; i < s.instances; i++ {
		out = append(out, upload{
			path: fmt.Sprintf("%s/IM%06d", dir, first+i),
			make: func() ([]byte, error) {
				fs, err := files()
				if err != nil {
					return nil, err
				}
				return fs[i], nil
			},
		})
	}
	return out
}

func passportUpload(p patient, given string, number string) upload {
	return upload{path: "passport.jpg", make: func() ([]byte, error) {
		return passportJPEG(passportSpec{
			surname: p.family, given: given, birth: p.birth, expiry: day(2032, 5, 1), issued: day(2022, 5, 2),
			number: number, sex: p.sex, country: "USA", place: "Illinois, U.S.A.",
		}, uint64(p.birth.Unix()))
	}}
}

func inputFor(p patient, s *caseSummary) caseInput {
	return caseInput{
		Patient:       casePatient{FamilyName: p.family, GivenName: p.given, BirthDate: p.birth.Format(time.DateOnly), Sex: p.sex},
		Summary:       s,
		ReferenceDate: refDate.Format(time.DateOnly),
	}
}

func standardMeds() []med {
	return []med{
		{"lisinopril (ZESTRIL) 10 mg tablet", "Take 1 tablet (10 mg total) by mouth daily. Started 03/2021.", ""},
		{"atorvastatin (LIPITOR) 20 mg tablet", "Take 1 tablet (20 mg total) by mouth nightly. Started 2019.", ""},
		{"acetaminophen (TYLENOL) 500 mg tablet", "Take 2 tablets (1,000 mg total) by mouth every 8 hours as needed for pain.", ""},
		{"cholecalciferol (VITAMIN D3) 1,000 unit tablet", "Take 1 tablet by mouth daily.", ""},
	}
}

// hipMRI is a right or left hip MRI exam and its series.
func hipMRI(p patient, side string, date time.Time, name string) (exam, seriesSpec) {
	e := exam{
		title: "MRI " + upper(side) + " HIP WITHOUT CONTRAST", date: date,
		history:    side + " hip pain for 2 years, worse with walking. Evaluate for osteoarthritis.",
		technique:  "Multiplanar, multisequence MR imaging of the " + side + " hip was performed without intravenous contrast.",
		comparison: "Radiographs of the pelvis dated 03/02/2026.",
		findings: []string{
			"Severe joint space narrowing of the " + side + " hip with subchondral cystic change and marrow edema in the femoral head and acetabulum.",
			"Small joint effusion. The labrum is degenerated. No fracture. No avascular necrosis.",
		},
		impression:  []string{"Severe osteoarthritis of the " + side + " hip with subchondral edema.", "No fracture."},
		institution: "Northside Imaging Associates", radiologist: "Maria Chen, MD",
	}
	lat := "R"
	if side == "left" {
		lat = "L"
	}
	s := seriesSpec{
		patientName: name, patientID: p.mrn, birth: p.birth, sex: p.sex, studyKey: p.mrn + "hip" + date.String(),
		studyDate: date, studyDesc: "MRI HIP " + upper(side) + " WO CONTRAST", accession: fmt.Sprintf("A%07d", date.YearDay()*1301),
		institution: "NORTHSIDE IMAGING", modality: "MR", sopClass: sopMR, bodyPart: "HIP", laterality: lat,
		seriesNo: 3, seriesDesc: "COR T2 FS", instances: 5, size: 32,
	}
	return e, s
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

func kneeMRI(p patient, side string, date time.Time, name string) (exam, seriesSpec) {
	e, s := hipMRI(p, side, date, name)
	e.title = "MRI " + upper(side) + " KNEE WITHOUT CONTRAST"
	e.history = side + " knee pain and stiffness, evaluate for osteoarthritis."
	e.technique = "Multiplanar, multisequence MR imaging of the " + side + " knee without contrast."
	e.findings = []string{"Advanced tricompartmental osteoarthritis, most severe in the medial compartment, with full-thickness cartilage loss and osteophytes.",
		"Complex degenerative tear of the medial meniscus. Moderate joint effusion."}
	e.impression = []string{"Advanced osteoarthritis of the " + side + " knee, medial predominant.", "Degenerative medial meniscal tear."}
	s.studyKey = p.mrn + "knee" + date.String()
	s.studyDesc = "MRI KNEE " + upper(side) + " WO CONTRAST"
	s.bodyPart = "KNEE"
	s.seriesDesc = "SAG PD FS"
	return e, s
}

// complete returns the uploads of a case that has every part: DICOM and
// its report, recent labs (CBC, CMP, PT/INR), an EKG when needed, the
// medication list and the passport.
func complete(p patient, ex exam, se seriesSpec, ekg bool) []upload {
	files := dicomUploads("Imaging CD/DICOM", se, 1)
	files = append(files,
		upload{path: "Imaging report.pdf", make: pdfOf(radiologyReport(p, ex, ""))},
		upload{path: "Labs/Quest results Oct 2026.pdf", make: pdfOf(questReport(p, day(2026, 10, 6), "cbc", "cmp"))},
		upload{path: "Labs/PT INR.pdf", make: pdfOf(labcorpReport(p, day(2026, 10, 6), false))},
		upload{path: "Medication list.pdf", make: pdfOf(medicationList(p, day(2026, 10, 20), standardMeds()))},
		passportUpload(p, givenAll(p), "5"+p.mrn),
	)
	if ekg {
		files = append(files, upload{path: "Labs/EKG Oct 2026.pdf", make: pdfOf(ekgReport(p, day(2026, 10, 8)))})
	}
	return files
}

func givenAll(p patient) string {
	if p.middle != "" {
		return p.given + " " + p.middle
	}
	return p.given
}

func replace(files []upload, path string, u upload) []upload {
	for i, f := range files {
		if f.path == path {
			files[i] = u
			return files
		}
	}
	return append(files, u)
}

func remove(files []upload, pred func(string) bool) []upload {
	var out []upload
	for _, f := range files {
		if !pred(f.path) {
			out = append(out, f)
		}
	}
	return out
}

func hipSummary(age int) *caseSummary {
	return &caseSummary{
		Age: age, Height: "5 ft 6 in", Weight: "158 lb", Allergies: "Penicillin (hives)",
		Procedure:        "Total right hip replacement (right total hip arthroplasty)",
		SymptomHistory:   "Right groin and hip pain since early 2024, now limits walking to two blocks; night pain since spring 2026.",
		USRecommendation: "Right total hip arthroplasty, recommended by an orthopedic surgeon in September 2026.",
		QuotedCost:       "$52,000 (self-pay)",
		ReasonAbroad:     "Cost: insurance denied coverage and the self-pay price is out of reach.",
	}
}

// cases are the example cases; corpus is the C-CDA corpus the portal
// case's export is made from (in testdata/corpus, beside testdata/tables,
// where the medication table case's list comes from).
func cases(corpus string) []caseSpec {
	var out []caseSpec

	// 1. Complete.
	{
		p := patient{family: "Whitfield", given: "Margaret", middle: "Ellen", birth: day(1962, 5, 9), sex: "F", mrn: "00481723"}
		ex, se := hipMRI(p, "right", day(2026, 9, 15), p.dicomName())
		files := complete(p, ex, se, true)
		files = append(files, upload{path: "Knee arthroscopy 2019.pdf", make: pdfOf(opNote(p, surgery{
			date: day(2019, 6, 11), pre: "Left knee medial meniscus tear.", post: "Same.",
			procedure: "Left knee arthroscopy with partial medial meniscectomy.", surgeon: "David Park, MD", anesthesia: "General",
			hospital: "Riverside Surgical Center",
			description: []string{"The patient was brought to the operating room and placed supine. After general anesthesia, the left knee was prepped and draped.",
				"Standard arthroscopic portals were made. A complex tear of the posterior horn of the medial meniscus was debrided to a stable rim. The wounds were closed."},
		}))})
		s := hipSummary(p.age(refDate))
		s.Conditions.PriorSurgeries = []string{"Left knee arthroscopy, June 2019"}
		out = append(out, caseSpec{name: "complete", about: "every part present and recent: no error-level finding",
			input: inputFor(p, s), files: files, codes: nil})
	}

	// 2. Imaging only as JPEG screenshots.
	{
		p := patient{family: "Okafor", given: "Daniel", birth: day(1979, 8, 21), sex: "M", mrn: "00772150"}
		ex := exam{title: "MRI LUMBAR SPINE WITHOUT CONTRAST", date: day(2026, 9, 2),
			history: "Low back pain radiating to the left leg for 8 months.", technique: "Sagittal and axial T1 and T2 weighted images of the lumbar spine.",
			comparison: "None.", findings: []string{"At L4-L5 there is a left paracentral disc extrusion compressing the traversing left L5 nerve root.", "Mild facet arthropathy at L5-S1."},
			impression: []string{"Left paracentral disc extrusion at L4-L5 with compression of the left L5 nerve root."}, institution: "Lakeview Radiology Group", radiologist: "Anita Patel, MD"}
		_, se := hipMRI(p, "left", ex.date, p.dicomName())
		files := complete(p, ex, se, false)
		files = remove(files, func(path string) bool { return len(path) > 10 && path[:10] == "Imaging CD" })
		overlay := []string{"NORTHSIDE IMAGING", "MRI L-SPINE WO", "SE: 4", "SAG T2", "DANIEL OKAFOR", "Ex: 09/02/2026", "FOV 28 cm", "THK 4 mm"}
		for i, name := range []string{"MRI pictures/IMG_2041.jpg", "MRI pictures/IMG_2042.jpg"} {
			files = append(files, upload{path: name, make: func() ([]byte, error) { return screenshot(overlay, i, 77, false) }})
		}
		files = append(files, upload{path: "MRI pictures/Screenshot 2026-09-03.png", make: func() ([]byte, error) { return screenshot(overlay, 5, 78, true) }})
		s := &caseSummary{Age: p.age(refDate), Height: "6 ft 0 in", Weight: "196 lb", Allergies: "None known",
			Procedure: "L4-L5 microdiscectomy (left)", SymptomHistory: "Low back pain since January 2026, left leg pain and numbness since March 2026.",
			USRecommendation: "Microdiscectomy, quoted $38,000", QuotedCost: "$38,000", ReasonAbroad: "High deductible; cost."}
		out = append(out, caseSpec{name: "jpeg_screenshots", about: "the MRI only as JPEG and PNG screenshots",
			input: inputFor(p, s), files: files, codes: []string{"imaging.not_dicom"}})
	}

	// 3. Labs eight months old.
	{
		p := patient{family: "Castellano", given: "Linda", middle: "Marie", birth: day(1970, 1, 30), sex: "F", mrn: "00339018"}
		ex, se := kneeMRI(p, "left", day(2026, 8, 20), p.dicomName())
		files := complete(p, ex, se, true)
		old := day(2026, 3, 5)
		files = replace(files, "Labs/Quest results Oct 2026.pdf", upload{path: "Labs/Quest results Oct 2026.pdf", make: pdfOf(questReport(p, old, "cbc", "cmp"))})
		files = replace(files, "Labs/PT INR.pdf", upload{path: "Labs/PT INR.pdf", make: pdfOf(labcorpReport(p, old, false))})
		s := hipSummary(p.age(refDate))
		s.Procedure = "Total left knee replacement"
		s.SymptomHistory = "Left knee pain for 5 years, worse over the last year; failed injections and physical therapy."
		s.USRecommendation = "Total knee arthroplasty"
		out = append(out, caseSpec{name: "stale_labs", about: "labs collected eight months before the reference date",
			input: inputFor(p, s), files: files, codes: []string{"labs.stale"}})
	}

	// 4. Apixaban and fish oil; the summary is an uploaded document.
	{
		p := patient{family: "Harrington", given: "Robert", middle: "James", birth: day(1955, 11, 3), sex: "M", mrn: "00615544"}
		ex, se := hipMRI(p, "left", day(2026, 9, 28), p.dicomName())
		files := complete(p, ex, se, true)
		meds := []med{
			{"apixaban (ELIQUIS) 5 mg tablet", "Take 1 tablet (5 mg total) by mouth 2 (two) times daily. Started 06/2023.", ""},
			{"metoprolol succinate (TOPROL XL) 25 mg 24 hr tablet", "Take 1 tablet (25 mg total) by mouth daily.", ""},
			{"atorvastatin (LIPITOR) 40 mg tablet", "Take 1 tablet (40 mg total) by mouth nightly.", ""},
			{"omega-3 fatty acids (FISH OIL) 1,000 mg capsule", "Take 1 capsule (1,000 mg total) by mouth daily.", ""},
		}
		files = replace(files, "Medication list.pdf", upload{path: "Medication list.pdf", make: pdfOf(medicationList(p, day(2026, 10, 20), meds))})
		files = append(files, upload{path: "My case summary.pdf", make: pdfOf(summaryDoc(p, day(2026, 10, 25), [][2]string{
			{"Age", "70"}, {"Height", "5 ft 11 in"}, {"Weight", "201 lb"}, {"Allergies", "Sulfa drugs (rash)"},
			{"Procedure sought", "Total left hip replacement"},
			{"Symptom history", "Left hip pain since 2023, progressive; now uses a cane."},
			{"US recommendation", "Total hip arthroplasty after cardiology clearance; quoted cost $61,000"},
			{"Reason for going abroad", "Wait time of 7 months and cost."},
			{"Complicating conditions", "Atrial fibrillation on apixaban (Eliquis); high cholesterol."},
			{"Current medications", "Eliquis 5 mg twice daily; metoprolol 25 mg daily; atorvastatin 40 mg nightly; fish oil 1,000 mg daily"},
			{"Prior surgeries", "None"},
		}))})
		in := inputFor(p, nil)
		out = append(out, caseSpec{name: "anticoagulant", about: "apixaban and fish oil on the medication list; summary uploaded as a document",
			input: in, files: files, codes: []string{"meds.anticoagulant"}})
	}

	// 5. A scanned radiology report.
	{
		p := patient{family: "Kowalski", given: "Susan", birth: day(1968, 4, 17), sex: "F", mrn: "00904412"}
		ex, se := hipMRI(p, "left", day(2026, 9, 9), p.dicomName())
		ex.title = "MRI LEFT SHOULDER WITHOUT CONTRAST"
		ex.history = "Left shoulder pain and weakness after a fall."
		ex.technique = "Multiplanar MR imaging of the left shoulder without contrast."
		ex.findings = []string{"Full-thickness tear of the supraspinatus tendon with 1.5 cm retraction.", "Mild acromioclavicular joint arthrosis."}
		ex.impression = []string{"Full-thickness supraspinatus tear with retraction."}
		se.studyKey, se.studyDesc, se.bodyPart = p.mrn+"shoulder", "MRI SHOULDER LEFT WO", "SHOULDER"
		files := complete(p, ex, se, true)
		d := radiologyReport(p, ex, "")
		files = replace(files, "Imaging report.pdf", upload{path: "Imaging report (scan).pdf", make: func() ([]byte, error) { return scannedPDF(d, 5) }})
		files = remove(files, func(path string) bool { return path == "Imaging report.pdf" })
		s := hipSummary(p.age(refDate))
		s.Procedure = "Arthroscopic left rotator cuff repair"
		s.SymptomHistory = "Left shoulder pain since a fall in June 2026; cannot lift the arm above the shoulder."
		s.USRecommendation = "Rotator cuff repair"
		out = append(out, caseSpec{name: "scanned_report", about: "the radiology report is a scan with no text layer",
			input: inputFor(p, s), files: files, codes: []string{"report.scanned_ocr"}})
	}

	// 6. The name differs between the passport and the DICOM files.
	{
		p := patient{family: "Morrison", given: "Catherine", middle: "Anne", birth: day(1975, 7, 2), sex: "F", mrn: "00128840"}
		ex, se := hipMRI(p, "right", day(2026, 9, 21), "MORRISON^KATHERINE^ANNE")
		files := complete(p, ex, se, true)
		files = replace(files, "Imaging report.pdf", upload{path: "Imaging report.pdf", make: pdfOf(radiologyReport(p, ex, "MORRISON, KATHERINE A"))})
		out = append(out, caseSpec{name: "name_mismatch", about: "the imaging center spelled the first name Katherine; the passport says Catherine",
			input: inputFor(p, hipSummary(p.age(refDate))), files: files, codes: []string{"id.name_mismatch", "imaging.patient_mismatch"}})
	}

	// 7. A 120-page portal export alone.
	{
		p := patient{family: "Reyes", given: "Thomas", birth: day(1981, 2, 14), sex: "M", mrn: "00560032"}
		files := []upload{{path: "MyChart_full_record_export.pdf", make: pdfOf(portalExport(p, refDate, 120))}}
		in := inputFor(p, nil)
		out = append(out, caseSpec{name: "portal_export", about: "a 120-page MyChart export and nothing else; aspirin is buried in it",
			input: in, files: files,
			codes: []string{"id.missing", "imaging.none", "labs.missing", "meds.anticoagulant", "meds.missing", "portal.export_dump", "summary.missing"}})
	}

	// 8. A series of another patient on the CD.
	{
		p := patient{family: "Nguyen", given: "Patricia", birth: day(1966, 9, 25), sex: "F", mrn: "00247781"}
		ex, se := kneeMRI(p, "right", day(2026, 9, 30), p.dicomName())
		files := complete(p, ex, se, true)
		other := seriesSpec{patientName: "HOLLOWAY^GEORGE", patientID: "00918273", birth: day(1949, 3, 2), sex: "M",
			studyKey: "holloway-ct-chest", studyDate: day(2026, 9, 30), studyDesc: "CT CHEST WO CONTRAST", accession: "A0099120",
			institution: "NORTHSIDE IMAGING", modality: "CT", sopClass: sopCT, bodyPart: "CHEST", seriesNo: 2, seriesDesc: "AXIAL 2.5MM",
			instances: 4, size: 32}
		files = append(files, dicomUploads("Imaging CD/DICOM", other, 101)...)
		s := hipSummary(p.age(refDate))
		s.Procedure = "Total right knee replacement"
		out = append(out, caseSpec{name: "other_patient_series", about: "the imaging CD also holds another patient's CT",
			input: inputFor(p, s), files: files, codes: []string{"imaging.patient_mismatch"}})
	}

	// 9. 67 years old with heart disease and no EKG.
	{
		p := patient{family: "Lindqvist", given: "Howard", birth: day(1959, 6, 11), sex: "M", mrn: "00883301"}
		ex, se := kneeMRI(p, "left", day(2026, 9, 12), p.dicomName())
		files := complete(p, ex, se, false)
		meds := []med{
			{"metoprolol tartrate (LOPRESSOR) 25 mg tablet", "Take 1 tablet (25 mg total) by mouth 2 (two) times daily.", ""},
			{"atorvastatin (LIPITOR) 80 mg tablet", "Take 1 tablet (80 mg total) by mouth nightly.", ""},
			{"lisinopril (ZESTRIL) 10 mg tablet", "Take 1 tablet (10 mg total) by mouth daily.", ""},
			{"nitroglycerin (NITROSTAT) 0.4 mg SL tablet", "Place 1 tablet (0.4 mg total) under the tongue every 5 minutes as needed for chest pain.", ""},
		}
		files = replace(files, "Medication list.pdf", upload{path: "Medication list.pdf", make: pdfOf(medicationList(p, day(2026, 10, 20), meds))})
		s := hipSummary(67)
		s.Procedure = "Total left knee replacement"
		s.Conditions = caseConditions{HeartDisease: true, Other: "Coronary artery disease; coronary stent in 2021"}
		out = append(out, caseSpec{name: "cardiac_no_ekg", about: "67 years old with coronary artery disease and no EKG",
			input: inputFor(p, s), files: files, codes: []string{"labs.ekg_missing"}})
	}

	// 10. Diabetic with no HbA1c.
	{
		p := patient{family: "Rahman", given: "Aisha", birth: day(1984, 12, 3), sex: "F", mrn: "00410958"}
		ex, se := hipMRI(p, "right", day(2026, 9, 18), p.dicomName())
		files := complete(p, ex, se, false)
		meds := []med{
			{"metformin (GLUCOPHAGE) 1,000 mg tablet", "Take 1 tablet (1,000 mg total) by mouth 2 (two) times daily with meals. Started 2022.", ""},
			{"lisinopril (ZESTRIL) 5 mg tablet", "Take 1 tablet (5 mg total) by mouth daily.", ""},
		}
		files = replace(files, "Medication list.pdf", upload{path: "Medication list.pdf", make: pdfOf(medicationList(p, day(2026, 10, 20), meds))})
		s := hipSummary(p.age(refDate))
		s.Conditions = caseConditions{Diabetes: true, Other: "Type 2 diabetes since 2022"}
		out = append(out, caseSpec{name: "diabetic_no_hba1c", about: "type 2 diabetes and no HbA1c among the labs",
			input: inputFor(p, s), files: files, codes: []string{"labs.hba1c_missing"}})
	}

	// 11. Broken files next to a complete case.
	{
		p := patient{family: "Marsh", given: "Kevin", birth: day(1990, 3, 8), sex: "M", mrn: "00713390"}
		ex, se := hipMRI(p, "right", day(2026, 9, 24), p.dicomName())
		files := complete(p, ex, se, false)
		corrupt := append([]byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), []byte("1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n\x00\x13\x8a garbage that is not a PDF body \xff\xfe")...)
		files = append(files,
			upload{path: "old scan.pdf", make: bytesOf(nil)},
			upload{path: "Lab results (damaged).pdf", make: bytesOf(corrupt)},
			upload{path: "Letter from Dr Lee.docx", make: wordDocument},
			upload{path: "Discharge papers (locked).pdf", make: func() ([]byte, error) {
				return encryptedPDF(document{pages: []string{"# Discharge Summary\nPatient was discharged home in stable condition."}})
			}},
		)
		out = append(out, caseSpec{name: "broken_files", about: "an empty file, a damaged PDF, a password-protected PDF and a Word document next to a complete case",
			input: inputFor(p, hipSummary(p.age(refDate))), files: files,
			codes: []string{"input.empty", "input.encrypted", "input.unknown_type", "input.unreadable"}})
	}

	// 12. An incomplete series and no radiology report.
	{
		p := patient{family: "Brandt", given: "Oliver", birth: day(1983, 5, 27), sex: "M", mrn: "00655120"}
		ex, se := kneeMRI(p, "right", day(2026, 10, 1), p.dicomName())
		se.instances = 8
		files := complete(p, ex, se, false)
		files = remove(files, func(path string) bool { return strings.HasPrefix(path, "Imaging CD/") || path == "Imaging report.pdf" })
		// The CD copy lost three of the series' eight images.
		for _, u := range dicomUploads("Imaging CD/DICOM", se, 1) {
			switch u.path {
			case "Imaging CD/DICOM/IM000004", "Imaging CD/DICOM/IM000005", "Imaging CD/DICOM/IM000007":
				continue
			}
			files = append(files, u)
		}
		s := hipSummary(p.age(refDate))
		s.Procedure = "Right knee ACL reconstruction"
		out = append(out, caseSpec{name: "incomplete_series", about: "three of a series' eight images missing, and no radiology report",
			input: inputFor(p, s), files: files, codes: []string{"imaging.incomplete_series", "report.missing"}})
	}

	// 13. The only lab result is an HbA1c.
	{
		p := patient{family: "Okonkwo", given: "Grace", birth: day(1980, 10, 14), sex: "F", mrn: "00377462"}
		ex, se := hipMRI(p, "left", day(2026, 9, 3), p.dicomName())
		files := complete(p, ex, se, false)
		files = remove(files, func(path string) bool { return strings.HasPrefix(path, "Labs/") })
		files = append(files, upload{path: "Labs/HbA1c Quest.pdf", make: pdfOf(questReport(p, day(2026, 10, 9), "a1c"))})
		s := hipSummary(p.age(refDate))
		s.Procedure = "Total left hip replacement"
		s.Conditions = caseConditions{Prediabetes: true}
		out = append(out, caseSpec{name: "labs_partial", about: "an HbA1c is the only lab result: no CBC, metabolic panel or PT/INR",
			input: inputFor(p, s), files: files, codes: []string{"labs.bmp_missing", "labs.cbc_missing", "labs.coag_missing"}})
	}

	// 14. COPD without a chest X-ray; an inhaler typed with no dose.
	{
		p := patient{family: "Delgado", given: "Marcus", birth: day(1978, 1, 19), sex: "M", mrn: "00840219"}
		ex, se := hipMRI(p, "right", day(2026, 9, 26), p.dicomName())
		files := complete(p, ex, se, false)
		s := hipSummary(p.age(refDate))
		s.Conditions = caseConditions{Respiratory: true, Other: "COPD, former smoker"}
		s.Medications = []string{"albuterol inhaler as needed"}
		out = append(out, caseSpec{name: "copd_no_xray", about: "COPD and no chest X-ray; the inhaler has no dose",
			input: inputFor(p, s), files: files, codes: []string{"labs.chest_xray_missing", "meds.dose_missing"}})
	}
	// 15. A portal's XDM export (a C-CDA) is the only record besides the
	// passport and the imaging: its medications, results and problems
	// drive the checklist.
	{
		p := patient{family: "Brennan", given: "Walter", birth: day(1957, 2, 19), sex: "M", mrn: "00593317"}
		ex, se := kneeMRI(p, "right", day(2026, 9, 22), p.dicomName())
		files := dicomUploads("Imaging CD/DICOM", se, 1)
		files = append(files,
			upload{path: "Imaging report.pdf", make: pdfOf(radiologyReport(p, ex, ""))},
			upload{path: "MyHealthRecord_export.zip", make: func() ([]byte, error) {
				doc, err := portalCCDA(corpus, p, day(2026, 10, 6))
				if err != nil {
					return nil, err
				}
				return xdmZip(doc, p, time.Date(2026, 10, 14, 9, 30, 0, 0, time.UTC))
			}},
			passportUpload(p, p.given, "5"+p.mrn),
		)
		s := hipSummary(p.age(refDate))
		s.Procedure = "Total right knee replacement"
		s.SymptomHistory = "Right knee pain for 4 years, now at rest and at night; failed injections."
		s.USRecommendation = "Total knee arthroplasty"
		s.Allergies = "Codeine (nausea), penicillin (hives)"
		out = append(out, caseSpec{name: "portal_ccda", about: "a portal's C-CDA export (IHE XDM ZIP) is the only record besides the passport and the imaging: aspirin, type 2 diabetes and angina from its coded entries, a basic metabolic panel from its results",
			input: inputFor(p, s), files: files,
			codes: []string{"labs.cbc_missing", "labs.coag_missing", "labs.ekg_missing", "labs.hba1c_missing", "meds.anticoagulant"}})
	}
	// 16. The medication list is a table the patient made in a word
	// processor (testdata/tables/meds-word.pdf, LibreOffice Writer): its
	// columns, with cells wrapped onto a second line, give every drug its
	// dose.
	{
		p := patient{family: "Doe", given: "Mary", middle: "Ellen", birth: day(1961, 3, 14), sex: "F", mrn: "00617220"}
		ex, se := hipMRI(p, "left", day(2026, 9, 29), p.dicomName())
		files := replace(complete(p, ex, se, true), "Medication list.pdf", upload{path: "My medicine record.pdf", make: func() ([]byte, error) {
			return os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(corpus)), "tables", "meds-word.pdf"))
		}})
		s := hipSummary(p.age(refDate))
		s.Procedure = "Total left hip replacement"
		out = append(out, caseSpec{name: "medication_table", about: "the medication list is a table the patient made in a word processor, cells wrapped onto a second line: every drug has its dose, and apixaban is flagged",
			input: inputFor(p, s), files: files, codes: []string{"meds.anticoagulant"}})
	}
	return out
}
