package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/record"
	"github.com/handoffmed/handoff/platform/testenv"
)

// Cluster is the pipeline on a three-node JetStream cluster of nats-server
// processes, with versitygw sending bucket notifications to the cluster
// and each group of services in its own `handoff serve` process, every one
// given all three servers' URLs and R3 streams and buckets.
type Cluster struct {
	*Pipeline
	Nodes     []*Node
	S3Proc    *Proc
	S3Port    int
	Processes map[string]*Proc // by group of services
	root      string
	common    []string
	env       []string
}

// Node is one nats-server of the cluster.
type Node struct {
	Name        string
	Port        int // clients
	ClusterPort int // routes
	Dir         string
	Config      string
	Proc        *Proc
}

// URL is the node's client URL.
func (n *Node) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.Port) }

// ClusterOptions tunes StartCluster.
type ClusterOptions struct {
	// Groups are the services of each `handoff serve` process; the first
	// must hold intake.
	Groups []string
	// Args are extra flags for every `handoff serve` process.
	Args []string
}

// StartCluster starts three nats-server processes forming a JetStream
// cluster, versitygw, and one `handoff serve --replicas 3` process per group.
func StartCluster(t testing.TB, o ClusterOptions) *Cluster {
	t.Helper()
	if len(o.Groups) == 0 {
		o.Groups = []string{"intake", "dicom", "ocr", "packager"}
	}
	natsBin, vgwBin := testenv.Tool(t, "nats-server"), testenv.Tool(t, "versitygw")
	c := &Cluster{root: t.TempDir(), Processes: map[string]*Proc{}}
	for i := range 3 {
		n := &Node{Name: fmt.Sprintf("n%d", i+1), Port: testenv.FreePort(t), ClusterPort: testenv.FreePort(t)}
		n.Dir = filepath.Join(c.root, n.Name)
		n.Config = filepath.Join(c.root, n.Name+".conf")
		c.Nodes = append(c.Nodes, n)
	}
	var routes []string
	for _, n := range c.Nodes {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", n.ClusterPort))
	}
	for _, n := range c.Nodes {
		conf := fmt.Sprintf(`server_name: %s
listen: 127.0.0.1:%d
max_payload: 8MB
jetstream {
  store_dir: %q
  max_memory_store: 64MB
  max_file_store: 2GB
}
cluster {
  name: handoff
  listen: 127.0.0.1:%d
  routes: [%s]
}
`, n.Name, n.Port, n.Dir, n.ClusterPort, strings.Join(routes, ", "))
		if err := os.WriteFile(n.Config, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for i := range c.Nodes {
		c.StartNode(t, i, natsBin)
	}
	c.WaitJetStream(t)

	s3Dir := filepath.Join(c.root, "s3")
	for _, d := range []string{filepath.Join(s3Dir, "objects"), filepath.Join(s3Dir, "meta")} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			t.Fatal(err)
		}
	}
	c.S3Port = testenv.FreePort(t)
	c.S3Proc = StartProc(t, "versitygw", []string{"ROOT_ACCESS_KEY=" + extAccess, "ROOT_SECRET_KEY=" + extSecret}, vgwBin,
		"--port", fmt.Sprintf("127.0.0.1:%d", c.S3Port), "--quiet", "--keep-alive",
		"--event-nats-url", c.NATSURLs(), "--event-nats-topic", event.DefaultBucketSubject,
		"posix", "--sidecar", filepath.Join(s3Dir, "meta"), filepath.Join(s3Dir, "objects"))
	WaitPort(t, fmt.Sprintf("127.0.0.1:%d", c.S3Port))
	s3URL := fmt.Sprintf("http://127.0.0.1:%d", c.S3Port)

	c.env = []string{"HANDOFF_S3_ACCESS_KEY=" + extAccess, "HANDOFF_S3_SECRET_KEY=" + extSecret, "HANDOFF_API_TOKEN=" + extToken}
	c.common = append([]string{"--nats-url", c.NATSURLs(), "--replicas", "3", "--s3-endpoint", s3URL, "--log-format", "json"}, o.Args...)
	// The first process sets the streams up; the others start at once.
	c.StartGroup(t, o.Groups[0])
	for _, g := range o.Groups[1:] {
		c.StartGroup(t, g)
	}
	for _, g := range o.Groups[1:] {
		waitEndpoints(t, c.Processes[g], c.dataOf(g))
	}
	blobs, err := blob.New(blob.Config{Endpoint: s3URL, AccessKey: extAccess, SecretKey: extSecret})
	if err != nil {
		t.Fatal(err)
	}
	c.Pipeline = &Pipeline{T: t, Serve: c.Processes[o.Groups[0]], Token: extToken, HTTP: HTTPClient(t, ""), S3Secret: extSecret, Blobs: blobs,
		Intake: record.DefaultIntakeBucket, Derived: record.DefaultDerivedBucket, Bundles: record.DefaultBundleBucket}
	c.Pipeline.Endpoints = waitEndpoints(t, c.Processes[o.Groups[0]], c.dataOf(o.Groups[0]))
	c.Pipeline.S3, c.Pipeline.S3Access, c.Pipeline.NATS = s3URL, extAccess, c.NATSURLs()
	c.Pipeline.WaitReady()
	return c
}

