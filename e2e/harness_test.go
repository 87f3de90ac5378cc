// Package e2e runs the real godump, gorestore and arangotest binaries end to end.
//
// By default every test starts its own arangotest server in-process. With ARANGO_ENDPOINT set
// (for example http://127.0.0.1:8529 of the official Docker image, see README) the same tests
// run against that real ArangoDB instead, using ARANGO_USERNAME (default root) and
// ARANGO_PASSWORD; tests that need arangotest's fault injection or a second server are
// skipped there. Each test works in databases of its own, named after the test.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arangobackup/godump/arangotest"
	"github.com/arangobackup/godump/client"
)

// binDir holds the built godump, gorestore and arangotest binaries.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	binDir = os.Getenv("GODUMP_BIN")
	if binDir == "" {
		tmp, err := os.MkdirTemp("", "godump-e2e-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(tmp)
		cmd := exec.Command("go", "build", "-o", tmp+string(os.PathSeparator), "../cmd/...")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build binaries:", err)
			return 1
		}
		binDir = tmp
	}
	defer func() {
		for _, fn := range exitFuncs {
			fn()
		}
	}()
	return m.Run()
}

// exitFuncs run when the tests and benchmarks of the package are done (atExit adds one): for
// what outlives a single test, such as BenchmarkDump's server process.
var exitFuncs []func()

func atExit(fn func()) { exitFuncs = append(exitFuncs, fn) }

// target is the server a test talks to: an in-process arangotest, or a real ArangoDB.
type target struct {
	Endpoint string
	Server   *arangotest.Server // nil against a real ArangoDB
	PID      int                // the cmd/arangotest process, when it runs as one (benchmarks)
	Username string
	Password string
}

// realEndpoint is the real ArangoDB to test against, if any.
func realEndpoint() string { return os.Getenv("ARANGO_ENDPOINT") }

// newTarget starts an arangotest server with opts (or uses ARANGO_ENDPOINT) for this test.
func newTarget(t testing.TB, opts arangotest.Options) *target {
	t.Helper()
	if ep := realEndpoint(); ep != "" {
		user := os.Getenv("ARANGO_USERNAME")
		if user == "" {
			user = "root"
		}
		return &target{Endpoint: ep, Username: user, Password: os.Getenv("ARANGO_PASSWORD")}
	}
	srv, err := arangotest.NewServer(opts)
	if err != nil {
		t.Fatalf("start arangotest: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	tg := &target{Endpoint: srv.Endpoint(), Server: srv, Username: "root"}
	if pw, ok := opts.Users["root"]; ok {
		tg.Password = pw
	}
	return tg
}

// needArangotest skips a test that needs arangotest itself (fault injection, versions).
func (tg *target) needArangotest(t testing.TB) {
	t.Helper()
	if tg.Server == nil {
		t.Skip("needs arangotest (fault injection or a chosen server version); ARANGO_ENDPOINT is set")
	}
}

// conn connects to the target as the tools would, on database db.
func (tg *target) conn(t testing.TB, db string) *client.Conn {
	t.Helper()
	o := client.DefaultOptions()
	o.Endpoints = []string{tg.Endpoint}
	o.Database = db
	o.Username = tg.Username
	o.Password = tg.Password
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, o)
	if err != nil {
		t.Fatalf("connect to %s: %v", tg.Endpoint, err)
	}
	return c
}

// serverArgs are the --server.* options that point a tool at the target.
func (tg *target) serverArgs(db string) []string {
	args := []string{"--server.endpoint", tg.Endpoint, "--server.username", tg.Username}
	if db != "" {
		args = append(args, "--server.database", db)
	}
	if tg.Password == "" {
		args = append(args, "--server.password", "")
	}
	return args
}

var dbCounter atomic.Int64

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// uniqueDB returns a database name of this test's own (not yet created).
func uniqueDB(t testing.TB, prefix string) string {
	name := unsafeName.ReplaceAllString(prefix+"_"+t.Name(), "_")
	if len(name) > 48 {
		name = name[:48]
	}
	return fmt.Sprintf("%s_%d_%d", name, os.Getpid()%10000, dbCounter.Add(1))
}

// createDatabase creates db on the target and drops it when the test ends.
func (tg *target) createDatabase(t testing.TB, db string) {
	t.Helper()
	c := tg.conn(t, "_system")
	ctx := context.Background()
	if err := c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/database", JSON: map[string]any{"name": db}}, nil); err != nil {
		t.Fatalf("create database %s: %v", db, err)
	}
	tg.dropAtEnd(t, db)
}

// dropAtEnd drops db (if it exists) when the test ends.
func (tg *target) dropAtEnd(t testing.TB, db string) {
	t.Cleanup(func() {
		c := tg.conn(t, "_system")
		_ = c.DoJSON(context.Background(), client.Request{Method: "DELETE", Path: "/_api/database/" + db}, nil)
	})
}

// result is what a finished tool run printed and returned.
type result struct {
	Stdout, Stderr string
	Code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s\n--- stderr\n%s", r.Code, r.Stdout, r.Stderr)
}

// runTool runs a built binary (godump, gorestore, arangotest) to completion, with a timeout.
func runTool(t testing.TB, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := toolCommand(ctx, name, args...)
	return runCmd(t, cmd)
}

// mustRun runs a tool and fails the test unless it exits 0.
func mustRun(t testing.TB, name string, args ...string) result {
	t.Helper()
	res := runTool(t, name, args...)
	if res.Code != 0 {
		t.Fatalf("%s %s: %s", name, strings.Join(args, " "), res)
	}
	return res
}

// toolCommand prepares a built binary for running (progress off unless args say otherwise).
func toolCommand(ctx context.Context, name string, args ...string) *exec.Cmd {
	exe := filepath.Join(binDir, name)
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	return cmd
}

// runCmd runs a prepared command of a built binary to completion and returns its output and
// exit code; a command that cannot run at all fails the test.
func runCmd(t testing.TB, cmd *exec.Cmd) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.Code = ee.ExitCode()
	default:
		t.Fatalf("run %v: %v", cmd.Args, err)
	}
	return res
}
