// Package zipstream writes a ZIP archive front to back into an io.Writer,
// reading each entry once from its source: no seeking, no temporary copy,
// memory bounded by a few fixed buffers whatever the entry sizes.
//
// Every entry carries a data descriptor (general purpose bit 3): its CRC-32,
// its SHA-256 and its sizes are computed while it streams. ZIP64 records are
// written where a size, an offset or the entry count needs them. Each entry
// is stored or deflated by what pays: unless the caller decides, the first
// bytes of the entry are deflated as a trial and the entry is stored when the
// gain is small (already compressed DICOM, JPEG, most PDFs).
//
// Error messages name entries by number, never by name: names may hold
// patient data.
package zipstream

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
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

// ZIP method numbers as they appear in the archive.
const (
	zipStore   uint16 = 0
	zipDeflate uint16 = 8
)

const (
	sigLocal       = 0x04034b50
	sigDescriptor  = 0x08074b50
	sigCentral     = 0x02014b50
	sigEnd         = 0x06054b50
	sigEnd64       = 0x06064b50
	sigEnd64Locate = 0x07064b50

	u16max = 0xffff
	u32max = 0xffffffff

	versionZip20 = 20
	versionZip45 = 45
	madeByUnix   = 3 << 8

	flagDescriptor = 0x0008
	flagUTF8       = 0x0800

	extraZip64     = 0x0001
	extraTimestamp = 0x5455

	// deflateMargin is kept below 4 GiB for deflated entries so that a
	// slightly expanding stream still fits a 32-bit size field.
	deflateMargin = 64 << 20

	copyBufSize = 256 << 10
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

	// ArchiveZip makes New return a StdWriter (archive/zip's framing)
	// instead of a Writer.
	ArchiveZip bool

	// forceZip64 writes ZIP64 records for every entry and the end of the
	// archive, so tests can exercise them with small data.
	forceZip64 bool
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
	// Modified is the entry's modification time (stored as DOS time and as
	// a UTC Unix timestamp).
	Modified time.Time
	// Size is the number of bytes the source will yield, or -1 when unknown.
	// A known size is checked; an unknown one makes the entry ZIP64.
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
	Name           string
	Method         uint16 // 0 stored, 8 deflated
	CRC32          uint32
	SHA256         [sha256.Size]byte
	Size           int64 // uncompressed
	CompressedSize int64
	Offset         int64 // of the local header
	Dir            bool
	modified       time.Time
	zip64          bool // local header carries a ZIP64 extra
}

// Result describes a finished archive.
type Result struct {
	Size    int64
	SHA256  [sha256.Size]byte
	Entries int
}

// Writer writes a ZIP archive to an io.Writer.
type Writer struct {
	out    *countWriter
	opts   Options
	dir    []Entry
	names  map[string]bool
	sample []byte
	fws    map[int]*flate.Writer
	fw     *flate.Writer
	sink   switchWriter
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
	return &Writer{
		out:   out,
		opts:  opts,
		names: make(map[string]bool),
	}
}

// Offset is the number of bytes written so far.
func (w *Writer) Offset() int64 { return w.out.n }

// CheckName reports whether name can be an entry name.
func CheckName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") ||
		!utf8.ValidString(name) || len(name) > u16max {
		return ErrBadName
	}
	for _, p := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
		if p == "" || p == "." || p == ".." {
			return ErrBadName
		}
	}
	return nil
}

// AddDir adds a directory entry; name ends with "/" (added if missing).
func (w *Writer) AddDir(name string, modified time.Time) error {
	if !strings.HasSuffix(name, "/") {
		name += "/"
	}
	_, err := w.add(Header{Name: name, Modified: modified, Size: 0, Method: Store}, bytes.NewReader(nil), true)
	return err
}

// Add streams one entry from r. r is read to its end (a known Size is
// checked against what it yields).
func (w *Writer) Add(h Header, r io.Reader) (Entry, error) {
	if strings.HasSuffix(h.Name, "/") {
		return Entry{}, fmt.Errorf("%w: a file name ends with /", ErrBadName)
	}
	return w.add(h, r, false)
}

