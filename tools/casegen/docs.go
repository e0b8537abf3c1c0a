package main

import (
	"fmt"
	"strings"
	"time"
)

// patient is a fictional patient of an example case.
type patient struct {
	family, given, middle string
	birth                 time.Time
	sex                   string // F or M
	mrn                   string
}

func (p patient) lastFirst() string {
	s := strings.ToUpper(p.family + ", " + p.given)
	if p.middle != "" {
		s += " " + strings.ToUpper(p.middle[:1])
	}
	return s
}

func (p patient) full() string {
	if p.middle != "" {
		return p.given + " " + p.middle[:1] + ". " + p.family
	}
	return p.given + " " + p.family
}

func (p patient) dicomName() string {
	s := strings.ToUpper(p.family + "^" + p.given)
	if p.middle != "" {
		s += "^" + strings.ToUpper(p.middle)
	}
	return s
}

func (p patient) dob() string { return p.birth.Format("01/02/2006") }

func (p patient) age(at time.Time) int {
	a := at.Year() - p.birth.Year()
	if at.YearDay() < p.birth.YearDay() {
		a--
	}
	return a
}

func (p patient) sexWord() string {
	if p.sex == "F" {
		return "Female"
	}
	return "Male"
}

func us(t time.Time) string { return t.Format("01/02/2006") }

// labRow is one result line: name, value, flag, reference range.
type labRow struct{ name, value, flag, ref string }

var (
	cbcRows = []labRow{
		{"WHITE BLOOD CELL COUNT", "6.4", "", "3.8-10.8 Thousand/uL"},
		{"RED BLOOD CELL COUNT", "4.62", "", "3.80-5.10 Million/uL"},
		{"HEMOGLOBIN", "13.9", "", "11.7-15.5 g/dL"},
		{"HEMATOCRIT", "41.8", "", "35.0-45.0 %"},
		{"MCV", "90.5", "", "80.0-100.0 fL"},
		{"MCH", "30.1", "", "27.0-33.0 pg"},
		{"MCHC", "33.3", "", "32.0-36.0 g/dL"},
		{"RDW", "12.9", "", "11.0-15.0 %"},
		{"PLATELET COUNT", "251", "", "140-400 Thousand/uL"},
	}
	bmpRows = []labRow{
		{"GLUCOSE", "94", "", "65-99 mg/dL"},
		{"UREA NITROGEN (BUN)", "16", "", "7-25 mg/dL"},
		{"CREATININE", "0.86", "", "0.50-1.05 mg/dL"},
		{"EGFR", "79", "", "> OR = 60 mL/min/1.73m2"},
		{"SODIUM", "139", "", "135-146 mmol/L"},
		{"POTASSIUM", "4.4", "", "3.5-5.3 mmol/L"},
		{"CHLORIDE", "103", "", "98-110 mmol/L"},
		{"CARBON DIOXIDE", "25", "", "20-32 mmol/L"},
		{"CALCIUM", "9.5", "", "8.6-10.4 mg/dL"},
	}
	cmpExtra = []labRow{
		{"PROTEIN, TOTAL", "7.0", "", "6.1-8.1 g/dL"},
		{"ALBUMIN", "4.3", "", "3.6-5.1 g/dL"},
		{"BILIRUBIN, TOTAL", "0.6", "", "0.2-1.2 mg/dL"},
		{"ALKALINE PHOSPHATASE", "74", "", "37-153 U/L"},
		{"AST", "22", "", "10-35 U/L"},
		{"ALT", "18", "", "6-29 U/L"},
	}
)

