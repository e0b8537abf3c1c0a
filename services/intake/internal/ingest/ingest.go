// Package ingest records an uploaded object on its case, sniffs its content
// and routes it to the work queue of the worker that handles its type. Every
// path an upload can take (API, bucket notification, archive expansion,
// reconciliation) goes through Recorder.Ingest, which is idempotent: the same
// object revision ingested twice changes nothing.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/sniff"
)

// Object is one stored object revision to ingest.
type Object struct {
	Bucket string
	Key    string
	ETag   string
	Size   int64 // <= 0 when unknown (multipart on some senders): it is looked up
	// Type is the content type when whoever saw the bytes go by sniffed them
	// already (sniff.Detect); empty: Ingest reads the head and sniffs it.
	Type string
}

// Sniffed returns the content type of an object from its head, when head is
// the whole head (sniff.HeadSize bytes, or the whole object); else "".
func Sniffed(head []byte, size int64) string {
	if size <= 0 || int64(len(head)) != min(size, sniff.HeadSize) {
		return ""
	}
	return sniff.Detect(head)
}

// Origin says where an object came from.
type Origin struct {
	Source string // record.Source*
	// For archive entries: the archive's file and revision, and the entry's
	// path in it.
	ParentID   string
	ParentETag string
	CaseID     string
	Path       string
	// FirstSight says no earlier ingestion of this object revision is
	// known (the first delivery of its notification): its record is then
	// created without being read first. Should one exist after all, the
	// creation fails and changes nothing, and the events published again
	// are dropped as duplicates.
	FirstSight bool
}

type blobs interface {
	GetRange(ctx context.Context, bucket, key string, offset, length int64) (io.ReadCloser, error)
	Stat(ctx context.Context, bucket, key string) (blob.Info, error)
}

type publisher interface {
	PublishAsync(ctx context.Context, evs ...event.Event) (wait func() error)
}

// Recorder ingests objects.
type Recorder struct {
	known        sync.Map // case IDs known to exist
	mu           sync.Mutex
	done         map[string]string // file ID -> ETag of the revisions this process ingested
	log          *slog.Logger
	blobs        blobs
	cases        *casestore.Store
	bus          publisher
	intakeBucket string
}

// New returns a Recorder for uploads to intakeBucket.
func New(log *slog.Logger, b blobs, cases *casestore.Store, pub publisher, intakeBucket string) *Recorder {
	return &Recorder{log: log, blobs: b, cases: cases, bus: pub, intakeBucket: intakeBucket, done: map[string]string{}}
}

// ErrGone means the object was deleted before it could be ingested.
var ErrGone = errors.New("object is gone")

// ErrNotUpload means an object is not an upload to a case (another key
// layout, another bucket); it is ignored.
var ErrNotUpload = errors.New("not an upload to a case")

// Upload is an intake-bucket object as a case upload.
func (r *Recorder) Upload(o Object) (Origin, error) {
	if o.Bucket != r.intakeBucket {
		return Origin{}, ErrNotUpload
	}
	caseID, path, ok := record.ParseUploadKey(o.Key)
	if !ok {
		return Origin{}, ErrNotUpload
	}
	return Origin{CaseID: caseID, Path: path}, nil
}

