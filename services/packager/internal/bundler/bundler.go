// Package bundler makes one bundle: it lays the case out, renders the
// generated documents, and streams the ZIP from the source objects into a
// writer, computing every entry's SHA-256 on the way for MANIFEST.json and
// SHA256SUMS. The bytes are a function of the inputs only: the same inputs
// make the same ZIP, byte for byte.
package bundler

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/handoffmed/handoff/platform/clinical"
	"github.com/handoffmed/handoff/platform/record"

	"github.com/handoffmed/handoff/services/packager/internal/layout"
	"github.com/handoffmed/handoff/services/packager/internal/render"
	"github.com/handoffmed/handoff/services/packager/internal/zipstream"
)

// LayoutVersion changes when the bundle layout or the generated documents
// change, so that unchanged inputs still make a new bundle after an upgrade.
const LayoutVersion = 2

// Objects reads source objects.
type Objects interface {
	// Open reads a whole object with one request.
	Open(ctx context.Context, bucket, key string) (io.ReadCloser, error)
	// Stat returns an object's size and ETag.
	Stat(ctx context.Context, bucket, key string) (size int64, etag string, err error)
}

// Input is what a bundle is made from.
type Input struct {
	layout.Input
	// Report is the case's checklist report (nil when there is none).
	Report *record.Report
	// Vocab is the clinical vocabulary (nil: one is built for the job).
	Vocab *clinical.Vocabulary
	// Version is the bundle version being made.
	Version int
	// Fonts for the PDFs.
	Fonts render.Fonts
	// Zip tunes the ZIP writer.
	Zip zipstream.Options
	// Prefetch is how many source objects are opened ahead (default 4).
	Prefetch int
	// Workers hash and compress small items in parallel (default GOMAXPROCS).
	Workers int
	// SmallMax is the largest item prepared in memory (default 8 MiB);
	// larger ones are streamed. Budget bounds the memory prepared items hold
	// (default 32 MiB).
	SmallMax, Budget int64
	// DICOMLevel is the deflate level of DICOM entries (default
	// zipstream.HuffmanOnly).
	DICOMLevel int
}

// Job is a prepared bundle.
type Job struct {
	in      Input
	plan    layout.Plan
	stamp   time.Time
	inputs  string
	summary render.SummaryData
	fullTxt string // the summary's free text, written when the page shortened it
}

// Prepare lays the bundle out and fetches the sizes of sources whose size
// the records do not carry (the OCR service's searchable PDFs).
func Prepare(ctx context.Context, objs Objects, in Input) (*Job, error) {
	if in.Prefetch <= 0 {
		in.Prefetch = 4
	}
	if in.Workers <= 0 {
		in.Workers = runtime.GOMAXPROCS(0)
	}
	if in.SmallMax <= 0 {
		in.SmallMax = 8 << 20
	}
	if in.Budget <= 0 {
		in.Budget = 32 << 20
	}
	if in.DICOMLevel == 0 {
		in.DICOMLevel = zipstream.HuffmanOnly
	}
	plan := layout.Build(in.Input)
	for i := range plan.Items {
		it := &plan.Items[i]
		if it.Source.Size >= 0 && (it.Source.ETag != "" || it.Kind != layout.KindDocument) {
			continue
		}
		size, etag, err := objs.Stat(ctx, it.Source.Bucket, it.Source.Key)
		if err != nil {
			return nil, fmt.Errorf("stat source of %s: %w", it.FileID, err)
		}
		it.Source.Size, it.Source.ETag = size, etag
	}
	j := &Job{in: in, plan: plan}
	j.stamp = stamp(in)
	if in.Vocab == nil {
		in.Vocab = clinical.New()
	}
	j.in = in
	j.summary = summaryData(in, plan, j.stamp, in.Vocab)
	j.inputs = j.digest()
	return j, nil
}

// Version is the bundle version the job makes.
func (j *Job) Version() int { return j.in.Version }

// WithVersion returns the job's input for another version number.
func (j *Job) WithVersion(v int) Input {
	in := j.in
	in.Version = v
	return in
}

// Plan is the bundle's layout.
func (j *Job) Plan() layout.Plan { return j.plan }

