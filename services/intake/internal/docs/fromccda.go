package docs

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/handoffmed/handoff/platform/ccda"
	"github.com/handoffmed/handoff/platform/clinical"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/intake/internal/understand"
)

// FromCCDA is what a C-CDA document says, as the file's record.Document: a
// portal export (FormatCCDA) with the document's date, the patient's
// identity (names, birth date, sex: the checklist compares them with the
// passport and the case) and its coded facts. Medications are the current
// ones (not stopped, completed or ended before the document's date), with
// the generic name and clotting class the vocabulary gives where the
// document left them empty; results get their panel from the vocabulary
// likewise. Pages is 0: the export has no pages of its own.
func FromCCDA(d *ccda.Document, vocab *clinical.Vocabulary) record.Document {
	doc := record.Document{
		Category: record.CategoryPortalExport,
		Format:   record.FormatCCDA,
		Date:     d.Date,
		Sex:      d.Patient.Sex,
	}
	if d.Date != "" {
		doc.DateKind = understand.DateDocument
	}
	if name := strings.TrimSpace(strings.Join(append(slices.Clone(d.Patient.Given), d.Patient.Family), " ")); name != "" {
		doc.Names = []string{name}
	}
	if _, err := time.Parse(time.DateOnly, d.Patient.BirthDate); err == nil {
		doc.BirthDates = []string{d.Patient.BirthDate}
	}
	for _, m := range d.Medications {
		if !currentMed(m, d.Date) {
			continue
		}
		if drug, ok := vocab.Medication(m); ok {
			if m.Generic == "" {
				m.Generic = drug.Generic
			}
			if m.Class == "" {
				m.Class = drug.MedicationClass()
			}
		}
		doc.Medications = append(doc.Medications, m)
	}
	var panels []string
	for _, r := range d.Results {
		if t, ok := vocab.Lab(r); ok && r.Panel == "" && len(t.Panels) > 0 {
			r.Panel = t.Panels[0]
		}
		if r.Panel != "" && !slices.Contains(panels, r.Panel) {
			panels = append(panels, r.Panel)
		}
		doc.Labs = append(doc.Labs, r)
	}
	for _, p := range []string{record.PanelCBC, record.PanelBMP, record.PanelCMP, record.PanelCoag, record.PanelHbA1c} {
		if slices.Contains(panels, p) {
			doc.Panels = append(doc.Panels, p)
		}
	}
	doc.Problems = slices.Clone(d.Problems)
	doc.Allergies = slices.Clone(d.Allergies)
	doc.Procedures = slices.Clone(d.Procedures)
	doc.Vitals = slices.Clone(d.Vitals)

	version := "C-CDA"
	if d.Version != "" {
		version += " " + d.Version
	}
	where := map[string]string{ccda.SourceXML: "XML", ccda.SourceHTML: "embedded in an HTML page", ccda.SourceXDM: "in an XDM archive"}[d.Source]
	doc.Evidence = []string{
		strings.TrimSpace(fmt.Sprintf("%s document %s", version, where)),
		fmt.Sprintf("%d current medications, %d results, %d problems, %d allergies, %d procedures, %d vital signs",
			len(doc.Medications), len(doc.Labs), len(doc.Problems), len(doc.Allergies), len(doc.Procedures), len(doc.Vitals)),
	}
	if d.TypeCode != "" {
		doc.Evidence = append(doc.Evidence, "document type LOINC "+d.TypeCode)
	}
	return doc
}

// currentMed reports whether a medication entry is current as of the
// document's date: not stopped, completed or cancelled, and not ended
// before the document was written.
func currentMed(m record.Medication, docDate string) bool {
	switch clinical.Key(m.Status) {
	case "completed", "stopped", "discontinued", "inactive", "cancelled", "canceled", "aborted", "nullified",
		"entered-in-error", "entered in error", "obsolete":
		return false
	}
	// Dates of any precision compare as text: "2013-07" sorts before "2013-07-17".
	if m.Stop != "" && docDate != "" && len(m.Stop) >= 4 && m.Stop < docDate[:min(len(docDate), len(m.Stop))] {
		return false
	}
	return true
}
