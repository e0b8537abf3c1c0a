// Package blob is the pipeline's S3 adapter, on minio-go. It speaks to MinIO
// in production and to any S3 server (the embedded versitygw endpoint in
// `handoff serve` and in tests).
package blob

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// ErrNotFound means the object (or bucket) does not exist.
var ErrNotFound = errors.New("object not found")

// ErrPrecondition means a conditional write lost: the object changed (or
// appeared) since the ETag the writer read.
var ErrPrecondition = errors.New("object changed meanwhile")

// Config says how to reach the S3 server.
type Config struct {
	// Endpoint is host:port, or a URL whose scheme sets Secure.
	Endpoint  string
	AccessKey string
	SecretKey string
	Region    string
	Secure    bool
	// CAFile trusts an extra CA (a private MinIO's certificate).
	CAFile string
	// InsecureSkipVerify disables TLS verification (development only).
	InsecureSkipVerify bool
	// PublicEndpoint, when set, is the URL that browsers and other clients
	// reach the S3 server at (a proxy, a public name): presigned URLs are
	// made for it. Empty: Endpoint.
	PublicEndpoint string
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Endpoint == "" {
		return errors.New("s3 endpoint is required")
	}
	if c.AccessKey == "" || c.SecretKey == "" {
		return errors.New("s3 access key and secret key are required")
	}
	return nil
}

// LogValue masks the secret.
func (c Config) String() string {
	return fmt.Sprintf("endpoint=%s secure=%t access_key=%s secret_key=***", c.Endpoint, c.Secure, c.AccessKey)
}

// Store is an S3 client.
type Store struct {
	mc  *minio.Client
	pub *minio.Client // presigns for the public endpoint; nil: mc
	tr  *http.Transport
}

func (s *Store) presigner() *minio.Client {
	if s.pub != nil {
		return s.pub
	}
	return s.mc
}

// New returns a Store for cfg.
func New(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	endpoint, secure := cfg.Endpoint, cfg.Secure
	if u, err := url.Parse(endpoint); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		endpoint, secure = u.Host, u.Scheme == "https"
	}
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, err
	}
	tr.MaxIdleConnsPerHost = 256
	if secure && (cfg.CAFile != "" || cfg.InsecureSkipVerify) {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // opt-in for development
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("s3 ca file: %w", err)
			}
			pool, _ := x509.SystemCertPool()
			if pool == nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("s3 ca file %s: no certificates", cfg.CAFile)
			}
			tc.RootCAs = pool
		}
		tr.TLSClientConfig = tc
	}
	region := cfg.Region
	if region == "" {
		region = "us-east-1"
	}
	mc, err := minio.New(endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       secure,
		Region:       region,
		BucketLookup: minio.BucketLookupPath,
		Transport:    tr,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 client: %w", err)
	}
	st := &Store{mc: mc, tr: tr}
	if cfg.PublicEndpoint != "" {
		u, err := url.Parse(cfg.PublicEndpoint)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("s3 public endpoint %q: an http(s):// URL is required", cfg.PublicEndpoint)
		}
		// Presigning is offline: the region is given, so no request is made.
		st.pub, err = minio.New(u.Host, &minio.Options{
			Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""), Secure: u.Scheme == "https",
			Region: region, BucketLookup: minio.BucketLookupPath, Transport: tr,
		})
		if err != nil {
			return nil, fmt.Errorf("s3 public client: %w", err)
		}
	}
	return st, nil
}

// Close closes the store's idle connections (a server shutting down waits
// for open ones).
func (s *Store) Close() { s.tr.CloseIdleConnections() }

// Client is the minio-go client, for what the Store does not wrap.
func (s *Store) Client() *minio.Client { return s.mc }

// Info describes a stored object.
type Info struct {
	Bucket      string
	Key         string
	ETag        string // without quotes
	Size        int64
	ContentType string
	Modified    time.Time
	Metadata    map[string]string
}

func info(bucket string, oi minio.ObjectInfo) Info {
	md := map[string]string{}
	for k, v := range oi.UserMetadata {
		md[strings.ToLower(k)] = v
	}
	return Info{
		Bucket: bucket, Key: oi.Key, ETag: strings.Trim(oi.ETag, `"`), Size: oi.Size,
		ContentType: oi.ContentType, Modified: oi.LastModified, Metadata: md,
	}
}