// Inputs is the digest of everything the bundle is made from.
func (j *Job) Inputs() string { return j.inputs }

// Name is the ZIP's file name.
func (j *Job) Name() string { return j.plan.ZipName() }

// Stamp is the time written into the ZIP entries and PDFs.
func (j *Job) Stamp() time.Time { return j.stamp }

// stamp is the newest upload or report time: stable while the inputs are.
func stamp(in Input) time.Time {
	var t time.Time
	for _, f := range in.Files {
		if f.Received.After(t) {
			t = f.Received
		}
	}
	if in.Report != nil && in.Report.Generated.After(t) {
		t = in.Report.Generated
	}
	if t.IsZero() {
		t = in.Case.Created
	}
	return t.UTC().Truncate(time.Second)
}

// digest identifies the inputs: sources by key, size and ETag, the case
// fields, the report, the layout version.
func (j *Job) digest() string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	_ = enc.Encode(struct {
		Layout   int
		Name     string
		Patient  record.Patient
		Summary  render.SummaryData
		Items    []layout.Item
		Excluded []layout.Excluded
		Gaps     []string
		Pending  int
		Report   string
	}{LayoutVersion, j.plan.Name, j.in.Case.Patient, j.summary, j.plan.Items, j.plan.Excluded, j.plan.Gaps, j.plan.Pending, reportDigest(j.in.Report)})
	return hex.EncodeToString(h.Sum(nil))
}

func reportDigest(r *record.Report) string {
	if r == nil {
		return ""
	}
	return cmp.Or(r.Digest, fmt.Sprint(r.Generated.UnixNano()))
}

// Result describes a written bundle.
type Result struct {
	Size     int64
	SHA256   string
	Entries  int
	Manifest Manifest
}

// ManifestFile is one file of MANIFEST.json.
type ManifestFile struct {
	Path     string `json:"path"` // relative to the bundle folder
	Category string `json:"category"`
	FileID   string `json:"file_id,omitempty"`
	Upload   string `json:"upload,omitempty"` // the original upload's key
	Source   string `json:"source,omitempty"` // bucket/key the bytes came from
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	Stored   string `json:"stored"` // "stored" or "deflated" in the ZIP
}

// Manifest is MANIFEST.json.
type Manifest struct {
	Bundle   string              `json:"bundle"`
	CaseID   string              `json:"case_id"`
	Version  int                 `json:"version"`
	Created  time.Time           `json:"created"`
	Inputs   string              `json:"inputs"`
	Layout   int                 `json:"layout"`
	SumsFile string              `json:"sha256sums"` // how to check
	Files    []ManifestFile      `json:"files"`
	Excluded []layout.Excluded   `json:"excluded"`
	Gaps     []string            `json:"gaps"`
	Pending  int                 `json:"pending"`
	Parts    []record.PartStatus `json:"parts,omitempty"`
}

// Generated categories in the manifest.
const (
	CategoryGenerated = "generated"
)