// Ingest records o on its case and routes it. It returns the file record
// as it stands after ingestion.
//
// The first revision of a file: the work item is published while the
// record is written, so the round trips overlap. The record is the fact
// that the file arrived (watched live through the case store, see api's
// events stream); no separate event stores it a second time. Crash safety
// rests on the retry: an ingestion that fails or dies midway leaves its
// notification unacked (or its archive entry unexpanded), and when the
// retry finds the record written but the file still waiting for its
// worker, it publishes the work item again; JetStream drops the copy when
// the first was stored (same message ID). A worker that gets its item
// before the record exists retries (stage.ErrNotRecorded).
//
// A new revision of a recorded file (the patient uploaded the same path
// again): notifications may arrive late and in any order, so S3 decides
// which revision is current, the record is replaced only with
// compare-and-set on the revision the decision was made from (a lost race
// decides again), and the work item follows the record, so that a worker
// never sees the item while the record still holds the older revision.
func (r *Recorder) Ingest(ctx context.Context, o Object, from Origin) (record.File, error) {
	fileID := record.FileID(o.Bucket, o.Key)
	o.ETag = strings.Trim(o.ETag, `"`)
	if o.Size <= 0 || o.ETag == "" {
		if err := r.current(ctx, &o); err != nil {
			return record.File{}, fmt.Errorf("ingest %s: %w", fileID, err)
		}
	}
	var f record.File
	err := casestore.ErrNotFound
	if !from.FirstSight {
		f, err = r.cases.File(ctx, from.CaseID, fileID)
	}
	for attempt := 0; ; attempt++ {
		if attempt == maxDecisions {
			return f, fmt.Errorf("ingest %s: the file changes faster than it can be recorded", fileID)
		}
		switch {
		case err == nil && f.ETag == o.ETag && f.Status != record.StatusReceived:
			// Recorded already: a redelivery, or an upload the API ingested.
			if f, err = r.namePath(ctx, f, from); err != nil {
				return f, fmt.Errorf("ingest %s: %w", fileID, err)
			}
			if err := r.announceAgain(ctx, f); err != nil {
				return f, fmt.Errorf("ingest %s: %w", fileID, err)
			}
			r.remember(f)
			return f, nil
		case err == nil && f.ETag != o.ETag:
			// Another revision is recorded: this notification may be late.
			cur := o
			if err := r.current(ctx, &cur); err != nil {
				return f, fmt.Errorf("ingest %s: %w", fileID, err)
			}
			if cur.ETag == f.ETag {
				o = cur
				continue // the recorded revision is the current one
			}
			if cur.ETag != o.ETag {
				o = cur // newer than the one notified
			}
		case err != nil && !errors.Is(err, casestore.ErrNotFound):
			return f, fmt.Errorf("ingest %s: %w", fileID, err)
		}
		var got record.File
		var wrote bool
		got, wrote, err = r.write(ctx, o, from, f, err == nil)
		if errors.Is(err, errRaced) {
			// Another ingestion changed the record meanwhile: decide again.
			f, err = r.cases.File(ctx, from.CaseID, fileID)
			continue
		}
		if err != nil {
			return got, fmt.Errorf("ingest %s: %w", fileID, err)
		}
		if wrote && f.ETag != "" && f.ETag != got.ETag {
			r.supersede(ctx, f, got.ETag)
		}
		r.remember(got)
		return got, nil
	}
}

// maxDecisions bounds how often an ingestion decides again after losing a
// race to another ingestion of the same file.
const maxDecisions = 20

// errRaced means the record changed between its reading and its writing.
var errRaced = errors.New("the record changed meanwhile")

// current sets o to the object's current revision in S3 (size and ETag;
// the type of another revision is forgotten).
func (r *Recorder) current(ctx context.Context, o *Object) error {
	st, err := r.blobs.Stat(ctx, o.Bucket, o.Key)
	if errors.Is(err, blob.ErrNotFound) {
		return fmt.Errorf("%w: %w", ErrGone, err)
	}
	if err != nil {
		return err
	}
	etag := strings.Trim(st.ETag, `"`)
	if etag != o.ETag {
		o.Type = "" // what the sender saw was another revision
	}
	o.Size, o.ETag = st.Size, etag
	return nil
}

// write records revision o of a file and routes it. prev is the record as
// read (exists says whether there was one); errRaced when it changed
// before the write.
func (r *Recorder) write(ctx context.Context, o Object, from Origin, prev record.File, exists bool) (record.File, bool, error) {
	fileID := record.FileID(o.Bucket, o.Key)
	if from.Source != record.SourceArchive {
		if err := r.ensureCase(ctx, from.CaseID); err != nil {
			return record.File{}, false, err
		}
	}
	path, nameWarning := CleanName(r.resolvePath(ctx, from))
	typ, route, rejection, err := r.classify(ctx, o)
	if err != nil {
		return prev, false, err
	}
	status, stage := record.StatusQueued, route
	switch {
	case rejection != nil:
		status, stage, route = record.StatusFailed, "sniff", record.RouteNone
	case route == record.RouteNone:
		status, stage = record.StatusSkipped, "sniff"
	}
	rec := record.File{
		CaseID: from.CaseID, ID: fileID, Path: path, Bucket: o.Bucket, Key: o.Key, ETag: o.ETag, Size: o.Size,
		ParentID: from.ParentID, ParentETag: from.ParentETag, Source: from.Source, Type: typ, Route: route, Status: status, Stage: stage, Error: rejection,
	}
	if nameWarning != nil {
		rec.Warnings = append(rec.Warnings, *nameWarning)
	}
	var f record.File
	wrote := true
	if !exists {
		// The first revision: its work item goes out while it is recorded.
		wait := r.bus.PublishAsync(ctx, routed(rec)...)
		f, err = r.cases.CreateFile(ctx, rec)
		if werr := wait(); werr != nil {
			return f, false, werr
		}
		if errors.Is(err, casestore.ErrExists) {
			return f, false, errRaced
		}
	} else {
		// A replacement: the work item only once the record holds it.
		rec.Received = time.Now().UTC()
		f, err = r.cases.ReplaceFile(ctx, rec, prev.Revision)
		if errors.Is(err, casestore.ErrChanged) {
			return f, false, errRaced
		}
		if err == nil {
			err = r.bus.PublishAsync(ctx, routed(f)...)()
		}
	}
	if err != nil {
		return f, false, err
	}
	switch {
	case rejection != nil:
		r.log.Info("file rejected", "case_id", from.CaseID, "file_id", fileID, "source", from.Source, "code", rejection.Code)
	case status == record.StatusQueued:
		r.log.Debug("file routed", "case_id", from.CaseID, "file_id", fileID, "source", from.Source, "type", typ, "route", route, "size", o.Size)
	}
	if err := r.bus.PublishAsync(ctx, settled(f)...)(); err != nil {
		return f, wrote, err
	}
	return f, wrote, nil
}