// questReport is a Quest Diagnostics style report (monospace printout).
// panels: "cbc", "bmp", "cmp", "a1c".
func questReport(p patient, collected time.Time, panels ...string) document {
	var b strings.Builder
	fmt.Fprintf(&b, "! Quest Diagnostics Incorporated                        Report Status: Final\n")
	fmt.Fprintf(&b, "---\n")
	fmt.Fprintf(&b, "! Patient Information              Specimen Information       Client Information\n")
	fmt.Fprintf(&b, "! %-32s Specimen: WX%06d%s       Client #: 87120455\n", p.lastFirst(), collected.YearDay()*37%999999, "A")
	fmt.Fprintf(&b, "! DOB: %s   AGE: %-3d          Requisition: 0%07d     LEE, ROBERT MD\n", p.dob(), p.age(collected), collected.YearDay()*91)
	fmt.Fprintf(&b, "! Gender: %s         Fasting: Y       Collected: %s / 08:12 EDT\n", p.sex, us(collected))
	fmt.Fprintf(&b, "! Patient ID: %-10s            Received:  %s / 13:40 EDT\n", p.mrn, us(collected))
	fmt.Fprintf(&b, "!                                  Reported:  %s / 06:05 EDT\n", us(collected.AddDate(0, 0, 1)))
	fmt.Fprintf(&b, "---\n")
	fmt.Fprintf(&b, "! Test Name                          In Range   Out Of Range   Reference Range\n")
	rows := func(title string, rs []labRow) {
		fmt.Fprintf(&b, "! %s\n", title)
		for _, r := range rs {
			in, out := r.value, ""
			if r.flag != "" {
				in, out = "", r.value+" "+r.flag
			}
			fmt.Fprintf(&b, "!   %-32s %-10s %-14s %s\n", r.name, in, out, r.ref)
		}
		b.WriteString("\n")
	}
	for _, pn := range panels {
		switch pn {
		case "cbc":
			rows("CBC (INCLUDES DIFF/PLT)", cbcRows)
		case "bmp":
			rows("BASIC METABOLIC PANEL", bmpRows)
		case "cmp":
			rows("COMPREHENSIVE METABOLIC PANEL", append(append([]labRow{}, bmpRows...), cmpExtra...))
		case "a1c":
			rows("HEMOGLOBIN A1c", []labRow{{"HEMOGLOBIN A1c", "7.1", "H", "<5.7 % of total Hgb"}})
		}
	}
	b.WriteString("! PERFORMING SITE:\n")
	b.WriteString("! QUEST DIAGNOSTICS-WOOD DALE, 1355 MITTEL BLVD, WOOD DALE, IL 60191   CLIA: 14D0417052\n")
	return document{pages: []string{b.String()}, mono: true, footer: "Page %d of %d"}
}

// labcorpReport is a LabCorp style report of coagulation (and HbA1c).
func labcorpReport(p patient, collected time.Time, withA1c bool) document {
	var b strings.Builder
	fmt.Fprintf(&b, "# LabCorp\n")
	fmt.Fprintf(&b, "Patient Report\n")
	fmt.Fprintf(&b, "! Patient Details            Specimen Details                      Physician Details\n")
	fmt.Fprintf(&b, "! %-26s Date collected: %s 0915 Local       Ordering: R LEE\n", p.family+", "+p.given, us(collected))
	fmt.Fprintf(&b, "! DOB: %-21s Date received: %s                  NPI: 1457382910\n", p.dob(), us(collected))
	fmt.Fprintf(&b, "! Age(y/m/d): %03d/%02d/%02d       Date entered: %s\n", p.age(collected), 2, 11, us(collected))
	fmt.Fprintf(&b, "! Gender: %-19s Date reported: %s 1022 ET\n", p.sex, us(collected.AddDate(0, 0, 1)))
	fmt.Fprintf(&b, "! Patient ID: %s\n", p.mrn)
	b.WriteString("\n")
	ordered := "Prothrombin Time (PT); aPTT"
	if withA1c {
		ordered += "; Hemoglobin A1c"
	}
	fmt.Fprintf(&b, "Ordered Items: %s\n", ordered)
	b.WriteString("! TESTS                        RESULT    FLAG    UNITS    REFERENCE INTERVAL   LAB\n")
	b.WriteString("! Prothrombin Time (PT)\n")
	b.WriteString("!   Prothrombin Time           11.4              sec      9.1-12.0             01\n")
	b.WriteString("!   INR                        1.0                        0.9-1.2              01\n")
	b.WriteString("! aPTT                         30                sec      24-33                01\n")
	if withA1c {
		b.WriteString("! Hemoglobin A1c\n")
		b.WriteString("!   Hemoglobin A1c             7.2       High    %        4.8-5.6              01\n")
	}
	b.WriteString("\n")
	b.WriteString("01  BN  Labcorp Burlington, 1447 York Court, Burlington, NC 27215-3361   Dir: Sanjai Nagendra, MD\n")
	return document{pages: []string{b.String()}, footer: "Date Issued: " + us(collected.AddDate(0, 0, 1)) + "    Page %d of %d"}
}

// exam describes a radiology exam and its report.
type exam struct {
	title       string // "MRI RIGHT HIP WITHOUT CONTRAST"
	date        time.Time
	history     string
	technique   string
	comparison  string
	findings    []string
	impression  []string
	institution string
	radiologist string
}

