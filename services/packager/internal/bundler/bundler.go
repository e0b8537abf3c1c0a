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
	"slices"
	"strings"
	"time"

	"github.com/handoffmed/handoff/platform/record"

	"github.com/handoffmed/handoff/services/packager/internal/layout"
	"github.com/handoffmed/handoff/services/packager/internal/render"
	"github.com/handoffmed/handoff/services/packager/internal/zipstream"
)

// LayoutVersion changes when the bundle layout or the generated documents
// change, so that unchanged inputs still make a new bundle after an upgrade.
const LayoutVersion = 1

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
	// Version is the bundle version being made.
	Version int
	// Fonts for the PDFs.
	Fonts render.Fonts
	// Zip tunes the ZIP writer.
	Zip zipstream.Options
	// Prefetch is how many source objects are opened ahead (default 4).
	Prefetch int
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
	j.summary = summaryData(in, plan, j.stamp)
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

	add := func(path, category string, it *layout.Item, method zipstream.Method, size int64, r io.Reader) error {
		e, err := zw.Add(zipstream.Header{Name: root + path, Modified: j.stamp, Size: size, Method: method}, r)
		if err != nil {
			return err
		}
		mf := ManifestFile{Path: path, Category: category, Size: e.Size, SHA256: hex.EncodeToString(e.SHA256[:]), Stored: "stored"}
		if e.Method == 8 {
			mf.Stored = "deflated"
		}
		if it != nil {
			mf.FileID, mf.Upload, mf.Source = it.FileID, it.Upload, it.Source.Bucket+"/"+it.Source.Key
		}
		man.Files = append(man.Files, mf)
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
	if err := j.copyItems(ctx, objs, add); err != nil {
		return Result{}, err
	}

	// Checklist.
	var txt bytes.Buffer
	if err := render.ChecklistText(&txt, j.checklistData()); err != nil {
		return Result{}, err
	}
	var cpdf bytes.Buffer
	if err := render.ChecklistPDF(&cpdf, txt.String(), j.in.Fonts, j.stamp); err != nil {
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

// opened is a source object opened ahead of its turn.
type opened struct {
	body io.ReadCloser
	err  error
}

func (j *Job) copyItems(ctx context.Context, objs Objects, add func(string, string, *layout.Item, zipstream.Method, int64, io.Reader) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	items := j.plan.Items
	ch := make(chan opened, j.in.Prefetch)
	go func() {
		defer close(ch)
		for _, it := range items {
			body, err := objs.Open(ctx, it.Source.Bucket, it.Source.Key)
			select {
			case ch <- opened{body, err}:
			case <-ctx.Done():
				if body != nil {
					_ = body.Close()
				}
				return
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		cancel()
		for o := range ch { // close what was opened ahead
			if o.body != nil {
				_ = o.body.Close()
			}
		}
	}()
	for i := range items {
		it := &items[i]
		o, ok := <-ch
		if !ok {
			return fmt.Errorf("open item %d (file %s): %w", i, it.FileID, context.Cause(ctx))
		}
		if o.err != nil {
			return fmt.Errorf("open item %d (file %s): %w", i, it.FileID, o.err)
		}
		err := add(it.Path, it.Category, it, methodFor(it), it.Source.Size, o.body)
		_ = o.body.Close()
		if err != nil {
			return fmt.Errorf("copy item %d (file %s): %w", i, it.FileID, err)
		}
	}
	return nil
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
