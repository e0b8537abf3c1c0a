package ocr

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/handoffmed/handoff/platform/app"
	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/budget"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/scratch"
	"github.com/handoffmed/handoff/platform/stage"
	"github.com/handoffmed/handoff/services/ocr/internal/engine"
	"github.com/handoffmed/handoff/services/ocr/internal/inspect"
	"github.com/handoffmed/handoff/services/ocr/internal/progress"
)

// StageName is the stage the OCR service records on files.
const StageName = "ocr"

// Durable consumer names.
const (
	ConsumerFile = "ocr"
	ConsumerPage = "ocr-page"
	// ConsumerFirst takes the page items of cases' first pages
	// (handoff.work.ocrfirst), before those of ConsumerPage.
	ConsumerFirst = "ocr-first"
)

// Config configures the OCR service.
type Config struct {
	// DerivedBucket receives the searchable PDFs, text sidecars and page results.
	DerivedBucket string
	// Workers is how many pages this process recognises at once, one
	// single-threaded Tesseract each (default: number of CPUs).
	Workers int
	// FileWorkers is how many documents this process takes at once from
	// handoff.work.ocr (default 2). A long document is split at once, so
	// this only bounds short documents done in one piece.
	FileWorkers int
	// Languages are Tesseract's, "eng+fra" (default "eng").
	Languages string
	// SplitPages: a PDF with more pages to OCR than this is split into page
	// work items (handoff.work.ocrpage) that every OCR worker shares
	// (default 2; negative: never split).
	SplitPages int
	// Caps: page count (default 2000), page pixels given to Tesseract
	// (default 40 MP), time per page (default 3 min), input size (default 2 GiB).
	MaxPages      int
	MaxPagePixels int64
	PageTimeout   time.Duration
	MaxBytes      int64
	// AckWait is how long a work item may go without a heartbeat (default 60s).
	AckWait time.Duration
	// MaxDeliver is how often a page is tried before it is dead-lettered
	// and its document completes without it (default 3).
	MaxDeliver int
	// OpTimeout bounds each S3 call, KV call and publish (default 60s).
	OpTimeout time.Duration
	// WorkDir holds the inputs and outputs being processed (default: the
	// system's temporary directory).
	WorkDir string
	// ProgressBucket is the KV bucket of split documents' progress and of
	// the cases' lanes.
	ProgressBucket string
	// Replicas of the progress and usage buckets (default 1).
	Replicas int

	// PageWindow is how many page items of one split document wait in the
	// queue at once (default 2; negative: every page is queued at the
	// split). Each page item, when its work starts, queues the next page:
	// page items of other documents queued meanwhile wait behind at most
	// this many pages of each document.
	PageWindow int
	// CaseDocuments is how many documents of one case are OCRed at once
	// (default 2; negative: no limit). The case's other documents wait for
	// their turn, in arrival order, without holding a worker or a place in
	// the queue.
	CaseDocuments int
	// FirstPages: a case's first pages to OCR go ahead of other cases'
	// later pages (default 16; negative: no page goes ahead). A case that
	// just arrived is not queued behind the long documents of others.
	FirstPages int
	// CasePages is each case's OCR budget: pages OCRed per case (default
	// 1000; negative: no budget). Pages beyond it are left as scanned, and
	// their document is kept with the warning input.case_page_budget.
	CasePages int
	// UsageBucket is the KV bucket of the cases' budget usage (default
	// budget.DefaultBucket, shared with the other services).
	UsageBucket string
}

func (c Config) withDefaults() Config {
	if c.Workers == 0 {
		c.Workers = runtime.NumCPU()
	}
	if c.FileWorkers == 0 {
		c.FileWorkers = 2
	}
	if c.Languages == "" {
		c.Languages = "eng"
	}
	if c.SplitPages == 0 {
		c.SplitPages = 2
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = 2 << 30
	}
	if c.AckWait == 0 {
		c.AckWait = time.Minute
	}
	if c.MaxDeliver == 0 {
		c.MaxDeliver = 3
	}
	if c.OpTimeout == 0 {
		c.OpTimeout = time.Minute
	}
	if c.WorkDir == "" {
		c.WorkDir = os.TempDir()
	}
	if c.ProgressBucket == "" {
		c.ProgressBucket = progress.DefaultBucket
	}
	if c.PageWindow == 0 {
		c.PageWindow = 2
	}
	if c.CaseDocuments == 0 {
		c.CaseDocuments = 2
	}
	if c.CasePages == 0 {
		c.CasePages = 1000
	}
	if c.FirstPages == 0 {
		c.FirstPages = 16
	}
	return c
}

