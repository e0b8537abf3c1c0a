package app

import (
	"flag"
	"runtime/debug"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/handoffmed/handoff/platform/obs"
)

// version is set at link time by the Makefile and the Dockerfiles:
//
//	-ldflags "-X github.com/handoffmed/handoff/platform/app.version=v1.2.3"
//
// It is the one package-level variable here: the linker can only set those.
var version string

// Version is the build's version: the one the build stamped, else the
// module version `go install …@version` recorded, else the commit Go
// recorded from git (with "-dirty" for uncommitted changes), else "devel".
func Version() string {
	return versionFrom(version, debug.ReadBuildInfo)
}

func versionFrom(stamped string, read func() (*debug.BuildInfo, bool)) string {
	if stamped = strings.TrimSpace(stamped); stamped != "" {
		return stamped
	}
	info, ok := read()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev == "" {
		return "devel"
	}
	return "devel-" + rev[:min(12, len(rev))] + dirty
}

// VersionFlag adds --version to fs.
func VersionFlag(fs *flag.FlagSet, p *bool) {
	fs.BoolVar(p, "version", false, "print the version and exit")
}

// NewRegistry returns the Prometheus registry of a process: the Go and
// process collectors and handoff_build_info with Version.
func NewRegistry() *prometheus.Registry {
	reg := obs.NewRegistry()
	reg.MustRegister(obs.BuildInfo(Version()))
	return reg
}
