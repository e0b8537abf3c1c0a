package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"

	"github.com/handoffmed/handoff/platform/app"
)

// wantsVersion reports whether a command line asks for the version
// (--version anywhere, or the version command).
func wantsVersion(args []string) bool {
	if len(args) > 0 && args[0] == "version" {
		return true
	}
	i := slices.Index(args, "--")
	if i < 0 {
		i = len(args)
	}
	return slices.Contains(args[:i], "--version") || slices.Contains(args[:i], "-version")
}

func printVersion(w io.Writer) {
	fmt.Fprintf(w, "handoff %s (%s, %s/%s)\n", app.Version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