// resolvePath is the patient's path of an upload: an API upload's key holds
// a reference to it (record.UploadRef), resolved from the case store.
func (r *Recorder) resolvePath(ctx context.Context, from Origin) string {
	if !record.IsUploadRef(from.Path) || from.Source == record.SourceArchive {
		return from.Path
	}
	if p, err := r.cases.UploadName(ctx, from.CaseID, from.Path); err == nil {
		return p
	}
	return from.Path // the API names it when it ingests the upload itself
}

// namePath gives a recorded file the patient's path when it was recorded
// under its upload reference (its notification came before the API named
// it).
func (r *Recorder) namePath(ctx context.Context, f record.File, from Origin) (record.File, error) {
	if !record.IsUploadRef(f.Path) {
		return f, nil
	}
	path, _ := CleanName(r.resolvePath(ctx, from))
	if path == f.Path || record.IsUploadRef(path) {
		return f, nil
	}
	return r.cases.UpdateFile(ctx, f.CaseID, f.ID, func(cur *record.File) error {
		if cur.ETag != f.ETag || !record.IsUploadRef(cur.Path) {
			return casestore.ErrNoChange
		}
		cur.Path = path
		return nil
	})
}

// supersede marks the entries of an archive that was replaced by another
// revision (newETag) as skipped: they belonged to the old revision. The
// expansion of the new revision records its own entries.
// Any replaced revision may have been expanded as an archive (an upload
// sent twice at once is recorded in either order), so every one is looked at.
func (r *Recorder) supersede(ctx context.Context, old record.File, newETag string) {
	err := SupersedeEntries(ctx, r.cases, old.CaseID, old.ID, func(e record.File) bool { return e.ParentETag != newETag })
	if err != nil {
		r.log.Warn("superseded archive entries", "case_id", old.CaseID, "file_id", old.ID, "err", err)
	}
}

// SupersedeEntries marks the entries of an archive for which stale holds
// as skipped (record.StageSuperseded), and every entry of the archives
// among them in turn.
func SupersedeEntries(ctx context.Context, cases *casestore.Store, caseID, archiveID string, stale func(record.File) bool) error {
	files, err := cases.Files(ctx, caseID)
	if err != nil {
		return err
	}
	children := map[string][]record.File{}
	for _, f := range files {
		if f.ParentID != "" {
			children[f.ParentID] = append(children[f.ParentID], f)
		}
	}
	var errs []error
	var walk func(parent string, stale func(record.File) bool, depth int)
	walk = func(parent string, stale func(record.File) bool, depth int) {
		if depth > 8 {
			return
		}
		for _, e := range children[parent] {
			if !stale(e) {
				continue
			}
			if !(e.Status == record.StatusSkipped && e.Stage == record.StageSuperseded) {
				errs = append(errs, Supersede(ctx, cases, e))
			}
			walk(e.ID, func(record.File) bool { return true }, depth+1)
		}
	}
	walk(archiveID, stale, 0)
	return errors.Join(errs...)
}

// Supersede marks an archive entry as belonging to a replaced revision of
// its archive, unless it changed since it was read.
func Supersede(ctx context.Context, cases *casestore.Store, e record.File) error {
	_, err := cases.UpdateFile(ctx, e.CaseID, e.ID, func(f *record.File) error {
		if f.ETag != e.ETag || f.Status == record.StatusSkipped && f.Stage == record.StageSuperseded {
			return casestore.ErrNoChange
		}
		f.Status, f.Stage, f.Error = record.StatusSkipped, record.StageSuperseded, nil
		return nil
	})
	return err
}

