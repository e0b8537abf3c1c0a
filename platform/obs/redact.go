package obs

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
)

// keyRe matches the patient-chosen part of an object key: file and folder
// names can hold names ("Jane_Doe_MRI.zip"); the case and file IDs before
// them are what operators need.
var keyRe = regexp.MustCompile(`cases/[a-z0-9]{4,64}/(?:uploads|archives/[a-z0-9]{4,64})/[^"'\]\n]+`)

// Redact removes patient-chosen file names from object keys in a log
// message and its attributes (error texts often quote a key). A name may
// hold spaces: it ends at a quote, a bracket, a line end or ": ", where
// error texts go on.
func Redact(s string) string {
	return keyRe.ReplaceAllStringFunc(s, func(m string) string {
		i := strings.Index(m, "/uploads/")
		if i < 0 {
			i = strings.Index(m, "/archives/")
			i += len("/archives/") + strings.IndexByte(m[i+len("/archives/"):], '/')
		} else {
			i += len("/uploads")
		}
		rest := m[i+1:]
		if j := strings.Index(rest, ": "); j >= 0 {
			return m[:i] + "/…" + rest[j:]
		}
		return m[:i] + "/…"
	})
}

// redacting wraps a handler so that no record carries a file name.
type redacting struct{ slog.Handler }

// NewRedacting wraps h with Redact.
func NewRedacting(h slog.Handler) slog.Handler { return redacting{h} }

func (r redacting) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, Redact(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return r.Handler.Handle(ctx, out)
}

func (r redacting) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = redactAttr(a)
	}
	return redacting{r.Handler.WithAttrs(clean)}
}

func (r redacting) WithGroup(name string) slog.Handler { return redacting{r.Handler.WithGroup(name)} }

func redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, Redact(v.String()))
	case slog.KindGroup:
		attrs := v.Group()
		clean := make([]slog.Attr, len(attrs))
		for i, g := range attrs {
			clean[i] = redactAttr(g)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(clean...)}
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, Redact(err.Error()))
		}
		return a
	}
	return a
}
