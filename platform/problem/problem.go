// Package problem writes HTTP errors as RFC 9457 problem details
// (application/problem+json), and wraps a ServeMux so that its own answers
// to unknown routes (404) and methods (405) are problem details too.
package problem

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// ContentType is the media type of a problem document.
const ContentType = "application/problem+json"

// TypeBase prefixes the type URI of every problem: the type is the base and
// the problem's code ("urn:handoff:problem:case.not_found").
const TypeBase = "urn:handoff:problem:"

// Details is an RFC 9457 problem document. Code is Handoff's machine-readable
// code (also the last part of Type); Detail says what to do about it and
// never quotes patient data.
type Details struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	Code     string `json:"code"`
}

// New returns the problem of an HTTP status with Handoff's code and detail.
func New(status int, code, detail string) Details {
	return Details{Type: TypeBase + code, Title: http.StatusText(status), Status: status, Detail: detail, Code: code}
}

// Write sends a problem document.
func Write(w http.ResponseWriter, status int, code, detail string) {
	WriteDetails(w, New(status, code, detail))
}

// WriteDetails sends d.
func WriteDetails(w http.ResponseWriter, d Details) {
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	w.WriteHeader(d.Status)
	_ = json.NewEncoder(w).Encode(d)
}

// Wrap answers the requests mux has no route for (404) or no such method
// for (405, with its Allow header) with problem documents; every other
// request goes to mux as usual.
func Wrap(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// The mux's own answer (404, 405 or a redirect to a cleaned path):
		// keep its status and headers, replace a plain-text error body.
		rec := &recorder{header: http.Header{}}
		mux.ServeHTTP(rec, r)
		switch rec.code {
		case http.StatusNotFound:
			Write(w, http.StatusNotFound, "route.not_found", "there is no such route; the API is described at /v1/openapi.json")
		case http.StatusMethodNotAllowed:
			allow := rec.header.Get("Allow")
			w.Header().Set("Allow", allow)
			Write(w, http.StatusMethodNotAllowed, "method.not_allowed", "this route takes "+allow+" only")
		default:
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			if rec.code == 0 {
				rec.code = http.StatusOK
			}
			w.WriteHeader(rec.code)
			_, _ = w.Write(rec.body.Bytes())
		}
	})
}

// recorder keeps what the mux answered a request it has no route for.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}
func (r *recorder) Write(p []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.body.Write(p)
}
