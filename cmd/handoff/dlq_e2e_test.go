package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/handoffmed/handoff/cmd/handoff/internal/e2e"
	"github.com/handoffmed/handoff/platform/bus"
	"github.com/handoffmed/handoff/platform/event"
	"github.com/handoffmed/handoff/platform/record"
)

// An operator handles a dead letter: a bundle asked for a case the store
// did not have yet fails for good and waits in DEADLETTER; `handoff dlq
// list` shows it with its error, the cause is fixed (the case's first
// upload creates it), `handoff dlq replay` makes the request succeed, and
// the dead-letter metrics follow on /metrics.
func TestDeadLetterReplay(t *testing.T) {
	t.Parallel()
	p := e2e.Start(t, e2e.Options{})
	caseID := record.NewCaseID()

	nc, err := p.Conn(t, "admin")
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := event.Encode(event.BundleRequested{Version: 1, CaseID: caseID, Trigger: "request", RequestID: "dlq-test"}, "/test", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.PublishMsg(t.Context(), msg); err != nil {
		t.Fatal(err)
	}

	var list []bus.DeadLetterEntry
	waitUntil(t, "the dead letter", 60*time.Second, func() bool {
		list = nil
		if err := json.Unmarshal([]byte(dlq(t, p, "list", "--json")), &list); err != nil {
			t.Fatal(err)
		}
		return len(list) == 1
	})
	dl := list[0]
	if dl.Consumer != "packager" || dl.OrigSubject != event.SubjectWorkBundle || dl.CaseID != caseID ||
		dl.Deliveries != 1 || !strings.Contains(dl.Error, "not found") || dl.Time.IsZero() {
		t.Errorf("dead letter %+v, want packager's, of %s, case %s, one delivery, a not-found error", dl, event.SubjectWorkBundle, caseID)
	}
	table := dlq(t, p, "list")
	for _, want := range []string{"CONSUMER", "packager", event.SubjectWorkBundle, caseID, dl.Error} {
		if !strings.Contains(table, want) {
			t.Errorf("dlq list lacks %q:\n%s", want, table)
		}
	}
	if show := dlq(t, p, "show", strconv.FormatUint(dl.Seq, 10)); !strings.Contains(show, `"request_id": "dlq-test"`) {
		t.Errorf("dlq show lacks the payload:\n%s", show)
	}
	checkMetrics(t, p, map[string]string{
		`handoff_dead_letters_total{consumer="packager"}`:   "1",
		`handoff_dead_letters_waiting{consumer="packager"}`: "1",
	})

	// The cause, fixed: the case's first upload creates it.
	f := filepath.Join(t.TempDir(), "note.txt")
	if err := os.WriteFile(f, []byte("Medication list\naspirin 81 mg daily\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p.UploadS3(caseID, "note.txt", f)
	p.WaitIdle(caseID, 1, 60*time.Second)

	if out := dlq(t, p, "replay", strconv.FormatUint(dl.Seq, 10)); !strings.Contains(out, "replayed "+strconv.FormatUint(dl.Seq, 10)+": stored in WORK") {
		t.Errorf("dlq replay: %s", out)
	}
	p.WaitFor(caseID, "the replayed request's bundle", 90*time.Second, func(v e2e.CaseView) bool { return len(v.Bundles) == 1 })
	if out := dlq(t, p, "list"); !strings.Contains(out, "no dead letters") {
		t.Errorf("dlq list after the replay:\n%s", out)
	}
	checkMetrics(t, p, map[string]string{
		`handoff_dead_letters_total{consumer="packager"}`:   "1",
		`handoff_dead_letters_waiting{consumer="packager"}`: "0",
	})
}

// dlq runs `handoff dlq ARGS --data DATA` and returns its output.
func dlq(t *testing.T, p *e2e.Pipeline, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	args = append(append([]string{"dlq"}, args...), "--data", p.Data)
	cmd := exec.CommandContext(ctx, e2e.Binary(t), args...)
	cmd.Env = append(os.Environ(), "HANDOFF_NATS_URL=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("handoff %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// checkMetrics reads /metrics and compares the series named.
func checkMetrics(t *testing.T, p *e2e.Pipeline, want map[string]string) {
	t.Helper()
	got := scrape(t, p.API)
	for series, v := range want {
		if got[series] != v {
			t.Errorf("%s: got %q, want %s", series, got[series], v)
		}
	}
}

var seriesRe = regexp.MustCompile(`^(\S+) (\S+)$`)

// scrape returns every series of a process's /metrics by its name and labels.
func scrape(t *testing.T, api string) map[string]string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, api+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if m := seriesRe.FindStringSubmatch(l); m != nil && !strings.HasPrefix(l, "#") {
			out[m[1]] = m[2]
		}
	}
	return out
}

func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
