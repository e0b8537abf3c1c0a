// Package record holds the case state that every service shares: the case,
// its files, and what each stage of the pipeline learned about them.
//
// Records live in the NATS KV bucket that package casestore manages. They
// hold patient data (names, birth dates, document facts), so they are never
// logged and never put in event payloads: each type that carries such data
// implements slog.LogValuer and logs only its IDs.
//
// Contract rule: only add fields. Renaming or retyping a field breaks the
// services that read records written by an older version.
package record

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"time"
)

// Case is one patient's handoff case.
type Case struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// ReferenceDate (YYYY-MM-DD) is the day against which lab staleness is
	// judged; empty means today.
	ReferenceDate string  `json:"reference_date,omitempty"`
	Patient       Patient `json:"patient,omitzero"`
	Summary       Summary `json:"summary,omitzero"`
	// Bundles are no longer kept on the case: read them from the case store
	// (casestore.Bundles), which the packager writes without being allowed
	// to write the case. The field stays for records written before.
	Bundles []Bundle `json:"bundles,omitempty"`

	// Revision is the KV revision the record was read at (not stored).
	Revision uint64 `json:"-"`
}

// LogValue keeps patient data out of logs.
func (c Case) LogValue() slog.Value { return slog.StringValue("case:" + c.ID) }

