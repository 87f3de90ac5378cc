package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Connection trouble with the built binaries (issue 12, points 10 and 11): a refused first
// connection fails at once naming the endpoint, a wrong password names the user, a missing
// database says what to do, a bad endpoint scheme exits 2. Local listeners only.

func TestConnectionTroubleMessages(t *testing.T) {
	dumpDir, _, srv := dumpAndAuthServer(t, "conn", "right-pw")
	authEP := srv.Endpoint()
	closed := "127.0.0.1:" + strings.Split(scClosedEndpoint(t), ":")[1]

	tools := map[string]func(work string) []string{
		"godump": func(work string) []string {
			return []string{"--output-directory", filepath.Join(work, "out"), "--progress", "false"}
		},
		"gorestore": func(work string) []string { return []string{"--input-directory", dumpDir, "--progress", "false"} },
	}
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		within   time.Duration
		want     map[string][]string // per tool; "" for both
		mustNot  []string
		noRetrys bool
	}{
		{name: "refused", args: []string{"--server.endpoint", "tcp://" + closed, "--server.authentication", "false"},
			code: 1, within: 8 * time.Second, noRetrys: true,
			want: map[string][]string{"": {"connect to http://" + closed + ": connection refused: is ArangoDB running and listening there?"}}},
		{name: "bad scheme", args: []string{"--server.endpoint", "htp://" + closed},
			code: 2, within: 8 * time.Second,
			want: map[string][]string{"": {`endpoint "htp://` + closed + `": unknown scheme`}}},
		{name: "wrong password", args: []string{"--server.endpoint", authEP, "--server.username", "root", "--server.password", "Wr0ngPw"},
			code: 1, within: 8 * time.Second, mustNot: []string{"Wr0ngPw", "right-pw"}, noRetrys: true,
			want: map[string][]string{"": {"connect to " + authEP + `: authentication failed for user "root": wrong password`}}},
		{name: "missing database", args: []string{"--server.endpoint", authEP, "--server.username", "root", "--server.password", "right-pw", "--server.database", "nosuchdb"},
			code: 1, within: 8 * time.Second, mustNot: []string{"right-pw"}, noRetrys: true,
			want: map[string][]string{
				"":          {"connect to " + authEP + `: database "nosuchdb" does not exist`},
				"gorestore": {"to create it, add --create-database true"},
			}},
	} {
		for tool, toolArgs := range tools {
			t.Run(tc.name+"/"+tool, func(t *testing.T) {
				args := append(append([]string{"--server.max-retries", "8"}, tc.args...), toolArgs(t.TempDir())...)
				start := time.Now()
				res := runTool(t, tool, args...)
				took := time.Since(start)
				if res.Code != tc.code {
					t.Errorf("exit %d, want %d\n%s", res.Code, tc.code, res)
				}
				if took > tc.within {
					t.Errorf("took %s, want within %s", took, tc.within)
				}
				out := res.Stdout + res.Stderr
				for _, want := range append(tc.want[""], tc.want[tool]...) {
					if !strings.Contains(res.Stderr, want) {
						t.Errorf("stderr does not say %q\n%s", want, res)
					}
				}
				for _, secret := range tc.mustNot {
					if strings.Contains(out, secret) {
						t.Errorf("output shows the secret %q\n%s", secret, res)
					}
				}
				if tc.noRetrys && strings.Contains(out, "trying again") {
					t.Errorf("a permanent failure was retried\n%s", res)
				}
				t.Logf("%s %s:\n%s", tool, tc.name, res.Stderr)
			})
		}
	}
}

// TestRetryIsSaidAtOnce: a failure that can heal (503) is retried, and each retry is said on
// stderr as it happens, naming the request.
func TestRetryIsSaidAtOnce(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"error":true,"code":503,"errorNum":503,"errorMessage":"service unavailable"}`)
	}))
	t.Cleanup(srv.Close)
	res := runTool(t, "godump", "--server.endpoint", srv.URL, "--server.authentication", "false",
		"--server.max-retries", "2", "--output-directory", filepath.Join(t.TempDir(), "out"), "--progress", "false")
	if res.Code != 1 {
		t.Errorf("exit %d, want 1\n%s", res.Code, res)
	}
	for _, want := range []string{
		"godump: GET /_db/_system/_api/version: HTTP 503, error 503: service unavailable; trying again in",
		"(attempt 2 of 3)", "(attempt 3 of 3)", "gave up after 3 attempts",
	} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("stderr does not say %q\n%s", want, res)
		}
	}
}
