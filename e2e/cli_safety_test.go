package e2e

import (
	"context"
	"debug/buildinfo"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/arangobackup/godump/arangotest"
	"github.com/arangobackup/godump/client"
)

// Command lines that must not do what a user did not ask for: a hot backup restore without a
// terminal to confirm it on, a command word taken for a directory; and --version naming the build.

// runToolIn runs a built binary in dir with stdin fed from stdin (never a terminal).
func runToolIn(t *testing.T, dir, stdin, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := toolCommand(ctx, name, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	return runCmd(t, cmd)
}

// A hot backup restore reverts the whole deployment: with stdin not a terminal (here a pipe
// that even says "y") it is refused unless --yes true is given, and nothing is restored.
func TestHotbackupRestoreWithoutTerminalNeedsYes(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	tg.needArangotest(t) // if the refusal failed, the whole deployment would be reverted
	needHotBackup(t, tg)
	db := uniqueDB(t, "hbyes")
	backedUp := smallSeed(t, tg, db, 50)
	id := hotCreate(t, tg, "--label", "yes")

	c := tg.conn(t, db)
	ctx := context.Background()
	must(t, c.DoJSON(ctx, client.Request{Method: "DELETE", Path: "/_api/document/items/i0001"}, nil), "remove")
	must(t, c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/document/items", JSON: Doc{"_key": "late"}}, nil), "insert")
	changed := serverDocs(t, tg, db, "items")

	want := "error: restore reverts the WHOLE deployment to backup '" + id + "' and needs a confirmation, " +
		"but there is no terminal to ask on (stdin or stderr is not one); nothing was changed. Give --yes true to restore without asking\n"
	for _, run := range []struct {
		tool string
		args []string
	}{
		{"gorestore", []string{"hotbackup", "restore", "--identifier", id}},
		{"gorestore", []string{"hotbackup", "restore", "--identifier", id, "--yes", "false"}},
		{"godump", []string{"hotbackup", "restore", "--identifier", id}},
	} {
		res := runToolIn(t, t.TempDir(), "y\n", run.tool, append(run.args, tg.serverArgs("")...)...)
		prog := run.tool + " hotbackup"
		if res.Code != 2 || res.Stderr != prog+": "+want+"Run '"+prog+" --help' for the options.\n" || res.Stdout != "" {
			t.Errorf("%s %v without a terminal: %s\nwant exit 2 and stderr %q", run.tool, run.args, res, prog+": "+want)
		}
		sameDocs(t, "after a refused restore", changed, serverDocs(t, tg, db, "items"))
	}

	// --yes true restores, without a terminal.
	res := runToolIn(t, t.TempDir(), "", "gorestore", append([]string{"hotbackup", "restore", "--identifier", id, "--yes", "true", "--max-wait-for-restart", "120"}, tg.serverArgs("")...)...)
	if res.Code != 0 || !strings.Contains(res.Stdout, "Successfully restored '"+id+"'") {
		t.Fatalf("restore with --yes true: %s", res)
	}
	sameDocs(t, "after restore with --yes true", backedUp, serverDocs(t, tg, db, "items"))
}

// `godump version` once dumped _system into ./version. Unexpected arguments exit 2 with the
// usage and leave nothing behind; one directory argument still works (as with arangodump).
func TestUnexpectedArgumentsAreRefused(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	db := uniqueDB(t, "args")
	tg.createDatabase(t, db)
	c := tg.conn(t, db)
	must(t, c.DoJSON(context.Background(), client.Request{Method: "POST", Path: "/_api/collection", JSON: Doc{"name": "items"}}, nil), "create items")
	insertDocs(t, c, &seededCollection{Name: "items", Docs: map[string]Doc{"a": {"_key": "a", "n": 1}}})

	usage := func(tool string) string {
		return "Usage: " + tool + " [options] [" + map[string]string{"godump": "output", "gorestore": "input"}[tool] + "-directory]\n" +
			"       " + tool + " hotbackup <command> [options]\n       " + tool + " physical <command> [options]\n" +
			"Run '" + tool + " --help' for the options.\n"
	}
	cases := []struct {
		tool string
		args []string
		msg  string
	}{
		{"godump", []string{"version"}, `unexpected argument "version": godump has no command "version"; did you mean godump --version? (to dump into a directory of that name, give --output-directory version)`},
		{"godump", []string{"--threads", "2", "hotbackup"}, `unexpected argument "hotbackup": godump has no command "hotbackup"; did you mean godump hotbackup <command> [options] (the subcommand comes first)?`},
		{"godump", []string{"out", "version2"}, `unexpected arguments: out version2 (godump takes at most one argument: the output directory)`},
		{"godump", []string{"--output-directory", "out", "more"}, `unexpected argument "more": the output directory is already given with --output-directory`},
		{"gorestore", []string{"version"}, `unexpected argument "version": gorestore has no command "version"; did you mean gorestore --version? (to restore from a directory of that name, give --input-directory version)`},
		{"gorestore", []string{"list"}, `unexpected argument "list": gorestore has no command "list"; did you mean gorestore --list true input-directory?`},
		{"gorestore", []string{"dump", "extra"}, `unexpected arguments: dump extra (gorestore takes at most one argument: the input directory)`},
		{"gorestore", []string{"--input-directory", "dump", "extra"}, `unexpected argument "extra": the input directory is already given with --input-directory`},
	}
	for _, cs := range cases {
		dir := t.TempDir()
		if cs.tool == "gorestore" {
			mustRun(t, "godump", append([]string{"--progress", "false", filepath.Join(dir, "dump")}, tg.serverArgs(db)...)...)
		}
		before, _ := os.ReadDir(dir)
		res := runToolIn(t, dir, "", cs.tool, append(cs.args, append(tg.serverArgs(db), "--progress", "false")...)...)
		wantErr := cs.tool + ": " + cs.msg
		if res.Code != 2 || !strings.HasPrefix(res.Stderr, wantErr) || !strings.HasSuffix(res.Stderr, "\n"+usage(cs.tool)) || res.Stdout != "" {
			t.Errorf("%s %v: %s\nwant exit 2, stderr %q and the usage", cs.tool, cs.args, res, wantErr)
		}
		if after, _ := os.ReadDir(dir); len(after) != len(before) {
			t.Errorf("%s %v left %v in its working directory (had %v)", cs.tool, cs.args, after, before)
		}
	}
	if got := serverDocs(t, tg, db, "items"); len(got) != 1 {
		t.Errorf("the refused gorestore runs changed %s: %v", db, got)
	}

	// One directory argument is still the output (input) directory.
	dir := t.TempDir()
	mustRun(t, "godump", append([]string{"--progress", "false", filepath.Join(dir, "d")}, tg.serverArgs(db)...)...)
	if _, err := os.Stat(filepath.Join(dir, "d", "dump.json")); err != nil {
		t.Errorf("godump DIR wrote no dump.json: %v", err)
	}
}

// --version names the build: module version, commit and Go version, as Go recorded them in
// the binary (not "dev").
func TestVersionNamesTheBuild(t *testing.T) {
	for _, tool := range []string{"godump", "gorestore"} {
		exe := filepath.Join(binDir, tool)
		if runtime.GOOS == "windows" {
			exe += ".exe"
		}
		bi, err := buildinfo.ReadFile(exe)
		if err != nil {
			t.Fatalf("read build info of %s: %v", exe, err)
		}
		res := runToolIn(t, t.TempDir(), "", tool, "--version")
		if res.Code != 0 || res.Stdout != expectedVersion(tool, bi) || res.Stderr != "" {
			t.Errorf("%s --version: %s\nwant stdout %q", tool, res, expectedVersion(tool, bi))
		}
	}

	// Built from a git work tree with VCS stamping on, it names the commit.
	if testing.Short() {
		return
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not in a git work tree (%v); the commit line is covered by cliflag's unit test", err)
	}
	if top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output(); err == nil {
		if fi, err := os.Stat(filepath.Join(strings.TrimSpace(string(top)), ".git")); err == nil && !fi.IsDir() {
			t.Skip("a linked git worktree (.git is a file): the go command stamps no VCS information there")
		}
	}
	out := t.TempDir()
	build := exec.Command("go", "build", "-buildvcs=true", "-o", out+string(os.PathSeparator), "../cmd/godump")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -buildvcs=true: %v\n%s", err, b)
	}
	v, err := exec.Command(filepath.Join(out, "godump"), "--version").Output()
	lines := strings.Split(string(v), "\n")
	if err != nil || len(lines) < 2 || !strings.HasPrefix(lines[1], "commit "+strings.TrimSpace(string(head))+" (") {
		t.Errorf("godump built with VCS stamping, --version: %q (%v); want the commit %s", v, err, head)
	}
}

// expectedVersion is what --version prints for a binary with build info bi.
func expectedVersion(tool string, bi *buildinfo.BuildInfo) string {
	set := map[string]string{}
	for _, s := range bi.Settings {
		set[s.Key] = s.Value
	}
	commit := "commit unknown (built without version control information)\n"
	if rev := set["vcs.revision"]; rev != "" {
		commit = "commit " + rev
		if at := set["vcs.time"]; at != "" {
			commit += " (" + at + ")"
		}
		if set["vcs.modified"] == "true" {
			commit += ", with uncommitted changes"
		}
		commit += "\n"
	}
	return tool + " " + bi.Main.Version + "\n" + commit + "built with " + bi.GoVersion + " for " + set["GOOS"] + "/" + set["GOARCH"] + "\n"
}
