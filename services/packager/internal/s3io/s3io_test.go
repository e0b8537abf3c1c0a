package s3io_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"testing"
	"testing/iotest"

	"github.com/minio/minio-go/v7"

	"github.com/handoffmed/handoff/platform/blobtest"

	"github.com/handoffmed/handoff/services/packager/internal/s3io"
)

func TestMain(m *testing.M) { os.Exit(blobtest.Run(m)) }

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func TestStream(t *testing.T) {
	tests := []struct {
		name string
		size int
	}{
		{"empty", 0},
		{"under one part", 1000},
		{"exactly one part", 5 << 20},
		{"several parts", 12<<20 + 17},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := blobtest.Store(t)
			bucket := blobtest.Bucket(t, nil)
			data := pattern(tc.size)
			res, err := s3io.Stream(t.Context(), s.Client(), bucket, "obj.zip", s3io.StreamOptions{ContentType: "application/zip", PartSize: 5 << 20, Buffers: 3},
				func(w io.Writer) error {
					// Odd-sized writes, as the ZIP writer makes them.
					_, err := io.Copy(w, iotest.HalfReader(bytes.NewReader(data)))
					return err
				})
			if err != nil {
				t.Fatal(err)
			}
			if want := sha256.Sum256(data); res.Size != int64(len(data)) || res.SHA256 != want {
				t.Errorf("got size %d sha256 %x, want %d %x", res.Size, res.SHA256, len(data), want)
			}
			rc, info, err := s.Get(t.Context(), bucket, "obj.zip")
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			got, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) || info.ContentType != "application/zip" {
				t.Errorf("stored %d bytes (%s), want the %d written (application/zip)", len(got), info.ContentType, len(data))
			}
		})
	}
}

var errFill = errors.New("source broke")

// TestStreamErrors checks that a failed fill or a failed upload returns its
// error, stops the other side and leaves neither an object nor an
// unfinished upload behind.
func TestStreamErrors(t *testing.T) {
	t.Run("fill fails", func(t *testing.T) {
		t.Parallel()
		s := blobtest.Store(t)
		bucket := blobtest.Bucket(t, nil)
		_, err := s3io.Stream(t.Context(), s.Client(), bucket, "obj.zip", s3io.StreamOptions{PartSize: 5 << 20, Buffers: 3},
			func(w io.Writer) error {
				if _, err := w.Write(pattern(11 << 20)); err != nil { // two parts uploaded
					return err
				}
				return errFill
			})
		if !errors.Is(err, errFill) {
			t.Fatalf("got %v, want the fill's error", err)
		}
		if _, err := s.Stat(t.Context(), bucket, "obj.zip"); err == nil {
			t.Error("an object was stored")
		}
		for u := range s.Client().ListIncompleteUploads(t.Context(), bucket, "", true) {
			t.Errorf("upload left behind: %+v", u)
		}
	})
	t.Run("upload fails", func(t *testing.T) {
		t.Parallel()
		s := blobtest.Store(t)
		wrote := 0
		_, err := s3io.Stream(t.Context(), s.Client(), "no-such-bucket", "obj.zip", s3io.StreamOptions{PartSize: 5 << 20, Buffers: 3},
			func(w io.Writer) error {
				for range 100 { // 500 MiB unless the writes fail
					n, err := w.Write(pattern(5 << 20))
					wrote += n
					if err != nil {
						return err
					}
				}
				return nil
			})
		var er minio.ErrorResponse
		if !errors.As(err, &er) || er.Code != "NoSuchBucket" {
			t.Errorf("got %v, want NoSuchBucket", err)
		}
		if wrote > 20<<20 {
			t.Errorf("fill wrote %d bytes after the upload failed", wrote)
		}
	})
}
