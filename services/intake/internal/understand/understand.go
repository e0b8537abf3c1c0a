// Package understand reads what a document is and what it says: its
// category among the parts of a handoff file (with the rule or words that
// decided it), lab panels, the document's own date, the patient names and
// birth dates printed on it, medications, a passport's machine-readable
// zone and the facts of a case summary.
//
// Everything here is deterministic and local: rules and dictionaries over
// the document's text, no network service and no model.
package understand

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/handoffmed/handoff/platform/clinical"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/textlayout"
)

// Input is one document as the pipeline hands it over.
type Input struct {
	// Type is the sniffed content type (record.Type*).
	Type string
	// Pages holds the text of each page: from the PDF's own text layer or
	// from OCR. SplitPages cuts a sidecar text on form feeds.
	Pages []string
	// PageCount is the document's page count when Pages does not say it
	// (0: len(Pages)).
	PageCount int
	// OCR says some text came from OCR (names read by OCR are less sure).
	OCR bool
	// Layout holds the pages' words with their boxes (the OCR service's
	// layout sidecar), page n+1 for Pages[n]; nil for a plain-text upload.
	// Tables are read from it.
	Layout *textlayout.Layout
}

// Analyzer holds the compiled rules. It is safe for concurrent use.
type Analyzer struct {
	vocab       *clinical.Vocabulary
	dates       *dateParser
	facts       *factReader
	meds        *medParser
	signals     []signal
	analytes    []analyte
	panelTitles map[string]*regexp.Regexp
	inrRe       *regexp.Regexp
	overlayRe   []*regexp.Regexp
	modalities  []labelled
	bodyParts   []labelled
	chestXRayRe *regexp.Regexp
	examLineRe  *regexp.Regexp
	// impressionRe starts a report's impression; sectionEndRe ends it.
	impressionRe *regexp.Regexp
	sectionEndRe *regexp.Regexp
	bilatRe      *regexp.Regexp
	rightRe      *regexp.Regexp
	leftRe       *regexp.Regexp
	summary      *summaryReader
	headers      headerWords
	sections     sectionRules
}

type labelled struct {
	label string
	re    *regexp.Regexp
}

// New compiles the rules with a vocabulary of its own.
func New() *Analyzer { return NewWith(clinical.New()) }

