package record

import (
	"log/slog"
	"time"
)

// DicomInstance is what the DICOM service read from one instance's header.
type DicomInstance struct {
	PatientName      string `json:"patient_name,omitempty"`
	PatientID        string `json:"patient_id,omitempty"`
	PatientBirthDate string `json:"patient_birth_date,omitempty"` // YYYY-MM-DD
	PatientSex       string `json:"patient_sex,omitempty"`

	StudyUID         string `json:"study_uid"`
	StudyDate        string `json:"study_date,omitempty"` // YYYY-MM-DD
	StudyDescription string `json:"study_description,omitempty"`
	Accession        string `json:"accession,omitempty"`

	SeriesUID         string `json:"series_uid"`
	SeriesNumber      int    `json:"series_number,omitempty"`
	Modality          string `json:"modality,omitempty"`
	BodyPart          string `json:"body_part,omitempty"`
	Laterality        string `json:"laterality,omitempty"`
	SeriesDescription string `json:"series_description,omitempty"`

	SOPClassUID    string `json:"sop_class_uid"`
	SOPInstanceUID string `json:"sop_instance_uid"`
	TransferSyntax string `json:"transfer_syntax,omitempty"`
	InstanceNumber int    `json:"instance_number,omitempty"`
	Frames         int    `json:"frames,omitempty"`
	// Declared is the number of instances the series says it has, when the
	// header states it (0 when unknown).
	Declared int `json:"declared,omitempty"`
	// SecondaryCapture is set for secondary captures and screenshots stored as DICOM.
	SecondaryCapture bool `json:"secondary_capture,omitempty"`
	// DuplicateOf is the file ID of the first upload of the same SOP Instance UID.
	DuplicateOf string `json:"duplicate_of,omitempty"`
	// HeaderBytes is how many bytes of the object were read to index it.
	HeaderBytes int64 `json:"header_bytes,omitempty"`
	// NeedsPart10 is set when the object has no conformant Part 10 preamble
	// and file meta; its file-set copy is rewritten from DataSetOffset on.
	NeedsPart10   bool  `json:"needs_part10,omitempty"`
	DataSetOffset int64 `json:"data_set_offset,omitempty"`
	// Dir holds the header attributes a DICOMDIR record needs beyond the above.
	Dir *DicomDirKeys `json:"dir,omitempty"`
}

// DicomDirKeys are the DICOMDIR directory record keys (PS3.3 F.5) of an
// instance that the index fields do not carry; dates and times are kept in
// DICOM form (YYYYMMDD, HHMMSS.FFFFFF).
type DicomDirKeys struct {
	RecordType           string `json:"record_type,omitempty"` // IMAGE, SR DOCUMENT, RT DOSE...
	StudyTime            string `json:"study_time,omitempty"`
	StudyID              string `json:"study_id,omitempty"`
	ContentDate          string `json:"content_date,omitempty"`
	ContentTime          string `json:"content_time,omitempty"`
	CompletionFlag       string `json:"completion_flag,omitempty"`
	VerificationFlag     string `json:"verification_flag,omitempty"`
	VerificationDateTime string `json:"verification_datetime,omitempty"`
	ConceptCode          string `json:"concept_code,omitempty"`
	ConceptScheme        string `json:"concept_scheme,omitempty"`
	ConceptMeaning       string `json:"concept_meaning,omitempty"`
	StructureSetLabel    string `json:"structure_set_label,omitempty"`
	StructureSetDate     string `json:"structure_set_date,omitempty"`
	StructureSetTime     string `json:"structure_set_time,omitempty"`
	RTPlanLabel          string `json:"rt_plan_label,omitempty"`
	RTPlanDate           string `json:"rt_plan_date,omitempty"`
	RTPlanTime           string `json:"rt_plan_time,omitempty"`
	DoseSummationType    string `json:"dose_summation_type,omitempty"`
}

