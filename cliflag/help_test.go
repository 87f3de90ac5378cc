package cliflag

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// testProgram is a small godump: general options, server.*, ssl.*, a hidden option, a
// vector option, numbers and a command (--version).
func testProgram() (*pflag.FlagSet, Program) {
	fs := pflag.NewFlagSet("godump", pflag.ContinueOnError)
	fs.StringArray("server.endpoint", []string{"http+tcp://127.0.0.1:8529"}, "endpoint to connect to")
	fs.String("server.database", "_system", "database name to use")
	Bool(fs, "server.authentication", true, "require authentication credentials when connecting")
	fs.Float64("server.request-timeout", 1200, "request timeout in seconds")
	Bool(fs, "ssl.verify-certificate", true, "verify the server's TLS certificate")
	fs.String("output-directory", "dump", "output directory")
	Bool(fs, "overwrite", false, "write into an existing, non-empty output directory")
	fs.StringArray("collection", nil, "dump only this collection (repeatable)")
	fs.Int("threads", 2, "collections dumped at once")
	fs.Uint64("batch-size", 67108864, "largest batch asked from the server, in bytes")
	fs.String("maskings", "", "file with data masking definitions")
	Bool(fs, "split-files", false, "one data file per shard (default: true on a cluster)")
	Bool(fs, "envelope", false, "obsolete, ignored")
	_ = fs.MarkHidden("envelope")
	Bool(fs, "version", false, "print the version and exit")
	fs.BoolP("help", "h", false, "show this help")
	return fs, Program{
		Name:          "godump",
		Usage:         "Usage: godump [<options>] [<output-directory>]\n       godump hotbackup <command> [<options>]",
		Summary:       "Dumps ArangoDB databases into a directory. Parallel and streaming.",
		Footer:        "Exit codes:\n  0  the dump is complete\n  2  bad options or arguments",
		PositionalDir: true,
	}
}

func info(t *testing.T, args ...string) (string, bool, error) {
	t.Helper()
	fs, p := testProgram()
	var out bytes.Buffer
	handled, err := Info(fs, args, p, &out)
	return out.String(), handled, err
}

func TestHelpSectionsInOrder(t *testing.T) {
	out, handled, err := info(t, "--server.database", "x", "--help")
	if !handled || err != nil {
		t.Fatalf("handled %v, err %v", handled, err)
	}
	t.Log("\n" + out)
	if !strings.HasPrefix(out, "Usage: godump [<options>] [<output-directory>]\n       godump hotbackup") {
		t.Errorf("does not start with the usage:\n%s", out)
	}
	// General section first, then the others by name, as ArangoDB's std::map of sections.
	order := []string{
		"Common options (excluding hidden/uncommon options):",
		"Section 'general options' (configure general settings)",
		"  --batch-size <uint64>",
		"  --collection <string...>",
		"  --maskings <string>",
		"  --overwrite <boolean>",
		"  --threads <int64>",
		"  --version <boolean>",
		"Section 'server' (configure server connection)",
		"  --server.authentication <boolean>",
		"  --server.endpoint <string...>",
		"Section 'ssl' (configure SSL communication)",
		"  --ssl.verify-certificate <boolean>",
		"For more information use:  --help-general  --help-server  --help-ssl",
		"To show these options, use\n--help-all",
		"Exit codes:",
	}
	inOrder(t, out, order)
	for _, bad := range []string{"--envelope", "--help <", "--dump-options", "--man", "--completion"} {
		if strings.Contains(out, bad) {
			t.Errorf("plain --help shows hidden %q", bad)
		}
	}
	// The descriptions with their continuation lines joined.
	flat := regexp.MustCompile(`\n {20,}`).ReplaceAllString(out, " ")
	for _, want := range []string{
		`write into an existing, non-empty output directory (default: false)`,
		`endpoint to connect to (default: "http+tcp://127.0.0.1:8529")`,
		`database name to use (default: "_system")`,
		`dump only this collection (repeatable) (default: )`,
		`request timeout in seconds (default: 1200)`,
		"  --version-json <boolean>",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	if strings.Contains(out, "print the version and exit (default") {
		t.Error("a command option (--version) shows a default")
	}
	if !strings.Contains(flat, "one data file per shard (default: true on a cluster)\n") {
		t.Error("a usage that says its default got a second one")
	}
	for _, l := range strings.Split(out, "\n") {
		if len(l) > 80 {
			t.Errorf("line longer than 80 columns: %q", l)
		}
	}
}

func TestHelpAllShowsHidden(t *testing.T) {
	for _, arg := range []string{"--help-all", "--help-.", "--help-hidden", "--help-uncommon"} {
		out, handled, err := info(t, arg)
		if !handled || err != nil {
			t.Fatalf("%s: handled %v, err %v", arg, handled, err)
		}
		for _, want := range []string{"--envelope <boolean>", "--dump-options <boolean>", "--man <boolean>",
			"--completion <string>", "Section 'server'", "--overwrite <boolean>"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s lacks %q", arg, want)
			}
		}
		if strings.Contains(out, "Common options") || strings.Contains(out, "More uncommon") {
			t.Errorf("%s has the plain --help header or hint", arg)
		}
	}
}

