// Package zipstream writes the bundle's ZIP front to back into an io.Writer
// with archive/zip, reading each entry once from its source: no seeking, no
// temporary copy, memory bounded by a few fixed buffers whatever the entry
// sizes.
//
// archive/zip frames the archive: local headers, data descriptors (each
// entry's CRC-32 and sizes written after its data), ZIP64 records where a
// size, an offset or the entry count needs them, the central directory.
// Deflating is klauspost's flate, registered as archive/zip's compressor.
// This package adds what archive/zip does not do:
//
//   - each entry's SHA-256, computed as it streams (for MANIFEST.json and
//     SHA256SUMS);
//   - store or deflate by what pays: unless the caller decides, the first
//     bytes of the entry are deflated as a trial and the entry is stored
//     when the gain is small (already compressed DICOM, JPEG, most PDFs);
//   - a deflate level per entry (Huffman-only for DICOM);
//   - entries hashed and compressed ahead, in parallel, by a Compressor and
//     added as they are (zip.Writer.CreateRaw): the bytes are the same as
//     when the entry is streamed;
//   - entry names checked and duplicates refused.
//
// An entry of 4 GiB or more gets ZIP64 sizes in its data descriptor and in
// the central directory but, written before its size is known, no ZIP64
// extra field in its local header: readers that use the central directory
// (Info-ZIP unzip, Python's zipfile, Go's archive/zip, bsdtar reading a
// file) read it; bsdtar reading the archive from a pipe does not
// (docs/adr/0005).
//
// Error messages name entries by number, never by name: names may hold
// patient data.
package zipstream

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/flate"
)

// Method says how an entry is written.
type Method int

// Methods.
const (
	// Auto deflates the entry when a trial on its first bytes saves at least
	// Options.MinGain, else stores it.
	Auto Method = iota
	// Store writes the bytes as they are.
	Store
	// Deflate always deflates.
	Deflate
)

// ZIP method numbers as they appear in the archive (Entry.Method).
const (
	zipStore   = zip.Store
	zipDeflate = zip.Deflate
)

const (
	flagDescriptor = 0x0008
	flagUTF8       = 0x0800
	versionZip20   = 20
	extraTimestamp = 0x5455
	copyBufSize    = 256 << 10
)

// Errors.
var (
	// ErrSizeMismatch means an entry's source gave another number of bytes
	// than its header announced.
	ErrSizeMismatch = errors.New("entry size differs from the announced size")
	// ErrClosed means the writer was closed or failed before.
	ErrClosed = errors.New("zip writer closed")
	// ErrBadName means an entry name is empty, absolute, or climbs out of the archive.
	ErrBadName = errors.New("bad entry name")
	// ErrDuplicate means two entries have the same name.
	ErrDuplicate = errors.New("duplicate entry name")
)

// Options tune a Writer; the zero value is the default.
type Options struct {
	// MinGain is the fraction of the trial sample that deflating must save
	// for an Auto entry to be deflated (default 0.10).
	MinGain float64
	// SampleSize is how many leading bytes of an Auto entry the trial
	// deflates (default 256 KiB).
	SampleSize int
	// Level is the deflate level, HuffmanOnly or 1 (fastest) to 9 (default 1).
	Level int

	// NoSum skips the archive's own SHA-256 (Result.SHA256 stays zero), for
	// a caller that hashes what it writes elsewhere.
	NoSum bool
}

func (o Options) withDefaults() Options {
	if o.MinGain <= 0 {
		o.MinGain = 0.10
	}
	if o.SampleSize <= 0 {
		o.SampleSize = 256 << 10
	}
	if o.Level == 0 {
		o.Level = flate.BestSpeed
	}
	return o
}

// Header describes an entry to add.
type Header struct {
	// Name is the entry's path in the archive, slash-separated, relative.
	Name string
	// Modified is the entry's modification time (stored as MS-DOS time and
	// as a Unix timestamp); give it in UTC.
	Modified time.Time
	// Size is the number of bytes the source will yield, or -1 when unknown.
	// A known size is checked.
	Size int64
	// Method is how to write the entry.
	Method Method
	// Level overrides the writer's deflate level for this entry (0: the
	// writer's).
	Level int
}

