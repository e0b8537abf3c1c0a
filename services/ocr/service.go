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

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/record"
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
	// ProgressBucket is the KV bucket of split documents' progress.
	ProgressBucket string
	// Replicas of the progress bucket (default 1).
	Replicas int
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
		slog.Int("max_deliver", c.MaxDeliver), slog.String("work_dir", c.WorkDir))
}

// Deps are the platform adapters the service uses.
type Deps struct {
	Log   *slog.Logger
	Bus   *bus.Bus
	Blobs *blob.Store
	Cases *casestore.Store
}

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

	mu       sync.Mutex
	progress *progress.Store
	cache    *fileCache
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
		cache: &fileCache{dir: cfg.WorkDir, max: 4, entries: map[string]*cached{}},
	}, nil
}

// ConsumerSpecs are the durable consumers the service runs: documents, and
// the pages of split documents.
func (s *Service) ConsumerSpecs() (file, page bus.ConsumerSpec) {
	file = bus.ConsumerSpec{
		Stream: bus.StreamWork, Durable: ConsumerFile, Filters: []string{event.SubjectWorkOCR},
		AckWait: s.cfg.AckWait, Workers: s.cfg.FileWorkers, MaxDeliver: 5,
	}
	page = bus.ConsumerSpec{
		Stream: bus.StreamWork, Durable: ConsumerPage, Filters: []string{event.SubjectWorkOCRPage},
		AckWait: s.cfg.AckWait, Workers: s.cfg.Workers, MaxDeliver: s.cfg.MaxDeliver,
		Backoff: []time.Duration{time.Second, 5 * time.Second, 15 * time.Second},
	}
	return file, page
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
	defer s.cache.clear()
	defer s.eng.Close()
	file, page := s.ConsumerSpecs()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.bus.Consume(gctx, file, s.HandleFile) })
	g.Go(func() error { return s.bus.Consume(gctx, page, s.HandlePage) })
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

// HandleFile processes one document (handoff.work.ocr).
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
		return nil
	}
	if err != nil {
		return fmt.Errorf("start %s: %w", ref.FileID, err)
	}
	if record.Terminal(f.Status) || f.Document != nil && f.Document.SearchableKey != "" {
		return nil // a redelivered item of a finished file changes nothing
	}
	path, release, err := s.cache.get(ctx, ref, s.download)
	var re *record.Error
	if errors.As(err, &re) {
		log.Info("rejected", "code", re.Code)
		_, err := s.tracker.Fail(ctx, ref, StageName, re)
		return ignoreStale(err)
	}
	if err != nil {
		return err
	}
	split := false
	defer func() {
		release()
		if !split { // page workers of this process use a split document's copy
			s.cache.drop(ref)
		}
	}()
	start := time.Now()
	outDir, err := os.MkdirTemp(s.cfg.WorkDir, "ocr-out-")
	if err != nil {
		return fmt.Errorf("work dir: %w", err)
	}
	defer os.RemoveAll(outDir)
	out := filepath.Join(outDir, "searchable.pdf")
	head, err := readHead(path)
	if err != nil {
		return err
	}
	var doc *engine.Document
	switch Sniff(head) {
	case record.TypeJPEG, record.TypePNG, record.TypeTIFF:
		doc, err = s.eng.pool.ProcessImage(ctx, path, out, s.opt)
	case record.TypePDF:
		insp, ierr := engine.InspectFile(path, s.opt)
		if ierr != nil {
			err = ierr
			break
		}
		if n := ocrPages(insp); s.cfg.SplitPages >= 0 && n > s.cfg.SplitPages {
			split = true
			return s.split(ctx, log, ref, insp)
		}
		doc, err = s.eng.pool.ProcessPDF(ctx, path, out, s.opt)
	default:
		err = &record.Error{Code: record.CodeUnknownType, Message: "not a PDF, JPEG, PNG or TIFF"}
	}
	if errors.As(err, &re) {
		log.Info("rejected", "code", re.Code)
		_, err := s.tracker.Fail(ctx, ref, StageName, re)
		return ignoreStale(err)
	}
	if err != nil {
		return err
	}
	if err := s.finalize(ctx, ref, out, doc); err != nil {
		return ignoreStale(err)
	}
	log.Info("document done", "pages", len(doc.Pages), "seconds", time.Since(start).Seconds())
	return nil
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
}

func (p planPage) page() inspect.Page {
	return inspect.Page{Number: p.Number, Kind: p.Kind, MediaBox: p.MediaBox, CropBox: p.CropBox,
		Rotate: p.Rotate, ScanDPI: p.ScanDPI, MaxImagePixels: p.MaxImagePixels}
}

