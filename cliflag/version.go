package cliflag

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// VersionText is what `<prog> --version` prints in every tool: the module version and the
// VCS commit Go recorded in the binary (runtime/debug.ReadBuildInfo), and the Go version and
// platform it was built with. override, when not empty, replaces the module version (a
// release build sets it with -ldflags "-X main.version=...").
func VersionText(prog, override string) string {
	bi, _ := debug.ReadBuildInfo()
	return versionText(prog, override, bi)
}

// ToolVersion is the version recorded in a dump's manifest: the module version (a build from
// a git work tree gets a pseudo-version naming the commit), or override when set.
func ToolVersion(override string) string {
	bi, _ := debug.ReadBuildInfo()
	v, _, _, _ := buildFacts(override, bi)
	return v
}

func versionText(prog, override string, bi *debug.BuildInfo) string {
	v, rev, at, modified := buildFacts(override, bi)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", prog, v)
	switch {
	case rev == "":
		b.WriteString("commit unknown (built without version control information)\n")
	default:
		b.WriteString("commit " + rev)
		if at != "" {
			b.WriteString(" (" + at + ")")
		}
		if modified {
			b.WriteString(", with uncommitted changes")
		}
		b.WriteString("\n")
	}
	goVersion, goos, goarch := runtime.Version(), runtime.GOOS, runtime.GOARCH
	if bi != nil && bi.GoVersion != "" {
		goVersion = bi.GoVersion
	}
	fmt.Fprintf(&b, "built with %s for %s/%s\n", goVersion, goos, goarch)
	return b.String()
}

// buildFacts reads the version, commit, commit time and dirtiness from bi (nil: none known).
func buildFacts(override string, bi *debug.BuildInfo) (version, rev, at string, modified bool) {
	version = "(devel)"
	if bi != nil {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if override != "" {
		version = override
	}
	return version, rev, at, modified
}
