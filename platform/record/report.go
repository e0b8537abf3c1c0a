package record

import "time"

// The seven parts of a handoff file, in bundle order.
const (
	PartSummary     = "summary"
	PartImaging     = "imaging"
	PartRadiology   = "radiology"
	PartLabs        = "labs"
	PartSurgical    = "surgical"
	PartMedications = "medications"
	PartID          = "id"
)

// Parts lists the seven parts in order.
var Parts = []string{PartSummary, PartImaging, PartRadiology, PartLabs, PartSurgical, PartMedications, PartID}

// Part statuses.
const (
	PartOK      = "ok"
	PartWarning = "warning"
	PartMissing = "missing"
)

// Finding severities. A report with no error-level finding may be bundled
// automatically.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
	SeverityInfo    = "info"
)

// Report is the handoff checklist of a case.
type Report struct {
	Version       int          `json:"version"`
	CaseID        string       `json:"case_id"`
	Generated     time.Time    `json:"generated"`
	ReferenceDate string       `json:"reference_date"` // YYYY-MM-DD
	Pending       int          `json:"pending"`        // files still being processed
	Parts         []PartStatus `json:"parts"`
	Findings      []Finding    `json:"findings"`
	// Digest identifies the report's content (parts and findings); equal
	// digests mean nothing changed.
	Digest string `json:"digest"`
	// Basis is the highest case-store revision of the files the report was
	// computed from, and CaseDigest the case fields it was computed from
	// (Case.FieldsDigest): a reader holding newer records knows the report
	// does not reflect them yet.
	Basis      uint64 `json:"basis,omitempty"`
	CaseDigest string `json:"case_digest,omitempty"`
	// Facts are the clinical facts read from the case's documents, one
	// entry per fact with the file it was read from, de-duplicated across
	// files.
	Facts *Facts `json:"facts,omitempty"`
}

// Facts are the clinical facts of a case, as the specialist reads them.
type Facts struct {
	Medications []MedicationFact `json:"medications"`
	Labs        []LabFact        `json:"labs"`
	Problems    []ProblemFact    `json:"problems"`
	Allergies   []AllergyFact    `json:"allergies"`
	Procedures  []ProcedureFact  `json:"procedures"`
	Vitals      []VitalFact      `json:"vitals"`
}

// MedicationFact is one current medication. File is the file ID it was
// read from ("" for the case fields).
type MedicationFact struct {
	Name          string `json:"name"`
	Generic       string `json:"generic,omitempty"`
	Dose          string `json:"dose,omitempty"`
	Frequency     string `json:"frequency,omitempty"`
	Duration      string `json:"duration,omitempty"` // how long taken, as written ("for 2 years")
	Route         string `json:"route,omitempty"`
	Start         string `json:"start,omitempty"`
	Status        string `json:"status,omitempty"`
	Class         string `json:"class,omitempty"` // Med* constant when it affects clotting
	Anticoagulant bool   `json:"anticoagulant"`   // a blood thinner, antiplatelet or clotting supplement: flagged
	File          string `json:"file"`
}

// LabFact is one lab result.
type LabFact struct {
	Name  string `json:"name"`
	LOINC string `json:"loinc,omitempty"`
	Panel string `json:"panel,omitempty"`
	Value string `json:"value"`
	Unit  string `json:"unit,omitempty"`
	Range string `json:"range,omitempty"`
	Flag  string `json:"flag,omitempty"`
	Date  string `json:"date,omitempty"`
	File  string `json:"file"`
}

// ProblemFact is one condition.
type ProblemFact struct {
	Name   string `json:"name"`
	Code   string `json:"code,omitempty"`
	System string `json:"system,omitempty"`
	Status string `json:"status,omitempty"`
	File   string `json:"file"`
}

// AllergyFact is one allergy.
type AllergyFact struct {
	Name     string `json:"name"`
	Reaction string `json:"reaction,omitempty"`
	File     string `json:"file"`
}

// ProcedureFact is one prior procedure.
type ProcedureFact struct {
	Name string `json:"name"`
	Date string `json:"date,omitempty"`
	File string `json:"file"`
}

// VitalFact is one vital sign.
type VitalFact struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Unit  string `json:"unit,omitempty"`
	Date  string `json:"date,omitempty"`
	File  string `json:"file"`
}

// Current reports whether r was computed from c and files as they are.
func (r *Report) Current(c Case, files []File) bool {
	if r == nil || r.CaseDigest != c.FieldsDigest() {
		return false
	}
	for _, f := range files {
		if f.Revision > r.Basis {
			return false
		}
	}
	return true
}

// PartStatus is the state of one of the seven parts.
type PartStatus struct {
	Part   string   `json:"part"`   // Part* constant
	Title  string   `json:"title"`  // "Case summary"
	Status string   `json:"status"` // PartOK, PartWarning or PartMissing
	Files  []string `json:"files"`  // file IDs that make up the part
}

// Finding is one thing the checklist found.
type Finding struct {
	Code     string   `json:"code"`
	Severity string   `json:"severity"`
	Message  string   `json:"message"`
	Files    []string `json:"files"`
}

// HasErrors reports whether any finding is error-level.
func (r *Report) HasErrors() bool {
	for _, f := range r.Findings {
		if f.Severity == SeverityError {
			return true
		}
	}
	return false
}
