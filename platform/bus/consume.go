package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/record"
)

// ErrPermanent marks an error that no retry can fix (bad input, a message
// that does not decode). The message is terminated and dead-lettered.
var ErrPermanent = errors.New("permanent")

// Permanent wraps err so that the consumer loop dead-letters the message
// instead of retrying it.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrPermanent, err)
}

// ErrLater marks a normal wait, not a failure: a bundle's quiet period
// that has not passed, files of a case still being processed, a file
// record not written yet. The message is handled again after the
// consumer's backoff, as a retried one is, and counts as
// handoff_messages_handled_total{result="wait"}, never in
// handoff_failures_total. A wait that outlasts MaxDeliver is dead-lettered
// and counted as a failure then.
var ErrLater = errors.New("not yet")

// Later wraps err so that the consumer loop handles the message again
// later without counting a failure.
func Later(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrLater, err)
}

// ConsumerSpec describes a durable pull consumer and how to run it.
type ConsumerSpec struct {
	Stream  string
	Durable string
	// Filters are the subjects the consumer takes from the stream.
	Filters []string
	// AckWait is how long a delivery may go without an ack or a progress
	// heartbeat before JetStream redelivers it (default 30s). The loop sends
	// heartbeats every AckWait/3 while the handler runs.
	AckWait time.Duration
	// MaxDeliver caps deliveries (default 5); the last failed delivery is
	// dead-lettered.
	MaxDeliver int
	// Workers is how many messages are handled at once (default 1).
	Workers int
	// Backoff is the delay before the n-th retry (default 1s, 5s, 15s, 30s, 60s).
	Backoff []time.Duration
	// DrainTimeout bounds how long in-flight handlers may run after the
	// context is cancelled (default 30s); then their context is cancelled too.
	DrainTimeout time.Duration
	// DeliverNew starts a new consumer at new messages instead of the
	// stream's first (for reactions to events, not for work queues).
	DeliverNew bool
	// NoPrefetch asks the server for a message only when a handler is free,
	// one at a time, instead of batches of up to Workers that may wait in
	// this process while its handlers are busy. For long work items shared
	// by several processes: every idle worker of any process gets the next
	// item, and the queue's order (its fairness) is kept.
	NoPrefetch bool
}

func (s *ConsumerSpec) defaults() {
	if s.AckWait == 0 {
		s.AckWait = 30 * time.Second
	}
	if s.MaxDeliver == 0 {
		s.MaxDeliver = 5
	}
	if s.Workers == 0 {
		s.Workers = 1
	}
	if len(s.Backoff) == 0 {
		s.Backoff = []time.Duration{time.Second, 5 * time.Second, 15 * time.Second, 30 * time.Second, time.Minute}
	}
	if s.DrainTimeout == 0 {
		s.DrainTimeout = 30 * time.Second
	}
}

// Msg is a delivered message as a handler sees it.
type Msg struct {
	Subject   string
	Data      []byte
	Header    nats.Header
	Meta      event.Meta
	Delivered uint64 // 1 on the first delivery
	StreamSeq uint64
	raw       jetstream.Msg
}

// Decode reads the message into v. A message that does not decode is a
// permanent error.
func (m *Msg) Decode(v event.Event) error {
	if _, err := event.Decode(m.Header, m.Data, v); err != nil {
		return Permanent(err)
	}
	return nil
}

// Progress tells JetStream the message is still being worked on. The loop
// already does this every AckWait/3; call it for finer control.
func (m *Msg) Progress() error { return m.raw.InProgress() }

// Handler handles one message. Returning nil acks it; an ErrPermanent error
// terminates and dead-letters it; an ErrLater error (a normal wait) or any
// other error retries it with backoff until MaxDeliver, then dead-letters it. Handlers must be idempotent:
// JetStream delivers at least once.
type Handler func(ctx context.Context, m *Msg) error

