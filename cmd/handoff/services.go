package main

import (
	"flag"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/handoffmed/handoff/services/intake"
)

// serviceFlags are the per-service settings `handoff serve` exposes.
type serviceFlags struct {
	bundleBucket     string
	bundleLinkExpiry time.Duration
	intakeWorkers    int
}

func envInt(key string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return v
	}
	return def
}

func (f *serviceFlags) register(fs *flag.FlagSet) {
	fs.DurationVar(&f.bundleLinkExpiry, "bundle-link-expiry", envDuration("HANDOFF_BUNDLE_LINK_EXPIRY", 7*24*time.Hour), "how long a bundle download link works (env HANDOFF_BUNDLE_LINK_EXPIRY)")
	fs.IntVar(&f.intakeWorkers, "intake-workers", envInt("HANDOFF_INTAKE_WORKERS", 16), "bucket events handled at once (env HANDOFF_INTAKE_WORKERS)")
}

// build wires the services this process runs. mount adds their HTTP routes.
func (c serveConfig) build(d depsFor) (runners []runner, mount func(*http.ServeMux), err error) {
	var mounts []func(*http.ServeMux)
	if c.runs("intake") {
		ic := c.Intake
		ic.APIToken = c.APIToken
		ic.BucketEventWorkers = c.services.intakeWorkers
		ic.ReconcileInterval = c.Reconcile
		svc, err := intake.New(ic, intake.Deps{Log: d.log, Bus: d.bus, Blobs: d.blobs, Cases: d.cases, Registry: d.reg})
		if err != nil {
			return nil, nil, err
		}
		runners = append(runners, svc)
		mounts = append(mounts, svc.Mount)
	}
	return runners, func(mux *http.ServeMux) {
		for _, m := range mounts {
			m(mux)
		}
	}, nil
}
