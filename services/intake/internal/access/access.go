// Package access keeps who may use the API besides the administrator's
// token: named coordinator credentials, browser sessions and patient upload
// links. Secrets are stored only as SHA-256 digests (they are 160-bit or
// longer random strings, so a fast digest is enough); the tokens themselves
// are shown once, when made.
//
// Keys of the access bucket (history 1):
//
//	cred.<digest>     Credential   a coordinator's credential
//	link.<id>         Link         a patient upload link (its secret's digest inside)
//
// Sessions live in their own bucket whose entries expire on their own
// (session.<digest> → Session).
package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/principal"
	"github.com/handoffmed/handoff/platform/record"
)

// Bucket names.
const (
	Bucket         = "handoff-access"
	SessionsBucket = "handoff-sessions"
)

// Token prefixes say what a bearer token is without a lookup.
const (
	CoordinatorPrefix = "hoc_"
	LinkPrefix        = "hol_"
)

// Errors callers branch on.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrRevoked  = errors.New("revoked")
	ErrExpired  = errors.New("expired")
	ErrBadName  = errors.New("a name is 1-64 characters: lower-case letters, digits, '.', '_' or '-'")
)

var nameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Store is the access bucket.
type Store struct {
	kv       jetstream.KeyValue
	sessions jetstream.KeyValue
	ttl      time.Duration
	now      func() time.Time
}

// Open creates the buckets if needed. Sessions live sessionTTL.
func Open(ctx context.Context, js jetstream.JetStream, replicas int, sessionTTL time.Duration) (*Store, error) {
	kv, err := bus.EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: Bucket, Description: "Handoff access: coordinator credentials and patient links (digests only)",
		History: 1, Storage: jetstream.FileStorage, Replicas: max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("kv %s: %w", Bucket, err)
	}
	sk, err := bus.EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: SessionsBucket, Description: "Handoff browser sessions (digests only)",
		History: 1, TTL: sessionTTL, Storage: jetstream.FileStorage, Replicas: max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("kv %s: %w", SessionsBucket, err)
	}
	return &Store{kv: bus.RetryKV(kv, replicas), sessions: bus.RetryKV(sk, replicas), ttl: sessionTTL, now: time.Now}, nil
}

var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func secret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b32.EncodeToString(b)
}

