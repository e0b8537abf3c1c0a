package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/handoffmed/handoff/platform/principal"
	"github.com/handoffmed/handoff/services/intake/internal/access"
)

// SessionView is the signed-in principal; CSRFToken goes back in the
// X-CSRF-Token header of every unsafe request of a session.
type SessionView struct {
	Principal principal.Principal `json:"principal"`
	CSRFToken string              `json:"csrf_token,omitempty"`
	Expires   *time.Time          `json:"expires,omitempty"`
}

func secureRequest(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

// signIn trades the API token or a coordinator credential for a session
// cookie (HttpOnly, SameSite=Strict, Secure over TLS).
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Token string `json:"token"`
	}
	if err := decodeBody(r, &in); err != nil || in.Token == "" {
		writeError(w, http.StatusBadRequest, "request.invalid", `the body must be {"token": "…"}: the API token or a coordinator credential`)
		return
	}
	p, fail := s.bearer(r.Context(), in.Token)
	if fail != nil {
		writeError(w, fail.status, fail.code, fail.detail)
		return
	}
	if !p.Staff() {
		writeError(w, http.StatusForbidden, "auth.forbidden", "an upload link is used by opening it, not by signing in")
		return
	}
	id, sess, err := s.access.CreateSession(r.Context(), *p)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", HttpOnly: true, Secure: secureRequest(r),
		SameSite: http.SameSiteStrictMode, Expires: sess.Expires})
	s.log.Info("signed in", "by", sess.Principal)
	noteAudit(r).by = p
	writeJSON(w, http.StatusCreated, SessionView{Principal: sess.Principal, CSRFToken: sess.CSRF, Expires: &sess.Expires})
}

// getSession says who the request is signed in as: {} when nobody (the
// page asks before it shows the sign-in form).
func (s *Server) getSession(w http.ResponseWriter, r *http.Request) {
	p, ok := principal.From(r.Context())
	if !ok {
		writeJSON(w, http.StatusOK, struct{}{})
		return
	}
	v := SessionView{Principal: p}
	if p.Session {
		if c, err := r.Cookie(SessionCookie); err == nil {
			if sess, err := s.access.Session(r.Context(), c.Value); err == nil {
				v.CSRFToken, v.Expires = sess.CSRF, &sess.Expires
			}
		}
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		if err := s.access.DeleteSession(r.Context(), c.Value); err != nil {
			s.internal(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: secureRequest(r),
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
}

// TokenView is a coordinator credential as listed (never its secret).
type TokenView struct {
	Name    string     `json:"name"`
	Created time.Time  `json:"created"`
	Revoked *time.Time `json:"revoked,omitempty"`
	// Token is shown once, in the answer that made it.
	Token string `json:"token,omitempty"`
}

func tokenView(c access.Credential) TokenView {
	v := TokenView{Name: c.Name, Created: c.Created}
	if !c.Revoked.IsZero() {
		v.Revoked = &c.Revoked
	}
	return v
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	creds, err := s.access.Credentials(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	out := []TokenView{}
	for _, c := range creds {
		out = append(out, tokenView(c))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeError(w, http.StatusBadRequest, "request.invalid", err.Error())
		return
	}
	token, c, err := s.access.CreateCredential(r.Context(), in.Name)
	switch {
	case errors.Is(err, access.ErrBadName):
		writeError(w, http.StatusBadRequest, "request.invalid", err.Error())
		return
	case errors.Is(err, access.ErrExists):
		writeError(w, http.StatusConflict, "token.exists", "this name has a credential already; revoke it first")
		return
	case err != nil:
		s.internal(w, r, err)
		return
	}
	s.log.Info("coordinator credential created", "name", c.Name, "by", who(r))
	noteAudit(r).object = c.Name
	v := tokenView(c)
	v.Token = token
	writeJSON(w, http.StatusCreated, v)
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	err := s.access.RevokeCredential(r.Context(), name)
	if errors.Is(err, access.ErrNotFound) {
		writeError(w, http.StatusNotFound, "token.not_found", "no live credential has this name")
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.log.Info("coordinator credential revoked", "name", name, "by", who(r))
	w.WriteHeader(http.StatusNoContent)
}

// LinkView is a patient link. Token and URL are given once, when made.
type LinkView struct {
	ID      string     `json:"id"`
	CaseID  string     `json:"case_id"`
	Created time.Time  `json:"created"`
	Expires time.Time  `json:"expires"`
	Revoked *time.Time `json:"revoked,omitempty"`
	Token   string     `json:"token,omitempty"`
	// URL is the page the patient opens: the token rides in its fragment,
	// which browsers never send to a server.
	URL string `json:"url,omitempty"`
}

func linkView(l access.Link) LinkView {
	v := LinkView{ID: l.ID, CaseID: l.CaseID, Created: l.Created, Expires: l.Expires}
	if !l.Revoked.IsZero() {
		v.Revoked = &l.Revoked
	}
	return v
}

// maxLinkExpiry caps how long a patient link may work.
const maxLinkExpiry = 90 * 24 * time.Hour

func (s *Server) createLink(w http.ResponseWriter, r *http.Request) {
	id, ok := s.caseID(w, r)
	if !ok {
		return
	}
	var in struct {
		ExpiresIn string `json:"expires_in"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeError(w, http.StatusBadRequest, "request.invalid", err.Error())
		return
	}
	ttl := s.cfg.LinkExpiry
	if in.ExpiresIn != "" {
		d, err := time.ParseDuration(in.ExpiresIn)
		if err != nil || d <= 0 || d > maxLinkExpiry {
			writeError(w, http.StatusBadRequest, "request.invalid", "expires_in is a duration such as 72h, at most 2160h (90 days)")
			return
		}
		ttl = d
	}
	p := who(r)
	token, l, err := s.access.CreateLink(r.Context(), id, string(p.Kind)+":"+p.ID, ttl)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	scheme := "http"
	if secureRequest(r) {
		scheme = "https"
	}
	v := linkView(l)
	v.Token, v.URL = token, scheme+"://"+r.Host+"/u/#"+token
	s.log.Info("patient link created", "case_id", id, "link_id", l.ID, "by", p)
	noteAudit(r).object = l.ID
	writeJSON(w, http.StatusCreated, v)
}

func (s *Server) listLinks(w http.ResponseWriter, r *http.Request) {
	id, ok := s.caseID(w, r)
	if !ok {
		return
	}
	links, err := s.access.Links(r.Context(), id)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	out := []LinkView{}
	for _, l := range links {
		out = append(out, linkView(l))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) revokeLink(w http.ResponseWriter, r *http.Request) {
	id, ok := s.caseID(w, r)
	if !ok {
		return
	}
	l, err := s.access.RevokeLink(r.Context(), id, r.PathValue("link_id"))
	if errors.Is(err, access.ErrNotFound) {
		writeError(w, http.StatusNotFound, "link.not_found", "no such link for this case")
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.log.Info("patient link revoked", "case_id", id, "link_id", l.ID, "by", who(r))
	writeJSON(w, http.StatusOK, linkView(l))
}

// getLink tells a patient link's page which case it uploads to and until when.
func (s *Server) getLink(w http.ResponseWriter, r *http.Request) {
	p := who(r)
	links, err := s.access.Links(r.Context(), p.CaseID)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	for _, l := range links {
		if l.ID == p.ID {
			writeJSON(w, http.StatusOK, linkView(l))
			return
		}
	}
	writeError(w, http.StatusNotFound, "link.not_found", "this link no longer exists")
}
