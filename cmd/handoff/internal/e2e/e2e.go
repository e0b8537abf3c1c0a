// Package e2e runs the real pipeline for end-to-end tests: `handoff serve`
// as a process (embedded NATS and S3), or split across processes against a
// real nats-server and versitygw, and talks to it like a user would.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/localca"
	"github.com/handoffmed/handoff/platform/record"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// Binary returns the handoff binary under test: $HANDOFF_BIN (make test
// sets it), else one built once per test binary.
func Binary(t testing.TB) string {
	t.Helper()
	if b := os.Getenv("HANDOFF_BIN"); b != "" {
		return b
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "handoff-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "handoff")
		cmd := exec.Command("go", "build", "-o", builtBin, "github.com/handoffmed/handoff/cmd/handoff")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// Proc is a process the test started.
type Proc struct {
	Name string
	Cmd  *exec.Cmd
	Log  *bytes.Buffer
	mu   *sync.Mutex
	done chan struct{}
	err  error
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// StartProc starts a process whose output is kept for the test log; it is
// stopped (SIGINT, then SIGKILL) when the test ends.
func StartProc(t testing.TB, name string, env []string, bin string, args ...string) *Proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	p := &Proc{Name: name, Cmd: cmd, Log: &bytes.Buffer{}, mu: &sync.Mutex{}, done: make(chan struct{})}
	w := lockedWriter{p.mu, p.Log}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Stop(t)
		if t.Failed() {
			t.Logf("--- %s output ---\n%s", name, p.Output())
		}
	})
	return p
}

// Output is what the process printed so far.
func (p *Proc) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.Log.String()
}

// Stop interrupts the process (Ctrl-C) and waits for it; it returns the
// exit error.
func (p *Proc) Stop(t testing.TB) error {
	select {
	case <-p.done:
		return p.err
	default:
	}
	_ = p.Cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Errorf("%s did not stop within 60s of SIGINT; killing it", p.Name)
		_ = p.Cmd.Process.Kill()
		<-p.done
	}
	return p.err
}

