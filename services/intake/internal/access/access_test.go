package access

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/platform/natstest"
	"github.com/handoffmed/handoff/platform/principal"
)

func open(t *testing.T) *Store {
	t.Helper()
	js, err := jetstream.New(natstest.Start(t).Conn(t))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), js, 1, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Credentials, links and sessions: made, used, revoked, expired; the
// secrets themselves are never stored.
func TestAccess(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := t.Context()
	now := time.Now()
	s.now = func() time.Time { return now }

	token, _, err := s.CreateCredential(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateCredential(ctx, "alice"); !errors.Is(err, ErrExists) {
		t.Errorf("a second live credential for alice: got %v, want ErrExists", err)
	}
	if _, _, err := s.CreateCredential(ctx, "Alice Smith"); !errors.Is(err, ErrBadName) {
		t.Errorf("a bad name: got %v, want ErrBadName", err)
	}
	p, err := s.Coordinator(ctx, token)
	if err != nil || p != (principal.Principal{Kind: principal.Coordinator, ID: "alice"}) {
		t.Errorf("got %+v %v, want coordinator alice", p, err)
	}
	if _, err := s.Coordinator(ctx, token+"x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a wrong token: got %v, want ErrNotFound", err)
	}
	if err := s.RevokeCredential(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Coordinator(ctx, token); !errors.Is(err, ErrRevoked) {
		t.Errorf("a revoked credential: got %v, want ErrRevoked", err)
	}
	if _, _, err := s.CreateCredential(ctx, "alice"); err != nil {
		t.Errorf("a new credential after revocation: %v", err)
	}

	ltoken, l, err := s.CreateLink(ctx, "case0001", "coordinator:alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.LinkByToken(ctx, ltoken); err != nil || got.CaseID != "case0001" {
		t.Errorf("link: got %+v %v", got, err)
	}
	for _, bad := range []string{"", LinkPrefix, LinkPrefix + l.ID + "_wrong", strings.Replace(ltoken, l.ID, "zzzzzzzzzzzzzzzz", 1)} {
		if _, err := s.LinkByToken(ctx, bad); !errors.Is(err, ErrNotFound) {
			t.Errorf("token %q: got %v, want ErrNotFound", bad, err)
		}
	}
	now = now.Add(2 * time.Hour)
	if _, err := s.LinkByToken(ctx, ltoken); !errors.Is(err, ErrExpired) {
		t.Errorf("an expired link: got %v, want ErrExpired", err)
	}
	if _, err := s.RevokeLink(ctx, "case0002", l.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoking another case's link: got %v, want ErrNotFound", err)
	}
	if _, err := s.RevokeLink(ctx, "case0001", l.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LinkByToken(ctx, ltoken); !errors.Is(err, ErrRevoked) {
		t.Errorf("a revoked link: got %v, want ErrRevoked", err)
	}
	if n, err := s.DeleteCase(ctx, "case0001"); n != 1 || err != nil {
		t.Errorf("delete the case's links: %d %v", n, err)
	}

	id, sess, err := s.CreateSession(ctx, principal.Principal{Kind: principal.Admin, ID: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Session(ctx, id); err != nil || got.CSRF != sess.CSRF || !got.Principal.Session {
		t.Errorf("session: got %+v %v", got, err)
	}
	now = now.Add(2 * time.Hour)
	if _, err := s.Session(ctx, id); !errors.Is(err, ErrExpired) {
		t.Errorf("an old session: got %v, want ErrExpired", err)
	}
	if err := s.DeleteSession(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("an ended session: got %v, want ErrNotFound", err)
	}

	// No secret is stored, only digests.
	for _, b := range []jetstream.KeyValue{s.kv, s.sessions} {
		lister, err := b.ListKeys(ctx)
		if err != nil {
			continue
		}
		for k := range lister.Keys() {
			e, err := b.Get(ctx, k)
			if err != nil {
				continue
			}
			for _, secret := range []string{token, ltoken, id, strings.TrimPrefix(ltoken, LinkPrefix+l.ID+"_")} {
				if strings.Contains(string(e.Value()), secret) || strings.Contains(k, secret) {
					t.Errorf("key %s holds a secret in plain", k)
				}
			}
		}
	}
}

// Link tokens of any shape are refused without a panic.
func FuzzLinkByToken(f *testing.F) {
	js, err := jetstream.New(natstest.Start(f).Conn(f))
	if err != nil {
		f.Fatal(err)
	}
	s, err := Open(f.Context(), js, 1, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("hol_abcdefghijklmnop_secret")
	f.Add("hol__")
	f.Add("hol_a.b_c")
	f.Fuzz(func(t *testing.T, token string) {
		if _, err := s.LinkByToken(t.Context(), token); err == nil {
			t.Fatalf("token %q was accepted", token)
		}
	})
}
