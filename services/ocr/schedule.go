package ocr

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/ocr/internal/inspect"
	"github.com/handoffmed/handoff/services/ocr/internal/progress"
)

// Scheduling: the OCR workers are shared between cases.
//
//   - A case's lane: at most CaseDocuments documents of a case are OCRed at
//     once. A document that arrives when its case's lane is full waits in
//     the lane (its work item is acked: it holds no worker and no queue
//     place) and a resume item brings it back when a document of its case
//     ends. Whoever ends (or admits) a document publishes the resume items
//     of the documents it gave a turn to, and publishes them again when its
//     own item is redelivered: a crash never strands a waiting document.
//   - A document's window: a split document has at most PageWindow page
//     items waiting in the queue. Each page item, when its work starts,
//     queues the page PageWindow places after it among the pages to OCR
//     (before its own ack, so a crash at any point leaves the item to be
//     redelivered and the next page to be queued again; its message ID
//     makes the copy one). Page items of other documents queued meanwhile
//     wait behind at most PageWindow pages of each document.
//
// The work queue is first in, first out, and the consumers take an item
// only when a handler is free (bus.ConsumerSpec.NoPrefetch): the active
// documents of every case take turns at every worker of every process.

func laneDoc(ref event.FileRef) progress.LaneDoc {
	return progress.LaneDoc{File: ref.FileID, ETag: ref.ETag}
}

// admit asks for the document's turn in its case's lane.
func (s *Service) admit(ctx context.Context, ref event.FileRef) (progress.Turn, error) {
	if s.cfg.CaseDocuments < 0 {
		return progress.Go, nil
	}
	pctx, cancel := s.op(ctx)
	turn, promoted, err := s.progress.Admit(pctx, ref.CaseID, laneDoc(ref), s.cfg.CaseDocuments, func(d progress.LaneDoc) (bool, error) {
		return s.ended(pctx, ref.CaseID, d)
	})
	cancel()
	if err != nil {
		return 0, err
	}
	return turn, s.resume(ctx, ref.CaseID, promoted)
}

// release ends the document's turn (it finished, failed for good, or was
// uploaded again) and resumes the documents that get a turn. Calling it
// again is harmless.
func (s *Service) release(ctx context.Context, ref event.FileRef) error {
	if s.cfg.CaseDocuments < 0 {
		return nil
	}
	pctx, cancel := s.op(ctx)
	promoted, err := s.progress.Release(pctx, ref.CaseID, laneDoc(ref), s.cfg.CaseDocuments)
	cancel()
	if err != nil {
		return err
	}
	return s.resume(ctx, ref.CaseID, promoted)
}

// ended reports whether a document holding a slot of its case's lane no
// longer needs it: it finished, or its file was uploaded again, and the
// release was missed (a worker died in between).
func (s *Service) ended(ctx context.Context, caseID string, d progress.LaneDoc) (bool, error) {
	f, err := s.cases.File(ctx, caseID, d.File)
	if errors.Is(err, casestore.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return f.ETag != d.ETag || record.Terminal(f.Status) || finished(f), nil
}

// finished reports whether the OCR service wrote a file's outputs.
func finished(f record.File) bool {
	return f.Document != nil && (f.Document.SearchableKey != "" || f.Document.TextKey != "")
}

// resume queues the documents that got their turn again on the file
// queue. A document uploaded again meanwhile passes its turn on: its new
// revision has a work item of its own.
func (s *Service) resume(ctx context.Context, caseID string, docs []progress.LaneDoc) error {
	for len(docs) > 0 {
		d := docs[0]
		docs = docs[1:]
		fctx, cancel := s.op(ctx)
		f, err := s.cases.File(fctx, caseID, d.File)
		cancel()
		if errors.Is(err, casestore.ErrNotFound) || err == nil && f.ETag != d.ETag {
			pctx, cancel := s.op(ctx)
			more, err := s.progress.Release(pctx, caseID, d, s.cfg.CaseDocuments)
			cancel()
			if err != nil {
				return err
			}
			docs = append(docs, more...)
			continue
		}
		if err != nil {
			return fmt.Errorf("file record: %w", err)
		}
		w := event.FileWork{Version: 1, Type: f.Type, Route: record.RouteOCR, FileRef: event.FileRef{
			CaseID: caseID, FileID: f.ID, Bucket: f.Bucket, Key: f.Key, ETag: f.ETag, Size: f.Size}}
		msg, err := event.Encode(w, "/handoff/ocr", "")
		if err != nil {
			return err
		}
		// Not the original item's ID: that one may still be in the
		// de-duplication window.
		msg.Header.Set(nats.MsgIdHdr, "ocr.resume."+f.ID+"."+safeETag(f.ETag))
		pctx, cancel := s.op(ctx)
		err = s.bus.PublishMsg(pctx, msg)
		cancel()
		if err != nil {
			return fmt.Errorf("resume %s: %w", f.ID, err)
		}
		s.log.Info("document resumed", "case_id", caseID, "file_id", f.ID)
	}
	return nil
}

func safeETag(etag string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return -1
	}, etag)
}

// toOCR lists the pages of a split document that are OCRed, in order.
func (pl plan) toOCR() []int {
	var out []int
	for _, p := range pl.Pages {
		if p.Kind == inspect.KindImage && !p.Skip {
			out = append(out, p.Number)
		}
	}
	return out
}

// queueNext keeps a split document's window full: the item of a page
// queues the page Window places after it among the pages to OCR, unless
// that page is done (then its own item queued the next one). pl is read
// when nil.
func (s *Service) queueNext(ctx context.Context, ref event.FileRef, d progress.Doc, page int, pl *plan) error {
	if d.Window <= 0 {
		return nil // split with every page queued at once
	}
	if pl == nil {
		pl = &plan{}
		_, _, work := s.keys(ref)
		if err := s.getJSON(ctx, work+"plan.json", pl); err != nil {
			return err
		}
	}
	pages := pl.toOCR()
	i := slices.Index(pages, page)
	if i < 0 || i+d.Window >= len(pages) {
		return nil
	}
	next := pages[i+d.Window]
	if next < 1 || next > len(d.Done) || next > len(pl.Pages) || d.Done[next-1] == '1' {
		return nil
	}
	pctx, cancel := s.op(ctx)
	defer cancel()
	return s.bus.Publish(pctx, event.OCRPageWork{Version: 1, FileRef: ref, Page: next, Pages: d.Pages, First: pl.Pages[next-1].First})
}