// EnsureConsumer creates or updates a durable consumer for spec.
func (b *Bus) EnsureConsumer(ctx context.Context, spec ConsumerSpec) (jetstream.Consumer, error) {
	spec.defaults()
	cfg := jetstream.ConsumerConfig{
		Durable:   spec.Durable,
		AckPolicy: jetstream.AckExplicitPolicy,
		AckWait:   spec.AckWait,
		// One more delivery than the handler is allowed: the loop dead-letters
		// on the last one itself; the server's own limit only matters when
		// the worker died on every delivery (see WatchMaxDeliveries).
		MaxDeliver:     spec.MaxDeliver + 1,
		MaxAckPending:  max(1000, spec.Workers*4),
		FilterSubjects: spec.Filters,
	}
	if spec.DeliverNew {
		cfg.DeliverPolicy = jetstream.DeliverNewPolicy
	}
	c, err := b.js.CreateOrUpdateConsumer(ctx, spec.Stream, cfg)
	if err != nil {
		return nil, fmt.Errorf("consumer %s/%s: %w", spec.Stream, spec.Durable, err)
	}
	return c, nil
}

// Consume runs h on the messages of a durable consumer until ctx is done,
// then stops taking messages, lets in-flight handlers finish (up to
// spec.DrainTimeout) and returns. A consumer that goes away underneath
// (deleted, its stream recreated) is set up again.
func (b *Bus) Consume(ctx context.Context, spec ConsumerSpec, h Handler) error {
	spec.defaults()
	log := b.log.With("consumer", spec.Durable)
	b.metrics.watch(b, spec)
	unwatch, err := b.WatchMaxDeliveries(spec)
	if err != nil {
		return err
	}
	defer unwatch()
	// Handlers outlive ctx by up to DrainTimeout so that shutdown finishes work.
	hctx, hcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hcancel()
	// A slot is taken before a message is fetched, so no message waits
	// for a handler while its ack wait runs; the same Workers goroutines
	// handle every message.
	slots := make(chan struct{}, spec.Workers)
	work := make(chan jetstream.Msg)
	// quit ends the workers; work is never closed: JetStream's callback may
	// still be handing over a message.
	quit := make(chan struct{})
	var wg sync.WaitGroup
	for range spec.Workers {
		wg.Go(func() {
			for {
				select {
				case raw := <-work:
					b.dispatch(hctx, log, spec, raw, h)
					<-slots
				case <-quit:
					return
				}
			}
		})
	}
	defer func() {
		close(quit)
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(spec.DrainTimeout):
			log.Warn("drain timeout: cancelling in-flight handlers")
			hcancel()
			<-done
		}
	}()
	for first := true; ctx.Err() == nil; first = false {
		if !first {
			select { // a consumer that keeps failing is not set up in a busy loop
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
		}
		cons, err := b.EnsureConsumer(ctx, spec)
		if err != nil {
			if ctx.Err() != nil {
				return nil // stopped before it started
			}
			if first {
				return err
			}
			log.Warn("set up consumer again", "err", err)
			continue
		}
		pump := b.pump
		if spec.NoPrefetch {
			pump = b.pumpFetch
		}
		if err := pump(ctx, log, cons, spec, slots, work, quit); err != nil {
			log.Warn("consume", "err", err)
		}
	}
	return nil
}

// maxFetchFailures is how many missed heartbeats in a row (about 5 s
// each) make the loop set its consumer up again: the consumer may have
// been deleted or its stream recreated (a cluster that lost a replica
// set), which pulling alone would not notice. A consumer whose leader
// moved answers the next pull without that.
const maxFetchFailures = 3