// HuffmanOnly is the deflate level that only entropy-codes (no string
// matching): about twice as fast as level 1 and, on DICOM pixel data, most
// of its gain.
const HuffmanOnly = flate.HuffmanOnly

// Entry is what was written for one entry.
type Entry struct {
	Name   string
	Method uint16 // 0 stored, 8 deflated
	SHA256 [sha256.Size]byte
	Size   int64 // uncompressed
}

// Result describes a finished archive.
type Result struct {
	Size    int64
	SHA256  [sha256.Size]byte
	Entries int
}

// Writer writes a ZIP archive to an io.Writer.
type Writer struct {
	zw     *zip.Writer
	out    *countWriter
	opts   Options
	names  map[string]bool
	count  int
	sample []byte
	trial  bytes.Buffer
	fws    map[int]*flate.Writer // archive/zip's compressors, by level
	tfws   map[int]*flate.Writer // the trial's: archive/zip closes an entry's compressor only when the next entry is created
	level  int                   // deflate level of the entry being created
	cur    *flate.Writer         // the compressor archive/zip writes the current entry through
	buf    []byte
	err    error // sticky
	closed bool
}

// NewWriter starts an archive on w.
func NewWriter(w io.Writer, opts Options) *Writer {
	opts = opts.withDefaults()
	out := &countWriter{w: w}
	if !opts.NoSum {
		out.h = sha256.New()
	}
	zw := &Writer{zw: zip.NewWriter(out), out: out, opts: opts, names: map[string]bool{}}
	zw.zw.RegisterCompressor(zip.Deflate, func(dst io.Writer) (io.WriteCloser, error) {
		zw.cur = flateWriter(&zw.fws, dst, zw.level, zw.opts.Level)
		return zw.cur, nil
	})
	return zw
}

// flateWriter returns the compressor of a level from fws, reset to dst.
func flateWriter(fws *map[int]*flate.Writer, dst io.Writer, level, def int) *flate.Writer {
	if level == 0 {
		level = def
	}
	if *fws == nil {
		*fws = map[int]*flate.Writer{}
	}
	fw := (*fws)[level]
	if fw == nil {
		var err error
		if fw, err = flate.NewWriter(dst, level); err != nil {
			// Only a level out of range fails; fall back to the fastest.
			fw, _ = flate.NewWriter(dst, flate.BestSpeed)
		}
		(*fws)[level] = fw
		return fw
	}
	fw.Reset(dst)
	return fw
}

// CheckName reports whether name can be an entry name.
func CheckName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") ||
		!utf8.ValidString(name) || len(name) > 0xffff {
		return ErrBadName
	}
	for _, p := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
		if p == "" || p == "." || p == ".." {
			return ErrBadName
		}
	}
	return nil
}

func (w *Writer) check(name string) error {
	if w.closed {
		return ErrClosed
	}
	if w.err != nil {
		return fmt.Errorf("%w: %w", ErrClosed, w.err)
	}
	if err := CheckName(name); err != nil {
		return err
	}
	if w.names[name] {
		return fmt.Errorf("entry %d: %w", w.count, ErrDuplicate)
	}
	return nil
}

func (w *Writer) added(name string) {
	w.names[name] = true
	w.count++
}

// AddDir adds a directory entry; name ends with "/" (added if missing).
func (w *Writer) AddDir(name string, modified time.Time) error {
	if !strings.HasSuffix(name, "/") {
		name += "/"
	}
	if err := w.check(name); err != nil {
		return err
	}
	fh := &zip.FileHeader{Name: name, Modified: modified}
	fh.SetMode(fs.ModeDir | 0o755)
	if _, err := w.zw.CreateHeader(fh); err != nil {
		w.err = fmt.Errorf("write entry %d: %w", w.count, err)
		return w.err
	}
	w.added(name)
	return nil
}

// Add streams one entry from r. r is read to its end (a known Size is
// checked against what it yields).
func (w *Writer) Add(h Header, r io.Reader) (Entry, error) {
	if strings.HasSuffix(h.Name, "/") {
		return Entry{}, fmt.Errorf("%w: a file name ends with /", ErrBadName)
	}
	if err := w.check(h.Name); err != nil {
		return Entry{}, err
	}
	e, err := w.write(h, r)
	if err != nil {
		// A partial entry is in the archive: every later call fails too.
		w.err = err
		return Entry{}, err
	}
	w.added(h.Name)
	return e, nil
}

