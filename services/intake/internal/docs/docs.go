// Package docs is intake's document-understanding stage: it reads a
// document's text (a plain-text upload, or the sidecar the OCR service
// wrote), sorts the document into a part of the handoff file and records
// what it says.
package docs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/stage"
	"github.com/handoffmed/handoff/platform/textlayout"
	"github.com/handoffmed/handoff/services/intake/internal/understand"
)

// MaxText bounds the text read for one document: understanding reads 2 MiB
// of text (about 1,000 pages) in seconds, and much more would let one
// upload hold a worker for minutes.
const MaxText = 2 << 20

// MaxLayout bounds the layout sidecar read for one document (its words and
// boxes take a few times the text's size).
const MaxLayout = 128 << 20

const stageName = "understand"

type publisher interface {
	Publish(ctx context.Context, ev event.Event) error
}

// Worker runs the understanding stage.
type Worker struct {
	log     *slog.Logger
	blobs   *blob.Store
	tracker stage.Tracker
	bus     publisher
	an      *understand.Analyzer
}

// New returns a Worker.
func New(log *slog.Logger, b *blob.Store, t stage.Tracker, pub publisher) *Worker {
	return &Worker{log: log, blobs: b, tracker: t, bus: pub, an: understand.New()}
}

// HandleText understands a text upload (handoff.work.text): a C-CDA
// portal export is read as one (UnderstandText), other text by the rules.
func (w *Worker) HandleText(ctx context.Context, m *bus.Msg) error {
	var work event.FileWork
	if err := m.Decode(&work); err != nil {
		return err
	}
	rc, _, err := w.blobs.Get(ctx, work.Bucket, work.Key)
	if err != nil {
		return err
	}
	defer rc.Close()
	// A C-CDA (bare or embedded in HTML) is read as one; other text by the rules.
	doc, rejected, err := UnderstandText(w.an, rc, work.Size)
	if err != nil {
		return err
	}
	if rejected != nil {
		w.log.Info("text rejected", "case_id", work.CaseID, "file_id", work.FileID, "code", rejected.Code)
		_, err := w.tracker.Fail(ctx, work.FileRef, stageName, rejected)
		if errors.Is(err, stage.ErrStale) {
			return nil
		}
		return err
	}
	return w.finish(ctx, work.FileRef, func(f *record.File) {
		f.Document = &doc
	}, doc.Category)
}

// HandleOCRDone understands a document the OCR service made searchable
// (handoff.ocr.done): its text sidecar holds every page's text.
func (w *Worker) HandleOCRDone(ctx context.Context, m *bus.Msg) error {
	var done event.OCRDone
	if err := m.Decode(&done); err != nil {
		return err
	}
	text, err := w.read(ctx, done.OutputBucket, done.TextKey)
	if errors.Is(err, blob.ErrNotFound) {
		text = nil // nothing readable: classified from its kind alone
	} else if err != nil {
		return err
	}
	f, err := w.tracker.Cases.File(ctx, done.CaseID, done.FileID)
	if err != nil {
		return err
	}
	if f.ETag != done.ETag {
		return nil // uploaded again since: the new revision has its own work
	}
	layout, err := w.layout(ctx, done)
	if err != nil {
		return err
	}
	doc := w.an.Analyze(understand.Input{Type: f.Type, Pages: understand.SplitPages(string(text)), PageCount: done.Pages,
		OCR: done.OCRPages > 0, Layout: layout})
	return w.finish(ctx, done.FileRef, func(f *record.File) {
		if f.Document == nil {
			f.Document = &record.Document{}
		}
		understand.Merge(f.Document, doc)
	}, doc.Category)
}

func (w *Worker) finish(ctx context.Context, ref event.FileRef, apply func(*record.File), category string) error {
	_, err := w.tracker.Done(ctx, ref, stageName, apply)
	if errors.Is(err, stage.ErrStale) {
		return nil
	}
	if err != nil {
		return err
	}
	w.log.Info("document classified", "case_id", ref.CaseID, "file_id", ref.FileID, "category", category)
	return w.bus.Publish(ctx, event.DocumentClassified{Version: 1, CaseID: ref.CaseID, FileID: ref.FileID, ETag: ref.ETag, Category: category})
}

// layout reads the layout sidecar of an OCR done event: nil when the event
// names none (an older OCR service), the object is gone, or it cannot be
// decoded (the document is then read from its text alone).
func (w *Worker) layout(ctx context.Context, done event.OCRDone) (*textlayout.Layout, error) {
	if done.LayoutKey == "" {
		return nil, nil
	}
	b, err := w.readMax(ctx, done.OutputBucket, done.LayoutKey, MaxLayout)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	l, err := textlayout.Decode(b)
	if err != nil {
		// The decoder's message can quote a byte of the document: not logged.
		w.log.Warn("layout sidecar unreadable", "case_id", done.CaseID, "file_id", done.FileID)
		return nil, nil
	}
	return l, nil
}

func (w *Worker) read(ctx context.Context, bucket, key string) ([]byte, error) {
	return w.readMax(ctx, bucket, key, MaxText)
}

func (w *Worker) readMax(ctx context.Context, bucket, key string, limit int64) ([]byte, error) {
	rc, _, err := w.blobs.Get(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit))
	if err != nil {
		return nil, fmt.Errorf("read text: %w", err)
	}
	return b, nil
}

var (
	tagRe    = regexp.MustCompile(`(?s)<(?:script|style)[^>]*>.*?</(?:script|style)>|<[^>]+>`)
	blankRe  = regexp.MustCompile(`\n[ \t]*\n(?:[ \t]*\n)+`)
	entities = map[string]string{"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": `"`, "&#39;": "'", "&nbsp;": " "}
)

// Plain turns a text upload into plain UTF-8: other single-byte encodings
// are read as Windows-1252, and markup (HTML, or the XML of a C-CDA export)
// is reduced to its text.
func Plain(b []byte) string {
	b = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
	s := string(b)
	if !utf8.Valid(b) {
		if d, err := charmap.Windows1252.NewDecoder().Bytes(b); err == nil {
			s = string(d)
		}
	}
	head := s[:min(len(s), 512)]
	if bytes.Contains([]byte(head), []byte("<")) && regexp.MustCompile(`(?i)<(?:!doctype|html|\?xml|clinicaldocument|body|div|p)\b`).MatchString(head) {
		s = tagRe.ReplaceAllString(s, "\n")
		for k, v := range entities {
			s = string(bytes.ReplaceAll([]byte(s), []byte(k), []byte(v)))
		}
		s = blankRe.ReplaceAllString(s, "\n\n")
	}
	return s
}
