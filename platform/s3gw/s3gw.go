// Package s3gw runs an embedded S3 endpoint: versitygw's gateway on its
// posix backend, with object metadata in extended attributes (or sidecar
// files where the filesystem has none). Stock S3 clients (aws-cli, mc,
// minio-go, curl --aws-sigv4) use it like MinIO.
//
// Unlike a real MinIO, whose notifications are fire-and-forget, every write
// that creates an object is answered only after the Notifier returned: the
// pipeline's notifier stores the event in JetStream first, so an upload is
// never left without its event.
//
// Only one gateway can run per process (versitygw keeps package state), and
// starting it changes the process's working directory to the object root
// (the posix backend works relative to it): callers use absolute paths.
package s3gw

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/versity/versitygw/auth"
	"github.com/versity/versitygw/backend"
	"github.com/versity/versitygw/backend/meta"
	"github.com/versity/versitygw/backend/posix"
	"github.com/versity/versitygw/embedgw"
	"github.com/versity/versitygw/s3api"
	"github.com/versity/versitygw/s3response"
	"golang.org/x/sys/unix"
)

// Notifier is told about every object created through the gateway, before
// the client gets its answer. An error fails the request (the object is
// stored; the client retries, and reconciliation finds it in any case).
type Notifier interface {
	ObjectCreated(ctx context.Context, o Object) error
}

// Object is a created object as the gateway saw it.
type Object struct {
	Bucket    string
	Key       string
	ETag      string // without quotes
	Size      int64
	EventName string // ObjectCreated:Put, ...
	// Head is the object's first bytes (up to HeadSize) when the gateway saw
	// them go by (single PUTs), else nil. It is valid during the call only.
	Head []byte
}

// HeadSize is how many leading bytes of a PUT the gateway keeps for its Notifier.
const HeadSize = 4096

// Config configures the gateway.
type Config struct {
	// Addr is the listen address; port 0 picks a free port.
	Addr string
	// Dir holds the objects (Dir/objects) and their metadata (Dir/meta).
	Dir       string
	AccessKey string
	SecretKey string
	Region    string
	// Notifier, when set, is told about every object created.
	Notifier Notifier
	// Sidecar keeps object metadata in sidecar files even where the
	// filesystem has extended attributes.
	Sidecar bool
	// CertFile and KeyFile, when set, serve S3 over TLS only.
	CertFile, KeyFile string
	// CORSAllowOrigin lets pages of that origin ("*": any) send presigned
	// requests (the web app's uploads of parts) and read their ETag.
	CORSAllowOrigin string
}

// xattrs reports whether dir's filesystem stores user extended attributes.
// A data directory keeps the kind it started with: objects written with
// sidecar metadata are not found through xattrs, so the choice is recorded.
func xattrs(dir string) bool {
	marker := filepath.Join(dir, "..", "metadata-store")
	if b, err := os.ReadFile(marker); err == nil {
		return strings.TrimSpace(string(b)) == "xattr"
	}
	kind := "sidecar"
	probe := filepath.Join(dir, "..", ".xattr-probe")
	if f, err := os.Create(probe); err == nil {
		_ = f.Close()
		if unix.Setxattr(probe, "user.handoff.probe", []byte("1"), 0) == nil {
			kind = "xattr"
		}
		_ = os.Remove(probe)
	}
	_ = os.WriteFile(marker, []byte(kind+"\n"), 0o640)
	return kind == "xattr"
}

