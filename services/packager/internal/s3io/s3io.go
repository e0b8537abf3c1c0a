// Package s3io adapts the platform's S3 store to what the bundler reads
// and writes the bundle into S3.
package s3io

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/handoffmed/handoff/platform/blob"

	"github.com/handoffmed/handoff/services/packager/internal/multipart"
)

// NewUploads returns the multipart client of a store.
func NewUploads(s *blob.Store, op time.Duration) Uploads {
	return Uploads{Core: minio.Core{Client: s.Client()}, Op: op}
}

// Objects adapts the blob store to what the bundler reads.
type Objects struct {
	Blobs *blob.Store
	Op    time.Duration // bounds a Stat
}

func (o Objects) Open(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	return o.Blobs.GetRange(ctx, bucket, key, 0, -1)
}

func (o Objects) Stat(ctx context.Context, bucket, key string) (int64, string, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Op)
	defer cancel()
	info, err := o.Blobs.Stat(ctx, bucket, key)
	if err != nil {
		return 0, "", err
	}
	return info.Size, info.ETag, nil
}

// Uploads adapts minio-go's Core to the multipart writer.
type Uploads struct {
	Core minio.Core
	Op   time.Duration // bounds a call; a part gets ten
}

var _ multipart.Client = Uploads{}

func (u Uploads) Create(ctx context.Context, bucket, key, contentType string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, u.Op)
	defer cancel()
	return u.Core.NewMultipartUpload(ctx, bucket, key, minio.PutObjectOptions{ContentType: contentType})
}

func (u Uploads) UploadPart(ctx context.Context, bucket, key, id string, n int, r io.Reader, size int64) (string, error) {
	// A part is at most 64 MiB: ten op timeouts is plenty.
	ctx, cancel := context.WithTimeout(ctx, 10*u.Op)
	defer cancel()
	p, err := u.Core.PutObjectPart(ctx, bucket, key, id, n, r, size, minio.PutObjectPartOptions{DisableContentSha256: true})
	if err != nil {
		return "", err
	}
	return p.ETag, nil
}

func (u Uploads) Complete(ctx context.Context, bucket, key, id string, parts []multipart.Part) error {
	ctx, cancel := context.WithTimeout(ctx, 4*u.Op)
	defer cancel()
	cp := make([]minio.CompletePart, len(parts))
	for i, p := range parts {
		cp[i] = minio.CompletePart{PartNumber: p.Number, ETag: p.ETag}
	}
	_, err := u.Core.CompleteMultipartUpload(ctx, bucket, key, id, cp, minio.PutObjectOptions{})
	return err
}

func (u Uploads) Abort(ctx context.Context, bucket, key, id string) error {
	return u.Core.AbortMultipartUpload(ctx, bucket, key, id)
}

// StreamOptions tune Stream.
type StreamOptions struct {
	ContentType string
	// PartSize is the multipart part size (at least 5 MiB): an object of
	// unknown size can have 10,000 parts, so at most 10,000 × PartSize bytes.
	PartSize int64
	// Buffers is how many parts minio-go holds, filled one after the other
	// and uploaded in parallel: the upload's memory is Buffers × PartSize.
	Buffers int
}

// StreamResult is a completed streamed upload.
type StreamResult struct {
	Size   int64
	SHA256 [sha256.Size]byte
}

// Stream uploads what fill writes as bucket/key with minio-go's streaming
// PutObject (size -1: a multipart upload of PartSize parts, Buffers of them
// uploaded in parallel while the next fills). The object's SHA-256 is
// computed as minio-go reads it, beside fill. On any error minio-go aborts
// the upload and fill's writes fail.
func Stream(ctx context.Context, mc *minio.Client, bucket, key string, o StreamOptions, fill func(io.Writer) error) (StreamResult, error) {
	pr, pw := io.Pipe()
	filled := make(chan error, 1)
	go func() {
		// Small writes (ZIP headers, deflate blocks) are gathered so that the
		// pipe hands minio-go's reader big chunks.
		bw := bufio.NewWriterSize(pw, pipeBuffer)
		err := fill(bw)
		if err == nil {
			err = bw.Flush()
		}
		if err == nil {
			_ = pw.Close()
		} else {
			pw.CloseWithError(err)
		}
		filled <- err
	}()
	h := sha256.New()
	info, err := mc.PutObject(ctx, bucket, key, io.TeeReader(pr, h), -1, minio.PutObjectOptions{
		ContentType: o.ContentType, PartSize: uint64(o.PartSize),
		NumThreads: uint(max(o.Buffers, 2)), ConcurrentStreamParts: true,
		DisableContentSha256: true,
	})
	// Stops fill if the upload stopped first.
	pr.CloseWithError(errUploadStopped)
	ferr := <-filled
	switch {
	case ferr != nil && !errors.Is(ferr, errUploadStopped):
		return StreamResult{}, ferr
	case err != nil:
		return StreamResult{}, err
	case ferr != nil:
		return StreamResult{}, ferr
	}
	res := StreamResult{Size: info.Size}
	copy(res.SHA256[:], h.Sum(nil))
	return res, nil
}

var errUploadStopped = errors.New("upload stopped")

// pipeBuffer gathers fill's writes before they cross the pipe.
const pipeBuffer = 1 << 20
