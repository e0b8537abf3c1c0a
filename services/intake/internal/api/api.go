// Package api is intake's HTTP API: cases, uploads, progress, the checklist
// report and the bundle link. Every route under /v1 needs the bearer token.
package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/intake/internal/ingest"
)

// Config configures the API.
type Config struct {
	Token          string
	IntakeBucket   string
	MaxUploadBytes int64
	// PresignExpiry is how long a presigned upload URL works.
	PresignExpiry time.Duration
	// BundleLinkExpiry caps how long a bundle download link works.
	BundleLinkExpiry time.Duration
}

type publisher interface {
	Publish(ctx context.Context, ev event.Event) error
}

// ReportView renders a report as an HTML page.
type ReportView func(w io.Writer, c record.Case, r record.Report) error

// Server serves the API.
type Server struct {
	cfg     Config
	log     *slog.Logger
	blobs   *blob.Store
	cases   *casestore.Store
	bus     publisher
	ingest  *ingest.Recorder
	view    ReportView
	latency *prometheus.HistogramVec
}

// New returns the API server. view may be nil (JSON reports only).
func New(cfg Config, log *slog.Logger, b *blob.Store, cases *casestore.Store, pub publisher, in *ingest.Recorder, view ReportView, reg prometheus.Registerer) *Server {
	s := &Server{cfg: cfg, log: log, blobs: b, cases: cases, bus: pub, ingest: in, view: view,
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "handoff_api_request_seconds",
			Help:    "API request latency by route and status code.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}, []string{"route", "code"})}
	if reg != nil {
		reg.MustRegister(s.latency)
	}
	return s
}

// Mount adds the API's routes to mux.
func (s *Server) Mount(mux *http.ServeMux) {
	route := func(pattern string, h http.HandlerFunc) {
		mux.Handle(pattern, s.instrument(pattern, s.auth(h)))
	}
	route("POST /v1/cases", s.createCase)
	route("GET /v1/cases/{id}", s.getCase)
	route("PATCH /v1/cases/{id}", s.patchCase)
	route("PUT /v1/cases/{id}/files/{path...}", s.upload)
	route("POST /v1/cases/{id}/uploads", s.presignUpload)
	route("GET /v1/cases/{id}/events", s.events)
	route("GET /v1/cases/{id}/report", s.report)
	route("POST /v1/cases/{id}/bundle", s.requestBundle)
	route("GET /v1/cases/{id}/bundle", s.bundleLink)
	route("GET /v1/cases/{id}/bundles", s.listBundles)
}

func (s *Server) auth(next http.HandlerFunc) http.HandlerFunc {
	want := []byte("Bearer " + s.cfg.Token)
	return func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="handoff"`)
			writeError(w, http.StatusUnauthorized, "auth.required", "a valid bearer token is required")
			return
		}
		next(w, r)
	}
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) { w.code = code; w.ResponseWriter.WriteHeader(code) }
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) instrument(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		s.latency.WithLabelValues(route, strconv.Itoa(sw.code)).Observe(time.Since(start).Seconds())
	})
}

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

const maxJSONBody = 256 << 10

func decodeBody(r *http.Request, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("the request body is not valid JSON for this route: %w", err)
	}
	return nil
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
	s.log.Info("case created", "case_id", c.ID)
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
}

func fileView(f record.File) FileView {
	v := FileView{ID: f.ID, Path: f.Path, Size: f.Size, Type: f.Type, Route: f.Route, Status: f.Status, Stage: f.Stage,
		ParentID: f.ParentID, Source: f.Source, Error: f.Error, Warnings: f.Warnings, Received: f.Received, Updated: f.Updated}
	if f.Document != nil {
		v.Category = f.Document.Category
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

func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	id, ok := s.caseID(w, r)
	if !ok {
		return
	}
	if r.ContentLength > s.cfg.MaxUploadBytes {
		writeError(w, http.StatusRequestEntityTooLarge, record.CodeTooLarge, fmt.Sprintf("files of at most %d bytes are accepted", s.cfg.MaxUploadBytes))
		return
	}
	naming, ok := s.name(w, r, id, r.PathValue("path"))
	if !ok {
		return
	}
	key, warning := naming.Key, naming.Warning
	head := &ingest.Head{}
	body := &capped{r: io.TeeReader(r.Body, head), left: s.cfg.MaxUploadBytes}
	size := r.ContentLength
	if size < 0 {
		size = -1
	}
	ct := r.Header.Get("Content-Type")
	info, err := s.blobs.Put(r.Context(), s.cfg.IntakeBucket, key, body, size, blob.PutOptions{ContentType: ct})
	if body.over {
		writeError(w, http.StatusRequestEntityTooLarge, record.CodeTooLarge, fmt.Sprintf("files of at most %d bytes are accepted", s.cfg.MaxUploadBytes))
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	f, err := s.ingest.Ingest(r.Context(), ingest.Object{Bucket: s.cfg.IntakeBucket, Key: key, ETag: info.ETag, Size: info.Size,
		Type: ingest.Sniffed(head.Bytes(), info.Size)},
		ingest.Origin{Source: record.SourceAPI, CaseID: id, Path: naming.Path})
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if warning != nil {
		// The bucket notification may have recorded the file first, from its
		// (already cleaned) key: the warning about the name is the API's to add.
		f, err = s.cases.UpdateFile(r.Context(), id, f.ID, func(f *record.File) error {
			for _, w := range f.Warnings {
				if w.Code == warning.Code {
					return casestore.ErrNoChange
				}
			}
			f.Warnings = append(f.Warnings, *warning)
			return nil
		})
		if err != nil {
			s.internal(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusCreated, fileView(f))
}

// name names an upload (ingest.NameUpload), answering 400 itself for a
// path that cannot be taken.
func (s *Server) name(w http.ResponseWriter, r *http.Request, caseID, raw string) (ingest.Naming, bool) {
	n, err := ingest.NameUpload(r.Context(), s.cases, caseID, raw)
	if errors.Is(err, ingest.ErrBadName) {
		writeError(w, http.StatusBadRequest, record.CodeBadName, strings.TrimPrefix(err.Error(), ingest.ErrBadName.Error()+": "))
		return n, false
	}
	if err != nil {
		s.internal(w, r, err)
		return n, false
	}
	return n, true
}

// capped fails a body that grows past its limit (chunked uploads have no
// Content-Length to check up front).
type capped struct {
	r    io.Reader
	left int64
	over bool
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left < 0 {
		c.over = true
		return 0, errors.New("upload too large")
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		c.over = true
		return n, errors.New("upload too large")
	}
	return n, err
}

func (s *Server) presignUpload(w http.ResponseWriter, r *http.Request) {
	id, ok := s.caseID(w, r)
	if !ok {
		return
	}
	var in struct {
		Path string `json:"path"`
	}
	if err := decodeBody(r, &in); err != nil || in.Path == "" {
		writeError(w, http.StatusBadRequest, "request.invalid", `the body must be {"path": "folder/file.pdf"}`)
		return
	}
	naming, ok := s.name(w, r, id, in.Path)
	if !ok {
		return
	}
	key := naming.Key
	u, err := s.blobs.PresignPut(r.Context(), s.cfg.IntakeBucket, key, s.cfg.PresignExpiry)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"url": u.String(), "method": http.MethodPut, "bucket": s.cfg.IntakeBucket, "key": key, "path": naming.Path,
		"file_id": record.FileID(s.cfg.IntakeBucket, key), "expires": time.Now().Add(s.cfg.PresignExpiry).UTC(),
	})
}

// events streams a case's progress as server-sent events: the current state
// first (one "case" event, a "file" event per file, the "report"), then
// every change as it happens.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	id, ok := s.caseID(w, r)
	if !ok {
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "internal", "streaming is not supported")
		return
	}
	ctx := r.Context()
	watch, err := s.cases.KV().WatchFiltered(ctx, []string{"case." + id, "file." + id + ".*", "report." + id, "bundles." + id}, jetstream.IgnoreDeletes())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	defer func() { _ = watch.Stop() }()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ping.C:
			if _, err := io.WriteString(w, ": ping\n\n"); err != nil {
				return
			}
			flusher.Flush()
		case e, ok := <-watch.Updates():
			if !ok {
				return
			}
			if e == nil {
				_, _ = io.WriteString(w, "event: ready\ndata: {}\n\n")
				flusher.Flush()
				continue
			}
			name, data := sseEvent(e.Key(), e.Value())
			if name == "" {
				continue
			}
			if _, err := fmt.Fprintf(w, "event: %s\nid: %d\ndata: %s\n\n", name, e.Revision(), data); err != nil {
				return
			}
			flusher.Flush()
		}
	}
}

func sseEvent(key string, value []byte) (string, []byte) {
	var v any
	name := key[:strings.IndexByte(key, '.')]
	switch name {
	case "case":
		var c record.Case
		if json.Unmarshal(value, &c) != nil {
			return "", nil
		}
		v = caseView(c, nil)
	case "file":
		var f record.File
		if json.Unmarshal(value, &f) != nil {
			return "", nil
		}
		v = fileView(f)
	case "report":
		var rep record.Report
		if json.Unmarshal(value, &rep) != nil {
			return "", nil
		}
		v = rep
	case "bundles":
		var b struct {
			Bundles []record.Bundle `json:"bundles"`
		}
		if json.Unmarshal(value, &b) != nil {
			return "", nil
		}
		v = b.Bundles
	default:
		return "", nil
	}
	data, _ := json.Marshal(v)
	return name, data
}

func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	c, ok := s.lookup(w, r)
	if !ok {
		return
	}
	id := c.ID
	rep, err := s.cases.Report(r.Context(), id)
	if errors.Is(err, casestore.ErrNotFound) {
		writeError(w, http.StatusNotFound, "report.not_ready", "the report is not computed yet; it follows the first upload")
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if s.view != nil && (r.URL.Query().Get("format") == "html" || r.URL.Query().Get("format") == "" && prefersHTML(r)) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := s.view(w, c, rep); err != nil {
			s.log.Error("render report", "case_id", id, "err", err)
		}
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func prefersHTML(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "text/html") && !strings.Contains(accept, "application/json")
}

func (s *Server) requestBundle(w http.ResponseWriter, r *http.Request) {
	id, ok := s.caseID(w, r)
	if !ok {
		return
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	req := event.BundleRequested{Version: 1, CaseID: id, Trigger: "request", RequestID: hex.EncodeToString(b[:])}
	if err := s.bus.Publish(r.Context(), req); err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"request_id": req.RequestID, "status": "queued"})
}

// bundleLink redirects to a presigned link of the newest bundle (or of
// ?version=N) that has not expired.
func (s *Server) bundleLink(w http.ResponseWriter, r *http.Request) {
	c, ok := s.lookup(w, r)
	if !ok {
		return
	}
	bundles, err := s.bundles(r.Context(), c.ID)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	want, _ := strconv.Atoi(r.URL.Query().Get("version"))
	now := time.Now()
	for i := len(bundles) - 1; i >= 0; i-- {
		b := bundles[i]
		if want != 0 && b.Version != want || !b.Expires.IsZero() && now.After(b.Expires) {
			continue
		}
		expiry := s.cfg.BundleLinkExpiry
		if !b.Expires.IsZero() {
			expiry = min(expiry, b.Expires.Sub(now))
		}
		u, err := s.blobs.PresignGet(r.Context(), b.Bucket, b.Key, "", expiry) // the name is stored with the object
		if err != nil {
			s.internal(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, u.String(), http.StatusFound)
		return
	}
	writeError(w, http.StatusNotFound, "bundle.not_found", "no bundle is available; POST to this URL to make one")
}

func (s *Server) listBundles(w http.ResponseWriter, r *http.Request) {
	c, ok := s.lookup(w, r)
	if !ok {
		return
	}
	out, err := s.bundles(r.Context(), c.ID)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// bundles are a case's bundle versions, oldest first (never nil).
func (s *Server) bundles(ctx context.Context, caseID string) ([]record.Bundle, error) {
	b, err := s.cases.Bundles(ctx, caseID)
	if b == nil {
		b = []record.Bundle{}
	}
	return b, err
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	s.log.Error("request failed", "method", r.Method, "route", r.Pattern, "err", err)
	writeError(w, http.StatusInternalServerError, "internal", "the request could not be completed; try again")
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, errCode, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]string{"code": errCode, "message": msg}})
}
