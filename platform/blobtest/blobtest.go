// Package blobtest runs the embedded S3 endpoint of `handoff serve` for
// tests: one gateway per test binary (versitygw runs once per process),
// started from TestMain, and a fresh bucket per test.
//
//	func TestMain(m *testing.M) { os.Exit(blobtest.Run(m)) }
//
// Starting the gateway changes the working directory (see package s3gw) for
// as long as the tests run: tests resolve relative paths (testdata, the
// shared corpus) with Abs, or before TestMain calls Run.
package blobtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/s3gw"
)

// Test credentials of the embedded endpoint.
const (
	AccessKey = "handoff-test"
	SecretKey = "handoff-test-secret"
)

type env struct {
	gw      *s3gw.Gateway
	workDir string
	store   *blob.Store
	cfg     blob.Config
	next    atomic.Int64
	router  *router
}

var shared *env // one gateway per test binary, owned by Run

// Run starts the gateway, runs the tests and stops it.
func Run(m *testing.M) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "blobtest:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "blobtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "blobtest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	r := &router{byBucket: map[string]s3gw.Notifier{}}
	gw, err := s3gw.Start(context.Background(), s3gw.Config{
		Addr: "127.0.0.1:0", Dir: dir, AccessKey: AccessKey, SecretKey: SecretKey, Notifier: r,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "blobtest:", err)
		return 1
	}
	// The gateway's posix backend works relative to the working directory it
	// set: tests resolve relative paths with Abs.
	cfg := blob.Config{Endpoint: gw.Endpoint(), AccessKey: AccessKey, SecretKey: SecretKey}
	store, err := blob.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "blobtest:", err)
		return 1
	}
	shared = &env{gw: gw, workDir: wd, store: store, cfg: cfg, router: r}
	code := m.Run()
	_ = gw.Close()
	_ = os.Chdir(wd)
	return code
}

func get(t testing.TB) *env {
	t.Helper()
	if shared == nil {
		t.Fatal("blobtest: call blobtest.Run from TestMain")
	}
	return shared
}

// Store is a client of the shared gateway.
func Store(t testing.TB) *blob.Store { return get(t).store }

// Config is how to reach the shared gateway.
func Config(t testing.TB) blob.Config { return get(t).cfg }

// Endpoint is the shared gateway's URL.
func Endpoint(t testing.TB) string { return get(t).gw.Endpoint() }

// WorkDir is the test binary's working directory at start.
func WorkDir(t testing.TB) string { return get(t).workDir }

// Abs resolves a path relative to the package directory.
func Abs(t testing.TB, rel string) string {
	if filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(WorkDir(t), rel)
}

// Bucket creates a fresh bucket for the test. When n is not nil, objects
// created in it are notified to n (before each write is answered).
func Bucket(t testing.TB, n s3gw.Notifier) string {
	t.Helper()
	e := get(t)
	name := fmt.Sprintf("t%d-%s", e.next.Add(1), sanitize(t.Name()))
	if err := e.store.EnsureBuckets(t.Context(), name); err != nil {
		t.Fatalf("bucket: %v", err)
	}
	if n != nil {
		e.router.set(name, n)
		t.Cleanup(func() { e.router.set(name, nil) })
	}
	return name
}

func sanitize(s string) string {
	s = strings.ToLower(s)
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(b) < 40; i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b = append(b, c)
		} else if len(b) > 0 && b[len(b)-1] != '-' {
			b = append(b, '-')
		}
	}
	return strings.Trim(string(b), "-")
}

// router sends each bucket's notifications to the notifier of the test
// that owns the bucket.
type router struct {
	mu       sync.RWMutex
	byBucket map[string]s3gw.Notifier
}

func (r *router) set(bucket string, n s3gw.Notifier) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n == nil {
		delete(r.byBucket, bucket)
		return
	}
	r.byBucket[bucket] = n
}

func (r *router) ObjectCreated(ctx context.Context, o s3gw.Object) error {
	r.mu.RLock()
	n := r.byBucket[o.Bucket]
	r.mu.RUnlock()
	if n == nil {
		return nil
	}
	return n.ObjectCreated(ctx, o)
}