func (w *Writer) add(h Header, r io.Reader, isDir bool) (Entry, error) {
	if w.closed {
		return Entry{}, ErrClosed
	}
	if w.err != nil {
		return Entry{}, fmt.Errorf("%w: %w", ErrClosed, w.err)
	}
	if err := CheckName(h.Name); err != nil {
		return Entry{}, err
	}
	if w.names[h.Name] {
		return Entry{}, fmt.Errorf("entry %d: %w", len(w.dir), ErrDuplicate)
	}
	var e Entry
	var err error
	if p, ok := r.(*Prepared); ok {
		e, err = w.writePrepared(h, p)
	} else {
		e, err = w.write(h, r, isDir)
	}
	if err != nil {
		// A source error leaves a partial entry behind: the archive is
		// unusable, so every later call fails too.
		w.err = err
		return Entry{}, err
	}
	w.names[h.Name] = true
	w.dir = append(w.dir, e)
	return e, nil
}

func (w *Writer) write(h Header, r io.Reader, isDir bool) (Entry, error) {
	e := Entry{Name: h.Name, Offset: w.out.n, Dir: isDir, modified: h.Modified}
	crc := crc32.NewIEEE()
	sum := sha256.New()
	src := &hashReader{r: r, crc: crc, sha: sum}

	method := zipStore
	var trial *bytes.Buffer // deflated sample, when the trial decided to deflate
	var head []byte         // stored sample, when the trial decided to store
	switch {
	case isDir || h.Size == 0 || h.Method == Store:
	case h.Method == Deflate:
		method = zipDeflate
	default:
		if w.sample == nil {
			w.sample = make([]byte, w.opts.SampleSize)
		}
		n, err := io.ReadFull(src, w.sample)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return e, fmt.Errorf("read entry %d: %w", len(w.dir), err)
		}
		head = w.sample[:n]
		if n > 0 {
			trial = &bytes.Buffer{}
			trial.Grow(n + n/8)
			if err := w.deflateTo(trial, head, h.Level); err != nil {
				return e, err
			}
			// The trial stream is not flushed yet; what is buffered in the
			// compressor is at most one block, so compare after a flush.
			if err := w.fw.Flush(); err != nil {
				return e, fmt.Errorf("deflate entry %d: %w", len(w.dir), err)
			}
			if float64(trial.Len()) <= float64(n)*(1-w.opts.MinGain) {
				method = zipDeflate
				head = nil
			} else {
				trial = nil
			}
		}
	}
	e.Method = method

	// A ZIP64 extra in the local header makes the data descriptor 64-bit.
	limit := int64(u32max)
	if method == zipDeflate {
		limit -= deflateMargin
	}
	e.zip64 = w.opts.forceZip64 || h.Size < 0 || h.Size >= limit
	if err := w.writeLocal(e, method); err != nil {
		return e, err
	}
	dataStart := w.out.n

	switch {
	case method == zipDeflate:
		if trial != nil {
			// Continue the trial's compressor: its output so far is in trial.
			if _, err := w.out.Write(trial.Bytes()); err != nil {
				return e, fmt.Errorf("write entry %d: %w", len(w.dir), err)
			}
			w.sink.w = w.out
		} else {
			w.resetDeflate(w.out, h.Level)
		}
		if _, err := io.CopyBuffer(w.fw, src, w.copyBuf()); err != nil {
			return e, fmt.Errorf("deflate entry %d: %w", len(w.dir), err)
		}
		if err := w.fw.Close(); err != nil {
			return e, fmt.Errorf("deflate entry %d: %w", len(w.dir), err)
		}
	default:
		if _, err := w.out.Write(head); err != nil {
			return e, fmt.Errorf("write entry %d: %w", len(w.dir), err)
		}
		if _, err := io.CopyBuffer(w.out, src, w.copyBuf()); err != nil {
			return e, fmt.Errorf("copy entry %d: %w", len(w.dir), err)
		}
	}
	e.Size = src.n
	e.CompressedSize = w.out.n - dataStart
	e.CRC32 = crc.Sum32()
	copy(e.SHA256[:], sum.Sum(nil))
	if h.Size >= 0 && e.Size != h.Size {
		return e, fmt.Errorf("entry %d: got %d bytes, want %d: %w", len(w.dir), e.Size, h.Size, ErrSizeMismatch)
	}
	if !e.zip64 && (e.Size >= u32max || e.CompressedSize >= u32max) {
		// Only reachable with a source that lies about its size, caught above.
		return e, fmt.Errorf("entry %d grew past 4 GiB without ZIP64: %w", len(w.dir), ErrSizeMismatch)
	}
	if err := w.writeDescriptor(e); err != nil {
		return e, err
	}
	return e, nil
}

