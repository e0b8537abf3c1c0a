package event

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseBucketNotification(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    []ObjectCreated
		wantErr error
	}{
		{
			name: "minio put with escaped key",
			payload: `{"EventName":"s3:ObjectCreated:Put","Key":"handoff-intake/cases/abcd1234/uploads/My+Scans/hip%C3%A9+1.dcm",
				"Records":[{"eventVersion":"2.0","eventSource":"minio:s3","eventName":"s3:ObjectCreated:Put",
				"s3":{"bucket":{"name":"handoff-intake"},"object":{"key":"cases%2Fabcd1234%2Fuploads%2FMy+Scans%2Fhip%C3%A9+1.dcm","size":1234,"eTag":"d41d8cd98f00b204e9800998ecf8427e"}}}]}`,
			want: []ObjectCreated{{Bucket: "handoff-intake", Key: "cases/abcd1234/uploads/My Scans/hipé 1.dcm", ETag: "d41d8cd98f00b204e9800998ecf8427e", Size: 1234, EventName: "ObjectCreated:Put"}},
		},
		{
			name: "versitygw raw key, multipart size 0",
			payload: `{"Records":[{"eventVersion":"2.2","eventSource":"aws:s3","eventName":"s3:ObjectCreated:CompleteMultipartUpload",
				"s3":{"bucket":{"name":"b"},"object":{"key":"cases/abcd1234/uploads/a+b%20c.pdf","size":0,"eTag":"\"abc-2\""}}}]}`,
			want: []ObjectCreated{{Bucket: "b", Key: "cases/abcd1234/uploads/a+b%20c.pdf", ETag: "abc-2", Size: 0, EventName: "ObjectCreated:CompleteMultipartUpload"}},
		},
		{
			name:    "versitygw test event",
			payload: `{"Service":"S3","Event":"s3:TestEvent","Time":"2026-01-01T00:00:00Z","Bucket":"Test-Bucket"}`,
		},
		{
			name:    "removal is ignored",
			payload: `{"Records":[{"eventName":"s3:ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}`,
		},
		{name: "not json", payload: `hello`, wantErr: ErrNotBucketEvent},
		{name: "unrelated json", payload: `{"a":1}`, wantErr: ErrNotBucketEvent},
		{name: "record without key", payload: `{"Records":[{"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{}}}]}`, wantErr: ErrNotBucketEvent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseBucketNotification([]byte(tc.payload))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMinIONotificationRoundTrip(t *testing.T) {
	for _, key := range []string{"cases/x/uploads/a b/c+d.pdf", "cases/x/uploads/%41/é/ü.dcm", "k"} {
		data, err := MinIONotification("bucket", key, "etag", 10, "ObjectCreated:Put")
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseBucketNotification(data)
		if err != nil {
			t.Fatal(err)
		}
		want := []ObjectCreated{{Bucket: "bucket", Key: key, ETag: "etag", Size: 10, EventName: "ObjectCreated:Put"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", key, diff)
		}
	}
}

func FuzzParseBucketNotification(f *testing.F) {
	f.Add([]byte(`{"Records":[{"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k%zz"}}}]}`))
	f.Add([]byte(`{"EventName":"s3:ObjectCreated:Put","Key":"b/k","Records":[{"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k%zz"}}}]}`))
	f.Add([]byte(`{"Event":"s3:TestEvent"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := ParseBucketNotification(data)
		if err != nil {
			return
		}
		for _, r := range recs {
			if r.Bucket == "" || r.Key == "" {
				t.Fatalf("record without bucket or key: %+v", r)
			}
			// What we publish for a record parses back to the same record.
			again, err := MinIONotification(r.Bucket, r.Key, r.ETag, r.Size, r.EventName)
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParseBucketNotification(again)
			if err != nil || len(back) != 1 || back[0] != r {
				t.Fatalf("round trip of %+v: %+v, %v", r, back, err)
			}
		}
	})
}
