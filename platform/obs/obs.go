// Package obs holds what every service exposes to operators: slog loggers,
// /healthz, /readyz and Prometheus /metrics.
package obs

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewLogger returns a JSON (format "json") or text logger at level
// ("debug", "info", "warn", "error"). File names in object keys are
// redacted from every record, and a key appears once per record (the
// later value wins). In JSON, durations are seconds, as numbers, under a
// key ending in _seconds ("delay": 5s is "delay_seconds": 5).
func NewLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(strings.ToUpper(level)))
	if format == "json" {
		return slog.New(NewRedacting(newUnique(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lv, ReplaceAttr: secondsAttr}))))
	}
	return slog.New(NewRedacting(newUnique(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lv}))))
}

// NewRegistry returns a Prometheus registry with the Go and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// BuildInfo is handoff_build_info{version,go_version} 1: which build each
// process runs, to join with its other series or to alert on mixed
// versions after a rollout.
func BuildInfo(version string) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "handoff_build_info",
		Help:        "The build this process runs: always 1, with its version and Go version as labels.",
		ConstLabels: prometheus.Labels{"version": version, "go_version": runtime.Version()},
	})
	g.Set(1)
	return g
}

// Check is one readiness check: nil when the dependency is usable.
type Check func(ctx context.Context) error

// Mount adds /healthz (the process is up), /readyz (every check passes) and
// /metrics to mux.
func Mount(mux *http.ServeMux, reg *prometheus.Registry, checks map[string]Check) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		status, code := map[string]string{}, http.StatusOK
		for name, c := range checks {
			if err := c(ctx); err != nil {
				status[name], code = err.Error(), http.StatusServiceUnavailable
			} else {
				status[name] = "ok"
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(status)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
}

// Serve runs an HTTP server until ctx is done, then shuts it down gracefully.
func Serve(ctx context.Context, srv *http.Server, ln func() error) error {
	errc := make(chan error, 1)
	go func() { errc <- ln() }()
	select {
	case err := <-errc:
		if err == http.ErrServerClosed {
			return nil
		}
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-errc
		return nil
	}
}