// EnsureBuckets creates the buckets that do not exist yet.
func (s *Store) EnsureBuckets(ctx context.Context, names ...string) error {
	for _, b := range names {
		ok, err := s.mc.BucketExists(ctx, b)
		if err != nil {
			return fmt.Errorf("bucket %s: %w", b, err)
		}
		if ok {
			continue
		}
		if err := s.mc.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
			var er minio.ErrorResponse
			if errors.As(err, &er) && (er.Code == "BucketAlreadyOwnedByYou" || er.Code == "BucketAlreadyExists") {
				continue
			}
			return fmt.Errorf("make bucket %s: %w", b, err)
		}
	}
	return nil
}

// PutOptions tunes a Put. The zero value is the default.
type PutOptions struct {
	ContentType string
	Metadata    map[string]string
	// PartSize is the multipart part size (default 16 MiB); memory use of a
	// streamed upload of unknown size is about one part.
	PartSize uint64
	// IfMatch writes only over the object with this ETag; IfAbsent only when
	// there is no object. A lost condition is ErrPrecondition.
	IfMatch  string
	IfAbsent bool
}

// Put stores r under key. size may be -1 when unknown: the object is then
// streamed in parts, never held whole in memory.
func (s *Store) Put(ctx context.Context, bucket, key string, r io.Reader, size int64, o PutOptions) (Info, error) {
	part := o.PartSize
	if part == 0 {
		part = 16 << 20
	}
	opts := minio.PutObjectOptions{
		ContentType:  o.ContentType,
		UserMetadata: o.Metadata,
		PartSize:     part,
		// An empty body sent as a signed aws-chunked stream leaves its
		// closing chunk unread by some servers (versitygw), which then
		// answer it as a malformed request on the kept-alive connection.
		DisableContentSha256: size == 0,
	}
	if o.IfMatch != "" {
		opts.SetMatchETag(o.IfMatch)
	}
	if o.IfAbsent {
		opts.SetMatchETagExcept("*")
	}
	ui, err := s.mc.PutObject(ctx, bucket, key, r, size, opts)
	if err != nil {
		return Info{}, fmt.Errorf("put %s/%s: %w", bucket, key, mapErr(err))
	}
	return Info{Bucket: bucket, Key: key, ETag: strings.Trim(ui.ETag, `"`), Size: ui.Size, ContentType: o.ContentType, Modified: ui.LastModified}, nil
}

// Get opens an object for reading.
func (s *Store) Get(ctx context.Context, bucket, key string) (io.ReadCloser, Info, error) {
	obj, err := s.mc.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, Info{}, fmt.Errorf("get %s/%s: %w", bucket, key, mapErr(err))
	}
	st, err := obj.Stat()
	if err != nil {
		_ = obj.Close()
		return nil, Info{}, fmt.Errorf("get %s/%s: %w", bucket, key, mapErr(err))
	}
	return obj, info(bucket, st), nil
}

// GetRange reads length bytes of an object from offset (length < 0: to the end).
func (s *Store) GetRange(ctx context.Context, bucket, key string, offset, length int64) (io.ReadCloser, error) {
	var o minio.GetObjectOptions
	end := int64(0)
	if length > 0 {
		end = offset + length - 1
	}
	if offset > 0 || length > 0 {
		if err := o.SetRange(offset, end); err != nil {
			return nil, err
		}
	}
	// Core.GetObject issues exactly one request for exactly this range; the
	// Object type of the plain client would read ahead.
	body, _, _, err := minio.Core{Client: s.mc}.GetObject(ctx, bucket, key, o)
	if err != nil {
		return nil, fmt.Errorf("get %s/%s [%d+%d]: %w", bucket, key, offset, length, mapErr(err))
	}
	return body, nil
}

// Stat describes an object; ErrNotFound if it does not exist.
func (s *Store) Stat(ctx context.Context, bucket, key string) (Info, error) {
	st, err := s.mc.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return Info{}, fmt.Errorf("stat %s/%s: %w", bucket, key, mapErr(err))
	}
	return info(bucket, st), nil
}

// List yields the objects under prefix, in key order.
func (s *Store) List(ctx context.Context, bucket, prefix string) iter.Seq2[Info, error] {
	return func(yield func(Info, error) bool) {
		for oi := range s.mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			if oi.Err != nil {
				yield(Info{}, fmt.Errorf("list %s/%s: %w", bucket, prefix, mapErr(oi.Err)))
				return
			}
			if !yield(info(bucket, oi), nil) {
				return
			}
		}
	}
}

