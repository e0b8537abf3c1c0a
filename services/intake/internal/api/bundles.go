package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/record"
)

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
// ?version=N) that has not expired and was not revoked: a revoked version
// answers 403.
func (s *Server) bundleLink(w http.ResponseWriter, r *http.Request) {
	c, ok := s.lookup(w, r)
	if !ok {
		return
	}
	want := 0
	if v := r.URL.Query().Get("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "request.invalid", "version must be a bundle version number")
			return
		}
		want = n
	}
	bundles, err := s.bundles(r.Context(), c.ID)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	now := time.Now()
	for i := len(bundles) - 1; i >= 0; i-- {
		b := bundles[i]
		if want != 0 && b.Version != want {
			continue
		}
		if !b.Revoked.IsZero() && want != 0 {
			writeError(w, http.StatusForbidden, "bundle.revoked", "this bundle version was revoked; request a new bundle")
			return
		}
		if !b.Live(now) {
			continue
		}
		expiry := s.cfg.BundleLinkExpiry
		if !b.Expires.IsZero() {
			expiry = min(expiry, b.Expires.Sub(now))
		}
		// The readable name is stored with the object (its
		// Content-Disposition), never put in the link.
		u, err := s.blobs.PresignGet(r.Context(), b.Bucket, b.Key, "", expiry)
		if err != nil {
			s.internal(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, u.String(), http.StatusFound)
		return
	}
	if len(bundles) > 0 && want == 0 && !bundles[len(bundles)-1].Revoked.IsZero() {
		writeError(w, http.StatusForbidden, "bundle.revoked", "the newest bundle was revoked; request a new bundle")
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

// bundles are a case's bundle versions, oldest first (never nil): the
// packager keeps them apart from the case record (casestore.Bundles).
func (s *Server) bundles(ctx context.Context, caseID string) ([]record.Bundle, error) {
	b, err := s.cases.Bundles(ctx, caseID)
	if b == nil {
		b = []record.Bundle{}
	}
	return b, err
}

var errNoBundle = errors.New("no such bundle version")

// revokeBundle revokes a bundle version: its link answers 403 and its ZIP is
// removed, so links already handed out stop working too.
func (s *Server) revokeBundle(w http.ResponseWriter, r *http.Request) {
	id, ok := s.caseID(w, r)
	if !ok {
		return
	}
	v, err := strconv.Atoi(r.PathValue("version"))
	if err != nil {
		writeError(w, http.StatusNotFound, "bundle.not_found", "no such bundle version")
		return
	}
	var got record.Bundle
	_, err = s.cases.UpdateBundles(r.Context(), id, func(bundles *[]record.Bundle) error {
		for i, b := range *bundles {
			if b.Version == v {
				if b.Revoked.IsZero() {
					(*bundles)[i].Revoked = time.Now().UTC()
				}
				got = (*bundles)[i]
				return nil
			}
		}
		return errNoBundle
	})
	if errors.Is(err, errNoBundle) || errors.Is(err, casestore.ErrNotFound) {
		writeError(w, http.StatusNotFound, "bundle.not_found", "no such bundle version")
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if err := s.blobs.Remove(r.Context(), got.Bucket, got.Key); err != nil && !errors.Is(err, blob.ErrNotFound) {
		s.internal(w, r, err)
		return
	}
	s.log.Info("bundle revoked", "case_id", id, "version", v, "by", who(r))
	writeJSON(w, http.StatusOK, got)
}