// Write streams the bundle's ZIP into w.
func (j *Job) Write(ctx context.Context, objs Objects, w io.Writer) (Result, error) {
	zw := zipstream.NewWriter(w, j.in.Zip)
	root := j.plan.Name + "/"
	man := Manifest{
		Bundle: j.plan.Name, CaseID: j.in.Case.ID, Version: j.in.Version, Created: j.stamp,
		Inputs: j.inputs, Layout: LayoutVersion, SumsFile: "cd " + j.plan.Name + " && sha256sum -c " + layout.Sums,
		Excluded: nonNil(j.plan.Excluded), Gaps: nonNil(j.plan.Gaps), Pending: j.plan.Pending,
	}
	if j.in.Report != nil {
		man.Parts = j.in.Report.Parts
	}

	note := func(path, category string, it *layout.Item, e zipstream.Entry) {
		mf := ManifestFile{Path: path, Category: category, Size: e.Size, SHA256: hex.EncodeToString(e.SHA256[:]), Stored: "stored"}
		if e.Method == 8 {
			mf.Stored = "deflated"
		}
		if it != nil {
			mf.FileID, mf.Upload, mf.Source = it.FileID, it.Upload, it.Source.Bucket+"/"+it.Source.Key
		}
		man.Files = append(man.Files, mf)
	}
	add := func(path, category string, it *layout.Item, method zipstream.Method, size int64, r io.Reader) error {
		level := 0
		if it != nil {
			level = levelFor(it, j.in.DICOMLevel)
		}
		e, err := zw.Add(zipstream.Header{Name: root + path, Modified: j.stamp, Size: size, Method: method, Level: level}, r)
		if err != nil {
			return err
		}
		note(path, category, it, e)
		return nil
	}
	addPrepared := func(it *layout.Item, p *zipstream.Prepared) error {
		e, err := zw.AddPrepared(zipstream.Header{Name: root + it.Path, Modified: j.stamp, Size: it.Source.Size}, p)
		if err != nil {
			return err
		}
		note(it.Path, it.Category, it, e)
		return nil
	}
	addBytes := func(path string, b []byte, method zipstream.Method) error {
		return add(path, CategoryGenerated, nil, method, int64(len(b)), bytes.NewReader(b))
	}

	// Folders first, so that empty parts still show.
	if err := zw.AddDir(root, j.stamp); err != nil {
		return Result{}, err
	}
	for _, d := range layout.Folders {
		if err := zw.AddDir(root+d+"/", j.stamp); err != nil {
			return Result{}, err
		}
	}

	// The one-page summary, at the top and in 01.
	var sum bytes.Buffer
	sres, err := render.SummaryPDF(&sum, j.summary, j.in.Fonts)
	if err != nil {
		return Result{}, err
	}
	if sres.Shortened {
		// Render again with the pointer to the full text.
		j.summary.FullTextPath = fullTextPath
		sum.Reset()
		if _, err := render.SummaryPDF(&sum, j.summary, j.in.Fonts); err != nil {
			return Result{}, err
		}
	}
	if err := addBytes(layout.TopSummary, sum.Bytes(), zipstream.Auto); err != nil {
		return Result{}, err
	}
	if err := addBytes(layout.PartSummary, sum.Bytes(), zipstream.Auto); err != nil {
		return Result{}, err
	}
	if sres.Shortened {
		if err := addBytes(fullTextPath, []byte(fullText(j.summary)), zipstream.Deflate); err != nil {
			return Result{}, err
		}
	}

	// Copied files, streamed from S3 with a few opened ahead.
	if err := j.copyItems(ctx, objs, add, addPrepared); err != nil {
		return Result{}, err
	}

	// Checklist.
	var txt bytes.Buffer
	if err := render.ChecklistText(&txt, j.checklistData()); err != nil {
		return Result{}, err
	}
	var cpdf bytes.Buffer
	if err := render.ChecklistPDF(&cpdf, j.checklistData(), j.in.Fonts); err != nil {
		return Result{}, err
	}
	if err := addBytes(layout.ChecklistPDF, cpdf.Bytes(), zipstream.Auto); err != nil {
		return Result{}, err
	}
	if err := addBytes(layout.ChecklistText, txt.Bytes(), zipstream.Deflate); err != nil {
		return Result{}, err
	}

	// MANIFEST.json lists everything before it; SHA256SUMS checks
	// everything, the manifest included.
	slices.SortFunc(man.Files, func(a, b ManifestFile) int { return cmp.Compare(a.Path, b.Path) })
	mj, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return Result{}, fmt.Errorf("manifest: %w", err)
	}
	mj = append(mj, '\n')
	files := slices.Clone(man.Files)
	if err := addBytes(layout.Manifest, mj, zipstream.Deflate); err != nil {
		return Result{}, err
	}
	files = append(files, man.Files[len(man.Files)-1])
	slices.SortFunc(files, func(a, b ManifestFile) int { return cmp.Compare(a.Path, b.Path) })
	var sums strings.Builder
	for _, f := range files {
		fmt.Fprintf(&sums, "%s  %s\n", f.SHA256, f.Path)
	}
	if err := addBytes(layout.Sums, []byte(sums.String()), zipstream.Deflate); err != nil {
		return Result{}, err
	}
	res, err := zw.Close()
	if err != nil {
		return Result{}, err
	}
	return Result{Size: res.Size, SHA256: hex.EncodeToString(res.SHA256[:]), Entries: res.Entries, Manifest: man}, nil
}