// Kill kills the process without warning, as a crash would.
func (p *Proc) Kill() {
	_ = p.Cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Exited reports whether the process ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Endpoints are what `handoff serve` wrote to <data>/endpoints.json.
type Endpoints struct {
	API       string `json:"api"`
	S3        string `json:"s3"`
	NATS      string `json:"nats"`
	Data      string `json:"data"`
	S3Access  string `json:"s3_access_key"`
	TokenFile string `json:"api_token_file"`
	CA        string `json:"ca"`
	NATSKeys  string `json:"nats_keys"`
}

// Pipeline is a running pipeline and a client of its API and S3.
type Pipeline struct {
	T     testing.TB
	Serve *Proc // the process serving the API
	Data  string
	Endpoints
	Token    string
	S3Secret string
	Blobs    *blob.Store
	Intake   string // intake bucket
	Derived  string
	Bundles  string
	Env      []string
	Args     []string
	// HTTP is a client of the API (trusting the local CA under --tls auto).
	HTTP *http.Client
}

// Options tunes Start.
type Options struct {
	// Args are extra flags for `handoff serve`.
	Args []string
	// Env is extra environment.
	Env []string
	// Data reuses a data directory (a restart); empty makes a new one.
	Data string
}

// Start runs `handoff serve` with embedded NATS and S3 on free ports.
func Start(t testing.TB, o Options) *Pipeline {
	t.Helper()
	data := o.Data
	if data == "" {
		data = t.TempDir()
	}
	_ = os.Remove(filepath.Join(data, "endpoints.json"))
	// The NATS storage key goes to the user's configuration directory: the
	// test's own.
	env := append([]string{"XDG_CONFIG_HOME=" + filepath.Join(data, "..", filepath.Base(data)+"-config")}, o.Env...)
	args := append([]string{"serve", "--data", data, "--http", "127.0.0.1:0", "--s3", "127.0.0.1:0", "--nats", "127.0.0.1:0", "--log-format", "json"}, o.Args...)
	p := &Pipeline{T: t, Data: data, Env: o.Env, Args: o.Args, Intake: record.DefaultIntakeBucket, Derived: record.DefaultDerivedBucket, Bundles: record.DefaultBundleBucket}
	p.Serve = StartProc(t, "handoff serve", env, Binary(t), args...)
	p.Endpoints = waitEndpoints(t, p.Serve, data)
	p.HTTP = HTTPClient(t, p.CA)
	p.Token = readTrim(t, filepath.Join(data, "api-token"))
	acc, sec, _ := strings.Cut(readTrim(t, filepath.Join(data, "s3-credentials")), ":")
	p.S3Access, p.S3Secret = acc, sec
	var err error
	p.Blobs, err = blob.New(blob.Config{Endpoint: p.S3, AccessKey: acc, SecretKey: sec, CAFile: p.CA})
	if err != nil {
		t.Fatal(err)
	}
	p.WaitReady()
	return p
}

// Restart stops the pipeline (Ctrl-C) and starts it again on the same data.
func (p *Pipeline) Restart() *Pipeline { return p.RestartWith(p.Args) }

// RestartWith stops the pipeline (Ctrl-C) and starts it again on the same
// data with other serve flags.
func (p *Pipeline) RestartWith(args []string) *Pipeline {
	p.T.Helper()
	if err := p.Serve.Stop(p.T); err != nil {
		p.T.Fatalf("serve exited with %v after Ctrl-C\n%s", err, p.Serve.Output())
	}
	return Start(p.T, Options{Args: args, Env: p.Env, Data: p.Data})
}

func readTrim(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func waitEndpoints(t testing.TB, proc *Proc, data string) Endpoints {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(data, "endpoints.json"))
		if err == nil {
			var ep Endpoints
			if err := json.Unmarshal(b, &ep); err == nil {
				return ep
			}
		}
		if proc.Exited() {
			t.Fatalf("%s exited early:\n%s", proc.Name, proc.Output())
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not start:\n%s", proc.Name, proc.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitReady waits until /readyz answers 200.
func (p *Pipeline) WaitReady() {
	p.T.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := p.HTTP.Get(p.API + "/readyz") //nolint:noctx // a test poll
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			p.T.Fatalf("not ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Do calls the API; out, when not nil, receives the JSON answer.
func (p *Pipeline) Do(method, path string, body io.Reader, out any) int {
	p.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, p.API+path, body)
	if err != nil {
		p.T.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+p.Token)
	client := *p.HTTP
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		p.T.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if s, ok := out.(*string); ok {
			b, _ := io.ReadAll(resp.Body)
			*s = string(b)
			if resp.StatusCode == http.StatusFound {
				*s = resp.Header.Get("Location")
			}
		} else {
			_ = json.NewDecoder(resp.Body).Decode(out)
		}
	}
	return resp.StatusCode
}

// HTTPClient is an HTTP client that trusts caFile too (when set).
func HTTPClient(t testing.TB, caFile string) *http.Client {
	t.Helper()
	tc, err := localca.ClientTLS(caFile)
	if err != nil {
		t.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	return &http.Client{Transport: tr}
}

// Conn connects to the pipeline's NATS as role (natsauth: "admin",
// "packager"...), with that role's key from the data directory.
func (p *Pipeline) Conn(t testing.TB, role string) (*nats.Conn, error) {
	t.Helper()
	opts := []nats.Option{nats.Name("test-" + role), nats.MaxReconnects(0)}
	if p.NATSKeys != "" && role != "" {
		opt, err := nats.NkeyOptionFromSeed(filepath.Join(p.NATSKeys, role+".nk"))
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, opt, nats.CustomInboxPrefix("_INBOX."+role))
	}
	if p.CA != "" {
		opts = append(opts, nats.RootCAs(p.CA))
	}
	nc, err := nats.Connect(p.Endpoints.NATS, opts...)
	if err == nil {
		t.Cleanup(nc.Close)
	}
	return nc, err
}

// For returns the pipeline as seen by t (a subtest): its failures are t's.
func (p *Pipeline) For(t testing.TB) *Pipeline {
	q := *p
	q.T = t
	return &q
}

// CreateCase creates a case with the given JSON body ("" for none).
func (p *Pipeline) CreateCase(body string) string {
	p.T.Helper()
	var c struct{ ID string }
	if code := p.Do(http.MethodPost, "/v1/cases", strings.NewReader(body), &c); code != http.StatusCreated {
		p.T.Fatalf("create case: %d", code)
	}
	return c.ID
}

// Upload uploads data as path through the API.
func (p *Pipeline) Upload(caseID, path string, data []byte) FileView {
	p.T.Helper()
	var f FileView
	esc := (&url.URL{Path: path}).EscapedPath()
	if code := p.Do(http.MethodPut, "/v1/cases/"+caseID+"/files/"+esc, bytes.NewReader(data), &f); code != http.StatusCreated {
		p.T.Fatalf("upload %s: %d", path, code)
	}
	return f
}

// UploadS3 writes an upload straight into the intake bucket with curl and
// SigV4, as any stock S3 client would.
func (p *Pipeline) UploadS3(caseID, path, file string) {
	p.T.Helper()
	u := p.S3 + "/" + p.Intake + "/" + (&url.URL{Path: record.UploadKey(caseID, path)}).EscapedPath()
	cmd := exec.Command("curl", "-sS", "-f", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", p.S3Access+":"+p.S3Secret,
		"-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "-T", file, u)
	if out, err := cmd.CombinedOutput(); err != nil {
		p.T.Fatalf("curl put: %v: %s", err, out)
	}
}

// FileView is a file as GET /v1/cases/{id} shows it.
type FileView struct {
	ID       string         `json:"id"`
	Path     string         `json:"path"`
	Size     int64          `json:"size"`
	Type     string         `json:"type"`
	Route    string         `json:"route"`
	Status   string         `json:"status"`
	Stage    string         `json:"stage"`
	Category string         `json:"category"`
	ParentID string         `json:"parent_id"`
	Source   string         `json:"source"`
	Error    *record.Error  `json:"error"`
	Warnings []record.Error `json:"warnings"`
}

// CaseView is GET /v1/cases/{id}.
type CaseView struct {
	ID      string          `json:"id"`
	Pending int             `json:"pending"`
	Files   []FileView      `json:"files"`
	Bundles []record.Bundle `json:"bundles"`
}

// Case reads a case.
func (p *Pipeline) Case(caseID string) CaseView {
	p.T.Helper()
	var v CaseView
	if code := p.Do(http.MethodGet, "/v1/cases/"+caseID, nil, &v); code != http.StatusOK {
		p.T.Fatalf("get case %s: %d", caseID, code)
	}
	return v
}

// WaitFor polls a case until cond holds. A case not there yet (created by
// its first upload through S3, which intake has not seen yet) is waited
// for too.
func (p *Pipeline) WaitFor(caseID, what string, timeout time.Duration, cond func(CaseView) bool) CaseView {
	p.T.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var v CaseView
		code := p.Do(http.MethodGet, "/v1/cases/"+caseID, nil, &v)
		if code != http.StatusOK && code != http.StatusNotFound {
			p.T.Fatalf("get case %s: %d", caseID, code)
		}
		if code == http.StatusOK && cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			p.T.Fatalf("timed out waiting for %s (last answer %d); case: %+v", what, code, v)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// WaitIdle waits until the case has at least n files and none is pending.
func (p *Pipeline) WaitIdle(caseID string, n int, timeout time.Duration) CaseView {
	p.T.Helper()
	return p.WaitFor(caseID, fmt.Sprintf("%d files processed", n), timeout, func(v CaseView) bool {
		return len(v.Files) >= n && v.Pending == 0
	})
}

// Report reads a case's checklist report.
func (p *Pipeline) Report(caseID string) record.Report {
	p.T.Helper()
	var r record.Report
	if code := p.Do(http.MethodGet, "/v1/cases/"+caseID+"/report", nil, &r); code != http.StatusOK {
		p.T.Fatalf("report %s: %d", caseID, code)
	}
	return r
}

// WaitPort waits until something listens on addr.
func WaitPort(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