// Gateway is a running embedded S3 endpoint.
type Gateway struct {
	addr   string
	tls    bool
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

var running sync.Mutex

// Start starts the gateway and returns once it accepts connections. It runs
// until ctx is done or Close is called.
func Start(ctx context.Context, cfg Config) (*Gateway, error) {
	if !running.TryLock() {
		return nil, errors.New("s3gw: a gateway already runs in this process")
	}
	g, err := start(ctx, cfg)
	if err != nil {
		running.Unlock()
		return nil, err
	}
	go func() {
		<-g.done
		running.Unlock()
	}()
	return g, nil
}

func start(ctx context.Context, cfg Config) (*Gateway, error) {
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, errors.New("s3gw: access key and secret key are required")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	root, metaDir := filepath.Join(dir, "objects"), filepath.Join(dir, "meta")
	for _, d := range []string{root, metaDir} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("s3gw: %w", err)
		}
	}
	addr, err := resolveAddr(cfg.Addr)
	if err != nil {
		return nil, err
	}
	sweepTemp(root)
	// Object metadata goes in extended attributes where the filesystem has
	// them (several times cheaper per PUT), else in sidecar files.
	opts := posix.PosixOpts{NewDirPerm: 0o750, NewFilePerm: 0o640, CopyObjectThreshold: 5 << 30}
	var store meta.MetadataStorer = meta.XattrMeta{}
	if cfg.Sidecar || !xattrs(root) {
		sc, err := meta.NewSideCar(metaDir)
		if err != nil {
			return nil, fmt.Errorf("s3gw: sidecar: %w", err)
		}
		store, opts.SideCarDir = sc, metaDir
	}
	be, err := posix.New(root, store, opts)
	if err != nil {
		return nil, fmt.Errorf("s3gw: posix backend: %w", err)
	}
	var backendImpl backend.Backend = be
	if cfg.Notifier != nil {
		backendImpl = &notifying{Backend: be, n: cfg.Notifier}
	}

	ready := make(chan struct{})
	var once sync.Once
	gctx, cancel := context.WithCancel(ctx)
	g := &Gateway{addr: addr, cancel: cancel, done: make(chan struct{}), tls: cfg.CertFile != ""}
	rootAccount := auth.Account{Access: cfg.AccessKey, Secret: cfg.SecretKey, Role: auth.RoleAdmin}
	gwCfg := &embedgw.Config{
		// One account, given directly: versitygw's own set-up of it prints
		// to stdout, which belongs to the embedding program.
		IAMService:        auth.NewIAMServiceSingle(rootAccount),
		RootUserAccess:    cfg.AccessKey,
		RootUserSecret:    cfg.SecretKey,
		Region:            cfg.Region,
		Ports:             []string{addr},
		CertFile:          cfg.CertFile,
		KeyFile:           cfg.KeyFile,
		MaxConnections:    4096,
		MaxRequests:       2048,
		MultipartMaxParts: 10000,
		Quiet:             true,
		KeepAlive:         true,
		CORSAllowOrigin:   cfg.CORSAllowOrigin,
		S3Options:         []s3api.Option{s3api.WithOnListen(func() { once.Do(func() { close(ready) }) })},
	}
	go func() {
		defer close(g.done)
		g.err = embedgw.RunVersityGW(gctx, backendImpl, gwCfg)
		if g.err != nil && errors.Is(gctx.Err(), context.Canceled) {
			g.err = nil
		}
		be.Shutdown()
	}()
	select {
	case <-ready:
	case <-g.done:
		cancel()
		return nil, fmt.Errorf("s3gw: %w", g.err)
	case <-time.After(30 * time.Second):
		cancel()
		<-g.done
		return nil, errors.New("s3gw: gateway did not start")
	}
	if err := waitListening(addr); err != nil {
		cancel()
		<-g.done
		return nil, err
	}
	return g, nil
}

// sweepTemp removes the named temporary files a killed gateway left in its
// buckets (where the filesystem has no O_TMPFILE, uploads are written to
// <bucket>/.sgwtmp first). Unfinished multipart uploads stay: they can be
// resumed, and are aborted after their age by the pipeline's clean-up.
// The gateway is not running yet and owns the directory.
func sweepTemp(root string) {
	buckets, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, b := range buckets {
		tmp := filepath.Join(root, b.Name(), posix.MetaTmpDir)
		entries, err := os.ReadDir(tmp)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if filepath.Join(posix.MetaTmpDir, e.Name()) == posix.MetaTmpMultipartDir {
				continue
			}
			_ = os.RemoveAll(filepath.Join(tmp, e.Name()))
		}
	}
}

