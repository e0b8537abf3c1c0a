// Package layout decides what goes where in a handoff bundle: the ZIP's
// name, its seven part folders, a readable name for every file, and which
// uploads stay out. It is pure: it reads records and returns a plan.
package layout

import (
	"cmp"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/handoffmed/handoff/platform/record"
)

// The bundle's folders, in order.
const (
	DirSummary    = "01_Case_Summary"
	DirImaging    = "02_Imaging_DICOM"
	DirRadiology  = "03_Radiology_Reports"
	DirLabs       = "04_Labs"
	DirSurgical   = "05_Prior_Surgical_Notes"
	DirMedication = "06_Medications"
	DirID         = "07_ID"
)

// Folders lists the part folders in order.
var Folders = []string{DirSummary, DirImaging, DirRadiology, DirLabs, DirSurgical, DirMedication, DirID}

// Files the packager generates, relative to the bundle folder.
const (
	// TopSummary is the one-page case summary at the top of the folder, so
	// it sorts and opens first.
	TopSummary = "00_Case_Summary.pdf"
	// PartSummary is the same page inside 01_Case_Summary.
	PartSummary   = DirSummary + "/Case_Summary.pdf"
	ChecklistPDF  = "CHECKLIST.pdf"
	ChecklistText = "CHECKLIST.txt"
	Manifest      = "MANIFEST.json"
	// Sums is the SHA256SUMS file; its paths are relative to the bundle
	// folder it sits in: `cd NAME && sha256sum -c SHA256SUMS`.
	Sums = "SHA256SUMS"
)

// Item kinds.
const (
	KindDocument = "document"
	KindDICOM    = "dicom"
	KindDICOMDIR = "dicomdir"
)

// Source is an object in S3 an item is copied from.
type Source struct {
	Bucket string
	Key    string
	Size   int64
	ETag   string
}

// Item is one file of the bundle copied from S3.
type Item struct {
	// Path is relative to the bundle folder: "04_Labs/2026-05-02_Lab_Report_CBC_BMP.pdf".
	Path     string
	Source   Source
	FileID   string // the file record it comes from
	Upload   string // the upload's intake key (for an archive entry: its derived key)
	Category string // record.Category*, or "dicom" / "dicomdir"
	Kind     string // Kind*
	// Searchable is set when the item is the OCR service's searchable PDF
	// rather than the upload itself.
	Searchable bool
}

// Excluded is an upload that stays out of the bundle, and why.
type Excluded struct {
	FileID string `json:"file_id"`
	Upload string `json:"upload"`
	Reason string `json:"reason"`
}

// Exclusion reasons.
const (
	ReasonRejected     = "rejected"
	ReasonSkipped      = "skipped"
	ReasonArchive      = "archive: its entries are listed one by one"
	ReasonPortalExport = "portal export: administrative noise"
	ReasonCCDA         = "portal export (C-CDA): its results, medications and procedures are extracted into readable PDFs; the export itself is not included"
	ReasonPicture      = "picture of imaging: not diagnostic, the DICOM files are in " + DirImaging
	ReasonOther        = "not part of the handoff file"
	ReasonUnclassified = "not classified"
	ReasonDICOMDIR     = "uploaded DICOMDIR: each scan folder has its own"
	ReasonDuplicate    = "duplicate of another upload"
	ReasonNotInFileSet = "DICOM instance not in any scan's file-set"
	ReasonPending      = "still being processed"
)

// Input is what a bundle is made from.
type Input struct {
	Case  record.Case
	Files []record.File
	// Index is the case's imaging index (nil when the case has no imaging).
	Index *record.DicomIndex
	// DerivedBucket is where searchable PDFs live when a document does not
	// name the bucket.
	DerivedBucket string
	// ReferenceDate (YYYY-MM-DD) is the day the checklist judged the case
	// at: a portal export's lab extract holds the results of the 90 days
	// before it (all dated results when empty).
	ReferenceDate string
}

// Plan is the bundle's layout.
type Plan struct {
	// Name is the ZIP's file name and its folder's name without ".zip":
	// Family_Given_YYYY-MM-DD_MedicalRecords.
	Name  string
	Items []Item // sorted by Path
	// Excluded uploads, sorted by file ID.
	Excluded []Excluded
	// Pending counts files still being processed.
	Pending int
	// Gaps are problems of the layout itself (a scan without a DICOMDIR).
	Gaps []string
	// Extracts are the readable PDFs the packager makes from portal
	// exports read as C-CDA, sorted by Path.
	Extracts []Extract
}

// ZipName is the file name of the bundle's ZIP.
func (p Plan) ZipName() string { return p.Name + ".zip" }

// Identity is the name and birth date the bundle is named by.
type Identity struct {
	Family, Given, BirthDate string
	// FromPassport is set when the names come from a passport's MRZ.
	FromPassport bool
}

