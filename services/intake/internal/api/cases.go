package api

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/record"
)

// caseInput is the body of POST and PATCH /v1/cases.
type caseInput struct {
	Patient       *record.Patient `json:"patient"`
	Summary       *record.Summary `json:"summary"`
	ReferenceDate *string         `json:"reference_date"`
}

func (in caseInput) validate() error {
	for _, d := range []*string{in.ReferenceDate, birthDate(in.Patient)} {
		if d != nil && *d != "" {
			if _, err := time.Parse(time.DateOnly, *d); err != nil {
				return errors.New("dates must be YYYY-MM-DD")
			}
		}
	}
	if in.Summary != nil && (in.Summary.Age < 0 || in.Summary.Age > 130) {
		return errors.New("age must be between 0 and 130")
	}
	return nil
}

func birthDate(p *record.Patient) *string {
	if p == nil {
		return nil
	}
	return &p.BirthDate
}

func (in caseInput) apply(c *record.Case) {
	if in.Patient != nil {
		c.Patient = *in.Patient
	}
	if in.Summary != nil {
		c.Summary = *in.Summary
	}
	if in.ReferenceDate != nil {
		c.ReferenceDate = *in.ReferenceDate
	}
}

func (s *Server) createCase(w http.ResponseWriter, r *http.Request) {
	var in caseInput
	if err := decodeBody(r, &in); err != nil {
		writeError(w, http.StatusBadRequest, "request.invalid", err.Error())
		return
	}
	if err := in.validate(); err != nil {
		writeError(w, http.StatusBadRequest, "request.invalid", err.Error())
		return
	}
	c := record.Case{ID: record.NewCaseID()}
	in.apply(&c)
	c, err := s.cases.CreateCase(r.Context(), c)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if err := s.bus.Publish(r.Context(), event.CaseUpdated{Version: 1, CaseID: c.ID, Revision: c.Revision}); err != nil {
		s.internal(w, r, err)
		return
	}
	s.log.Info("case created", "case_id", c.ID, "by", who(r))
	noteAudit(r).caseID = c.ID
	writeJSON(w, http.StatusCreated, map[string]string{"id": c.ID})
}

func (s *Server) patchCase(w http.ResponseWriter, r *http.Request) {
	id, ok := s.caseID(w, r)
	if !ok {
		return
	}
	var in caseInput
	if err := decodeBody(r, &in); err != nil {
		writeError(w, http.StatusBadRequest, "request.invalid", err.Error())
		return
	}
	if err := in.validate(); err != nil {
		writeError(w, http.StatusBadRequest, "request.invalid", err.Error())
		return
	}
	c, err := s.cases.UpdateCase(r.Context(), id, func(c *record.Case) error { in.apply(c); return nil })
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if err := s.bus.Publish(r.Context(), event.CaseUpdated{Version: 1, CaseID: c.ID, Revision: c.Revision}); err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, caseView(c, nil))
}

// lookup reads the case of the path's {id}, answering 404 (or 500) itself
// when there is none.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (record.Case, bool) {
	id := r.PathValue("id")
	if !record.ValidID(id) {
		writeError(w, http.StatusNotFound, "case.not_found", "no such case")
		return record.Case{}, false
	}
	c, err := s.cases.Case(r.Context(), id)
	if errors.Is(err, casestore.ErrNotFound) {
		writeError(w, http.StatusNotFound, "case.not_found", "no such case")
		return c, false
	}
	if err != nil {
		s.internal(w, r, err)
		return c, false
	}
	return c, true
}

// caseID is lookup for handlers that need only the ID.
func (s *Server) caseID(w http.ResponseWriter, r *http.Request) (string, bool) {
	c, ok := s.lookup(w, r)
	return c.ID, ok
}

// FileView is a file as the API shows it.
type FileView struct {
	ID       string         `json:"id"`
	Path     string         `json:"path"`
	Size     int64          `json:"size"`
	Type     string         `json:"type,omitempty"`
	Route    string         `json:"route,omitempty"`
	Status   string         `json:"status"`
	Stage    string         `json:"stage,omitempty"`
	Category string         `json:"category,omitempty"`
	ParentID string         `json:"parent_id,omitempty"`
	Source   string         `json:"source"`
	Error    *record.Error  `json:"error,omitempty"`
	Warnings []record.Error `json:"warnings,omitempty"`
	Received time.Time      `json:"received"`
	Updated  time.Time      `json:"updated"`
	// Pages is a document's page count and OCRPages how many of them were
	// OCRed; Progress counts a stage's work while it runs.
	Pages    int              `json:"pages,omitempty"`
	OCRPages int              `json:"ocr_pages,omitempty"`
	Progress *record.Progress `json:"progress,omitempty"`
}