// NewWith compiles the rules over the given clinical vocabulary.
func NewWith(vocab *clinical.Vocabulary) *Analyzer {
	dates := newDateParser()
	re := func(s string) *regexp.Regexp { return regexp.MustCompile(`(?i)` + s) }
	a := &Analyzer{
		vocab:       vocab,
		headers:     newHeaderWords(),
		sections:    newSectionRules(),
		dates:       dates,
		facts:       newFactReader(dates),
		meds:        newMedParser(dates, vocab),
		signals:     signals(),
		analytes:    analytes(vocab),
		panelTitles: panelTitles(vocab),
		inrRe:       re(`\binr\b[^\n]{0,40}\d`),
		overlayRe: []*regexp.Regexp{
			re(`\b(?:se|ser|series|im|img|image)\s*[:#]?\s*\d+\b`),
			re(`\b(?:w|ww|wl|l|c|wc)\s*[:=]\s*-?\d+`),
			re(`\b(?:t1|t2|stir|flair|dwi|adc|pd|sag|ax|cor|axial|sagittal|coronal|fov|thk|kvp|mas|tr|te|slice|loc)\b`),
			re(`\b(?:mri|mr|ct|x-?ray|dicom|pacs|viewer|zoom)\b`),
			re(`\b\d+(?:\.\d+)?\s*mm\b`),
		},
		modalities: []labelled{
			{"PET", re(`\bpet(?:/ct)?\b|\bpositron\b`)},
			{"MRI", re(`\bmri\b|\bmr\b|\bmra\b|\bmagnetic resonance\b`)},
			{"CT", re(`\bct\b|\bcta\b|\bcomputed tomography\b|\bcat scan\b`)},
			{"US", re(`\bultrasound\b|\bsonogra\w*|\bus\b(?:\s+(?:of|abdomen|pelvis|renal|thyroid|carotid))|\bdoppler\b|\bechocardiogra\w*`)},
			{"Mammo", re(`\bmammogra\w*`)},
			{"NM", re(`\bnuclear medicine\b|\bbone scan\b|\bspect\b`)},
			{"DEXA", re(`\bdexa\b|\bdxa\b|\bbone density\b`)},
			{"Fluoro", re(`\bfluoroscop\w*`)},
			{"XRay", re(`\bx-?ray\b|\bxr\b|\bradiograph\w*|\bcxr\b|\bcr\b|\bdx\b|\b\d\s*views?\b|\bpa and lateral\b|\bpa/lat(?:eral)?\b|\bportable\s+(?:ap|chest)\b`)},
		},
		bodyParts: []labelled{
			{"cervical spine", re(`\bcervical spine\b|\bc-spine\b|\bc spine\b`)},
			{"thoracic spine", re(`\bthoracic spine\b|\bt-spine\b`)},
			{"lumbar spine", re(`\blumbar(?:\s+spine)?\b|\bl-spine\b|\blumbosacral\b|\bl\d-l?\d\b`)},
			{"brain", re(`\bbrain\b|\bhead\b|\bskull\b`)},
			{"chest", re(`\bchest\b|\bthorax\b|\blungs?\b|\bcxr\b`)},
			{"heart", re(`\bcardiac\b|\bheart\b|\bcoronary\b`)},
			{"abdomen", re(`\babdomen\b|\babdominal\b|\bliver\b`)},
			{"pelvis", re(`\bpelvis\b|\bpelvic\b`)},
			{"hip", re(`\bhips?\b|\bfemoral head\b|\bacetabul\w*`)},
			{"knee", re(`\bknees?\b`)},
			{"shoulder", re(`\bshoulders?\b|\brotator cuff\b`)},
			{"ankle", re(`\bankles?\b`)},
			{"foot", re(`\bfoot\b|\bfeet\b`)},
			{"wrist", re(`\bwrists?\b`)},
			{"hand", re(`\bhands?\b`)},
			{"elbow", re(`\belbows?\b`)},
			{"neck", re(`\bneck\b|\bthyroid\b`)},
			{"breast", re(`\bbreasts?\b`)},
		},
		chestXRayRe: re(`\b(?:x-?ray|xr|radiograph\w*|cxr|cr|dx|\d\s*views?|two views|single view|pa and lateral|pa/lat\w*|frontal and lateral|portable)\b[^\n]{0,40}\bchest\b|\bchest\b[^\n]{0,40}\b(?:x-?ray|xr|radiograph\w*|\d\s*views?|two views|single view|pa and lateral|pa/lat\w*|frontal and lateral|ap portable|portable|1v|2v|pa\b)|\bcxr\b`),
		examLineRe:  re(`^\s*(?:exam(?:ination)?|study|procedure|exam\s+description|study\s+description|type of (?:exam|study)|order(?:ed)?(?:\s+exam)?)\s*:\s*(.+)$`),
	}
	a.impressionRe = re(`^\s*(?:impression|conclusions?|summary impression|opinion)\s*:?\s*(.*)$`)
	a.sectionEndRe = re(`^\s*(?:[a-z][a-z /&-]{2,40}:\s*$|[A-Z][A-Z /&-]{2,40}:|(?:electronically\s+)?(?:signed|dictated|transcribed|approved|reviewed|read)\b|radiologist\b|attending\b|this report\b|end of report\b|page \d+)`)
	a.bilatRe = re(`\b(?:bilateral|both|bilat)\b`)
	a.rightRe = re(`\b(?:right|rt)\b`)
	a.leftRe = re(`\b(?:left|lt)\b`)
	a.summary = newSummaryReader(a)
	return a
}

