package blob

import (
	"context"
	"fmt"
	"io"
	"sync"
)

// ReaderAt reads an object at random offsets through ranged GETs of whole
// blocks, keeping the few most recent blocks (a ZIP's central directory,
// then its entries front to back). Memory is blockSize × blocks.
type ReaderAt struct {
	ctx          context.Context //nolint:containedctx // an io.ReaderAt has no context parameter
	s            *Store
	bucket, key  string
	size         int64
	blockSize    int64
	maxBlocks    int
	mu           sync.Mutex
	blocks       map[int64][]byte
	order        []int64 // least recently used first
	requests     int
	bytesFetched int64
}

// NewReaderAt returns a ReaderAt over an object of the given size.
func (s *Store) NewReaderAt(ctx context.Context, bucket, key string, size int64) *ReaderAt {
	return &ReaderAt{ctx: ctx, s: s, bucket: bucket, key: key, size: size,
		blockSize: 1 << 20, maxBlocks: 4, blocks: map[int64][]byte{}}
}

// Size is the object's size.
func (r *ReaderAt) Size() int64 { return r.size }

// Stats reports how many requests and bytes the reader has fetched.
func (r *ReaderAt) Stats() (requests int, bytes int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests, r.bytesFetched
}

// ReadAt implements io.ReaderAt.
func (r *ReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("readat %s: negative offset", r.key)
	}
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if pos >= r.size {
			return n, io.EOF
		}
		idx := pos / r.blockSize
		b, err := r.block(idx)
		if err != nil {
			return n, err
		}
		n += copy(p[n:], b[pos-idx*r.blockSize:])
	}
	return n, nil
}

func (r *ReaderAt) block(idx int64) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b, ok := r.blocks[idx]; ok {
		r.touch(idx)
		return b, nil
	}
	start := idx * r.blockSize
	length := min(r.blockSize, r.size-start)
	body, err := r.s.GetRange(r.ctx, r.bucket, r.key, start, length)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	b := make([]byte, length)
	if _, err := io.ReadFull(body, b); err != nil {
		return nil, fmt.Errorf("read %s/%s [%d+%d]: %w", r.bucket, r.key, start, length, err)
	}
	r.requests++
	r.bytesFetched += length
	if len(r.order) >= r.maxBlocks {
		delete(r.blocks, r.order[0])
		r.order = r.order[1:]
	}
	r.blocks[idx] = b
	r.order = append(r.order, idx)
	return b, nil
}

func (r *ReaderAt) touch(idx int64) {
	for i, v := range r.order {
		if v == idx {
			r.order = append(append(r.order[:i:i], r.order[i+1:]...), idx)
			return
		}
	}
}
