package helm

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeMC stands in for MinIO's client (no MinIO runs in the tests): it logs
// each call, keeps the bucket notification in a file, and fails where
// FAKE_MC_FAIL says ("alias", "add").
const fakeMC = `#!/bin/sh
echo "$*" >> "$FAKE_MC_LOG"
case "$1 $2" in
"alias set") [ "$FAKE_MC_FAIL" = alias ] && { echo "mc: <ERROR> Unable to initialize new alias" >&2; exit 1; } ;;
"event list") [ -f "$FAKE_MC_STATE" ] && cat "$FAKE_MC_STATE" ;;
"event add")
	[ "$FAKE_MC_FAIL" = add ] && { echo "mc: <ERROR> A specified destination ARN does not exist or is not well-formed." >&2; exit 1; }
	echo "$4   s3:ObjectCreated:*   Filter: prefix=\"cases/\"" > "$FAKE_MC_STATE" ;;
esac
exit 0
`

// setup-buckets.sh makes the buckets and the notification, does not add
// the notification twice, and fails loudly when MinIO cannot be reached or
// refuses the notification.
func TestSetupBucketsScript(t *testing.T) {
	t.Parallel()
	script, err := filepath.Abs(filepath.Join(chartDir, "files", "setup-buckets.sh"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		fail      string
		notified  bool // the notification exists before the run
		wantOK    bool
		wantCalls []string // in the fake's log, in order
		wantErr   string
	}{
		{name: "first run", wantOK: true, wantCalls: []string{"alias set handoff http://minio:9000", "ready handoff",
			"mb --ignore-existing handoff/handoff-intake handoff/handoff-derived handoff/handoff-bundles",
			"anonymous set none handoff/handoff-bundles", "event add handoff/handoff-intake arn:minio:sqs::primary:nats --event put --prefix cases/"}},
		{name: "again", notified: true, wantOK: true},
		{name: "notification refused", fail: "add", wantErr: "cannot add the notification"},
		{name: "S3 unreachable", fail: "alias", wantErr: "cannot reach S3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "mc"), []byte(fakeMC), 0o755); err != nil {
				t.Fatal(err)
			}
			state := filepath.Join(dir, "notification")
			if tc.notified {
				if err := os.WriteFile(state, []byte(`arn:minio:sqs::primary:nats s3:ObjectCreated:* Filter: prefix="cases/"`+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			log := filepath.Join(dir, "calls")
			cmd := exec.Command("sh", script)
			cmd.Env = []string{
				"PATH=" + dir + ":/usr/bin:/bin", "FAKE_MC_LOG=" + log, "FAKE_MC_STATE=" + state, "FAKE_MC_FAIL=" + tc.fail,
				"MC_CONFIG_DIR=" + filepath.Join(dir, "mc-config"), "HANDOFF_SETUP_TRIES=2",
				"HANDOFF_S3_ENDPOINT=http://minio:9000", "HANDOFF_S3_ACCESS_KEY=handoff", "HANDOFF_S3_SECRET_KEY=handoff-secret",
			}
			out, err := cmd.CombinedOutput()
			if ok := err == nil; ok != tc.wantOK {
				t.Fatalf("got success %v, want %v\n%s", ok, tc.wantOK, out)
			}
			if !strings.Contains(string(out), tc.wantErr) {
				t.Errorf("got output %q, want %q", out, tc.wantErr)
			}
			if strings.Contains(string(out), "handoff-secret") {
				t.Errorf("the secret key is in the output: %s", out)
			}
			calls, _ := os.ReadFile(log)
			adds := strings.Count(string(calls), "event add")
			if tc.notified && adds != 0 {
				t.Errorf("added the notification again:\n%s", calls)
			}
			rest := string(calls)
			for _, want := range tc.wantCalls {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Fatalf("mc %q not called (in order); calls:\n%s", want, calls)
				}
				rest = rest[i+len(want):]
			}
		})
	}
}