// LogValue keeps patient data out of logs.
func (d DicomInstance) LogValue() slog.Value { return slog.StringValue("[dicom header redacted]") }

// DicomIndex is the per-case imaging index, stored as JSON in the derived bucket.
type DicomIndex struct {
	Version   int       `json:"version"`
	CaseID    string    `json:"case_id"`
	Generated time.Time `json:"generated"`
	// Basis is the highest case-store revision of the DICOM files the index
	// was built from: a newer index has a higher basis.
	Basis   uint64  `json:"basis,omitempty"`
	Studies []Study `json:"studies"`
	// Findings are the imaging checks (CodeImaging* codes) of the case.
	Findings []Finding `json:"findings,omitempty"`
	// Unreadable lists the files routed to the DICOM service that could not
	// be indexed (their File.Error says why).
	Unreadable []string `json:"unreadable,omitempty"`
}

// Study is one scan: all series of one study, with its readable folder name.
type Study struct {
	Folder           string   `json:"folder"` // e.g. 2026-04-12_MRI_right_hip, unique within the case
	UID              string   `json:"uid"`
	Date             string   `json:"date,omitempty"`
	Description      string   `json:"description,omitempty"`
	Accession        string   `json:"accession,omitempty"`
	PatientName      string   `json:"patient_name,omitempty"`
	PatientID        string   `json:"patient_id,omitempty"`
	PatientBirthDate string   `json:"patient_birth_date,omitempty"`
	PatientSex       string   `json:"patient_sex,omitempty"`
	Series           []Series `json:"series"`
	// FileSet is the viewer-ready DICOM file-set of this study, when written.
	FileSet *FileSet `json:"file_set,omitempty"`
}

// Series is one series of a study.
type Series struct {
	UID         string              `json:"uid"`
	Number      int                 `json:"number,omitempty"`
	Modality    string              `json:"modality,omitempty"`
	BodyPart    string              `json:"body_part,omitempty"`
	Laterality  string              `json:"laterality,omitempty"`
	Description string              `json:"description,omitempty"`
	Instances   int                 `json:"instances"`
	Frames      int                 `json:"frames,omitempty"`
	Declared    int                 `json:"declared,omitempty"`
	Members     []SeriesInstanceRef `json:"members"`
	// SecondaryCapture is set when any instance is a secondary capture or screenshot.
	SecondaryCapture bool `json:"secondary_capture,omitempty"`
	// Missing lists the InstanceNumbers absent between the lowest and highest present.
	Missing []int `json:"missing,omitempty"`
}

// SeriesInstanceRef points from the index to an instance's file.
type SeriesInstanceRef struct {
	FileID         string `json:"file_id"`
	SOPClassUID    string `json:"sop_class_uid"`
	SOPInstanceUID string `json:"sop_instance_uid"`
	TransferSyntax string `json:"transfer_syntax,omitempty"`
	Number         int    `json:"number,omitempty"`
	Size           int64  `json:"size"`
	ETag           string `json:"etag"`
	Bucket         string `json:"bucket"`
	Key            string `json:"key"`
}

// FileSet is a self-contained DICOM file-set (PS3.10): a DICOMDIR and the
// instances under DICOM/, as the packager writes it into a scan folder.
type FileSet struct {
	DICOMDIRBucket string         `json:"dicomdir_bucket"`
	DICOMDIRKey    string         `json:"dicomdir_key"`
	DICOMDIRSize   int64          `json:"dicomdir_size"`
	Entries        []FileSetEntry `json:"entries"`
}

// FileSetEntry is one instance file of a file-set.
type FileSetEntry struct {
	Path   string `json:"path"` // inside the scan folder, e.g. DICOM/ST000000/SE000000/IM000000
	FileID string `json:"file_id"`
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	Size   int64  `json:"size"`
}

