package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/principal"
	"github.com/handoffmed/handoff/platform/record"
)

// auditActions are the routes that leave an entry in the audit trail, by
// pattern: who did what to which case. Reads of the case list, its live
// events and the public documents are not recorded.
var auditActions = map[string]string{
	"POST /v1/session":   "session.create",
	"DELETE /v1/session": "session.delete",

	"POST /v1/tokens":          "token.create",
	"DELETE /v1/tokens/{name}": "token.revoke",

	"POST /v1/cases":        "case.create",
	"GET /v1/cases/{id}":    "case.read",
	"PATCH /v1/cases/{id}":  "case.update",
	"DELETE /v1/cases/{id}": "case.delete",

	"PUT /v1/cases/{id}/files/{file...}":     "file.upload",
	"GET /v1/cases/{id}/files/{file}":        "file.read",
	"POST /v1/cases/{id}/uploads":            "file.upload_link",
	"POST /v1/cases/{id}/multipart/complete": "file.upload",
	"GET /v1/cases/{id}/report":              "report.read",

	"POST /v1/cases/{id}/bundle":              "bundle.request",
	"GET /v1/cases/{id}/bundle":               "bundle.link",
	"DELETE /v1/cases/{id}/bundles/{version}": "bundle.revoke",
	"POST /v1/cases/{id}/links":               "link.create",
	"DELETE /v1/cases/{id}/links/{link_id}":   "link.revoke",
	"GET /v1/cases/{id}/audit":                "audit.read",
}

// auditNote is what a handler adds to its audit entry: the case it made,
// the object it acted on, the principal that signed in.
type auditNote struct {
	caseID, object string
	by             *principal.Principal
}

type auditNoteKey struct{}

// noteAudit returns the request's audit note (a throwaway one when the
// route is not audited), for the handler to fill in.
func noteAudit(r *http.Request) *auditNote {
	if n, ok := r.Context().Value(auditNoteKey{}).(*auditNote); ok {
		return n
	}
	return &auditNote{}
}

// audited records an entry in the audit trail for every request that got
// past authorization, with the status it ended with. The entry is written
// after the handler, detached from the request (a client that hangs up
// does not erase its trace); a failure to write it is logged and counted.
func (s *Server) audited(action string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		note := &auditNote{}
		r = r.WithContext(context.WithValue(r.Context(), auditNoteKey{}, note))
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next(sw, r)
		p := who(r)
		if note.by != nil {
			p = *note.by
		}
		if p.Kind == "" {
			return // a sign-in that failed: nobody to record
		}
		caseID := r.PathValue("id")
		if note.caseID != "" {
			caseID = note.caseID
		}
		if !record.ValidID(caseID) {
			caseID = "" // not a case (the route answered 404): on handoff.audit.none
		}
		// The object is an ID or a version, never a path: the path of an
		// upload is the patient's file name.
		object := note.object
		for _, v := range []string{"version", "link_id", "name"} {
			if object == "" {
				object = r.PathValue(v)
			}
		}
		switch {
		case object != "":
		case action == "file.read":
			object = r.PathValue("file") // a file ID
		case action == "bundle.link":
			if v := r.URL.Query().Get("version"); len(v) <= 9 && strings.Trim(v, "0123456789") == "" {
				object = v // "" for the newest
			}
		}
		var id [12]byte
		_, _ = rand.Read(id[:])
		ev := event.Audited{Version: 1, ID: hex.EncodeToString(id[:]), CaseID: caseID, Action: action, Object: object,
			ByKind: string(p.Kind), ByID: p.ID, Status: sw.code, Time: time.Now().UTC().Format(time.RFC3339Nano)}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
		defer cancel()
		if err := s.bus.Publish(ctx, ev); err != nil {
			s.auditFailures.Inc()
			s.log.Error("audit entry not written", "action", action, "case_id", caseID, "err", err)
		}
	}
}

// maxAuditEntries bounds one answer of the audit trail.
const maxAuditEntries = 10000

// auditTrail answers a case's audit trail, oldest first. It is read from
// the AUDIT stream, so it outlives the case: an erased case's trail stays.
func (s *Server) auditTrail(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !record.ValidID(id) {
		writeError(w, http.StatusNotFound, "case.not_found", "no such case")
		return
	}
	limit := maxAuditEntries
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxAuditEntries {
			writeError(w, http.StatusBadRequest, "input.bad_limit", "limit must be 1 to "+strconv.Itoa(maxAuditEntries))
			return
		}
		limit = n
	}
	entries, err := readAudit(r.Context(), s.js, id, limit)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"case_id": id, "entries": entries})
}

// readAudit reads up to limit entries of a case's audit trail.
func readAudit(ctx context.Context, js jetstream.JetStream, caseID string, limit int) ([]event.Audited, error) {
	out := []event.Audited{}
	if js == nil {
		return out, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, bus.StreamAudit)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	subject := event.Audited{CaseID: caseID}.Subject()
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return nil, err
	}
	total := int(info.State.Subjects[subject])
	if total == 0 {
		return out, nil
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		return nil, err
	}
	for len(out) < min(total, limit) {
		batch, err := cons.Fetch(min(total, limit)-len(out), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, err
		}
		got := 0
		for m := range batch.Messages() {
			got++
			var e event.Audited
			if _, err := event.Decode(m.Headers(), m.Data(), &e); err == nil {
				out = append(out, e)
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, err
		}
		if got == 0 {
			break
		}
	}
	return out, nil
}
