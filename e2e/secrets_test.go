package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arangobackup/godump/arangotest"
)

// Secrets and permissions (issue 12, points 13 and 14): no message, log line or file of a
// run ever holds a password or token, and a dump is readable by its owner only.

// scRun runs a built tool with extra environment and returns everything it printed.
func scRun(t *testing.T, env []string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := toolCommand(ctx, name, args...)
	cmd.Env = append(cmd.Env, env...)
	return runCmd(t, cmd)
}

// scClosedEndpoint is an address nothing listens on.
func scClosedEndpoint(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// scGrepTree fails the test for every file under root whose name or content holds secret.
func scGrepTree(t *testing.T, root, secret, what string) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.Contains(p, secret) {
			t.Errorf("%s: file name %s holds the secret", what, p)
		}
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s: file %s holds the secret:\n%s", what, p, b)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSecretsNeverPrinted runs godump, gorestore and godump hotbackup list with a secret in
// the endpoint's userinfo, in --server.password, in ARANGO_PASSWORD and as the JWT, against
// an endpoint nothing listens on and against an arangotest with authentication that rejects
// it, and greps stdout, stderr and every file the run wrote (its directories, HOME and
// TMPDIR) for the secret.
func TestSecretsNeverPrinted(t *testing.T) {
	dumpDir, db, srv := dumpAndAuthServer(t, "sec", "the-right-one")
	servers := map[string]string{
		"unreachable":    "127.0.0.1:" + strings.Split(scClosedEndpoint(t), ":")[1],
		"wrong-password": strings.TrimPrefix(srv.Endpoint(), "http://"),
	}
	rnd := make([]byte, 8)
	_, _ = rand.Read(rnd)
	for server, hostport := range servers {
		for _, how := range []string{"endpoint", "password", "env", "jwt"} {
			secret := "Sekr1t" + how + hex.EncodeToString(rnd)
			endpoint := "http+tcp://" + hostport
			var cred, env []string
			switch how {
			case "endpoint":
				endpoint = "http://root:" + secret + "@" + hostport
			case "password":
				cred = []string{"--server.password", secret}
			case "env":
				env = []string{"ARANGO_PASSWORD=" + secret}
			case "jwt":
				cred = []string{"--server.jwt-token", secret}
			}
			common := append([]string{"--server.endpoint", endpoint, "--server.username", "root",
				"--server.max-retries", "1", "--server.connection-timeout", "2", "--server.request-timeout", "10"}, cred...)
			for _, tool := range []struct {
				name string
				args func(work string) []string
			}{
				{"godump", func(work string) []string {
					return append([]string{"--output-directory", filepath.Join(work, "out"), "--progress", "false", "--server.database", db}, common...)
				}},
				{"gorestore", func(work string) []string {
					in := filepath.Join(work, "in")
					if err := os.CopyFS(in, os.DirFS(dumpDir)); err != nil {
						t.Fatal(err)
					}
					return append([]string{"--input-directory", in, "--progress", "false", "--create-database", "true", "--server.database", db}, common...)
				}},
				{"hotbackup", func(string) []string { return append([]string{"hotbackup", "list"}, common...) }},
			} {
				t.Run(server+"/"+how+"/"+tool.name, func(t *testing.T) {
					work := t.TempDir()
					home, tmp := filepath.Join(work, "home"), filepath.Join(work, "tmp")
					for _, d := range []string{home, tmp} {
						if err := os.Mkdir(d, 0o700); err != nil {
							t.Fatal(err)
						}
					}
					name := tool.name
					if name == "hotbackup" {
						name = "godump"
					}
					res := scRun(t, append(env, "HOME="+home, "TMPDIR="+tmp), name, tool.args(work)...)
					if res.Code == 0 {
						t.Fatalf("the run succeeded; it must fail (%s):\n%s", server, res)
					}
					if res.Stdout+res.Stderr == "" {
						t.Errorf("no message at all:\n%s", res)
					}
					if strings.Contains(res.Stdout, secret) || strings.Contains(res.Stderr, secret) {
						t.Errorf("the secret is printed:\n%s", res)
					}
					scGrepTree(t, work, secret, "after the run")
				})
			}
		}
	}
}

// TestEndpointCredentialsAuthenticate: credentials in the endpoint are used (when no other
// password is given) although the URL sent never holds them.
func TestEndpointCredentialsAuthenticate(t *testing.T) {
	srv, err := arangotest.NewServer(arangotest.Options{Users: map[string]string{"root": "pw-in-url"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ep := strings.Replace(srv.Endpoint(), "http://", "http://root:pw-in-url@", 1)
	res := scRun(t, nil, "godump", "hotbackup", "list", "--server.endpoint", ep)
	if res.Code != 0 || strings.Contains(res.Stdout+res.Stderr, "pw-in-url") {
		t.Fatalf("hotbackup list with the password in the endpoint:\n%s", res)
	}
}

// TestDumpFileModes: under umask 000 every directory godump creates is 0700 and every file
// 0600 (a dump of _system holds _users' password hashes); a pre-created 0777 directory is
// kept as it is but named in a warning.
func TestDumpFileModes(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	tg.needArangotest(t)
	db := uniqueDB(t, "modes")
	seedStandard(t, tg, db)
	umask := func(args []string) result {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := toolCommand(ctx, "godump", args...)
		cmd.Args = append([]string{"sh", "-c", `umask 000 && exec "$0" "$@"`, cmd.Path}, args...)
		cmd.Path = "/bin/sh"
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		res := result{Stdout: stdout.String(), Stderr: stderr.String()}
		if err != nil {
			t.Fatalf("godump: %v\n%s", err, res)
		}
		return res
	}
	check := func(root string, rootMode os.FileMode) int {
		t.Helper()
		files := 0
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			want := os.FileMode(0o600)
			switch {
			case p == root:
				want = rootMode
			case d.IsDir():
				want = 0o700
			default:
				files++
			}
			if fi.Mode().Perm() != want {
				t.Errorf("%s: mode %04o, want %04o", p, fi.Mode().Perm(), want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return files
	}

	// --all-databases creates the root and a directory per database.
	fresh := filepath.Join(t.TempDir(), "new", "dump")
	res := umask(append(tg.serverArgs(""), "--output-directory", fresh, "--progress", "false",
		"--all-databases", "true", "--include-system-collections", "true"))
	if n := check(fresh, 0o700); n < 5 {
		t.Errorf("only %d files written under %s", n, fresh)
	}
	if err := filepath.WalkDir(fresh, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), "_users_") && strings.Contains(d.Name(), ".data.") {
			fresh = "" // found
		}
		return err
	}); err != nil || fresh != "" {
		t.Errorf("no _users data file in the dump (%v)", err)
	}
	if strings.Contains(res.Stdout+res.Stderr, "other users") {
		t.Errorf("a warning for a directory godump created 0700:\n%s", res)
	}

	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	res = umask(dmGodumpArgs(tg, db, open))
	check(open, 0o777) // the user's directory is left as it is, its files are private
	if !strings.Contains(res.Stderr, "output directory "+open) || !strings.Contains(res.Stderr, "0777") || !strings.Contains(res.Stderr, "other users") {
		t.Errorf("no warning naming the 0777 output directory:\n%s", res)
	}
}

// dumpAndAuthServer makes a dump of seeded data (for gorestore, which reads a dump before it
// connects) on a server without authentication, and starts an arangotest whose root user has
// password pw, for the runs that must fail to connect.
func dumpAndAuthServer(t *testing.T, prefix, pw string) (dumpDir, db string, srv *arangotest.Server) {
	t.Helper()
	open := newTarget(t, arangotest.Options{})
	open.needArangotest(t)
	db = uniqueDB(t, prefix)
	seedStandard(t, open, db)
	dumpDir = filepath.Join(t.TempDir(), "dump")
	mustRun(t, "godump", dmGodumpArgs(open, db, dumpDir)...)
	srv, err := arangotest.NewServer(arangotest.Options{Users: map[string]string{"root": pw}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return dumpDir, db, srv
}