// Validate checks the configuration.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.DerivedBucket == "" {
		errs = append(errs, errors.New("ocr: derived bucket is required"))
	}
	if c.Workers < 1 || c.Workers > 256 || c.FileWorkers < 1 || c.FileWorkers > 256 {
		errs = append(errs, fmt.Errorf("ocr: workers %d and file workers %d, want 1..256", c.Workers, c.FileWorkers))
	}
	if c.MaxPages < 0 || c.MaxPagePixels < 0 || c.PageTimeout < 0 || c.MaxBytes < 0 {
		errs = append(errs, errors.New("ocr: negative cap"))
	}
	if c.MaxDeliver < 1 {
		errs = append(errs, errors.New("ocr: max deliver must be positive"))
	}
	if st, err := os.Stat(c.WorkDir); err != nil || !st.IsDir() {
		errs = append(errs, fmt.Errorf("ocr: work dir is not a directory"))
	}
	return errors.Join(errs...)
}

// LogValue is the effective configuration (it holds no secrets).
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("derived_bucket", c.DerivedBucket), slog.Int("workers", c.Workers),
		slog.Int("file_workers", c.FileWorkers), slog.String("languages", c.Languages),
		slog.Int("split_pages", c.SplitPages), slog.Int("max_pages", c.MaxPages),
		slog.Int64("max_page_pixels", c.MaxPagePixels), slog.Duration("page_timeout", c.PageTimeout),
		slog.Int64("max_bytes", c.MaxBytes), slog.Duration("ack_wait", c.AckWait),
		slog.Int("max_deliver", c.MaxDeliver), slog.String("work_dir", c.WorkDir),
		slog.Int("page_window", c.PageWindow), slog.Int("case_documents", c.CaseDocuments), slog.Int("first_pages", c.FirstPages),
		slog.Int("case_pages", c.CasePages))
}

// Deps are the service's connections, as every service binary makes them
// (app.Deps).
type Deps = app.Deps

// Service makes the PDFs and pictures of the work queue handoff.work.ocr
// searchable, sharing long documents page by page over handoff.work.ocrpage.
type Service struct {
	cfg     Config
	opt     engine.Options
	log     *slog.Logger
	bus     *bus.Bus
	blobs   *blob.Store
	cases   *casestore.Store
	tracker stage.Tracker
	eng     *Engine
	usage   *budget.Store

	mu       sync.Mutex
	progress *progress.Store
	cache    *fileCache
	scratch  *scratch.Dir
}

// New returns the service. Tesseract models load on the first page.
func New(cfg Config, d Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Bus == nil || d.Blobs == nil || d.Cases == nil {
		return nil, errors.New("ocr: Bus, Blobs and Cases are required")
	}
	cfg = cfg.withDefaults()
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opt := Options{Jobs: cfg.Workers, Languages: cfg.Languages, MaxPages: cfg.MaxPages,
		MaxPagePixels: cfg.MaxPagePixels, PageTimeout: cfg.PageTimeout}
	eng, err := NewEngine(opt)
	if err != nil {
		return nil, err
	}
	return &Service{
		cfg: cfg, opt: opt.engine(), log: log.With("service", "ocr"), bus: d.Bus, blobs: d.Blobs, cases: d.Cases,
		tracker: stage.Tracker{Cases: d.Cases, Bus: d.Bus}, eng: eng,
		usage: budget.New(d.Bus.JetStream(), budget.Options{Bucket: cfg.UsageBucket, Replicas: cfg.Replicas}),
		cache: &fileCache{dir: cfg.WorkDir, max: 4, entries: map[string]*cached{}},
	}, nil
}

// fileMaxDeliver is how often a document's item is tried.
const fileMaxDeliver = 5

