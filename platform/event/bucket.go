package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ObjectCreated is one object-created record of a bucket notification.
type ObjectCreated struct {
	Bucket    string
	Key       string // decoded: the object's real key
	ETag      string // without quotes
	Size      int64  // 0 when the sender does not know it (multipart on versitygw)
	EventName string // s3:ObjectCreated:Put, ...
}

// ErrNotBucketEvent means the payload is not a bucket notification at all.
var ErrNotBucketEvent = errors.New("not a bucket notification")

// bucketNotification covers both shapes that reach NATS:
//
//   - MinIO: {"EventName":"s3:ObjectCreated:Put","Key":"bucket/escaped%20key","Records":[...]},
//     keys URL-escaped as in AWS's own notifications;
//   - plain S3 as versitygw sends it: {"Records":[...]}, raw keys, and a
//     {"Service":"S3","Event":"s3:TestEvent",...} message at start-up.
type bucketNotification struct {
	EventName string         `json:"EventName"`
	Key       *string        `json:"Key"`
	Event     string         `json:"Event"` // s3:TestEvent
	Records   []bucketRecord `json:"Records"`
}

type bucketRecord struct {
	EventName string `json:"eventName"`
	S3        struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key  string  `json:"key"`
			Size int64   `json:"size"`
			ETag *string `json:"eTag"`
		} `json:"object"`
	} `json:"s3"`
}

// ParseBucketNotification returns the object-created records of a MinIO or
// plain-S3 bucket notification. Test events and records of other event kinds
// (removals, tagging) yield no records and no error.
func ParseBucketNotification(data []byte) ([]ObjectCreated, error) {
	var n bucketNotification
	if err := json.Unmarshal(data, &n); err != nil {
		return nil, fmt.Errorf("bucket notification: %w: %w", ErrNotBucketEvent, err)
	}
	if n.Event == "s3:TestEvent" {
		return nil, nil
	}
	if n.Records == nil && n.EventName == "" {
		return nil, ErrNotBucketEvent
	}
	// MinIO, like AWS, escapes keys in records; versitygw sends them raw.
	escaped := n.Key != nil || n.EventName != ""
	var out []ObjectCreated
	for i, r := range n.Records {
		if !strings.HasPrefix(r.EventName, "s3:ObjectCreated:") && !strings.HasPrefix(r.EventName, "ObjectCreated:") {
			continue
		}
		key := r.S3.Object.Key
		if escaped {
			k, err := url.QueryUnescape(key)
			if err != nil {
				return nil, fmt.Errorf("bucket notification record %d: bad escaped key: %w", i, err)
			}
			key = k
		}
		if r.S3.Bucket.Name == "" || key == "" {
			return nil, fmt.Errorf("bucket notification record %d: no bucket or key: %w", i, ErrNotBucketEvent)
		}
		etag := ""
		if r.S3.Object.ETag != nil {
			etag = strings.Trim(*r.S3.Object.ETag, `"`)
		}
		out = append(out, ObjectCreated{
			Bucket:    r.S3.Bucket.Name,
			Key:       key,
			ETag:      etag,
			Size:      r.S3.Object.Size,
			EventName: strings.TrimPrefix(r.EventName, "s3:"),
		})
	}
	return out, nil
}

// MinIONotification builds the payload MinIO's NATS target publishes for an
// object-created event; the embedded S3 endpoint publishes the same bytes,
// so intake cannot tell the two apart.
func MinIONotification(bucket, key, etag string, size int64, eventName string) ([]byte, error) {
	escaped := escapeKey(key)
	type object struct {
		Key       string `json:"key"`
		Size      int64  `json:"size"`
		ETag      string `json:"eTag"`
		Sequencer string `json:"sequencer"`
	}
	type s3 struct {
		SchemaVersion   string `json:"s3SchemaVersion"`
		ConfigurationID string `json:"configurationId"`
		Bucket          struct {
			Name string `json:"name"`
			Arn  string `json:"arn"`
		} `json:"bucket"`
		Object object `json:"object"`
	}
	type rec struct {
		EventVersion string `json:"eventVersion"`
		EventSource  string `json:"eventSource"`
		AwsRegion    string `json:"awsRegion"`
		EventName    string `json:"eventName"`
		S3           s3     `json:"s3"`
	}
	r := rec{EventVersion: "2.0", EventSource: "minio:s3", EventName: "s3:" + eventName}
	r.S3.SchemaVersion = "1.0"
	r.S3.ConfigurationID = "Config"
	r.S3.Bucket.Name = bucket
	r.S3.Bucket.Arn = "arn:aws:s3:::" + bucket
	r.S3.Object = object{Key: escaped, Size: size, ETag: etag}
	return json.Marshal(struct {
		EventName string `json:"EventName"`
		Key       string `json:"Key"`
		Records   []rec  `json:"Records"`
	}{"s3:" + eventName, bucket + "/" + escaped, []rec{r}})
}

// escapeKey escapes a key the way MinIO does in notifications
// (url.QueryEscape, slashes kept).
func escapeKey(key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.QueryEscape(p)
	}
	return strings.Join(parts, "/")
}
