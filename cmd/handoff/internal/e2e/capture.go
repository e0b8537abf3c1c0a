package e2e

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"
)

// Capture records every message on the pipeline's subjects (events, work
// items, dead letters, bucket notifications), headers included. The case
// store's KV bucket is not a message between services and is left out: it
// holds the case record itself, patient fields included, by design.
type Capture struct {
	nc  *nats.Conn
	mu  sync.Mutex
	buf bytes.Buffer
}

// CaptureMessages subscribes to handoff.> on the pipeline's NATS until the
// test ends.
func (p *Pipeline) CaptureMessages(t testing.TB) *Capture {
	t.Helper()
	nc, err := p.Conn(t, "admin")
	if err != nil {
		t.Fatal(err)
	}
	c := &Capture{nc: nc}
	if _, err := nc.Subscribe("handoff.>", func(m *nats.Msg) {
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
