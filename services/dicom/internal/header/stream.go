package header

import (
	"errors"
	"fmt"
	"io"
)

// countingReader counts the bytes read from the object.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// stream is a forward-only window over a reader: it reads in chunks of at
// most chunk bytes, so that stopping early leaves at most one chunk unused.
type stream struct {
	r     io.Reader
	buf   []byte
	pos   int   // next unread byte in buf
	end   int   // end of valid data in buf
	base  int64 // stream offset of buf[0]
	eof   bool
	chunk int
	limit int64 // bytes that may be consumed in all (header cap); 0: none
}

var errShort = errors.New("short read")

func newStream(r io.Reader, buf []byte, chunk int, limit int64) *stream {
	return &stream{r: r, buf: buf[:cap(buf)], chunk: chunk, limit: limit}
}

// offset is the stream offset of the next unread byte.
func (s *stream) offset() int64 { return s.base + int64(s.pos) }

// fill makes n bytes available at pos, or returns io.ErrUnexpectedEOF / io.EOF
// (io.EOF only when no byte at all is left).
func (s *stream) fill(n int) error {
	if s.end-s.pos >= n {
		return nil
	}
	if s.limit > 0 && s.offset()+int64(n) > s.limit {
		return ErrHeaderTooLarge
	}
	if s.pos > 0 && (len(s.buf)-s.pos < n || s.pos > len(s.buf)/2) {
		copy(s.buf, s.buf[s.pos:s.end])
		s.base += int64(s.pos)
		s.end -= s.pos
		s.pos = 0
	}
	if len(s.buf) < n {
		nb := make([]byte, max(n, 2*len(s.buf)))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	for s.end-s.pos < n {
		if s.eof {
			if s.end == s.pos {
				return io.EOF
			}
			return io.ErrUnexpectedEOF
		}
		want := max(n-(s.end-s.pos), s.chunk)
		want = min(want, len(s.buf)-s.end)
		m, err := s.r.Read(s.buf[s.end : s.end+want])
		s.end += m
		if err != nil {
			if errors.Is(err, io.EOF) {
				s.eof = true
				continue
			}
			return fmt.Errorf("read: %w", err)
		}
	}
	return nil
}

// peek returns the next n bytes without consuming them; the slice is valid
// until the next fill.
func (s *stream) peek(n int) ([]byte, error) {
	if err := s.fill(n); err != nil {
		return nil, err
	}
	return s.buf[s.pos : s.pos+n], nil
}

// next consumes and returns n bytes.
func (s *stream) next(n int) ([]byte, error) {
	b, err := s.peek(n)
	if err != nil {
		return nil, err
	}
	s.pos += n
	return b, nil
}

// skip consumes n bytes without keeping them.
func (s *stream) skip(n int64) error {
	if n <= int64(s.end-s.pos) {
		s.pos += int(n)
		return nil
	}
	if s.limit > 0 && s.offset()+n > s.limit {
		return ErrHeaderTooLarge
	}
	n -= int64(s.end - s.pos)
	s.base += int64(s.end)
	s.pos, s.end = 0, 0
	for n > 0 {
		if s.eof {
			return io.ErrUnexpectedEOF
		}
		want := int(min(n, int64(len(s.buf))))
		m, err := s.r.Read(s.buf[:want])
		n -= int64(m)
		s.base += int64(m)
		if err != nil {
			if errors.Is(err, io.EOF) {
				s.eof = true
				continue
			}
			return fmt.Errorf("read: %w", err)
		}
	}
	return nil
}

// rest returns a reader of everything not yet consumed.
func (s *stream) rest() io.Reader {
	left := s.buf[s.pos:s.end]
	if s.eof {
		return &sliceReader{b: left}
	}
	return io.MultiReader(&sliceReader{b: left}, s.r)
}

type sliceReader struct{ b []byte }

func (r *sliceReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}
