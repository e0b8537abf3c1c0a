package dicom

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/handoffmed/handoff/platform/record"
)

// IndexVersion is the version of the DicomIndex document.
const IndexVersion = 1

// Item is one indexed instance with where it is stored.
type Item struct {
	FileID   string
	Bucket   string
	Key      string
	ETag     string
	Size     int64
	Instance record.DicomInstance
}

// Dedupe keeps the first item of each SOP Instance UID (in the order given)
// and returns, for every other item's file ID, the file ID it duplicates.
func Dedupe(items []Item) (kept []Item, dupOf map[string]string) {
	first := make(map[string]string, len(items))
	dupOf = map[string]string{}
	for _, it := range items {
		uid := it.Instance.SOPInstanceUID
		if f, ok := first[uid]; ok {
			if f != it.FileID {
				dupOf[it.FileID] = f
			}
			continue
		}
		first[uid] = it.FileID
		kept = append(kept, it)
	}
	return kept, dupOf
}

// BuildIndex builds a case's imaging index from its items: duplicates
// (same SOP Instance UID) are indexed once, studies and series are sorted,
// every study gets its unique scan folder name, and the findings of the
// imaging checks against the case's patient are attached.
func BuildIndex(caseID string, patient record.Patient, items []Item, now time.Time) record.DicomIndex {
	sorted := slices.Clone(items)
	slices.SortStableFunc(sorted, func(a, b Item) int { return cmp.Compare(a.FileID, b.FileID) })
	kept, dupOf := Dedupe(sorted)

	type seriesAcc struct {
		s     record.Series
		insts []record.DicomInstance
	}
	studies := map[string]*record.Study{}
	series := map[string]*seriesAcc{}
	seriesOrder := map[string][]string{}
	var studyOrder []string
	for _, it := range kept {
		in := it.Instance
		st, ok := studies[in.StudyUID]
		if !ok {
			st = &record.Study{
				UID: in.StudyUID, Date: in.StudyDate, Description: in.StudyDescription,
				Accession: in.Accession, PatientName: in.PatientName, PatientID: in.PatientID,
				PatientBirthDate: in.PatientBirthDate, PatientSex: in.PatientSex,
			}
			studies[in.StudyUID] = st
			studyOrder = append(studyOrder, in.StudyUID)
		}
		fillStudy(st, in)
		key := in.StudyUID + "\x00" + in.SeriesUID
		se, ok := series[key]
		if !ok {
			se = &seriesAcc{s: record.Series{
				UID: in.SeriesUID, Number: in.SeriesNumber, Modality: in.Modality,
				BodyPart: in.BodyPart, Laterality: in.Laterality, Description: in.SeriesDescription,
			}}
			series[key] = se
			seriesOrder[in.StudyUID] = append(seriesOrder[in.StudyUID], key)
		}
		fillSeries(&se.s, in)
		se.insts = append(se.insts, in)
		se.s.Frames += max(in.Frames, 0)
		se.s.Declared = max(se.s.Declared, in.Declared)
		se.s.SecondaryCapture = se.s.SecondaryCapture || in.SecondaryCapture
		se.s.Members = append(se.s.Members, record.SeriesInstanceRef{
			FileID: it.FileID, SOPClassUID: in.SOPClassUID, SOPInstanceUID: in.SOPInstanceUID,
			TransferSyntax: in.TransferSyntax, Number: in.InstanceNumber,
			Size: it.Size, ETag: it.ETag, Bucket: it.Bucket, Key: it.Key,
		})
	}
	idx := record.DicomIndex{Version: IndexVersion, CaseID: caseID, Generated: now.UTC(), Studies: []record.Study{}}
	for _, uid := range studyOrder {
		st := studies[uid]
		for _, key := range seriesOrder[uid] {
			se := series[key]
			slices.SortStableFunc(se.s.Members, func(a, b record.SeriesInstanceRef) int {
				return cmp.Or(cmp.Compare(a.Number, b.Number), cmp.Compare(a.SOPInstanceUID, b.SOPInstanceUID))
			})
			se.s.Instances = len(se.s.Members)
			se.s.Missing = MissingNumbers(se.s.Members)
			st.Series = append(st.Series, se.s)
		}
		slices.SortStableFunc(st.Series, func(a, b record.Series) int {
			return cmp.Or(cmp.Compare(a.Number, b.Number), cmp.Compare(a.UID, b.UID))
		})
		idx.Studies = append(idx.Studies, *st)
	}
	slices.SortStableFunc(idx.Studies, func(a, b record.Study) int {
		return cmp.Or(cmp.Compare(a.Date, b.Date), cmp.Compare(a.UID, b.UID))
	})
	names := FolderNames(idx.Studies)
	for i := range idx.Studies {
		idx.Studies[i].Folder = names[i]
	}
	idx.Findings = Findings(patient, idx, dupOf)
	return idx
}

// fillStudy completes study fields that earlier instances left empty.
func fillStudy(st *record.Study, in record.DicomInstance) {
	set := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	set(&st.Date, in.StudyDate)
	set(&st.Description, in.StudyDescription)
	set(&st.Accession, in.Accession)
	set(&st.PatientName, in.PatientName)
	set(&st.PatientID, in.PatientID)
	set(&st.PatientBirthDate, in.PatientBirthDate)
	set(&st.PatientSex, in.PatientSex)
}

func fillSeries(s *record.Series, in record.DicomInstance) {
	set := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	set(&s.Modality, in.Modality)
	set(&s.BodyPart, in.BodyPart)
	set(&s.Laterality, in.Laterality)
	set(&s.Description, in.SeriesDescription)
	if s.Number == 0 {
		s.Number = in.SeriesNumber
	}
}

// MissingNumbers returns the InstanceNumbers absent between the lowest and
// highest present (nothing when fewer than two members are numbered, or the
// gap is implausibly large).
func MissingNumbers(members []record.SeriesInstanceRef) []int {
	var nums []int
	for _, m := range members {
		if m.Number > 0 {
			nums = append(nums, m.Number)
		}
	}
	if len(nums) < 2 {
		return nil
	}
	slices.Sort(nums)
	nums = slices.Compact(nums)
	lo, hi := nums[0], nums[len(nums)-1]
	if hi-lo+1-len(nums) > 10000 {
		return nil
	}
	var missing []int
	j := 0
	for n := lo; n <= hi; n++ {
		if nums[j] == n {
			j++
			continue
		}
		missing = append(missing, n)
	}
	return missing
}

// SeriesDigest identifies the set of instances of a series (for the
// completion event): a series that grows gets a new digest.
func SeriesDigest(s record.Series) string {
	uids := make([]string, 0, len(s.Members))
	for _, m := range s.Members {
		uids = append(uids, m.SOPInstanceUID+"/"+m.ETag)
	}
	slices.Sort(uids)
	h := sha256.Sum256([]byte(strings.Join(uids, "\n")))
	return hex.EncodeToString(h[:8])
}

// itoa is strconv.Itoa, short.
func itoa(n int) string { return strconv.Itoa(n) }
