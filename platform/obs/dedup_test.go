package obs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A key appears once per JSON record however the logger was built, and
// durations are seconds under a key that says so.
func TestJSONLogKeysOnceDurationsInSeconds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		log  func(*slog.Logger)
		want map[string]any
	}{
		{"service added by the binary and by the service", func(l *slog.Logger) {
			l.With("service", "ocr").With("service", "ocr").Info("m")
		}, map[string]any{"service": "ocr"}},
		{"the call's value wins over With's", func(l *slog.Logger) {
			l.With("case_id", "aaaa1111", "consumer", "dicom").Info("m", "case_id", "bbbb2222")
		}, map[string]any{"case_id": "bbbb2222", "consumer": "dicom"}},
		{"twice in one call", func(l *slog.Logger) {
			l.Info("m", "seq", 1, "seq", 2)
		}, map[string]any{"seq": json.Number("2")}},
		{"groups keep their own keys", func(l *slog.Logger) {
			l.With("service", "intake").WithGroup("req").With("id", "x").Info("m", "id", "y", slog.Group("", "service", "inner"))
		}, map[string]any{"service": "intake", "req": map[string]any{"id": "y", "service": "inner"}}},
		{"durations in seconds", func(l *slog.Logger) {
			l.Info("m", "delay", 1500*time.Millisecond, "wait_seconds", 2*time.Second, "count", 3)
		}, map[string]any{"delay_seconds": json.Number("1.5"), "wait_seconds": json.Number("2"), "count": json.Number("3")}},
		{"durations in groups and With", func(l *slog.Logger) {
			l.With("ack_wait", time.Minute).Info("m", slog.Group("cfg", "timeout", 90*time.Second))
		}, map[string]any{"ack_wait_seconds": json.Number("60"), "cfg": map[string]any{"timeout_seconds": json.Number("90")}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			tc.log(NewLogger(&buf, "json", "info"))
			line := bytes.TrimSpace(buf.Bytes())
			dups, err := DuplicateKeys(line)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			if len(dups) > 0 {
				t.Errorf("repeated keys %q in %s", dups, line)
			}
			dec := json.NewDecoder(bytes.NewReader(line))
			dec.UseNumber()
			got := map[string]any{}
			if err := dec.Decode(&got); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"time", "level", "msg"} {
				delete(got, k)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("record (-want +got):\n%s", d)
			}
		})
	}
}

// Loggers derived from one logger do not see each other's attributes.
func TestLoggersDoNotShareAttributes(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	base := NewLogger(&buf, "json", "info").With("service", "intake")
	a, b := base.With("case_id", "aaaa1111"), base.With("file_id", "ffff0000")
	a.Info("a")
	b.Info("b")
	sc := bufio.NewScanner(&buf)
	var lines []map[string]any
	for sc.Scan() {
		m := map[string]any{}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 2 || lines[0]["file_id"] != nil || lines[1]["case_id"] != nil {
		t.Errorf("got %v, want case_id on the first line only and file_id on the second", lines)
	}
}

func TestDuplicateKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want []string
		bad  bool
	}{
		{`{"a":1,"b":2}`, nil, false},
		{`{"a":1,"a":2}`, []string{"a"}, false},
		{`{"a":{"x":1,"x":2},"b":[{"y":1,"y":1}]}`, []string{"x", "y"}, false},
		{`{"a":{"x":1},"b":{"x":2}}`, nil, false},
		{`[1,2]`, nil, true},
		{`level=INFO msg=x`, nil, true},
	}
	for _, tc := range tests {
		got, err := DuplicateKeys([]byte(tc.line))
		if (err != nil) != tc.bad {
			t.Errorf("%s: error %v, want error %v", tc.line, err, tc.bad)
			continue
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.line, d)
		}
	}
}

func FuzzDuplicateKeys(f *testing.F) {
	for _, s := range []string{`{"a":1,"a":2}`, `{"a":[{"b":{}}]}`, `{`, `[`, `"x"`, `{"a":}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		_, _ = DuplicateKeys(line)
	})
}
