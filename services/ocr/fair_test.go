package ocr_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/pipetest"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/ocr"
)

// quickPage is a page-pixel cap that has Tesseract read a letter page at
// about 150 dpi: quicker pages where the words do not matter (a 300-dpi
// scan's image, 8.4 MP, stays within 4 times the cap).
const quickPage = 2_200_000

// repeated makes a PDF of n copies of page 1 of a corpus PDF (qpdf keeps
// one copy of the scan: 500 pages of linn.pdf are 171 KB).
//
// The scheduling tests repeat francais.pdf: a 3-inch scan of 12 lines that
// Tesseract reads in half a second, against two to three seconds for a full
// page such as linn.pdf; what they check is the order and sharing of the
// work, the same for any page.
func repeated(t *testing.T, name string, n int) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), strconv.Itoa(n)+"-"+name)
	pages := strings.TrimSuffix(strings.Repeat("1,", n), ",")
	if b, err := exec.Command("qpdf", "--empty", "--pages", filepath.Join(corpus, name), pages, "--", out).CombinedOutput(); err != nil {
		t.Fatalf("qpdf: %v %s", err, b)
	}
	return out
}

// doneTimes records when each file's handoff.ocr.done arrives.
type doneTimes struct {
	mu sync.Mutex
	at map[string]time.Time
	ev map[string]event.OCRDone
}

