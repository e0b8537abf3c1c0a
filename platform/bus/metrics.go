package bus

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/handoffmed/handoff/platform/record"
)

// Metrics are the consumer loop's Prometheus metrics, and the depth of
// every consumer run with them.
type Metrics struct {
	handled  *prometheus.CounterVec
	failures *prometheus.CounterVec
	duration *prometheus.HistogramVec
	dead     *prometheus.CounterVec
	depth    *DepthCollector
}

// NewMetrics registers the consumer metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "handoff_messages_handled_total",
			Help: "Messages handled, by consumer and result (ok; wait: handled again later, a normal wait; retry: failed, tried again; failed: dead-lettered).",
		}, []string{"consumer", "result"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "handoff_failures_total",
			Help: "Handler failures by consumer and error code: retried and dead-lettered ones, not normal waits.",
		}, []string{"consumer", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "handoff_processing_seconds",
			Help:    "Time to handle one message, by consumer.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 14),
		}, []string{"consumer"}),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "handoff_dead_letters_total",
			Help: "Messages moved to the DEADLETTER stream, by consumer (counted once, by the process that stored the dead letter).",
		}, []string{"consumer"}),
	}
	m.depth = &DepthCollector{
		desc: prometheus.NewDesc(
			"handoff_queue_depth", "Messages waiting or in progress, by stream and consumer.",
			[]string{"stream", "consumer", "state"}, nil),
		deadDesc: prometheus.NewDesc(
			"handoff_dead_letters_waiting", "Dead letters waiting in the DEADLETTER stream, by consumer (read from the stream on each scrape; every process reports the consumers it runs).",
			[]string{"consumer"}, nil),
	}
	reg.MustRegister(m.handled, m.failures, m.duration, m.dead, m.depth)
	return m
}

// watch adds a consumer to the depth gauge.
func (m *Metrics) watch(b *Bus, spec ConsumerSpec) {
	if m == nil {
		return
	}
	m.depth.mu.Lock()
	defer m.depth.mu.Unlock()
	for _, w := range m.depth.watched {
		if w.spec.Stream == spec.Stream && w.spec.Durable == spec.Durable {
			return
		}
	}
	m.depth.watched = append(m.depth.watched, watched{b, spec})
}

// observe counts one handled message. final is true when the message is
// dead-lettered now: a wait (ErrLater) is a failure only then.
func (m *Metrics) observe(consumer string, d time.Duration, err error, final bool) {
	if m == nil {
		return
	}
	m.duration.WithLabelValues(consumer).Observe(d.Seconds())
	switch {
	case err == nil:
		m.handled.WithLabelValues(consumer, "ok").Inc()
		return
	case final:
		m.handled.WithLabelValues(consumer, "failed").Inc()
	case errors.Is(err, ErrLater):
		m.handled.WithLabelValues(consumer, "wait").Inc()
		return
	default:
		m.handled.WithLabelValues(consumer, "retry").Inc()
	}
	code := "internal"
	var re *record.Error
	switch {
	case errors.As(err, &re):
		code = re.Code
	case errors.Is(err, ErrLater):
		code = "wait_exhausted"
	case errors.Is(err, context.DeadlineExceeded):
		code = "timeout"
	}
	m.failures.WithLabelValues(consumer, code).Inc()
}

func (m *Metrics) deadLettered(consumer string) {
	if m != nil {
		m.dead.WithLabelValues(consumer).Inc()
	}
}

// DepthCollector reports the depth of the consumers this process runs
// (messages waiting, and messages being worked on) as a gauge read on each
// scrape: the signal to scale a worker kind on; and how many of their dead
// letters wait in the DEADLETTER stream (an operator replays or drops them
// with `handoff dlq`).
type DepthCollector struct {
	desc     *prometheus.Desc
	deadDesc *prometheus.Desc
	mu       sync.Mutex
	watched  []watched
}

type watched struct {
	bus  *Bus
	spec ConsumerSpec
}

// Describe implements prometheus.Collector.
func (c *DepthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc; ch <- c.deadDesc }

// Collect implements prometheus.Collector.
func (c *DepthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c.mu.Lock()
	ws := append([]watched(nil), c.watched...)
	c.mu.Unlock()
	for _, w := range ws {
		s := w.spec
		cons, err := w.bus.js.Consumer(ctx, s.Stream, s.Durable)
		if err != nil {
			continue
		}
		info := cons.CachedInfo()
		if fresh, err := cons.Info(ctx); err == nil {
			info = fresh
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(info.NumPending), s.Stream, s.Durable, "waiting")
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(info.NumAckPending), s.Stream, s.Durable, "in_progress")
	}
	if len(ws) > 0 {
		c.collectDead(ctx, ch, ws)
	}
}

// collectDead reports the dead letters waiting per consumer, from the
// DEADLETTER stream's count of messages per subject (handoff.dlq.<consumer>).
func (c *DepthCollector) collectDead(ctx context.Context, ch chan<- prometheus.Metric, ws []watched) {
	counts, err := ws[0].bus.DeadLetterCounts(ctx)
	if err != nil {
		return
	}
	seen := map[string]bool{}
	for _, w := range ws {
		if seen[w.spec.Durable] {
			continue
		}
		seen[w.spec.Durable] = true
		ch <- prometheus.MustNewConstMetric(c.deadDesc, prometheus.GaugeValue, float64(counts[w.spec.Durable]), w.spec.Durable)
	}
}
