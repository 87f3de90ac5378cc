package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arangobackup/godump/arangotest"
)

// Issue 13: command lines written for arangodump and arangorestore run unchanged. Each test
// runs the built binaries with the real tools' spelling and checks the data they moved.

// compatSource seeds a database with sfColls' collections through gorestore and returns its
// name, the dump it came from and the documents.
func compatSource(t *testing.T, tg *target) (string, map[string]map[string]Doc) {
	t.Helper()
	dir, docs := sfGodumpDump(t, tg)
	db := uniqueDB(t, "compat")
	tg.createDatabase(t, db)
	mustRun(t, "gorestore", append(tg.serverArgs(db), dir, "--progress", "false")...)
	return db, docs
}

func checkDumped(t *testing.T, dir string, docs map[string]map[string]Doc) {
	t.Helper()
	for coll, want := range docs {
		compareDocs(t, "dump of "+coll, want, dumpDocs(t, dir, coll), "_rev", "_id")
	}
}

// ArangoDB's backup container runs the tools with --check-configuration first, then with
// --log.file and --log.foreground-tty (arangodb-backup-container 3.4/scripts/backup.sh).
func TestBackupContainerCommandLine(t *testing.T) {
	const pw = "Cont@iner-pw"
	tg := newTarget(t, arangotest.Options{Users: map[string]string{"root": pw}})
	tg.needArangotest(t)
	t.Setenv("ARANGO_PASSWORD", pw) // the harness's runs read it
	db, docs := compatSource(t, tg)
	logFile := filepath.Join(t.TempDir(), "dump.log")
	out := filepath.Join(t.TempDir(), "backup")
	args := []string{"--server.endpoint", tg.Endpoint, "--server.username", "root", "--server.password", pw,
		"--server.database", db, "--output-directory", out, "--overwrite", "true",
		"--log.file", logFile, "--log.foreground-tty", "false"}
	res := mustRun(t, "godump", append(args, "--check-configuration")...)
	if res.Stdout != "" {
		t.Errorf("--check-configuration printed %q", res.Stdout)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatalf("--check-configuration dumped")
	}
	res = mustRun(t, "godump", args...)
	checkDumped(t, out, docs)
	log, err := os.ReadFile(logFile)
	must(t, err, "read the log file")
	for _, want := range []string{"INFO {general} # Connected to ArangoDB", "# Dumping " + db + "/alpha"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("log file lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(res.Stderr, "# Connected") {
		t.Errorf("the messages went to stderr as well as to --log.file: %q", res.Stderr)
	}
	if !strings.HasPrefix(res.Stdout, "Processed 3 collection(s)") {
		t.Errorf("the summary is not on stdout: %q", res.Stdout)
	}
	info, err := os.Stat(logFile)
	must(t, err, "stat the log file")
	if info.Mode().Perm() != 0o600 {
		t.Errorf("log file mode %o, want 600", info.Mode().Perm())
	}

	dst := uniqueDB(t, "cont_dst")
	tg.dropAtEnd(t, dst)
	rlog := filepath.Join(t.TempDir(), "restore.log")
	mustRun(t, "gorestore", "--server.endpoint", tg.Endpoint, "--server.username", "root", "--server.password", pw,
		"--server.database", dst, "--create-database", "true", "--input-directory", out,
		"--log.file", rlog, "--log.foreground-tty", "false", "--log.level", "requests=debug")
	for coll, want := range docs {
		compareDocs(t, dst+"/"+coll, want, serverDocs(t, tg, dst, coll), "_rev", "_id")
	}
	log, err = os.ReadFile(rlog)
	must(t, err, "read the restore log")
	if !strings.Contains(string(log), "DEBUG {requests} request method=PUT") || !strings.Contains(string(log), "/_api/replication/restore-data") {
		t.Errorf("requests=debug did not log the restore-data requests:\n%.2000s", log)
	}
	if strings.Contains(string(log), pw) {
		t.Errorf("the log holds the password")
	}
}

// Options from a configuration file in the tools' INI format, @VAR@ in any option value, and
// numbers with unit suffixes.
func TestConfigFileEnvAndSizes(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	db, docs := compatSource(t, tg)
	t.Setenv("COMPAT_DB", db)
	conf := filepath.Join(t.TempDir(), "dump.conf")
	must(t, os.WriteFile(conf, []byte("# arangodump.conf\nbatch-size = 64MiB\ndocs-per-batch = 1k\nthreads = 2\n\n[server]\nendpoint = "+tg.Endpoint+"\nusername = "+tg.Username+
		"\npassword = "+tg.Password+"\ndatabase = @COMPAT_DB@\n\n[log]\nlevel = info\n"), 0o600), "write config")
	base := t.TempDir()
	out := filepath.Join(base, "d@@1")
	mustRun(t, "godump", "-c", conf, "--output-directory", out, "--progress", "false", "--server.request-timeout", "0")
	checkDumped(t, filepath.Join(base, "d@1"), docs) // @@ is a literal @

	// A bad line in a configuration file names the file and the line; exit 2.
	bad := filepath.Join(t.TempDir(), "bad.conf")
	must(t, os.WriteFile(bad, []byte("[server]\nendpoint = "+tg.Endpoint+"\nno-such-option = 1\n"), 0o600), "write bad config")
	res := runTool(t, "godump", "--configuration", bad, "--check-configuration")
	if res.Code != 2 || !strings.Contains(res.Stderr, bad) || !strings.Contains(res.Stderr, "line #3") {
		t.Errorf("bad configuration file: %s", res)
	}
	// godump.conf in the working directory is read unless -c none.
	cwd := t.TempDir()
	must(t, os.WriteFile(filepath.Join(cwd, "arangodump.conf"), []byte("[server]\nno-such-option = 1\n"), 0o600), "write arangodump.conf")
	for _, c := range []struct {
		args []string
		code int
	}{{[]string{"--check-configuration"}, 2}, {[]string{"-c", "none", "--check-configuration"}, 0}} {
		cmd := toolCommand(context.Background(), "godump", c.args...)
		cmd.Dir = cwd
		if res := runCmd(t, cmd); res.Code != c.code {
			t.Errorf("godump %v in a directory with arangodump.conf: %s (want exit %d)", c.args, res, c.code)
		}
	}
	// A size the tools refuse is refused, naming the option and the units.
	res = runTool(t, "godump", "--batch-size", "1.5GB", "--check-configuration")
	if res.Code != 2 || !strings.Contains(res.Stderr, "batch-size") {
		t.Errorf("--batch-size 1.5GB: %s", res)
	}
	// gorestore reads its configuration file too.
	rconf := filepath.Join(t.TempDir(), "restore.conf")
	dst := uniqueDB(t, "conf_dst")
	tg.dropAtEnd(t, dst)
	must(t, os.WriteFile(rconf, []byte("[server]\nendpoint = "+tg.Endpoint+"\nusername = "+tg.Username+"\npassword = "+tg.Password+
		"\ndatabase = "+dst+"\n\n[]\ncreate-database = true\nbatch-size = 1MiB\n"), 0o600), "write restore config")
	mustRun(t, "gorestore", "-c", rconf, "--input-directory", filepath.Join(base, "d@1"), "--progress", "false")
	for coll, want := range docs {
		compareDocs(t, dst+"/"+coll, want, serverDocs(t, tg, dst, coll), "_rev", "_id")
	}
}

// --help by section on stdout, --version-json, --dump-options, shell completion and the man
// page, for both tools; an unknown option exits 2.
func TestHelpAndInfoCommands(t *testing.T) {
	for _, tool := range []string{"godump", "gorestore"} {
		res := mustRun(t, tool, "--help")
		for _, want := range []string{"Section 'general options'", "--overwrite <boolean>", "Section 'server' (configure server connection)", "--server.endpoint <string...>", "Exit codes:"} {
			if !strings.Contains(res.Stdout, want) {
				t.Errorf("%s --help lacks %q", tool, want)
			}
		}
		if res.Stderr != "" {
			t.Errorf("%s --help wrote to stderr: %q", tool, res.Stderr)
		}
		res = mustRun(t, tool, "--help-server")
		if !strings.Contains(res.Stdout, "--server.endpoint") || strings.Contains(res.Stdout, "--overwrite") {
			t.Errorf("%s --help-server is not the server section:\n%s", tool, res.Stdout)
		}
		if !strings.Contains(mustRun(t, tool, "--help-all").Stdout, "--log.thread ") {
			t.Errorf("%s --help-all lacks the hidden --log.thread", tool)
		}
		if res := runTool(t, tool, "--help-nosuch"); res.Code != 2 || !strings.Contains(res.Stderr, "server") {
			t.Errorf("%s --help-nosuch: %s", tool, res)
		}
		var opts map[string]struct {
			Type    string `json:"type"`
			Section string `json:"section"`
			Default any    `json:"default"`
		}
		if err := json.Unmarshal([]byte(mustRun(t, tool, "--dump-options").Stdout), &opts); err != nil {
			t.Fatalf("%s --dump-options: %v", tool, err)
		}
		if o := opts["server.endpoint"]; o.Type != "string..." || o.Section != "server" {
			t.Errorf("%s --dump-options server.endpoint: %+v", tool, o)
		}
		if o := opts["log.level"]; o.Type != "string..." {
			t.Errorf("%s --dump-options log.level: %+v", tool, o)
		}
		var ver map[string]string
		if err := json.Unmarshal([]byte(mustRun(t, tool, "--version-json").Stdout), &ver); err != nil || ver["version"] == "" {
			t.Errorf("%s --version-json: %v %v", tool, err, ver)
		}
		script := mustRun(t, tool, "--completion", "bash").Stdout
		if !strings.Contains(script, "--server.endpoint") {
			t.Errorf("%s bash completion lacks the options", tool)
		}
		if bash, err := exec.LookPath("bash"); err == nil {
			f := filepath.Join(t.TempDir(), tool+".bash")
			must(t, os.WriteFile(f, []byte(script), 0o600), "write completion")
			if out, err := exec.Command(bash, "-n", f).CombinedOutput(); err != nil {
				t.Errorf("%s bash completion does not parse: %v %s", tool, err, out)
			}
		}
		if man := mustRun(t, tool, "--man").Stdout; !strings.HasPrefix(man, ".TH") || !strings.Contains(man, "server.endpoint") {
			t.Errorf("%s --man is not a man page: %.200s", tool, man)
		}
		if res := runTool(t, tool, "--no-such-option", "1"); res.Code != 2 || !strings.Contains(res.Stderr, "no-such-option") {
			t.Errorf("%s --no-such-option: %s", tool, res)
		}
		// Options with no effect here are accepted with a one-line notice.
		res = runTool(t, tool, "--log.ids", "false", "--check-configuration")
		if res.Code != 0 || strings.Count(res.Stderr, "--log.ids has no effect") != 1 {
			t.Errorf("%s --log.ids false: %s", tool, res)
		}
	}
}

// --server.jwt-secret-keyfile authenticates with a superuser token signed with the secret,
// as the ArangoDB tools do; the program-wide options of every ArangoDB tool are accepted with
// a notice, or refused with the reason.
func TestJWTSecretAndProgramOptions(t *testing.T) {
	tg := newTarget(t, arangotest.Options{Users: map[string]string{"root": "pw-not-used"}, JWTSecret: "s3cr3t-jwt"})
	tg.needArangotest(t)
	t.Setenv("ARANGO_PASSWORD", "pw-not-used")
	db, docs := compatSource(t, tg)
	t.Setenv("ARANGO_PASSWORD", "")
	secret := filepath.Join(t.TempDir(), "secret")
	must(t, os.WriteFile(secret, []byte("s3cr3t-jwt\n"), 0o600), "write the secret")
	out := filepath.Join(t.TempDir(), "jwt")
	res := mustRun(t, "godump", "--server.endpoint", tg.Endpoint, "--server.database", db, "--server.jwt-secret-keyfile", secret,
		"--output-directory", out, "--progress", "false", "--honor-nsswitch", "true", "--use-splice-syscall", "false")
	checkDumped(t, out, docs)
	for _, want := range []string{"--honor-nsswitch has no effect", "--use-splice-syscall has no effect"} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("no notice %q: %s", want, res.Stderr)
		}
	}
	bad := filepath.Join(t.TempDir(), "wrong")
	must(t, os.WriteFile(bad, []byte("other-secret"), 0o600), "write the wrong secret")
	if res := runTool(t, "godump", "--server.endpoint", tg.Endpoint, "--server.database", db, "--server.jwt-secret-keyfile", bad,
		"--output-directory", filepath.Join(t.TempDir(), "no"), "--server.max-retries", "0"); res.Code != 1 || strings.Contains(res.Stderr, "other-secret") {
		t.Errorf("a wrong JWT secret: %s", res)
	}
	// "-" asks for the token, which needs a terminal.
	if res := runTool(t, "godump", "--server.endpoint", tg.Endpoint, "--server.jwt-token", "-", "--output-directory", filepath.Join(t.TempDir(), "t")); res.Code == 0 ||
		!strings.Contains(res.Stderr, "not a terminal") {
		t.Errorf("--server.jwt-token - without a terminal: %s", res)
	}
	for _, c := range []struct {
		tool string
		args []string
		want string
	}{
		{"godump", []string{"--server.jwt-token", "x", "--server.jwt-secret-keyfile", secret}, "cannot specify both"},
		{"gorestore", []string{"--dump-dependencies", "true"}, "not supported"},
		{"gorestore", []string{"--encryption.keyfile", secret, "some-dump"}, "closed source"},
		{"godump", []string{"--server.max-packet-size", "1000"}, "at least 1 MB"},
	} {
		args := append([]string{"--server.endpoint", tg.Endpoint, "--server.max-retries", "0"}, c.args...)
		out := filepath.Join(t.TempDir(), "x")
		if c.tool == "godump" {
			args = append(args, "--output-directory", out)
		}
		res := runTool(t, c.tool, args...)
		if res.Code != 2 || !strings.Contains(res.Stderr, c.want) {
			t.Errorf("%s %v: want exit 2 and %q: %s", c.tool, c.args, c.want, res)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s %v: refused, but wrote %s", c.tool, c.args, out)
		}
	}
}
