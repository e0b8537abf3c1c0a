package bus

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/handoffmed/handoff/platform/record"
)

// Metrics are the consumer loop's Prometheus metrics.
type Metrics struct {
	handled  *prometheus.CounterVec
	failures *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the consumer metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "handoff_messages_handled_total",
			Help: "Messages handled, by consumer and result (ok, retry, failed).",
		}, []string{"consumer", "result"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "handoff_failures_total",
			Help: "Handler failures by consumer and error code.",
		}, []string{"consumer", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "handoff_processing_seconds",
			Help:    "Time to handle one message, by consumer.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 14),
		}, []string{"consumer"}),
	}
	reg.MustRegister(m.handled, m.failures, m.duration)
	return m
}

func (m *Metrics) observe(consumer string, d time.Duration, err error) {
	if m == nil {
		return
	}
	m.duration.WithLabelValues(consumer).Observe(d.Seconds())
	switch {
	case err == nil:
		m.handled.WithLabelValues(consumer, "ok").Inc()
		return
	case errors.Is(err, ErrPermanent):
		m.handled.WithLabelValues(consumer, "failed").Inc()
	default:
		m.handled.WithLabelValues(consumer, "retry").Inc()
	}
	code := "internal"
	var re *record.Error
	switch {
	case errors.As(err, &re):
		code = re.Code
	case errors.Is(err, context.DeadlineExceeded):
		code = "timeout"
	}
	m.failures.WithLabelValues(consumer, code).Inc()
}

// DepthCollector reports the depth of the pipeline's consumers (messages
// waiting plus messages being worked on) as a gauge, read on each scrape.
type DepthCollector struct {
	bus   *Bus
	specs []ConsumerSpec
	desc  *prometheus.Desc
}

// NewDepthCollector returns a collector of the depth of a service's consumers.
func NewDepthCollector(b *Bus, service string, specs ...ConsumerSpec) *DepthCollector {
	return &DepthCollector{bus: b, specs: specs, desc: prometheus.NewDesc(
		"handoff_queue_depth", "Messages waiting or in progress, by stream and consumer.",
		[]string{"stream", "consumer", "state"}, prometheus.Labels{"service": service})}
}

// Describe implements prometheus.Collector.
func (c *DepthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *DepthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, s := range c.specs {
		cons, err := c.bus.js.Consumer(ctx, s.Stream, s.Durable)
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
}
