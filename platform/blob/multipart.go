package blob

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

// Part is one uploaded part of a multipart upload.
type Part struct {
	Number int    `json:"number"`
	Size   int64  `json:"size"`
	ETag   string `json:"etag"`
}

// ErrNoUpload means the multipart upload does not exist (completed,
// aborted, or never created for this key).
var ErrNoUpload = errors.New("no such multipart upload")

func (s *Store) core() minio.Core { return minio.Core{Client: s.mc} }

// CreateMultipart starts a multipart upload of key and returns its ID.
func (s *Store) CreateMultipart(ctx context.Context, bucket, key, contentType string) (string, error) {
	id, err := s.core().NewMultipartUpload(ctx, bucket, key, minio.PutObjectOptions{ContentType: contentType})
	if err != nil {
		return "", fmt.Errorf("create multipart %s/%s: %w", bucket, key, mapErr(err))
	}
	return id, nil
}

// Parts lists the parts of a multipart upload that are stored, by number.
func (s *Store) Parts(ctx context.Context, bucket, key, uploadID string) ([]Part, error) {
	var out []Part
	marker := 0
	for {
		res, err := s.core().ListObjectParts(ctx, bucket, key, uploadID, marker, 1000)
		if err != nil {
			return nil, fmt.Errorf("list parts of %s/%s: %w", bucket, key, mapUploadErr(err))
		}
		for _, p := range res.ObjectParts {
			out = append(out, Part{Number: p.PartNumber, Size: p.Size, ETag: strings.Trim(p.ETag, `"`)})
		}
		if !res.IsTruncated || res.NextPartNumberMarker <= marker {
			return out, nil
		}
		marker = res.NextPartNumberMarker
	}
}

// CompleteMultipart assembles the parts into the object.
func (s *Store) CompleteMultipart(ctx context.Context, bucket, key, uploadID string, parts []Part) (Info, error) {
	cp := make([]minio.CompletePart, len(parts))
	for i, p := range parts {
		cp[i] = minio.CompletePart{PartNumber: p.Number, ETag: p.ETag}
	}
	ui, err := s.core().CompleteMultipartUpload(ctx, bucket, key, uploadID, cp, minio.PutObjectOptions{})
	if err != nil {
		return Info{}, fmt.Errorf("complete multipart %s/%s: %w", bucket, key, mapUploadErr(err))
	}
	return Info{Bucket: bucket, Key: key, ETag: strings.Trim(ui.ETag, `"`), Size: ui.Size, Modified: ui.LastModified}, nil
}

// AbortMultipart drops a multipart upload and its parts.
func (s *Store) AbortMultipart(ctx context.Context, bucket, key, uploadID string) error {
	if err := s.core().AbortMultipartUpload(ctx, bucket, key, uploadID); err != nil {
		return fmt.Errorf("abort multipart %s/%s: %w", bucket, key, mapUploadErr(err))
	}
	return nil
}

// PresignPart returns a URL that uploads one part (PUT, body = the part's
// bytes) until it expires.
func (s *Store) PresignPart(ctx context.Context, bucket, key, uploadID string, number int, expiry time.Duration) (*url.URL, error) {
	q := url.Values{}
	q.Set("partNumber", strconv.Itoa(number))
	q.Set("uploadId", uploadID)
	u, err := s.presigner().Presign(ctx, "PUT", bucket, key, expiry, q)
	if err != nil {
		return nil, fmt.Errorf("presign part %d of %s/%s: %w", number, bucket, key, err)
	}
	return u, nil
}

func mapUploadErr(err error) error {
	var er minio.ErrorResponse
	if errors.As(err, &er) && er.Code == "NoSuchUpload" {
		return fmt.Errorf("%w: %w", ErrNoUpload, err)
	}
	return mapErr(err)
}

// RemovePrefix deletes every object under prefix and returns how many it
// removed.
func (s *Store) RemovePrefix(ctx context.Context, bucket, prefix string) (int, error) {
	n := 0
	for oi, err := range s.List(ctx, bucket, prefix) {
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				return n, nil
			}
			return n, err
		}
		if err := s.Remove(ctx, bucket, oi.Key); err != nil && !errors.Is(err, ErrNotFound) {
			return n, err
		}
		n++
	}
	// Multipart uploads never completed hold parts too.
	for u := range s.mc.ListIncompleteUploads(ctx, bucket, prefix, true) {
		if u.Err != nil {
			break
		}
		_ = s.core().AbortMultipartUpload(ctx, bucket, u.Key, u.UploadID)
	}
	return n, nil
}