func fileView(f record.File) FileView {
	v := FileView{ID: f.ID, Path: f.Path, Size: f.Size, Type: f.Type, Route: f.Route, Status: f.Status, Stage: f.Stage,
		ParentID: f.ParentID, Source: f.Source, Error: f.Error, Warnings: f.Warnings, Received: f.Received, Updated: f.Updated,
		Progress: f.Progress}
	if f.Document != nil {
		v.Category = f.Document.Category
		v.Pages, v.OCRPages = f.Document.Pages, len(f.Document.OCRPages)
	}
	return v
}

// CaseView is a case as the API shows it.
type CaseView struct {
	ID            string          `json:"id"`
	Created       time.Time       `json:"created"`
	Updated       time.Time       `json:"updated"`
	ReferenceDate string          `json:"reference_date,omitempty"`
	Patient       record.Patient  `json:"patient"`
	Summary       record.Summary  `json:"summary"`
	Pending       int             `json:"pending"`
	Files         []FileView      `json:"files"`
	Bundles       []record.Bundle `json:"bundles"`
}

func caseView(c record.Case, files []record.File) CaseView {
	v := CaseView{ID: c.ID, Created: c.Created, Updated: c.Updated, ReferenceDate: c.ReferenceDate, Patient: c.Patient,
		Summary: c.Summary, Files: []FileView{}, Bundles: []record.Bundle{}}
	for _, f := range files {
		if f.Pending() {
			v.Pending++
		}
		v.Files = append(v.Files, fileView(f))
	}
	return v
}

func (s *Server) getCase(w http.ResponseWriter, r *http.Request) {
	c, ok := s.lookup(w, r)
	if !ok {
		return
	}
	files, err := s.cases.Files(r.Context(), c.ID)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	v := caseView(c, files)
	if v.Bundles, err = s.bundles(r.Context(), c.ID); err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// Case statuses of the case list.
const (
	StatusNew        = "new"        // no file processed yet
	StatusProcessing = "processing" // files are being processed
	StatusIncomplete = "incomplete" // the checklist has error-level findings
	StatusReady      = "ready"      // nothing missing or wrong
	StatusBundled    = "bundled"    // ready, and a bundle is available
)

var caseStatuses = []string{StatusNew, StatusProcessing, StatusIncomplete, StatusReady, StatusBundled}

// CaseItem is one case of the case list.
type CaseItem struct {
	ID        string         `json:"id"`
	Created   time.Time      `json:"created"`
	Updated   time.Time      `json:"updated"`
	Patient   record.Patient `json:"patient"`
	Procedure string         `json:"procedure,omitempty"`
	Status    string         `json:"status"`
	Pending   int            `json:"pending"`
	Errors    int            `json:"errors"`
	Missing   []string       `json:"missing"`
	Bundles   int            `json:"bundles"`
}

// CaseList is a page of the case list.
type CaseList struct {
	Cases []CaseItem `json:"cases"`
	// Next is the cursor of the next page; empty on the last page.
	Next string `json:"next,omitempty"`
}

func caseItem(c record.Case, bundles []record.Bundle, rep *record.Report, now time.Time) CaseItem {
	it := CaseItem{ID: c.ID, Created: c.Created, Updated: c.Updated, Patient: c.Patient, Procedure: c.Summary.Procedure,
		Status: StatusNew, Missing: []string{}}
	live := 0
	for _, b := range bundles {
		if b.Live(now) {
			live++
		}
	}
	it.Bundles = live
	if rep == nil {
		return it
	}
	it.Pending = rep.Pending
	for _, f := range rep.Findings {
		if f.Severity == record.SeverityError {
			it.Errors++
		}
	}
	for _, p := range rep.Parts {
		if p.Status == record.PartMissing {
			it.Missing = append(it.Missing, p.Part)
		}
	}
	switch {
	case rep.Pending > 0:
		it.Status = StatusProcessing
	case it.Errors > 0:
		it.Status = StatusIncomplete
	case live > 0:
		it.Status = StatusBundled
	default:
		it.Status = StatusReady
	}
	return it
}

// listCases pages through the cases, newest first; ?status= filters,
// ?limit= sizes a page (50, at most 200), ?cursor= continues.
func (s *Server) listCases(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			writeError(w, http.StatusBadRequest, "request.invalid", "limit must be between 1 and 200")
			return
		}
		limit = n
	}
	var statuses []string
	if v := q.Get("status"); v != "" {
		for _, st := range strings.Split(v, ",") {
			if !slices.Contains(caseStatuses, st) {
				writeError(w, http.StatusBadRequest, "request.invalid", "status is one or more of "+strings.Join(caseStatuses, ", "))
				return
			}
			statuses = append(statuses, st)
		}
	}
	var after *cursor
	if v := q.Get("cursor"); v != "" {
		c, err := parseCursor(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "request.invalid", "the cursor is not one this API gave")
			return
		}
		after = &c
	}
	cases, err := s.cases.Cases(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	reports, err := s.cases.Reports(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	bundles, err := s.cases.AllBundles(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	slices.SortFunc(cases, func(a, b record.Case) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	out := CaseList{Cases: []CaseItem{}}
	now := time.Now()
	for _, c := range cases {
		if after != nil && !after.before(c) {
			continue
		}
		var rep *record.Report
		if x, ok := reports[c.ID]; ok {
			rep = &x
		}
		it := caseItem(c, bundles[c.ID], rep, now)
		if statuses != nil && !slices.Contains(statuses, it.Status) {
			continue
		}
		if len(out.Cases) == limit {
			last := out.Cases[len(out.Cases)-1]
			out.Next = cursor{last.Created, last.ID}.String()
			break
		}
		out.Cases = append(out.Cases, it)
	}
	writeJSON(w, http.StatusOK, out)
}

// cursor is the position after the last case of a page.
type cursor struct {
	created time.Time
	id      string
}

func (c cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(c.created.UTC().Format(time.RFC3339Nano) + "|" + c.id))
}

func parseCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, err
	}
	t, id, ok := strings.Cut(string(b), "|")
	if !ok || !record.ValidID(id) {
		return cursor{}, errors.New("bad cursor")
	}
	ts, err := time.Parse(time.RFC3339Nano, t)
	return cursor{ts, id}, err
}

