// Package event holds the pipeline's event contracts: one type per event,
// its NATS subject and its version, and the envelope they travel in.
//
// Events travel in the CloudEvents 1.0 NATS protocol binding, binary mode:
// the JSON payload is the message data, the context attributes are "ce-"
// headers, W3C trace context rides in "traceparent", and "Nats-Msg-Id" lets
// JetStream drop duplicates.
//
// Events carry IDs, object keys, checksums and statuses. Never put patient
// names, birth dates, DICOM attributes or document text in an event: the
// documents stay in S3 and the facts stay in the case store.
//
// Contract rule: only add fields. A breaking change is a new type with a new
// version suffix (".v2") on the same subject.
package event

// Subjects of completion events. They are captured by the EVENTS stream.
const (
	SubjectFileRejected       = "handoff.file.rejected"
	SubjectFileDone           = "handoff.file.done"
	SubjectDICOMIndexed       = "handoff.dicom.indexed"
	SubjectOCRDone            = "handoff.ocr.done"
	SubjectDocumentClassified = "handoff.document.classified"
	SubjectCaseUpdated        = "handoff.case.updated"
	SubjectReportUpdated      = "handoff.report.updated"
	SubjectBundleReady        = "handoff.bundle.ready"
	SubjectCaseDeleted        = "handoff.case.deleted"
	// SubjectAuditPrefix starts the subjects of the audit trail:
	// handoff.audit.<case ID>, or handoff.audit.none for actions on no case.
	SubjectAuditPrefix = "handoff.audit."
)

// Subjects of work items. They are captured by the WORK stream, a work
// queue: each message is handed to one worker of its kind and removed on ack.
const (
	SubjectWorkPrefix  = "handoff.work."
	SubjectWorkArchive = SubjectWorkPrefix + "archive"
	SubjectWorkDICOM   = SubjectWorkPrefix + "dicom"
	SubjectWorkOCR     = SubjectWorkPrefix + "ocr"
	SubjectWorkOCRPage = SubjectWorkPrefix + "ocrpage"
	// SubjectWorkOCRFirst carries the page items of a case's first pages
	// (OCRPageWork.First): OCR workers take them before handoff.work.ocrpage.
	SubjectWorkOCRFirst = SubjectWorkPrefix + "ocrfirst"
	SubjectWorkText     = SubjectWorkPrefix + "text"
	SubjectWorkBundle   = SubjectWorkPrefix + "bundle"
)

// SubjectDeadLetterPrefix starts the subject of every dead letter; the
// consumer's name follows ("handoff.dlq.dicom").
const SubjectDeadLetterPrefix = "handoff.dlq."

// DefaultBucketSubject is where bucket notifications arrive by default: the
// subject MinIO's notify_nats target (or versitygw's --event-nats-topic)
// publishes to.
const DefaultBucketSubject = "handoff.bucket.events"

// Event is implemented by every event and work item.
type Event interface {
	// Subject is the NATS subject the event is published on.
	Subject() string
	// Type is the CloudEvents type, with its version: "dev.handoff.file.routed.v1".
	EventType() string
	// MsgID is the de-duplication ID (Nats-Msg-Id): the same fact published
	// twice has the same ID.
	MsgID() string
	// CaseRef is the case the event is about (CloudEvents "subject").
	CaseRef() string
}

// FileRef identifies one revision of one file: its IDs and where it is stored.
type FileRef struct {
	CaseID string `json:"case_id"`
	FileID string `json:"file_id"`
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	ETag   string `json:"etag"`
	Size   int64  `json:"size"`
}

func (r FileRef) rev() string { return r.FileID + "." + cleanETag(r.ETag) }

// FileWork is a work item: a file routed to the queue of the worker kind
// that handles its type (Route is "archive", "dicom", "ocr" or "text").
type FileWork struct {
	Version int `json:"version"`
	FileRef
	Type  string `json:"type"`  // sniffed content type
	Route string `json:"route"` // worker kind
}

func (e FileWork) Subject() string { return SubjectWorkPrefix + e.Route }
func (FileWork) EventType() string { return "dev.handoff.file.routed.v1" }
func (e FileWork) MsgID() string   { return "work." + e.Route + "." + e.rev() }
func (e FileWork) CaseRef() string { return e.CaseID }

// FileRejected says a file was rejected with an input error code. The
// original stays where it was uploaded.
type FileRejected struct {
	Version int `json:"version"`
	FileRef
	Code  string `json:"code"`
	Stage string `json:"stage"`
}

func (FileRejected) Subject() string   { return SubjectFileRejected }
func (FileRejected) EventType() string { return "dev.handoff.file.rejected.v1" }
func (e FileRejected) MsgID() string   { return "rejected." + e.rev() + "." + e.Stage }
func (e FileRejected) CaseRef() string { return e.CaseID }

// FileDone says every stage of a file has finished.
type FileDone struct {
	Version int `json:"version"`
	FileRef
	Stage string `json:"stage"` // the last stage
}

func (FileDone) Subject() string   { return SubjectFileDone }
func (FileDone) EventType() string { return "dev.handoff.file.done.v1" }
func (e FileDone) MsgID() string   { return "done." + e.rev() + "." + e.Stage }
func (e FileDone) CaseRef() string { return e.CaseID }

