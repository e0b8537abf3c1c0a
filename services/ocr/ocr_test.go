package ocr_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/google/go-cmp/cmp"
	"github.com/handoffmed/handoff/platform/blobtest"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/testenv"
	"github.com/handoffmed/handoff/platform/textlayout"
	"github.com/handoffmed/handoff/services/ocr"
)

// corpus is testdata/corpus/ocr-peer seen from this package, made
// absolute in TestMain (the embedded S3 gateway changes the working
// directory).
var corpus = "../../testdata/corpus/ocr-peer"

// refDir holds bare Tesseract's words on the corpus pages, by tool
// versions (tesseractWords); absolute from TestMain on.
var refDir = filepath.Join("testdata", "reference")

func TestMain(m *testing.M) {
	// libgomp reads OMP_THREAD_LIMIT only at start: re-exec with it set.
	if err := ocr.EnsureSingleThreaded(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	abs, err := filepath.Abs(corpus)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	corpus = abs
	if refDir, err = filepath.Abs(refDir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := blobtest.Run(m)
	if outDir != "" {
		_ = os.RemoveAll(outDir)
	}
	os.Exit(code)
}

// corpusFiles are the PDFs that must go through without error.
var corpusFiles = []string{
	"c02-22.pdf", "cardinal.pdf", "ccitt.pdf", "epson.pdf", "francais.pdf", "linn.pdf",
	"linn_encrypted_owner.pdf", "multipage.pdf", "rotated_skew.pdf", "skew.pdf",
}

// tword is a word of Tesseract's own TSV output, box in points.
type tword struct {
	text           string
	x0, y0, x1, y1 float64
}

// reference is what bare Tesseract (the CLI, with orientation detection)
// finds on a 300-dpi gray rendering of each page of the original.
type reference struct {
	pages [][]tword
}

var (
	prepOnce sync.Once
	refs     map[string]*reference
	refErr   error

	runs   map[string]*run
	runErr error
	outDir string
)

type run struct {
	res *ocr.Result
	out string
	err error
}

func pageCount(t testing.TB, path string) int {
	out, err := exec.Command("pdfinfo", path).Output()
	if err != nil {
		t.Fatalf("pdfinfo %s: %v", path, err)
	}
	m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)`).FindSubmatch(out)
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// references computes the reference words of every corpus page once per
// test binary, two pages at a time.
func references(t *testing.T) map[string]*reference {
	t.Helper()
	prepare(t)
	if refErr != nil {
		t.Fatal(refErr)
	}
	return refs
}

// prepare computes the references and the engine's outputs once per test
// binary, at the same time.
func prepare(t *testing.T) {
	prepOnce.Do(func() {
		var wg sync.WaitGroup
		wg.Go(func() { computeRefs(t) })
		wg.Go(computeRuns)
		wg.Wait()
	})
}

func computeRefs(t *testing.T) {
	{
		dir, err := os.MkdirTemp("", "ocr-ref-")
		if err != nil {
			refErr = err
			return
		}
		defer os.RemoveAll(dir)
		refs = map[string]*reference{}
		type job struct {
			file string
			page int
		}
		var jobs []job
		for _, f := range corpusFiles {
			n := pageCount(t, filepath.Join(corpus, f))
			refs[f] = &reference{pages: make([][]tword, n)}
			for p := 1; p <= n; p++ {
				jobs = append(jobs, job{f, p})
			}
		}
		var mu sync.Mutex
		sem := make(chan struct{}, 2)
		var wg sync.WaitGroup
		for i, j := range jobs {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				words, err := tesseractWords(filepath.Join(corpus, j.file), j.page, filepath.Join(dir, strconv.Itoa(i)))
				mu.Lock()
				defer mu.Unlock()
				if err != nil && refErr == nil {
					refErr = fmt.Errorf("%s page %d: %w", j.file, j.page, err)
				}
				refs[j.file].pages[j.page-1] = words
			})
		}
		wg.Wait()
	}
}

// updateRefs rewrites the cached reference words (go test -run
// TestCorpusGoesThrough -update-references): after a change of the corpus,
// or for tool versions that have none yet.
var updateRefs = flag.Bool("update-references", false, "rewrite the cached reference words of testdata/reference")

// tesseractWords are bare Tesseract's words on a page: from the cache of
// the tools' versions when it has them (the same tools give the same
// words, so the suite does not run Tesseract over the corpus again on every
// run), else made and, with -update-references, cached.
func tesseractWords(pdf string, page int, root string) ([]tword, error) {
	cache := filepath.Join(refDir, testenv.OCRTools(), fmt.Sprintf("%s.%d.tsv", filepath.Base(pdf), page))
	out, err := os.ReadFile(cache)
	if err != nil || *updateRefs {
		if out, err = runTesseract(pdf, page, root); err != nil {
			return nil, err
		}
		if *updateRefs {
			if err := os.MkdirAll(filepath.Dir(cache), 0o755); err != nil {
				return nil, err
			}
			if err := os.WriteFile(cache, out, 0o644); err != nil {
				return nil, err
			}
		}
	}
	return parseTSV(out), nil
}

func runTesseract(pdf string, page int, root string) ([]byte, error) {
	p := strconv.Itoa(page)
	if out, err := exec.Command("pdftoppm", "-r", "300", "-gray", "-singlefile", "-f", p, "-l", p, pdf, root).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pdftoppm: %w: %s", err, out)
	}
	cmd := exec.Command("tesseract", root+".pgm", "-", "--psm", "1", "-l", "eng", "tsv")
	cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1")
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("tesseract: %w", err)
	}
	return out, nil
}

// parseTSV reads the words of Tesseract's TSV, in points.
func parseTSV(out []byte) []tword {
	var words []tword
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 12 || f[0] != "5" || strings.TrimSpace(f[11]) == "" {
			continue
		}
		var v [4]float64
		for i := range v {
			v[i], _ = strconv.ParseFloat(f[6+i], 64)
			v[i] = v[i] * 72 / 300
		}
		words = append(words, tword{f[11], v[0], v[1], v[0] + v[2], v[1] + v[3]})
	}
	return words
}

// results runs every corpus file through the engine once per test binary.
func results(t *testing.T) map[string]*run {
	t.Helper()
	prepare(t)
	if runErr != nil {
		t.Fatal(runErr)
	}
	return runs
}

// computeRuns sends every corpus file through one engine (two pages at a
// time), all files at once.
func computeRuns() {
	outDir, runErr = os.MkdirTemp("", "ocr-out-")
	if runErr != nil {
		return
	}
	eng, err := ocr.NewEngine(ocr.Options{Jobs: 2})
	if err != nil {
		runErr = err
		return
	}
	defer eng.Close()
	runs = map[string]*run{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, f := range append(corpusFiles, "linn_encrypted_user.pdf") {
		wg.Go(func() {
			out := filepath.Join(outDir, f)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			res, err := eng.File(ctx, filepath.Join(corpus, f), out)
			mu.Lock()
			runs[f] = &run{res: res, out: out, err: err}
			mu.Unlock()
		})
	}
	wg.Wait()
}

// words splits text into normalised words (letters and digits only, lower case).
func words(s string) []string {
	var out []string
	for _, f := range strings.Fields(s) {
		w := strings.Map(func(r rune) rune {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				return unicode.ToLower(r)
			}
			return -1
		}, f)
		if w != "" {
			out = append(out, w)
		}
	}
	return out
}

// recall is the share of the reference words (as a multiset) found in got.
func recall(ref, got []string) (float64, int) {
	have := map[string]int{}
	for _, w := range got {
		have[w]++
	}
	found := 0
	for _, w := range ref {
		if have[w] > 0 {
			have[w]--
			found++
		}
	}
	if len(ref) == 0 {
		return 1, 0
	}
	return float64(found) / float64(len(ref)), len(ref)
}

func pdftotext(t *testing.T, path string, page int, extra ...string) string {
	t.Helper()
	p := strconv.Itoa(page)
	args := append([]string{"-q", "-enc", "UTF-8", "-f", p, "-l", p}, extra...)
	out, err := exec.Command("pdftotext", append(args, path, "-")...).Output()
	if err != nil {
		t.Fatalf("pdftotext %s page %d: %v", path, page, err)
	}
	return string(out)
}

func TestCorpusGoesThrough(t *testing.T) {
	t.Parallel()
	for f, r := range results(t) {
		t.Run(f, func(t *testing.T) {
			if f == "linn_encrypted_user.pdf" {
				var re *record.Error
				if !errors.As(r.err, &re) || re.Code != record.CodeEncrypted {
					t.Fatalf("got %v, want %s", r.err, record.CodeEncrypted)
				}
				return
			}
			if r.err != nil {
				t.Fatalf("got error %v", r.err)
			}
			for _, p := range r.res.Pages {
				if p.Error != nil {
					t.Errorf("page %d: %v", p.Number, p.Error)
				}
			}
			out, err := exec.Command("qpdf", "--check", r.out).CombinedOutput()
			if err != nil {
				t.Errorf("qpdf --check: %v\n%s", err, out)
			}
		})
	}
}

func TestWordRecall(t *testing.T) {
	t.Parallel()
	ref := references(t)
	res := results(t)
	for _, f := range corpusFiles {
		t.Run(f, func(t *testing.T) {
			r := res[f]
			if r.err != nil {
				t.Fatal(r.err)
			}
			var allRef, allGot []string
			for i, pw := range ref[f].pages {
				if a := r.res.Pages[i].Action; a != "ocr" {
					// Pages that had text keep it (TestTextPagesKept).
					t.Logf("page %d: %s, kept", i+1, a)
					continue
				}
				var rw []string
				for _, w := range pw {
					rw = append(rw, words(w.text)...)
				}
				got := words(pdftotext(t, r.out, i+1))
				allRef, allGot = append(allRef, rw...), append(allGot, got...)
				rc, n := recall(rw, got)
				t.Logf("page %d: recall %.3f of %d reference words", i+1, rc, n)
				if n >= 20 && rc < 0.9 {
					t.Errorf("page %d: recall %.3f of %d words, want >= 0.9", i+1, rc, n)
				}
			}
			if rc, n := recall(allRef, allGot); rc < 0.9 {
				t.Errorf("document: recall %.3f of %d words, want >= 0.9", rc, n)
			}
		})
	}
}

func TestSidecar(t *testing.T) {
	t.Parallel()
	r := results(t)["linn.pdf"]
	if r.err != nil {
		t.Fatal(r.err)
	}
	truth, err := os.ReadFile(filepath.Join(corpus, "linn.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if rc, n := recall(words(string(truth)), words(r.res.Text)); rc < 0.9 {
		t.Errorf("sidecar recall against linn.txt: %.3f of %d words, want >= 0.9", rc, n)
	}
	if c := r.res.Pages[0].Confidence; c < 50 || c > 100 {
		t.Errorf("confidence %.1f, want 50..100", c)
	}
	doc := r.res.Document()
	if doc.Pages != 1 || len(doc.OCRPages) != 1 || len(doc.Confidence) != 1 {
		t.Errorf("document fields %+v", doc)
	}
}

// TestTextPagesKept: pages that already had text (multipage.pdf page 4
// carries an OCR layer) keep exactly their text and are not OCRed again.
func TestTextPagesKept(t *testing.T) {
	t.Parallel()
	r := results(t)["multipage.pdf"]
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got := r.res.Pages[3].Action; got != "ocr-layer" {
		t.Errorf("page 4: got %s, want ocr-layer", got)
	}
	in := pdftotext(t, filepath.Join(corpus, "multipage.pdf"), 4)
	out := pdftotext(t, r.out, 4)
	if in != out || strings.TrimSpace(in) == "" {
		t.Errorf("page 4 text changed:\nin  %q\nout %q", in, out)
	}
}

// TestMixedTextAndScan: a born-digital text page next to a scan.
func TestMixedTextAndScan(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	text := filepath.Join(dir, "text.pdf")
	if err := os.WriteFile(text, textPDF(), 0o644); err != nil {
		t.Fatal(err)
	}
	mixed := filepath.Join(dir, "mixed.pdf")
	if out, err := exec.Command("qpdf", "--stream-data=preserve", "--empty", "--pages", text, filepath.Join(corpus, "linn.pdf"), "--", mixed).CombinedOutput(); err != nil {
		t.Fatalf("qpdf: %v %s", err, out)
	}
	eng, err := ocr.NewEngine(ocr.Options{Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	out := filepath.Join(dir, "out.pdf")
	res, err := eng.File(t.Context(), mixed, out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Pages[0].Action != "text" || res.Pages[1].Action != "ocr" {
		t.Errorf("actions %s, %s; want text, ocr", res.Pages[0].Action, res.Pages[1].Action)
	}
	if a, b := pdftotext(t, mixed, 1), pdftotext(t, out, 1); a != b {
		t.Errorf("text page changed:\nin  %q\nout %q", a, b)
	}
	if !strings.Contains(res.Text, "quick brown fox") || !strings.Contains(res.Text, "LinnSequencer") {
		t.Errorf("sidecar misses a page's text")
	}
	// The text page's layout is pdftotext's words and boxes.
	if a, b := strings.TrimSuffix(pdftotext(t, mixed, 1), "\f"), res.Layout.Pages[0].Text(); a != b {
		t.Errorf("text page layout gives other text than pdftotext:\n%s", cmp.Diff(a, b))
	}
	if lp := res.Layout.Pages[0]; lp.Source != textlayout.SourcePdftotext || lp.Width != 612 || lp.Height != 792 ||
		len(lp.Lines) != 4 || lp.Lines[0].Words[0] != (textlayout.Word{Text: "The", Box: lp.Lines[0].Words[0].Box}) ||
		math.Abs(lp.Lines[0].Words[0].Box.X0-72) > 0.01 {
		t.Errorf("text page layout %+v", lp)
	}
	// The original page content is kept byte for byte.
	if !bytes.Contains(mustRead(t, out), []byte(textContent)) {
		t.Errorf("text page content stream was re-encoded")
	}
}

const textContent = "BT /F1 11 Tf 72 720 Td 14 TL (The quick brown fox jumps over the lazy dog, again and again and again.) Tj " +
	"T* (The quick brown fox jumps over the lazy dog, again and again and again.) Tj " +
	"T* (The quick brown fox jumps over the lazy dog, again and again and again.) Tj " +
	"T* (The quick brown fox jumps over the lazy dog, again and again and again.) Tj ET"

// textPDF is a born-digital one-page PDF in Helvetica.
func textPDF() []byte {
	var b bytes.Buffer
	offs := []int{}
	obj := func(s string) {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offs), s)
	}
	b.WriteString("%PDF-1.4\n")
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>")
	obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(textContent)+1, textContent))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	return b.Bytes()
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestUpright: rotated pages come out upright: the page is shown turned so
// that its text reads normally (Tesseract's orientation detection on the
// rendered output page says 0), and the text layer reads in order.
func TestUpright(t *testing.T) {
	t.Parallel()
	res := results(t)
	tests := []struct {
		file string
		page int
	}{
		{"cardinal.pdf", 1}, {"cardinal.pdf", 2}, {"cardinal.pdf", 3}, {"cardinal.pdf", 4}, {"rotated_skew.pdf", 1},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%d", tc.file, tc.page), func(t *testing.T) {
			t.Parallel()
			r := res[tc.file]
			if r.err != nil {
				t.Fatal(r.err)
			}
			if rot := osd(t, r.out, tc.page); rot != 0 {
				t.Errorf("shown page needs a %d° turn, want 0", rot)
			}
			text := pdftotext(t, r.out, tc.page)
			first, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
			if !strings.Contains(first, "LinnSequencer") {
				t.Errorf("first line %q, want the title", first)
			}
			// Long words are horizontal on the shown page.
			for _, w := range bboxWords(t, r.out, tc.page) {
				if w.text == "LinnSequencer" && (w.x1-w.x0) < 3*(w.y1-w.y0) {
					t.Errorf("word box %+v is not horizontal", w)
				}
			}
		})
	}
}

// osd renders the output page as shown and asks Tesseract how far it must
// turn it for upright text.
func osd(t *testing.T, pdf string, page int) int {
	t.Helper()
	root := filepath.Join(t.TempDir(), "p")
	p := strconv.Itoa(page)
	if out, err := exec.Command("pdftoppm", "-r", "150", "-gray", "-singlefile", "-f", p, "-l", p, pdf, root).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
	cmd := exec.Command("tesseract", root+".pgm", "-", "--psm", "0")
	cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tesseract osd: %v %s", err, out)
	}
	m := regexp.MustCompile(`Rotate: (\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no OSD result in %s", out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

var bboxRe = regexp.MustCompile(`<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>`)

func bboxWords(t *testing.T, pdf string, page int) []tword {
	t.Helper()
	var out []tword
	for _, m := range bboxRe.FindAllStringSubmatch(pdftotext(t, pdf, page, "-bbox"), -1) {
		var v [4]float64
		for i := range v {
			v[i], _ = strconv.ParseFloat(m[1+i], 64)
		}
		out = append(out, tword{m[5], v[0], v[1], v[2], v[3]})
	}
	return out
}

// TestWordBoxesLineUp: the box of a known word in the text layer
// (pdftotext -bbox) overlaps that word's box in Tesseract's own output on
// the page image.
func TestWordBoxesLineUp(t *testing.T) {
	t.Parallel()
	ref := references(t)
	res := results(t)
	tests := []struct{ file, word string }{
		{"linn.pdf", "LinnSequencer"},
		{"skew.pdf", "LinnSequencer"},
		{"rotated_skew.pdf", "LinnSequencer"},
		{"epson.pdf", "Optophone"},
		{"c02-22.pdf", "kitchen"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			var want []tword
			for _, w := range ref[tc.file].pages[0] {
				if strings.Trim(w.text, ".,;:") == tc.word {
					want = append(want, w)
				}
			}
			var got []tword
			for _, w := range bboxWords(t, res[tc.file].out, 1) {
				if strings.Trim(w.text, ".,;:") == tc.word {
					got = append(got, w)
				}
			}
			if len(want) == 0 || len(got) == 0 {
				t.Fatalf("word %q: %d in Tesseract's output, %d in the text layer", tc.word, len(want), len(got))
			}
			// Every occurrence in Tesseract's output has one in the layer
			// that overlaps it well.
			for _, w := range want {
				best := 0.0
				for _, g := range got {
					best = max(best, iou(w, g))
				}
				if best < 0.5 {
					t.Errorf("%q at %+v: best overlap %.2f, want >= 0.5", tc.word, w, best)
				}
			}
		})
	}
}

func iou(a, b tword) float64 {
	ix := min(a.x1, b.x1) - max(a.x0, b.x0)
	iy := min(a.y1, b.y1) - max(a.y0, b.y0)
	if ix <= 0 || iy <= 0 {
		return 0
	}
	inter := ix * iy
	return inter / ((a.x1-a.x0)*(a.y1-a.y0) + (b.x1-b.x0)*(b.y1-b.y0) - inter)
}

// TestPictures: JPEG and PNG photos become a searchable PDF of their own.
func TestPictures(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	eng, err := ocr.NewEngine(ocr.Options{Jobs: 2, Languages: "eng+fra"})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for _, format := range []string{"jpeg", "png", "tiff"} {
		t.Run(format, func(t *testing.T) {
			root := filepath.Join(dir, format)
			// francais.pdf turned a quarter, as a phone picture might be.
			args := []string{"-r", "300", "-singlefile", "-" + format, filepath.Join(corpus, "francais.pdf"), root}
			if out, err := exec.Command("pdftoppm", args...).CombinedOutput(); err != nil {
				t.Fatalf("pdftoppm: %v %s", err, out)
			}
			matches, _ := filepath.Glob(root + ".*")
			if len(matches) != 1 {
				t.Fatalf("picture not written: %v", matches)
			}
			out := filepath.Join(dir, format+".pdf")
			res, err := eng.File(t.Context(), matches[0], out)
			if err != nil {
				t.Fatal(err)
			}
			if p := res.Pages[0]; p.Action != "ocr" || p.Error != nil {
				t.Fatalf("page %+v", p)
			}
			if b, err := exec.Command("qpdf", "--check", out).CombinedOutput(); err != nil {
				t.Errorf("qpdf --check: %v %s", err, b)
			}
			text := pdftotext(t, out, 1)
			for _, w := range []string{"whisky", "intérieure", "bûches"} {
				if !strings.Contains(text, w) {
					t.Errorf("text layer misses %q: %q", w, text)
				}
			}
		})
	}
}

// TestInputErrors: bad inputs and caps end with clear codes, and a page
// that fails alone is left as it was while the document completes.
func TestInputErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	linn := filepath.Join(corpus, "linn.pdf")
	truncated := filepath.Join(dir, "truncated.pdf")
	if err := os.WriteFile(truncated, mustRead(t, linn)[:3000], 0o644); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.pdf")
	if err := os.WriteFile(garbage, []byte("%PDF-1.7\nnot really a pdf\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.pdf")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		opt      ocr.Options
		in       string
		wantCode string // of the document
		pageCode string // of page 1, the document completing
	}{
		{"encrypted", ocr.Options{}, filepath.Join(corpus, "linn_encrypted_user.pdf"), record.CodeEncrypted, ""},
		{"truncated", ocr.Options{}, truncated, record.CodeUnreadable, ""},
		{"garbage", ocr.Options{}, garbage, record.CodeUnreadable, ""},
		{"not a document", ocr.Options{}, text, record.CodeUnknownType, ""},
		{"empty", ocr.Options{}, empty, record.CodeEmpty, ""},
		{"too many pages", ocr.Options{MaxPages: 3}, filepath.Join(corpus, "cardinal.pdf"), record.CodeTooManyPages, ""},
		{"page too large", ocr.Options{MaxPagePixels: 500_000}, linn, "", record.CodePageTooLarge},
		{"page timeout", ocr.Options{PageTimeout: time.Millisecond}, linn, "", record.CodeTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eng, err := ocr.NewEngine(tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			defer eng.Close()
			out := filepath.Join(t.TempDir(), "out.pdf")
			res, err := eng.File(t.Context(), tc.in, out)
			if tc.wantCode != "" {
				var re *record.Error
				if !errors.As(err, &re) || re.Code != tc.wantCode {
					t.Fatalf("got %v, want %s", err, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := res.Pages[0]
			if p.Error == nil || p.Error.Code != tc.pageCode || p.Action != "failed" {
				t.Fatalf("page 1: got %+v, want error %s", p, tc.pageCode)
			}
			if d := res.Document(); len(d.PageErrors) != 1 || len(d.OCRPages) != 0 {
				t.Errorf("document %+v", d)
			}
			// The page is left as it was.
			if !bytes.Equal(mustRead(t, out), mustRead(t, tc.in)) {
				t.Errorf("output differs from the input")
			}
		})
	}
}

// TestLayoutSidecar: the layout has every page, each page's words give the
// text sidecar's page (the two sidecars never disagree), and the boxes of
// known words on OCRed pages overlap those of Tesseract's own output on
// the page image.
func TestLayoutSidecar(t *testing.T) {
	t.Parallel()
	ref := references(t)
	res := results(t)
	for _, f := range corpusFiles {
		t.Run(f, func(t *testing.T) {
			r := res[f]
			if r.err != nil {
				t.Fatal(r.err)
			}
			l := r.res.Layout
			if l.Version != textlayout.Version || len(l.Pages) != len(r.res.Pages) {
				t.Fatalf("layout version %d with %d pages, want %d with %d", l.Version, len(l.Pages), textlayout.Version, len(r.res.Pages))
			}
			texts := strings.Split(r.res.Text, "\f")
			for i, p := range l.Pages {
				if p.Number != i+1 {
					t.Errorf("page %d numbered %d", i+1, p.Number)
				}
				if got := p.Text(); i < len(texts) && got != texts[i] {
					t.Errorf("page %d: layout text differs from the sidecar:\n%s", i+1, cmp.Diff(texts[i], got))
				}
				if r.res.Pages[i].Action == "ocr" && (p.Source != textlayout.SourceTesseract || p.Width <= 0 || p.Height <= 0) {
					t.Errorf("OCRed page %d: source %q, size %.0fx%.0f", i+1, p.Source, p.Width, p.Height)
				}
			}
		})
	}
	for _, tc := range []struct{ file, word string }{
		{"linn.pdf", "LinnSequencer"},
		{"skew.pdf", "LinnSequencer"},
		{"epson.pdf", "Optophone"},
		{"c02-22.pdf", "kitchen"},
	} {
		t.Run(tc.file+"/boxes", func(t *testing.T) {
			var got []tword
			for _, w := range res[tc.file].res.Layout.Pages[0].Words() {
				if strings.Trim(w.Text, ".,;:") == tc.word {
					got = append(got, tword{w.Text, w.Box.X0, w.Box.Y0, w.Box.X1, w.Box.Y1})
				}
			}
			n := 0
			for _, w := range ref[tc.file].pages[0] {
				if strings.Trim(w.text, ".,;:") != tc.word {
					continue
				}
				n++
				best := 0.0
				for _, g := range got {
					best = max(best, iou(w, g))
				}
				// The layout's box ends at the baseline: descenders and a
				// little height are left out of the overlap.
				if best < 0.5 {
					t.Errorf("%q at %+v: best overlap %.2f with the layout's %v, want >= 0.5", tc.word, w, best, got)
				}
			}
			if n == 0 {
				t.Fatalf("no %q in Tesseract's output", tc.word)
			}
		})
	}
}
