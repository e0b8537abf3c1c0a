package app

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestReadyURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ addr, want string }{
		{":8080", "http://127.0.0.1:8080/readyz"},
		{"0.0.0.0:8081", "http://127.0.0.1:8081/readyz"},
		{"[::]:8082", "http://127.0.0.1:8082/readyz"},
		{"10.0.0.7:8083", "http://10.0.0.7:8083/readyz"},
		{"http://intake:8080/healthz", "http://intake:8080/healthz"},
	}
	for _, tc := range tests {
		if got := ReadyURL(tc.addr); got != tc.want {
			t.Errorf("ReadyURL(%q): got %q, want %q", tc.addr, got, tc.want)
		}
	}
}

func TestHealthcheck(t *testing.T) {
	t.Parallel()
	ready := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !ready {
			http.Error(w, `{"nats":"not connected"}`, http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	if err := Healthcheck(t.Context(), srv.URL); err != nil {
		t.Errorf("ready: got %v, want nil", err)
	}
	ready = false
	if err := Healthcheck(t.Context(), srv.URL); err == nil {
		t.Error("not ready: got nil, want an error")
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	info := func(v string, settings ...debug.BuildSetting) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{Main: debug.Module{Version: v}, Settings: settings}, true
		}
	}
	tests := []struct {
		name, stamped string
		read          func() (*debug.BuildInfo, bool)
		want          string
	}{
		{"stamped by the build", "v1.2.0", info("(devel)"), "v1.2.0"},
		{"go install @version", "", info("v1.1.0"), "v1.1.0"},
		{"git commit", "", info("(devel)", debug.BuildSetting{Key: "vcs.revision", Value: "0123456789abcdef"}, debug.BuildSetting{Key: "vcs.modified", Value: "true"}), "devel-0123456789ab-dirty"},
		{"nothing known", "", info("(devel)"), "devel"},
		{"no build info", "", func() (*debug.BuildInfo, bool) { return nil, false }, "devel"},
	}
	for _, tc := range tests {
		if got := versionFrom(tc.stamped, tc.read); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

// Every process exports handoff_build_info with its version.
func TestBuildInfoMetric(t *testing.T) {
	t.Parallel()
	reg := NewRegistry()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "handoff_build_info" {
			continue
		}
		m := mf.GetMetric()[0]
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["version"] != Version() || labels["go_version"] != runtime.Version() || m.GetGauge().GetValue() != 1 {
			t.Errorf("got %v = %v, want version %q, go_version %q = 1", labels, m.GetGauge().GetValue(), Version(), runtime.Version())
		}
		return
	}
	t.Error("no handoff_build_info")
}