// ConsumerSpecs are the durable consumers the service runs: documents, and
// the pages of split documents in two tiers (cases' first pages, then the
// others) that share the page workers. Each takes an item only when a
// handler is free, so that every process's idle worker takes the next item
// in the queue's order.
func (s *Service) ConsumerSpecs() (file bus.ConsumerSpec, pages []bus.ConsumerSpec) {
	file = bus.ConsumerSpec{
		Stream: bus.StreamWork, Durable: ConsumerFile, Filters: []string{event.SubjectWorkOCR},
		AckWait: s.cfg.AckWait, Workers: s.cfg.FileWorkers, MaxDeliver: fileMaxDeliver, NoPrefetch: true,
	}
	page := bus.ConsumerSpec{
		Stream: bus.StreamWork, Durable: ConsumerPage, Filters: []string{event.SubjectWorkOCRPage},
		AckWait: s.cfg.AckWait, Workers: s.cfg.Workers, MaxDeliver: s.cfg.MaxDeliver, NoPrefetch: true,
		Backoff: []time.Duration{time.Second, 5 * time.Second, 15 * time.Second},
	}
	first := page
	first.Durable, first.Filters = ConsumerFirst, []string{event.SubjectWorkOCRFirst}
	return file, []bus.ConsumerSpec{first, page}
}

// Consumers are ConsumerSpecs as a list, like every service's.
func (s *Service) Consumers() []bus.ConsumerSpec {
	file, pages := s.ConsumerSpecs()
	return append([]bus.ConsumerSpec{file}, pages...)
}

// Start opens the progress bucket; Run calls it. Tests that drive the
// handlers directly call it first.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.progress != nil {
		return nil
	}
	p, err := progress.Open(ctx, s.bus.JetStream(), s.cfg.ProgressBucket, s.cfg.Replicas, 0)
	if err != nil {
		return err
	}
	// Files being processed go to a directory of this process's own; what
	// processes that died left behind is removed.
	sd, swept, err := scratch.Open(s.cfg.WorkDir, "handoff-ocr")
	if err != nil {
		return err
	}
	if swept > 0 {
		s.log.Info("removed the work files of stopped OCR processes", "dirs", swept)
	}
	s.scratch, s.cfg.WorkDir, s.cache.dir = sd, sd.Path, sd.Path
	s.progress = p
	return nil
}

// Run consumes work items until ctx is done, then drains and frees the
// Tesseract engines.
func (s *Service) Run(ctx context.Context) error {
	s.log.Info("starting", "config", s.cfg)
	if err := s.Start(ctx); err != nil {
		return err
	}
	defer func() { _ = s.scratch.Close() }()
	defer s.cache.clear()
	defer s.eng.Close()
	file, pages := s.ConsumerSpecs()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.bus.Consume(gctx, file, s.HandleFile) })
	g.Go(func() error { return s.bus.ConsumeTiers(gctx, pages, s.HandlePage) })
	return g.Wait()
}

func (s *Service) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.cfg.OpTimeout)
}

// keys of a file's outputs in the derived bucket.
func (s *Service) keys(ref event.FileRef) (searchable, text, work string) {
	p := record.DerivedPrefix(ref.CaseID, ref.FileID)
	return p + "searchable.pdf", p + "text.txt", p + "ocr/" + progress.Key(ref.CaseID, ref.FileID, ref.ETag) + "/"
}

// layoutKey is where a file's layout sidecar goes in the derived bucket.
func layoutKey(ref event.FileRef) string {
	return record.DerivedPrefix(ref.CaseID, ref.FileID) + "layout.json"
}

// HandleFile processes one document (handoff.work.ocr) when its case's
// lane gives it a turn.
func (s *Service) HandleFile(ctx context.Context, m *bus.Msg) error {
	var w event.FileWork
	if err := m.Decode(&w); err != nil {
		return err
	}
	ref := w.FileRef
	if err := validRef(ref); err != nil {
		return err
	}
	log := s.log.With("case_id", ref.CaseID, "file_id", ref.FileID)
	f, err := s.tracker.Start(ctx, ref, StageName)
	if errors.Is(err, stage.ErrStale) {
		log.Info("stale work item")
		return s.release(ctx, ref)
	}
	if err != nil {
		return fmt.Errorf("start %s: %w", ref.FileID, err)
	}
	if record.Terminal(f.Status) || finished(f) {
		return s.release(ctx, ref) // a redelivered item of a finished file changes nothing
	}
	turn, err := s.admit(ctx, ref)
	if err != nil {
		return err
	}
	if turn == progress.Wait {
		log.Info("document waits for its case's turn")
		return nil
	}
	split, err := s.process(ctx, log, ref)
	if err == nil && split {
		return nil // its page items carry its turn on
	}
	if err == nil || errors.Is(err, bus.ErrPermanent) || m.Delivered >= fileMaxDeliver {
		if rerr := s.release(ctx, ref); err == nil {
			return rerr
		}
	}
	return err
}

