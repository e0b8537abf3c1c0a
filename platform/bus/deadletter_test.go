package bus_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/natstest"
)

// A normal wait (bus.Later) is handled again without counting a failure;
// only a wait that outlasts MaxDeliver is a failure, and dead-lettered.
func TestWaitsAreNotFailures(t *testing.T) {
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
	// filea waits twice then goes through; fileb waits forever (MaxDeliver 3).
	var calls atomic.Int32
	stop := run(t, b, spec(), func(ctx context.Context, m *bus.Msg) error {
		var w event.FileWork
		if err := m.Decode(&w); err != nil {
			return err
		}
		if w.FileID == "filea" && calls.Add(1) > 2 {
			return nil
		}
		return bus.Later(errors.New("files of the case are still being processed"))
	})
	waitFor(t, "dead letter", func() bool { return len(deadLetters(t, b)) == 1 })
	waitFor(t, "work queue empty", func() bool { return pending(t, b) == 0 })
	stop()
	const want = `
# HELP handoff_failures_total Handler failures by consumer and error code: retried and dead-lettered ones, not normal waits.
# TYPE handoff_failures_total counter
handoff_failures_total{code="wait_exhausted",consumer="dicom"} 1
# HELP handoff_messages_handled_total Messages handled, by consumer and result (ok; wait: handled again later, a normal wait; retry: failed, tried again; failed: dead-lettered).
# TYPE handoff_messages_handled_total counter
handoff_messages_handled_total{consumer="dicom",result="failed"} 1
handoff_messages_handled_total{consumer="dicom",result="ok"} 1
handoff_messages_handled_total{consumer="dicom",result="wait"} 4
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "handoff_failures_total", "handoff_messages_handled_total"); err != nil {
		t.Error(err)
	}
	if dl := deadLetters(t, b)[0]; !strings.HasPrefix(dl.Error, "not yet: files of the case") {
		t.Errorf("dead letter error %q, want the wait's reason", dl.Error)
	}
}

// Dead letters are listed with what an operator needs, replayed to their
// original subject (stored even inside the de-duplication window of the
// original's ID, once however often replayed) and dropped; the gauge of
// waiting dead letters follows the stream.
func TestDeadLetterListReplayDrop(t *testing.T) {
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
	for i := range 3 {
		if err := b.Publish(t.Context(), work(i)); err != nil {
			t.Fatal(err)
		}
	}
	var fixed atomic.Bool
	handled := map[string]int{}
	handledc := make(chan string, 10)
	stop := run(t, b, spec(), func(ctx context.Context, m *bus.Msg) error {
		if !fixed.Load() {
			return bus.Permanent(errors.New("input.unreadable: object missing"))
		}
		var w event.FileWork
		if err := m.Decode(&w); err != nil {
			return err
		}
		handledc <- w.FileID
		return nil
	})
	defer stop()
	waitFor(t, "three dead letters", func() bool { return len(deadLetters(t, b)) == 3 })
	gauge := func(n int) string {
		return "\n# HELP handoff_dead_letters_waiting Dead letters waiting in the DEADLETTER stream, by consumer (read from the stream on each scrape; every process reports the consumers it runs).\n" +
			"# TYPE handoff_dead_letters_waiting gauge\n" +
			"handoff_dead_letters_waiting{consumer=\"dicom\"} " + string(rune('0'+n)) + "\n"
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(gauge(3)), "handoff_dead_letters_waiting"); err != nil {
		t.Error(err)
	}

	list, err := b.DeadLetters(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if other, err := b.DeadLetters(t.Context(), "ocr"); err != nil || len(other) != 0 {
		t.Errorf("ocr's dead letters: got %d (%v), want none", len(other), err)
	}
	if len(list) != 3 {
		t.Fatalf("listed %d, want 3", len(list))
	}
	ids := make([]string, len(list))
	for i, e := range list {
		var w event.FileWork
		if err := json.Unmarshal(e.Data, &w); err != nil {
			t.Fatal(err)
		}
		ids[i] = w.FileID
		if e.Seq == 0 || e.Time.IsZero() || e.Consumer != "dicom" || e.OrigSubject != event.SubjectWorkDICOM ||
			e.CaseID != "case0001" || e.Deliveries != 1 || e.Error != "permanent: input.unreadable: object missing" {
			t.Errorf("entry %d = %+v", i, e)
		}
	}

	fixed.Store(true)
	// Replayed twice: stored once (the replay's own ID), handled once.
	if _, _, err := b.Replay(t.Context(), list[0].Seq); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Replay(t.Context(), list[0].Seq); !errors.Is(err, bus.ErrNoDeadLetter) {
		t.Errorf("second replay: got %v, want ErrNoDeadLetter", err)
	}
	handled[<-handledc]++
	if err := b.DropDeadLetter(t.Context(), list[1].Seq); err != nil {
		t.Fatal(err)
	}
	if err := b.DropDeadLetter(t.Context(), list[1].Seq); !errors.Is(err, bus.ErrNoDeadLetter) {
		t.Errorf("second drop: got %v, want ErrNoDeadLetter", err)
	}
	left, err := b.DeadLetters(t.Context(), "dicom")
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].Seq != list[2].Seq {
		t.Errorf("left: %+v, want the third dead letter only", left)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(gauge(1)), "handoff_dead_letters_waiting"); err != nil {
		t.Error(err)
	}
	if _, _, err := b.Replay(t.Context(), list[2].Seq); err != nil {
		t.Fatal(err)
	}
	handled[<-handledc]++
	waitFor(t, "work queue empty", func() bool { return pending(t, b) == 0 })
	if want := map[string]int{ids[0]: 1, ids[2]: 1}; !maps.Equal(handled, want) {
		t.Errorf("handled %v, want %v", handled, want)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(gauge(0)), "handoff_dead_letters_waiting"); err != nil {
		t.Error(err)
	}
	// The counter counts what was dead-lettered, and stays.
	const counted = `
# HELP handoff_dead_letters_total Messages moved to the DEADLETTER stream, by consumer (counted once, by the process that stored the dead letter).
# TYPE handoff_dead_letters_total counter
handoff_dead_letters_total{consumer="dicom"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(counted), "handoff_dead_letters_total"); err != nil {
		t.Error(err)
	}
}