// routed is what is published as a file is recorded: its work item, when
// it has a worker.
func routed(f record.File) []event.Event {
	if f.Status != record.StatusQueued || f.Route == record.RouteNone {
		return nil
	}
	return []event.Event{event.FileWork{Version: 1, FileRef: fileRef(f), Type: f.Type, Route: f.Route}}
}

func fileRef(f record.File) event.FileRef {
	return event.FileRef{CaseID: f.CaseID, FileID: f.ID, Bucket: f.Bucket, Key: f.Key, ETag: f.ETag, Size: f.Size}
}

// settled is what is published once the record of a file that sniffing
// settled (rejected, or nothing to do) is written: the report reads it.
func settled(f record.File) []event.Event {
	if f.Stage != "sniff" {
		return nil
	}
	ref := fileRef(f)
	switch {
	case f.Status == record.StatusFailed && f.Error != nil:
		return []event.Event{event.FileRejected{Version: 1, FileRef: ref, Code: f.Error.Code, Stage: "sniff"}}
	case f.Status == record.StatusSkipped:
		return []event.Event{event.FileDone{Version: 1, FileRef: ref, Stage: "sniff"}}
	}
	return nil
}

// announceAgain publishes again what the ingestion of a recorded file
// announces, while the file has not gone further: the ingestion that wrote
// the record may have died before its events were stored. JetStream drops
// the copies of those that were (same message IDs).
func (r *Recorder) announceAgain(ctx context.Context, f record.File) error {
	if f.Status != record.StatusQueued && f.Stage != "sniff" {
		return nil // a worker has it: its work item was stored
	}
	if r.ingested(f.ID, f.ETag) {
		return nil // this process announced it already
	}
	return r.bus.PublishAsync(ctx, append(routed(f), settled(f)...)...)()
}

// Ingested reports whether this process ingested o's revision already,
// events included: a bucket notification of an upload the API ingested
// then needs nothing, not even a look at the record.
func (r *Recorder) Ingested(o Object) bool {
	return r.ingested(record.FileID(o.Bucket, o.Key), strings.Trim(o.ETag, `"`))
}

func (r *Recorder) ingested(fileID, etag string) bool {
	if etag == "" {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.done[fileID] == etag
}

// rememberMax bounds the revisions remembered as ingested; past it, the
// memory starts over (forgetting costs one case-store read per upload).
const rememberMax = 8192

func (r *Recorder) remember(f record.File) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.done) >= rememberMax {
		clear(r.done)
	}
	r.done[f.ID] = f.ETag
}

// ensureCase makes sure the case exists (a plain S3 upload may name a case
// the API never saw), remembering the cases it has seen.
func (r *Recorder) ensureCase(ctx context.Context, caseID string) error {
	if _, ok := r.known.Load(caseID); ok {
		return nil
	}
	if _, err := r.cases.EnsureCase(ctx, caseID); err != nil {
		return err
	}
	r.known.Store(caseID, struct{}{})
	return nil
}

// classify sniffs an object and picks its route, or the reason to reject it.
func (r *Recorder) classify(ctx context.Context, o Object) (typ, route string, rejection *record.Error, err error) {
	if o.Size == 0 {
		return record.TypeUnknown, record.RouteNone, &record.Error{Code: record.CodeEmpty, Message: "the file is empty"}, nil
	}
	typ = o.Type
	if typ == "" {
		body, err := r.blobs.GetRange(ctx, o.Bucket, o.Key, 0, min(o.Size, sniff.HeadSize))
		if err != nil {
			return "", "", nil, fmt.Errorf("sniff: %w", err)
		}
		head, err := io.ReadAll(io.LimitReader(body, sniff.HeadSize))
		_ = body.Close()
		if err != nil {
			return "", "", nil, fmt.Errorf("sniff: %w", err)
		}
		typ = sniff.Detect(head)
	}
	route, rejection = Route(typ)
	return typ, route, rejection, nil
}

// Route maps a sniffed type to its worker queue, or to a rejection.
// record.RouteNone means: nothing to do, keep the original (a DICOMDIR, whose
// file-set the DICOM service rebuilds).
func Route(typ string) (string, *record.Error) {
	switch typ {
	case record.TypeDICOM:
		return record.RouteDICOM, nil
	case record.TypeDICOMDIR:
		return record.RouteNone, nil
	case record.TypePDF, record.TypeJPEG, record.TypePNG, record.TypeTIFF:
		return record.RouteOCR, nil
	case record.TypeZIP:
		return record.RouteArchive, nil
	case record.TypeText:
		return record.RouteText, nil
	case sniff.TypeHEIC:
		return "", &record.Error{Code: record.CodeUnknownType, Message: "HEIC photo: export it as JPEG (on iPhone: Settings > Camera > Formats > Most Compatible) and upload it again"}
	case sniff.TypeOOXML:
		return "", &record.Error{Code: record.CodeUnknownType, Message: "Word or Excel document: save it as PDF and upload it again"}
	case sniff.TypeExecutable:
		return "", &record.Error{Code: record.CodeUnknownType, Message: "a program, not a medical record"}
	}
	return "", &record.Error{Code: record.CodeUnreadable, Message: "the content is not a PDF, picture, DICOM image, ZIP or text file"}
}

