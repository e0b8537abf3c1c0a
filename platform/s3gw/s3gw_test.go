package s3gw_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/handoffmed/handoff/platform/blob"
	"github.com/handoffmed/handoff/platform/blobtest"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/natstest"
	"github.com/handoffmed/handoff/platform/s3gw"
	"github.com/handoffmed/handoff/platform/testenv"
)

func TestMain(m *testing.M) { os.Exit(blobtest.Run(m)) }

func streamMsgs(t *testing.T, b *bus.Bus) [][]byte {
	t.Helper()
	st, err := b.JetStream().Stream(t.Context(), bus.StreamBucket)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for seq := info.State.FirstSeq; seq > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(t.Context(), seq)
		if err == nil {
			out = append(out, m.Data)
		}
	}
	return out
}

// jetStreamBus is a bus on a test NATS server, with the pipeline's streams.
func jetStreamBus(t *testing.T) *bus.Bus {
	t.Helper()
	b, err := bus.New(natstest.Start(t).Conn(t), "/test", nil, bus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Setup(t.Context(), bus.Topology{Memory: true}); err != nil {
		t.Fatal(err)
	}
	return b
}

// Every write that creates an object has its MinIO-shaped event stored in
// JetStream by the time the client gets its answer.
func TestWritesAreAnsweredAfterTheirEventIsStored(t *testing.T) {
	b := jetStreamBus(t)
	bucket := blobtest.Bucket(t, s3gw.NewJetStreamNotifier(b, ""))
	s := blobtest.Store(t)
	ctx := t.Context()

	check := func(key string, size int64, name string) {
		t.Helper()
		msgs := streamMsgs(t, b)
		if len(msgs) == 0 {
			t.Fatalf("%s: no event stored when the write returned", key)
		}
		recs, err := event.ParseBucketNotification(msgs[len(msgs)-1])
		if err != nil || len(recs) != 1 {
			t.Fatalf("%s: %v %v", key, recs, err)
		}
		st, err := s.Stat(ctx, bucket, key)
		if err != nil {
			t.Fatal(err)
		}
		r := recs[0]
		if r.Key != key || r.Bucket != bucket || r.ETag != st.ETag || r.Size != size || r.EventName != name {
			t.Errorf("event %+v, object %+v", r, st)
		}
	}
	if _, err := s.Put(ctx, bucket, "cases/abcd1234/uploads/My Scans/a+b.txt", strings.NewReader("hello"), 5, blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	check("cases/abcd1234/uploads/My Scans/a+b.txt", 5, "ObjectCreated:Put")

	big := bytes.Repeat([]byte("x"), 11<<20)
	if _, err := s.Put(ctx, bucket, "cases/abcd1234/uploads/big.bin", bytes.NewReader(big), -1, blob.PutOptions{PartSize: 5 << 20}); err != nil {
		t.Fatal(err)
	}
	check("cases/abcd1234/uploads/big.bin", int64(len(big)), "ObjectCreated:CompleteMultipartUpload")

	if _, err := s.Copy(ctx, bucket, "cases/abcd1234/uploads/copy.txt", bucket, "cases/abcd1234/uploads/My Scans/a+b.txt"); err != nil {
		t.Fatal(err)
	}
	check("cases/abcd1234/uploads/copy.txt", 5, "ObjectCreated:Copy")
}

// A notifier with a prefix filter notifies the keys under it only, as
// MinIO's does.
func TestPrefixFilter(t *testing.T) {
	b := jetStreamBus(t)
	bucket := blobtest.Bucket(t, s3gw.NewJetStreamNotifier(b, "").WithPrefix("cases/"))
	s := blobtest.Store(t)
	for _, key := range []string{"other/cases/a.txt", "cases/abcd1234/uploads/a.txt", "casesx/b.txt"} {
		if _, err := s.Put(t.Context(), bucket, key, strings.NewReader("x"), 1, blob.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	msgs := streamMsgs(t, b)
	if len(msgs) != 1 {
		t.Fatalf("%d notifications, want 1", len(msgs))
	}
	if recs, err := event.ParseBucketNotification(msgs[0]); err != nil || len(recs) != 1 || recs[0].Key != "cases/abcd1234/uploads/a.txt" {
		t.Errorf("notified %+v %v", recs, err)
	}
}

type failing struct{}

func (failing) ObjectCreated(context.Context, s3gw.Object) error {
	return errors.New("jetstream unavailable")
}

// When the event cannot be stored, the upload is not answered with success.
func TestWriteFailsWhenItsEventCannotBeStored(t *testing.T) {
	bucket := blobtest.Bucket(t, failing{})
	_, err := blobtest.Store(t).Put(t.Context(), bucket, "k", strings.NewReader("x"), 1, blob.PutOptions{})
	if err == nil {
		t.Fatal("put succeeded although its event was not stored")
	}
}

// Stock clients work: curl with SigV4 signing.
func TestStockClientCurl(t *testing.T) {
	testenv.Tool(t, "curl")
	bucket := blobtest.Bucket(t, nil)
	url := blobtest.Endpoint(t) + "/" + bucket + "/from-curl.txt"
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "curl", "-sS", "-f", "--aws-sigv4", "aws:amz:us-east-1:s3",
		"--user", blobtest.AccessKey+":"+blobtest.SecretKey, "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "-X", "PUT", "--data-binary", "hi", url)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("curl put: %v %s", err, out)
	}
	st, err := blobtest.Store(t).Stat(t.Context(), bucket, "from-curl.txt")
	if err != nil || st.Size != 2 {
		t.Errorf("stat after curl put: %+v %v", st, err)
	}
}
