package cmdline

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/arangobackup/godump/cliflag"
)

func parseArgs(t *testing.T, args ...string) (*Setup, int, bool, *pflag.FlagSet, string, string) {
	t.Helper()
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.String("server.endpoint", "tcp://127.0.0.1:8529", "endpoint")
	var out, errb bytes.Buffer
	setup, code, done := Parse(fs, args, Spec{Program: cliflag.Program{Name: "tool sub", Usage: "Usage: tool sub"},
		ConfigNames: []string{"tool-sub-none"}, Stdout: &out, Stderr: &errb})
	return setup, code, done, fs, out.String(), errb.String()
}

func TestParseHelpOnStdout(t *testing.T) {
	_, code, done, _, out, errs := parseArgs(t, "--help")
	if !done || code != 0 || !strings.Contains(out, "Usage: tool sub") || errs != "" {
		t.Fatalf("--help: done %v code %d out %q err %q", done, code, out, errs)
	}
}

func TestParseBadOption(t *testing.T) {
	_, code, done, _, out, errs := parseArgs(t, "--nope")
	if !done || code != ExitUsage || out != "" || !strings.Contains(errs, "Run 'tool sub --help' for the options.") {
		t.Fatalf("--nope: done %v code %d out %q err %q", done, code, out, errs)
	}
}

func TestParseConfigFile(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "x.conf")
	os.WriteFile(conf, []byte("[server]\nendpoint = tcp://db:1234\n"), 0o600)
	setup, _, done, fs, _, errs := parseArgs(t, "-c", conf)
	if done || errs != "" {
		t.Fatalf("-c: done %v err %q", done, errs)
	}
	defer setup.Close()
	if v := fs.Lookup("server.endpoint").Value.String(); v != "tcp://db:1234" {
		t.Fatalf("endpoint %q from the config file", v)
	}
	if setup.Messages.Logging() {
		t.Fatal("messages go to the log without --log.file or --log.output")
	}
}

func TestMessagesToLogFile(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "m.log")
	setup, _, done, _, _, errs := parseArgs(t, "--log.file", logFile)
	if done || errs != "" {
		t.Fatalf("--log.file: done %v err %q", done, errs)
	}
	if !setup.Messages.Logging() {
		t.Fatal("--log.file: messages do not go to the log")
	}
	setup.Messages.Warn("careful")
	setup.Messages.Write([]byte("tool sub: a note\n"))
	setup.Close()
	b, _ := os.ReadFile(logFile)
	if !strings.Contains(string(b), "careful") || !strings.Contains(string(b), "a note") || strings.Contains(string(b), "tool sub: a note") {
		t.Fatalf("log:\n%s", b)
	}
}

func TestMessagesToStderr(t *testing.T) {
	var errb bytes.Buffer
	m := NewMessages("tool", &errb)
	m.Warn("w")
	m.Error("e")
	m.Notice("n")
	m.Write([]byte("partial "))
	m.Write([]byte("line\n"))
	if got, want := errb.String(), "tool: warning: w\ntool: e\ntool: n\npartial line\n"; got != want {
		t.Fatalf("stderr %q, want %q", got, want)
	}
}