// process OCRs a document, or splits it into page items (split).
func (s *Service) process(ctx context.Context, log *slog.Logger, ref event.FileRef) (split bool, err error) {
	path, release, err := s.cache.get(ctx, ref, s.download)
	var re *record.Error
	if errors.As(err, &re) {
		log.Info("rejected", "code", re.Code)
		_, err := s.tracker.Fail(ctx, ref, StageName, re)
		return false, ignoreStale(err)
	}
	if err != nil {
		return false, err
	}
	defer func() {
		release()
		if !split { // page workers of this process use a split document's copy
			s.cache.drop(ref)
		}
	}()
	start := time.Now()
	outDir, err := os.MkdirTemp(s.cfg.WorkDir, "ocr-out-")
	if err != nil {
		return false, fmt.Errorf("work dir: %w", err)
	}
	defer os.RemoveAll(outDir)
	out := filepath.Join(outDir, "searchable.pdf")
	head, err := readHead(path)
	if err != nil {
		return false, err
	}
	var doc *engine.Document
	switch Sniff(head) {
	case record.TypeJPEG, record.TypePNG, record.TypeTIFF:
		granted, _, terr := s.takePages(ctx, ref, 1)
		if terr != nil {
			return false, terr
		}
		if granted == 0 { // over the budget: the picture stays as it is
			doc, out = &engine.Document{Pages: []engine.PageResult{{Number: 1, Kind: inspect.KindImage, Confidence: -1}}}, ""
			break
		}
		doc, err = s.eng.pool.ProcessImage(ctx, path, out, s.opt)
	case record.TypePDF:
		insp, ierr := engine.InspectFile(path, s.opt)
		if ierr != nil {
			err = ierr
			break
		}
		granted, before, terr := s.takePages(ctx, ref, ocrPages(insp))
		if terr != nil {
			return false, terr
		}
		if s.cfg.SplitPages >= 0 && granted > s.cfg.SplitPages {
			return true, s.split(ctx, log, ref, insp, granted, before)
		}
		doc, err = s.eng.pool.ProcessInspected(ctx, path, out, insp, granted, s.opt)
	default:
		err = &record.Error{Code: record.CodeUnknownType, Message: "not a PDF, JPEG, PNG or TIFF"}
	}
	if errors.As(err, &re) {
		log.Info("rejected", "code", re.Code)
		_, err := s.tracker.Fail(ctx, ref, StageName, re)
		return false, ignoreStale(err)
	}
	if err != nil {
		return false, err
	}
	if err := s.finalize(ctx, ref, out, doc); err != nil {
		return false, ignoreStale(err)
	}
	log.Info("document done", "pages", len(doc.Pages), "skipped", skipped(doc), "seconds", time.Since(start).Seconds())
	return false, nil
}

// validRef rejects work items whose IDs could not have come from intake
// (they name files and KV keys).
func validRef(ref event.FileRef) error {
	if !record.ValidID(ref.CaseID) || !record.ValidID(ref.FileID) || ref.ETag == "" {
		return bus.Permanent(errors.New("work item with invalid IDs"))
	}
	return nil
}

func ignoreStale(err error) error {
	if errors.Is(err, stage.ErrStale) {
		return nil
	}
	return err
}

func ocrPages(d *inspect.Document) int {
	n := 0
	for _, p := range d.Pages {
		if p.Kind == inspect.KindImage {
			n++
		}
	}
	return n
}

func readHead(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open input: %w", err)
	}
	defer f.Close()
	head := make([]byte, 16)
	n, _ := io.ReadFull(f, head)
	return head[:n], nil
}

// plan is what page workers need of a split document.
type plan struct {
	Pages []planPage `json:"pages"`
}

type planPage struct {
	Number         int          `json:"number"`
	Kind           inspect.Kind `json:"kind"`
	MediaBox       inspect.Rect `json:"media_box"`
	CropBox        inspect.Rect `json:"crop_box"`
	Rotate         int          `json:"rotate"`
	ScanDPI        float64      `json:"scan_dpi,omitempty"`
	MaxImagePixels int64        `json:"max_image_pixels,omitempty"`
	// Skip: a page to OCR left as scanned (over the case's OCR budget).
	Skip bool `json:"skip,omitempty"`
	// First: one of its case's first pages (its item goes ahead).
	First bool `json:"first,omitempty"`
}

