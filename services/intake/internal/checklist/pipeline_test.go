package checklist

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/sniff"
	"github.com/handoffmed/handoff/platform/testenv"
	"github.com/handoffmed/handoff/platform/textlayout"
	"github.com/handoffmed/handoff/services/intake/internal/archive"
	"github.com/handoffmed/handoff/services/intake/internal/docs"
	"github.com/handoffmed/handoff/services/intake/internal/ingest"
	"github.com/handoffmed/handoff/services/intake/internal/understand"
)

// casesDir is the example cases made by tools/casegen.
const casesDir = "../../../../testdata/cases"

// exampleCase is one generated case read back.
type exampleCase struct {
	name     string
	input    record.Case
	files    []record.File
	paths    map[string]string // file ID -> path
	expected struct {
		About  string   `json:"about"`
		Codes  []string `json:"codes"`
		Absent []string `json:"absent"`
	}
}

func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	testenv.Tools(t, tools...)
}

// loadCase runs a case's files through a small local pipeline that does
// what the services do, with the same tools: sniff the type, read text PDFs
// with pdftotext, OCR scans and pictures with tesseract, read DICOM headers
// with dcmdump, then understand every document.
func loadCase(t *testing.T, an *understand.Analyzer, name string) *exampleCase {
	t.Helper()
	dir := filepath.Join(casesDir, name)
	c := &exampleCase{name: name, paths: map[string]string{}}
	readJSON(t, filepath.Join(dir, "case.json"), &c.input)
	readJSON(t, filepath.Join(dir, "expected.json"), &c.expected)
	c.input.ID = name
	root := filepath.Join(dir, "files")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		f := localFile(t, an, path, rel)
		c.paths[f.ID] = rel
		c.files = append(c.files, f)
		if f.Type == record.TypeZIP && f.Status == record.StatusDone {
			for _, e := range expandZip(t, an, path, rel, &c.files[len(c.files)-1]) {
				c.paths[e.ID] = e.Path
				c.files = append(c.files, e)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func localFile(t *testing.T, an *understand.Analyzer, path, rel string) record.File {
	t.Helper()
	key := record.UploadKey("case", rel)
	f := record.File{ID: record.FileID(record.DefaultIntakeBucket, key), Path: rel, Bucket: record.DefaultIntakeBucket,
		Key: key, Status: record.StatusDone, Source: record.SourceAPI}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Size = int64(len(b))
	fail := func(code string) record.File {
		f.Status, f.Error = record.StatusFailed, &record.Error{Code: code, Message: "rejected"}
		return f
	}
	if len(b) == 0 {
		return fail(record.CodeEmpty)
	}
	f.Type = sniff.Detect(b[:min(len(b), sniff.HeadSize)])
	// Intake's own routing decides what is rejected at the door.
	if _, rej := ingest.Route(f.Type); rej != nil {
		return fail(rej.Code)
	}
	ctx := t.Context()
	switch f.Type {
	case record.TypeDICOM:
		inst, err := dicomHeader(ctx, path)
		if err != nil {
			return fail(record.CodeUnreadable)
		}
		f.DICOM = inst
	case record.TypePDF:
		info, err := exec.CommandContext(ctx, "pdfinfo", path).CombinedOutput()
		if err != nil {
			if bytes.Contains(info, []byte("password")) {
				return fail(record.CodeEncrypted)
			}
			return fail(record.CodeUnreadable)
		}
		pages := 0
		if m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)`).FindSubmatch(info); m != nil {
			pages, _ = strconv.Atoi(string(m[1]))
		}
		// As the OCR service reads a PDF's own text: one pdftotext
		// -bbox-layout pass gives each page's words and boxes (the layout
		// sidecar) and its text, rebuilt from them.
		out, err := exec.CommandContext(ctx, "pdftotext", "-q", "-enc", "UTF-8", "-bbox-layout", path, "-").Output()
		if err != nil {
			return fail(record.CodeUnreadable)
		}
		layout := &textlayout.Layout{Version: textlayout.Version, Pages: textlayout.ReadPoppler(out)}
		texts := make([]string, len(layout.Pages))
		doc := record.Document{Pages: pages}
		for i, p := range layout.Pages {
			texts[i] = p.Text()
			if len(strings.TrimSpace(texts[i])) < 20 {
				texts[i], layout.Pages[i] = ocrPage(t, b, path, i+1)
				doc.OCRPages = append(doc.OCRPages, i+1)
			} else {
				doc.TextPages = append(doc.TextPages, i+1)
			}
		}
		understand.Merge(&doc, an.Analyze(understand.Input{Type: f.Type, Pages: texts, PageCount: pages, OCR: len(doc.OCRPages) > 0, Layout: layout}))
		f.Document = &doc
	case record.TypeZIP:
		f.Archive = &record.Archive{} // expanded by expandZip
	case record.TypeText:
		doc, rej, err := docs.UnderstandText(an, bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		if rej != nil {
			return fail(rej.Code)
		}
		f.Document = &doc
	case record.TypeJPEG, record.TypePNG:
		text, page, err := cachedOCR(b, 0, func() (string, textlayout.Page, error) { return tesseract(ctx, path, t.TempDir(), 1) })
		if err != nil {
			return fail(record.CodeUnreadable)
		}
		doc := record.Document{Pages: 1, OCRPages: []int{1}}
		understand.Merge(&doc, an.Analyze(understand.Input{Type: f.Type, Pages: []string{text}, OCR: true,
			Layout: &textlayout.Layout{Version: textlayout.Version, Pages: []textlayout.Page{page}}}))
		f.Document = &doc
	default:
		return fail(record.CodeUnknownType)
	}
	return f
}

// expandZip does what intake's archive expander does: plans the archive
// (archive.Plan), skips an XDM package's packaging, and reads every entry
// kept as a file of its own.
func expandZip(t *testing.T, an *understand.Analyzer, path, rel string, zf *record.File) []record.File {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	defer zr.Close()
	entries, rej := archive.Plan(zr.File, archive.Limits{})
	if rej != nil {
		zf.Status, zf.Error = record.StatusFailed, rej
		return nil
	}
	zf.Archive.XDM = archive.XDM(entries)
	dir := t.TempDir()
	var out []record.File
	for i, en := range entries {
		if zf.Archive.XDM && archive.XDMPackaging(en.Path) {
			zf.Archive.Skipped++
			continue
		}
		rc, err := en.File.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, strconv.Itoa(i))
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		f := localFile(t, an, p, rel+"!/"+en.Path)
		f.Source, f.ParentID = record.SourceArchive, zf.ID
		zf.Archive.Entries++
		out = append(out, f)
	}
	return out
}

// ocrPage renders one page at 300 dpi and reads it with tesseract: its
// text and its words with their boxes in points. data is the PDF's bytes.
func ocrPage(t *testing.T, data []byte, path string, page int) (string, textlayout.Page) {
	t.Helper()
	text, lp, err := cachedOCR(data, page, func() (string, textlayout.Page, error) {
		dir := t.TempDir()
		p := strconv.Itoa(page)
		if out, err := exec.CommandContext(t.Context(), "pdftoppm", "-r", "300", "-gray", "-png", "-f", p, "-l", p, "-singlefile", path, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
			return "", textlayout.Page{}, fmt.Errorf("pdftoppm: %w: %s", err, out)
		}
		return tesseract(t.Context(), filepath.Join(dir, "page.png"), dir, page)
	})
	if err != nil {
		t.Fatal(err)
	}
	return text, lp
}

// updateOCR rewrites the cached OCR of the example cases (go test -run
// TestExampleCases -update-ocr): after casegen changed a case's scans or
// pictures, or for tool versions that have none yet.
var updateOCR = flag.Bool("update-ocr", false, "rewrite the cached OCR of the example cases under testdata/ocr")

// cachedOCR is what ocr gives for page of the file data (0 for a
// picture): Tesseract is deterministic, so with the same tool versions
// the text and the words with their boxes are read from testdata/ocr,
// keyed by the file's SHA-256; the example cases' scans and pictures are
// read for real by the OCR service's tests and TestExampleCasesThroughServe.
// Without a cached result (other tool versions, a changed case) ocr runs,
// and with -update-ocr its result is cached.
func cachedOCR(data []byte, page int, ocr func() (string, textlayout.Page, error)) (string, textlayout.Page, error) {
	sum := sha256.Sum256(data)
	base := filepath.Join("testdata", "ocr", testenv.OCRTools(), fmt.Sprintf("%x.%d", sum[:16], page))
	if !*updateOCR {
		text, err1 := os.ReadFile(base + ".txt")
		lp, err2 := os.ReadFile(base + ".json")
		var p textlayout.Page
		if err1 == nil && err2 == nil && json.Unmarshal(lp, &p) == nil {
			return string(text), p, nil
		}
	}
	text, p, err := ocr()
	if err != nil || !*updateOCR {
		return text, p, err
	}
	lp, err := json.Marshal(p)
	if err != nil {
		return "", textlayout.Page{}, err
	}
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		return "", textlayout.Page{}, err
	}
	if err := os.WriteFile(base+".txt", []byte(text), 0o644); err != nil {
		return "", textlayout.Page{}, err
	}
	return text, p, os.WriteFile(base+".json", lp, 0o644)
}

// tesseract recognises a 300-dpi image once and writes its text and its
// TSV (every word with its box): the text, and the words as a layout page
// in points, lines and paragraphs as Tesseract found them (the OCR
// service reads the same from hOCR).
func tesseract(ctx context.Context, image, dir string, number int) (string, textlayout.Page, error) {
	base := filepath.Join(dir, "ocr")
	if out, err := exec.CommandContext(ctx, "tesseract", image, base, "txt", "tsv").CombinedOutput(); err != nil {
		return "", textlayout.Page{}, fmt.Errorf("tesseract: %w: %s", err, out)
	}
	text, err := os.ReadFile(base + ".txt")
	if err != nil {
		return "", textlayout.Page{}, err
	}
	tsv, err := os.ReadFile(base + ".tsv")
	if err != nil {
		return "", textlayout.Page{}, err
	}
	page := textlayout.ReadTesseractTSV(tsv, 300)
	page.Number = number
	return string(text), page, nil
}

var dcmLine = regexp.MustCompile(`^\((\w{4}),(\w{4})\) \w\w (?:\[(.*)\]|=(\S+))`)

// dicomHeader reads the header attributes the DICOM service indexes, with dcmdump.
func dicomHeader(ctx context.Context, path string) (*record.DicomInstance, error) {
	out, err := exec.CommandContext(ctx, "dcmdump", "-q", "+uc", path).Output()
	if err != nil {
		return nil, fmt.Errorf("dcmdump: %w", err)
	}
	v := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		if m := dcmLine.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			val := m[3]
			if val == "" {
				val = m[4]
			}
			v[strings.ToLower(m[1]+","+m[2])] = val
		}
	}
	date := func(s string) string {
		if len(s) != 8 {
			return ""
		}
		return s[:4] + "-" + s[4:6] + "-" + s[6:]
	}
	atoi := func(s string) int { n, _ := strconv.Atoi(strings.TrimSpace(s)); return n }
	d := &record.DicomInstance{
		PatientName: v["0010,0010"], PatientID: v["0010,0020"], PatientBirthDate: date(v["0010,0030"]), PatientSex: v["0010,0040"],
		StudyUID: v["0020,000d"], StudyDate: date(v["0008,0020"]), StudyDescription: v["0008,1030"], Accession: v["0008,0050"],
		SeriesUID: v["0020,000e"], SeriesNumber: atoi(v["0020,0011"]), Modality: v["0008,0060"], BodyPart: v["0018,0015"],
		Laterality: v["0020,0060"], SeriesDescription: v["0008,103e"], SOPClassUID: v["0008,0016"], SOPInstanceUID: v["0008,0018"],
		InstanceNumber: atoi(v["0020,0013"]), Declared: atoi(v["0020,1002"]), Frames: 1,
	}
	if d.StudyUID == "" || d.SOPInstanceUID == "" {
		return nil, fmt.Errorf("no study or instance UID")
	}
	return d, nil
}

// caseNames lists the example cases.
func caseNames(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(casesDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	if len(out) < 11 {
		t.Fatalf("only %d example cases in %s", len(out), casesDir)
	}
	return out
}

// refNow is an arbitrary "now": every case sets its own reference date.
var refNow = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