// pump hands the consumer's messages to the handlers, as many at once as
// there are slots, until ctx is done, the consumer is lost or its server
// stops answering.
//
// It uses JetStream's callback consumer, whose subscription queues what
// arrives: after a reconnect the pull left on the previous server may still
// deliver beside the new one, which would overflow the fixed buffer of a
// message iterator and drop messages until their ack wait ran out. The
// callback blocks until a handler slot is free, so a message is taken only
// when a handler can start on it.
func (b *Bus) pump(ctx context.Context, log *slog.Logger, cons jetstream.Consumer, spec ConsumerSpec, slots chan struct{}, work chan<- jetstream.Msg, quit <-chan struct{}) error {
	lost := make(chan error, 1)
	signal := func(err error) {
		select {
		case lost <- err:
		default:
		}
	}
	var missed atomic.Int32
	cc, err := cons.Consume(func(raw jetstream.Msg) {
		missed.Store(0)
		if ctx.Err() == nil {
			select {
			case slots <- struct{}{}:
				select {
				case work <- raw: // a handler is free or about to be: a slot was free
					return
				case <-quit:
					<-slots
				}
			case <-ctx.Done():
			}
		}
		_ = raw.Nak() // stopping: another worker takes it now
	}, jetstream.PullMaxMessages(spec.Workers), jetstream.PullExpiry(5*time.Second),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			switch {
			case errors.Is(err, jetstream.ErrConsumerDeleted), errors.Is(err, jetstream.ErrConsumerNotFound),
				errors.Is(err, jetstream.ErrBadRequest):
				signal(fmt.Errorf("consumer lost: %w", err))
			case errors.Is(err, jetstream.ErrNoHeartbeat):
				if missed.Add(1) >= maxFetchFailures {
					signal(fmt.Errorf("consumer not answering: %w", err))
				}
			default:
				log.Info("fetch", "err", err)
			}
		}))
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		// Messages already delivered to this process are given back.
		cc.Drain()
		select {
		case <-cc.Closed():
		case <-time.After(5 * time.Second):
			cc.Stop()
		}
		return nil
	case err := <-lost:
		cc.Stop()
		return err
	}
}

// pumpFetch is pump for a NoPrefetch consumer: it asks the server for one
// message only once a handler is free, so a busy process holds no message
// that an idle handler of another process could take.
func (b *Bus) pumpFetch(ctx context.Context, log *slog.Logger, cons jetstream.Consumer, _ ConsumerSpec, slots chan struct{}, work chan<- jetstream.Msg, quit <-chan struct{}) error {
	failures := 0
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		// The fetch waits up to 5 s for a message, and no longer than ctx:
		// a stopping worker does not sit out the wait.
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		batch, err := cons.Fetch(1, jetstream.FetchContext(fctx))
		got := false
		if err == nil {
			for raw := range batch.Messages() {
				got = true
				select {
				case work <- raw:
				case <-quit:
					_ = raw.Nak()
					<-slots
					cancel()
					return nil
				}
			}
			err = batch.Error()
		}
		cancel()
		if !got {
			<-slots
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil, errors.Is(err, jetstream.ErrNoMessages), errors.Is(err, nats.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
			failures = 0
		case errors.Is(err, jetstream.ErrConsumerDeleted), errors.Is(err, jetstream.ErrConsumerNotFound):
			return fmt.Errorf("consumer lost: %w", err)
		default:
			if failures++; failures >= maxFetchFailures {
				return fmt.Errorf("consumer not answering: %w", err)
			}
			log.Info("fetch", "err", err)
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
				return nil
			}
		}
	}
}

