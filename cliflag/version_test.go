package cliflag

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionText(t *testing.T) {
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "2aa0fc53e59b7cd999343cb90b7520d0f5fdb249"},
			{Key: "vcs.time", Value: "2026-12-03T13:23:05Z"}, {Key: "vcs.modified", Value: modified}}
	}
	platform := runtime.GOOS + "/" + runtime.GOARCH
	cases := []struct {
		name, override string
		bi             *debug.BuildInfo
		want           string
	}{
		{"tagged", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}, Settings: vcs("false")},
			"godump v1.2.0\ncommit 2aa0fc53e59b7cd999343cb90b7520d0f5fdb249 (2026-12-03T13:23:05Z)\nbuilt with go1.26.8 for " + platform + "\n"},
		{"dirty work tree", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261203132305-2aa0fc53e59b+dirty"}, Settings: vcs("true")},
			"godump v0.0.0-20261203132305-2aa0fc53e59b+dirty\ncommit 2aa0fc53e59b7cd999343cb90b7520d0f5fdb249 (2026-12-03T13:23:05Z), with uncommitted changes\nbuilt with go1.26.8 for " + platform + "\n"},
		{"no vcs", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			"godump (devel)\ncommit unknown (built without version control information)\nbuilt with go1.26.8 for " + platform + "\n"},
		{"ldflags", "1.3.0", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs("false")},
			"godump 1.3.0\ncommit 2aa0fc53e59b7cd999343cb90b7520d0f5fdb249 (2026-12-03T13:23:05Z)\nbuilt with go1.26.8 for " + platform + "\n"},
		{"no build info", "", nil,
			"godump (devel)\ncommit unknown (built without version control information)\nbuilt with " + runtime.Version() + " for " + platform + "\n"},
	}
	for _, c := range cases {
		if got := versionText("godump", c.override, c.bi); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
	if got := VersionText("gorestore", ""); !strings.HasPrefix(got, "gorestore ") || strings.Contains(got, "dev\n") || !strings.Contains(got, runtime.Version()) {
		t.Errorf("VersionText of the test binary: %q", got)
	}
}
