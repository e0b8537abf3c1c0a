package problem

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The mux's own answers become problem documents; its routes answer as
// they do.
func TestWrap(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/things/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "missing" {
			Write(w, http.StatusNotFound, "thing.not_found", "no such thing")
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	h := Wrap(mux)
	for _, tc := range []struct {
		name, method, path string
		status             int
		code, allow        string
	}{
		{"a route", "GET", "/v1/things/a", 200, "", ""},
		{"the route's own problem", "GET", "/v1/things/missing", 404, "thing.not_found", ""},
		{"no such route", "GET", "/v1/nothing", 404, "route.not_found", ""},
		{"no such method", "DELETE", "/v1/things/a", 405, "method.not_allowed", "GET, HEAD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.status {
				t.Fatalf("got %d, want %d", rec.Code, tc.status)
			}
			if tc.code == "" {
				if got := rec.Body.String(); got != "ok" {
					t.Errorf("got body %q, want ok", got)
				}
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != ContentType {
				t.Errorf("got content type %q, want %q", ct, ContentType)
			}
			var d Details
			if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
				t.Fatal(err)
			}
			if d.Code != tc.code || d.Status != tc.status || d.Type != TypeBase+tc.code || d.Title == "" {
				t.Errorf("got %+v, want code %s status %d", d, tc.code, tc.status)
			}
			if got := rec.Header().Get("Allow"); got != tc.allow {
				t.Errorf("got Allow %q, want %q", got, tc.allow)
			}
		})
	}
}