func (p planPage) page() inspect.Page {
	return inspect.Page{Number: p.Number, Kind: p.Kind, MediaBox: p.MediaBox, CropBox: p.CropBox,
		Rotate: p.Rotate, ScanDPI: p.ScanDPI, MaxImagePixels: p.MaxImagePixels}
}

// split stores the document's plan, starts its progress record (pages that
// keep their text, and pages over the case's budget, are done from the
// start) and queues the first page items of its window: the first ocr
// pages to OCR are OCRed, the case having OCRed caseBefore pages before.
func (s *Service) split(ctx context.Context, log *slog.Logger, ref event.FileRef, insp *inspect.Document, ocr, caseBefore int) error {
	var pl plan
	done := make([]bool, len(insp.Pages))
	k := 0
	for i, p := range insp.Pages {
		pp := planPage{Number: p.Number, Kind: p.Kind, MediaBox: p.MediaBox, CropBox: p.CropBox,
			Rotate: p.Rotate, ScanDPI: p.ScanDPI, MaxImagePixels: p.MaxImagePixels}
		if p.Kind == inspect.KindImage {
			pp.Skip = k >= ocr
			pp.First = !pp.Skip && caseBefore+k < s.cfg.FirstPages
			k++
		}
		pl.Pages = append(pl.Pages, pp)
		done[i] = p.Kind != inspect.KindImage || pp.Skip
	}
	_, _, work := s.keys(ref)
	if err := s.putJSON(ctx, work+"plan.json", pl); err != nil {
		return err
	}
	key := progress.Key(ref.CaseID, ref.FileID, ref.ETag)
	pctx, cancel := s.op(ctx)
	d, err := s.progress.Start(pctx, key, done, s.cfg.PageWindow)
	cancel()
	if err != nil {
		return err
	}
	already := 0
	for _, d := range done {
		if d {
			already++
		}
	}
	if err := s.showProgress(ctx, ref, already, len(done)); err != nil {
		return err
	}
	// The heads of the window (every page without one). On a redelivered
	// split the ones queued before are dropped by their message IDs, and
	// a head that is done already queued its successor.
	pages := pl.toOCR()
	if d.Window > 0 {
		pages = pages[:min(d.Window, len(pages))]
	}
	n := 0
	for _, p := range pages {
		if d.Done[p-1] == '1' {
			continue
		}
		pctx, cancel := s.op(ctx)
		err := s.bus.Publish(pctx, event.OCRPageWork{Version: 1, FileRef: ref, Page: p, Pages: len(insp.Pages), First: pl.Pages[p-1].First})
		cancel()
		if err != nil {
			return fmt.Errorf("queue page %d: %w", p, err)
		}
		n++
	}
	log.Info("document split", "pages", len(insp.Pages), "to_ocr", len(pl.toOCR()), "page_items", n, "window", d.Window)
	return nil
}

