// Package multipart streams bytes into an S3 multipart upload: what is
// written fills fixed-size part buffers, full parts upload in the background
// while the next one fills, and memory stays at (Concurrency+1) part buffers
// whatever the object's size.
package multipart

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Part is one uploaded part.
type Part struct {
	Number int
	ETag   string
	Size   int64
}

// Client is the slice of an S3 client the upload needs.
type Client interface {
	// Create starts a multipart upload and returns its ID.
	Create(ctx context.Context, bucket, key, contentType string) (string, error)
	// UploadPart uploads part number n (1-based) and returns its ETag.
	UploadPart(ctx context.Context, bucket, key, uploadID string, n int, r io.Reader, size int64) (string, error)
	// Complete assembles the parts.
	Complete(ctx context.Context, bucket, key, uploadID string, parts []Part) error
	// Abort discards the upload and its parts.
	Abort(ctx context.Context, bucket, key, uploadID string) error
}

// Options tune an upload; the zero value is the default.
type Options struct {
	// PartSize is the size of the first 2,500 parts (default 8 MiB, at
	// least 5 MiB). Later parts double every 2,500 parts, so the 10,000 parts
	// S3 allows hold 15 times 2,500 first parts (about 290 GiB at 8 MiB).
	PartSize int64
	// Concurrency is how many parts upload at once (default 2).
	Concurrency int
	// ContentType of the object (default application/octet-stream).
	ContentType string
	// SHA256 computes the object's SHA-256 on a goroutine of its own, part
	// by part, while the parts upload (Result.SHA256).
	SHA256 bool
}

// MinPartSize is S3's smallest part size (but for the last part).
const MinPartSize = 5 << 20

// MaxParts is S3's limit on parts per upload.
const MaxParts = 10_000

// ErrTooLarge means the object outgrew the 10,000 parts of an upload.
var ErrTooLarge = errors.New("object too large for a multipart upload")

func (o Options) withDefaults() Options {
	if o.PartSize <= 0 {
		o.PartSize = 8 << 20
	}
	if o.PartSize < MinPartSize {
		o.PartSize = MinPartSize
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 2
	}
	if o.ContentType == "" {
		o.ContentType = "application/octet-stream"
	}
	return o
}

// partSize is the size of part n (1-based).
func (o Options) partSize(n int) int64 {
	return o.PartSize << ((n - 1) / 2500)
}

// Result is a completed upload.
type Result struct {
	Size   int64
	Parts  int
	SHA256 [sha256.Size]byte // when Options.SHA256
}

// Upload creates a multipart upload of bucket/key, calls fill with a writer
// whose bytes become the object, and completes the upload when fill returns
// nil. On any error (from fill, a part upload or ctx) the upload is aborted
// and nothing is left in the bucket.
func Upload(ctx context.Context, c Client, bucket, key string, opts Options, fill func(io.Writer) error) (Result, error) {
	opts = opts.withDefaults()
	id, err := c.Create(ctx, bucket, key, opts.ContentType)
	if err != nil {
		return Result{}, fmt.Errorf("create multipart upload %s: %w", key, err)
	}
	res, err := upload(ctx, c, bucket, key, id, opts, fill)
	if err != nil {
		// Abort with a context of its own: ctx may be what failed.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
		defer cancel()
		if aerr := c.Abort(actx, bucket, key, id); aerr != nil {
			return Result{}, errors.Join(err, fmt.Errorf("abort multipart upload %s: %w", key, aerr))
		}
		return Result{}, err
	}
	return res, nil
}

func upload(ctx context.Context, c Client, bucket, key, id string, opts Options, fill func(io.Writer) error) (Result, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	u := &uploader{
		opts: opts,
		jobs: make(chan job),
		free: make(chan []byte, opts.Concurrency+1),
	}
	for range opts.Concurrency + 1 {
		u.free <- nil // allocated on first use, at the size its part needs
	}
	var wg sync.WaitGroup
	for range opts.Concurrency {
		wg.Go(func() {
			for j := range u.jobs {
				etag, err := c.UploadPart(ctx, bucket, key, id, j.n, &sliceReader{b: j.buf}, int64(len(j.buf)))
				if err != nil {
					cancel(fmt.Errorf("upload part %d of %s: %w", j.n, key, err))
				} else {
					u.done(Part{Number: j.n, ETag: etag, Size: int64(len(j.buf))})
				}
				u.release(j)
			}
		})
	}
	var sum hash.Hash
	var hashed sync.WaitGroup
	if opts.SHA256 {
		sum = sha256.New()
		u.hashq = make(chan job, opts.Concurrency+1)
		hashed.Go(func() {
			for j := range u.hashq {
				sum.Write(j.buf)
				u.release(j)
			}
		})
	}
	u.stop, u.cause = ctx.Done(), func() error { return context.Cause(ctx) }

	ferr := fill(u)
	if ferr == nil {
		ferr = u.flush(true)
	}
	close(u.jobs)
	wg.Wait()
	if u.hashq != nil {
		close(u.hashq)
		hashed.Wait()
	}
	if ferr != nil {
		return Result{}, ferr
	}
	if err := context.Cause(ctx); err != nil {
		return Result{}, err
	}
	parts := u.sorted()
	if err := c.Complete(ctx, bucket, key, id, parts); err != nil {
		return Result{}, fmt.Errorf("complete multipart upload %s: %w", key, err)
	}
	res := Result{Size: u.size, Parts: len(parts)}
	if sum != nil {
		copy(res.SHA256[:], sum.Sum(nil))
	}
	return res, nil
}