// Vocabulary is the clinical vocabulary the rules use.
func (a *Analyzer) Vocabulary() *clinical.Vocabulary { return a.vocab }

// SplitPages cuts a text sidecar into pages at form feeds (pdftotext and
// tesseract both end each page with one). A trailing empty page is dropped.
func SplitPages(text string) []string {
	pages := strings.Split(text, "\f")
	if len(pages) > 1 && strings.TrimSpace(pages[len(pages)-1]) == "" {
		pages = pages[:len(pages)-1]
	}
	return pages
}

// Analyze reads one document. The result has only the understanding
// fields of record.Document set (Category, Evidence, Panels, Date,
// DateKind, Names, BirthDates, Medications, Passport, SummaryFact,
// Modality, BodyPart) plus Pages; Merge copies them onto a stored document.
func (a *Analyzer) Analyze(in Input) record.Document {
	doc := record.Document{Pages: in.PageCount}
	if doc.Pages == 0 {
		doc.Pages = len(in.Pages)
	}
	// Pages with tables read row by row: a drug beside its dose.
	tabs := readTables(in)
	in.Pages = tabs.pages
	text := strings.Join(in.Pages, "\n")
	lines := strings.Split(text, "\n")
	isImage := in.Type == record.TypeJPEG || in.Type == record.TypePNG || in.Type == record.TypeTIFF

	doc.Names = a.facts.names(lines)
	doc.BirthDates = a.facts.birthDates(lines)

	// A passport's zone decides alone.
	if p, err := ReadMRZ(text); p != nil {
		doc.Category = record.CategoryPassport
		doc.Passport = p
		if err == nil {
			doc.Evidence = []string{"passport machine-readable zone (ICAO 9303 TD3), check digits verified"}
			addName(&doc, strings.TrimSpace(p.GivenNames+" "+p.Surname))
		} else {
			doc.Evidence = []string{"passport machine-readable zone (ICAO 9303 TD3), check digits do not verify"}
		}
		return doc
	}

	// Medication tables give their rows whole (never a drug from the
	// column that says what it is for); the text parser reads the rest.
	printed := a.sections.printed(in.Pages)
	tableMeds, medText := a.medTables(tabs, text, printed)
	scores := a.score(text)
	meds := combineMeds(tableMeds, a.meds.parse(medText, true))
	if len(meds) > 0 {
		sc := scores[record.CategoryMedicationList]
		if sc == nil {
			sc = &scored{cat: record.CategoryMedicationList}
			scores[record.CategoryMedicationList] = sc
		}
		n := min(len(meds), 5)
		sc.score += 2 * n
		sc.evidence = append(sc.evidence, pluralf(len(meds), "medication line"))
	}
	panels, found := a.labPanels(text)
	if len(found) > 0 {
		sc := scores[record.CategoryLabReport]
		if sc == nil {
			sc = &scored{cat: record.CategoryLabReport}
			scores[record.CategoryLabReport] = sc
		}
		sc.score += min(len(found), 8)
		sc.evidence = append(sc.evidence, "analytes: "+strings.Join(found, ", "))
		if len(found) < 2 {
			sc.score = min(sc.score, thresholds[record.CategoryLabReport]-1)
		}
	}

	cat, ev := a.decide(scores, doc.Pages, isImage, text)
	if printed {
		cat = record.CategoryPortalExport
		ev = append([]string{"a C-CDA record printed with HL7's CDA stylesheet (its header labels)"}, ev...)
		doc.Format = record.FormatPrintedCCDA
	}
	doc.Category = cat
	doc.Evidence = ev

	a.alsoPages(&doc, in.Pages)
	switch cat {
	case record.CategoryLabReport:
		doc.Panels = union(panels, doc.Panels)
		doc.Date, doc.DateKind = a.dateOf(lines, DateCollection)
	case record.CategoryRadiologyReport, record.CategoryChestXRay:
		doc.Date, doc.DateKind = a.dateOf(lines, DateExam)
		doc.Modality, doc.BodyPart = a.examOf(lines)
		doc.Impression = a.impression(lines)
	case record.CategoryOperativeNote:
		doc.Date, doc.DateKind = a.dateOf(lines, DateSurgery)
	case record.CategoryEKG:
		doc.Date, doc.DateKind = a.dateOf(lines, DateTest)
	case record.CategoryMedicationList:
		doc.Medications = meds
		doc.Date, doc.DateKind = a.dateOf(lines, DateDocument)
	case record.CategorySummary:
		doc.SummaryFact = a.summary.read(lines)
		doc.Medications = combineMeds(tableMeds, a.meds.parse(medText, false))
		for _, m := range doc.SummaryFact.Medications {
			if mm, ok := a.meds.entry(m); ok {
				doc.Medications = dedupeMeds(append(doc.Medications, mm))
			}
		}
	case record.CategoryPortalExport, record.CategoryOther:
		doc.Medications = combineMeds(tableMeds, a.meds.parse(medText, false))
		doc.Date, doc.DateKind = a.dateOf(lines, DateDocument)
	}
	switch {
	case printed:
		var sec record.Document
		a.printedFacts(&sec, in.Layout, tabs.tables, a.printedDate(in.Pages))
		doc.Medications = combineMeds(sec.Medications, doc.Medications)
		doc.Labs, doc.Vitals = sec.Labs, sec.Vitals
		doc.Problems, doc.Allergies, doc.Procedures = sec.Problems, sec.Allergies, sec.Procedures
	case cat == record.CategoryLabReport || cat == record.CategoryPortalExport || cat == record.CategoryOther:
		doc.Labs = a.labTables(tabs, doc.Date)
	}
	return doc
}

