// Package s3io adapts the platform's S3 store to what the bundler reads
// and the multipart writer writes.
package s3io

import (
	"context"
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