func (w *Writer) write(h Header, r io.Reader) (Entry, error) {
	e := Entry{Name: h.Name}
	sum := sha256.New()
	src := &hashReader{r: r, h: sum}

	method := zipStore
	var head []byte // the sample read for the trial
	flushAfterHead := false
	switch {
	case h.Size == 0 || h.Method == Store:
	case h.Method == Deflate:
		method = zipDeflate
	default:
		if w.sample == nil {
			w.sample = make([]byte, w.opts.SampleSize)
		}
		n, err := io.ReadFull(src, w.sample)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return e, fmt.Errorf("read entry %d: %w", w.count, err)
		}
		head = w.sample[:n]
		if n > 0 {
			w.trial.Reset()
			fw := flateWriter(&w.tfws, &w.trial, h.Level, w.opts.Level)
			_, _ = fw.Write(head) // writes to a bytes.Buffer never fail
			_ = fw.Flush()
			if float64(w.trial.Len()) <= float64(n)*(1-w.opts.MinGain) {
				method = zipDeflate
				// A prepared entry's stream is flushed after the sample
				// too: the same bytes either way.
				flushAfterHead = true
			}
		}
	}
	e.Method = method

	fh := &zip.FileHeader{Name: h.Name, Method: method, Modified: h.Modified}
	fh.SetMode(0o644)
	w.level = h.Level
	fw, err := w.zw.CreateHeader(fh)
	if err != nil {
		return e, fmt.Errorf("write entry %d: %w", w.count, err)
	}
	if _, err := fw.Write(head); err != nil {
		return e, fmt.Errorf("write entry %d: %w", w.count, err)
	}
	if flushAfterHead {
		if err := w.cur.Flush(); err != nil {
			return e, fmt.Errorf("deflate entry %d: %w", w.count, err)
		}
	}
	if w.buf == nil {
		w.buf = make([]byte, copyBufSize)
	}
	if _, err := io.CopyBuffer(fw, src, w.buf); err != nil {
		return e, fmt.Errorf("copy entry %d: %w", w.count, err)
	}
	e.Size = src.n
	copy(e.SHA256[:], sum.Sum(nil))
	if h.Size >= 0 && e.Size != h.Size {
		return e, fmt.Errorf("entry %d: got %d bytes, want %d: %w", w.count, e.Size, h.Size, ErrSizeMismatch)
	}
	return e, nil
}

// Close writes the central directory and the end records. It does not close
// the underlying writer.
func (w *Writer) Close() (Result, error) {
	if w.closed {
		return Result{}, ErrClosed
	}
	w.closed = true
	if w.err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrClosed, w.err)
	}
	if err := w.zw.Close(); err != nil {
		return Result{}, fmt.Errorf("write central directory: %w", err)
	}
	r := Result{Size: w.out.n, Entries: w.count}
	if w.out.h != nil {
		copy(r.SHA256[:], w.out.h.Sum(nil))
	}
	return r, nil
}

// requiresUTF8 is archive/zip's rule for setting the UTF-8 flag: a valid
// UTF-8 name that is not plain CP-437-compatible ASCII.
func requiresUTF8(name string) bool {
	if !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if r < 0x20 || r > 0x7d || r == 0x5c {
			return true
		}
	}
	return false
}

// timestampExtra is the extended timestamp field (0x5455) with the
// modification time, as archive/zip writes it.
func timestampExtra(t time.Time) []byte {
	var b [9]byte
	binary.LittleEndian.PutUint16(b[0:], extraTimestamp)
	binary.LittleEndian.PutUint16(b[2:], 5)
	b[4] = 1 // modification time present
	binary.LittleEndian.PutUint32(b[5:], uint32(t.Unix()))
	return b[:]
}

// countWriter counts and hashes what it passes on.
type countWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if c.h != nil {
		c.h.Write(p[:n])
	}
	c.n += int64(n)
	return n, err
}

// hashReader computes the SHA-256 of what it reads.
type hashReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func (h *hashReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if n > 0 {
		h.h.Write(p[:n])
		h.n += int64(n)
	}
	return n, err
}
