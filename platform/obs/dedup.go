package obs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
)

// unique is a slog handler under which a key appears once per record, at
// each level of groups: an attribute added again with With, or given again
// in the call, replaces the earlier one in place (the later value wins).
// slog's own handlers write both, which makes a JSON object with a repeated
// key — most JSON readers keep one of the two silently, some refuse the
// line. A service's logger gets "service" from its binary and again from
// the service; the consumer loop adds "case_id" that a handler may add too.
//
// It keeps the attributes of With and WithGroup itself and gives the
// wrapped handler whole records.
type unique struct {
	inner  slog.Handler
	scopes []scope // scopes[0] is the top level; each WithGroup adds one
}

type scope struct {
	group string
	attrs []slog.Attr
}

func newUnique(h slog.Handler) slog.Handler { return unique{inner: h, scopes: []scope{{}}} }

func (u unique) Enabled(ctx context.Context, l slog.Level) bool { return u.inner.Enabled(ctx, l) }

func (u unique) WithAttrs(attrs []slog.Attr) slog.Handler {
	scopes := u.clone()
	last := &scopes[len(scopes)-1]
	for _, a := range attrs {
		last.attrs = put(last.attrs, a)
	}
	return unique{inner: u.inner, scopes: scopes}
}

func (u unique) WithGroup(name string) slog.Handler {
	if name == "" {
		return u
	}
	return unique{inner: u.inner, scopes: append(u.clone(), scope{group: name})}
}

// clone copies the scopes so that loggers derived from one another never
// share a slice they append to.
func (u unique) clone() []scope {
	out := make([]scope, len(u.scopes))
	for i, s := range u.scopes {
		out[i] = scope{group: s.group, attrs: append([]slog.Attr(nil), s.attrs...)}
	}
	return out
}

func (u unique) Handle(ctx context.Context, r slog.Record) error {
	attrs := append([]slog.Attr(nil), u.scopes[len(u.scopes)-1].attrs...)
	r.Attrs(func(a slog.Attr) bool {
		attrs = put(attrs, a)
		return true
	})
	// Close the groups from the innermost out.
	for i := len(u.scopes) - 1; i > 0; i-- {
		outer := append([]slog.Attr(nil), u.scopes[i-1].attrs...)
		if len(attrs) > 0 {
			outer = put(outer, slog.Attr{Key: u.scopes[i].group, Value: slog.GroupValue(attrs...)})
		}
		attrs = outer
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	out.AddAttrs(attrs...)
	return u.inner.Handle(ctx, out)
}

// put adds a to attrs, replacing an attribute of the same key. A group
// without a key is inlined, as slog does; an empty attribute is dropped.
func put(attrs []slog.Attr, a slog.Attr) []slog.Attr {
	if a.Equal(slog.Attr{}) {
		return attrs
	}
	if a.Key == "" && a.Value.Kind() == slog.KindGroup {
		for _, g := range a.Value.Group() {
			attrs = put(attrs, g)
		}
		return attrs
	}
	for i := range attrs {
		if attrs[i].Key == a.Key {
			attrs[i] = a
			return attrs
		}
	}
	return append(attrs, a)
}

// DurationSuffix ends the key of a duration in a JSON log.
const DurationSuffix = "_seconds"

// secondsAttr writes a time.Duration as seconds (a float) under a key that
// says so ("delay" becomes "delay_seconds"): log readers sum and compare
// numbers, not Go's "1m30s".
func secondsAttr(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindDuration {
		return a
	}
	key := a.Key
	if !strings.HasSuffix(key, DurationSuffix) {
		key += DurationSuffix
	}
	return slog.Float64(key, a.Value.Duration().Seconds())
}

// DuplicateKeys returns the keys that appear more than once in one object
// of a JSON log line (a nested object's keys are checked on their own), or
// an error when the line is not a JSON object. Tests check the logs of
// every service with it.
func DuplicateKeys(line []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var dups []string
	if err := objectKeys(dec, &dups, true); err != nil {
		return nil, err
	}
	return dups, nil
}

// objectKeys reads one JSON value from dec, collecting repeated keys of
// every object in it. top requires the value to be an object.
func objectKeys(dec *json.Decoder, dups *[]string, top bool) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		if top {
			return errors.New("not a JSON object")
		}
		return nil
	}
	switch d {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := k.(string)
			if seen[key] {
				*dups = append(*dups, key)
			}
			seen[key] = true
			if err := objectKeys(dec, dups, false); err != nil {
				return err
			}
		}
	case '[':
		if top {
			return errors.New("not a JSON object")
		}
		for dec.More() {
			if err := objectKeys(dec, dups, false); err != nil {
				return err
			}
		}
	}
	_, err = dec.Token() // the closing delimiter
	return err
}
