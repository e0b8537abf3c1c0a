package zipstream

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"hash/crc32"

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

// Read makes *Prepared an io.Reader only so that add can take it; it is
// never read.
func (p *Prepared) Read([]byte) (int, error) { return 0, fmt.Errorf("zipstream: Prepared is not read") }

// Data is the buffer holding the entry's bytes, to reuse once added.
func (p *Prepared) Data() []byte { return p.data }

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
	if level == 0 {
		level = c.opts.Level
	}
	if c.fws == nil {
		c.fws = map[int]*flate.Writer{}
	}
	fw := c.fws[level]
	if fw == nil {
		var err error
		if fw, err = flate.NewWriter(c.buf, level); err != nil {
			fw, _ = flate.NewWriter(c.buf, flate.BestSpeed)
		}
		c.fws[level] = fw
	} else {
		fw.Reset(c.buf)
	}
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

// AddPrepared adds an entry prepared by a Compressor.
func (w *Writer) AddPrepared(h Header, p *Prepared) (Entry, error) {
	if h.Size >= 0 && h.Size != p.size {
		return Entry{}, fmt.Errorf("entry %d: got %d bytes, want %d: %w", len(w.dir), p.size, h.Size, ErrSizeMismatch)
	}
	return w.add(h, p, false)
}

func (w *Writer) writePrepared(h Header, p *Prepared) (Entry, error) {
	e := Entry{Name: h.Name, Offset: w.out.n, modified: h.Modified, Method: p.method,
		CRC32: p.crc, SHA256: p.sha, Size: p.size, CompressedSize: int64(len(p.data))}
	e.zip64 = w.opts.forceZip64 || e.Size >= u32max || e.CompressedSize >= u32max
	if err := w.writeLocal(e, e.Method); err != nil {
		return e, err
	}
	if _, err := w.out.Write(p.data); err != nil {
		return e, fmt.Errorf("write entry %d: %w", len(w.dir), err)
	}
	if err := w.writeDescriptor(e); err != nil {
		return e, err
	}
	return e, nil
}
