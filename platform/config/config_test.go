package config

import (
	"bytes"
	"flag"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// got is what one parse of the test settings gave.
type got struct {
	Name     string
	Workers  int
	Size     int64
	Gain     float64
	Insecure bool
	Wait     time.Duration
	Format   string
	Secret   string
}

func parse(t *testing.T, args []string, env map[string]string) (got, *Set, error) {
	t.Helper()
	var g got
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	s := NewSet(fs, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	Add(s, &g.Name, Var[string]{Flag: "name", Env: "HANDOFF_NAME", Default: "def"})
	Add(s, &g.Workers, Var[int]{Flag: "workers", Env: "HANDOFF_WORKERS", Default: 4})
	Add(s, &g.Size, Var[int64]{Flag: "size", Env: "HANDOFF_SIZE", Default: 8 << 30})
	Add(s, &g.Gain, Var[float64]{Flag: "gain", Env: "HANDOFF_GAIN", Default: 0.1})
	Add(s, &g.Insecure, Var[bool]{Flag: "insecure", Env: "HANDOFF_INSECURE"})
	Add(s, &g.Wait, Var[time.Duration]{Flag: "wait", Env: "HANDOFF_WAIT", Default: time.Minute})
	Add(s, &g.Format, LogFormat)
	Add(s, &g.Secret, Var[string]{Env: "HANDOFF_SECRET", Secret: true})
	err := s.Parse(args)
	return g, s, err
}

func TestParse(t *testing.T) {
	t.Parallel()
	defaults := got{Name: "def", Workers: 4, Size: 8 << 30, Gain: 0.1, Wait: time.Minute, Format: "text"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want got
	}{
		{name: "defaults", want: defaults},
		{name: "environment", env: map[string]string{
			"HANDOFF_NAME": "n", "HANDOFF_WORKERS": "16", "HANDOFF_SIZE": "1024", "HANDOFF_GAIN": "0.5",
			"HANDOFF_INSECURE": "true", "HANDOFF_WAIT": "90s", "HANDOFF_LOG_FORMAT": "json", "HANDOFF_SECRET": "s3cr3t",
		}, want: got{Name: "n", Workers: 16, Size: 1024, Gain: 0.5, Insecure: true, Wait: 90 * time.Second, Format: "json", Secret: "s3cr3t"}},
		{name: "flags win over the environment",
			args: []string{"--workers", "2", "--wait=5s", "--insecure", "--log-format", "json"},
			env:  map[string]string{"HANDOFF_WORKERS": "16", "HANDOFF_WAIT": "not a duration", "HANDOFF_INSECURE": "false"},
			want: got{Name: "def", Workers: 2, Size: 8 << 30, Gain: 0.1, Insecure: true, Wait: 5 * time.Second, Format: "json"}},
		{name: "an empty string is a value", env: map[string]string{"HANDOFF_NAME": ""},
			want: got{Workers: 4, Size: 8 << 30, Gain: 0.1, Wait: time.Minute, Format: "text"}},
		{name: "booleans", env: map[string]string{"HANDOFF_INSECURE": "1"},
			want: got{Name: "def", Workers: 4, Size: 8 << 30, Gain: 0.1, Insecure: true, Wait: time.Minute, Format: "text"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g, _, err := parse(t, tc.args, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, g); diff != "" {
				t.Errorf("settings (-want +got):\n%s", diff)
			}
		})
	}
}

// A value that does not parse is an error naming its variable, never the
// default.
func TestParseRejectsBadValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string // in the error
	}{
		{name: "duration", env: map[string]string{"HANDOFF_WAIT": "2 minutes"}, want: []string{`HANDOFF_WAIT="2 minutes"`, "duration"}},
		{name: "integer", env: map[string]string{"HANDOFF_WORKERS": "four"}, want: []string{`HANDOFF_WORKERS="four"`, "integer"}},
		{name: "empty integer", env: map[string]string{"HANDOFF_SIZE": ""}, want: []string{`HANDOFF_SIZE=""`, "integer"}},
		{name: "number", env: map[string]string{"HANDOFF_GAIN": "10%"}, want: []string{"HANDOFF_GAIN", "number"}},
		{name: "yes is no boolean", env: map[string]string{"HANDOFF_INSECURE": "yes"}, want: []string{`HANDOFF_INSECURE="yes"`, "true or false"}},
		{name: "unknown log format", env: map[string]string{"HANDOFF_LOG_FORMAT": "xml"}, want: []string{"HANDOFF_LOG_FORMAT", "text, json"}},
		{name: "every bad variable", env: map[string]string{"HANDOFF_WAIT": "x", "HANDOFF_WORKERS": "y"}, want: []string{"HANDOFF_WAIT", "HANDOFF_WORKERS"}},
		{name: "bad flag", args: []string{"--workers", "many"}, want: []string{"-workers", "integer"}},
		{name: "bad flag choice", args: []string{"--log-format", "xml"}, want: []string{"-log-format", "text, json"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := parse(t, tc.args, tc.env)
			if err == nil {
				t.Fatal("got no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got error %q, want it to name %q", err, w)
				}
			}
		})
	}
}

