package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/handoffmed/handoff/platform/principal"
	"github.com/handoffmed/handoff/services/intake/internal/access"
)

// Route is one route of the API: its pattern, who may call it, and its handler.
type Route struct {
	Pattern string
	Rule    Rule
	handler http.HandlerFunc
}

// Rule decides whether a principal may call a route (one per route). A
// nil principal means the request carried no credential.
type Rule struct {
	Name  string
	allow func(p *principal.Principal, r *http.Request) bool
}

// The rules of the API.
var (
	// Public routes need no credential (the web app's files, the OpenAPI
	// document, signing in).
	Public = Rule{"public", func(*principal.Principal, *http.Request) bool { return true }}
	// Admin routes need the API token.
	Admin = Rule{"admin", func(p *principal.Principal, _ *http.Request) bool { return p != nil && p.Kind == principal.Admin }}
	// Staff routes need the API token or a coordinator credential.
	Staff = Rule{"staff", func(p *principal.Principal, _ *http.Request) bool { return p != nil && p.Staff() }}
	// CaseUpload routes are staff's, and a patient link's for its own case.
	CaseUpload = Rule{"case-upload", func(p *principal.Principal, r *http.Request) bool {
		return p != nil && (p.Staff() || p.Kind == principal.PatientLink && p.CaseID == r.PathValue("id"))
	}}
	// LinkOnly routes are a patient link's own (what the link is for).
	LinkOnly = Rule{"link", func(p *principal.Principal, _ *http.Request) bool { return p != nil && p.Kind == principal.PatientLink }}
	// Anyone routes need some credential.
	Anyone = Rule{"authenticated", func(p *principal.Principal, _ *http.Request) bool { return p != nil }}
)

// routes is every route the server mounts.
func (s *Server) routes() []Route {
	return []Route{
		{"GET /{$}", Public, s.webApp},
		{"GET /u/{$}", Public, s.webApp},
		{"GET /assets/{file}", Public, s.webApp},
		{"GET /v1/openapi.json", Public, s.openAPI},
		{"GET /v1/labels", Public, s.labels},

		{"POST /v1/session", Public, s.signIn},
		{"GET /v1/session", Public, s.getSession},
		{"DELETE /v1/session", Anyone, s.signOut},

		{"GET /v1/tokens", Admin, s.listTokens},
		{"POST /v1/tokens", Admin, s.createToken},
		{"DELETE /v1/tokens/{name}", Admin, s.revokeToken},

		{"GET /v1/cases", Staff, s.listCases},
		{"POST /v1/cases", Staff, s.createCase},
		{"GET /v1/cases/{id}", Staff, s.getCase},
		{"PATCH /v1/cases/{id}", Staff, s.patchCase},
		{"DELETE /v1/cases/{id}", Staff, s.deleteCase},
		{"GET /v1/cases/{id}/audit", Staff, s.auditTrail},

		{"PUT /v1/cases/{id}/files/{file...}", CaseUpload, s.upload},
		{"GET /v1/cases/{id}/files/{file}", Staff, s.getFile},
		{"POST /v1/cases/{id}/uploads", CaseUpload, s.presignUpload},
		{"POST /v1/cases/{id}/multipart", CaseUpload, s.createMultipart},
		{"GET /v1/cases/{id}/multipart", CaseUpload, s.listParts},
		{"POST /v1/cases/{id}/multipart/parts", CaseUpload, s.presignParts},
		{"POST /v1/cases/{id}/multipart/complete", CaseUpload, s.completeMultipart},

		{"GET /v1/cases/{id}/events", CaseUpload, s.events},
		{"GET /v1/cases/{id}/report", CaseUpload, s.report},

		{"POST /v1/cases/{id}/bundle", Staff, s.requestBundle},
		{"GET /v1/cases/{id}/bundle", Staff, s.bundleLink},
		{"GET /v1/cases/{id}/bundles", Staff, s.listBundles},
		{"DELETE /v1/cases/{id}/bundles/{version}", Staff, s.revokeBundle},

		{"GET /v1/cases/{id}/links", Staff, s.listLinks},
		{"POST /v1/cases/{id}/links", Staff, s.createLink},
		{"DELETE /v1/cases/{id}/links/{link_id}", Staff, s.revokeLink},
		{"GET /v1/link", LinkOnly, s.getLink},
	}
}

// Routes lists the patterns and rules of every route (for the OpenAPI
// document's test and for operators).
func Routes() []Route {
	rs := (&Server{}).routes()
	for i := range rs {
		rs[i].handler = nil
	}
	return rs
}

// SessionCookie is the name of the web app's session cookie.
const SessionCookie = "handoff_session"

// CSRFHeader carries the session's CSRF token on every unsafe request of
// a signed-in page.
const CSRFHeader = "X-CSRF-Token"

// authFailure is why a request's credential was refused.
type authFailure struct {
	status int
	code   string
	detail string
}

