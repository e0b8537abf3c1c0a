package zipstream

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/flate"
)

// Archive is what the bundler writes entries into: Writer (this package's
// own ZIP framing) or StdWriter (archive/zip's).
type Archive interface {
	AddDir(name string, modified time.Time) error
	Add(h Header, r io.Reader) (Entry, error)
	AddPrepared(h Header, p *Prepared) (Entry, error)
	Close() (Result, error)
}

// New starts an archive on w with the writer opts ask for.
func New(w io.Writer, opts Options) Archive {
	if opts.ArchiveZip {
		return NewStdWriter(w, opts)
	}
	return NewWriter(w, opts)
}

// StdWriter writes the archive with archive/zip: streamed entries through
// zip.Writer.CreateHeader, deflated by klauspost's flate registered as its
// compressor; prepared entries through CreateRaw with the CRC-32 and sizes
// they carry. archive/zip writes the headers, data descriptors, ZIP64
// records and central directory. What stays here is what archive/zip does
// not do: each entry's SHA-256, the store-or-deflate trial, the per-entry
// deflate level, entries compressed ahead by a Compressor, and names and
// duplicates checked.
//
// The bytes it writes for an entry are the same whether the entry is
// streamed or prepared.
type StdWriter struct {
	zw     *zip.Writer
	out    *countWriter
	opts   Options
	names  map[string]bool
	count  int
	sample []byte
	trial  bytes.Buffer
	fws    map[int]*flate.Writer // archive/zip's compressors, by level
	tfws   map[int]*flate.Writer // the trial's: the previous entry's compressor is closed only when the next entry is created
	level  int                   // deflate level of the entry being created
	cur    *flate.Writer         // the compressor archive/zip writes the current entry through
	buf    []byte
	err    error // sticky
	closed bool
}

// NewStdWriter starts an archive/zip archive on w.
func NewStdWriter(w io.Writer, opts Options) *StdWriter {
	opts = opts.withDefaults()
	out := &countWriter{w: w}
	if !opts.NoSum {
		out.h = sha256.New()
	}
	s := &StdWriter{zw: zip.NewWriter(out), out: out, opts: opts, names: map[string]bool{}}
	s.zw.RegisterCompressor(zip.Deflate, func(dst io.Writer) (io.WriteCloser, error) {
		s.cur = flateWriter(&s.fws, dst, s.level, s.opts.Level)
		return s.cur, nil
	})
	return s
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

func (w *StdWriter) check(name string) error {
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

// AddDir adds a directory entry; name ends with "/" (added if missing).
func (w *StdWriter) AddDir(name string, modified time.Time) error {
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
	w.names[name] = true
	w.count++
	return nil
}

// Add streams one entry from r. r is read to its end (a known Size is
// checked against what it yields).
func (w *StdWriter) Add(h Header, r io.Reader) (Entry, error) {
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
	w.names[h.Name] = true
	w.count++
	return e, nil
}

func (w *StdWriter) write(h Header, r io.Reader) (Entry, error) {
	e := Entry{Name: h.Name, modified: h.Modified}
	sum := sha256.New()
	src := &hashReader{r: r, sha: sum}

	method := zip.Store
	var head []byte // the sample read for the trial
	flushAfterHead := false
	switch {
	case h.Size == 0 || h.Method == Store:
	case h.Method == Deflate:
		method = zip.Deflate
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
				method = zip.Deflate
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

// AddPrepared adds an entry prepared by a Compressor: its bytes go in as
// they are (CreateRaw), with the same headers and data descriptor
// CreateHeader writes for a streamed entry.
func (w *StdWriter) AddPrepared(h Header, p *Prepared) (Entry, error) {
	if h.Size >= 0 && h.Size != p.size {
		return Entry{}, fmt.Errorf("entry %d: got %d bytes, want %d: %w", w.count, p.size, h.Size, ErrSizeMismatch)
	}
	if strings.HasSuffix(h.Name, "/") {
		return Entry{}, fmt.Errorf("%w: a file name ends with /", ErrBadName)
	}
	if err := w.check(h.Name); err != nil {
		return Entry{}, err
	}
	fh := &zip.FileHeader{
		Name: h.Name, Method: p.method, Flags: flagDescriptor,
		CRC32: p.crc, CompressedSize64: uint64(len(p.data)), UncompressedSize64: uint64(p.size),
		ReaderVersion: versionZip20,
	}
	fh.SetMode(0o644)
	fh.CreatorVersion |= versionZip20
	if requiresUTF8(h.Name) {
		fh.Flags |= flagUTF8
	}
	if !h.Modified.IsZero() {
		// As CreateHeader does: MS-DOS time of Modified as given, and the
		// extended timestamp.
		fh.Modified = h.Modified
		t := h.Modified
		fh.ModifiedDate = uint16(t.Day() + int(t.Month())<<5 + (t.Year()-1980)<<9)
		fh.ModifiedTime = uint16(t.Second()/2 + t.Minute()<<5 + t.Hour()<<11)
		fh.Extra = timestampExtra(t, true)
	}
	fw, err := w.zw.CreateRaw(fh)
	if err == nil {
		_, err = fw.Write(p.data)
	}
	if err != nil {
		w.err = fmt.Errorf("write entry %d: %w", w.count, err)
		return Entry{}, w.err
	}
	w.names[h.Name] = true
	w.count++
	return Entry{Name: h.Name, Method: p.method, CRC32: p.crc, SHA256: p.sha, Size: p.size,
		CompressedSize: int64(len(p.data)), modified: h.Modified}, nil
}

// requiresUTF8 is archive/zip's rule for setting the UTF-8 flag: a name
// that is not plain CP-437-compatible ASCII.
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

// Close writes the central directory and the end records. It does not close
// the underlying writer.
func (w *StdWriter) Close() (Result, error) {
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
