package progress

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/platform/natstest"
)

func openStore(t *testing.T) *Store {
	t.Helper()
	js, err := jetstream.New(natstest.Start(t).Conn(t))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), js, "", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func doc(f string) LaneDoc { return LaneDoc{File: f, ETag: `"e-1"`} }

func alive(LaneDoc) (bool, error) { return false, nil }

func TestLane(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := t.Context()
	const c = "case0001"
	steps := []struct {
		op       string // admit or release
		doc      string
		turn     Turn
		promoted []LaneDoc
	}{
		{"admit", "a", Go, nil},
		{"admit", "b", Go, nil},
		{"admit", "c", Wait, nil},
		{"admit", "d", Wait, nil},
		{"admit", "c", Wait, nil}, // a redelivered item of a waiting document
		{"admit", "a", Go, nil},   // a redelivered item of an active one
		{"release", "a", Go, []LaneDoc{doc("c")}},
		{"release", "a", Go, []LaneDoc{doc("c")}}, // again after a crash: the same resume to publish
		{"admit", "c", Go, nil},                   // the resume item
		{"release", "b", Go, []LaneDoc{doc("d")}},
		{"release", "c", Go, nil},
		{"release", "d", Go, nil},
		{"release", "x", Go, nil}, // never in the lane
	}
	for i, st := range steps {
		var turn Turn
		var promoted []LaneDoc
		var err error
		if st.op == "admit" {
			turn, promoted, err = s.Admit(ctx, c, doc(st.doc), 2, alive)
		} else {
			promoted, err = s.Release(ctx, c, doc(st.doc), 2)
		}
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if turn != st.turn {
			t.Errorf("step %d (%s %s): turn %v, want %v", i, st.op, st.doc, turn, st.turn)
		}
		if diff := cmp.Diff(st.promoted, promoted); diff != "" {
			t.Errorf("step %d (%s %s): promoted (-want +got):\n%s", i, st.op, st.doc, diff)
		}
	}
	l, err := s.Lane(ctx, c)
	if err != nil || len(l.Active)+len(l.Waiting) != 0 {
		t.Errorf("lane at the end: %+v, %v; want empty", l, err)
	}
}

// TestLaneDeadSlot: a full lane whose active document ended without
// releasing its slot (a crash in between) gives the slot to the waiting
// document first, then to newcomers.
func TestLaneDeadSlot(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := t.Context()
	const c = "case0001"
	for _, d := range []string{"a", "b"} {
		if _, _, err := s.Admit(ctx, c, doc(d), 1, alive); err != nil {
			t.Fatal(err)
		}
	}
	dead := func(d LaneDoc) (bool, error) { return d.File == "a", nil }
	turn, promoted, err := s.Admit(ctx, c, doc("n"), 1, dead)
	if err != nil {
		t.Fatal(err)
	}
	if turn != Wait || !cmp.Equal(promoted, []LaneDoc{doc("b")}) {
		t.Errorf("newcomer: turn %v, promoted %v; want Wait and b promoted", turn, promoted)
	}
	l, _ := s.Lane(ctx, c)
	want := Lane{Active: []LaneDoc{{File: "b", ETag: `"e-1"`, ByFile: "n", ByETag: `"e-1"`}}, Waiting: []LaneDoc{doc("n")}}
	if diff := cmp.Diff(want, l); diff != "" {
		t.Errorf("lane (-want +got):\n%s", diff)
	}
}

// TestLaneConcurrent: documents arriving and ending at once on many
// workers all get their turn, and never more than the slots at a time.
func TestLaneConcurrent(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := t.Context()
	const c, slots, docs = "case0001", 2, 16
	var running, peak atomic.Int32
	var mu sync.Mutex
	ran := map[string]int{}
	var wg sync.WaitGroup
	var work func(d LaneDoc, resumed bool)
	work = func(d LaneDoc, resumed bool) {
		turn, promoted, err := s.Admit(ctx, c, d, slots, alive)
		if err != nil {
			t.Error(err)
			return
		}
		for _, p := range promoted {
			wg.Go(func() { work(p, true) })
		}
		if turn == Wait {
			if resumed {
				t.Errorf("%s resumed but told to wait", d.File)
			}
			return
		}
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		mu.Lock()
		ran[d.File]++
		mu.Unlock()
		running.Add(-1)
		promoted, err = s.Release(ctx, c, d, slots)
		if err != nil {
			t.Error(err)
			return
		}
		for _, p := range promoted {
			wg.Go(func() { work(p, true) })
		}
	}
	for i := range docs {
		wg.Go(func() { work(doc(fmt.Sprintf("f%02d", i)), false) })
	}
	wg.Wait()
	if len(ran) != docs {
		t.Errorf("%d documents had their turn, want %d", len(ran), docs)
	}
	for d, n := range ran {
		if n != 1 {
			t.Errorf("%s had %d turns, want 1", d, n)
		}
	}
	if p := peak.Load(); p > slots {
		t.Errorf("%d documents at once, want at most %d", p, slots)
	}
}
