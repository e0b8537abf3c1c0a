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
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
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

// publishTimeout bounds a publish when the caller's context has no
// deadline: long enough to outlast the election of a stream's leader.
const publishTimeout = 30 * time.Second

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
var retryNoResponders = []jetstream.PublishOpt{jetstream.WithRetryAttempts(20), jetstream.WithRetryWait(100 * time.Millisecond)}

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
// other work meanwhile. The wait function must be called. A message not
// acknowledged within a few seconds, or refused for a transient reason, is
// published again as PublishMsg does.
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
			timer := time.NewTimer(attemptTimeout)
			select {
			case <-f.Ok():
				timer.Stop()
				continue
			case ferr := <-f.Err():
				timer.Stop()
				if !Transient(ferr) {
					err = cmp.Or(err, fmt.Errorf("publish %s: %w", f.Msg().Subject, ferr))
					continue
				}
			case <-timer.C: // no answer yet: the server that had it may be gone
			case <-wctx.Done():
				timer.Stop()
				return cmp.Or(err, fmt.Errorf("publish %s: %w", f.Msg().Subject, wctx.Err()))
			}
			if _, perr := b.publish(wctx, f.Msg()); perr != nil {
				err = cmp.Or(err, perr)
			}
		}
		return err
	}
}

// PublishMsg publishes a prepared message and waits until JetStream has
// stored it. A publish no server answers in time, or that the cluster
// refuses while it elects a leader, is sent again with the same message
// ID — the stream keeps one copy — until ctx's deadline (30 s when it has
// none). A message without an ID is sent again only when no server
// received it.
func (b *Bus) PublishMsg(ctx context.Context, msg *nats.Msg) error {
	_, err := b.publish(ctx, msg)
	return err
}

func (b *Bus) publish(ctx context.Context, msg *nats.Msg) (*jetstream.PubAck, error) {
	ctx, cancel := withPublishTimeout(ctx)
	defer cancel()
	again := Transient
	if msg.Header.Get(nats.MsgIdHdr) == "" {
		// Stored or not after a timeout: do not risk a second copy.
		again = func(err error) bool { return errors.Is(err, jetstream.ErrNoStreamResponse) }
	}
	var ack *jetstream.PubAck
	err := retryIf(ctx, again, func(ctx context.Context) error {
		var err error
		ack, err = b.js.PublishMsg(ctx, msg, retryNoResponders...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("publish %s: %w", msg.Subject, err)
	}
	return ack, nil
}

// ConnectOptions says how to reach an external NATS.
type ConnectOptions struct {
	// URL is one server's URL or several, comma-separated
	// ("nats://n1:4222,nats://n2:4222,nats://n3:4222"): the seeds of a
	// cluster. The client learns the other servers from the one it reaches
	// and fails over to any of them.
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

// How a connection rides out a server going away.
const (
	// reconnectBufSize is what a client keeps of its publishes while it is
	// reconnecting (nats.go's default is 8 MiB, one dead letter's worth).
	reconnectBufSize = 32 << 20
	// pingInterval and maxPingsOut find a server that died without closing
	// the socket (a node lost, not a process killed) within about 30 s
	// instead of nats.go's 4 minutes.
	pingInterval = 10 * time.Second
	maxPingsOut  = 3
	// connectWait bounds the first connection when ctx has no deadline: in
	// a deployment NATS may start after us.
	connectWait = 30 * time.Second
)

// reconnectDelay is the pause after every server of the pool was tried
// and none answered: 250 ms doubling to 5 s, with up to a quarter more at
// random so that a fleet of workers does not reconnect in lockstep.
func reconnectDelay(attempts int) time.Duration {
	d := 250 * time.Millisecond << min(max(attempts-1, 0), 5)
	d = min(d, 5*time.Second)
	return d + rand.N(d/4+1)
}

// connectOptions are every service's NATS client options, in one place:
// reconnect forever with backoff, keep publishes made while reconnecting,
// retry the first connection too, find a dead server by its missed pings,
// and log every change of the connection. Connect adds the handler of
// failed attempts.
func connectOptions(o ConnectOptions, log *slog.Logger) ([]nats.Option, error) {
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(reconnectDelay),
		nats.ReconnectBufSize(reconnectBufSize),
		nats.RetryOnFailedConnect(true),
		nats.PingInterval(pingInterval),
		nats.MaxPingsOutstanding(maxPingsOut),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("nats reconnected", "url", nc.ConnectedUrlRedacted()) }),
		nats.ClosedHandler(func(*nats.Conn) { log.Debug("nats connection closed") }),
		// A permission violation arrives asynchronously: say so, or a
		// request would only time out.
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if sub != nil {
				log.Error("nats error", "subject", sub.Subject, "err", err)
				return
			}
			log.Error("nats error", "err", err)
		}),
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
	if o.TLS != nil {
		opts = append(opts, nats.Secure(o.TLS))
	}
	if o.InProcess != nil {
		opts = append(opts, nats.InProcessServer(o.InProcess))
	}
	return opts, nil
}

// Connect dials NATS and keeps reconnecting forever: a worker outlives NATS
// restarts and fails over between the servers of a cluster instead of
// exiting. The first connection is retried until ctx's deadline (30 s when
// it has none); a server that refuses the credentials ends it at once.
func Connect(ctx context.Context, o ConnectOptions, log *slog.Logger) (*nats.Conn, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var mu sync.Mutex
	var lastErr error
	opts, err := connectOptions(o, log)
	if err != nil {
		return nil, err
	}
	opts = append(opts, nats.ReconnectErrHandler(func(_ *nats.Conn, err error) {
		mu.Lock()
		lastErr = err
		mu.Unlock()
		log.Debug("nats connect attempt", "err", err)
	}))
	nc, err := nats.Connect(o.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect nats: %w", err)
	}
	deadline := time.Now().Add(connectWait)
	if d, ok := ctx.Deadline(); ok {
		deadline = d
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !nc.IsConnected() {
		mu.Lock()
		err := lastErr
		mu.Unlock()
		switch {
		case isAuthError(err):
			nc.Close()
			return nil, fmt.Errorf("connect nats: %w", err)
		case nc.IsClosed(), time.Now().After(deadline):
			nc.Close()
			return nil, fmt.Errorf("connect nats %s: %w", redactURLs(o.URL), cmp.Or(err, nats.ErrNoServers))
		}
		select {
		case <-ctx.Done():
			nc.Close()
			return nil, fmt.Errorf("connect nats: %w", ctx.Err())
		case <-tick.C:
		}
	}
	return nc, nil
}

func isAuthError(err error) bool {
	return err != nil && (errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) ||
		errors.Is(err, nats.ErrAuthRevoked) || strings.Contains(strings.ToLower(err.Error()), "authorization violation"))
}

// redactURLs drops the user information of a comma-separated list of URLs.
func redactURLs(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			parts[i] = u.Redacted()
		}
	}
	return strings.Join(parts, ",")
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
