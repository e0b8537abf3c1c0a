package event

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// CloudEvents NATS binding headers (binary content mode).
const (
	HeaderSpecVersion = "ce-specversion"
	HeaderID          = "ce-id"
	HeaderSource      = "ce-source"
	HeaderType        = "ce-type"
	HeaderTime        = "ce-time"
	HeaderSubject     = "ce-subject"
	HeaderContentType = "content-type"
	HeaderTraceParent = "traceparent"
)

// Meta is the envelope of a received event.
type Meta struct {
	ID          string
	Source      string
	Type        string
	Time        time.Time
	CaseID      string
	TraceParent string
}

// Encode builds the NATS message for ev: JSON data, CloudEvents headers,
// Nats-Msg-Id and the trace context (a new trace when traceparent is empty).
func Encode(ev Event, source, traceparent string) (*nats.Msg, error) {
	data, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", ev.EventType(), err)
	}
	msg := &nats.Msg{Subject: ev.Subject(), Data: data, Header: make(nats.Header, 9)}
	id := ev.MsgID()
	msg.Header.Set(HeaderSpecVersion, "1.0")
	msg.Header.Set(HeaderID, id)
	msg.Header.Set(HeaderSource, source)
	msg.Header.Set(HeaderType, ev.EventType())
	msg.Header.Set(HeaderTime, time.Now().UTC().Format(time.RFC3339Nano))
	if c := ev.CaseRef(); c != "" {
		msg.Header.Set(HeaderSubject, c)
	}
	msg.Header.Set(HeaderContentType, "application/json")
	msg.Header.Set(nats.MsgIdHdr, id)
	msg.Header.Set(HeaderTraceParent, ChildTraceParent(traceparent))
	return msg, nil
}

// ErrWrongType means a message holds another event type than the one asked for.
var ErrWrongType = errors.New("wrong event type")

// Decode reads a message into v, checking its CloudEvents type when the
// message has one.
func Decode(h nats.Header, data []byte, v Event) (Meta, error) {
	m := ReadMeta(h)
	if m.Type != "" && m.Type != v.EventType() {
		return m, fmt.Errorf("decode: got %q, want %q: %w", m.Type, v.EventType(), ErrWrongType)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return m, fmt.Errorf("decode %s: %w", v.EventType(), err)
	}
	return m, nil
}

// ReadMeta reads the envelope headers of a message.
func ReadMeta(h nats.Header) Meta {
	m := Meta{
		ID:          h.Get(HeaderID),
		Source:      h.Get(HeaderSource),
		Type:        h.Get(HeaderType),
		CaseID:      h.Get(HeaderSubject),
		TraceParent: h.Get(HeaderTraceParent),
	}
	if t, err := time.Parse(time.RFC3339Nano, h.Get(HeaderTime)); err == nil {
		m.Time = t
	}
	return m
}

// ChildTraceParent returns a W3C traceparent for a new span: in the trace of
// parent when parent is valid (with its flags), else in a new trace that is
// not sampled. Handoff propagates trace context and records no traces
// itself; a sampled flag would also make the NATS server parse every
// message's headers for its own message tracing.
func ChildTraceParent(parent string) string {
	// Trace and span IDs need to be unique, not secret: a fast generator
	// (no system call per event).
	var span [8]byte
	binary.LittleEndian.PutUint64(span[:], rand.Uint64()|1)
	trace, flags := "", "00"
	if p := strings.Split(parent, "-"); len(p) == 4 && len(p[1]) == 32 && len(p[2]) == 16 && len(p[3]) == 2 && isHex(p[1]) {
		trace, flags = p[1], p[3]
	} else {
		var t [16]byte
		binary.LittleEndian.PutUint64(t[:8], rand.Uint64()|1)
		binary.LittleEndian.PutUint64(t[8:], rand.Uint64())
		trace = hex.EncodeToString(t[:])
	}
	return "00-" + trace + "-" + hex.EncodeToString(span[:]) + "-" + flags
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && strings.Trim(s, "0") != ""
}

// cleanETag strips quotes and anything not safe in a message ID.
func cleanETag(etag string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return -1
	}, etag)
}

func itoa(i int) string    { return strconv.Itoa(i) }
func utoa(u uint64) string { return strconv.FormatUint(u, 10) }
