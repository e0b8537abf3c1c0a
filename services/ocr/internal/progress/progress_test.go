package progress

import (
	"sync"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/platform/natstest"
)

func TestConcurrentPages(t *testing.T) {
	ns := natstest.Start(t)
	js, err := jetstream.New(ns.Conn(t))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), js, "", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	key := Key("case1234", "file1234", `"abc-123"`)
	if key != "doc.case1234.file1234.abc-123" {
		t.Errorf("key %q", key)
	}
	const pages = 20
	done := make([]bool, pages)
	done[4] = true // a text page: done from the start
	if d, err := s.Start(t.Context(), key, done, 4); err != nil || d.Window != 4 || d.Done[4] != '1' {
		t.Fatalf("start: %+v, %v", d, err)
	}
	// A redelivered split keeps the record.
	if d, err := s.Start(t.Context(), key, make([]bool, pages), 2); err != nil || d.Window != 4 || d.Done[4] != '1' {
		t.Fatalf("start again: %+v, %v; want the first record", d, err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	completions := 0
	for w := range 4 {
		wg.Go(func() {
			for p := 1; p <= pages; p++ {
				if p == 5 {
					continue
				}
				if (p+w)%2 == 0 && w > 1 {
					continue
				}
				d, err := s.PageDone(t.Context(), key, p)
				if err != nil {
					t.Error(err)
					return
				}
				if d.Complete() {
					mu.Lock()
					completions++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	d, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Complete() || d.Assembled || completions == 0 {
		t.Errorf("record %+v after all pages, %d completions seen", d, completions)
	}
	if _, err := s.PageDone(t.Context(), key, pages+1); err == nil {
		t.Errorf("page out of range accepted")
	}
	if err := s.Assembled(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	if err := s.Assembled(t.Context(), key); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.Get(t.Context(), key); !d.Assembled {
		t.Errorf("not assembled")
	}
	if _, err := s.Get(t.Context(), "doc.none.none.x"); err != ErrNotFound {
		t.Errorf("got %v, want ErrNotFound", err)
	}
}