// DICOMIndexed says every uploaded instance of a series is indexed.
type DICOMIndexed struct {
	Version   int    `json:"version"`
	CaseID    string `json:"case_id"`
	StudyUID  string `json:"study_uid"`
	SeriesUID string `json:"series_uid"`
	Instances int    `json:"instances"`
	IndexKey  string `json:"index_key"` // derived-bucket key of the case's index
	// Digest identifies the set of instances; a series that grows gets a new event.
	Digest string `json:"digest"`
	// Basis is the index's basis (the newest file revision it reflects):
	// an index rebuilt over later file records (an upload found to repeat
	// an instance) is announced again, so the checklist catches up with them.
	Basis uint64 `json:"basis,omitempty"`
}

func (DICOMIndexed) Subject() string   { return SubjectDICOMIndexed }
func (DICOMIndexed) EventType() string { return "dev.handoff.dicom.indexed.v1" }
func (e DICOMIndexed) MsgID() string {
	return "indexed." + e.CaseID + "." + e.SeriesUID + "." + e.Digest + "." + utoa(e.Basis)
}
func (e DICOMIndexed) CaseRef() string { return e.CaseID }

// OCRDone says a document has its searchable PDF, text sidecar and layout
// sidecar.
type OCRDone struct {
	Version int `json:"version"`
	FileRef
	OutputBucket  string `json:"output_bucket"`
	SearchableKey string `json:"searchable_key"`
	TextKey       string `json:"text_key"`
	SHA256        string `json:"sha256"` // of the searchable PDF
	Pages         int    `json:"pages"`
	OCRPages      int    `json:"ocr_pages"`
	FailedPages   int    `json:"failed_pages"`
	// LayoutKey is the layout sidecar (package textlayout: every page's
	// words with their boxes) in OutputBucket; empty from older versions.
	LayoutKey string `json:"layout_key,omitempty"`
}

func (OCRDone) Subject() string   { return SubjectOCRDone }
func (OCRDone) EventType() string { return "dev.handoff.ocr.done.v1" }
func (e OCRDone) MsgID() string   { return "ocr." + e.rev() }
func (e OCRDone) CaseRef() string { return e.CaseID }

// OCRPageWork is one page of a document to OCR: a long document is split so
// that many workers share it.
type OCRPageWork struct {
	Version int `json:"version"`
	FileRef
	Page  int `json:"page"`  // 1-based
	Pages int `json:"pages"` // pages in the document
	// First marks one of its case's first pages to OCR (and a reassembly):
	// the item goes on handoff.work.ocrfirst, which OCR workers take
	// before handoff.work.ocrpage, so that a case that just arrived is not
	// queued behind the long documents of other cases.
	First bool `json:"first,omitempty"`
}

// Subject is handoff.work.ocrfirst for a First item, else handoff.work.ocrpage.
func (e OCRPageWork) Subject() string {
	if e.First {
		return SubjectWorkOCRFirst
	}
	return SubjectWorkOCRPage
}
func (OCRPageWork) EventType() string { return "dev.handoff.ocr.page.v1" }
func (e OCRPageWork) MsgID() string {
	return "ocrpage." + e.rev() + "." + itoa(e.Page)
}
func (e OCRPageWork) CaseRef() string { return e.CaseID }

// OCRAssemblePage, as the Page of an OCRPageWork, asks for the reassembly of
// a split document once every one of its pages is done.
const OCRAssemblePage = 0

// DocumentClassified says document understanding sorted a file into a part.
type DocumentClassified struct {
	Version  int    `json:"version"`
	CaseID   string `json:"case_id"`
	FileID   string `json:"file_id"`
	ETag     string `json:"etag"`
	Category string `json:"category"`
}

func (DocumentClassified) Subject() string   { return SubjectDocumentClassified }
func (DocumentClassified) EventType() string { return "dev.handoff.document.classified.v1" }
func (e DocumentClassified) MsgID() string {
	return "classified." + e.FileID + "." + cleanETag(e.ETag)
}
func (e DocumentClassified) CaseRef() string { return e.CaseID }

// CaseUpdated says a case's fields were created or changed through the API.
type CaseUpdated struct {
	Version  int    `json:"version"`
	CaseID   string `json:"case_id"`
	Revision uint64 `json:"revision"`
}

func (CaseUpdated) Subject() string   { return SubjectCaseUpdated }
func (CaseUpdated) EventType() string { return "dev.handoff.case.updated.v1" }
func (e CaseUpdated) MsgID() string   { return "case." + e.CaseID + "." + utoa(e.Revision) }
func (e CaseUpdated) CaseRef() string { return e.CaseID }

// CaseDeleted says a case was erased (its originals, derived files, bundles
// and records) and by whom: the kind and ID of the principal, never a name
// of the patient. It is the deletion's audit record and outlives the case.
type CaseDeleted struct {
	Version int    `json:"version"`
	CaseID  string `json:"case_id"`
	ByKind  string `json:"by_kind"`
	ByID    string `json:"by_id"`
	Objects int    `json:"objects"` // objects removed from the buckets
	Records int    `json:"records"` // case-store keys purged
	// Messages is how many stream messages naming the case were erased
	// (bucket notifications, events, dead letters).
	Messages int    `json:"messages"`
	Deleted  string `json:"deleted"` // RFC 3339 time of the deletion
}