// Limits of an uploaded file's path, in bytes: the whole path and each of
// its folder or file names (most file systems take 255).
const (
	MaxNameLen    = 1024
	MaxSegmentLen = 255
)

// ErrBadName is the error of a path that cannot be taken: too long, or a
// folder or file name too long (record.CodeBadName).
var ErrBadName = errors.New("bad file name")

// CheckName rejects a path that cannot be taken as it is: longer than
// MaxNameLen, or with a folder or file name longer than MaxSegmentLen.
func CheckName(path string) error {
	if len(path) > MaxNameLen {
		return fmt.Errorf("%w: the path is %d bytes long; at most %d are accepted", ErrBadName, len(path), MaxNameLen)
	}
	for _, seg := range strings.FieldsFunc(path, func(r rune) bool { return r == '/' || r == '\\' }) {
		if len(seg) > MaxSegmentLen {
			return fmt.Errorf("%w: a folder or file name is %d bytes long; at most %d are accepted", ErrBadName, len(seg), MaxSegmentLen)
		}
	}
	if strings.TrimSpace(path) == "" {
		return fmt.Errorf("%w: the path is empty", ErrBadName)
	}
	return nil
}

// Naming is where an API upload goes and what it is called.
type Naming struct {
	Key  string // intake-bucket key: cases/{case}/uploads/{ref}, no patient data
	Path string // the cleaned path, made unique within the case
	// Warning is set when the path had to be cleaned or numbered.
	Warning *record.Error
}

// NameUpload names an upload of the patient's raw path to a case: it
// checks the path (ErrBadName), cleans it, makes it unique within the case
// (two uploads whose names clean to the same path are both kept, the second
// numbered "name (2).pdf") and records it in the case store under the
// upload's key reference. The same raw path gets the same key again, so a
// re-upload replaces the file.
func NameUpload(ctx context.Context, cases *casestore.Store, caseID, raw string) (Naming, error) {
	if err := CheckName(raw); err != nil {
		return Naming{}, err
	}
	clean, warning := CleanName(raw)
	ref := record.UploadRef(caseID, raw)
	path, err := cases.ClaimUploadName(ctx, caseID, ref, clean)
	if err != nil {
		return Naming{}, err
	}
	if path != clean && warning == nil {
		warning = &record.Error{Code: record.CodeBadName, Message: "another upload of the case has the same name once cleaned; this one was numbered"}
	}
	return Naming{Key: record.UploadPrefix(caseID) + ref, Path: path, Warning: warning}, nil
}

// CleanName makes a patient's file path safe to show and store: valid
// UTF-8 (bytes of another encoding are read as Windows-1252), no control
// characters, "/"-separated, no empty, "." or ".." components. It returns a
// warning when it had to change the name.
func CleanName(name string) (string, *record.Error) {
	orig := name
	if !utf8.ValidString(name) {
		if s, err := charmap.Windows1252.NewDecoder().String(name); err == nil {
			name = s
		} else {
			name = strings.ToValidUTF8(name, "_")
		}
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case r == '\\':
			return '/'
		case unicode.IsControl(r) || r == utf8.RuneError || unicode.Is(unicode.Cf, r):
			return -1
		}
		return r
	}, name)
	parts := strings.Split(name, "/")
	clean := parts[:0]
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" || p == "." || p == ".." {
			continue
		}
		clean = append(clean, p)
	}
	name = strings.Join(clean, "/")
	if len(name) > MaxNameLen {
		name = strings.ToValidUTF8(name[:MaxNameLen], "")
	}
	if name == "" {
		name = "unnamed"
	}
	if name != orig {
		return name, &record.Error{Code: record.CodeBadName, Message: "the file name had characters that cannot be kept; it was cleaned"}
	}
	return name, nil
}

// Head keeps the first sniff.HeadSize bytes written to it: tee an upload
// through it to sniff the upload without reading it back.
type Head struct{ b []byte }

// Write implements io.Writer; it never fails.
func (h *Head) Write(p []byte) (int, error) {
	if room := sniff.HeadSize - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// Bytes is what was kept.
func (h *Head) Bytes() []byte { return h.b }