func TestHelpOneSection(t *testing.T) {
	out, handled, err := info(t, "--help-server")
	if !handled || err != nil {
		t.Fatalf("handled %v, err %v", handled, err)
	}
	if !strings.Contains(out, "Section 'server'") || !strings.Contains(out, "--server.endpoint <string...>") {
		t.Errorf("--help-server lacks the server section:\n%s", out)
	}
	if strings.Contains(out, "Section 'general options'") || strings.Contains(out, "--overwrite") || strings.Contains(out, "ssl.") {
		t.Errorf("--help-server shows other sections:\n%s", out)
	}
	out, _, _ = info(t, "--help-general")
	if !strings.Contains(out, "--overwrite <boolean>") || strings.Contains(out, "server.") {
		t.Errorf("--help-general:\n%s", out)
	}
}

func TestHelpUnknownSection(t *testing.T) {
	out, handled, err := info(t, "--help-nosuch")
	if !handled || err == nil || out != "" {
		t.Fatalf("handled %v, err %v, out %q", handled, err, out)
	}
	want := `no option section "nosuch"; the sections are: --help-general  --help-server  --help-ssl (or --help-all for every option)`
	if err.Error() != want {
		t.Errorf("error\n got %q\nwant %q", err, want)
	}
}

func TestHelpForms(t *testing.T) {
	for _, c := range []struct {
		args    []string
		handled bool
	}{
		{[]string{"-h"}, true},
		{[]string{"--help=true"}, true},
		{[]string{"--help=false"}, false},
		{[]string{"--", "--help"}, false}, // after -- it is an argument
		{[]string{"out", "--overwrite", "true"}, false},
		{[]string{"--overwrite", "--help"}, true},
	} {
		_, handled, err := info(t, c.args...)
		if handled != c.handled || err != nil {
			t.Errorf("%q: handled %v, err %v; want handled %v", c.args, handled, err, c.handled)
		}
	}
}

func TestHelpCommonSections(t *testing.T) {
	fs, p := testProgram()
	p.Common = []string{""}
	var out bytes.Buffer
	if _, err := Info(fs, []string{"--help"}, p, &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.Contains(s, "--overwrite <boolean>") || strings.Contains(s, "Section 'server'") ||
		!strings.Contains(s, "--help-server") {
		t.Errorf("Common = general only:\n%s", s)
	}
}

func TestHelpWraps(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.String("long", "", strings.Repeat("word ", 40))
	var out bytes.Buffer
	if err := WriteHelp(&out, fs, Program{}, "*", 60); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	n := 0
	for _, l := range lines {
		if len(l) > 60 {
			t.Errorf("line longer than 60: %q", l)
		}
		if strings.HasPrefix(l, "                    word") {
			n++ // continuation lines are indented to the description column
		}
	}
	if n < 3 {
		t.Errorf("expected wrapped continuation lines:\n%s", out.String())
	}
}

func TestDumpOptions(t *testing.T) {
	for _, args := range [][]string{{"--dump-options"}, {"--dump-options", "true"}, {"--dump-options=yes"}} {
		out, handled, err := info(t, args...)
		if !handled || err != nil {
			t.Fatalf("%q: handled %v, err %v", args, handled, err)
		}
		var got map[string]map[string]any
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%q: not JSON: %v\n%s", args, err, out)
		}
		if _, ok := got["help"]; ok {
			t.Error("--dump-options lists help (the ArangoDB tools do not)")
		}
		// The keys and values of docs-hugo's site/data/3.12/arangodump.json entries.
		ow := got["overwrite"]
		for k, v := range map[string]any{"section": "", "category": "option", "default": false, "hidden": false,
			"type": "boolean", "requiresValue": false, "required": false, "experimental": false, "obsolete": false,
			"enterpriseOnly": false, "dynamic": false, "introducedIn": nil, "deprecatedIn": nil,
			"description": "write into an existing, non-empty output directory"} {
			if ow[k] != v {
				t.Errorf("overwrite.%s = %#v, want %#v", k, ow[k], v)
			}
		}
		if os, _ := ow["os"].([]any); len(os) != 1 || os[0] != "linux" {
			t.Errorf("overwrite.os = %#v", ow["os"])
		}
		ep := got["server.endpoint"]
		if ep["section"] != "server" || ep["type"] != "string..." || ep["requiresValue"] != true {
			t.Errorf("server.endpoint = %#v", ep)
		}
		if d, _ := ep["default"].([]any); len(d) != 1 || d[0] != "http+tcp://127.0.0.1:8529" {
			t.Errorf("server.endpoint.default = %#v", ep["default"])
		}
		if d, _ := got["collection"]["default"].([]any); d == nil || len(d) != 0 {
			t.Errorf("collection.default = %#v, want []", got["collection"]["default"])
		}
		bs := got["batch-size"]
		if bs["type"] != "uint64" || bs["default"] != float64(67108864) || bs["minValue"] != float64(0) || bs["base"] != float64(1) {
			t.Errorf("batch-size = %#v", bs)
		}
		if got["server.request-timeout"]["type"] != "double" || got["server.request-timeout"]["default"] != float64(1200) {
			t.Errorf("server.request-timeout = %#v", got["server.request-timeout"])
		}
		for _, name := range []string{"version", "version-json", "dump-options"} {
			e := got[name]
			if _, hasDefault := e["default"]; e["category"] != "command" || hasDefault {
				t.Errorf("%s = %#v, want a command without a default", name, e)
			}
		}
		if got["dump-options"]["hidden"] != true || got["envelope"]["hidden"] != true || got["version-json"]["hidden"] != false {
			t.Error("hidden flags wrong")
		}
		// velocypack's pretty print, as the ArangoDB tools write it.
		if !strings.Contains(out, "  \"overwrite\" : {\n    \"category\" : \"option\",\n") ||
			!strings.Contains(out, "\"default\" : [\n    ],") || !strings.Contains(out, "\"http+tcp://127.0.0.1:8529\"") {
			t.Errorf("not in velocypack's layout:\n%s", out[:min(len(out), 600)])
		}
	}
	if _, handled, _ := info(t, "--dump-options", "false"); handled {
		t.Error("--dump-options false was handled")
	}
}

