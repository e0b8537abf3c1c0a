package multipart

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

// memClient is an in-memory multipart store that enforces S3's part rules.
// It proves this package's own buffering and error handling; the real
// endpoint is exercised by the packager's tests.
type memClient struct {
	mu        sync.Mutex
	parts     map[int][]byte
	failPart  int // fail this part number
	completed []byte
	aborted   bool
	maxLive   int // most parts uploading at once
	live      int
	gate      chan struct{}
}

var errBoom = errors.New("boom")

func (m *memClient) Create(context.Context, string, string, string) (string, error) {
	m.parts = map[int][]byte{}
	return "upload-1", nil
}

func (m *memClient) UploadPart(ctx context.Context, _, _, _ string, n int, r io.Reader, size int64) (string, error) {
	m.mu.Lock()
	m.live++
	m.maxLive = max(m.maxLive, m.live)
	m.mu.Unlock()
	defer func() { m.mu.Lock(); m.live--; m.mu.Unlock() }()
	if m.gate != nil {
		select {
		case <-m.gate:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return "", err
	}
	if int64(len(b)) != size {
		return "", fmt.Errorf("part %d: read %d, size %d", n, len(b), size)
	}
	if n == m.failPart {
		return "", errBoom
	}
	m.mu.Lock()
	m.parts[n] = b
	m.mu.Unlock()
	return fmt.Sprintf("etag-%d", n), nil
}

func (m *memClient) Complete(_ context.Context, _, _, _ string, parts []Part) error {
	var all bytes.Buffer
	for i, p := range parts {
		if p.Number != i+1 || p.ETag != fmt.Sprintf("etag-%d", i+1) {
			return fmt.Errorf("part %d: got number %d etag %s", i+1, p.Number, p.ETag)
		}
		b := m.parts[p.Number]
		if i < len(parts)-1 && len(b) < MinPartSize {
			return fmt.Errorf("part %d is %d bytes, under the 5 MiB minimum", p.Number, len(b))
		}
		all.Write(b)
	}
	m.completed = all.Bytes()
	return nil
}

func (m *memClient) Abort(context.Context, string, string, string) error {
	m.aborted = true
	return nil
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/4096)
	}
	return b
}