func (w *Writer) copyBuf() []byte {
	if w.buf == nil {
		w.buf = make([]byte, copyBufSize)
	}
	return w.buf
}

// deflateTo starts a fresh deflate stream into dst and writes p.
func (w *Writer) deflateTo(dst io.Writer, p []byte, level int) error {
	w.resetDeflate(dst, level)
	if _, err := w.fw.Write(p); err != nil {
		return fmt.Errorf("deflate: %w", err)
	}
	return nil
}

func (w *Writer) resetDeflate(dst io.Writer, level int) {
	w.sink.w = dst
	if level == 0 {
		level = w.opts.Level
	}
	if w.fws == nil {
		w.fws = map[int]*flate.Writer{}
	}
	fw := w.fws[level]
	if fw == nil {
		var err error
		if fw, err = flate.NewWriter(&w.sink, level); err != nil {
			// Only a level out of range fails; fall back to the fastest.
			fw, _ = flate.NewWriter(&w.sink, flate.BestSpeed)
		}
		w.fws[level] = fw
	} else {
		fw.Reset(&w.sink)
	}
	w.fw = fw
}

func (w *Writer) writeLocal(e Entry, method uint16) error {
	var b bytes.Buffer
	extra := timestampExtra(e.modified, true)
	version := uint16(versionZip20)
	sizes := uint32(0)
	if e.zip64 {
		version = versionZip45
		sizes = u32max
		var z [20]byte
		binary.LittleEndian.PutUint16(z[0:], extraZip64)
		binary.LittleEndian.PutUint16(z[2:], 16)
		extra = append(z[:], extra...)
	}
	date, tm := dosTime(e.modified)
	le(&b, uint32(sigLocal), version, flags(e.Name), method, tm, date,
		uint32(0), sizes, sizes, uint16(len(e.Name)), uint16(len(extra)))
	b.WriteString(e.Name)
	b.Write(extra)
	if _, err := w.out.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write header: %w", err)
	}
	return nil
}

func (w *Writer) writeDescriptor(e Entry) error {
	var b bytes.Buffer
	if e.zip64 {
		le(&b, uint32(sigDescriptor), e.CRC32, uint64(e.CompressedSize), uint64(e.Size))
	} else {
		le(&b, uint32(sigDescriptor), e.CRC32, uint32(e.CompressedSize), uint32(e.Size))
	}
	if _, err := w.out.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write descriptor: %w", err)
	}
	return nil
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
	start := w.out.n
	var b bytes.Buffer
	for _, e := range w.dir {
		b.Reset()
		writeCentral(&b, e, w.opts.forceZip64)
		if _, err := w.out.Write(b.Bytes()); err != nil {
			return Result{}, fmt.Errorf("write central directory: %w", err)
		}
	}
	end := w.out.n
	size := end - start
	count := len(w.dir)
	b.Reset()
	if w.opts.forceZip64 || count >= u16max || size >= u32max || start >= u32max {
		// ZIP64 end of central directory record and its locator.
		le(&b, uint32(sigEnd64), uint64(44), uint16(madeByUnix|versionZip45), uint16(versionZip45),
			uint32(0), uint32(0), uint64(count), uint64(count), uint64(size), uint64(start))
		le(&b, uint32(sigEnd64Locate), uint32(0), uint64(end), uint32(1))
	}
	le(&b, uint32(sigEnd), uint16(0), uint16(0),
		clamp16(count, w.opts.forceZip64), clamp16(count, w.opts.forceZip64),
		clamp32(size, w.opts.forceZip64), clamp32(start, w.opts.forceZip64), uint16(0))
	if _, err := w.out.Write(b.Bytes()); err != nil {
		return Result{}, fmt.Errorf("write end of central directory: %w", err)
	}
	r := Result{Size: w.out.n, Entries: count}
	if w.out.h != nil {
		copy(r.SHA256[:], w.out.h.Sum(nil))
	}
	return r, nil
}

