package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/platform/event"
)

// maxDeliveriesAdvisory is what JetStream publishes when it gives up on a
// message because no delivery was acked (the worker died or hung each time).
type maxDeliveriesAdvisory struct {
	Stream     string `json:"stream"`
	Consumer   string `json:"consumer"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries uint64 `json:"deliveries"`
}

// WatchMaxDeliveries dead-letters messages the server gave up on, so that a
// message that crashes its worker every time still ends in DEADLETTER rather
// than vanishing. Consume runs it for its consumer. Returns a function that
// stops the watch.
func (b *Bus) WatchMaxDeliveries(spec ConsumerSpec) (func(), error) {
	log := b.log.With("consumer", spec.Durable)
	subj := fmt.Sprintf("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.%s.%s", spec.Stream, spec.Durable)
	sub, err := b.nc.Subscribe(subj, func(m *nats.Msg) {
		var adv maxDeliveriesAdvisory
		if err := json.Unmarshal(m.Data, &adv); err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
		defer cancel()
		if err := b.deadLetterBySeq(ctx, spec, adv); err != nil {
			log.Error("dead-letter after max deliveries", "seq", adv.StreamSeq, "err", err)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("watch max deliveries: %w", err)
	}
	return func() { _ = sub.Unsubscribe() }, nil
}

func (b *Bus) deadLetterBySeq(ctx context.Context, spec ConsumerSpec, adv maxDeliveriesAdvisory) error {
	st, err := b.js.Stream(ctx, spec.Stream)
	if err != nil {
		return err
	}
	raw, err := st.GetMsg(ctx, adv.StreamSeq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil // already settled
	}
	if err != nil {
		return err
	}
	dl := event.DeadLetter{
		Version:     1,
		Stream:      spec.Stream,
		Consumer:    spec.Durable,
		OrigSubject: raw.Subject,
		StreamSeq:   adv.StreamSeq,
		Deliveries:  adv.Deliveries,
		Error:       fmt.Sprintf("no ack after %d deliveries: the worker died or timed out each time", adv.Deliveries),
		Data:        raw.Data,
		CaseID:      raw.Header.Get(event.HeaderSubject),
		Headers:     flatten(raw.Header),
	}
	if err := b.publishDeadLetter(ctx, dl); err != nil {
		return err
	}
	if st.CachedInfo().Config.Retention == jetstream.WorkQueuePolicy {
		if err := st.DeleteMsg(ctx, adv.StreamSeq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return err
		}
	}
	return nil
}