// Copy copies an object server-side.
func (s *Store) Copy(ctx context.Context, dstBucket, dstKey, srcBucket, srcKey string) (Info, error) {
	ui, err := s.mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: dstBucket, Object: dstKey},
		minio.CopySrcOptions{Bucket: srcBucket, Object: srcKey})
	if err != nil {
		return Info{}, fmt.Errorf("copy %s/%s: %w", srcBucket, srcKey, mapErr(err))
	}
	return Info{Bucket: dstBucket, Key: dstKey, ETag: strings.Trim(ui.ETag, `"`), Size: ui.Size}, nil
}

// Remove deletes an object (derived outputs only: originals are never deleted).
func (s *Store) Remove(ctx context.Context, bucket, key string) error {
	if err := s.mc.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("remove %s/%s: %w", bucket, key, mapErr(err))
	}
	return nil
}

// Attachment is the Content-Disposition that saves a download as name
// (RFC 6266: a plain ASCII name, and the UTF-8 one beside it).
func Attachment(name string) string {
	ascii := strings.Map(func(r rune) rune {
		if r < 0x20 || r >= 0x7f || r == '"' || r == '\\' {
			return '_'
		}
		return r
	}, name)
	return fmt.Sprintf("attachment; filename=%q; filename*=UTF-8''%s", ascii, url.PathEscape(name))
}

// PresignGet returns a URL that downloads the object until it expires.
// name, when set, is the file name browsers save it as: it then stands in
// the link's query, so only for names that are not patient data (a
// bundle's name is: it is stored with the object instead, see Attachment).
func (s *Store) PresignGet(ctx context.Context, bucket, key, name string, expiry time.Duration) (*url.URL, error) {
	params := url.Values{}
	if name != "" {
		params.Set("response-content-disposition", Attachment(name))
	}
	u, err := s.presigner().PresignedGetObject(ctx, bucket, key, expiry, params)
	if err != nil {
		return nil, fmt.Errorf("presign get %s/%s: %w", bucket, key, err)
	}
	return u, nil
}

// PresignPut returns a URL that uploads to key until it expires.
func (s *Store) PresignPut(ctx context.Context, bucket, key string, expiry time.Duration) (*url.URL, error) {
	u, err := s.presigner().PresignedPutObject(ctx, bucket, key, expiry)
	if err != nil {
		return nil, fmt.Errorf("presign put %s/%s: %w", bucket, key, err)
	}
	return u, nil
}

func mapErr(err error) error {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		switch {
		case er.Code == "NoSuchKey" || er.Code == "NoSuchBucket" || er.StatusCode == http.StatusNotFound:
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		case er.Code == "PreconditionFailed" || er.StatusCode == http.StatusPreconditionFailed || er.StatusCode == http.StatusConflict:
			return fmt.Errorf("%w: %w", ErrPrecondition, err)
		}
	}
	return err
}

// Upload is an unfinished multipart upload.
type Upload struct {
	Key       string
	ID        string
	Initiated time.Time
}

// IncompleteUploads lists a bucket's unfinished multipart uploads under prefix.
func (s *Store) IncompleteUploads(ctx context.Context, bucket, prefix string) ([]Upload, error) {
	core := minio.Core{Client: s.mc}
	var out []Upload
	keyMarker, idMarker := "", ""
	for {
		res, err := core.ListMultipartUploads(ctx, bucket, prefix, keyMarker, idMarker, "", 1000)
		if err != nil {
			return out, fmt.Errorf("list multipart uploads of %s: %w", bucket, mapErr(err))
		}
		for _, u := range res.Uploads {
			out = append(out, Upload{Key: u.Key, ID: u.UploadID, Initiated: u.Initiated})
		}
		if !res.IsTruncated || res.NextKeyMarker == "" && res.NextUploadIDMarker == "" {
			return out, nil
		}
		keyMarker, idMarker = res.NextKeyMarker, res.NextUploadIDMarker
	}
}

// AbortIncompleteUploads aborts a bucket's unfinished multipart uploads
// started more than olderThan ago (a crashed upload's parts stay on disk
// until then), and reports how many.
func (s *Store) AbortIncompleteUploads(ctx context.Context, bucket string, olderThan time.Duration) (int, error) {
	ups, err := s.IncompleteUploads(ctx, bucket, "")
	if err != nil {
		return 0, err
	}
	core := minio.Core{Client: s.mc}
	cutoff := time.Now().Add(-olderThan)
	n := 0
	var errs []error
	for _, u := range ups {
		if u.Initiated.After(cutoff) {
			continue
		}
		if err := core.AbortMultipartUpload(ctx, bucket, u.Key, u.ID); err != nil && !errors.Is(mapErr(err), ErrNotFound) {
			errs = append(errs, fmt.Errorf("abort multipart upload of %s: %w", bucket, mapErr(err)))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
