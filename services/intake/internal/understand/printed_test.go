package understand

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/handoffmed/handoff/platform/ccda"
	"github.com/handoffmed/handoff/platform/clinical"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/textlayout"
)

const (
	ccdaCorpus  = "../../../../testdata/corpus/ccda-peer"
	ccdaPrinted = "../../../../testdata/ccda-printed"
)

// readPDF reads a PDF as the OCR service reads one with a text layer: one
// pdftotext -bbox-layout pass gives each page's text and layout.
func readPDF(t *testing.T, path string) Input {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "pdftotext", "-q", "-enc", "UTF-8", "-bbox-layout", path, "-").Output()
	if err != nil {
		t.Errorf("pdftotext (poppler-utils) on %s: %v", filepath.Base(path), err)
		return Input{Type: record.TypePDF}
	}
	l := &textlayout.Layout{Version: textlayout.Version, Pages: textlayout.ReadPoppler(out)}
	in := Input{Type: record.TypePDF, Layout: l}
	for _, p := range l.Pages {
		in.Pages = append(in.Pages, p.Text())
	}
	return in
}

// TestPrintedCCDACorpus reads the printed PDF of every C-CDA of the corpus
// (testdata/ccda-printed, made by scripts/print-ccda.sh) and compares it
// with what platform/ccda reads from the XML: the medications that have a
// dose must come out of the PDF with a dose, and the results that have a
// value and a date with the same date, each on 95 % of them or more over
// the corpus.
//
// A printout shows a section's narrative, not its coded entries, and some
// documents' narratives do not state what their entries do (HL7's sample
// files date the results in the entries only, or print another date; the
// NIST files print other values). Results are therefore counted twice:
// against every dated result of the XML, and against those whose date and
// value the printout states at all (somewhere in its text, in any form):
// the second is held to 95 %, both are printed.
func TestPrintedCCDACorpus(t *testing.T) {
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatal("pdftotext is not installed (scripts/packages.txt: poppler-utils)")
	}
	an := New()
	var pdfs []string
	err := filepath.WalkDir(ccdaPrinted, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".pdf") {
			pdfs = append(pdfs, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pdfs) < 70 {
		t.Fatalf("only %d printed documents in %s (testdata/ccda-printed/make.sh makes them)", len(pdfs), ccdaPrinted)
	}
	// Four documents at a time: pdftotext, then the one analyzer, shared
	// as the intake service shares it between its workers.
	inputs := make([]Input, len(pdfs))
	results := make([]record.Document, len(pdfs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, pdf := range pdfs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			inputs[i] = readPDF(t, pdf)
			results[i] = an.Analyze(inputs[i])
		})
	}
	wg.Wait()
	var meds, medsOK, res, resOK, printed, printedOK int
	for i, pdf := range pdfs {
		rel, _ := filepath.Rel(ccdaPrinted, pdf)
		xml := findXML(t, strings.TrimSuffix(rel, ".pdf"))
		want, err := ccda.Extract(xml, ccda.Options{})
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		in, got := inputs[i], results[i]
		text := strings.Join(in.Pages, "\n")
		dates := map[string]bool{}
		for _, d := range an.dates.find(text) {
			dates[d.iso] = true
		}
		if got.Format != record.FormatPrintedCCDA || got.Category != record.CategoryPortalExport {
			t.Errorf("%s: format %q category %q, want %q %q", rel, got.Format, got.Category, record.FormatPrintedCCDA, record.CategoryPortalExport)
		}
		for _, m := range want.Medications {
			if m.Dose == "" {
				continue
			}
			meds++
			if g, ok := sameMedication(an.Vocabulary(), m, got.Medications); ok && g.Dose != "" {
				medsOK++
			} else {
				t.Logf("%s: medication %q dose %q: got %+v", rel, m.Name, m.Dose, g)
			}
		}
		for _, r := range want.Results {
			if r.Date == "" || r.Value == "" {
				continue
			}
			res++
			stated := dates[r.Date] && strings.Contains(text, r.Value)
			if stated {
				printed++
			}
			if g, ok := sameResult(an.Vocabulary(), r, got.Labs); ok && g.Date == r.Date {
				resOK++
				if stated {
					printedOK++
				}
			} else {
				t.Logf("%s: result %q %s %s on %s (printed: %v): got %+v (found %v)", rel, r.Name, r.Value, r.Unit, r.Date, stated, g, ok)
			}
		}
	}
	medPct, resPct, printedPct := pct(medsOK, meds), pct(resOK, res), pct(printedOK, printed)
	fmt.Printf("printed C-CDA corpus (%d documents): medications with doses %d/%d = %.1f %%; "+
		"result dates %d/%d = %.1f %% of the XML's, %d/%d = %.1f %% of those the printout states\n",
		len(pdfs), medsOK, meds, medPct, resOK, res, resPct, printedOK, printed, printedPct)
	if medPct < 95 || printedPct < 95 {
		t.Errorf("medications with doses %.1f %%, result dates %.1f %% of those printed: want 95 %% or more each", medPct, printedPct)
	}
}

