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
	// For archive entries: the archive's file and the entry's path in it.
	ParentID string
	CaseID   string
	Path     string
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
// The work item is published while the record is written: the round trips
// overlap. The record is the fact that the file arrived (watched live
// through the case store, see api's events stream); no separate event
// stores it a second time. Crash safety rests on the retry: an
// ingestion that fails or dies midway leaves its notification unacked (or
// its archive entry unexpanded), and when the retry finds the record
// written but the file still waiting for its worker, it publishes the
// work item again; JetStream drops the copy when the first was stored
// (same message ID). A worker that gets its item before the record exists
// retries (stage.ErrNotRecorded).
func (r *Recorder) Ingest(ctx context.Context, o Object, from Origin) (record.File, error) {
	fileID := record.FileID(o.Bucket, o.Key)
	o.ETag = strings.Trim(o.ETag, `"`)
	if o.Size <= 0 || o.ETag == "" {
		st, err := r.blobs.Stat(ctx, o.Bucket, o.Key)
		if errors.Is(err, blob.ErrNotFound) {
			return record.File{}, fmt.Errorf("ingest %s: %w: %w", fileID, ErrGone, err)
		}
		if err != nil {
			return record.File{}, fmt.Errorf("ingest %s: %w", fileID, err)
		}
		o.Size, o.ETag = st.Size, st.ETag
		o.Type = "" // what the sender saw may be of another revision
	}
	var f record.File
	err := casestore.ErrNotFound
	if !from.FirstSight {
		f, err = r.cases.File(ctx, from.CaseID, fileID)
	}
	switch {
	case err == nil && f.ETag == o.ETag && f.Status != record.StatusReceived:
		// Recorded already: a redelivery, or an upload the API ingested.
		if err := r.announceAgain(ctx, f); err != nil {
			return f, fmt.Errorf("ingest %s: %w", fileID, err)
		}
		r.remember(f)
		return f, nil
	case err != nil && !errors.Is(err, casestore.ErrNotFound):
		return f, fmt.Errorf("ingest %s: %w", fileID, err)
	}
	if from.Source != record.SourceArchive {
		if err := r.ensureCase(ctx, from.CaseID); err != nil {
			return record.File{}, fmt.Errorf("ingest %s: %w", fileID, err)
		}
	}
	path, nameWarning := CleanName(from.Path)
	typ, route, rejection, err := r.classify(ctx, o)
	if err != nil {
		return f, err
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
		ParentID: from.ParentID, Source: from.Source, Type: typ, Route: route, Status: status, Stage: stage, Error: rejection,
	}
	if nameWarning != nil {
		rec.Warnings = append(rec.Warnings, *nameWarning)
	}
	wait := r.bus.PublishAsync(ctx, routed(rec)...)
	f, wrote, err := r.record(ctx, rec, f.Revision)
	if werr := wait(); werr != nil {
		return f, fmt.Errorf("ingest %s: %w", fileID, werr)
	}
	if err != nil {
		return f, fmt.Errorf("ingest %s: %w", fileID, err)
	}
	switch {
	case !wrote:
		// Another delivery recorded this revision: what it announced before
		// the record was just published again, and its settling event,
		// which may be missing if it died, is published below.
	case rejection != nil:
		r.log.Info("file rejected", "case_id", from.CaseID, "file_id", fileID, "source", from.Source, "code", rejection.Code)
	case status == record.StatusQueued:
		r.log.Debug("file routed", "case_id", from.CaseID, "file_id", fileID, "source", from.Source, "type", typ, "route", route, "size", o.Size)
	}
	if err := r.bus.PublishAsync(ctx, settled(f)...)(); err != nil {
		return f, fmt.Errorf("ingest %s: %w", fileID, err)
	}
	r.remember(f)
	return f, nil
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

// record writes a file's record: created when there was none (prev 0), else
// replacing the older revision it read. It reports false when a concurrent
// delivery recorded the same revision first.
func (r *Recorder) record(ctx context.Context, f record.File, prev uint64) (record.File, bool, error) {
	if prev == 0 {
		got, err := r.cases.CreateFile(ctx, f)
		if !errors.Is(err, casestore.ErrExists) {
			return got, err == nil, err
		}
	}
	if f.Received.IsZero() {
		f.Received = time.Now().UTC()
	}
	wrote := false
	got, err := r.cases.UpsertFile(ctx, f.CaseID, f.ID, func(cur *record.File, exists bool) error {
		if exists && cur.ETag == f.ETag && cur.Status != record.StatusReceived {
			return casestore.ErrNoChange // recorded meanwhile; a worker may be on it
		}
		*cur = f
		wrote = true
		return nil
	})
	return got, wrote, err
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

// MaxNameLen bounds a file path, in bytes.
const MaxNameLen = 1024

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