func TestVersionJSON(t *testing.T) {
	fs, p := testProgram()
	p.Version = "1.2.3"
	var out bytes.Buffer
	handled, err := Info(fs, []string{"--version-json"}, p, &out)
	if !handled || err != nil {
		t.Fatalf("handled %v, err %v", handled, err)
	}
	if strings.Count(out.String(), "\n") != 1 {
		t.Errorf("not one line: %q", out.String())
	}
	var got map[string]string // every value a string, as Version::getVPack writes them
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if got["version"] != "1.2.3" || got["server-version"] != "1.2.3" || got["platform"] == "" ||
		!strings.HasSuffix(got["architecture"], "bit") || !strings.HasPrefix(got["full-version-string"], "godump 1.2.3 [") {
		t.Errorf("version JSON = %v", got)
	}
	// --version-json wins over --version, as in ArangoDB's VersionFeature::validateOptions.
	if handled, _ := Info(fs, []string{"--version", "--version-json"}, p, &bytes.Buffer{}); !handled {
		t.Error("--version --version-json not handled")
	}
	// A later parse accepts the option Info added.
	if err := Parse(fs, []string{"--version-json", "false"}); err != nil {
		t.Errorf("parse after Info: %v", err)
	}
}

func TestInfoNotAsked(t *testing.T) {
	for _, args := range [][]string{
		{"--server.database", "x", "--overwrite", "true", "dir"},
		{"--server.database", "--man"}, // the value of --server.database
		{"--man", "false"},
		{"--", "--dump-options"},
	} {
		out, handled, err := info(t, args...)
		if handled || err != nil || out != "" {
			t.Errorf("%q: handled %v, err %v, out %q", args, handled, err, out)
		}
	}
}

// TestHelpToStdout checks that help goes to the writer given (the command passes stdout),
// not to the FlagSet's output.
func TestHelpToStdout(t *testing.T) {
	fs, p := testProgram()
	var flagOut, out bytes.Buffer
	fs.SetOutput(&flagOut)
	if _, err := Info(fs, []string{"--help"}, p, &out); err != nil {
		t.Fatal(err)
	}
	if out.Len() == 0 || flagOut.Len() != 0 {
		t.Errorf("stdout %d bytes, flag output %d bytes", out.Len(), flagOut.Len())
	}
}

// inOrder fails unless every string of order is in text, in that order.
func inOrder(t *testing.T, text string, order []string) {
	t.Helper()
	pos := 0
	for _, want := range order {
		i := strings.Index(text[pos:], want)
		if i < 0 {
			t.Fatalf("%q missing or out of order in:\n%s", want, text)
		}
		pos += i + len(want)
	}
}
