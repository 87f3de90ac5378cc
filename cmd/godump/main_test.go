package main

import (
	"bytes"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/arangobackup/godump/cliflag"
)

func TestUsageErrorsAndHelp(t *testing.T) {
	cases := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"--help"}, exitOK, "Exit codes:"},
		{[]string{"--version"}, exitOK, "godump "},
		{[]string{"--no-such-option"}, exitUsage, "unknown flag"},
		{[]string{"--collection", "a", "--ignore-collection", "b", "out"}, exitUsage, "cannot be used together"},
		{[]string{"--dump-vpack", "true"}, exitUsage, "not supported"},
		{[]string{"--all-databases", "--server.database", "x"}, exitUsage, "cannot be combined"},
		{[]string{"--maskings", "m.json", "--dump-data", "false"}, exitUsage, "not both"},
		{[]string{"a", "b"}, exitUsage, "unexpected arguments"},
		{[]string{"--threads", "x"}, exitUsage, "invalid argument"},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		code := run(c.args, &out, &errOut)
		if code != c.code || !strings.Contains(out.String()+errOut.String(), c.out) {
			t.Errorf("%v: exit %d, want %d; output %q %q (want %q)", c.args, code, c.code, out.String(), errOut.String(), c.out)
		}
	}
}

func TestConnectionFailureExitsWithError(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"--server.endpoint", "tcp://127.0.0.1:1", "--server.max-retries", "0", "--server.connection-timeout", "1s", "--progress", "false", t.TempDir()}, &out, &errOut)
	if code != exitError || !strings.Contains(errOut.String(), "127.0.0.1:1") {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}

// `godump version` dumped _system into ./version: a command word is not an output directory.
func TestUnexpectedArgumentsShowUsage(t *testing.T) {
	t.Chdir(t.TempDir())
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"version"}, `unexpected argument "version": godump has no command "version"; did you mean godump --version? (to dump into a directory of that name, give --output-directory version)`},
		{[]string{"--progress", "false", "help"}, `did you mean godump --help?`},
		{[]string{"--server.endpoint", "tcp://127.0.0.1:1", "hotbackup", "list"}, `did you mean godump hotbackup <command> [options] (the subcommand comes first)?`},
		{[]string{"list"}, `did you mean godump hotbackup list?`},
		{[]string{"out", "more"}, `unexpected arguments: out more (godump takes at most one argument: the output directory)`},
		{[]string{"--output-directory", "out", "more"}, `unexpected argument "more": the output directory is already given with --output-directory`},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		code := run(c.args, &out, &errOut)
		want := "godump: " + c.msg
		if code != exitUsage || !strings.Contains(errOut.String(), c.msg) || !strings.HasPrefix(errOut.String(), "godump: ") ||
			!strings.Contains(errOut.String(), "\n"+usageText+"Run 'godump --help' for the options.\n") || out.Len() != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q with the usage on stderr", c.args, code, out.String(), errOut.String(), want)
		}
	}
	if entries, _ := os.ReadDir("."); len(entries) != 0 {
		t.Errorf("refused command lines left %v in the working directory", entries)
	}
}

func TestVersionNamesBuild(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"--version"}, &out, &errOut); code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	got := out.String()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if got != cliflag.VersionText("godump", "") || len(lines) != 3 || !strings.HasPrefix(lines[0], "godump ") || lines[0] == "godump dev" ||
		!strings.HasPrefix(lines[1], "commit ") || lines[2] != "built with "+runtime.Version()+" for "+runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("godump --version printed %q", got)
	}
}
