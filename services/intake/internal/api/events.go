package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/principal"
	"github.com/handoffmed/handoff/platform/record"
)

// events streams a case's progress as server-sent events: the current state
// first (one "case" event, a "file" event per file, the "report" and the
// "bundles"), then every change as it happens. A patient link gets the
// files and the checklist only, never the case's fields or bundles.
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
	p := who(r)
	staff := p.Staff()
	ctx := r.Context()
	filters := []string{"file." + id + ".*", "report." + id}
	if staff {
		filters = append(filters, "case."+id, casestore.BundlesKey(id))
	}
	watch, err := s.cases.KV().WatchFiltered(ctx, filters, jetstream.IgnoreDeletes())
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
		case <-s.closing:
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
			name, data := sseEvent(e.Key(), e.Value(), p)
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

// sseEvent turns a case-store entry into an event for p: a patient link
// sees the files uploaded through it and the checklist without facts.
func sseEvent(key string, value []byte, p principal.Principal) (string, []byte) {
	staff := p.Staff()
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
		if !staff && f.Uploader != uploaderOf(p) {
			return "", nil
		}
		v = fileView(f)
	case "report":
		var rep record.Report
		if json.Unmarshal(value, &rep) != nil {
			return "", nil
		}
		if !staff {
			rep.Facts = nil
		}
		v = rep
	case "bundles":
		if !staff {
			return "", nil
		}
		b, err := casestore.DecodeBundles(value)
		if err != nil {
			return "", nil
		}
		v = b
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
	p := who(r)
	if p.Kind == principal.PatientLink {
		// The checklist, not what the documents say.
		rep.Facts = nil
	}
	if s.view != nil && p.Staff() && (r.URL.Query().Get("format") == "html" || r.URL.Query().Get("format") == "" && prefersHTML(r)) {
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
