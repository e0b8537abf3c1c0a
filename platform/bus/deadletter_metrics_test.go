package bus_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/natstest"
)

// handoff_dead_letters_total counts each message moved to DEADLETTER once,
// by consumer: the alerting rules of the Helm chart read it.
func TestDeadLettersAreCounted(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	reg := prometheus.NewRegistry()
	b, err := bus.New(srv.Conn(t), "/test", nil, bus.Options{Metrics: bus.NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Setup(t.Context(), bus.Topology{Memory: true}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := b.Publish(t.Context(), work(i)); err != nil {
			t.Fatal(err)
		}
	}
	stop := run(t, b, spec(), func(context.Context, *bus.Msg) error {
		return bus.Permanent(errors.New("input.unreadable: bad header"))
	})
	waitFor(t, "dead letters", func() bool { return len(deadLetters(t, b)) == 2 })
	stop()
	const want = `
# HELP handoff_dead_letters_total Messages moved to the DEADLETTER stream, by consumer (counted once, by the process that stored the dead letter).
# TYPE handoff_dead_letters_total counter
handoff_dead_letters_total{consumer="dicom"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "handoff_dead_letters_total"); err != nil {
		t.Error(err)
	}
}
