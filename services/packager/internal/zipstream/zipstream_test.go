package zipstream

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/handoffmed/handoff/services/packager/internal/ziptest"
)

var modTime = time.Date(2026, 5, 2, 10, 30, 0, 0, time.UTC)

type source struct {
	name   string
	data   []byte
	size   int64 // announced; -2 means len(data)
	method Method
	dir    bool
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func textBytes(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "line %d: (0010,0010) PN Patient^Test  (0028,0010) US 512\n", i)
	}
	return b.Bytes()[:n]
}

// pixelLike is 16-bit "image" data: smooth, low entropy in the high bytes,
// like uncompressed CT/MR pixel data.
func pixelLike(n int) []byte {
	b := make([]byte, n)
	for i := 0; i+1 < n; i += 2 {
		v := uint16(1000 + (i/2)%512 + (i/1024)%64)
		b[i], b[i+1] = byte(v), byte(v>>8)
	}
	return b
}

func mixedSources() []source {
	return []source{
		{name: "Case/", dir: true},
		{name: "Case/01_Case_Summary/", dir: true},
		{name: "Case/empty.txt", data: nil, size: -2},
		{name: "Case/small.txt", data: []byte("hello\n"), size: -2},
		{name: "Case/notes.txt", data: textBytes(100_000), size: -2},
		{name: "Case/random.bin", data: randomBytes(700_000, 1), size: -2},
		{name: "Case/pixels.dcm", data: pixelLike(3 << 20), size: -2},
		{name: "Case/unknown-size.dcm", data: pixelLike(300_000), size: -1},
		{name: "Case/forced-store.txt", data: textBytes(50_000), size: -2, method: Store},
		{name: "Case/forced-deflate.bin", data: randomBytes(40_000, 2), size: -2, method: Deflate},
		{name: "Case/Müller_Zoë_名前.txt", data: []byte("non-ASCII name\n"), size: -2},
		{name: "Case/sample-edge.bin", data: textBytes(256 << 10), size: -2},
	}
}

// build writes the sources into a ZIP file and returns its path, the
// writer's entries and its result.
func build(t *testing.T, opts Options, srcs []source) (string, []Entry, Result) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := NewWriter(f, opts)
	var entries []Entry
	for _, s := range srcs {
		if s.dir {
			if err := w.AddDir(s.name, modTime); err != nil {
				t.Fatalf("AddDir %s: %v", s.name, err)
			}
			continue
		}
		size := s.size
		if size == -2 {
			size = int64(len(s.data))
		}
		// OneByteReader-free but chunked oddly: half-reads exercise short reads.
		e, err := w.Add(Header{Name: s.name, Modified: modTime, Size: size, Method: s.method}, iotest.HalfReader(bytes.NewReader(s.data)))
		if err != nil {
			t.Fatalf("Add %s: %v", s.name, err)
		}
		entries = append(entries, e)
	}
	res, err := w.Close()
	if err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, entries, res
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func checkArchive(t *testing.T, path string, srcs []source, entries []Entry, res Result) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if res.Size != int64(len(raw)) {
		t.Errorf("Result.Size = %d, file has %d bytes", res.Size, len(raw))
	}
	if got, want := hex.EncodeToString(res.SHA256[:]), sum(raw); got != want {
		t.Errorf("Result.SHA256 = %s, want %s", got, want)
	}
	if res.Entries != len(srcs) {
		t.Errorf("Result.Entries = %d, want %d", res.Entries, len(srcs))
	}

	want := map[string]ziptest.Entry{}
	for _, s := range srcs {
		if s.dir {
			want[s.name] = ziptest.Entry{}
			continue
		}
		want[s.name] = ziptest.Entry{Size: int64(len(s.data)), SHA256: sum(s.data)}
	}
	got := ziptest.Verify(t, path)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("archive content (-want +got):\n%s", d)
	}

	i := 0
	for _, s := range srcs {
		if s.dir {
			continue
		}
		e := entries[i]
		i++
		if hex.EncodeToString(e.SHA256[:]) != sum(s.data) {
			t.Errorf("%s: Entry.SHA256 wrong", s.name)
		}
		if e.Size != int64(len(s.data)) {
			t.Errorf("%s: Entry.Size = %d, want %d", s.name, e.Size, len(s.data))
		}
	}
}

func TestWriterTools(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"default", Options{}},
		{"small sample, level 6", Options{SampleSize: 4096, Level: 6}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srcs := mixedSources()
			path, entries, res := build(t, tc.opts, srcs)
			checkArchive(t, path, srcs, entries, res)
		})
	}
}

func TestMethodChoice(t *testing.T) {
	srcs := mixedSources()
	_, entries, _ := build(t, Options{}, srcs)
	got := map[string]uint16{}
	for _, e := range entries {
		got[e.Name] = e.Method
	}
	if d := cmp.Diff(wantMethods, got); d != "" {
		t.Errorf("methods (-want +got):\n%s", d)
	}
}