func writeCentral(b *bytes.Buffer, e Entry, force bool) {
	var z []byte
	usize, csize, off := uint32(e.Size), uint32(e.CompressedSize), uint32(e.Offset)
	if force || e.Size >= u32max {
		usize = u32max
		z = binary.LittleEndian.AppendUint64(z, uint64(e.Size))
	}
	if force || e.CompressedSize >= u32max {
		csize = u32max
		z = binary.LittleEndian.AppendUint64(z, uint64(e.CompressedSize))
	}
	if force || e.Offset >= u32max {
		off = u32max
		z = binary.LittleEndian.AppendUint64(z, uint64(e.Offset))
	}
	var extra []byte
	version := uint16(versionZip20)
	if len(z) > 0 || e.zip64 {
		version = versionZip45
	}
	if len(z) > 0 {
		extra = binary.LittleEndian.AppendUint16(extra, extraZip64)
		extra = binary.LittleEndian.AppendUint16(extra, uint16(len(z)))
		extra = append(extra, z...)
	}
	extra = append(extra, timestampExtra(e.modified, false)...)
	mode := uint32(0o100644)
	if e.Dir {
		mode = 0o040755
	}
	date, tm := dosTime(e.modified)
	le(b, uint32(sigCentral), uint16(madeByUnix|versionZip45), version, flags(e.Name), e.Method, tm, date,
		e.CRC32, csize, usize, uint16(len(e.Name)), uint16(len(extra)), uint16(0),
		uint16(0), uint16(0), mode<<16, off)
	b.WriteString(e.Name)
	b.Write(extra)
}

func flags(name string) uint16 {
	f := uint16(flagDescriptor)
	for i := 0; i < len(name); i++ {
		if name[i] >= 0x80 {
			return f | flagUTF8
		}
	}
	return f
}

// timestampExtra is the extended timestamp field (0x5455) with the
// modification time, UTC seconds.
func timestampExtra(t time.Time, local bool) []byte {
	if t.IsZero() {
		return nil
	}
	_ = local // the same 5-byte body serves the local and the central header
	var b [9]byte
	binary.LittleEndian.PutUint16(b[0:], extraTimestamp)
	binary.LittleEndian.PutUint16(b[2:], 5)
	b[4] = 1 // modification time present
	binary.LittleEndian.PutUint32(b[5:], uint32(t.Unix()))
	return b[:]
}

// dosTime encodes t (in UTC) as MS-DOS date and time; times before 1980 become 1980-01-01.
func dosTime(t time.Time) (date, tm uint16) {
	if t.IsZero() {
		return 0x21, 0 // 1980-01-01 00:00
	}
	t = t.UTC()
	if t.Year() < 1980 {
		return 0x21, 0
	}
	date = uint16(t.Day() + int(t.Month())<<5 + (t.Year()-1980)<<9)
	tm = uint16(t.Second()/2 + t.Minute()<<5 + t.Hour()<<11)
	return date, tm
}

func clamp16(n int, force bool) uint16 {
	if force || n >= u16max {
		return u16max
	}
	return uint16(n)
}

func clamp32(n int64, force bool) uint32 {
	if force || n >= u32max {
		return u32max
	}
	return uint32(n)
}

// le writes fixed-size little-endian values.
func le(b *bytes.Buffer, vs ...any) {
	for _, v := range vs {
		_ = binary.Write(b, binary.LittleEndian, v) // bytes.Buffer writes never fail
	}
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

// switchWriter lets one deflate compressor write to the trial buffer first
// and to the archive after.
type switchWriter struct{ w io.Writer }

func (s *switchWriter) Write(p []byte) (int, error) { return s.w.Write(p) }

// hashReader computes the CRC-32 and SHA-256 of what it reads.
type hashReader struct {
	r   io.Reader
	crc hash.Hash32
	sha hash.Hash
	n   int64
}

func (h *hashReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if n > 0 {
		if h.crc != nil {
			h.crc.Write(p[:n])
		}
		h.sha.Write(p[:n])
		h.n += int64(n)
	}
	return n, err
}
