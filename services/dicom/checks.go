package dicom

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/textfold"
)

// The checks below are pure functions of record fields, so that any stage
// holding the case state (the checklist, the packager) applies the same
// rules. The DICOM service stores their results in DicomIndex.Findings.

// NameMatches reports whether a DICOM Person Name (PN, "Family^Given^Middle",
// possibly with ideographic and phonetic groups after "=") names the case's
// patient. It tolerates the "^" delimiters, letter case, word order,
// punctuation, accents and extra middle names or suffixes, and is strict on
// spelling: every word of the case's family and given names must appear.
// An empty name on either side matches (nothing to compare).
func NameMatches(p record.Patient, pn string) bool {
	want := nameWords(p.FamilyName + " " + p.GivenName)
	if len(want) == 0 {
		return true
	}
	groups := strings.Split(pn, "=")
	anyName := false
	for _, g := range groups {
		got := nameWords(g)
		if len(got) == 0 || !latin(got) {
			continue // ideographic or phonetic groups cannot be compared with the case's name
		}
		anyName = true
		if wordsCover(got, want) {
			return true
		}
	}
	return !anyName
}

// wordsCover reports whether every wanted word is among got, or among got's
// adjacent pairs run together ("smith jones" vs "smithjones").
func wordsCover(got, want []string) bool {
	have := map[string]bool{}
	for i, w := range got {
		have[w] = true
		if i > 0 {
			have[got[i-1]+w] = true
		}
	}
	for i, w := range want {
		if have[w] {
			continue
		}
		if i+1 < len(want) && have[w+want[i+1]] {
			continue
		}
		if i > 0 && have[want[i-1]+w] {
			continue
		}
		return false
	}
	return true
}

func latin(words []string) bool {
	for _, w := range words {
		for _, r := range w {
			if r >= 0x80 {
				return false
			}
		}
	}
	return true
}

// nameWords splits a name into lower-case words without accents or punctuation.
func nameWords(s string) []string {
	s = strings.ToLower(textfold.Fold(s))
	words := strings.FieldsFunc(s, func(r rune) bool {
		return r == '^' || r == ',' || r == '-' || r == '/' || unicode.IsSpace(r)
	})
	out := words[:0]
	for _, w := range words {
		w = strings.Map(func(r rune) rune {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				return r
			}
			return -1
		}, w)
		if w != "" {
			out = append(out, w)
		}
	}
	return out
}

// PatientMismatch returns why a study's patient disagrees with the case
// ("name", "birth date"), or nil. Fields empty on either side are not compared.
func PatientMismatch(p record.Patient, st record.Study) []string {
	var why []string
	if !NameMatches(p, st.PatientName) {
		why = append(why, "name")
	}
	if p.BirthDate != "" && st.PatientBirthDate != "" && p.BirthDate != st.PatientBirthDate {
		why = append(why, "birth date")
	}
	return why
}

// identity is the patient as one study states it.
type identity struct{ name, id, birth string }

func (i identity) key() string {
	return strings.Join(nameWords(strings.Split(i.name, "=")[0]), " ") + "|" + i.id + "|" + i.birth
}

// Findings runs the imaging checks on an index: patient mismatch (against the
// case's patient, or, when the case states none, against the identity most
// series share), incomplete series, secondary captures, and duplicates
// (dupOf: duplicate file ID → first file ID).
func Findings(p record.Patient, idx record.DicomIndex, dupOf map[string]string) []record.Finding {
	var out []record.Finding
	caseHasPatient := p.FamilyName != "" || p.GivenName != "" || p.BirthDate != ""
	// The identity most series share, for cases without patient fields and for IDs.
	votes := map[string]int{}
	for _, st := range idx.Studies {
		votes[identity{st.PatientName, st.PatientID, st.PatientBirthDate}.key()] += len(st.Series)
	}
	major, best := "", 0
	for k, v := range votes {
		if v > best || v == best && k < major {
			major, best = k, v
		}
	}
	for _, st := range idx.Studies {
		var why []string
		if caseHasPatient {
			why = PatientMismatch(p, st)
		} else if len(votes) > 1 && (identity{st.PatientName, st.PatientID, st.PatientBirthDate}).key() != major {
			why = append(why, "")
		}
		for _, se := range st.Series {
			files := memberFiles(se)
			if len(why) > 0 {
				msg := fmt.Sprintf("Scan %s, series %d: the patient's %s on the images does not match the case.",
					st.Folder, se.Number, strings.Join(why, " and "))
				if why[0] == "" {
					msg = fmt.Sprintf("Scan %s, series %d: the patient's name, ID or birth date on the images differs from the other scans of the case.",
						st.Folder, se.Number)
				}
				out = append(out, record.Finding{
					Code: record.CodeImagingPatientMismatch, Severity: record.SeverityError,
					Message: msg, Files: files,
				})
			}
			if len(se.Missing) > 0 || se.Declared > se.Instances {
				msg := fmt.Sprintf("Scan %s, series %d: ", st.Folder, se.Number)
				switch {
				case len(se.Missing) > 0:
					msg += fmt.Sprintf("%d image(s) missing (instance numbers %s).", len(se.Missing), numberList(se.Missing))
				default:
					msg += fmt.Sprintf("%d of the %d images the series declares were uploaded.", se.Instances, se.Declared)
				}
				out = append(out, record.Finding{
					Code: record.CodeImagingIncompleteSeries, Severity: record.SeverityWarning,
					Message: msg + " Upload the whole series from the imaging CD or the hospital.", Files: files,
				})
			}
			if se.SecondaryCapture {
				out = append(out, record.Finding{
					Code: record.CodeImagingSecondaryCapture, Severity: record.SeverityWarning,
					Message: fmt.Sprintf("Scan %s, series %d is a screenshot or secondary capture, not diagnostic images; hospitals need the original DICOM series.",
						st.Folder, se.Number),
					Files: files,
				})
			}
		}
	}
	if len(dupOf) > 0 {
		files := make([]string, 0, len(dupOf))
		for f := range dupOf {
			files = append(files, f)
		}
		slices.Sort(files)
		out = append(out, record.Finding{
			Code: record.CodeImagingDuplicate, Severity: record.SeverityInfo,
			Message: fmt.Sprintf("%d DICOM file(s) were uploaded more than once; each image is kept once.", len(files)),
			Files:   files,
		})
	}
	return out
}

func memberFiles(se record.Series) []string {
	files := make([]string, 0, len(se.Members))
	for _, m := range se.Members {
		files = append(files, m.FileID)
	}
	return files
}

// numberList prints up to 10 numbers, then "…".
func numberList(ns []int) string {
	var parts []string
	for i, n := range ns {
		if i == 10 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, itoa(n))
	}
	return strings.Join(parts, ", ")
}