func (e *serviceEnv) doneTimes(t *testing.T) *doneTimes {
	t.Helper()
	d := &doneTimes{at: map[string]time.Time{}, ev: map[string]event.OCRDone{}}
	sub, err := e.Conn.Subscribe(event.SubjectOCRDone, func(m *nats.Msg) {
		var ev event.OCRDone
		if _, err := event.Decode(m.Header, m.Data, &ev); err != nil {
			return
		}
		d.mu.Lock()
		if _, ok := d.at[ev.FileID]; !ok {
			d.at[ev.FileID], d.ev[ev.FileID] = time.Now(), ev
		}
		d.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return d
}

func (d *doneTimes) get(file string) (time.Time, event.OCRDone, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	at, ok := d.at[file]
	return at, d.ev[file], ok
}

// waitDone uploads nothing: it waits for a file's completion and returns
// when it arrived.
func (d *doneTimes) wait(t *testing.T, file string, timeout time.Duration) (time.Time, event.OCRDone) {
	t.Helper()
	var at time.Time
	var ev event.OCRDone
	waitFor(t, timeout, "ocr done of "+file, func() bool {
		var ok bool
		at, ev, ok = d.get(file)
		return ok
	})
	return at, ev
}

var pageDoneRe = regexp.MustCompile(`\{[^\n]*"msg":"page done"[^\n]*\}`)

// pageLog is one "page done" log record.
type pageLog struct {
	FileID  string  `json:"file_id"`
	Page    int     `json:"page"`
	Seconds float64 `json:"seconds"`
}

func pagesDone(t *testing.T, logs *pipetest.Logs) []pageLog {
	t.Helper()
	var out []pageLog
	for _, line := range pageDoneRe.FindAllString(logs.String(), -1) {
		var p pageLog
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func countFile(pages []pageLog, file string) int {
	n := 0
	for _, p := range pages {
		if p.FileID == file {
			n++
		}
	}
	return n
}

// TestServiceFairAcrossCases is the acceptance test of fair OCR: while a
// 500-page scan of one case is being OCRed, a 4-page scan uploaded to
// another case (split into page items) is done within twice its time on the
// idle pipeline plus one page, and so is a one-page document (OCRed whole,
// by the document consumer, on the same engines); the long scan keeps going
// meanwhile. The test does not wait for the 500 pages.
func TestServiceFairAcrossCases(t *testing.T) {
	e := newServiceEnv(t)
	times := e.doneTimes(t)
	// A case's first 4 pages go ahead (16 by default: fewer makes the
	// test quicker; the long scan is past them when the small one comes).
	// Pages are taken at about 150 dpi instead of 300 (fewer pixels for
	// Tesseract: quicker pages, the same scheduling).
	logs := e.start(t, "w1", ocr.Config{Workers: 2, FirstPages: 4, MaxPagePixels: quickPage})
	t.Cleanup(func() {
		if t.Failed() {
			_ = os.WriteFile(filepath.Join(os.TempDir(), "fair-test.log"), []byte(logs.String()), 0o644)
		}
	})
	// The documents timed are full pages (linn.pdf, about 2 s each at this
	// resolution): the bounds leave room for a page, not for a busy
	// machine's jitter of a fraction of a second. The long scan is of
	// half-second pages: without fair sharing the small scan would still
	// wait behind hundreds of them.
	small := repeated(t, "linn.pdf", 4)
	big := repeated(t, "francais.pdf", 500)

	// Warm up (Tesseract models load on first use: a one-page document is
	// cut in bands for both engines), then time the small scan on the idle
	// pipeline.
	warm := e.uploadTo(t, e.newCase(t), "warm.pdf", filepath.Join(corpus, "francais.pdf"))
	one := filepath.Join(corpus, "linn.pdf")
	times.wait(t, warm.FileID, 10*time.Minute)
	start := time.Now()
	idleOne := e.uploadTo(t, e.newCase(t), "idle-one.pdf", one)
	at, _ := times.wait(t, idleOne.FileID, 10*time.Minute)
	idleOneTime := at.Sub(start)
	start = time.Now()
	idle := e.uploadTo(t, e.newCase(t), "idle.pdf", small)
	at, _ = times.wait(t, idle.FileID, 10*time.Minute)
	idleTime := at.Sub(start)
	var page time.Duration
	for _, p := range pagesDone(t, logs) {
		if p.FileID == idle.FileID {
			page = max(page, time.Duration(p.Seconds*float64(time.Second)))
		}
	}

	// The long scan runs in case A; once it is under way, the small one
	// arrives in case B.
	long := e.uploadTo(t, e.newCase(t), "long.pdf", big)
	waitFor(t, 10*time.Minute, "long scan under way", func() bool { return countFile(pagesDone(t, logs), long.FileID) >= 6 })
	start = time.Now()
	before := countFile(pagesDone(t, logs), long.FileID)
	busy := e.uploadTo(t, e.newCase(t), "small.pdf", small)
	at, ev := times.wait(t, busy.FileID, 10*time.Minute)
	busyTime := at.Sub(start)
	during := countFile(pagesDone(t, logs), long.FileID) - before
	if ev.Pages != 4 || ev.OCRPages != 4 {
		t.Errorf("small scan: %+v, want 4 pages OCRed", ev)
	}
	bound := 2*idleTime + page
	t.Logf("4-page scan: %.1f s idle, %.1f s beside the 500-page scan (bound %.1f s: twice idle plus the slowest page, %.1f s); the 500-page scan did %d pages meanwhile",
		idleTime.Seconds(), busyTime.Seconds(), bound.Seconds(), page.Seconds(), during)
	if busyTime > bound {
		t.Errorf("4-page scan beside a 500-page one took %v; want at most %v (twice its %v on the idle pipeline plus a page of %v)",
			busyTime, bound, idleTime, page)
	}

	// A one-page document, OCRed whole, takes its engines in turn too.
	start = time.Now()
	busyOne := e.uploadTo(t, e.newCase(t), "one.pdf", one)
	at, ev = times.wait(t, busyOne.FileID, 10*time.Minute)
	busyOneTime := at.Sub(start)
	bound = 2*idleOneTime + page
	t.Logf("1-page document: %.1f s idle, %.1f s beside the 500-page scan (bound %.1f s)", idleOneTime.Seconds(), busyOneTime.Seconds(), bound.Seconds())
	if ev.OCRPages != 1 || busyOneTime > bound {
		t.Errorf("1-page document beside a 500-page scan: %v, %d pages OCRed; want at most %v (twice its %v on the idle pipeline plus a page of %v)",
			busyOneTime, ev.OCRPages, bound, idleOneTime, page)
	}

	// The long scan was not starved either: it went on while the small one
	// ran, and goes on after.
	if during == 0 {
		t.Errorf("the 500-page scan did no page while the 4-page one ran")
	}
	after := countFile(pagesDone(t, logs), long.FileID)
	waitFor(t, 10*time.Minute, "long scan going on", func() bool { return countFile(pagesDone(t, logs), long.FileID) >= after+2 })
	if _, _, ok := times.get(long.FileID); ok {
		t.Errorf("the 500-page scan is done already: the test proves nothing")
	}
	checkLogs(t, logs)
}

// TestServiceCaseTurns: with one document of a case OCRed at a time, a
// case's documents take their turns in order while another case's document
// goes ahead of them; every document is done once.
func TestServiceCaseTurns(t *testing.T) {
	t.Parallel()
	e := newServiceEnv(t)
	times := e.doneTimes(t)
	logs := e.start(t, "w1", ocr.Config{Workers: 2, FileWorkers: 2, CaseDocuments: 1, MaxPagePixels: quickPage})
	a, b := e.newCase(t), e.newCase(t)
	doc := filepath.Join(corpus, "francais.pdf")
	var refs []event.FileRef
	for i := range 3 {
		refs = append(refs, e.uploadTo(t, a, "a"+strconv.Itoa(i)+".pdf", doc))
	}
	other := e.uploadTo(t, b, "b.pdf", doc)
	var order []string
	name := map[string]string{other.FileID: "b"}
	for i, r := range refs {
		name[r.FileID] = "a" + strconv.Itoa(i)
	}
	type done struct {
		at   time.Time
		name string
	}
	var all []done
	for _, r := range append(refs, other) {
		at, ev := times.wait(t, r.FileID, 10*time.Minute)
		if ev.OCRPages != 1 {
			t.Errorf("%s: %+v", name[r.FileID], ev)
		}
		all = append(all, done{at, name[r.FileID]})
	}
	slices.SortFunc(all, func(x, y done) int { return x.at.Compare(y.at) })
	for _, d := range all {
		order = append(order, d.name)
	}
	t.Logf("done in order %v", order)
	if i := slices.Index(order, "b"); i > 1 {
		t.Errorf("order %v: case B's document waited behind case A's", order)
	}
	if ia := []int{slices.Index(order, "a0"), slices.Index(order, "a1"), slices.Index(order, "a2")}; !slices.IsSorted(ia) {
		t.Errorf("order %v: case A's documents out of turn", order)
	}
	if n := strings.Count(logs.String(), `"msg":"document waits for its case's turn"`); n != 2 {
		t.Errorf("%d documents waited, want 2 (a1, a2)", n)
	}
	if n := strings.Count(logs.String(), `"msg":"document resumed"`); n != 2 {
		t.Errorf("%d documents resumed, want 2", n)
	}
}

// TestServiceCaseBudget: a case over its OCR page budget keeps its
// documents: the pages within the budget are OCRed, the others left as
// scanned, and the files carry input.case_page_budget.
func TestServiceCaseBudget(t *testing.T) {
	t.Parallel()
	e := newServiceEnv(t)
	times := e.doneTimes(t)
	e.start(t, "w1", ocr.Config{Workers: 2, SplitPages: 1, CasePages: 3})
	// 5 pages: 3 OCRed (split into page items), 2 over the budget.
	five := e.upload(t, "five.pdf", repeated(t, "francais.pdf", 5))
	_, ev := times.wait(t, five.FileID, 10*time.Minute)
	if ev.Pages != 5 || ev.OCRPages != 3 || ev.FailedPages != 0 || ev.SearchableKey == "" {
		t.Errorf("5-page scan: %+v, want 3 of 5 pages OCRed", ev)
	}
	e.checkSearchable(t, ev, "whisky")
	f, err := e.Cases.File(t.Context(), e.caseID, five.FileID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.Document.OCRPages, []int{1, 2, 3}) || len(f.Document.TextPages) != 0 {
		t.Errorf("OCR pages %v, text pages %v; want [1 2 3] and none", f.Document.OCRPages, f.Document.TextPages)
	}
	checkBudgetWarning(t, f, "2 pages were not OCRed")

	// The budget is used up: a photo is kept as it is, not OCRed.
	root := filepath.Join(t.TempDir(), "photo")
	if out, err := exec.Command("pdftoppm", "-r", "150", "-singlefile", "-jpeg", filepath.Join(corpus, "francais.pdf"), root).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
	photo := e.upload(t, "photo.jpg", root+".jpg")
	_, ev = times.wait(t, photo.FileID, 10*time.Minute)
	if ev.Pages != 1 || ev.OCRPages != 0 || ev.SearchableKey != "" || ev.TextKey == "" {
		t.Errorf("photo over the budget: %+v, want 1 page, none OCRed, no searchable PDF", ev)
	}
	f, err = e.Cases.File(t.Context(), e.caseID, photo.FileID)
	if err != nil {
		t.Fatal(err)
	}
	checkBudgetWarning(t, f, "1 page was not OCRed")

	// Another case has its own budget.
	other := e.uploadTo(t, e.newCase(t), "one.pdf", filepath.Join(corpus, "francais.pdf"))
	if _, ev := times.wait(t, other.FileID, 10*time.Minute); ev.OCRPages != 1 {
		t.Errorf("another case: %+v, want its page OCRed", ev)
	}
}

func checkBudgetWarning(t *testing.T, f record.File, want string) {
	t.Helper()
	if f.Status == record.StatusFailed || f.Error != nil {
		t.Errorf("file %s: %s %+v, want it kept", f.ID, f.Status, f.Error)
	}
	for _, w := range f.Warnings {
		if w.Code == record.CodeCasePageBudget {
			if !strings.Contains(w.Message, want) || !strings.Contains(w.Message, "budget of 3 pages") {
				t.Errorf("warning %q, want %q and the budget", w.Message, want)
			}
			return
		}
	}
	t.Errorf("file %s: warnings %+v, want %s", f.ID, f.Warnings, record.CodeCasePageBudget)
}
