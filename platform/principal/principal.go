// Package principal is who made a request: the one small type every
// authenticated request carries in its context, so that authorization (one
// function per route) and an audit trail read the same thing.
package principal

import (
	"context"
	"log/slog"
)

// Kind is what authenticated a request.
type Kind string

// Kinds of principal.
const (
	// Admin holds the API token (HANDOFF_API_TOKEN or <data>/api-token).
	Admin Kind = "admin"
	// Coordinator holds a named coordinator credential (handoff token create).
	Coordinator Kind = "coordinator"
	// PatientLink holds an upload link scoped to one case.
	PatientLink Kind = "patient-link"
)

// Principal is the authenticated caller of a request. It names no patient:
// a coordinator by the name given to the credential, a link by its ID.
type Principal struct {
	Kind Kind   `json:"kind"`
	ID   string `json:"id"`
	// CaseID is the one case a patient link may reach (empty otherwise).
	CaseID string `json:"case_id,omitempty"`
	// Session is set when the request came from a signed-in browser session
	// (cookie) rather than a bearer token.
	Session bool `json:"session,omitempty"`
}

// Staff reports whether p is the administrator or a coordinator.
func (p Principal) Staff() bool { return p.Kind == Admin || p.Kind == Coordinator }

// LogValue logs the principal's kind and ID (never a secret).
func (p Principal) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("kind", string(p.Kind)), slog.String("id", p.ID)}
	if p.CaseID != "" {
		attrs = append(attrs, slog.String("case_id", p.CaseID))
	}
	return slog.GroupValue(attrs...)
}

type ctxKey struct{}

// With returns ctx carrying p.
func With(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// From returns the principal of ctx; ok is false for an unauthenticated request.
func From(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}