// Document categories, one per kind of document the checklist knows.
const (
	CategorySummary         = "case_summary"
	CategoryRadiologyReport = "radiology_report"
	CategoryLabReport       = "lab_report"
	CategoryEKG             = "ekg"
	CategoryChestXRay       = "chest_xray_report"
	CategoryOperativeNote   = "operative_note"
	CategoryMedicationList  = "medication_list"
	CategoryPassport        = "passport"
	CategoryPortalExport    = "portal_export"
	CategoryImagingPicture  = "imaging_picture" // a JPEG/PNG picture or screenshot of imaging
	CategoryOther           = "other"
)

// Lab panels a lab report can hold.
const (
	PanelCBC   = "cbc"
	PanelBMP   = "bmp"
	PanelCMP   = "cmp"
	PanelCoag  = "coag"
	PanelHbA1c = "hba1c"
)

// Document is what the OCR and understanding stages learned about a PDF,
// picture or text file.
type Document struct {
	// From the OCR service.
	SearchableBucket string    `json:"searchable_bucket,omitempty"`
	SearchableKey    string    `json:"searchable_key,omitempty"` // the searchable PDF
	TextKey          string    `json:"text_key,omitempty"`       // plain-text sidecar
	LayoutKey        string    `json:"layout_key,omitempty"`     // layout sidecar: words and boxes (package textlayout)
	Pages            int       `json:"pages,omitempty"`
	OCRPages         []int     `json:"ocr_pages,omitempty"`  // 1-based pages that were OCRed
	TextPages        []int     `json:"text_pages,omitempty"` // 1-based pages that already had text
	Confidence       []float64 `json:"confidence,omitempty"` // per page, 0..100; -1 for pages not OCRed
	PageErrors       []Error   `json:"page_errors,omitempty"`
	Rotated          []int     `json:"rotated,omitempty"` // per page rotation applied, degrees

	// From document understanding.
	Category    string       `json:"category,omitempty"`
	Evidence    []string     `json:"evidence,omitempty"` // the rule or words that decided the category
	Panels      []string     `json:"panels,omitempty"`
	Date        string       `json:"date,omitempty"` // the document's own date, YYYY-MM-DD
	DateKind    string       `json:"date_kind,omitempty"`
	Names       []string     `json:"names,omitempty"`       // patient names printed on it
	BirthDates  []string     `json:"birth_dates,omitempty"` // YYYY-MM-DD
	Medications []Medication `json:"medications,omitempty"`
	Passport    *Passport    `json:"passport,omitempty"`
	SummaryFact *Summary     `json:"summary_facts,omitempty"` // facts read from an uploaded summary
	Modality    string       `json:"modality,omitempty"`      // for radiology reports: MRI, CT, XRay...
	BodyPart    string       `json:"body_part,omitempty"`
	// Impression is the radiologist's impression (conclusion) of a
	// radiology report, as written, cut to a bounded length.
	Impression string `json:"impression,omitempty"`
	// Also lists the other categories some pages of a combined document
	// belong to (a pre-operative packet with labs, an EKG and a chest X-ray
	// report in one PDF); Panels then covers every lab page.
	Also []string `json:"also,omitempty"`

	// Clinical facts read from the document: coded entries of a portal
	// export (C-CDA), rows of a lab or medication table.
	Labs       []LabResult `json:"labs,omitempty"`
	Problems   []Problem   `json:"problems,omitempty"`
	Allergies  []Allergy   `json:"allergies,omitempty"`
	Procedures []Procedure `json:"procedures,omitempty"`
	Vitals     []Vital     `json:"vitals,omitempty"`
	// Sex is the patient's sex as the document states it (M, F, X).
	Sex string `json:"sex,omitempty"`
	// Format says how the facts were read when not from plain text:
	// FormatCCDA (a C-CDA document), FormatPrintedCCDA (its printed form).
	Format string `json:"format,omitempty"`
}

// Document formats (Document.Format).
const (
	FormatCCDA        = "ccda"
	FormatPrintedCCDA = "ccda_printed"
)

// LogValue keeps patient data out of logs.
func (Document) LogValue() slog.Value { return slog.StringValue("[document redacted]") }

