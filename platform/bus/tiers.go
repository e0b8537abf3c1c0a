package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// tierPoll is how long an idle handler waits on the first tier before it
// looks at every tier again.
const tierPoll = 250 * time.Millisecond

// ConsumeTiers is Consume over several durable consumers whose messages
// share one set of handlers (tiers[0].Workers of them): a free handler
// takes the next message of the first tier that has one, so the messages
// of an earlier tier go ahead of those of later tiers. A handler takes a
// message only when it is free (as with NoPrefetch). Each message is
// settled by the rules of its own tier's spec (MaxDeliver, Backoff,
// dead-letter subject).
func (b *Bus) ConsumeTiers(ctx context.Context, tiers []ConsumerSpec, h Handler) error {
	if len(tiers) == 0 {
		return errors.New("consume tiers: no consumer")
	}
	for i := range tiers {
		tiers[i].defaults()
	}
	workers := tiers[0].Workers
	log := b.log.With("consumer", tiers[0].Durable)
	for _, spec := range tiers {
		b.metrics.watch(b, spec)
		unwatch, err := b.WatchMaxDeliveries(spec)
		if err != nil {
			return err
		}
		defer unwatch()
	}
	hctx, hcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hcancel()
	type item struct {
		raw  jetstream.Msg
		tier int
	}
	slots := make(chan struct{}, workers)
	work := make(chan item)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for it := range work {
				b.dispatch(hctx, log, tiers[it.tier], it.raw, h)
				<-slots
			}
		})
	}
	defer func() {
		close(work)
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(tiers[0].DrainTimeout):
			log.Warn("drain timeout: cancelling in-flight handlers")
			hcancel()
			<-done
		}
	}()
	cons := make([]jetstream.Consumer, len(tiers))
	for first := true; ctx.Err() == nil; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
		}
		var err error
		for i, spec := range tiers {
			if cons[i], err = b.EnsureConsumer(ctx, spec); err != nil {
				break
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if first {
				return err
			}
			log.Warn("set up consumers again", "err", err)
			continue
		}
		// Take a slot, then the first message of the first tier that has
		// one; with none anywhere, wait a little on the first tier.
		for failures := 0; ctx.Err() == nil && failures <= 10; {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			raw, tier, err := nextOfTiers(ctx, cons)
			switch {
			case raw != nil:
				failures = 0
				work <- item{raw, tier}
			case err != nil:
				<-slots
				if ctx.Err() == nil {
					failures++
					log.Warn("fetch", "err", err)
					select {
					case <-ctx.Done():
					case <-time.After(100 * time.Millisecond):
					}
				}
			default:
				<-slots
				failures = 0
			}
		}
	}
	return nil
}

// nextOfTiers fetches one message: the first tier's, else the next
// tier's, and so on; with none, it waits up to tierPoll for one of the
// first tier. A nil message means none came.
func nextOfTiers(ctx context.Context, cons []jetstream.Consumer) (jetstream.Msg, int, error) {
	for i, c := range cons {
		batch, err := c.FetchNoWait(1)
		if err != nil {
			return nil, 0, fmt.Errorf("fetch: %w", err)
		}
		if m, err := one(batch); m != nil || err != nil {
			return m, i, err
		}
	}
	wait := tierPoll
	if d, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(d))
	}
	if wait <= time.Millisecond {
		return nil, 0, nil
	}
	batch, err := cons[0].Fetch(1, jetstream.FetchMaxWait(wait))
	if err != nil {
		return nil, 0, fmt.Errorf("fetch: %w", err)
	}
	m, err := one(batch)
	return m, 0, err
}

// one reads the (at most one) message of a batch.
func one(batch jetstream.MessageBatch) (jetstream.Msg, error) {
	var got jetstream.Msg
	for m := range batch.Messages() {
		got = m
	}
	if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
		return got, err
	}
	return got, nil
}