func (a *Analyzer) dateOf(lines []string, kind string) (string, string) {
	if d, ok := a.facts.date(lines, kind); ok {
		return d, kind
	}
	return "", ""
}

// alsoCategories are the categories a page of a combined document can add.
var alsoCategories = []string{record.CategoryLabReport, record.CategoryEKG, record.CategoryChestXRay,
	record.CategoryRadiologyReport, record.CategoryOperativeNote, record.CategoryMedicationList}

// alsoPages classifies each page of a multi-page document alone: a
// pre-operative packet often holds labs, an EKG and a chest X-ray report in
// one PDF. Categories other than the document's own, decided clearly (three
// points over the threshold), go to Also; the panels of lab pages to Panels.
func (a *Analyzer) alsoPages(doc *record.Document, pages []string) {
	switch doc.Category {
	case record.CategoryPortalExport, record.CategoryPassport, record.CategoryImagingPicture, record.CategorySummary:
		return
	}
	if len(pages) < 2 || len(pages) > 40 {
		return
	}
	for i, pg := range pages {
		if len(strings.TrimSpace(pg)) < 80 {
			continue
		}
		scores := a.score(pg)
		if meds := a.meds.parse(pg, true); len(meds) > 0 {
			if sc := scores[record.CategoryMedicationList]; sc != nil {
				sc.score += 2 * min(len(meds), 5)
			}
		}
		panels, found := a.labPanels(pg)
		if len(found) >= 2 {
			sc := scores[record.CategoryLabReport]
			if sc == nil {
				sc = &scored{cat: record.CategoryLabReport}
				scores[record.CategoryLabReport] = sc
			}
			sc.score += min(len(found), 8)
		}
		b := best(scores, record.CategoryPortalExport)
		if b == nil || b.score < thresholds[b.cat]+3 {
			continue
		}
		cat := b.cat
		if cat == record.CategoryRadiologyReport && a.chestXRayRe.MatchString(a.examText(pg)) {
			cat = record.CategoryChestXRay
		}
		if !slices.Contains(alsoCategories, cat) {
			continue
		}
		if cat == record.CategoryLabReport {
			doc.Panels = union(doc.Panels, panels)
		}
		if cat == doc.Category || slices.Contains(doc.Also, cat) {
			continue
		}
		doc.Also = append(doc.Also, cat)
		doc.Evidence = append(doc.Evidence, fmt.Sprintf("page %d: %s (score %d)", i+1, cat, b.score))
	}
}

