package main

import (
	"bytes"
	"strings"
	"testing"
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
