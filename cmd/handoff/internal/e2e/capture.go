package e2e

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"
)

// Capture records every message sent on the pipeline's NATS, headers
// included: events, work items, dead letters, bucket notifications,
// JetStream's own API requests and advisories. Left out are the case
// store's writes ($KV.handoff-cases.>: the case record holds the patient
// fields, by design) and replies to a client's own requests (_INBOX.>: the
// case store's reads, and the deliveries of stream messages that were
// captured when they were published).
type Capture struct {
	nc  *nats.Conn
	mu  sync.Mutex
	buf bytes.Buffer
}

// CaptureMessages subscribes to every subject of the pipeline's NATS (with
// the administrator's key) until the test ends.
func (p *Pipeline) CaptureMessages(t testing.TB) *Capture {
	t.Helper()
	nc, err := p.Conn(t, "admin")
	if err != nil {
		t.Fatal(err)
	}
	c := &Capture{nc: nc}
	if _, err := nc.Subscribe(">", func(m *nats.Msg) {
		if strings.HasPrefix(m.Subject, "$KV.handoff-cases.") || strings.HasPrefix(m.Subject, "_INBOX.") {
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.buf.WriteString(m.Subject + " ")
		for k, vs := range m.Header {
			c.buf.WriteString(k + ":" + strings.Join(vs, ",") + " ")
		}
		c.buf.Write(m.Data)
		c.buf.WriteByte('\n')
	}); err != nil {
		t.Fatal(err)
	}
	return c
}

// String is everything captured so far (after a round trip to the server,
// so that what was published before the call is in).
func (c *Capture) String() string {
	_ = c.nc.Flush()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}
