// Package bus is the pipeline's JetStream adapter: the streams every service
// shares, publishing events with their envelope, and the consumer loop that
// acks, retries, heartbeats long work and dead-letters poison messages.
package bus

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/platform/event"
)

// Bus publishes events and runs consumers on one NATS connection.
type Bus struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	source  string
	log     *slog.Logger
	metrics *Metrics
}

// Options tunes a Bus. The zero value is the default.
type Options struct {
	// Metrics receives per-consumer counters; nil records nothing.
	Metrics *Metrics
}

// New returns a Bus on nc. source names the service in the CloudEvents
// "source" attribute ("/handoff/intake").
func New(nc *nats.Conn, source string, log *slog.Logger, opts Options) (*Bus, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Bus{nc: nc, js: js, source: source, log: log, metrics: opts.Metrics}, nil
}

// Conn is the NATS connection.
func (b *Bus) Conn() *nats.Conn { return b.nc }

// JetStream is the JetStream context, for what the Bus does not wrap.
func (b *Bus) JetStream() jetstream.JetStream { return b.js }

// publishTimeout bounds a publish when the caller's context has no deadline.
const publishTimeout = 10 * time.Second

// Publish publishes ev and waits until JetStream has stored it. The trace
// context of ctx (see WithTraceParent) is carried in the message.
func (b *Bus) Publish(ctx context.Context, ev event.Event) error {
	msg, err := event.Encode(ev, b.source, TraceParent(ctx))
	if err != nil {
		return err
	}
	return b.PublishMsg(ctx, msg)
}

// retryNoResponders retries a publish while no server answers: a stream
// can be briefly unavailable (a server restarting, a leader election).
var retryNoResponders = []jetstream.PublishOpt{jetstream.WithRetryAttempts(50), jetstream.WithRetryWait(100 * time.Millisecond)}

// withPublishTimeout bounds ctx by publishTimeout when it has no deadline.
func withPublishTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, publishTimeout)
}

// PublishAsync starts publishing events at once and returns a function
// that waits until JetStream has stored every one (or the first error):
// their round trips overlap instead of adding up, and the caller can do
// other work meanwhile. The wait function must be called.
func (b *Bus) PublishAsync(ctx context.Context, evs ...event.Event) (wait func() error) {
	futs := make([]jetstream.PubAckFuture, 0, len(evs))
	var err error
	for _, ev := range evs {
		var msg *nats.Msg
		if msg, err = event.Encode(ev, b.source, TraceParent(ctx)); err != nil {
			break
		}
		var f jetstream.PubAckFuture
		if f, err = b.js.PublishMsgAsync(msg, retryNoResponders...); err != nil {
			err = fmt.Errorf("publish %s: %w", msg.Subject, err)
			break
		}
		futs = append(futs, f)
	}
	return func() error {
		if len(futs) == 0 {
			return err
		}
		wctx, cancel := withPublishTimeout(ctx)
		defer cancel()
		// After a failed publish the others are still waited for (up to
		// the deadline): none is left in flight when the caller retries.
		for _, f := range futs {
			select {
			case <-f.Ok():
			case ferr := <-f.Err():
				err = cmp.Or(err, fmt.Errorf("publish %s: %w", f.Msg().Subject, ferr))
			case <-wctx.Done():
				return cmp.Or(err, fmt.Errorf("publish %s: %w", f.Msg().Subject, wctx.Err()))
			}
		}
		return err
	}
}

// PublishMsg publishes a prepared message and waits for its ack.
func (b *Bus) PublishMsg(ctx context.Context, msg *nats.Msg) error {
	ctx, cancel := withPublishTimeout(ctx)
	defer cancel()
	_, err := b.js.PublishMsg(ctx, msg, retryNoResponders...)
	if err != nil {
		return fmt.Errorf("publish %s: %w", msg.Subject, err)
	}
	return nil
}

// ConnectOptions says how to reach an external NATS.
type ConnectOptions struct {
	URL string
	// Name is the client name servers show in monitoring.
	Name string
	// Creds is a .creds file (JWT + NKey seed) for per-service credentials.
	Creds string
	// User and Password authenticate with a password.
	User, Password string
	// NKeySeedFile authenticates with the nkey whose seed the file holds
	// (platform/natsauth: one per service role).
	NKeySeedFile string
	// InboxPrefix replaces "_INBOX" in the connection's reply subjects, so
	// that its permissions can allow only its own replies.
	InboxPrefix string
	// TLS, when set, is the client TLS configuration.
	TLS *tls.Config
	// InProcess connects to an embedded server without a socket.
	InProcess nats.InProcessConnProvider
}

// Connect dials NATS and keeps reconnecting forever: a worker outlives NATS
// restarts instead of exiting.
func Connect(ctx context.Context, o ConnectOptions, log *slog.Logger) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("nats reconnected", "url", nc.ConnectedUrlRedacted()) }),
	}
	if o.Creds != "" {
		opts = append(opts, nats.UserCredentials(o.Creds))
	}
	if o.User != "" {
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	}
	if o.NKeySeedFile != "" {
		opt, err := nats.NkeyOptionFromSeed(o.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("connect nats: %w", err)
		}
		opts = append(opts, opt)
	}
	if o.InboxPrefix != "" {
		opts = append(opts, nats.CustomInboxPrefix(o.InboxPrefix))
	}
	// A permission violation arrives asynchronously: say so, or a request
	// would only time out.
	opts = append(opts, nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
		if sub != nil {
			log.Error("nats", "subject", sub.Subject, "err", err)
			return
		}
		log.Error("nats", "err", err)
	}))
	if o.TLS != nil {
		opts = append(opts, nats.Secure(o.TLS))
	}
	if o.InProcess != nil {
		opts = append(opts, nats.InProcessServer(o.InProcess))
	}
	deadline := time.Now().Add(30 * time.Second)
	if d, ok := ctx.Deadline(); ok {
		deadline = d
	}
	// Retry the first connect for a while: in a deployment NATS may start after us.
	for {
		nc, err := nats.Connect(o.URL, opts...)
		if err == nil {
			return nc, nil
		}
		if time.Now().After(deadline) || errors.Is(err, nats.ErrAuthorization) {
			return nil, fmt.Errorf("connect nats: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connect nats: %w", ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

type traceKey struct{}

// WithTraceParent returns a context that carries a W3C traceparent; events
// published with it continue that trace.
func WithTraceParent(ctx context.Context, tp string) context.Context {
	if tp == "" {
		return ctx
	}
	return context.WithValue(ctx, traceKey{}, tp)
}

// TraceParent returns the traceparent carried by ctx, or "".
func TraceParent(ctx context.Context) string {
	tp, _ := ctx.Value(traceKey{}).(string)
	return tp
}