const fullTextPath = layout.DirSummary + "/Case_Summary_full_text.txt"

// slot is one item on its way into the archive: prepared in memory by a
// worker (small items, hashed and compressed in parallel) or opened ahead
// and streamed by the writer (large ones).
type slot struct {
	i        int
	it       *layout.Item
	cost     int64
	prepared *zipstream.Prepared
	raw, out *[]byte
	body     io.ReadCloser
	err      error
	done     chan struct{}
}

// copyItems writes the copied items in order. A dispatcher hands items out
// in order, within a memory budget; workers open them and prepare the small
// ones; the writer adds them in order and releases their memory.
func (j *Job) copyItems(ctx context.Context, objs Objects, add func(string, string, *layout.Item, zipstream.Method, int64, io.Reader) error,
	addPrepared func(*layout.Item, *zipstream.Prepared) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	items := j.plan.Items
	workers := j.in.Workers
	budget := newBudget(j.in.Budget)
	// Items in flight: being prepared by every worker, waiting, and opened ahead.
	queue := make(chan *slot, max(j.in.Prefetch, workers+2))
	work := make(chan *slot)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			c := zipstream.NewCompressor(j.in.Zip)
			for sl := range work {
				j.prepare(ctx, objs, c, sl)
				close(sl.done)
			}
		})
	}
	wg.Go(func() {
		defer close(queue)
		defer close(work)
		for i := range items {
			it := &items[i]
			sl := &slot{i: i, it: it, done: make(chan struct{})}
			if it.Source.Size >= 0 && it.Source.Size <= j.in.SmallMax {
				sl.cost = 2 * it.Source.Size
			}
			if err := budget.acquire(ctx, sl.cost); err != nil {
				return
			}
			select {
			case queue <- sl:
			case <-ctx.Done():
				budget.release(sl.cost)
				return
			}
			select {
			case work <- sl:
			case <-ctx.Done():
				sl.err = ctx.Err()
				close(sl.done)
				return
			}
		}
	})
	err := func() error {
		for sl := range queue {
			<-sl.done
			err := sl.err
			if err == nil && sl.prepared != nil {
				err = addPrepared(sl.it, sl.prepared)
			} else if err == nil {
				err = add(sl.it.Path, sl.it.Category, sl.it, methodFor(sl.it), sl.it.Source.Size, sl.body)
			}
			j.finish(sl)
			budget.release(sl.cost)
			if err != nil {
				return fmt.Errorf("copy item %d (file %s): %w", sl.i, sl.it.FileID, err)
			}
		}
		if n := len(items); n > 0 && ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return nil
	}()
	if err != nil {
		cancel()
		for sl := range queue { // release what was opened ahead
			<-sl.done
			j.finish(sl)
		}
	}
	wg.Wait()
	return err
}

// prepare opens a slot's object and, for a small item, reads, hashes and
// compresses it.
func (j *Job) prepare(ctx context.Context, objs Objects, c *zipstream.Compressor, sl *slot) {
	if ctx.Err() != nil {
		sl.err = ctx.Err()
		return
	}
	body, err := objs.Open(ctx, sl.it.Source.Bucket, sl.it.Source.Key)
	if err != nil {
		sl.err = err
		return
	}
	if sl.cost == 0 {
		sl.body = body
		return
	}
	defer body.Close()
	size := sl.it.Source.Size
	sl.raw = getBuf(size + 1)
	raw := (*sl.raw)[:size+1]
	n, err := io.ReadFull(body, raw)
	switch {
	case err == nil:
		sl.err = fmt.Errorf("object longer than its %d bytes: %w", size, zipstream.ErrSizeMismatch)
		return
	case !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF):
		sl.err = err
		return
	case int64(n) != size:
		sl.err = fmt.Errorf("object has %d bytes, want %d: %w", n, size, zipstream.ErrSizeMismatch)
		return
	}
	sl.out = getBuf(size + size/8 + 1024)
	sl.prepared = c.Prepare(methodFor(sl.it), levelFor(sl.it, j.in.DICOMLevel), raw[:n], (*sl.out)[:0])
}