// HandlePage processes one page of a split document, or reassembles the
// document (handoff.work.ocrpage).
func (s *Service) HandlePage(ctx context.Context, m *bus.Msg) error {
	var w event.OCRPageWork
	if err := m.Decode(&w); err != nil {
		return err
	}
	ref := w.FileRef
	if err := validRef(ref); err != nil {
		return err
	}
	log := s.log.With("case_id", ref.CaseID, "file_id", ref.FileID, "page", w.Page)
	fctx, cancel := s.op(ctx)
	f, err := s.cases.File(fctx, ref.CaseID, ref.FileID)
	cancel()
	if err != nil {
		return fmt.Errorf("file record: %w", err)
	}
	if f.ETag != ref.ETag {
		log.Info("stale page item")
		return s.release(ctx, ref) // the document will not be assembled
	}
	if w.Page == event.OCRAssemblePage {
		return s.assemble(ctx, log, ref)
	}
	key := progress.Key(ref.CaseID, ref.FileID, ref.ETag)
	pctx, cancel := s.op(ctx)
	d, err := s.progress.Get(pctx, key)
	cancel()
	if errors.Is(err, progress.ErrNotFound) {
		log.Warn("page of a document without progress record")
		return s.release(ctx, ref)
	}
	if err != nil {
		return err
	}
	if w.Page < 1 || w.Page > d.Pages {
		return bus.Permanent(fmt.Errorf("page %d of %d", w.Page, d.Pages))
	}
	if d.Done[w.Page-1] == '1' { // redelivered: the result is stored
		if err := s.queueNext(ctx, ref, d, w.Page, nil); err != nil {
			return err
		}
		return s.maybeAssemble(ctx, ref, d)
	}
	_, _, work := s.keys(ref)
	var pl plan
	if err := s.getJSON(ctx, work+"plan.json", &pl); err != nil {
		return err
	}
	if len(pl.Pages) != d.Pages {
		return bus.Permanent(errors.New("plan and progress disagree"))
	}
	// The page's work starts: the next page of the window is queued.
	if err := s.queueNext(ctx, ref, d, w.Page, &pl); err != nil {
		return err
	}
	path, release, err := s.cache.get(ctx, ref, s.download)
	if err != nil {
		return err // the document was readable when it was split: retry
	}
	defer release()
	start := time.Now()
	r := s.eng.pool.OCRPage(ctx, path, pl.Pages[w.Page-1].page(), s.opt)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	last := m.Delivered >= uint64(s.cfg.MaxDeliver)
	if r.Err != nil && !finalPageError(r.Err) && !last {
		return fmt.Errorf("page %d: %w", w.Page, r.Err) // retried
	}
	if err := s.putJSON(ctx, work+pageKey(w.Page), r); err != nil {
		return err
	}
	pctx, cancel = s.op(ctx)
	d, err = s.progress.PageDone(pctx, key, w.Page)
	cancel()
	if err != nil {
		return err
	}
	log.Info("page done", "ocr", r.OCRed, "seconds", time.Since(start).Seconds())
	if err := s.showProgress(ctx, ref, countDone(d), d.Pages); err != nil {
		return err
	}
	if err := s.maybeAssemble(ctx, ref, d); err != nil {
		return err
	}
	if r.Err != nil {
		// The document goes on without this page; the item goes to the
		// dead-letter stream with its error.
		return bus.Permanent(r.Err)
	}
	return nil
}

// finalPageError: retrying cannot help (the page stays too large or too slow).
func finalPageError(e *record.Error) bool {
	return e.Code == record.CodePageTooLarge || e.Code == record.CodeTimeout
}

func pageKey(n int) string { return "pages/" + fmt.Sprintf("%05d", n) + ".json" }

// maybeAssemble queues the reassembly once every page is done. Every page
// that sees the document complete asks; the item's ID makes it one.
func (s *Service) maybeAssemble(ctx context.Context, ref event.FileRef, d progress.Doc) error {
	if !d.Complete() || d.Assembled {
		return nil
	}
	pctx, cancel := s.op(ctx)
	defer cancel()
	// It finishes a document: it goes ahead.
	return s.bus.Publish(pctx, event.OCRPageWork{Version: 1, FileRef: ref, Page: event.OCRAssemblePage, Pages: d.Pages, First: true})
}

// assemble writes a split document's searchable PDF from its page results.
func (s *Service) assemble(ctx context.Context, log *slog.Logger, ref event.FileRef) error {
	key := progress.Key(ref.CaseID, ref.FileID, ref.ETag)
	pctx, cancel := s.op(ctx)
	d, err := s.progress.Get(pctx, key)
	cancel()
	if errors.Is(err, progress.ErrNotFound) || err == nil && d.Assembled {
		return s.release(ctx, ref)
	}
	if err != nil {
		return err
	}
	if !d.Complete() {
		return bus.Later(fmt.Errorf("assemble: %d pages not done", d.Pages-countDone(d)))
	}
	_, _, work := s.keys(ref)
	var pl plan
	if err := s.getJSON(ctx, work+"plan.json", &pl); err != nil {
		return err
	}
	results := make([]engine.PageResult, len(pl.Pages))
	for i, p := range pl.Pages {
		if p.Kind != inspect.KindImage || p.Skip {
			results[i] = engine.PageResult{Number: p.Number, Kind: p.Kind, Confidence: -1}
			continue
		}
		if err := s.getJSON(ctx, work+pageKey(p.Number), &results[i]); err != nil {
			return err
		}
	}
	path, release, err := s.cache.get(ctx, ref, s.download)
	if err != nil {
		return err
	}
	defer release()
	outDir, err := os.MkdirTemp(s.cfg.WorkDir, "ocr-out-")
	if err != nil {
		return fmt.Errorf("work dir: %w", err)
	}
	defer os.RemoveAll(outDir)
	out := filepath.Join(outDir, "searchable.pdf")
	if err := engine.Assemble(ctx, path, out, results); err != nil {
		return err
	}
	text, layout, err := engine.Sidecars(ctx, path, results)
	if err != nil {
		return err
	}
	if err := s.finalize(ctx, ref, out, &engine.Document{Pages: results, Text: text, Layout: layout}); err != nil {
		return ignoreStale(err)
	}
	pctx, cancel = s.op(ctx)
	err = s.progress.Assembled(pctx, key)
	cancel()
	if err != nil {
		return err
	}
	log.Info("document assembled", "pages", len(results), "skipped", skipped(&engine.Document{Pages: results}))
	s.cache.drop(ref)
	return s.release(ctx, ref)
}

