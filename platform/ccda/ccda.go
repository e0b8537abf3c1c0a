// Package ccda reads HL7 C-CDA documents (Consolidated CDA R1.1, R2.0 and
// R2.1), the "download my record" export of US patient portals: the patient's
// identity, the document's header, and the coded entries of its medications,
// results, problems, allergies, procedures and vital signs sections.
//
// Read takes a bare C-CDA XML; Extract also finds one inside an IHE XDM ZIP
// or an HTML file that embeds it (a Blue Button bbClear file); Sniff tells
// whether bytes look like a C-CDA. The input, bounded by Options, is held in
// memory; its tokens are streamed and only one entry at a time is held as a
// tree. Nothing is fetched from anywhere and a DOCTYPE that declares
// entities is refused. Errors wrap the sentinels below and never quote the
// document. See README.md for the rules.
package ccda

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/handoffmed/handoff/platform/record"
)

// Defaults for the zero Options.
const (
	DefaultMaxBytes = 64 << 20
	DefaultMaxDepth = 256
)

// Errors returned (wrapped) by Read and Extract; match them with errors.Is.
var (
	// ErrTooLarge: the input (or the XML inside a ZIP or HTML) is larger than Options.MaxBytes.
	ErrTooLarge = errors.New("ccda: input too large")
	// ErrTooDeep: elements nest deeper than Options.MaxDepth.
	ErrTooDeep = errors.New("ccda: elements nested too deep")
	// ErrEntities: the document declares entities in a DOCTYPE (never expanded).
	ErrEntities = errors.New("ccda: entity declarations are not accepted")
	// ErrMalformed: the input is not well-formed XML (or is empty); see MalformedError.
	ErrMalformed = errors.New("ccda: malformed XML")
	// ErrNotCCDA: well-formed XML whose root is not a ClinicalDocument in the
	// urn:hl7-org:v3 namespace, or a ZIP or HTML with no C-CDA inside.
	ErrNotCCDA = errors.New("ccda: not a C-CDA document")
)

// MalformedError says where the XML broke. It matches ErrMalformed and holds
// positions only, never text of the document.
type MalformedError struct {
	Line   int   // 1-based line of the error, 0 when unknown
	Offset int64 // bytes read before the error
}

func (e *MalformedError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%v at byte %d", ErrMalformed, e.Offset)
	}
	return fmt.Sprintf("%v at line %d (byte %d)", ErrMalformed, e.Line, e.Offset)
}

// Is makes errors.Is(err, ErrMalformed) true.
func (e *MalformedError) Is(target error) bool { return target == ErrMalformed }

// Options bound the work of reading one document; the zero value is the default.
type Options struct {
	// MaxBytes is the largest input read (for Extract: the container and the
	// XML inside it); DefaultMaxBytes when 0.
	MaxBytes int64
	// MaxDepth is the deepest element nesting accepted; DefaultMaxDepth when 0.
	MaxDepth int
}

func (o Options) maxBytes() int64 {
	if o.MaxBytes <= 0 {
		return DefaultMaxBytes
	}
	return o.MaxBytes
}

func (o Options) maxDepth() int {
	if o.MaxDepth <= 0 {
		return DefaultMaxDepth
	}
	return o.MaxDepth
}

// Where the document was found (Document.Source).
const (
	SourceXML  = "xml"  // a bare C-CDA XML
	SourceXDM  = "xdm"  // inside an IHE XDM ZIP
	SourceHTML = "html" // embedded in an HTML file (Blue Button bbClear)
)

// Template versions (Document.Version), from the header's template IDs.
const (
	VersionR11 = "R1.1" // template IDs without an extension
	VersionR20 = "R2.0" // extension 2014-06-09
	VersionR21 = "R2.1" // extension 2015-08-01
)

// Patient is the patient as the document's recordTarget names them.
type Patient struct {
	Given     []string // given names in order
	Family    string
	BirthDate string // YYYY-MM-DD (or YYYY-MM, YYYY)
	Sex       string // M, F, X (undifferentiated) or empty
}

// LogValue keeps patient data out of logs.
func (Patient) LogValue() slog.Value { return slog.StringValue("[patient redacted]") }

// Document is what a C-CDA says. Facts use the shared record types; a field
// the document does not give is empty.
type Document struct {
	Source  string // Source* constant
	Patient Patient

	Title    string // the document's title
	TypeCode string // its LOINC document type (34133-9 summary of episode, 18842-5 discharge summary...)
	Date     string // its effectiveTime, YYYY-MM-DD (or shorter)
	Version  string // Version* constant, or empty for a CDA that is not a C-CDA

	Medications []record.Medication
	Results     []record.LabResult
	Problems    []record.Problem
	Allergies   []record.Allergy
	Procedures  []record.Procedure
	Vitals      []record.Vital
}

// LogValue keeps patient data out of logs: only counts are shown.
func (d Document) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("source", d.Source),
		slog.String("version", d.Version),
		slog.Int("medications", len(d.Medications)),
		slog.Int("results", len(d.Results)),
		slog.Int("problems", len(d.Problems)),
		slog.Int("allergies", len(d.Allergies)),
		slog.Int("procedures", len(d.Procedures)),
		slog.Int("vitals", len(d.Vitals)),
	)
}
