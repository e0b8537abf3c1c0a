package blob_test

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/blobtest"
)

func TestMain(m *testing.M) { os.Exit(blobtest.Run(m)) }

// stores returns the embedded endpoint, and a real endpoint too when
// HANDOFF_TEST_S3_ENDPOINT (+ _ACCESS_KEY, _SECRET_KEY, _BUCKET) is set.
func stores(t *testing.T) map[string]struct {
	s      *blob.Store
	bucket string
} {
	out := map[string]struct {
		s      *blob.Store
		bucket string
	}{"embedded": {blobtest.Store(t), blobtest.Bucket(t, nil)}}
	if ep := os.Getenv("HANDOFF_TEST_S3_ENDPOINT"); ep != "" {
		s, err := blob.New(blob.Config{Endpoint: ep, AccessKey: os.Getenv("HANDOFF_TEST_S3_ACCESS_KEY"), SecretKey: os.Getenv("HANDOFF_TEST_S3_SECRET_KEY")})
		if err != nil {
			t.Fatal(err)
		}
		out["external"] = struct {
			s      *blob.Store
			bucket string
		}{s, os.Getenv("HANDOFF_TEST_S3_BUCKET")}
	}
	return out
}

func TestConformance(t *testing.T) {
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s, bucket := st.s, st.bucket
			ctx := t.Context()
			if err := s.EnsureBuckets(ctx, bucket); err != nil {
				t.Fatal(err)
			}
			// Small put, stat, get, range.
			in, err := s.Put(ctx, bucket, "a/b c/é.txt", strings.NewReader("hello world"), 11, blob.PutOptions{ContentType: "text/plain", Metadata: map[string]string{"file-id": "f1"}})
			if err != nil {
				t.Fatal(err)
			}
			st, err := s.Stat(ctx, bucket, "a/b c/é.txt")
			if err != nil {
				t.Fatal(err)
			}
			if st.ETag != in.ETag || st.Size != 11 || st.Metadata["file-id"] != "f1" || strings.Contains(st.ETag, `"`) {
				t.Errorf("stat = %+v, put = %+v", st, in)
			}
			rc, err := s.GetRange(ctx, bucket, "a/b c/é.txt", 6, 5)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if string(got) != "world" {
				t.Errorf("range = %q, want world", got)
			}
			if _, err := s.Stat(ctx, bucket, "missing"); !errors.Is(err, blob.ErrNotFound) {
				t.Errorf("stat missing: err = %v, want ErrNotFound", err)
			}
			if _, _, err := s.Get(ctx, bucket, "missing"); !errors.Is(err, blob.ErrNotFound) {
				t.Errorf("get missing: err = %v, want ErrNotFound", err)
			}

			// Conditional writes.
			if _, err := s.Put(ctx, bucket, "cond", strings.NewReader("v1"), 2, blob.PutOptions{IfAbsent: true}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Put(ctx, bucket, "cond", strings.NewReader("v2"), 2, blob.PutOptions{IfAbsent: true}); !errors.Is(err, blob.ErrPrecondition) {
				t.Errorf("create over an existing object: err = %v, want ErrPrecondition", err)
			}
			cur, _ := s.Stat(ctx, bucket, "cond")
			if _, err := s.Put(ctx, bucket, "cond", strings.NewReader("v3"), 2, blob.PutOptions{IfMatch: "0123"}); !errors.Is(err, blob.ErrPrecondition) {
				t.Errorf("write over a changed object: err = %v, want ErrPrecondition", err)
			}
			if _, err := s.Put(ctx, bucket, "cond", strings.NewReader("v4"), 2, blob.PutOptions{IfMatch: cur.ETag}); err != nil {
				t.Errorf("write over the object read: %v", err)
			}
			if err := s.Remove(ctx, bucket, "cond"); err != nil {
				t.Fatal(err)
			}

			// Streamed multipart put of unknown size.
			big := make([]byte, 12<<20+123)
			_, _ = rand.Read(big)
			bi, err := s.Put(ctx, bucket, "big.bin", io.MultiReader(bytes.NewReader(big)), -1, blob.PutOptions{PartSize: 5 << 20})
			if err != nil {
				t.Fatal(err)
			}
			r, info, err := s.Get(ctx, bucket, "big.bin")
			if err != nil {
				t.Fatal(err)
			}
			back, _ := io.ReadAll(r)
			r.Close()
			if !bytes.Equal(back, big) || info.Size != int64(len(big)) || info.ETag != bi.ETag {
				t.Errorf("multipart round trip: %d bytes back, info %+v, put %+v", len(back), info, bi)
			}

			// List in key order.
			var keys []string
			for o, err := range s.List(ctx, bucket, "") {
				if err != nil {
					t.Fatal(err)
				}
				keys = append(keys, o.Key)
			}
			if strings.Join(keys, ",") != "a/b c/é.txt,big.bin" {
				t.Errorf("list = %q", keys)
			}

			// Presigned GET works without credentials until it expires.
			u, err := s.PresignGet(ctx, bucket, "a/b c/é.txt", "x.txt", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != "hello world" {
				t.Errorf("presigned get: %d %q", resp.StatusCode, body)
			}
			req, _ = http.NewRequestWithContext(ctx, http.MethodGet, strings.Replace(u.String(), "X-Amz-Signature=", "X-Amz-Signature=0", 1), nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					t.Error("a tampered presigned URL was accepted")
				}
			}
		})
	}
}

func TestReaderAtReadsZipWithFewRequests(t *testing.T) {
	s, bucket := blobtest.Store(t), blobtest.Bucket(t, nil)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	payload := make([]byte, 300<<10)
	_, _ = rand.Read(payload)
	for i := range 10 {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: "f" + string(rune('0'+i)), Method: zip.Store})
		_, _ = w.Write(payload)
	}
	_ = zw.Close()
	if _, err := s.Put(t.Context(), bucket, "a.zip", bytes.NewReader(buf.Bytes()), int64(buf.Len()), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	ra := s.NewReaderAt(t.Context(), bucket, "a.zip", int64(buf.Len()))
	zr, err := zip.NewReader(ra, ra.Size())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("%s: %v", f.Name, err)
		}
	}
	reqs, n := ra.Stats()
	if reqs > 6 || n > int64(buf.Len())+2<<20 {
		t.Errorf("%d requests, %d bytes for a %d-byte zip", reqs, n, buf.Len())
	}
}
