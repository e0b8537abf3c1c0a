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
)

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

// StreamOptions tune Stream.
type StreamOptions struct {
	ContentType string
	// ContentDisposition is stored with the object and sent with every
	// download: a bundle's readable name travels there, never in its key
	// or link.
	ContentDisposition string
	// PartSize is the multipart part size (at least 5 MiB): an object of
	// unknown size can have 10,000 parts, so at most 10,000 × PartSize bytes.
	PartSize int64
	// Buffers is how many parts minio-go holds (at least 2), filled one
	// after the other and each uploaded once full, in parallel: the upload's
	// memory is Buffers × PartSize, allocated when it starts.
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
// computed as minio-go reads it, beside fill. On any error the upload is
// aborted (see dropUnfinished) and fill's writes fail.
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
		ContentType: o.ContentType, ContentDisposition: o.ContentDisposition, PartSize: uint64(o.PartSize),
		NumThreads: uint(max(o.Buffers, 2)), ConcurrentStreamParts: true,
		DisableContentSha256: true,
	})
	// Stops fill if the upload stopped first.
	pr.CloseWithError(errUploadStopped)
	ferr := <-filled
	if err != nil || ferr != nil {
		dropUnfinished(ctx, mc, bucket, key)
	}
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

// dropUnfinished aborts what is left of a failed upload of key. minio-go
// aborts the upload when it fails, but a server may still be storing a part
// whose request the client gave up on and bring the upload back after the
// abort (versitygw's posix backend does): the key's unfinished uploads are
// aborted until a listing a little later finds none (another worker
// streaming the same key at that moment, a redelivered job, fails and its
// job is tried again). What a crash leaves behind is the retention sweep's
// (Store.AbortIncompleteUploads).
func dropUnfinished(ctx context.Context, mc *minio.Client, bucket, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	core := minio.Core{Client: mc}
	for quiet := 0; ctx.Err() == nil; {
		found := false
		for u := range mc.ListIncompleteUploads(ctx, bucket, key, false) {
			if u.Err != nil || u.Key != key {
				continue
			}
			found = true
			_ = core.AbortMultipartUpload(ctx, bucket, key, u.UploadID)
		}
		if found {
			quiet = 0
		} else if quiet++; quiet == 2 {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(settle):
		}
	}
}

// settle is how long a part the client gave up on may take to land.
const settle = 200 * time.Millisecond

// pipeBuffer gathers fill's writes before they cross the pipe.
const pipeBuffer = 1 << 20
