package checklist

import (
	"slices"
	"sort"
	"strings"

	"github.com/handoffmed/handoff/platform/clinical"
	"github.com/handoffmed/handoff/platform/record"
)

// medRef is a medication with the file it came from ("" for the case fields).
type medRef struct {
	med  record.Medication
	file string
	list bool // from a medication list or summary (not merely mentioned elsewhere)
}

// allMeds returns the case's current medications: typed on the case, on a
// medication list or summary, the current medications of a portal export
// read from its coded entries (C-CDA, with doses), and with
// includeMentions those other documents mention. Each carries the class
// the clinical vocabulary gives it.
func (k *Checker) allMeds(s *state, includeMentions bool) []medRef {
	var out []medRef
	add := func(m record.Medication, file string, list bool) {
		if file != "" && !currentMed(m, s.ref) {
			return
		}
		m.Class = k.vocab.MedicationClass(m)
		if d, ok := k.vocab.Medication(m); ok {
			m.Generic = d.Generic
		} else if m.Generic == "" {
			m.Generic = clinical.Key(m.Name)
		}
		out = append(out, medRef{med: m, file: file, list: list})
	}
	for _, m := range k.an.Medications(s.c.Summary.Medications) {
		add(m, "", true)
	}
	for _, cat := range []string{record.CategoryMedicationList, record.CategorySummary} {
		for _, d := range s.byCat[cat] {
			for _, m := range d.d.Medications {
				add(m, d.id, true)
			}
		}
	}
	for _, d := range s.docs {
		if codedList(d.d) && !slices.Contains([]string{record.CategoryMedicationList, record.CategorySummary}, d.d.Category) {
			for _, m := range d.d.Medications {
				add(m, d.id, true)
			}
		}
	}
	if includeMentions {
		for _, cat := range []string{record.CategoryPortalExport, record.CategoryOther, record.CategoryOperativeNote} {
			for _, d := range s.byCat[cat] {
				if codedList(d.d) {
					continue
				}
				for _, m := range d.d.Medications {
					add(m, d.id, false)
				}
			}
		}
	}
	return out
}

// codedList reports whether a document's medications are a coded list of
// current medications (a C-CDA medications section), as good as a
// medication list.
func codedList(d *record.Document) bool {
	return d.Format == record.FormatCCDA && len(d.Medications) > 0
}

var classNames = map[string]string{
	record.MedAnticoagulant: "anticoagulant",
	record.MedAntiplatelet:  "antiplatelet",
	record.MedSupplement:    "supplement that affects clotting",
}

func (k *Checker) medications(s *state, f facts) {
	meds := k.allMeds(s, true)
	var listFiles []string
	listed := false
	for _, d := range s.byCat[record.CategoryMedicationList] {
		listFiles = append(listFiles, d.id)
		listed = true
	}
	for _, d := range s.byCat[record.CategorySummary] {
		if len(d.d.Medications) > 0 || d.d.SummaryFact != nil && len(d.d.SummaryFact.Medications) > 0 {
			listFiles = append(listFiles, d.id)
			listed = true
		}
	}
	for _, d := range s.docs {
		if codedList(d.d) {
			listFiles = append(listFiles, d.id)
			listed = true
		}
	}
	if len(s.c.Summary.Medications) > 0 {
		listed = true
	}
	status := record.PartOK
	if !listed {
		s.add(CodeMedsMissing, record.SeverityError,
			"No medication list: list every current prescription with its dose and how long it has been taken, plus aspirin, blood thinners and supplements (fish oil, ginkgo, vitamin E, garlic, turmeric...), or write \"none\".")
		status = record.PartMissing
	}
	// Blood thinners and clotting-affecting supplements, wherever named.
	var names, nsaids []string
	var files, nsaidFiles []string
	seen := map[string]bool{}
	for _, m := range meds {
		c := m.med.Class
		if c == clinical.ClassNSAID {
			if !slices.Contains(nsaids, m.med.Generic) {
				nsaids = append(nsaids, m.med.Generic)
			}
			if m.file != "" {
				nsaidFiles = append(nsaidFiles, m.file)
			}
			continue
		}
		if c == "" {
			continue
		}
		if !seen[m.med.Generic] {
			seen[m.med.Generic] = true
			names = append(names, m.med.Generic+" ("+classNames[c]+")")
		}
		if m.file != "" {
			files = append(files, m.file)
		}
	}
	switch {
	case len(names) > 0:
		sort.Strings(names)
		s.add(CodeMedsAnticoagulant, record.SeverityWarning,
			"Blood thinners or medicines and supplements that affect clotting are listed: "+strings.Join(names, ", ")+
				". They usually have to be stopped 5-7 days before surgery, only under the supervision of the prescribing doctor; tell the hospital abroad and plan the stop with your doctor.",
			files...)
		if status == record.PartOK {
			status = record.PartWarning
		}
	case f.cond.BloodThinners:
		s.add(CodeMedsAnticoagulant, record.SeverityWarning,
			"Blood thinners are declared but none is named on the medication list: name the drug and dose. Blood thinners usually have to be stopped 5-7 days before surgery, only under the supervision of the prescribing doctor.")
		if status == record.PartOK {
			status = record.PartWarning
		}
	}
	if len(nsaids) > 0 {
		sort.Strings(nsaids)
		s.add(CodeMedsNSAID, record.SeverityInfo,
			"Anti-inflammatory painkillers (NSAIDs) are listed: "+strings.Join(nsaids, ", ")+
				". They thin the blood a little while taken and are usually stopped a few days before surgery; ask the surgeon when.", nsaidFiles...)
	}
	var noDose []string
	var noDoseFiles []string
	seen = map[string]bool{}
	for _, m := range meds {
		if !m.list || m.med.Dose != "" || seen[m.med.Generic] {
			continue
		}
		seen[m.med.Generic] = true
		noDose = append(noDose, m.med.Generic)
		if m.file != "" {
			noDoseFiles = append(noDoseFiles, m.file)
		}
	}
	if len(noDose) > 0 {
		sort.Strings(noDose)
		s.add(CodeMedsDoseMissing, record.SeverityWarning,
			plural(len(noDose), "medication has", "medications have")+" no dose: "+strings.Join(noDose, ", ")+". Add the strength and how often it is taken.", noDoseFiles...)
		if status == record.PartOK {
			status = record.PartWarning
		}
	}
	s.part(record.PartMedications, status, listFiles)
}