// authenticate reads the request's credential. A request without one
// returns nil and no failure.
func (s *Server) authenticate(ctx context.Context, r *http.Request) (*principal.Principal, *authFailure) {
	if h := r.Header.Get("Authorization"); h != "" {
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || token == "" {
			return nil, &authFailure{http.StatusUnauthorized, "auth.invalid_token", "the Authorization header must be 'Bearer <token>'"}
		}
		return s.bearer(ctx, strings.TrimSpace(token))
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	sess, err := s.access.Session(ctx, c.Value)
	switch {
	case errors.Is(err, access.ErrNotFound) || errors.Is(err, access.ErrExpired):
		return nil, &authFailure{http.StatusUnauthorized, "auth.session_expired", "your session has expired; sign in again"}
	case err != nil:
		return nil, &authFailure{http.StatusServiceUnavailable, "auth.unavailable", "sessions cannot be checked right now; try again"}
	}
	if unsafeMethod(r.Method) && subtle.ConstantTimeCompare([]byte(r.Header.Get(CSRFHeader)), []byte(sess.CSRF)) != 1 {
		return nil, &authFailure{http.StatusForbidden, "auth.csrf", "the request lacks the page's " + CSRFHeader + " header; reload the page"}
	}
	// A coordinator revoked while signed in loses the session too.
	if sess.Principal.Kind == principal.Coordinator && !s.coordinatorLive(ctx, sess.Principal.ID) {
		return nil, &authFailure{http.StatusUnauthorized, "auth.revoked", "your credential was revoked; ask the administrator for a new one"}
	}
	p := sess.Principal
	return &p, nil
}

func (s *Server) coordinatorLive(ctx context.Context, name string) bool {
	creds, err := s.access.Credentials(ctx)
	if err != nil {
		return true // unknown: the session stands until it expires
	}
	for _, c := range creds {
		if c.Name == name && c.Revoked.IsZero() {
			return true
		}
	}
	return false
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// bearer authenticates a token: the API token, a coordinator's or a link's.
func (s *Server) bearer(ctx context.Context, token string) (*principal.Principal, *authFailure) {
	if s.cfg.Token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.Token)) == 1 {
		return &principal.Principal{Kind: principal.Admin, ID: "admin"}, nil
	}
	switch {
	case strings.HasPrefix(token, access.CoordinatorPrefix):
		p, err := s.access.Coordinator(ctx, token)
		switch {
		case err == nil:
			return &p, nil
		case errors.Is(err, access.ErrRevoked):
			return nil, &authFailure{http.StatusUnauthorized, "auth.revoked", "this coordinator credential was revoked; ask the administrator for a new one"}
		case !errors.Is(err, access.ErrNotFound):
			return nil, &authFailure{http.StatusServiceUnavailable, "auth.unavailable", "credentials cannot be checked right now; try again"}
		}
	case strings.HasPrefix(token, access.LinkPrefix):
		l, err := s.access.LinkByToken(ctx, token)
		switch {
		case err == nil:
			return &principal.Principal{Kind: principal.PatientLink, ID: l.ID, CaseID: l.CaseID}, nil
		case errors.Is(err, access.ErrRevoked):
			return nil, &authFailure{http.StatusUnauthorized, "link.revoked", "this upload link was revoked; ask your coordinator for a new link"}
		case errors.Is(err, access.ErrExpired):
			return nil, &authFailure{http.StatusUnauthorized, "link.expired", "this upload link has expired; ask your coordinator for a new link"}
		case !errors.Is(err, access.ErrNotFound):
			return nil, &authFailure{http.StatusServiceUnavailable, "auth.unavailable", "links cannot be checked right now; try again"}
		}
		return nil, &authFailure{http.StatusUnauthorized, "link.invalid", "this upload link is not valid; check that it was copied whole"}
	}
	return nil, &authFailure{http.StatusUnauthorized, "auth.invalid_token", "the token is not valid: use the API token (HANDOFF_API_TOKEN, or the api-token file in the data directory of handoff serve) or a coordinator credential"}
}

// authorize authenticates the request, applies the route's rule and puts
// the principal in the request's context.
func (s *Server) authorize(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, fail := s.authenticate(r.Context(), r)
		if fail != nil && rt.Rule.Name != Public.Name {
			if fail.status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="handoff"`)
			}
			writeError(w, fail.status, fail.code, fail.detail)
			return
		}
		if !rt.Rule.allow(p, r) {
			if p == nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="handoff"`)
				writeError(w, http.StatusUnauthorized, "auth.required", "a valid bearer token (or a signed-in session) is required")
				return
			}
			writeError(w, http.StatusForbidden, "auth.forbidden", "this credential may not use this route")
			return
		}
		if p != nil {
			r = r.WithContext(principal.With(r.Context(), *p))
		}
		rt.handler(w, r)
	})
}

// who is the request's principal (routes other than Public always have one).
func who(r *http.Request) principal.Principal {
	p, _ := principal.From(r.Context())
	return p
}