func pct(n, of int) float64 {
	if of == 0 {
		return 100
	}
	return 100 * float64(n) / float64(of)
}

// findXML reads the corpus document a printed PDF was made from (same
// path, .xml or .XML).
func findXML(t *testing.T, base string) []byte {
	t.Helper()
	for _, ext := range []string{".xml", ".XML"} {
		b, err := os.ReadFile(filepath.Join(ccdaCorpus, base+ext))
		if err == nil {
			return b
		}
	}
	t.Fatalf("no corpus XML for %s", base)
	return nil
}

// sameMedication finds the medication of got that is m: the same drug for
// the vocabulary, else a name that shares m's first word.
func sameMedication(v *clinical.Vocabulary, m record.Medication, got []record.Medication) (record.Medication, bool) {
	d, known := v.Medication(m)
	first := firstWord(m.Name)
	var fallback *record.Medication
	for i, g := range got {
		if gd, ok := v.Medication(g); known && ok && gd.Generic == d.Generic {
			if g.Dose != "" {
				return g, true
			}
			fallback = &got[i]
		}
		if first != "" && strings.Contains(strings.ToLower(g.Name), first) {
			if g.Dose != "" {
				return g, true
			}
			fallback = &got[i]
		}
	}
	if fallback != nil {
		return *fallback, true
	}
	return record.Medication{}, false
}

func firstWord(s string) string {
	for _, f := range strings.Fields(strings.ToLower(s)) {
		f = strings.Trim(f, "()[],.;:")
		if letters(f) >= 3 {
			return f
		}
	}
	return ""
}

// sameResult finds the result of got that is r: the same test (LOINC
// code, vocabulary entry, or a shared word of the name) with the same
// value; of several, the one with r's date.
func sameResult(v *clinical.Vocabulary, r record.LabResult, got []record.LabResult) (record.LabResult, bool) {
	rt, rknown := v.Lab(r)
	var found *record.LabResult
	for i, g := range got {
		if !sameValue(r.Value, g.Value) {
			continue
		}
		gt, gknown := v.Lab(g)
		same := r.LOINC != "" && r.LOINC == g.LOINC || rknown && gknown && rt.Key == gt.Key ||
			strings.EqualFold(strings.TrimSpace(r.Name), strings.TrimSpace(g.Name)) || sharesWord(r.Name, g.Name)
		if !same {
			continue
		}
		if g.Date == r.Date {
			return g, true
		}
		found = &got[i]
	}
	if found != nil {
		return *found, true
	}
	// A name no vocabulary links ("TSH" printed for "Thyrotropin [Units/
	// volume] in Serum or Plasma"): the one result with that value.
	var only []record.LabResult
	for _, g := range got {
		if sameValue(r.Value, g.Value) && (r.Unit == "" || g.Unit == "" || strings.EqualFold(r.Unit, g.Unit)) {
			only = append(only, g)
		}
	}
	if len(only) == 1 {
		return only[0], true
	}
	return record.LabResult{}, false
}

func sameValue(a, b string) bool {
	norm := func(s string) string {
		s = strings.ToLower(strings.TrimSpace(s))
		s = strings.TrimLeft(s, "0")
		return strings.TrimSuffix(strings.TrimSuffix(s, "0"), ".")
	}
	return norm(a) == norm(b) || strings.Contains(strings.ToLower(b), strings.ToLower(a)) && a != ""
}

func sharesWord(a, b string) bool {
	aw := strings.FieldsFunc(strings.ToLower(a), func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') })
	bl := " " + strings.Join(strings.FieldsFunc(strings.ToLower(b), func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') }), " ") + " "
	for _, w := range aw {
		if len(w) >= 3 && strings.Contains(bl, " "+w+" ") {
			return true
		}
	}
	return false
}

// TestPrintScript runs scripts/print-ccda.sh on one corpus document, as
// testdata/ccda-printed was made, and reads the PDF it prints: the script
// still works with the xsltproc and Chromium installed, and its output
// reads as the committed printouts do.
func TestPrintScript(t *testing.T) {
	for _, tool := range []string{"xsltproc", "chromium", "pdftotext"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (scripts/packages.txt)", tool)
		}
	}
	t.Parallel()
	const doc = "Cerner/problems-and-medications"
	script, err := filepath.Abs("../../../../scripts/print-ccda.sh")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "printed.pdf")
	cmd := exec.CommandContext(t.Context(), script, filepath.Join(ccdaCorpus, doc+".xml"), out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("print-ccda.sh: %v: %s", err, b)
	}
	an := New()
	got := an.Analyze(readPDF(t, out))
	want := an.Analyze(readPDF(t, filepath.Join(ccdaPrinted, doc+".pdf")))
	if got.Format != record.FormatPrintedCCDA || len(got.Medications) == 0 {
		t.Fatalf("printed now: format %q, %d medications", got.Format, len(got.Medications))
	}
	if diff := cmp.Diff(want.Medications, got.Medications); diff != "" {
		t.Errorf("medications of a fresh printout differ from the committed one's (-committed +fresh):\n%s", diff)
	}
}