func countDone(d progress.Doc) int {
	n := 0
	for i := range len(d.Done) {
		if d.Done[i] == '1' {
			n++
		}
	}
	return n
}

// showProgress records on the file how many pages of a split document are
// done (never fewer than it says already: page workers finish in any order).
func (s *Service) showProgress(ctx context.Context, ref event.FileRef, done, total int) error {
	tctx, cancel := s.op(ctx)
	defer cancel()
	_, err := s.tracker.Update(tctx, ref, func(f *record.File) error {
		if record.Terminal(f.Status) || f.Progress != nil && f.Progress.Done >= done && f.Progress.Total == total {
			return casestore.ErrNoChange
		}
		f.Progress = &record.Progress{Unit: "pages", Done: done, Total: total}
		return nil
	})
	return ignoreStale(err)
}

// finalize stores the outputs, records them on the file and announces them.
// With no output PDF (out is ""; a picture over the case's budget) the
// file keeps only its original and an empty text sidecar.
func (s *Service) finalize(ctx context.Context, ref event.FileRef, out string, doc *engine.Document) error {
	searchableKey, textKey, _ := s.keys(ref)
	var sha string
	if out == "" {
		searchableKey = ""
	} else {
		data, err := os.ReadFile(out)
		if err != nil {
			return fmt.Errorf("read output: %w", err)
		}
		sum := sha256.Sum256(data)
		sha = hex.EncodeToString(sum[:])
		if err := s.put(ctx, searchableKey, data, "application/pdf"); err != nil {
			return err
		}
	}
	if err := s.put(ctx, textKey, []byte(doc.Text), "text/plain; charset=utf-8"); err != nil {
		return err
	}
	lkey := layoutKey(ref)
	if err := s.putJSON(ctx, lkey, doc.Layout); err != nil {
		return err
	}
	res := result(doc)
	d := res.Document()
	failed := len(d.PageErrors)
	left := skipped(doc)
	tctx, cancel := s.op(ctx)
	_, err := s.tracker.Update(tctx, ref, func(f *record.File) error {
		if f.Document == nil {
			f.Document = &record.Document{}
		}
		fd := f.Document
		fd.SearchableBucket, fd.SearchableKey, fd.TextKey = s.cfg.DerivedBucket, searchableKey, textKey
		fd.LayoutKey = lkey
		fd.Pages, fd.OCRPages, fd.TextPages = d.Pages, d.OCRPages, d.TextPages
		fd.Confidence, fd.PageErrors, fd.Rotated = d.Confidence, d.PageErrors, d.Rotated
		f.Progress = nil
		s.budgetWarning(f, left)
		return nil
	})
	cancel()
	if err != nil {
		return err
	}
	pctx, cancel := s.op(ctx)
	defer cancel()
	return s.bus.Publish(pctx, event.OCRDone{
		Version: 1, FileRef: ref, OutputBucket: s.cfg.DerivedBucket, SearchableKey: searchableKey, TextKey: textKey,
		SHA256: sha, Pages: d.Pages, OCRPages: len(d.OCRPages), FailedPages: failed,
		LayoutKey: lkey,
	})
}

func (s *Service) put(ctx context.Context, key string, data []byte, ctype string) error {
	pctx, cancel := s.op(ctx)
	defer cancel()
	_, err := s.blobs.Put(pctx, s.cfg.DerivedBucket, key, bytes.NewReader(data), int64(len(data)), blob.PutOptions{ContentType: ctype})
	return err
}