// NATSURLs are the client URLs of every node, comma-separated.
func (c *Cluster) NATSURLs() string {
	urls := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		urls[i] = n.URL()
	}
	return strings.Join(urls, ",")
}

// StartNode starts (or restarts) node i on its configuration and store.
func (c *Cluster) StartNode(t testing.TB, i int, bin string) {
	t.Helper()
	if bin == "" {
		bin = testenv.Tool(t, "nats-server")
	}
	n := c.Nodes[i]
	n.Proc = StartProc(t, "nats-server "+n.Name, nil, bin, "-c", n.Config)
	WaitPort(t, fmt.Sprintf("127.0.0.1:%d", n.Port))
}

// Node returns the node of a server name.
func (c *Cluster) Node(name string) (int, *Node) {
	for i, n := range c.Nodes {
		if n.Name == name {
			return i, n
		}
	}
	return -1, nil
}

// WaitJetStream waits until the cluster has elected its meta leader and
// answers JetStream requests.
func (c *Cluster) WaitJetStream(t testing.TB) {
	t.Helper()
	nc, err := nats.Connect(c.NATSURLs())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := js.AccountInfo(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the JetStream cluster did not form: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// StreamLeader returns the server name of a stream's leader.
func (c *Cluster) StreamLeader(t testing.TB, js jetstream.JetStream, stream string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := js.Stream(ctx, stream)
		cancel()
		if err == nil {
			if info := st.CachedInfo(); info.Cluster != nil && info.Cluster.Leader != "" {
				return info.Cluster.Leader
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s has no leader: %v", stream, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (c *Cluster) dataOf(group string) string { return filepath.Join(c.root, "proc-"+group) }

// StartGroup starts the `handoff serve` process of a group of services; it
// does not wait for it to be up.
func (c *Cluster) StartGroup(t testing.TB, group string) *Proc {
	t.Helper()
	data := c.dataOf(group)
	_ = os.MkdirAll(data, 0o700)
	_ = os.Remove(filepath.Join(data, "endpoints.json"))
	args := append([]string{"serve", "--services", group, "--data", data, "--http", "127.0.0.1:0"}, c.common...)
	p := StartProc(t, "handoff serve --services "+group, c.env, Binary(t), args...)
	c.Processes[group] = p
	return p
}

// Endpoints returns what a group's process wrote to its endpoints.json.
func (c *Cluster) EndpointsOf(t testing.TB, group string) Endpoints {
	t.Helper()
	return waitEndpoints(t, c.Processes[group], c.dataOf(group))
}