func TestUpload(t *testing.T) {
	tests := []struct {
		name      string
		size      int
		chunk     int
		wantParts int
	}{
		{"empty object", 0, 1, 1},
		{"one short part", 1000, 100, 1},
		{"exactly one part", 5 << 20, 1 << 20, 1},
		{"several parts, odd writes", 17<<20 + 3, 12345, 4},
		{"one big write", 11 << 20, 11 << 20, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &memClient{}
			data := pattern(tc.size)
			res, err := Upload(t.Context(), c, "b", "k", Options{PartSize: 5 << 20, Concurrency: 3}, func(w io.Writer) error {
				for off := 0; off < len(data); off += tc.chunk {
					if _, err := w.Write(data[off:min(off+tc.chunk, len(data))]); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(c.completed, data) {
				t.Errorf("completed object differs (%d bytes, want %d)", len(c.completed), len(data))
			}
			if res.Parts != tc.wantParts || res.Size != int64(tc.size) {
				t.Errorf("got %d parts %d bytes, want %d parts %d bytes", res.Parts, res.Size, tc.wantParts, tc.size)
			}
			if c.aborted {
				t.Error("aborted a good upload")
			}
		})
	}
}

func TestUploadErrors(t *testing.T) {
	t.Run("fill fails", func(t *testing.T) {
		c := &memClient{}
		_, err := Upload(t.Context(), c, "b", "k", Options{}, func(w io.Writer) error {
			_, _ = w.Write(pattern(100))
			return errBoom
		})
		if !errors.Is(err, errBoom) || !c.aborted || c.completed != nil {
			t.Errorf("got err %v aborted %v completed %v, want errBoom, aborted, nothing completed", err, c.aborted, c.completed != nil)
		}
	})
	t.Run("part fails", func(t *testing.T) {
		c := &memClient{failPart: 2}
		data := pattern(30 << 20)
		_, err := Upload(t.Context(), c, "b", "k", Options{PartSize: 5 << 20}, func(w io.Writer) error {
			for off := 0; off < len(data); off += 1 << 20 {
				if _, err := w.Write(data[off : off+1<<20]); err != nil {
					return err
				}
			}
			return nil
		})
		if !errors.Is(err, errBoom) || !c.aborted || c.completed != nil {
			t.Errorf("got err %v aborted %v, want errBoom and an aborted upload", err, c.aborted)
		}
	})
	t.Run("context cancelled", func(t *testing.T) {
		c := &memClient{gate: make(chan struct{})}
		ctx, cancel := context.WithCancel(t.Context())
		_, err := Upload(ctx, c, "b", "k", Options{PartSize: 5 << 20, Concurrency: 1}, func(w io.Writer) error {
			for i := 0; ; i++ {
				if i == 1 {
					cancel()
				}
				if _, err := w.Write(pattern(5 << 20)); err != nil {
					return err
				}
			}
		})
		if !errors.Is(err, context.Canceled) || !c.aborted {
			t.Errorf("got err %v aborted %v, want context.Canceled and an aborted upload", err, c.aborted)
		}
	})
}

func TestBoundedMemory(t *testing.T) {
	// With every part upload blocked, the writer fills Concurrency+1
	// buffers and then waits: it never takes more memory.
	synctest.Test(t, func(t *testing.T) {
		c := &memClient{gate: make(chan struct{})}
		opts := Options{PartSize: 5 << 20, Concurrency: 2}
		var wrote atomic.Int64
		done := make(chan error, 1)
		go func() {
			_, err := Upload(t.Context(), c, "b", "k", opts, func(w io.Writer) error {
				chunk := pattern(1 << 20)
				for range 40 {
					k, err := w.Write(chunk)
					wrote.Add(int64(k))
					if err != nil {
						return err
					}
				}
				return nil
			})
			done <- err
		}()
		synctest.Wait()
		// The write that fills the last buffer is the one left waiting.
		if got, limit := wrote.Load(), int64(opts.Concurrency+1)*opts.PartSize; got > limit || got < limit-1<<20 {
			t.Errorf("with uploads blocked the writer took %d bytes, want just under %d", got, limit)
		}
		close(c.gate)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if wrote.Load() != 40<<20 {
			t.Fatalf("wrote %d", wrote.Load())
		}
		if c.maxLive > opts.Concurrency {
			t.Errorf("%d parts uploaded at once, want at most %d", c.maxLive, opts.Concurrency)
		}
	})
}

func TestPartSizeGrowth(t *testing.T) {
	o := Options{PartSize: 8 << 20}.withDefaults()
	var total int64
	for n := 1; n <= MaxParts; n++ {
		total += o.partSize(n)
	}
	if got, want := o.partSize(1), int64(8<<20); got != want {
		t.Errorf("part 1: %d, want %d", got, want)
	}
	if got, want := o.partSize(2501), int64(16<<20); got != want {
		t.Errorf("part 2501: %d, want %d", got, want)
	}
	if total < 290<<30 {
		t.Errorf("10,000 parts hold %d bytes, want at least 290 GiB", total)
	}
}

func TestUploadSHA256(t *testing.T) {
	for _, size := range []int{0, 1000, 17<<20 + 3} {
		c := &memClient{}
		data := pattern(size)
		res, err := Upload(t.Context(), c, "b", "k", Options{PartSize: 5 << 20, SHA256: true}, func(w io.Writer) error {
			_, err := w.Write(data)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.SHA256 != sha256.Sum256(data) || !bytes.Equal(c.completed, data) {
			t.Errorf("%d bytes: SHA256 or content wrong", size)
		}
	}
}