func (j *Job) finish(sl *slot) {
	if sl.body != nil {
		_ = sl.body.Close()
		sl.body = nil
	}
	putBuf(sl.raw)
	putBuf(sl.out)
	sl.raw, sl.out, sl.prepared = nil, nil, nil
}

// Buffers come in power-of-two size classes from 64 KiB, one pool each, so
// that items of varying sizes reuse each other's buffers instead of
// churning the heap.
var bufPools [16]sync.Pool

func bufClass(n int64) int {
	c := bits.Len64(uint64(max(n-1, 0)) >> 16)
	return min(c, len(bufPools)-1)
}

func getBuf(n int64) *[]byte {
	c := bufClass(n)
	if b, ok := bufPools[c].Get().(*[]byte); ok && int64(cap(*b)) >= n {
		return b
	}
	size := max(int64(64<<10)<<c, n)
	b := make([]byte, 0, size)
	return &b
}

func putBuf(b *[]byte) {
	if b == nil {
		return
	}
	*b = (*b)[:0]
	// A buffer goes back to the largest class it can serve in full.
	c := bufClass(int64(cap(*b)))
	if int64(64<<10)<<c > int64(cap(*b)) && c > 0 {
		c--
	}
	bufPools[c].Put(b)
}

// budget bounds the bytes held by prepared items. A request larger than the
// whole budget passes when nothing else is held.
type budget struct {
	mu    sync.Mutex
	total int64
	free  int64
	wake  chan struct{}
}

func newBudget(total int64) *budget {
	return &budget{total: total, free: total, wake: make(chan struct{})}
}

func (b *budget) acquire(ctx context.Context, n int64) error {
	for {
		b.mu.Lock()
		if n <= b.free || b.free == b.total {
			b.free -= n
			b.mu.Unlock()
			return nil
		}
		wake := b.wake
		b.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (b *budget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.free += n
	close(b.wake)
	b.wake = make(chan struct{})
	b.mu.Unlock()
}

// levelFor is the deflate level of an item: Huffman-only for DICOM (most of
// the gain at twice the speed), level 1 for the rest.
func levelFor(it *layout.Item, dicom int) int {
	if it.Kind == layout.KindDICOM || it.Kind == layout.KindDICOMDIR {
		return dicom
	}
	return 1
}

// methodFor picks the ZIP method: pictures are stored as they are already
// compressed; DICOM and PDFs are stored or deflated by what pays.
func methodFor(it *layout.Item) zipstream.Method {
	p := strings.ToLower(it.Path)
	for _, ext := range []string{".jpg", ".jpeg", ".png", ".zip", ".gz"} {
		if strings.HasSuffix(p, ext) {
			return zipstream.Store
		}
	}
	return zipstream.Auto
}

func (j *Job) checklistData() render.ChecklistData {
	names := map[string]string{}
	for _, it := range j.plan.Items {
		if it.FileID != "" {
			if _, ok := names[it.FileID]; !ok {
				names[it.FileID] = it.Path
			}
		}
	}
	var excluded []string
	byID := map[string]record.File{}
	for _, f := range j.in.Files {
		byID[f.ID] = f
	}
	for _, e := range j.plan.Excluded {
		shown := uploadName(byID[e.FileID], e.Upload)
		names[e.FileID] = shown + " (left out: " + e.Reason + ")"
		excluded = append(excluded, shown+": "+e.Reason)
	}
	gaps := slices.Clone(j.plan.Gaps)
	if j.plan.Pending > 0 {
		gaps = append(gaps, fmt.Sprintf("%d upload(s) were still being processed and are not in this version.", j.plan.Pending))
	}
	return render.ChecklistData{Report: j.in.Report, Names: names, Excluded: excluded, Gaps: gaps,
		BundleName: j.plan.Name, Version: j.in.Version, Generated: j.stamp}
}

// uploadName is the patient's own path of an upload, else its key.
func uploadName(f record.File, key string) string {
	if f.Path != "" {
		return f.Path
	}
	return key
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// ErrPending means files of the case are still being processed.
var ErrPending = errors.New("files still being processed")