func (CaseDeleted) Subject() string   { return SubjectCaseDeleted }
func (CaseDeleted) EventType() string { return "dev.handoff.case.deleted.v1" }
func (e CaseDeleted) MsgID() string   { return "deleted." + e.CaseID }
func (e CaseDeleted) CaseRef() string { return e.CaseID }

// ReportUpdated says a case's checklist report changed.
type ReportUpdated struct {
	Version   int      `json:"version"`
	CaseID    string   `json:"case_id"`
	Digest    string   `json:"digest"`
	ReportKey string   `json:"report_key"`
	Pending   int      `json:"pending"`
	Missing   []string `json:"missing"` // parts with status "missing"
	Codes     []string `json:"codes"`   // finding codes, no messages
	Errors    int      `json:"errors"`  // error-level findings
}

func (ReportUpdated) Subject() string   { return SubjectReportUpdated }
func (ReportUpdated) EventType() string { return "dev.handoff.report.updated.v1" }
func (e ReportUpdated) MsgID() string {
	return "report." + e.CaseID + "." + e.Digest + "." + itoa(e.Pending)
}
func (e ReportUpdated) CaseRef() string { return e.CaseID }

// BundleRequested is a work item for the packager.
type BundleRequested struct {
	Version   int    `json:"version"`
	CaseID    string `json:"case_id"`
	Trigger   string `json:"trigger"`    // "request" or "auto"
	RequestID string `json:"request_id"` // de-duplicates one request
}

func (BundleRequested) Subject() string   { return SubjectWorkBundle }
func (BundleRequested) EventType() string { return "dev.handoff.bundle.requested.v1" }
func (e BundleRequested) MsgID() string   { return "bundle." + e.CaseID + "." + e.RequestID }
func (e BundleRequested) CaseRef() string { return e.CaseID }

// BundleReady says a bundle version was written to the bundles bucket.
type BundleReady struct {
	Version       int    `json:"version"`
	CaseID        string `json:"case_id"`
	BundleVersion int    `json:"bundle_version"`
	Bucket        string `json:"bucket"`
	Key           string `json:"key"`
	Size          int64  `json:"size"`
	SHA256        string `json:"sha256"`
}

func (BundleReady) Subject() string   { return SubjectBundleReady }
func (BundleReady) EventType() string { return "dev.handoff.bundle.ready.v1" }
func (e BundleReady) MsgID() string {
	return "bundleready." + e.CaseID + "." + itoa(e.BundleVersion)
}
func (e BundleReady) CaseRef() string { return e.CaseID }

// DeadLetter keeps a message that could not be processed, with its last error.
type DeadLetter struct {
	Version     int               `json:"version"`
	Stream      string            `json:"stream"`
	Consumer    string            `json:"consumer"`
	OrigSubject string            `json:"subject"` // the original message's subject
	StreamSeq   uint64            `json:"stream_seq"`
	Deliveries  uint64            `json:"deliveries"`
	Error       string            `json:"error"` // never holds patient data
	Headers     map[string]string `json:"headers,omitempty"`
	Data        []byte            `json:"data"` // the original payload
	CaseID      string            `json:"case_id,omitempty"`
}

func (e DeadLetter) Subject() string { return SubjectDeadLetterPrefix + e.Consumer }
func (DeadLetter) EventType() string { return "dev.handoff.deadletter.v1" }
func (e DeadLetter) MsgID() string {
	return "dlq." + e.Stream + "." + utoa(e.StreamSeq)
}
func (e DeadLetter) CaseRef() string { return e.CaseID }

// Audited is one entry of the audit trail: who did what to which case, and
// how it ended. It holds IDs only: the case, the object acted on (a file
// ID, a bundle version, a link ID, a credential's name), never patient
// data.
type Audited struct {
	Version int    `json:"version"`
	ID      string `json:"id"` // unique: the entry's message ID
	CaseID  string `json:"case_id,omitempty"`
	// Action is what was done: case.create, case.read, case.update,
	// case.delete, file.upload, file.read, report.read, bundle.request,
	// bundle.link, bundle.revoke, link.create, link.revoke, token.create,
	// token.revoke, session.create, session.delete.
	Action string `json:"action"`
	Object string `json:"object,omitempty"`
	ByKind string `json:"by_kind"` // admin, coordinator or link
	ByID   string `json:"by_id"`
	Status int    `json:"status"` // the HTTP status it ended with
	Time   string `json:"time"`   // RFC 3339, UTC
}

func (e Audited) Subject() string {
	if e.CaseID == "" {
		return SubjectAuditPrefix + "none"
	}
	return SubjectAuditPrefix + e.CaseID
}
func (Audited) EventType() string { return "dev.handoff.audit.v1" }
func (e Audited) MsgID() string   { return "audit." + e.ID }
func (e Audited) CaseRef() string { return e.CaseID }
