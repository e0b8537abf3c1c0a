package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/natsauth"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/testenv"
)

// External is the pipeline split across processes against a real
// nats-server and a versitygw S3 server that publishes bucket notifications
// to NATS, the way it runs in production against MinIO.
type External struct {
	*Pipeline
	NATS      *Proc
	NATSPort  int
	NATSDir   string
	S3Proc    *Proc
	S3Port    int
	S3Dir     string
	Processes map[string]*Proc // by service list, e.g. "intake", "dicom,ocr,packager"
	// Keys are the NATS identities (platform/natsauth) the server accepts.
	Keys     natsauth.Keys
	natsConf string
	common   []string
	env      []string
}

const (
	extAccess = "handoff-e2e"
	extSecret = "handoff-e2e-secret-key"
	extToken  = "handoff-e2e-api-token-0123456789"
)

// ExternalOptions tunes StartExternal.
type ExternalOptions struct {
	// Groups are the services of each process; the first must hold intake.
	Groups []string
	// Args are extra flags for every `handoff serve` process.
	Args []string
}

// StartExternal starts nats-server, versitygw, and one `handoff serve`
// process per group of services.
func StartExternal(t testing.TB, o ExternalOptions) *External {
	t.Helper()
	if len(o.Groups) == 0 {
		o.Groups = []string{"intake", "dicom,ocr,packager"}
	}
	natsBin, vgwBin := testenv.Tool(t, "nats-server"), testenv.Tool(t, "versitygw")
	root := t.TempDir()
	x := &External{NATSDir: filepath.Join(root, "nats"), S3Dir: filepath.Join(root, "s3"), Processes: map[string]*Proc{}}
	x.NATSPort = testenv.FreePort(t)
	// NATS locked down as in production: each service with its own key.
	x.Keys = natsauth.Keys{Dir: filepath.Join(root, "nats-keys")}
	if err := x.Keys.Generate(); err != nil {
		t.Fatal(err)
	}
	auth, err := x.Keys.ServerConfig(natsauth.Options{BucketSubject: event.DefaultBucketSubject})
	if err != nil {
		t.Fatal(err)
	}
	x.natsConf = filepath.Join(root, "nats.conf")
	if err := os.WriteFile(x.natsConf, []byte(auth), 0o600); err != nil {
		t.Fatal(err)
	}
	x.StartNATS(t, natsBin)
	for _, d := range []string{filepath.Join(x.S3Dir, "objects"), filepath.Join(x.S3Dir, "meta")} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			t.Fatal(err)
		}
	}
	x.S3Port = testenv.FreePort(t)
	x.StartS3(t, vgwBin)
	s3URL := fmt.Sprintf("http://127.0.0.1:%d", x.S3Port)
	x.env = []string{"HANDOFF_S3_ACCESS_KEY=" + extAccess, "HANDOFF_S3_SECRET_KEY=" + extSecret, "HANDOFF_API_TOKEN=" + extToken}
	x.common = append([]string{"--nats-url", x.NATSURL(), "--nats-keys", x.Keys.Dir, "--s3-endpoint", s3URL, "--log-format", "json"}, o.Args...)
	for _, g := range o.Groups {
		x.StartGroup(t, g)
	}
	blobs, err := blob.New(blob.Config{Endpoint: s3URL, AccessKey: extAccess, SecretKey: extSecret})
	if err != nil {
		t.Fatal(err)
	}
	first := x.Processes[o.Groups[0]]
	x.Pipeline = &Pipeline{T: t, Serve: first, Token: extToken, S3Secret: extSecret, Blobs: blobs,
		Intake: record.DefaultIntakeBucket, Derived: record.DefaultDerivedBucket, Bundles: record.DefaultBundleBucket}
	x.Pipeline.Endpoints = x.endpointsOf(t, o.Groups[0])
	x.Pipeline.S3, x.Pipeline.S3Access = s3URL, extAccess
	x.Pipeline.HTTP = HTTPClient(t, "")
	x.Pipeline.Endpoints.NATS, x.Pipeline.NATSKeys = x.NATSURL(), x.Keys.Dir
	x.Pipeline.WaitReady()
	return x
}

// NATSURL is the nats-server's URL.
func (x *External) NATSURL() string { return fmt.Sprintf("nats://127.0.0.1:%d", x.NATSPort) }

// StartNATS starts (or restarts) nats-server on its port and store.
func (x *External) StartNATS(t testing.TB, bin string) {
	t.Helper()
	if bin == "" {
		bin = testenv.Tool(t, "nats-server")
	}
	x.NATS = StartProc(t, "nats-server", nil, bin, "-c", x.natsConf, "-js", "-sd", x.NATSDir, "-a", "127.0.0.1", "-p", strconv.Itoa(x.NATSPort))
	WaitPort(t, fmt.Sprintf("127.0.0.1:%d", x.NATSPort))
}

// StartS3 starts (or restarts) versitygw on its port and directories.
func (x *External) StartS3(t testing.TB, bin string) {
	t.Helper()
	if bin == "" {
		bin = testenv.Tool(t, "versitygw")
	}
	x.S3Proc = StartProc(t, "versitygw", []string{"ROOT_ACCESS_KEY=" + extAccess, "ROOT_SECRET_KEY=" + extSecret}, bin,
		"--port", fmt.Sprintf("127.0.0.1:%d", x.S3Port), "--quiet", "--keep-alive",
		"--event-nats-url", x.s3NATSURL(t), "--event-nats-topic", event.DefaultBucketSubject,
		"posix", "--sidecar", filepath.Join(x.S3Dir, "meta"), filepath.Join(x.S3Dir, "objects"))
	WaitPort(t, fmt.Sprintf("127.0.0.1:%d", x.S3Port))
}

// s3NATSURL is the NATS URL of the S3 server's notifications: the S3
// sender's user and password in it, as MinIO and versitygw take them.
func (x *External) s3NATSURL(t testing.TB) string {
	u, err := x.Keys.S3URL(x.NATSURL())
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// StartGroup starts (or restarts) the `handoff serve` process of a group of services.
func (x *External) StartGroup(t testing.TB, group string) *Proc {
	t.Helper()
	data := filepath.Join(x.S3Dir, "..", "proc-"+group)
	_ = os.MkdirAll(data, 0o700)
	_ = os.Remove(filepath.Join(data, "endpoints.json"))
	args := append([]string{"serve", "--services", group, "--data", data, "--http", "127.0.0.1:0"}, x.common...)
	p := StartProc(t, "handoff serve --services "+group, x.env, Binary(t), args...)
	waitEndpoints(t, p, data)
	x.Processes[group] = p
	return p
}

func (x *External) endpointsOf(t testing.TB, group string) Endpoints {
	data := filepath.Join(x.S3Dir, "..", "proc-"+group)
	return waitEndpoints(t, x.Processes[group], data)
}

// RestartGroup restarts a group's process, which may have been killed.
func (x *External) RestartGroup(t testing.TB, group string) {
	t.Helper()
	if p := x.Processes[group]; p != nil && !p.Exited() {
		_ = p.Stop(t)
	}
	p := x.StartGroup(t, group)
	if strings.Contains(group, "intake") {
		x.Pipeline.Serve = p
		x.Pipeline.Endpoints.API = x.endpointsOf(t, group).API
		x.Pipeline.WaitReady()
	}
	time.Sleep(100 * time.Millisecond)
}