func (s *Service) putJSON(ctx context.Context, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	return s.put(ctx, key, data, "application/json")
}

func (s *Service) getJSON(ctx context.Context, key string, v any) error {
	pctx, cancel := s.op(ctx)
	defer cancel()
	rc, _, err := s.blobs.Get(pctx, s.cfg.DerivedBucket, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := json.NewDecoder(rc).Decode(v); err != nil {
		return fmt.Errorf("decode %s: %w", key, err)
	}
	return nil
}

// download copies the original to a file of the work dir. Input problems
// come back as *record.Error.
func (s *Service) download(ctx context.Context, ref event.FileRef, path string) error {
	if ref.Size > s.cfg.MaxBytes {
		return &record.Error{Code: record.CodeTooLarge, Message: "the file is larger than the OCR cap of " + strconv.FormatInt(s.cfg.MaxBytes>>20, 10) + " MiB"}
	}
	gctx, cancel := context.WithTimeout(ctx, 10*s.cfg.OpTimeout)
	defer cancel()
	rc, info, err := s.blobs.Get(gctx, ref.Bucket, ref.Key)
	if errors.Is(err, blob.ErrNotFound) {
		return &record.Error{Code: record.CodeUnreadable, Message: "the uploaded object is gone"}
	}
	if err != nil {
		return err
	}
	defer rc.Close()
	if info.Size > s.cfg.MaxBytes {
		return &record.Error{Code: record.CodeTooLarge, Message: "the file is larger than the OCR cap of " + strconv.FormatInt(s.cfg.MaxBytes>>20, 10) + " MiB"}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("work file: %w", err)
	}
	if _, err := io.Copy(f, io.LimitReader(rc, s.cfg.MaxBytes)); err != nil {
		f.Close()
		return fmt.Errorf("download: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("work file: %w", err)
	}
	return nil
}

// fileCache keeps the originals a worker is working on, so the pages of one
// document taken by one worker download it once.
type fileCache struct {
	dir     string
	max     int
	mu      sync.Mutex
	entries map[string]*cached
	tick    int
}

type cached struct {
	path  string
	ready chan struct{}
	err   error
	refs  int
	used  int
}

func (c *fileCache) get(ctx context.Context, ref event.FileRef, fetch func(context.Context, event.FileRef, string) error) (string, func(), error) {
	key := progress.Key(ref.CaseID, ref.FileID, ref.ETag)
	c.mu.Lock()
	e, ok := c.entries[key]
	if !ok {
		e = &cached{path: filepath.Join(c.dir, "ocr-in-"+key), ready: make(chan struct{})}
		c.entries[key] = e
		go func() {
			e.err = fetch(context.WithoutCancel(ctx), ref, e.path)
			close(e.ready)
		}()
	}
	e.refs++
	c.tick++
	e.used = c.tick
	c.mu.Unlock()
	release := func() {
		c.mu.Lock()
		e.refs--
		c.evict()
		c.mu.Unlock()
	}
	select {
	case <-e.ready:
	case <-ctx.Done():
		release()
		return "", nil, ctx.Err()
	}
	if e.err != nil {
		c.mu.Lock()
		if c.entries[key] == e {
			delete(c.entries, key)
		}
		e.refs--
		c.mu.Unlock()
		_ = os.Remove(e.path)
		return "", nil, e.err
	}
	return e.path, release, nil
}

// evict removes the least recently used idle files beyond max (mu held).
func (c *fileCache) evict() {
	for len(c.entries) > c.max {
		var victim string
		oldest := -1
		for k, e := range c.entries {
			select {
			case <-e.ready:
			default:
				continue
			}
			if e.refs == 0 && (oldest < 0 || e.used < oldest) {
				victim, oldest = k, e.used
			}
		}
		if victim == "" {
			return
		}
		_ = os.Remove(c.entries[victim].path)
		delete(c.entries, victim)
	}
}

// drop forgets a document when it is finished.
func (c *fileCache) drop(ref event.FileRef) {
	key := progress.Key(ref.CaseID, ref.FileID, ref.ETag)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok && e.refs == 0 {
		_ = os.Remove(e.path)
		delete(c.entries, key)
	}
}

func (c *fileCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		select {
		case <-e.ready:
			_ = os.Remove(e.path)
			delete(c.entries, k)
		default:
		}
	}
}
