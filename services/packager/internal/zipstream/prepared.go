package zipstream

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"fmt"
	"hash/crc32"
	"strings"

	"github.com/klauspost/compress/flate"
)

// Prepared is an entry hashed and compressed in memory ahead of its turn,
// so that several entries can be prepared at once while the archive is
// written in order. Add it with AddPrepared.
type Prepared struct {
	method uint16
	crc    uint32
	sha    [sha256.Size]byte
	size   int64
	data   []byte // what goes into the archive: compressed or stored bytes
}

// Compressor prepares entries; it is not safe for concurrent use: each
// goroutine has its own.
type Compressor struct {
	opts Options
	fws  map[int]*flate.Writer
	buf  *bytes.Buffer
}

// NewCompressor returns a Compressor with the writer's options.
func NewCompressor(opts Options) *Compressor {
	return &Compressor{opts: opts.withDefaults()}
}

// Prepare hashes data and decides, like Add (level as in Header.Level), whether deflating pays. The
// result's bytes live in out (grown as needed) or, when stored, in data:
// neither may change until the entry is added.
func (c *Compressor) Prepare(method Method, level int, data, out []byte) *Prepared {
	p := &Prepared{size: int64(len(data)), crc: crc32.ChecksumIEEE(data), sha: sha256.Sum256(data)}
	p.method, p.data = zipStore, data
	if len(data) == 0 || method == Store {
		return p
	}
	c.buf = bytes.NewBuffer(out[:0])
	fw := flateWriter(&c.fws, c.buf, level, c.opts.Level)
	n := len(data)
	if method == Auto {
		n = min(len(data), c.opts.SampleSize)
	}
	_, _ = fw.Write(data[:n]) // writes to a bytes.Buffer never fail
	if method == Auto {
		_ = fw.Flush()
		if float64(c.buf.Len()) > float64(n)*(1-c.opts.MinGain) {
			return p // deflate does not pay: store
		}
	}
	_, _ = fw.Write(data[n:])
	_ = fw.Close()
	p.method, p.data = zipDeflate, c.buf.Bytes()
	return p
}

// AddPrepared adds an entry prepared by a Compressor: its bytes go in as
// they are (zip.Writer.CreateRaw), under the same local header and data
// descriptor zip.Writer.CreateHeader writes for a streamed entry.
func (w *Writer) AddPrepared(h Header, p *Prepared) (Entry, error) {
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
	if t := h.Modified; !t.IsZero() {
		// What CreateHeader does with Modified: its MS-DOS date and time as
		// given, and the extended timestamp.
		fh.Modified = t
		fh.ModifiedDate = uint16(t.Day() + int(t.Month())<<5 + (t.Year()-1980)<<9)
		fh.ModifiedTime = uint16(t.Second()/2 + t.Minute()<<5 + t.Hour()<<11)
		fh.Extra = timestampExtra(t)
	}
	fw, err := w.zw.CreateRaw(fh)
	if err == nil {
		_, err = fw.Write(p.data)
	}
	if err != nil {
		w.err = fmt.Errorf("write entry %d: %w", w.count, err)
		return Entry{}, w.err
	}
	w.added(h.Name)
	return Entry{Name: h.Name, Method: p.method, SHA256: p.sha, Size: p.size}, nil
}
