package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/handoffmed/handoff/cmd/handoff/internal/e2e"
)

// A process killed during a large upload, and during bundling, leaves
// unfinished multipart uploads (their parts on disk): after a restart they
// are aborted once older than the maximum age, and no staging file stays
// behind. Expired bundles are deleted.
func TestKilledUploadsAndBundlesLeaveNothingBehind(t *testing.T) {
	t.Parallel()
	args := []string{"--cleanup-interval", "1s", "--upload-max-age", "2s", "--bundle-upload-max-age", "2s", "--quiet-period", "-1s"}
	p := e2e.Start(t, e2e.Options{Args: args})

	// Killed while bundling: a case of 90 MB of imaging being zipped and
	// uploaded (a 7.5 MB radiograph as twelve instances).
	caseA := p.CreateCase("")
	cr := e2e.ReadCorpus(t, "dicom-peer/suyashkumar-dicom/4.dcm")
	const uid = "1.3.6.1.4.1.14519.5.2.1.9999.103.3006616233530892121079169089013"
	for i := range 12 {
		inst := bytes.ReplaceAll(cr, []byte(uid), []byte(uid[:len(uid)-2]+fmt.Sprintf("%02d", i)))
		p.Upload(caseA, fmt.Sprintf("CD/IM%04d", i), inst)
	}
	p.WaitIdle(caseA, 12, 2*time.Minute)
	if code := p.Do(http.MethodPost, "/v1/cases/"+caseA+"/bundle", nil, nil); code != http.StatusAccepted {
		t.Fatalf("bundle request: %d", code)
	}
	waitUnfinished(t, p, p.Bundles)
	p.Serve.Kill()
	p = e2e.Start(t, e2e.Options{Args: args, Data: p.Data})

	// Killed during an API upload: 256 MiB announced, half sent.
	caseB := p.CreateCase("")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	const size = 256 << 20
	pr, pw := io.Pipe()
	go func() {
		_, _ = io.CopyN(pw, rand.Reader, size/2)
		<-ctx.Done() // the rest never comes
		_ = pw.CloseWithError(ctx.Err())
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, p.API+"/v1/cases/"+caseB+"/files/scan.bin", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	req.Header.Set("Authorization", "Bearer "+p.Token)
	go func() {
		if resp, err := p.HTTP.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	waitUnfinished(t, p, p.Intake)
	p.Serve.Kill()
	cancel()

	p = e2e.Start(t, e2e.Options{Args: args, Data: p.Data})
	deadline := time.Now().Add(30 * time.Second)
	for {
		left := unfinished(t, p, p.Intake) + unfinished(t, p, p.Bundles) + unfinished(t, p, p.Derived)
		staged := stagingFiles(t, filepath.Join(p.Data, "s3", "objects"))
		if left == 0 && len(staged) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the clean-up: %d unfinished uploads, staging files %q", left, staged)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func unfinished(t *testing.T, p *e2e.Pipeline, bucket string) int {
	t.Helper()
	ups, err := p.Blobs.IncompleteUploads(t.Context(), bucket, "")
	if err != nil {
		t.Fatal(err)
	}
	return len(ups)
}

func waitUnfinished(t *testing.T, p *e2e.Pipeline, bucket string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for unfinished(t, p, bucket) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no multipart upload started in %s", bucket)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // a part or two on disk
}

// stagingFiles lists the files under the buckets' staging folders (the
// embedded S3's .sgwtmp).
func stagingFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	buckets, _ := os.ReadDir(root)
	for _, b := range buckets {
		_ = filepath.WalkDir(filepath.Join(root, b.Name(), ".sgwtmp"), func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				out = append(out, strings.TrimPrefix(path, root))
			}
			return nil
		})
	}
	return out
}