// Addr is the host:port the gateway listens on.
func (g *Gateway) Addr() string { return g.addr }

// Endpoint is the gateway's URL.
func (g *Gateway) Endpoint() string {
	if g.tls {
		return "https://" + g.addr
	}
	return "http://" + g.addr
}

// Close stops the gateway and waits for it.
func (g *Gateway) Close() error {
	g.cancel()
	<-g.done
	return g.err
}

// Done is closed when the gateway has stopped.
func (g *Gateway) Done() <-chan struct{} { return g.done }

// resolveAddr picks a free port for port 0: versitygw does not report the
// port it bound.
func resolveAddr(addr string) (string, error) {
	if addr == "" {
		addr = "127.0.0.1:9000"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("s3gw: address %q: %w", addr, err)
	}
	if port != "0" {
		return addr, nil
	}
	if host == "" {
		host = "127.0.0.1"
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", fmt.Errorf("s3gw: pick a port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitListening(addr string) error {
	host, port, _ := net.SplitHostPort(addr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(host, port), time.Second)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("s3gw: not listening on %s: %w", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// notifying tells the Notifier about each object a write created, before
// the write is answered.
type notifying struct {
	backend.Backend
	n Notifier
}

func (b *notifying) PutObject(ctx context.Context, in s3response.PutObjectInput) (s3response.PutObjectOutput, error) {
	head := heads.Get().(*headWriter)
	defer func() { head.b = head.b[:0]; heads.Put(head) }()
	if in.Body != nil {
		in.Body = io.TeeReader(in.Body, head)
	}
	out, err := b.Backend.PutObject(ctx, in)
	if err != nil {
		return out, err
	}
	size := int64(-1)
	if in.ContentLength != nil {
		size = *in.ContentLength
	}
	return out, b.notify(ctx, Object{Bucket: deref(in.Bucket), Key: deref(in.Key), ETag: out.ETag, Size: size, EventName: "ObjectCreated:Put", Head: head.b})
}

// headWriter keeps the first HeadSize bytes written to it.
type headWriter struct{ b []byte }

var heads = sync.Pool{New: func() any { return &headWriter{b: make([]byte, 0, HeadSize)} }}

func (h *headWriter) Write(p []byte) (int, error) {
	if room := HeadSize - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (b *notifying) CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput) (s3response.CompleteMultipartUploadResult, string, error) {
	res, version, err := b.Backend.CompleteMultipartUpload(ctx, in)
	if err != nil {
		return res, version, err
	}
	return res, version, b.notify(ctx, Object{Bucket: deref(in.Bucket), Key: deref(in.Key), ETag: deref(res.ETag), Size: -1, EventName: "ObjectCreated:CompleteMultipartUpload"})
}

func (b *notifying) CopyObject(ctx context.Context, in s3response.CopyObjectInput) (s3response.CopyObjectOutput, error) {
	out, err := b.Backend.CopyObject(ctx, in)
	if err != nil {
		return out, err
	}
	return out, b.notify(ctx, Object{Bucket: deref(in.Bucket), Key: deref(in.Key), Size: -1, EventName: "ObjectCreated:Copy"})
}

// notify fills in what the write did not say (size, ETag) from the stored
// object, then calls the Notifier.
func (b *notifying) notify(ctx context.Context, o Object) error {
	if o.Size < 0 || o.ETag == "" {
		h, err := b.Backend.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &o.Bucket, Key: &o.Key})
		if err != nil {
			return fmt.Errorf("s3gw: head %s/%s after write: %w", o.Bucket, o.Key, err)
		}
		if h.ContentLength != nil {
			o.Size = *h.ContentLength
		}
		if o.ETag == "" && h.ETag != nil {
			o.ETag = *h.ETag
		}
	}
	o.ETag = strings.Trim(o.ETag, `"`)
	if int64(len(o.Head)) != min(o.Size, HeadSize) {
		o.Head = nil // not the whole head: let the consumer read it
	}
	// The request may be gone already; the event must still be stored.
	nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return b.n.ObjectCreated(nctx, o)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