// FieldsDigest identifies the case fields a checklist depends on (patient,
// summary, reference date), not its bookkeeping (bundles, times).
func (c Case) FieldsDigest() string {
	b, _ := json.Marshal(struct {
		P Patient
		S Summary
		R string
	}{c.Patient, c.Summary, c.ReferenceDate})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// Patient identifies the patient as the case fields state it.
type Patient struct {
	FamilyName string `json:"family_name,omitempty"`
	GivenName  string `json:"given_name,omitempty"`
	BirthDate  string `json:"birth_date,omitempty"` // YYYY-MM-DD
	Sex        string `json:"sex,omitempty"`        // M, F, X or empty
}

// LogValue keeps patient data out of logs.
func (Patient) LogValue() slog.Value { return slog.StringValue("[patient redacted]") }

// Summary holds the structured fields of part 1 of the handoff file, kept as
// the patient wrote them (free text is never rewritten or translated).
type Summary struct {
	Age              int        `json:"age,omitempty"`
	Height           string     `json:"height,omitempty"` // as written: "5 ft 10 in", "178 cm"
	Weight           string     `json:"weight,omitempty"` // as written: "182 lb", "83 kg"
	Allergies        string     `json:"allergies,omitempty"`
	Procedure        string     `json:"procedure,omitempty"`
	SymptomHistory   string     `json:"symptom_history,omitempty"`
	USRecommendation string     `json:"us_recommendation,omitempty"`
	QuotedCost       string     `json:"quoted_cost,omitempty"`
	ReasonAbroad     string     `json:"reason_abroad,omitempty"`
	Conditions       Conditions `json:"conditions,omitzero"`
	// Medications the patient typed in, one per entry ("apixaban 5 mg twice daily").
	Medications []string `json:"medications,omitempty"`
}

// LogValue keeps patient data out of logs.
func (Summary) LogValue() slog.Value { return slog.StringValue("[summary redacted]") }

// Conditions are the complicating conditions a case may declare.
type Conditions struct {
	Diabetes       bool     `json:"diabetes,omitempty"`
	Prediabetes    bool     `json:"prediabetes,omitempty"`
	HeartDisease   bool     `json:"heart_disease,omitempty"`
	Respiratory    bool     `json:"respiratory,omitempty"`
	BloodThinners  bool     `json:"blood_thinners,omitempty"`
	PriorSurgeries []string `json:"prior_surgeries,omitempty"`
	Other          string   `json:"other,omitempty"`
}

// Bundle is one version of a case's handoff bundle.
type Bundle struct {
	Version int       `json:"version"`
	Bucket  string    `json:"bucket"`
	Key     string    `json:"key"`
	Name    string    `json:"name"` // file name of the ZIP
	Size    int64     `json:"size"`
	SHA256  string    `json:"sha256"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	// Inputs is a digest of what the bundle was made from (file ETags, case
	// fields, report revision); a job with the same inputs makes no new version.
	Inputs  string `json:"inputs"`
	Trigger string `json:"trigger"` // "request" or "auto"
	// Revoked is when a coordinator revoked this version: its link answers
	// 403 and its object is removed; a new request makes a new version.
	Revoked time.Time `json:"revoked,omitzero"`
}

// Live reports whether the bundle version can still be downloaded at now.
func (b Bundle) Live(now time.Time) bool {
	return b.Revoked.IsZero() && (b.Expires.IsZero() || now.Before(b.Expires))
}

// StageSuperseded is the stage of a skipped file that a newer upload
// replaced: an entry of an archive's older revision. No stage writes its
// results any more.
const StageSuperseded = "superseded"

// File statuses. A file is pending until its status is Done, Failed or Skipped.
const (
	StatusReceived   = "received"   // recorded, not yet sniffed
	StatusQueued     = "queued"     // routed to a worker queue
	StatusProcessing = "processing" // a worker (or a later stage) is on it
	StatusDone       = "done"
	StatusFailed     = "failed"  // rejected with Error set; the original is kept
	StatusSkipped    = "skipped" // nothing to do (viewer software inside an imaging CD, a superseded revision)
)

// Terminal reports whether a file status ends processing.
func Terminal(status string) bool {
	return status == StatusDone || status == StatusFailed || status == StatusSkipped
}

// Detected content types (by sniffing content, never the name).
const (
	TypeDICOM    = "dicom"
	TypeDICOMDIR = "dicomdir"
	TypePDF      = "pdf"
	TypeJPEG     = "jpeg"
	TypePNG      = "png"
	TypeTIFF     = "tiff"
	TypeZIP      = "zip"
	TypeText     = "text"
	TypeUnknown  = "unknown"
)

// Routes: the worker queue a file goes to.
const (
	RouteDICOM   = "dicom"
	RouteOCR     = "ocr"
	RouteArchive = "archive"
	RouteText    = "text"
	RouteNone    = "none"
)

// File sources.
const (
	SourceAPI       = "api"
	SourceS3        = "s3"
	SourceArchive   = "archive"
	SourceReconcile = "reconcile"
)

// File is one uploaded file (or one entry of an uploaded archive).
type File struct {
	CaseID string `json:"case_id"`
	ID     string `json:"id"`
	// Path is the patient's own path of the file within the case, kept as
	// uploaded (for archive entries: the archive's path, "!/", the entry path).
	Path     string `json:"path"`
	Bucket   string `json:"bucket"`
	Key      string `json:"key"`
	ETag     string `json:"etag"`
	Size     int64  `json:"size"`
	ParentID string `json:"parent_id,omitempty"` // the archive it came from
	// ParentETag is the revision of the archive the entry came from.
	ParentETag string `json:"parent_etag,omitempty"`
	Source     string `json:"source"`
	// Uploader is who uploaded the file through the API ("patient-link:<id>",
	// "coordinator:<name>", "admin:admin"); empty for other sources.
	Uploader string    `json:"uploader,omitempty"`
	Received time.Time `json:"received"`
	Updated  time.Time `json:"updated"`

	Type   string `json:"type,omitempty"`  // Type* constant
	Route  string `json:"route,omitempty"` // Route* constant
	Status string `json:"status"`          // Status* constant
	// Stage names the step the file is in or last finished: "sniff",
	// "archive", "dicom", "ocr", "understand".
	Stage string `json:"stage,omitempty"`
	Error *Error `json:"error,omitempty"`
	// Warnings are non-fatal findings about this file (codes as in Error).
	Warnings []Error `json:"warnings,omitempty"`

	// Progress is how far the current stage is through the file (the pages
	// of a document being OCRed), while it works.
	Progress *Progress `json:"progress,omitempty"`

	DICOM    *DicomInstance `json:"dicom,omitempty"`
	Document *Document      `json:"document,omitempty"`
	Archive  *Archive       `json:"archive,omitempty"`

	// Revision is the KV revision the record was read at (not stored).
	Revision uint64 `json:"-"`
}

// LogValue logs only the file's IDs.
func (f File) LogValue() slog.Value {
	return slog.GroupValue(slog.String("case_id", f.CaseID), slog.String("file_id", f.ID))
}

// Pending reports whether the file's processing is not finished.
func (f *File) Pending() bool { return !Terminal(f.Status) }

// Progress counts the units of work of a stage (Unit "pages").
type Progress struct {
	Unit  string `json:"unit"`
	Done  int    `json:"done"`
	Total int    `json:"total"`
}

// Error is a specific, machine-readable problem with a file.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"` // says what is wrong, never quotes patient data
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Input error codes, recorded on rejected files.
const (
	CodeEmpty         = "input.empty"
	CodeUnreadable    = "input.unreadable"
	CodeEncrypted     = "input.encrypted"
	CodeUnsafeArchive = "input.unsafe_archive"
	CodeArchiveBomb   = "input.archive_bomb"
	CodeUnknownType   = "input.unknown_type"
	CodeTooLarge      = "input.too_large"
	CodeBadName       = "input.bad_name"
	CodeTooManyPages  = "input.too_many_pages"
	CodePageTooLarge  = "input.page_too_large"
	CodeTimeout       = "input.timeout"
)

// Per-case budget codes. A case over one of its budgets gets them on the
// files the budget left out; the rest of the case goes on.
const (
	// CodeCasePageBudget is a warning on a document some of whose pages
	// were not OCRed because the case used up its OCR pages: the document
	// is kept, with the pages done searchable and the others as scanned.
	CodeCasePageBudget = "input.case_page_budget"
	// CodeCaseDICOMBudget rejects a DICOM file over the case's budget of
	// DICOM instances or bytes: it is kept but not indexed.
	CodeCaseDICOMBudget = "input.case_dicom_budget"
	// CodeCaseArchiveBudget rejects an archive whose entries would take the
	// case over its budget of expanded entries or bytes: nothing is expanded.
	CodeCaseArchiveBudget = "input.case_archive_budget"
)

// Archive describes an expanded ZIP.
type Archive struct {
	Entries  int   `json:"entries"`  // entries turned into files
	Skipped  int   `json:"skipped"`  // directories, viewer software, OS junk
	Expanded int64 `json:"expanded"` // total bytes written
	// ImagingCD is set when the archive holds a DICOMDIR.
	ImagingCD bool `json:"imaging_cd,omitempty"`
	// XDM is set when the archive is an IHE XDM package (a portal's
	// "download my record" ZIP): IHE_XDM/<subset>/METADATA.XML beside the
	// documents.
	XDM bool `json:"xdm,omitempty"`
}