// union returns the panels of a and b in the canonical order.
func union(a, b []string) []string {
	var out []string
	for _, p := range []string{record.PanelCBC, record.PanelBMP, record.PanelCMP, record.PanelCoag, record.PanelHbA1c} {
		if slices.Contains(a, p) || slices.Contains(b, p) {
			out = append(out, p)
		}
	}
	if slices.Contains(out, record.PanelCMP) {
		out = slices.DeleteFunc(out, func(p string) bool { return p == record.PanelBMP })
	}
	return out
}

// decide picks the category from the scores.
func (a *Analyzer) decide(scores map[string]*scored, pages int, isImage bool, text string) (string, []string) {
	// A long export from a patient portal, or any long document that mixes
	// kinds of records, is a portal export whatever else it holds.
	if ps := scores[record.CategoryPortalExport]; pages >= 10 {
		kinds := 0
		for _, c := range []string{record.CategoryLabReport, record.CategoryRadiologyReport, record.CategoryMedicationList,
			record.CategoryOperativeNote, record.CategoryEKG, catNote} {
			if s := scores[c]; s != nil && s.score >= thresholds[c] {
				kinds++
			}
		}
		portalScore := 0
		var ev []string
		if ps != nil {
			portalScore, ev = ps.score, ps.evidence
		}
		if portalScore >= 4 && (pages >= 20 || portalScore >= thresholds[record.CategoryPortalExport]) || pages >= 30 && kinds >= 2 {
			return record.CategoryPortalExport, append([]string{
				pluralf(pages, "page") + " holding " + pluralf(kinds, "kind") + " of records"}, ev...)
		}
	}
	b := best(scores, record.CategoryPortalExport)
	if b != nil && b.cat == record.CategoryRadiologyReport && a.chestXRayRe.MatchString(a.examText(text)) {
		ev := evidenceOf(b)
		return record.CategoryChestXRay, append(ev, `exam "chest radiograph"`)
	}
	if isImage && (b == nil || b.cat == catNote || b.cat == record.CategoryRadiologyReport && b.score < thresholds[b.cat]+4) {
		if ok, ev := a.imagingPicture(text); ok {
			return record.CategoryImagingPicture, ev
		}
	}
	if b == nil {
		if ps := scores[record.CategoryPortalExport]; ps != nil && ps.score >= thresholds[record.CategoryPortalExport] {
			return record.CategoryPortalExport, evidenceOf(ps)
		}
		return record.CategoryOther, []string{"no rule reached its threshold"}
	}
	if b.cat == catNote {
		return record.CategoryOther, append([]string{"clinical note, letter or bill"}, evidenceOf(b)...)
	}
	return b.cat, evidenceOf(b)
}

// imagingPicture decides whether a picture with no document text is a photo
// or screenshot of imaging.
func (a *Analyzer) imagingPicture(text string) (bool, []string) {
	hits := 0
	for _, re := range a.overlayRe {
		if re.MatchString(text) {
			hits++
		}
	}
	letters := 0
	for _, r := range text {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			letters++
		}
	}
	switch {
	case hits >= 2:
		return true, []string{"picture with imaging viewer overlay text"}
	case letters < 200:
		return true, []string{"picture with little or no document text"}
	}
	return false, nil
}

// examText is the exam line of a report, or its first lines.
func (a *Analyzer) examText(text string) string {
	lines := strings.Split(text, "\n")
	for _, l := range lines {
		if m := a.examLineRe.FindStringSubmatch(l); m != nil && a.hasModality(m[1]) {
			return m[1]
		}
	}
	head := lines[:min(len(lines), 15)]
	for _, l := range head {
		if a.hasModality(l) && a.hasBodyPart(l) {
			return l
		}
	}
	return strings.Join(head, "\n")
}