// A secret's value is never in an error, the usage or the logged
// configuration.
func TestSecrets(t *testing.T) {
	t.Parallel()
	_, s, err := parse(t, nil, map[string]string{"HANDOFF_SECRET": "s3cr3t-value", "HANDOFF_NAME": "nats://svc:s3cr3t-pw@nats-0:4222,nats://nats-1:4222"})
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("starting", "config", s)
	if strings.Contains(logged.String(), "s3cr3t") {
		t.Errorf("logged configuration shows the secret: %s", logged.String())
	}
	if !strings.Contains(logged.String(), `"HANDOFF_SECRET":"***"`) || !strings.Contains(logged.String(), "nats://svc:xxxxx@nats-0:4222,nats://nats-1:4222") || !strings.Contains(logged.String(), `"HANDOFF_WORKERS":"4"`) {
		t.Errorf("got logged configuration %s, want every variable, the secret masked", logged.String())
	}
	var usage bytes.Buffer
	s.fs.SetOutput(&usage)
	s.fs.Usage()
	for _, want := range []string{"--workers int", "(env HANDOFF_WORKERS) (default 4)", "--insecure\n", "Environment only:\n  HANDOFF_SECRET"} {
		if !strings.Contains(usage.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, usage.String())
		}
	}
}

func TestAsKeepsTheVariable(t *testing.T) {
	t.Parallel()
	var n int
	fs := flag.NewFlagSet("ocr", flag.ContinueOnError)
	s := NewSet(fs, func(k string) (string, bool) {
		return map[string]string{"HANDOFF_OCR_WORKERS": "3"}[k], k == "HANDOFF_OCR_WORKERS"
	})
	Add(s, &n, OCRWorkers.As("workers"))
	if err := s.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("got %d workers, want 3", n)
	}
	if fs.Lookup("workers") == nil || fs.Lookup("ocr-workers") != nil {
		t.Errorf("got flags workers=%v ocr-workers=%v, want only --workers", fs.Lookup("workers") != nil, fs.Lookup("ocr-workers") != nil)
	}
	if diff := cmp.Diff([]string{"HANDOFF_OCR_WORKERS"}, s.Envs()); diff != "" {
		t.Errorf("envs (-want +got):\n%s", diff)
	}
}

// Environment values are outside input: no value panics a parser.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{"", "4", "-1", "90s", "1e9", "true", "yes", "NaN", "9223372036854775808", "\x00"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		env := map[string]string{}
		for _, k := range []string{"HANDOFF_NAME", "HANDOFF_WORKERS", "HANDOFF_SIZE", "HANDOFF_GAIN", "HANDOFF_INSECURE", "HANDOFF_WAIT", "HANDOFF_LOG_FORMAT", "HANDOFF_SECRET"} {
			env[k] = v
		}
		_, _, err := parse(t, nil, env)
		if err != nil && strings.Contains(err.Error(), "HANDOFF_SECRET") {
			t.Errorf("a string setting rejected %q: %v", v, err)
		}
	})
}
