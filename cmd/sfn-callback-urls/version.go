package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// versionLine describes the binary from its build information: the
// module version, the source revision and its time, and the toolchain.
// It says plainly what the build did not record.
func versionLine() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "sfn-callback-urls: no build information (built without module support) " + runtime.Version()
	}
	return describeBuild(info)
}

func describeBuild(info *debug.BuildInfo) string {
	version := info.Main.Version
	switch version {
	case "", "(devel)":
		version = "development build"
	}
	var revision, when string
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "sfn-callback-urls %s", version)
	switch {
	case revision == "":
		// go run, go test and -buildvcs=false record no revision.
		b.WriteString(", no source revision recorded (go build in a git checkout records one)")
	default:
		fmt.Fprintf(&b, ", revision %s", revision)
		if when != "" {
			fmt.Fprintf(&b, " (%s)", when)
		}
		if modified {
			b.WriteString(" with uncommitted changes")
		}
	}
	fmt.Fprintf(&b, ", %s %s/%s", info.GoVersion, runtime.GOOS, runtime.GOARCH)
	return b.String()
}