func (a *Analyzer) hasModality(s string) bool {
	for _, m := range a.modalities {
		if m.re.MatchString(s) {
			return true
		}
	}
	return false
}

func (a *Analyzer) hasBodyPart(s string) bool {
	for _, b := range a.bodyParts {
		if b.re.MatchString(s) {
			return true
		}
	}
	return false
}

// examOf reads a radiology report's modality and body part from its exam
// line (or its first lines).
func (a *Analyzer) examOf(lines []string) (modality, bodyPart string) {
	text := a.examText(strings.Join(lines, "\n"))
	for _, m := range a.modalities {
		if m.re.MatchString(text) {
			modality = m.label
			break
		}
	}
	for _, b := range a.bodyParts {
		if bodyPart != "" {
			break
		}
		if b.re.MatchString(text) {
			bodyPart = b.label
			switch {
			case a.bilatRe.MatchString(text):
				bodyPart = "bilateral " + bodyPart
			case a.rightRe.MatchString(text):
				bodyPart = "right " + bodyPart
			case a.leftRe.MatchString(text):
				bodyPart = "left " + bodyPart
			}
		}
	}
	return modality, bodyPart
}

// maxImpression bounds the impression kept from a radiology report.
const maxImpression = 600

// impression returns the IMPRESSION (or CONCLUSION) section of a radiology
// report, as written, lines joined, cut at maxImpression characters on a
// word boundary ("…" marks the cut).
func (a *Analyzer) impression(lines []string) string {
	var parts []string
	in := false
	for _, l := range lines {
		if !in {
			if m := a.impressionRe.FindStringSubmatch(l); m != nil {
				in = true
				if t := strings.TrimSpace(m[1]); t != "" {
					parts = append(parts, t)
				}
			}
			continue
		}
		t := strings.TrimSpace(l)
		if t == "" {
			if len(parts) > 0 {
				break
			}
			continue
		}
		if a.sectionEndRe.MatchString(t) {
			break
		}
		parts = append(parts, t)
	}
	text := strings.Join(strings.Fields(strings.Join(parts, " ")), " ")
	if r := []rune(text); len(r) > maxImpression {
		cut := string(r[:maxImpression])
		if i := strings.LastIndex(cut, " "); i > maxImpression/2 {
			cut = cut[:i]
		}
		text = cut + " …"
	}
	return text
}

func addName(doc *record.Document, n string) {
	if n == "" {
		return
	}
	if !slices.ContainsFunc(doc.Names, func(o string) bool { return strings.EqualFold(o, n) }) {
		doc.Names = append(doc.Names, n)
	}
}

// Medications parses medication entries typed on a case, one per entry.
func (a *Analyzer) Medications(entries []string) []record.Medication {
	var out []record.Medication
	for _, e := range entries {
		for _, seg := range a.meds.segments(e) {
			if m, ok := a.meds.entry(seg); ok {
				out = append(out, m)
			}
		}
	}
	return dedupeMeds(out)
}

// Merge copies the understanding fields of src onto dst, leaving the OCR
// fields of dst as they are.
func Merge(dst *record.Document, src record.Document) {
	dst.Category = src.Category
	dst.Evidence = src.Evidence
	dst.Panels = src.Panels
	dst.Date = src.Date
	dst.DateKind = src.DateKind
	dst.Names = src.Names
	dst.BirthDates = src.BirthDates
	dst.Medications = src.Medications
	dst.Passport = src.Passport
	dst.SummaryFact = src.SummaryFact
	dst.Modality = src.Modality
	dst.BodyPart = src.BodyPart
	dst.Impression = src.Impression
	dst.Also = src.Also
	dst.Labs = src.Labs
	dst.Problems = src.Problems
	dst.Allergies = src.Allergies
	dst.Procedures = src.Procedures
	dst.Vitals = src.Vitals
	dst.Format = src.Format
	if dst.Pages == 0 {
		dst.Pages = src.Pages
	}
}

func pluralf(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
