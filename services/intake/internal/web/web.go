// Package web is the web app the API serves at /: the coordinators' case
// list and case pages, and the page a patient's upload link opens (/u/).
// Plain HTML, CSS and JavaScript modules, embedded; no build step.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/handoffmed/handoff/platform/problem"
)

//go:embed static
var static embed.FS

// Handler serves the index page at / and /u/, and the files under /assets/.
func Handler() http.Handler {
	sub, _ := fs.Sub(static, "static")
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' http: https:; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		if r.URL.Path == "/" || r.URL.Path == "/u/" {
			h.Set("Cache-Control", "no-cache")
			http.ServeFileFS(w, r, sub, "index.html")
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, "/assets/")
		if ok && name != "" && !strings.Contains(name, "/") && path.Clean(name) == name {
			_, err := fs.Stat(sub, name)
			ok = err == nil
		}
		if !ok {
			problem.Write(w, http.StatusNotFound, "route.not_found", "no such file of the web app")
			return
		}
		h.Set("Cache-Control", "no-cache")
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + name
		files.ServeHTTP(w, r2)
	})
}