// Digest is the stored form of a secret.
func Digest(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Credential is a coordinator's credential.
type Credential struct {
	Name    string    `json:"name"`
	Digest  string    `json:"digest"`
	Created time.Time `json:"created"`
	Revoked time.Time `json:"revoked,omitzero"`
}

// CreateCredential makes a credential for name and returns its token (shown
// once). ErrExists when name has a credential that is not revoked.
func (s *Store) CreateCredential(ctx context.Context, name string) (string, Credential, error) {
	if !nameRe.MatchString(name) {
		return "", Credential{}, ErrBadName
	}
	creds, err := s.Credentials(ctx)
	if err != nil {
		return "", Credential{}, err
	}
	for _, c := range creds {
		if c.Name == name && c.Revoked.IsZero() {
			return "", Credential{}, fmt.Errorf("credential %s: %w", name, ErrExists)
		}
	}
	token := CoordinatorPrefix + secret(20)
	c := Credential{Name: name, Digest: Digest(token), Created: s.now().UTC()}
	if err := s.put(ctx, "cred."+c.Digest, c, true); err != nil {
		return "", Credential{}, err
	}
	return token, c, nil
}

// Credentials lists every credential, revoked ones included, by name.
func (s *Store) Credentials(ctx context.Context) ([]Credential, error) {
	var out []Credential
	err := s.each(ctx, "cred.*", func(v []byte) error {
		var c Credential
		if err := json.Unmarshal(v, &c); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Created.Before(out[j].Created)
	})
	return out, err
}

// RevokeCredential revokes name's live credential.
func (s *Store) RevokeCredential(ctx context.Context, name string) error {
	creds, err := s.Credentials(ctx)
	if err != nil {
		return err
	}
	for _, c := range creds {
		if c.Name == name && c.Revoked.IsZero() {
			c.Revoked = s.now().UTC()
			return s.put(ctx, "cred."+c.Digest, c, false)
		}
	}
	return fmt.Errorf("credential %s: %w", name, ErrNotFound)
}

// Coordinator authenticates a coordinator token.
func (s *Store) Coordinator(ctx context.Context, token string) (principal.Principal, error) {
	var c Credential
	if err := s.get(ctx, s.kv, "cred."+Digest(token), &c); err != nil {
		return principal.Principal{}, err
	}
	if !c.Revoked.IsZero() {
		return principal.Principal{}, ErrRevoked
	}
	return principal.Principal{Kind: principal.Coordinator, ID: c.Name}, nil
}

// Link is a patient upload link: it lets its holder upload files to one
// case and see that case's checklist, until it expires or is revoked.
type Link struct {
	ID        string    `json:"id"`
	CaseID    string    `json:"case_id"`
	Digest    string    `json:"digest"`
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires"`
	Revoked   time.Time `json:"revoked,omitzero"`
	CreatedBy string    `json:"created_by"` // principal kind:id
}

// CreateLink makes a link to caseID that works for ttl and returns its
// token (shown once).
func (s *Store) CreateLink(ctx context.Context, caseID, by string, ttl time.Duration) (string, Link, error) {
	id := record.NewCaseID()
	token := LinkPrefix + id + "_" + secret(20)
	now := s.now().UTC()
	l := Link{ID: id, CaseID: caseID, Digest: Digest(token), Created: now, Expires: now.Add(ttl), CreatedBy: by}
	if err := s.put(ctx, "link."+id, l, true); err != nil {
		return "", Link{}, err
	}
	return token, l, nil
}

// LinkByToken authenticates a link token: ErrNotFound, ErrRevoked or
// ErrExpired when it does not work.
func (s *Store) LinkByToken(ctx context.Context, token string) (Link, error) {
	rest, ok := strings.CutPrefix(token, LinkPrefix)
	id, _, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || !record.ValidID(id) {
		return Link{}, ErrNotFound
	}
	var l Link
	if err := s.get(ctx, s.kv, "link."+id, &l); err != nil {
		return Link{}, err
	}
	if subtle.ConstantTimeCompare([]byte(l.Digest), []byte(Digest(token))) != 1 {
		return Link{}, ErrNotFound
	}
	if !l.Revoked.IsZero() {
		return l, ErrRevoked
	}
	if !s.now().Before(l.Expires) {
		return l, ErrExpired
	}
	return l, nil
}

// Links lists a case's links, newest first.
func (s *Store) Links(ctx context.Context, caseID string) ([]Link, error) {
	var out []Link
	err := s.each(ctx, "link.*", func(v []byte) error {
		var l Link
		if err := json.Unmarshal(v, &l); err != nil {
			return err
		}
		if l.CaseID == caseID {
			out = append(out, l)
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, err
}

// RevokeLink revokes one link of a case.
func (s *Store) RevokeLink(ctx context.Context, caseID, id string) (Link, error) {
	var l Link
	if !record.ValidID(id) {
		return l, ErrNotFound
	}
	if err := s.get(ctx, s.kv, "link."+id, &l); err != nil {
		return l, err
	}
	if l.CaseID != caseID {
		return l, ErrNotFound
	}
	if l.Revoked.IsZero() {
		l.Revoked = s.now().UTC()
		if err := s.put(ctx, "link."+id, l, false); err != nil {
			return l, err
		}
	}
	return l, nil
}

// DeleteCase purges the links of a case and returns how many.
func (s *Store) DeleteCase(ctx context.Context, caseID string) (int, error) {
	links, err := s.Links(ctx, caseID)
	if err != nil {
		return 0, err
	}
	for _, l := range links {
		if err := s.kv.Purge(ctx, "link."+l.ID); err != nil {
			return 0, fmt.Errorf("purge link: %w", err)
		}
	}
	return len(links), nil
}

// Session is a signed-in browser.
type Session struct {
	Principal principal.Principal `json:"principal"`
	CSRF      string              `json:"csrf"`
	Created   time.Time           `json:"created"`
	Expires   time.Time           `json:"expires"`
}

// CreateSession starts a session for p and returns its ID (the cookie's
// value) and the session, whose CSRF token the page sends back.
func (s *Store) CreateSession(ctx context.Context, p principal.Principal) (string, Session, error) {
	id := secret(32)
	now := s.now().UTC()
	p.Session = true
	sess := Session{Principal: p, CSRF: secret(20), Created: now, Expires: now.Add(s.ttl)}
	data, err := json.Marshal(sess)
	if err != nil {
		return "", sess, err
	}
	if _, err := s.sessions.Create(ctx, "session."+Digest(id), data); err != nil {
		return "", sess, fmt.Errorf("create session: %w", err)
	}
	return id, sess, nil
}

// Session reads a live session.
func (s *Store) Session(ctx context.Context, id string) (Session, error) {
	var sess Session
	if id == "" || len(id) > 128 {
		return sess, ErrNotFound
	}
	if err := s.get(ctx, s.sessions, "session."+Digest(id), &sess); err != nil {
		return sess, err
	}
	if !s.now().Before(sess.Expires) {
		return sess, ErrExpired
	}
	return sess, nil
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if err := s.sessions.Purge(ctx, "session."+Digest(id)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

func (s *Store) put(ctx context.Context, key string, v any, create bool) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if create {
		_, err = s.kv.Create(ctx, key, data)
	} else {
		_, err = s.kv.Put(ctx, key, data)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", strings.SplitN(key, ".", 2)[0], err)
	}
	return nil
}

func (s *Store) get(ctx context.Context, kv jetstream.KeyValue, key string, v any) error {
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", strings.SplitN(key, ".", 2)[0], err)
	}
	return json.Unmarshal(e.Value(), v)
}

// each calls fn with the value of every key matching filter.
func (s *Store) each(ctx context.Context, filter string, fn func([]byte) error) error {
	return casestore.Each(ctx, s.kv, filter, func(e jetstream.KeyValueEntry) error { return fn(e.Value()) })
}
