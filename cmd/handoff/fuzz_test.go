package main

import (
	"flag"
	"strings"
	"testing"
)

// The CLI's reader of server-sent events takes any bytes without panicking
// and hands over only complete events.
func FuzzReadEvents(f *testing.F) {
	f.Add("event: file\nid: 7\ndata: {\"id\":\"x\"}\n\n")
	f.Add("event: ready\ndata: {}\n\n: ping\n\nevent: report\ndata: {\"pending\":0}\n\n")
	f.Add("data: no name\n\nevent: x\nid: 99999999999999999999999\ndata: a\ndata: b\n\n")
	f.Fuzz(func(t *testing.T, s string) {
		_ = readEvents(strings.NewReader(s), func(name string, _ uint64, data []byte) bool {
			if name == "" || len(data) == 0 {
				t.Fatalf("an incomplete event was handed over: %q %q", name, data)
			}
			return true
		})
	})
}

// Flags may stand anywhere among the arguments; any command line parses or
// fails without panicking.
func FuzzParseArgs(f *testing.F) {
	f.Add("CASE dir --jobs 8 -json")
	f.Add("--jobs=2 a -- --jobs b")
	f.Add("- -- --unknown x")
	f.Fuzz(func(t *testing.T, line string) {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		fs.SetOutput(new(strings.Builder))
		jobs := fs.Int("jobs", 1, "")
		js := fs.Bool("json", false, "")
		_, _ = parseArgs(fs, strings.Fields(line))
		_, _ = jobs, js
	})
}

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		pos  string
		jobs int
	}{
		{[]string{"case1", "dir", "--jobs", "8"}, "case1 dir", 8},
		{[]string{"--jobs=2", "a", "b"}, "a b", 2},
		{[]string{"a", "--", "--jobs", "3"}, "a --jobs 3", 1},
		{[]string{"-json", "a"}, "a", 1},
	} {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		jobs := fs.Int("jobs", 1, "")
		fs.Bool("json", false, "")
		pos, err := parseArgs(fs, tc.args)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if got := strings.Join(pos, " "); got != tc.pos || *jobs != tc.jobs {
			t.Errorf("%v: got %q jobs %d, want %q jobs %d", tc.args, got, *jobs, tc.pos, tc.jobs)
		}
	}
}