// Medication classes that matter before surgery.
const (
	MedAnticoagulant = "anticoagulant"
	MedAntiplatelet  = "antiplatelet"
	MedSupplement    = "clotting_supplement"
)

// Medication is one line of a medication list.
type Medication struct {
	Name      string `json:"name"`              // as written
	Generic   string `json:"generic,omitempty"` // normalised generic name
	Dose      string `json:"dose,omitempty"`
	Frequency string `json:"frequency,omitempty"`
	Duration  string `json:"duration,omitempty"`
	Class     string `json:"class,omitempty"` // Med* constant when it affects clotting
	// RxNorm is the RxNorm code the source gave (a C-CDA entry), any level.
	RxNorm string `json:"rxnorm,omitempty"`
	Route  string `json:"route,omitempty"`  // "oral", "subcutaneous"
	Start  string `json:"start,omitempty"`  // YYYY-MM-DD (or YYYY-MM, YYYY)
	Stop   string `json:"stop,omitempty"`   // YYYY-MM-DD (or YYYY-MM, YYYY)
	Status string `json:"status,omitempty"` // active, completed, stopped, as the source says
}

// LabResult is one result of a lab test (or of an EKG measurement).
type LabResult struct {
	Name  string `json:"name"`            // as written
	LOINC string `json:"loinc,omitempty"` // from the source, else from the vocabulary
	Panel string `json:"panel,omitempty"` // Panel* constant
	Value string `json:"value"`           // as written: "13.2", "Negative", "<0.5"
	Unit  string `json:"unit,omitempty"`
	Range string `json:"range,omitempty"` // reference range as written: "12.0-15.5"
	// Flag is the abnormal flag: "H", "L", "HH", "LL", "A" (abnormal), "N"
	// or empty when none was given.
	Flag string `json:"flag,omitempty"`
	Date string `json:"date,omitempty"` // YYYY-MM-DD: when the specimen was collected
}

// Problem is one entry of a problem list (a condition).
type Problem struct {
	Name   string `json:"name"`
	Code   string `json:"code,omitempty"`
	System string `json:"system,omitempty"` // "SNOMED CT", "ICD-10-CM", "ICD-9-CM"
	Status string `json:"status,omitempty"` // active, resolved, inactive
	Onset  string `json:"onset,omitempty"`  // YYYY-MM-DD (or shorter)
}

// Allergy is one allergy or intolerance, with the reaction when stated.
type Allergy struct {
	Name     string `json:"name"` // the substance
	Reaction string `json:"reaction,omitempty"`
	Severity string `json:"severity,omitempty"`
	Status   string `json:"status,omitempty"`
}

// Procedure is a procedure the patient had (a prior surgery).
type Procedure struct {
	Name   string `json:"name"`
	Code   string `json:"code,omitempty"`
	System string `json:"system,omitempty"`
	Date   string `json:"date,omitempty"` // YYYY-MM-DD (or shorter)
}

// Vital is one vital sign measurement (height, weight, blood pressure...).
type Vital struct {
	Name  string `json:"name"`
	LOINC string `json:"loinc,omitempty"`
	Value string `json:"value"`
	Unit  string `json:"unit,omitempty"`
	Date  string `json:"date,omitempty"` // YYYY-MM-DD
}

// Passport is what the MRZ of a passport says.
type Passport struct {
	Surname        string `json:"surname"`
	GivenNames     string `json:"given_names"`
	BirthDate      string `json:"birth_date"` // YYYY-MM-DD
	DocumentNumber string `json:"document_number"`
	Expiry         string `json:"expiry"` // YYYY-MM-DD
	Nationality    string `json:"nationality,omitempty"`
	Sex            string `json:"sex,omitempty"`
	Valid          bool   `json:"valid"` // all check digits verified
}

// LogValue keeps patient data out of logs.
func (Passport) LogValue() slog.Value { return slog.StringValue("[passport redacted]") }
