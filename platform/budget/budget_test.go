package budget

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/platform/natstest"
)

func newStore(t testing.TB) *Store {
	t.Helper()
	js, err := jetstream.New(natstest.Start(t).Conn(t))
	if err != nil {
		t.Fatal(err)
	}
	return New(js, Options{Memory: true})
}

func ocrCharge(file string) Charge {
	return Charge{CaseID: "case0001", Purpose: "ocr", FileID: file, ETag: `"e1-2"`}
}

func TestTake(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	for _, tc := range []struct {
		file            string
		want, limit     int64
		granted, before int64
	}{
		{"file0001", 400, 1000, 400, 0},
		{"file0002", 500, 1000, 500, 400},
		{"file0001", 400, 1000, 400, 0},   // asked again: the first answer, nothing more charged
		{"file0003", 500, 1000, 100, 900}, // what is left
		{"file0004", 10, 1000, 0, 1000},   // nothing left
		{"file0004", 10, 5000, 0, 1000},   // a later, larger limit does not change an answer given
		{"file0005", 10, 0, 10, 1000},     // no limit
	} {
		got, before, err := s.Take(ctx, ocrCharge(tc.file), OCRPages, tc.want, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.granted || before != tc.before {
			t.Errorf("%s: want %d of %d: got %d after %d, want %d after %d", tc.file, tc.want, tc.limit, got, before, tc.granted, tc.before)
		}
	}
	used, err := s.Used(ctx, "case0001")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Amounts{OCRPages: 1010}, used); diff != "" {
		t.Errorf("used (-want +got):\n%s", diff)
	}
	other, err := s.Used(ctx, "case0002")
	if err != nil || len(other) != 0 {
		t.Errorf("another case: %v, %v; want nothing used", other, err)
	}
}

func TestTakeAll(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	limits := Amounts{DICOMInstances: 3, DICOMBytes: 1000}
	for _, tc := range []struct {
		file string
		size int64
		ok   bool
	}{
		{"file0001", 400, true},
		{"file0002", 700, false}, // bytes over: nothing charged
		{"file0003", 500, true},
		{"file0003", 500, true}, // again: same answer
		{"file0004", 100, true},
		{"file0005", 1, false}, // instances over
		{"file0002", 1, false}, // the first answer stands
	} {
		c := Charge{CaseID: "case0001", Purpose: "dicom", FileID: tc.file, ETag: "e"}
		ok, err := s.TakeAll(ctx, c, Amounts{DICOMInstances: 1, DICOMBytes: tc.size}, limits)
		if err != nil {
			t.Fatal(err)
		}
		if ok != tc.ok {
			t.Errorf("%s (%d bytes): got %v, want %v", tc.file, tc.size, ok, tc.ok)
		}
	}
	used, err := s.Used(ctx, "case0001")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Amounts{DICOMInstances: 3, DICOMBytes: 1000}, used); diff != "" {
		t.Errorf("used (-want +got):\n%s", diff)
	}
}

// TestConcurrentCharges: many workers charge many files, each file several
// times at once (redeliveries racing the first delivery): every file is
// counted once and the grants add up to the usage.
func TestConcurrentCharges(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	const files, tries = 16, 3
	var mu sync.Mutex
	grants := map[string][]int64{}
	var wg sync.WaitGroup
	for i := range files {
		for range tries {
			wg.Go(func() {
				c := ocrCharge(fmt.Sprintf("file%04d", i))
				g, _, err := s.Take(ctx, c, OCRPages, 10, 105)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				grants[c.FileID] = append(grants[c.FileID], g)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	var sum int64
	for f, gs := range grants {
		for _, g := range gs[1:] {
			if g != gs[0] {
				t.Errorf("%s granted %v: want one answer", f, gs)
			}
		}
		sum += gs[0]
	}
	used, err := s.Used(ctx, "case0001")
	if err != nil {
		t.Fatal(err)
	}
	if used[OCRPages] != 105 || sum != 105 {
		t.Errorf("used %d, grants add up to %d; want 105 (the limit) both", used[OCRPages], sum)
	}
}

// TestCrashBetweenSteps: a charge whose worker died after the usage was
// counted and before its marker was written is finished by the next try,
// with the same grant, and counted once.
func TestCrashBetweenSteps(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	kv, err := s.bucket(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := ocrCharge("file0001")
	// What the first step leaves: usage counted, charge pending, no marker.
	data, _ := json.Marshal(usage{Used: Amounts{OCRPages: 7}, Pending: map[string]grant{c.id(): {Granted: Amounts{OCRPages: 7}}}})
	if _, err := kv.Create(ctx, usageKey(c.CaseID), data); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.Take(ctx, c, OCRPages, 9, 100)
	if err != nil || got != 7 {
		t.Fatalf("retry: got %d, %v; want the pending grant 7", got, err)
	}
	u, _, err := s.read(ctx, kv, c.CaseID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(usage{Used: Amounts{OCRPages: 7}}, u); diff != "" {
		t.Errorf("usage after the retry (-want +got):\n%s", diff)
	}
	if g, ok, err := s.marker(ctx, kv, c); err != nil || !ok || g.Granted[OCRPages] != 7 {
		t.Errorf("marker %v %v %v, want 7", g, ok, err)
	}
}

func TestInvalidCharge(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	for _, c := range []Charge{
		{CaseID: "Case.1", Purpose: "ocr", FileID: "file0001", ETag: "e"},
		{CaseID: "case0001", Purpose: "ocr", FileID: "file0001"},
		{CaseID: "case0001", Purpose: "o.cr", FileID: "file0001", ETag: "e"},
		{CaseID: "case0001", Purpose: "ocr", FileID: "../x", ETag: "e"},
	} {
		if _, _, err := s.Take(t.Context(), c, OCRPages, 1, 0); err == nil {
			t.Errorf("%+v: got no error", c)
		}
	}
}
