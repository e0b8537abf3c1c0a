package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/platform/event"
)

// eraseMessages deletes a case's messages from streams whose subjects are
// not per case: the messages whose CloudEvents subject is the case, or whose
// payload names one of its object keys (bucket notifications, file events).
// It reads each stream once with an ordered consumer, within the context's
// deadline, and returns how many messages it deleted.
func eraseMessages(ctx context.Context, js jetstream.JetStream, caseID string, streams ...string) (int, error) {
	needles := [][]byte{[]byte("cases/" + caseID + "/"), []byte("cases%2F" + caseID + "%2F")}
	n := 0
	for _, name := range streams {
		st, err := js.Stream(ctx, name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("stream %s: %w", name, err)
		}
		info, err := st.Info(ctx)
		if err != nil {
			return n, fmt.Errorf("stream %s: %w", name, err)
		}
		if info.State.Msgs == 0 {
			continue
		}
		last := info.State.LastSeq
		cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
		if err != nil {
			return n, fmt.Errorf("read %s: %w", name, err)
		}
		for done := false; !done; {
			batch, err := cons.Fetch(512, jetstream.FetchMaxWait(2*time.Second))
			if err != nil {
				return n, fmt.Errorf("read %s: %w", name, err)
			}
			got := 0
			for m := range batch.Messages() {
				got++
				md, err := m.Metadata()
				if err != nil {
					continue
				}
				if m.Headers().Get(event.HeaderSubject) == caseID || containsAny(m.Data(), needles) {
					if err := st.DeleteMsg(ctx, md.Sequence.Stream); err == nil {
						n++
					}
				}
				if md.Sequence.Stream >= last {
					done = true
				}
			}
			if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
				return n, fmt.Errorf("read %s: %w", name, err)
			}
			if got == 0 {
				done = true
			}
			if ctx.Err() != nil {
				return n, ctx.Err()
			}
		}
	}
	return n, nil
}

func containsAny(b []byte, needles [][]byte) bool {
	for _, n := range needles {
		if bytes.Contains(b, n) {
			return true
		}
	}
	return false
}
