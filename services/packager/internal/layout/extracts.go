package layout

import (
	"cmp"
	"slices"
	"time"

	"github.com/handoffmed/handoff/platform/record"
)

// Extract kinds.
const (
	ExtractLabs        = "labs"
	ExtractMedications = "medications"
	ExtractProcedures  = "procedures"
)

// LabWindow is how far back (days before the reference date) a lab
// extract's results go: the checklist's own limit for recent labs.
const LabWindow = 90

// Extract is a readable PDF the packager makes from the facts of a portal
// export read as C-CDA: its recent results (04_Labs), its current
// medications (06_Medications) or its procedures (05_Prior_Surgical_Notes).
type Extract struct {
	// Path is relative to the bundle folder:
	// "04_Labs/2026-04-20_Lab_Results_from_portal.pdf".
	Path     string
	Kind     string // Extract*
	Category string // the part's document category (lab_report, medication_list, operative_note)
	FileID   string // the portal export it is made from
	Upload   string // its upload key
	ETag     string // its revision
	// From is the patient's own path of the export; Date its date.
	From, Date string
	// Since is the first day of the results shown (labs), YYYY-MM-DD; empty
	// when every dated result is.
	Since string
}

// extracts plans the extracts of every C-CDA portal export, exports in
// file ID order.
func extracts(in Input, used map[string]bool) []Extract {
	since := ""
	if ref, err := time.Parse(time.DateOnly, in.ReferenceDate); err == nil {
		since = ref.AddDate(0, 0, -LabWindow).Format(time.DateOnly)
	}
	files := make([]*record.File, 0, len(in.Files))
	for i := range in.Files {
		f := &in.Files[i]
		if f.Status == record.StatusDone && f.Document != nil && f.Document.Format == record.FormatCCDA {
			files = append(files, f)
		}
	}
	slices.SortFunc(files, func(a, b *record.File) int { return cmp.Compare(a.ID, b.ID) })
	var out []Extract
	for _, f := range files {
		d := f.Document
		base := Extract{FileID: f.ID, Upload: f.Key, ETag: f.ETag, From: cmp.Or(f.Path, f.Key), Date: d.Date}
		if labs := RecentLabs(d.Labs, since, in.ReferenceDate); len(labs) > 0 {
			e := base
			e.Kind, e.Category, e.Since = ExtractLabs, record.CategoryLabReport, since
			latest := slices.MaxFunc(labs, func(a, b record.LabResult) int { return cmp.Compare(a.Date, b.Date) }).Date
			name := "Lab_Results_from_portal"
			if validDate(latest) {
				name = latest + "_" + name
			}
			e.Path = unique(used, DirLabs+"/"+name, ".pdf")
			out = append(out, e)
		}
		if len(d.Medications) > 0 {
			e := base
			e.Kind, e.Category = ExtractMedications, record.CategoryMedicationList
			e.Path = unique(used, DirMedication+"/Medication_List_from_portal", ".pdf")
			out = append(out, e)
		}
		if len(d.Procedures) > 0 {
			e := base
			e.Kind, e.Category = ExtractProcedures, record.CategoryOperativeNote
			e.Path = unique(used, DirSurgical+"/Procedures_from_portal", ".pdf")
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b Extract) int { return cmp.Compare(a.Path, b.Path) })
	return out
}

// RecentLabs are the dated results from since to until (YYYY-MM-DD, either
// empty for no bound), in their order.
func RecentLabs(labs []record.LabResult, since, until string) []record.LabResult {
	var out []record.LabResult
	for _, r := range labs {
		if r.Date == "" || since != "" && r.Date < since || until != "" && r.Date > until {
			continue
		}
		out = append(out, r)
	}
	return out
}