// split stores the document's plan, starts its progress record (pages that
// keep their text are done from the start) and queues one work item per
// page to OCR.
func (s *Service) split(ctx context.Context, log *slog.Logger, ref event.FileRef, insp *inspect.Document) error {
	var pl plan
	done := make([]bool, len(insp.Pages))
	for i, p := range insp.Pages {
		pl.Pages = append(pl.Pages, planPage{Number: p.Number, Kind: p.Kind, MediaBox: p.MediaBox, CropBox: p.CropBox,
			Rotate: p.Rotate, ScanDPI: p.ScanDPI, MaxImagePixels: p.MaxImagePixels})
		done[i] = p.Kind != inspect.KindImage
	}
	_, _, work := s.keys(ref)
	if err := s.putJSON(ctx, work+"plan.json", pl); err != nil {
		return err
	}
	key := progress.Key(ref.CaseID, ref.FileID, ref.ETag)
	pctx, cancel := s.op(ctx)
	err := s.progress.Start(pctx, key, done)
	cancel()
	if err != nil {
		return err
	}
	n := 0
	for i, p := range insp.Pages {
		if done[i] {
			continue
		}
		pctx, cancel := s.op(ctx)
		err := s.bus.Publish(pctx, event.OCRPageWork{Version: 1, FileRef: ref, Page: p.Number, Pages: len(insp.Pages)})
		cancel()
		if err != nil {
			return fmt.Errorf("queue page %d: %w", p.Number, err)
		}
		n++
	}
	log.Info("document split", "pages", len(insp.Pages), "page_items", n)
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
		return nil
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
		return nil
	}
	if err != nil {
		return err
	}
	if w.Page < 1 || w.Page > d.Pages {
		return bus.Permanent(fmt.Errorf("page %d of %d", w.Page, d.Pages))
	}
	if d.Done[w.Page-1] == '1' { // redelivered: the result is stored
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
	return s.bus.Publish(pctx, event.OCRPageWork{Version: 1, FileRef: ref, Page: event.OCRAssemblePage, Pages: d.Pages})
}

// assemble writes a split document's searchable PDF from its page results.
func (s *Service) assemble(ctx context.Context, log *slog.Logger, ref event.FileRef) error {
	key := progress.Key(ref.CaseID, ref.FileID, ref.ETag)
	pctx, cancel := s.op(ctx)
	d, err := s.progress.Get(pctx, key)
	cancel()
	if errors.Is(err, progress.ErrNotFound) || err == nil && d.Assembled {
		return nil
	}
	if err != nil {
		return err
	}
	if !d.Complete() {
		return fmt.Errorf("assemble: %d pages not done", d.Pages-countDone(d))
	}
	_, _, work := s.keys(ref)
	var pl plan
	if err := s.getJSON(ctx, work+"plan.json", &pl); err != nil {
		return err
	}
	results := make([]engine.PageResult, len(pl.Pages))
	for i, p := range pl.Pages {
		if p.Kind != inspect.KindImage {
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
	log.Info("document assembled", "pages", len(results))
	s.cache.drop(ref)
	return nil
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

// finalize stores the outputs, records them on the file and announces them.
func (s *Service) finalize(ctx context.Context, ref event.FileRef, out string, doc *engine.Document) error {
	searchableKey, textKey, _ := s.keys(ref)
	data, err := os.ReadFile(out)
	if err != nil {
		return fmt.Errorf("read output: %w", err)
	}
	sum := sha256.Sum256(data)
	if err := s.put(ctx, searchableKey, data, "application/pdf"); err != nil {
		return err
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
	tctx, cancel := s.op(ctx)
	_, err = s.tracker.Update(tctx, ref, func(f *record.File) error {
		if f.Document == nil {
			f.Document = &record.Document{}
		}
		fd := f.Document
		fd.SearchableBucket, fd.SearchableKey, fd.TextKey = s.cfg.DerivedBucket, searchableKey, textKey
		fd.LayoutKey = lkey
		fd.Pages, fd.OCRPages, fd.TextPages = d.Pages, d.OCRPages, d.TextPages
		fd.Confidence, fd.PageErrors, fd.Rotated = d.Confidence, d.PageErrors, d.Rotated
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
		SHA256: hex.EncodeToString(sum[:]), Pages: d.Pages, OCRPages: len(d.OCRPages), FailedPages: failed,
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