func radiologyReport(p patient, e exam, printedName string) document {
	if printedName == "" {
		printedName = p.lastFirst()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", e.institution)
	b.WriteString("## RADIOLOGY REPORT\n---\n")
	fmt.Fprintf(&b, "! Patient Name: %-28s DOB: %s    MRN: %s\n", printedName, p.dob(), p.mrn)
	fmt.Fprintf(&b, "! Exam Date: %s 10:42             Accession: A%07d\n", us(e.date), e.date.YearDay()*1301)
	b.WriteString("! Referring Physician: Robert Lee, MD\n---\n")
	fmt.Fprintf(&b, "EXAM: %s\n\n", e.title)
	fmt.Fprintf(&b, "CLINICAL HISTORY: %s\n\n", e.history)
	fmt.Fprintf(&b, "TECHNIQUE: %s\n\n", e.technique)
	fmt.Fprintf(&b, "COMPARISON: %s\n\n", e.comparison)
	b.WriteString("## FINDINGS:\n")
	for _, f := range e.findings {
		b.WriteString(f + "\n")
	}
	b.WriteString("\n## IMPRESSION:\n")
	for i, f := range e.impression {
		fmt.Fprintf(&b, "%d. %s\n", i+1, f)
	}
	fmt.Fprintf(&b, "\nElectronically signed by: %s on %s 4:10 PM\n", e.radiologist, us(e.date))
	return document{pages: []string{b.String()}, footer: "Page %d of %d"}
}

func chestXRay(p patient, date time.Time) document {
	return radiologyReport(p, exam{
		title: "XR CHEST 2 VIEWS (PA AND LATERAL)", date: date,
		history:    "Preoperative evaluation. Chronic cough.",
		technique:  "PA and lateral radiographs of the chest.",
		comparison: "None.",
		findings: []string{"The lungs are clear without focal consolidation. No pleural effusion or pneumothorax.",
			"Cardiomediastinal silhouette is within normal limits. Osseous structures are intact."},
		impression:  []string{"No acute cardiopulmonary process."},
		institution: "Lakeview Radiology Group", radiologist: "Anita Patel, MD",
	}, "")
}

func ekgReport(p patient, date time.Time) document {
	var b strings.Builder
	b.WriteString("# 12 Lead ECG Report\n")
	fmt.Fprintf(&b, "! Name: %-24s ID: %-10s Acquired: %s 09:12:33\n", p.lastFirst(), p.mrn, us(date))
	fmt.Fprintf(&b, "! DOB: %s  Age: %d yrs  %s     Room: OP    Loc: 12\n", p.dob(), p.age(date), p.sexWord())
	b.WriteString("---\n")
	b.WriteString("! Vent. rate        68 BPM\n")
	b.WriteString("! PR interval      162 ms\n")
	b.WriteString("! QRS duration      90 ms\n")
	b.WriteString("! QT/QTc       398/423 ms\n")
	b.WriteString("! P-R-T axes    41 18 35\n")
	b.WriteString("\nNormal sinus rhythm\nNormal ECG\nNo previous ECGs available\n\n")
	fmt.Fprintf(&b, "Confirmed by CHEN, DAVID (1042) on %s 3:20:11 PM\n", us(date))
	return document{pages: []string{b.String()}}
}

// surgery describes a prior operation.
type surgery struct {
	date                 time.Time
	pre, post, procedure string
	surgeon, anesthesia  string
	hospital             string
	description          []string
}

func opNote(p patient, s surgery) document {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n## OPERATIVE REPORT\n---\n", s.hospital)
	fmt.Fprintf(&b, "PATIENT NAME: %s\nDATE OF BIRTH: %s\nMRN: %s\nDATE OF SURGERY: %s\n\n", p.lastFirst(), p.dob(), p.mrn, us(s.date))
	fmt.Fprintf(&b, "PREOPERATIVE DIAGNOSIS: %s\n", s.pre)
	fmt.Fprintf(&b, "POSTOPERATIVE DIAGNOSIS: %s\n", s.post)
	fmt.Fprintf(&b, "PROCEDURE PERFORMED: %s\n", s.procedure)
	fmt.Fprintf(&b, "SURGEON: %s\nASSISTANT: None\nANESTHESIA: %s\n", s.surgeon, s.anesthesia)
	b.WriteString("ESTIMATED BLOOD LOSS: Minimal\nCOMPLICATIONS: None\nSPECIMENS: None\nDRAINS: None\n\n")
	b.WriteString("INDICATIONS FOR PROCEDURE: Persistent mechanical symptoms despite physical therapy. Risks, benefits and alternatives were discussed and consent was obtained.\n\n")
	b.WriteString("## DESCRIPTION OF PROCEDURE:\n")
	for _, d := range s.description {
		b.WriteString(d + "\n")
	}
	fmt.Fprintf(&b, "\nDictated by: %s  %s\n", s.surgeon, us(s.date))
	return document{pages: []string{b.String()}, footer: "Page %d of %d"}
}

// med is one line of an Epic style medication list.
type med struct{ name, sig, start string }

func medicationList(p patient, asOf time.Time, meds []med) document {
	var b strings.Builder
	b.WriteString("# Current Medications\n")
	fmt.Fprintf(&b, "As of %s\n", us(asOf))
	fmt.Fprintf(&b, "%s   DOB: %s\n---\n", p.full(), p.dob())
	for _, m := range meds {
		fmt.Fprintf(&b, "## %s\n", m.name)
		if m.sig != "" {
			b.WriteString(m.sig + "\n")
		}
		if m.start != "" {
			fmt.Fprintf(&b, "Started: %s\n", m.start)
		}
		b.WriteString("\n")
	}
	b.WriteString("---\n## Allergies\nPenicillins - Hives\n")
	return document{pages: []string{b.String()}, footer: "Printed from MyChart medication list - page %d of %d"}
}

// summaryDoc is a one-page case summary as a patient writes it.
func summaryDoc(p patient, ref time.Time, fields [][2]string) document {
	var b strings.Builder
	b.WriteString("# Case Summary\n")
	fmt.Fprintf(&b, "Name: %s\nDate of birth: %s\n", p.full(), p.birth.Format("January 2, 2006"))
	for _, f := range fields {
		fmt.Fprintf(&b, "%s: %s\n", f[0], f[1])
	}
	fmt.Fprintf(&b, "\nPrepared by the patient on %s.\n", ref.Format("January 2, 2006"))
	return document{pages: []string{b.String()}}
}

// portalExport is a long MyChart export: demographics, problem list,
// medications, immunizations, and a hundred pages of visit notes, messages
// and old results.
func portalExport(p patient, ref time.Time, pages int) document {
	var out []string
	head := fmt.Sprintf("! MyChart - Health Summary            Printed on %s 8:14 PM\n! %s   DOB: %s   MRN: %s\n---\n", us(ref.AddDate(0, 0, -9)), p.full(), p.dob(), p.mrn)
	out = append(out, head+`# Health Summary
Exported from MyChart patient portal (Epic). This document contains your complete record as of the print date.
## Demographics
Address: 1420 Maple Grove Ln, Aurora, IL 60504
Preferred language: English
Insurance: BlueCross BlueShield PPO
## Care Team
PCP: Robert Lee, MD - Internal Medicine
## Active Problems
Essential hypertension
Hyperlipidemia
Chronic low back pain
## Current Medications
lisinopril 10 mg tablet - Take 1 tablet by mouth daily
atorvastatin 20 mg tablet - Take 1 tablet by mouth nightly
aspirin 81 mg EC tablet - Take 1 tablet by mouth daily
## Immunizations
Influenza vaccine 10/2025; COVID-19 booster 11/2024; Tdap 2019
`)
	visits := []string{"Office Visit - Internal Medicine", "Telephone Encounter", "MyChart Message", "Office Visit - Orthopedics",
		"Emergency Department Visit", "Lab Results", "Patient Instructions", "Billing Statement"}
	for i := 1; i < pages; i++ {
		d := ref.AddDate(0, 0, -30*((pages-i)/2)-7*(i%3))
		v := visits[i%len(visits)]
		var b strings.Builder
		b.WriteString(head)
		fmt.Fprintf(&b, "## %s - %s\n", v, d.Format("Jan 2, 2006"))
		switch i % len(visits) {
		case 0, 3:
			b.WriteString("Chief Complaint: follow-up.\nHistory of Present Illness: Patient returns for routine follow-up of chronic conditions. Reports intermittent low back pain, worse with prolonged sitting. Denies fever, weight loss or bowel or bladder changes.\n")
			b.WriteString("Review of Systems: negative except as noted above.\nPhysical Exam: BP 132/84, HR 72. Alert and oriented. Lumbar paraspinal tenderness.\n")
			b.WriteString("Assessment and Plan: 1. Hypertension - continue current regimen. 2. Low back pain - continue home exercises, physical therapy referral renewed.\n")
		case 1:
			b.WriteString("Telephone call from patient regarding refill request. Refill sent to pharmacy on file. No other concerns.\n")
		case 2:
			b.WriteString("Message from patient: Is it normal to still have back pain after the physical therapy sessions? Response from care team: Please schedule a follow-up visit to discuss.\n")
		case 4:
			b.WriteString("ED Provider Note. Chief complaint: back pain after lifting. Exam without neurologic deficit. Discharged with instructions and ibuprofen as needed.\n")
		case 5:
			b.WriteString("Component    Value    Ref Range\nSodium    140    135 - 145 mmol/L\nPotassium    4.1    3.5 - 5.1 mmol/L\nGlucose    101    70 - 99 mg/dL\nResult status: Final\n")
		case 6:
			b.WriteString("Patient instructions: stay active, apply heat, take medications as prescribed, return if symptoms worsen.\n")
		case 7:
			b.WriteString("Statement date: " + us(d) + "\nThis is not a bill. Amount due from insurance adjustments: $0.00\nPatient responsibility: $35.00\n")
		}
		b.WriteString("\nThis section was automatically generated from the electronic health record for the patient portal.\n")
		out = append(out, b.String())
	}
	return document{pages: out, footer: "MyChart - page %d of %d"}
}
