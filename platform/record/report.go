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