// before reports whether c comes after the cursor in the list's order.
func (cur cursor) before(c record.Case) bool {
	if !c.Created.Equal(cur.created) {
		return c.Created.Before(cur.created)
	}
	return c.ID > cur.id
}

// deleteCase erases a case: its originals, derived files and bundles, its
// records and links. The deletion itself is kept as an event (who, when,
// how much; no patient data).
func (s *Server) deleteCase(w http.ResponseWriter, r *http.Request) {
	c, ok := s.lookup(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	objects := 0
	prefix := "cases/" + c.ID + "/"
	buckets := []string{s.cfg.IntakeBucket, s.cfg.DerivedBucket}
	bundles, err := s.bundles(ctx, c.ID)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	for _, b := range bundles {
		if !slices.Contains(buckets, b.Bucket) {
			buckets = append(buckets, b.Bucket)
		}
	}
	for _, b := range buckets {
		if b == "" {
			continue
		}
		n, err := s.blobs.RemovePrefix(ctx, b, prefix)
		objects += n
		if err != nil {
			s.internal(w, r, err)
			return
		}
	}
	records, err := s.cases.DeleteCase(ctx, c.ID)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	links, err := s.access.DeleteCase(ctx, c.ID)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	messages := 0
	if s.js != nil {
		ectx, cancel := context.WithTimeout(ctx, time.Minute)
		messages, err = eraseMessages(ectx, s.js, c.ID, s.streams...)
		cancel()
		if err != nil {
			// The case is erased; messages left behind expire with their stream.
			s.log.Warn("case deleted; some of its messages were not erased", "case_id", c.ID, "err", err)
		}
	}
	p := who(r)
	ev := event.CaseDeleted{Version: 1, CaseID: c.ID, ByKind: string(p.Kind), ByID: p.ID, Objects: objects, Records: records + links,
		Messages: messages, Deleted: time.Now().UTC().Format(time.RFC3339)}
	if err := s.bus.Publish(ctx, ev); err != nil {
		s.internal(w, r, err)
		return
	}
	s.log.Info("case deleted", "case_id", c.ID, "by", p, "objects", objects, "records", records+links, "messages", messages)
	w.WriteHeader(http.StatusNoContent)
}
