package ocr

import (
	"context"
	"fmt"
	"slices"

	"github.com/handoffmed/handoff/platform/budget"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/ocr/internal/engine"
	"github.com/handoffmed/handoff/services/ocr/internal/inspect"
)

// takePages charges a document's pages to OCR to its case's OCR budget,
// once per file revision, and returns how many of them may be OCRed (the
// first ones, in page order) and how many pages the case had OCRed before.
// Without a budget the case's pages are counted all the same.
func (s *Service) takePages(ctx context.Context, ref event.FileRef, want int) (granted, before int, err error) {
	if want == 0 {
		return 0, 0, nil
	}
	pctx, cancel := s.op(ctx)
	defer cancel()
	c := budget.Charge{CaseID: ref.CaseID, Purpose: "ocr", FileID: ref.FileID, ETag: ref.ETag}
	g, b, err := s.usage.Take(pctx, c, budget.OCRPages, int64(want), int64(max(s.cfg.CasePages, 0)))
	if err != nil {
		return 0, 0, fmt.Errorf("ocr budget: %w", err)
	}
	return int(g), int(b), nil
}

// skipped counts the pages to OCR left as scanned by the budget.
func skipped(doc *engine.Document) int {
	n := 0
	for _, p := range doc.Pages {
		if p.Kind == inspect.KindImage && !p.OCRed && p.Err == nil {
			n++
		}
	}
	return n
}

// budgetWarning puts (or takes off) the file's warning that the case's OCR
// budget left pages of it as scanned.
func (s *Service) budgetWarning(f *record.File, left int) {
	f.Warnings = slices.DeleteFunc(f.Warnings, func(e record.Error) bool { return e.Code == record.CodeCasePageBudget })
	if left == 0 {
		return
	}
	pages := "pages were"
	if left == 1 {
		pages = "page was"
	}
	f.Warnings = append(f.Warnings, record.Error{Code: record.CodeCasePageBudget, Message: fmt.Sprintf(
		"%d %s not OCRed: the case used up its OCR budget of %d pages; the document is kept with those pages as scanned", left, pages, s.cfg.CasePages)})
}