// dispatch runs one handler with heartbeats and settles the message.
func (b *Bus) dispatch(ctx context.Context, log *slog.Logger, spec ConsumerSpec, raw jetstream.Msg, h Handler) {
	md, err := raw.Metadata()
	if err != nil {
		log.Error("message metadata", "err", err)
		_ = raw.Term()
		return
	}
	m := &Msg{
		Subject:   raw.Subject(),
		Data:      raw.Data(),
		Header:    raw.Headers(),
		Meta:      event.ReadMeta(raw.Headers()),
		Delivered: md.NumDelivered,
		StreamSeq: md.Sequence.Stream,
		raw:       raw,
	}
	hctx := WithTraceParent(ctx, m.Meta.TraceParent)

	// Heartbeat while the handler runs so long work is not redelivered; a
	// quick handler never starts a timer goroutine.
	var mu sync.Mutex
	finished := false
	var beat *time.Timer
	mu.Lock()
	beat = time.AfterFunc(spec.AckWait/3, func() {
		mu.Lock()
		defer mu.Unlock()
		if finished {
			return
		}
		_ = raw.InProgress()
		beat.Reset(spec.AckWait / 3)
	})
	mu.Unlock()
	start := time.Now()
	herr := runHandler(hctx, h, m)
	mu.Lock()
	finished = true
	beat.Stop()
	mu.Unlock()
	final := errors.Is(herr, ErrPermanent) || m.Delivered >= uint64(spec.MaxDeliver)
	b.metrics.observe(spec.Durable, time.Since(start), herr, final)
	if herr != nil {
		log = log.With("seq", m.StreamSeq, "delivered", m.Delivered)
		if m.Meta.CaseID != "" {
			log = log.With("case_id", m.Meta.CaseID)
		}
	}

	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	switch {
	case herr == nil:
		if err := raw.Ack(); err != nil {
			log.Warn("ack", "err", err)
		}
	case final:
		log.Warn("dead-lettering message", "err", herr)
		if err := b.deadLetter(actx, spec, m, herr); err != nil {
			// Leave it unacked: it is redelivered and dead-lettered again.
			log.Error("dead-letter", "err", err)
			_ = raw.NakWithDelay(spec.Backoff[0])
			return
		}
		if err := raw.TermWithReason("dead-lettered"); err != nil {
			log.Warn("term", "err", err)
		}
	default:
		delay := spec.Backoff[min(int(m.Delivered)-1, len(spec.Backoff)-1)]
		if errors.Is(herr, ErrLater) {
			log.Debug("waiting", "reason", herr, "delay", delay)
		} else {
			log.Info("retrying message", "err", herr, "delay", delay)
		}
		if err := raw.NakWithDelay(delay); err != nil {
			log.Warn("nak", "err", err)
		}
	}
}

// runHandler calls h, turning a panic into a permanent error: one bad input
// must not take the worker down.
func runHandler(ctx context.Context, h Handler, m *Msg) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = Permanent(fmt.Errorf("handler panic (%T) at %s", r, panicSite(debug.Stack())))
		}
	}()
	return h(ctx, m)
}

// panicSite picks the first frame of a stack outside the runtime, without
// the panic value (which may hold data).
func panicSite(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	for i := 0; i+1 < len(lines); i++ {
		l := lines[i]
		if l == "" || l[0] == '\t' || strings.HasPrefix(l, "goroutine ") || strings.HasPrefix(l, "panic(") ||
			strings.HasPrefix(l, "runtime") || strings.Contains(l, "platform/bus.") {
			continue
		}
		return l + " " + strings.TrimSpace(lines[i+1])
	}
	return "unknown"
}

func (b *Bus) deadLetter(ctx context.Context, spec ConsumerSpec, m *Msg, cause error) error {
	dl := event.DeadLetter{
		Version:     1,
		Stream:      spec.Stream,
		Consumer:    spec.Durable,
		OrigSubject: m.Subject,
		StreamSeq:   m.StreamSeq,
		Deliveries:  m.Delivered,
		Error:       cause.Error(),
		Data:        m.Data,
		CaseID:      m.Meta.CaseID,
		Headers:     flatten(m.Header),
	}
	var re *record.Error
	if errors.As(cause, &re) {
		dl.Error = re.Error()
	}
	return b.publishDeadLetter(ctx, dl)
}

// publishDeadLetter stores a dead letter and counts it, unless JetStream
// already had it (another process watching the same consumer's
// max-deliveries advisory stored it first).
func (b *Bus) publishDeadLetter(ctx context.Context, dl event.DeadLetter) error {
	msg, err := event.Encode(dl, b.source, TraceParent(ctx))
	if err != nil {
		return err
	}
	ack, err := b.publish(ctx, msg)
	if err != nil {
		return err
	}
	if !ack.Duplicate {
		b.metrics.deadLettered(dl.Consumer)
	}
	return nil
}

func flatten(h nats.Header) map[string]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for k := range h {
		out[k] = h.Get(k)
	}
	return out
}
