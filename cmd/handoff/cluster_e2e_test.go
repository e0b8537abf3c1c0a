package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/cmd/handoff/internal/e2e"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/casestore"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/obs"
	"github.com/handoffmed/handoff/platform/record"
)

// The pipeline on a three-node JetStream cluster (R3 streams and buckets),
// each worker kind in its own process given all three servers, loses the
// leader of the WORK stream (SIGKILL) in the middle of 500 uploads across
// 20 cases, and gets it back later. Every file is recorded once and
// finishes, no result is written twice, every case's report is current,
// bundles are made, and the time the pipeline stalled is printed.
func TestClusterLosesANode(t *testing.T) {
	t.Parallel()
	const cases, perCase = 20, 25
	start := time.Now()
	c := e2e.StartCluster(t, e2e.ClusterOptions{
		Groups: []string{"intake", "dicom", "ocr", "packager"},
		Args:   []string{"--reconcile", "10s", "--ocr-workers", "1"},
	})
	t.Logf("cluster and services up in %.1f s", time.Since(start).Seconds())
	nc, err := bus.Connect(t.Context(), bus.ConnectOptions{URL: c.NATSURLs(), Name: "test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	var finished atomic.Int64
	sub, err := nc.Subscribe("handoff.file.>", func(*nats.Msg) { finished.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()

	files := clusterFiles(t, perCase)
	ids := make([]string, cases)
	for i := range ids {
		ids[i] = c.CreateCase(fmt.Sprintf(`{"patient":{"family_name":"Cluster","given_name":"Case %d"}}`, i))
	}
	type job struct{ caseID, path string }
	jobs := make(chan job)
	var uploaded atomic.Int64
	var uploadErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for j := range jobs {
				if err := uploadRetrying(t.Context(), c.Pipeline, j.caseID, j.path, files[j.path]); err != nil {
					errOnce.Do(func() { uploadErr = err })
				}
				uploaded.Add(1)
			}
		})
	}
	go func() {
		defer close(jobs)
		for p := range perCase {
			for _, id := range ids {
				jobs <- job{id, fileNames(perCase)[p]}
			}
		}
	}()

	// Kill the WORK stream's leader once a third of the uploads are in.
	waitUntil(t, "a third of the uploads", 2*time.Minute, func() bool { return uploaded.Load() >= cases*perCase/3 })
	leader := c.StreamLeader(t, js, bus.StreamWork)
	i, node := c.Node(leader)
	if node == nil {
		t.Fatalf("WORK's leader %q is not a node of the cluster", leader)
	}
	before := finished.Load()
	killed := time.Now()
	node.Proc.Kill()
	t.Logf("killed %s, the leader of WORK, after %d uploads and %d completions", leader, uploaded.Load(), before)
	// The pipeline goes on with two nodes, then the third comes back.
	waitUntil(t, "completions without the killed node", 2*time.Minute, func() bool { return finished.Load() >= before+50 })
	resumed := time.Now()
	c.StartNode(t, i, "")
	t.Logf("%s restarted %.1f s after the kill (completions resumed without it)", leader, resumed.Sub(killed).Seconds())
	wg.Wait()
	t.Logf("uploads done %.1f s after the kill", time.Since(killed).Seconds())
	if uploadErr != nil {
		t.Fatal(uploadErr)
	}

	store, err := casestore.Open(t.Context(), js, casestore.Options{Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		c.WaitFor(id, "every file finished", 3*time.Minute, func(v e2e.CaseView) bool {
			return len(v.Files) >= perCase && v.Pending == 0
		})
		checkClusterCase(t, store, id, perCase)
	}
	t.Logf("every file finished, every report current %.1f s after the kill (a delivery in flight on the killed server comes again after its consumer's ack wait)", time.Since(killed).Seconds())
	checkNoDuplicateResults(t, js)
	reportStall(t, js, killed)

	// The packager process makes bundles after the failover too.
	for _, id := range ids[:4] {
		if code := c.Do(http.MethodPost, "/v1/cases/"+id+"/bundle", nil, nil); code != http.StatusAccepted {
			t.Fatalf("ask for a bundle: %d", code)
		}
	}
	for _, id := range ids[:4] {
		c.WaitFor(id, "a bundle", 2*time.Minute, func(v e2e.CaseView) bool { return len(v.Bundles) > 0 })
	}
	t.Logf("bundles made %.1f s after the kill", time.Since(killed).Seconds())
	for group, p := range c.Processes {
		checkJSONLogs(t, group, p.Output())
	}
}

// fileNames are the paths uploaded to each case: text notes, DICOM
// instances and one small text PDF (OCR is kept light).
func fileNames(perCase int) []string {
	names := []string{"scans/ct.dcm", "scans/mr.dcm", "scans/jpeg.dcm", "scans/sc.dcm", "scans/rle.dcm", "reports/lab results.pdf"}
	for i := len(names); i < perCase; i++ {
		names = append(names, fmt.Sprintf("notes/note %02d.txt", i))
	}
	return names
}

func clusterFiles(t *testing.T, perCase int) map[string][]byte {
	t.Helper()
	files := map[string][]byte{
		"scans/ct.dcm":            e2e.ReadCorpus(t, "dicom-peer/pydicom/CT_small.dcm"),
		"scans/mr.dcm":            e2e.ReadCorpus(t, "dicom-peer/pydicom/MR_small.dcm"),
		"scans/jpeg.dcm":          e2e.ReadCorpus(t, "dicom-peer/pydicom/JPEG-lossy.dcm"),
		"scans/sc.dcm":            e2e.ReadCorpus(t, "dicom-peer/pydicom/SC_rgb_small_odd.dcm"),
		"scans/rle.dcm":           e2e.ReadCorpus(t, "dicom-peer/pydicom/SC_rgb_rle_2frame.dcm"),
		"reports/lab results.pdf": e2e.TextPDF("Quest Diagnostics", "Complete blood count", "Hemoglobin 14.1 g/dL"),
	}
	for _, n := range fileNames(perCase) {
		if files[n] == nil {
			files[n] = []byte("Progress note\nSeen in clinic for right hip pain; " + n + "\n")
		}
	}
	return files
}

// uploadRetrying uploads through the API as a client would: an answer
// that does not come, or a 5xx, is retried with the same bytes (the same
// revision: it is recorded once).
func uploadRetrying(ctx context.Context, p *e2e.Pipeline, caseID, path string, data []byte) error {
	var last error
	for range 5 {
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		req, err := http.NewRequestWithContext(rctx, http.MethodPut, p.API+"/v1/cases/"+caseID+"/files/"+(&url.URL{Path: path}).EscapedPath(), bytes.NewReader(data))
		if err != nil {
			cancel()
			return err
		}
		req.Header.Set("Authorization", "Bearer "+p.Token)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusCreated {
				cancel()
				return nil
			}
			err = fmt.Errorf("upload %s: %s", path, resp.Status)
			if resp.StatusCode < 500 {
				cancel()
				return err
			}
		}
		cancel()
		last = err
		time.Sleep(time.Second)
	}
	return last
}

// checkClusterCase: every upload has one record, finished; the report is
// current (computed from the case and its files as they are).
func checkClusterCase(t *testing.T, store *casestore.Store, id string, perCase int) {
	t.Helper()
	files, err := store.Files(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, f := range files {
		seen[f.Path]++
		if !record.Terminal(f.Status) || f.Status != record.StatusDone {
			t.Errorf("case %s, %s: status %s/%s (error %+v), want done", id, f.Path, f.Status, f.Stage, f.Error)
		}
	}
	for path, n := range seen {
		if n != 1 {
			t.Errorf("case %s, %s: %d records, want 1", id, path, n)
		}
	}
	if len(seen) != perCase {
		t.Errorf("case %s: %d files recorded, want %d", id, len(seen), perCase)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := store.Case(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		files, err := store.Files(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := store.Report(t.Context(), id)
		if err == nil && rep.Current(c, files) && rep.Pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("case %s: report not current a minute after its last file (basis %d, pending %d, err %v)", id, rep.Basis, rep.Pending, err)
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// completion is a file's finishing event as EVENTS stored it.
type completion struct {
	at  time.Time
	key string // case, file, revision, subject and stage
}

// completions reads every handoff.file.done and .rejected of EVENTS.
func completions(t *testing.T, js jetstream.JetStream) []completion {
	t.Helper()
	cons, err := js.OrderedConsumer(t.Context(), bus.StreamEvents, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{event.SubjectFileDone, event.SubjectFileRejected},
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []completion
	for {
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		n, last := 0, false
		for m := range batch.Messages() {
			n++
			md, err := m.Metadata()
			if err != nil {
				t.Fatal(err)
			}
			var ev struct {
				event.FileRef
				Stage string `json:"stage"`
			}
			if err := json.Unmarshal(m.Data(), &ev); err != nil {
				t.Fatal(err)
			}
			out = append(out, completion{at: md.Timestamp, key: strings.Join([]string{ev.CaseID, ev.FileID, ev.ETag, m.Subject(), ev.Stage}, " ")})
			last = md.NumPending == 0
		}
		if last || n == 0 {
			return out
		}
	}
}

// checkNoDuplicateResults: no file revision finished twice.
func checkNoDuplicateResults(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	seen := map[string]int{}
	for _, c := range completions(t, js) {
		seen[c.key]++
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("%s: stored %d times in EVENTS, want once", k, n)
		}
	}
}

// reportStall prints the longest gap between two file completions: how
// long the pipeline stood still around the kill.
func reportStall(t *testing.T, js jetstream.JetStream, killed time.Time) {
	t.Helper()
	cs := completions(t, js)
	times := make([]time.Time, len(cs))
	for i, c := range cs {
		times[i] = c.at
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	var gap time.Duration
	var from time.Time
	for i := 1; i < len(times); i++ {
		if d := times[i].Sub(times[i-1]); d > gap {
			gap, from = d, times[i-1]
		}
	}
	var firstAfter time.Duration
	for _, at := range times {
		if at.After(killed) {
			firstAfter = at.Sub(killed)
			break
		}
	}
	t.Logf("pipeline stalled %.1f s: the longest gap between file completions, from %.1f s after the kill; first completion %.1f s after the kill; %d completions",
		gap.Seconds(), from.Sub(killed).Seconds(), firstAfter.Seconds(), len(times))
}

// checkJSONLogs fails on a JSON log line with a repeated key.
func checkJSONLogs(t *testing.T, name, out string) {
	t.Helper()
	n := 0
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		n++
		dups, err := obs.DuplicateKeys([]byte(line))
		if err != nil {
			t.Errorf("%s: log line is not JSON (%v): %.300s", name, err, line)
			continue
		}
		if len(dups) > 0 {
			t.Errorf("%s: log line repeats %q: %.300s", name, dups, line)
		}
	}
	if n == 0 {
		t.Errorf("%s: no JSON log lines", name)
	}
}