const abortTimeout = 30 * time.Second

type job struct {
	n    int
	buf  []byte
	refs *atomic.Int32 // the uploader and the hasher each release the buffer
}

// uploader is the io.Writer handed to fill.
type uploader struct {
	// stop and cause come from Upload's context: a failed part upload
	// cancels it, and the writer then fails too.
	stop  <-chan struct{}
	cause func() error
	opts  Options
	jobs  chan job
	hashq chan job // parts to hash, in order (nil: no hashing)
	free  chan []byte
	cur   []byte
	n     int // parts handed out
	size  int64

	mu    sync.Mutex
	parts []Part
}

// release returns a part's buffer once the uploader and the hasher are done with it.
func (u *uploader) release(j job) {
	if j.refs.Add(-1) == 0 {
		u.free <- j.buf[:0]
	}
}

func (u *uploader) done(p Part) {
	u.mu.Lock()
	u.parts = append(u.parts, p)
	u.mu.Unlock()
}

func (u *uploader) sorted() []Part {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]Part, len(u.parts))
	for _, p := range u.parts {
		out[p.Number-1] = p
	}
	return out
}

func (u *uploader) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if u.cur == nil {
			if err := u.next(); err != nil {
				return written, err
			}
		}
		room := cap(u.cur) - len(u.cur)
		k := min(room, len(p))
		u.cur = append(u.cur, p[:k]...)
		p = p[k:]
		written += k
		u.size += int64(k)
		if len(u.cur) == cap(u.cur) {
			if err := u.flush(false); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// next takes a free buffer for the next part, waiting while all are uploading.
func (u *uploader) next() error {
	if u.n >= MaxParts {
		return ErrTooLarge
	}
	select {
	case <-u.stop:
		return u.cause()
	case b := <-u.free:
		size := u.opts.partSize(u.n + 1)
		if int64(cap(b)) != size {
			b = make([]byte, 0, size)
		}
		u.cur = b
		return nil
	}
}

// flush hands the current part to the uploaders. The last part may be
// short or, for an empty object, empty.
func (u *uploader) flush(last bool) error {
	if u.cur == nil {
		if !last || u.n > 0 {
			return nil
		}
		if err := u.next(); err != nil {
			return err
		}
	}
	u.n++
	j := job{n: u.n, buf: u.cur, refs: &atomic.Int32{}}
	j.refs.Store(1)
	if u.hashq != nil {
		j.refs.Store(2)
		// In part order: the hasher sees the object front to back.
		select {
		case <-u.stop:
			return u.cause()
		case u.hashq <- j:
		}
	}
	select {
	case <-u.stop:
		if u.hashq != nil {
			u.release(j) // the uploader will never see it
		}
		return u.cause()
	case u.jobs <- j:
		u.cur = nil
		return nil
	}
}

// sliceReader is a bytes.Reader that S3 clients cannot mistake for a file.
type sliceReader struct {
	b   []byte
	off int
}

func (r *sliceReader) Read(p []byte) (int, error) {
	if r.off >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.off:])
	r.off += n
	return n, nil
}

// Seek lets a client rewind a part to retry or sign it.
func (r *sliceReader) Seek(off int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = off
	case io.SeekCurrent:
		abs = int64(r.off) + off
	case io.SeekEnd:
		abs = int64(len(r.b)) + off
	default:
		return 0, errors.New("seek: bad whence")
	}
	if abs < 0 || abs > int64(len(r.b)) {
		return 0, errors.New("seek: out of range")
	}
	r.off = int(abs)
	return abs, nil
}