var wantMethods = func() map[string]uint16 {
	want := map[string]uint16{
		"Case/empty.txt":          zipStore,
		"Case/small.txt":          zipStore, // 6 bytes: deflate saves nothing
		"Case/notes.txt":          zipDeflate,
		"Case/random.bin":         zipStore,
		"Case/pixels.dcm":         zipDeflate,
		"Case/unknown-size.dcm":   zipDeflate,
		"Case/forced-store.txt":   zipStore,
		"Case/forced-deflate.bin": zipDeflate,
		"Case/Müller_Zoë_名前.txt":  zipStore,
		"Case/sample-edge.bin":    zipDeflate,
	}
	return want
}()

func TestManyEntriesZip64(t *testing.T) {
	t.Parallel()
	const n = 70_000 // more than 65535: needs the ZIP64 end records
	path := filepath.Join(t.TempDir(), "many.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(f, Options{})
	for i := range n {
		data := fmt.Appendf(nil, "%d\n", i)
		if _, err := w.Add(Header{Name: fmt.Sprintf("d%02d/f%06d.txt", i%50, i), Modified: modTime, Size: int64(len(data)), Method: Store}, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	res, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if res.Entries != n {
		t.Fatalf("Entries = %d, want %d", res.Entries, n)
	}
	got := ziptest.Verify(t, path)
	if len(got) != n {
		t.Fatalf("tools see %d entries, want %d", len(got), n)
	}
	if e := got["d07/f012357.txt"]; e.SHA256 != sum([]byte("12357\n")) {
		t.Errorf("entry content wrong: %+v", e)
	}
	info := ziptest.Run(t, "zipinfo", "-t", path)
	if !strings.Contains(info, fmt.Sprintf("%d files", n)) {
		t.Errorf("zipinfo -t: %s", info)
	}
}

// zeros yields n zero bytes without holding them.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > z.n {
		p = p[:z.n]
	}
	clear(p)
	z.n -= int64(len(p))
	return len(p), nil
}

// TestHugeEntry writes a real entry over 4 GiB (deflated zeros, so the file
// stays small) and checks it with every tool. It takes about a minute, so it
// runs only with PACKAGER_BIG_TESTS=1 (make bench runs it).
func TestHugeEntry(t *testing.T) {
	if os.Getenv("PACKAGER_BIG_TESTS") == "" {
		t.Skip("set PACKAGER_BIG_TESTS=1 to write a > 4 GiB entry")
	}
	const size = 4<<30 + 12345
	path := filepath.Join(t.TempDir(), "huge.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(f, Options{})
	if _, err := w.Add(Header{Name: "small-before.txt", Modified: modTime, Size: 3}, strings.NewReader("abc")); err != nil {
		t.Fatal(err)
	}
	e, err := w.Add(Header{Name: "huge.bin", Modified: modTime, Size: size}, &zeros{size})
	if err != nil {
		t.Fatal(err)
	}
	if e.Method != zipDeflate {
		t.Errorf("huge entry: method %d, want deflated", e.Method)
	}
	if _, err := w.Add(Header{Name: "small-after.txt", Modified: modTime, Size: 3}, strings.NewReader("xyz")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got := ziptest.Verify(t, path)
	if got["huge.bin"].Size != size {
		t.Errorf("huge.bin size %d, want %d", got["huge.bin"].Size, size)
	}
}

var errSource = errors.New("source broke")

func TestWriterErrors(t *testing.T) {
	t.Run("size mismatch", func(t *testing.T) {
		w := NewWriter(io.Discard, Options{})
		_, err := w.Add(Header{Name: "a", Size: 10}, strings.NewReader("short"))
		if !errors.Is(err, ErrSizeMismatch) {
			t.Fatalf("got %v, want ErrSizeMismatch", err)
		}
		if _, err := w.Add(Header{Name: "b", Size: 1}, strings.NewReader("x")); !errors.Is(err, ErrClosed) {
			t.Errorf("after a failed entry: got %v, want ErrClosed", err)
		}
		if _, err := w.Close(); !errors.Is(err, ErrClosed) {
			t.Errorf("Close after a failed entry: got %v, want ErrClosed", err)
		}
	})
	t.Run("source error", func(t *testing.T) {
		w := NewWriter(io.Discard, Options{})
		_, err := w.Add(Header{Name: "a", Size: -1}, iotest.ErrReader(errSource))
		if !errors.Is(err, errSource) {
			t.Fatalf("got %v, want the source's error", err)
		}
	})
	t.Run("bad names", func(t *testing.T) {
		for _, name := range []string{"", "/abs", "a/../b", "a//b", "./a", "a\\b", "dir/", "\xff"} {
			w := NewWriter(io.Discard, Options{})
			if _, err := w.Add(Header{Name: name, Size: 0}, strings.NewReader("")); !errors.Is(err, ErrBadName) {
				t.Errorf("%q: got %v, want ErrBadName", name, err)
			}
		}
	})
	t.Run("duplicate", func(t *testing.T) {
		w := NewWriter(io.Discard, Options{})
		if _, err := w.Add(Header{Name: "a", Size: 0}, strings.NewReader("")); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Add(Header{Name: "a", Size: 0}, strings.NewReader("")); !errors.Is(err, ErrDuplicate) {
			t.Errorf("got %v, want ErrDuplicate", err)
		}
		if _, err := w.Close(); err != nil {
			t.Errorf("a rejected duplicate must not break the archive: %v", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		w := NewWriter(io.Discard, Options{})
		if _, err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Close(); !errors.Is(err, ErrClosed) {
			t.Errorf("second Close: got %v, want ErrClosed", err)
		}
	})
}

// FuzzWriter round-trips arbitrary entries through archive/zip.
func FuzzWriter(f *testing.F) {
	f.Add([]byte("hello"), uint8(0), true)
	f.Add(textBytes(5000), uint8(1), false)
	f.Add(randomBytes(3000, 3), uint8(2), true)
	f.Fuzz(func(t *testing.T, data []byte, m uint8, known bool) {
		var buf bytes.Buffer
		w := NewWriter(&buf, Options{SampleSize: 1024})
		size := int64(len(data))
		if !known {
			size = -1
		}
		half := len(data) / 2
		if _, err := w.Add(Header{Name: "a", Size: int64(half), Method: Method(m % 3)}, bytes.NewReader(data[:half])); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Add(Header{Name: "b/c", Size: size, Method: Method((m / 3) % 3)}, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		res, err := w.Close()
		if err != nil {
			t.Fatal(err)
		}
		if res.Size != int64(buf.Len()) {
			t.Fatalf("size %d, buffer %d", res.Size, buf.Len())
		}
		zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range [][]byte{data[:half], data} {
			rc, err := zr.File[i].Open()
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("entry %d differs", i)
			}
		}
	})
}

// TestPrepared adds entries prepared in parallel goroutines, mixed with
// streamed ones, and checks the archive with every tool.
func TestPrepared(t *testing.T) {
	opts := Options{Level: HuffmanOnly}
	srcs := mixedSources()
	path := filepath.Join(t.TempDir(), "prepared.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(f, opts)
	prepared := make([]*Prepared, len(srcs))
	done := make(chan int, len(srcs))
	for i, s := range srcs {
		go func() {
			if !s.dir && i%2 == 0 {
				prepared[i] = NewCompressor(Options{Level: HuffmanOnly}).Prepare(s.method, 0, s.data, nil)
			}
			done <- i
		}()
	}
	for range srcs {
		<-done
	}
	var entries []Entry
	for i, s := range srcs {
		var e Entry
		switch {
		case s.dir:
			err = w.AddDir(s.name, modTime)
		case prepared[i] != nil:
			e, err = w.AddPrepared(Header{Name: s.name, Modified: modTime, Size: int64(len(s.data))}, prepared[i])
		default:
			e, err = w.Add(Header{Name: s.name, Modified: modTime, Size: int64(len(s.data)), Method: s.method, Level: 1}, bytes.NewReader(s.data))
		}
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if !s.dir {
			entries = append(entries, e)
		}
	}
	res, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	checkArchive(t, path, srcs, entries, res)
	methods := map[string]uint16{}
	for _, e := range entries {
		methods[e.Name] = e.Method
	}
	if methods["Case/random.bin"] != zipStore || methods["Case/pixels.dcm"] != zipDeflate {
		t.Errorf("prepared methods: %v", methods)
	}
	if _, err := NewWriter(io.Discard, opts).AddPrepared(Header{Name: "x", Size: 5}, NewCompressor(Options{}).Prepare(Auto, 0, []byte("abc"), nil)); !errors.Is(err, ErrSizeMismatch) {
		t.Errorf("got %v, want ErrSizeMismatch", err)
	}
}

// TestPreparedSameBytes checks that an entry prepared ahead and the same
// entry streamed make the same archive, byte for byte.
func TestPreparedSameBytes(t *testing.T) {
	var srcs []source
	for _, s := range mixedSources() {
		if !s.dir && s.size != -1 {
			srcs = append(srcs, s)
		}
	}
	write := func(prepare bool) []byte {
		var buf bytes.Buffer
		w := NewWriter(&buf, Options{})
		for _, s := range srcs {
			h := Header{Name: s.name, Modified: modTime, Size: int64(len(s.data)), Method: s.method, Level: HuffmanOnly}
			var err error
			if prepare {
				_, err = w.AddPrepared(h, NewCompressor(Options{}).Prepare(s.method, HuffmanOnly, s.data, nil))
			} else {
				_, err = w.Add(h, iotest.HalfReader(bytes.NewReader(s.data)))
			}
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
		if _, err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	if streamed, prepared := write(false), write(true); !bytes.Equal(streamed, prepared) {
		t.Errorf("streamed (%d bytes) and prepared (%d bytes) archives differ", len(streamed), len(prepared))
	}
}