// PatientIdentity picks the bundle's names: the passport's where one was
// read (a valid MRZ first), else the case's patient fields.
func PatientIdentity(c record.Case, files []record.File) Identity {
	var best *record.Passport
	for i := range files {
		d := files[i].Document
		if d == nil || d.Passport == nil || d.Passport.Surname == "" || files[i].Status == record.StatusFailed {
			continue
		}
		if best == nil || (d.Passport.Valid && !best.Valid) {
			best = d.Passport
		}
	}
	id := Identity{Family: c.Patient.FamilyName, Given: c.Patient.GivenName, BirthDate: c.Patient.BirthDate}
	if best != nil {
		id.Family, id.Given, id.FromPassport = best.Surname, best.GivenNames, true
		if validDate(best.BirthDate) {
			id.BirthDate = best.BirthDate
		}
	}
	return id
}

// BundleName is Family_Given_YYYY-MM-DD_MedicalRecords, ASCII-safe.
func BundleName(id Identity) string {
	family := cmp.Or(NamePart(id.Family), "Unknown")
	given := cmp.Or(NamePart(id.Given), "Unknown")
	dob := id.BirthDate
	if !validDate(dob) {
		dob = "0000-00-00"
	}
	return family + "_" + given + "_" + dob + "_MedicalRecords"
}

// FolderFor is the bundle folder of a document category ("" when the
// category stays out).
func FolderFor(category string) string {
	switch category {
	case record.CategorySummary:
		return DirSummary
	case record.CategoryRadiologyReport:
		return DirRadiology
	case record.CategoryLabReport, record.CategoryEKG, record.CategoryChestXRay:
		return DirLabs
	case record.CategoryOperativeNote:
		return DirSurgical
	case record.CategoryMedicationList:
		return DirMedication
	case record.CategoryPassport:
		return DirID
	}
	return ""
}

// Build lays the bundle out.
func Build(in Input) Plan {
	p := Plan{Name: BundleName(PatientIdentity(in.Case, in.Files))}
	byID := make(map[string]*record.File, len(in.Files))
	for i := range in.Files {
		byID[in.Files[i].ID] = &in.Files[i]
	}
	used := map[string]bool{}
	for _, g := range []string{TopSummary, PartSummary, ChecklistPDF, ChecklistText, Manifest, Sums} {
		used[g] = true
	}

	// Imaging first: file-set members are accounted for, not excluded.
	inImaging := map[string]bool{}
	if in.Index != nil {
		p.Items = append(p.Items, imaging(in.Index, byID, inImaging, used, &p.Gaps)...)
	}

	// Documents, in a stable order so that de-duplicated names are stable.
	docs := make([]*record.File, 0, len(in.Files))
	for i := range in.Files {
		f := &in.Files[i]
		if reason := exclusion(f, inImaging); reason != "" {
			if reason == ReasonPending {
				p.Pending++
				continue
			}
			p.Excluded = append(p.Excluded, Excluded{FileID: f.ID, Upload: f.Key, Reason: reason})
			continue
		}
		if f.Document == nil || FolderFor(f.Document.Category) == "" {
			continue // DICOM accounted for in imaging
		}
		docs = append(docs, f)
	}
	slices.SortFunc(docs, func(a, b *record.File) int {
		return cmp.Or(
			cmp.Compare(a.Document.Date, b.Document.Date),
			cmp.Compare(a.Document.Category, b.Document.Category),
			cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.ID, b.ID))
	})
	for _, f := range docs {
		p.Items = append(p.Items, document(f, in.DerivedBucket, used))
	}
	p.Extracts = extracts(in, used)
	slices.SortFunc(p.Items, func(a, b Item) int { return cmp.Compare(a.Path, b.Path) })
	slices.SortFunc(p.Excluded, func(a, b Excluded) int { return cmp.Compare(a.FileID, b.FileID) })
	return p
}

// exclusion says why a file stays out ("" when it may go in).
func exclusion(f *record.File, inImaging map[string]bool) string {
	switch {
	case f.Status == record.StatusFailed:
		return ReasonRejected
	case f.Status == record.StatusSkipped:
		return ReasonSkipped
	case f.Pending():
		return ReasonPending
	case f.Type == record.TypeZIP || f.Archive != nil:
		return ReasonArchive
	case f.Type == record.TypeDICOMDIR:
		return ReasonDICOMDIR
	case f.DICOM != nil || f.Type == record.TypeDICOM:
		if inImaging[f.ID] {
			return ""
		}
		if f.DICOM != nil && f.DICOM.DuplicateOf != "" {
			return ReasonDuplicate
		}
		return ReasonNotInFileSet
	case f.Document == nil:
		return ReasonUnclassified
	}
	switch f.Document.Category {
	case record.CategoryPortalExport:
		if f.Document.Format == record.FormatCCDA {
			return ReasonCCDA
		}
		return ReasonPortalExport
	case record.CategoryImagingPicture:
		return ReasonPicture
	case "":
		return ReasonUnclassified
	}
	if FolderFor(f.Document.Category) == "" {
		return ReasonOther
	}
	return ""
}

