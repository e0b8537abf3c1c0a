// Package api is intake's HTTP API: cases, uploads (single and multipart),
// progress, the checklist report, the bundle, coordinator sessions and
// patient links, and the web app's files. Every error is an RFC 9457
// problem document.
//
// Every route names who may call it (one authorization rule per route,
// routes.go); the authenticated principal rides in the request's context
// (package principal) for the handlers and for an audit trail.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/problem"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/services/intake/internal/access"
	"github.com/handoffmed/handoff/services/intake/internal/ingest"
)

// Config configures the API.
type Config struct {
	Token          string
	IntakeBucket   string
	DerivedBucket  string
	MaxUploadBytes int64
	// PresignExpiry is how long a presigned upload URL works.
	PresignExpiry time.Duration
	// BundleLinkExpiry caps how long a bundle download link works.
	BundleLinkExpiry time.Duration
	// PartSize is the smallest part of a multipart upload (default 16 MiB).
	PartSize int64
	// LinkExpiry is how long a patient link works by default (7 days).
	LinkExpiry time.Duration
}

func (c *Config) defaults() {
	if c.PartSize == 0 {
		c.PartSize = 16 << 20
	}
	if c.LinkExpiry == 0 {
		c.LinkExpiry = 7 * 24 * time.Hour
	}
	if c.PresignExpiry == 0 {
		c.PresignExpiry = time.Hour
	}
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
	access  *access.Store
	bus     publisher
	ingest  *ingest.Recorder
	view    ReportView
	web     http.Handler
	js      jetstream.JetStream
	streams []string
	latency *prometheus.HistogramVec
	// auditFailures counts audit entries that could not be written.
	auditFailures prometheus.Counter
	// closing ends the event streams when the server stops.
	closing   chan struct{}
	closeOnce sync.Once
}

// Close ends the open event streams (a server shutting down waits for
// its requests to finish).
func (s *Server) Close() { s.closeOnce.Do(func() { close(s.closing) }) }

// Deps are the API's connections. View and Web may be nil.
type Deps struct {
	Blobs  *blob.Store
	Cases  *casestore.Store
	Access *access.Store
	Bus    publisher
	Ingest *ingest.Recorder
	View   ReportView
	Web    http.Handler
	// JS, when set, lets a case's deletion erase its messages from the
	// streams (Streams).
	JS      jetstream.JetStream
	Streams []string
}

// New returns the API server.
func New(cfg Config, log *slog.Logger, d Deps, reg prometheus.Registerer) *Server {
	cfg.defaults()
	s := &Server{cfg: cfg, log: log, closing: make(chan struct{}), blobs: d.Blobs, cases: d.Cases, access: d.Access, bus: d.Bus, ingest: d.Ingest, view: d.View, web: d.Web, js: d.JS, streams: d.Streams,
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "handoff_api_request_seconds",
			Help:    "API request latency by route and status code.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}, []string{"route", "code"}),
		auditFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "handoff_audit_failures_total",
			Help: "Audit trail entries that could not be written.",
		})}
	if reg != nil {
		reg.MustRegister(s.latency, s.auditFailures)
	}
	return s
}

// Mount adds the API's routes (and the web app's) to mux.
func (s *Server) Mount(mux *http.ServeMux) {
	for _, rt := range s.routes() {
		if action := auditActions[rt.Pattern]; action != "" {
			rt.handler = s.audited(action, rt.handler)
		}
		h := s.instrument(rt.Pattern, s.authorize(rt))
		mux.Handle(rt.Pattern, h)
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
	problem.Write(w, code, errCode, msg)
}