func imaging(idx *record.DicomIndex, byID map[string]*record.File, in map[string]bool, used map[string]bool, gaps *[]string) []Item {
	studies := slices.Clone(idx.Studies)
	slices.SortFunc(studies, func(a, b record.Study) int { return cmp.Compare(a.Folder, b.Folder) })
	var items []Item
	for _, st := range studies {
		folder := FilePart(st.Folder)
		if folder == "" {
			folder = "Study"
		}
		dir := unique(used, DirImaging+"/"+folder, "")
		if st.FileSet == nil {
			// No file-set written: the instances still go in, without a DICOMDIR.
			*gaps = append(*gaps, fmt.Sprintf("Scan %s has no DICOMDIR yet: its files are included without one.", folder))
			n := 0
			for _, se := range st.Series {
				for _, m := range se.Members {
					n++
					p := unique(used, fmt.Sprintf("%s/DICOM/IM%06d", dir, n), "")
					items = append(items, Item{Path: p, Source: Source{Bucket: m.Bucket, Key: m.Key, Size: m.Size, ETag: m.ETag},
						FileID: m.FileID, Upload: upload(byID, m.FileID, m.Key), Category: KindDICOM, Kind: KindDICOM})
					in[m.FileID] = true
				}
			}
			continue
		}
		fs := st.FileSet
		items = append(items, Item{Path: unique(used, dir+"/DICOMDIR", ""),
			Source:   Source{Bucket: fs.DICOMDIRBucket, Key: fs.DICOMDIRKey, Size: fs.DICOMDIRSize},
			Category: KindDICOMDIR, Kind: KindDICOMDIR})
		for _, e := range fs.Entries {
			rel := cleanRel(e.Path)
			if rel == "" {
				*gaps = append(*gaps, fmt.Sprintf("Scan %s lists an entry with an unusable path; it was left out.", folder))
				continue
			}
			items = append(items, Item{Path: unique(used, dir+"/"+rel, ""),
				Source: Source{Bucket: e.Bucket, Key: e.Key, Size: e.Size},
				FileID: e.FileID, Upload: upload(byID, e.FileID, e.Key), Category: KindDICOM, Kind: KindDICOM})
			in[e.FileID] = true
		}
	}
	return items
}

func upload(byID map[string]*record.File, id, fallback string) string {
	if f, ok := byID[id]; ok {
		return f.Key
	}
	return fallback
}

// cleanRel keeps a file-set path only if it is a plain relative path.
func cleanRel(p string) string {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") {
		return ""
	}
	c := path.Clean(p)
	if c != p || c == "." || strings.HasPrefix(c, "../") || c == ".." {
		return ""
	}
	return c
}

func document(f *record.File, derived string, used map[string]bool) Item {
	d := f.Document
	it := Item{FileID: f.ID, Upload: f.Key, Category: d.Category, Kind: KindDocument,
		Source: Source{Bucket: f.Bucket, Key: f.Key, Size: f.Size, ETag: f.ETag}}
	ext := extension(f.Type, f.Path)
	// A passport stays the clear photo it was; other scans go in as the
	// OCR service's searchable PDF.
	if d.SearchableKey != "" && d.Category != record.CategoryPassport {
		it.Source = Source{Bucket: cmp.Or(d.SearchableBucket, derived), Key: d.SearchableKey, Size: -1}
		it.Searchable = true
		ext = ".pdf"
	}
	base := docTitle(d)
	if validDate(d.Date) {
		base = d.Date + "_" + base
	}
	it.Path = unique(used, FolderFor(d.Category)+"/"+base, ext)
	return it
}

// docTitle is the readable type part of a document's name.
func docTitle(d *record.Document) string {
	parts := []string{}
	switch d.Category {
	case record.CategorySummary:
		parts = append(parts, "Case_Summary_uploaded")
	case record.CategoryRadiologyReport:
		parts = append(parts, "Radiology_Report", FilePart(d.Modality), FilePart(d.BodyPart))
	case record.CategoryLabReport:
		parts = append(parts, "Lab_Report")
		for _, panel := range d.Panels {
			parts = append(parts, strings.ToUpper(FilePart(panel)))
		}
	case record.CategoryEKG:
		parts = append(parts, "EKG")
	case record.CategoryChestXRay:
		parts = append(parts, "Chest_XRay_Report")
	case record.CategoryOperativeNote:
		parts = append(parts, "Operative_Note")
	case record.CategoryMedicationList:
		parts = append(parts, "Medication_List")
	case record.CategoryPassport:
		parts = append(parts, "Passport")
	default:
		parts = append(parts, "Document")
	}
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), "_")
}

func extension(typ, name string) string {
	switch typ {
	case record.TypePDF:
		return ".pdf"
	case record.TypeJPEG:
		return ".jpg"
	case record.TypePNG:
		return ".png"
	case record.TypeTIFF:
		return ".tif"
	case record.TypeText:
		return ".txt"
	}
	if e := strings.ToLower(FilePart(strings.TrimPrefix(path.Ext(name), "."))); e != "" && len(e) <= 5 {
		return "." + e
	}
	return ""
}

// unique returns base+ext, or base_2+ext, base_3+ext... whichever is not used yet.
func unique(used map[string]bool, base, ext string) string {
	p := base + ext
	for n := 2; used[p]; n++ {
		p = fmt.Sprintf("%s_%d%s", base, n, ext)
	}
	used[p] = true
	return p
}
