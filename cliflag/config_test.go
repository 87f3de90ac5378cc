package cliflag

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// dumpFlags is a small arangodump-like FlagSet for the configuration tests.
type dumpFlags struct {
	fs                  *pflag.FlagSet
	endpoint, database  *string
	username, password  *string
	output              *string
	collections         *[]string
	overwrite, compress *bool
	auth                *bool
	batch               *uint64
	threads             *int
}

func newDumpFlags() *dumpFlags {
	fs := pflag.NewFlagSet("godump", pflag.ContinueOnError)
	d := &dumpFlags{fs: fs}
	d.endpoint = fs.String("server.endpoint", "tcp://127.0.0.1:8529", "")
	d.database = fs.String("server.database", "_system", "")
	d.username = fs.String("server.username", "root", "")
	d.password = fs.String("server.password", "", "")
	d.output = fs.String("output-directory", "dump", "")
	d.collections = fs.StringArray("collection", nil, "")
	d.overwrite = Bool(fs, "overwrite", false, "")
	d.compress = Bool(fs, "compress-output", true, "")
	d.auth = Bool(fs, "server.authentication", true, "")
	d.batch = Size(fs, "batch-size", 8<<20, "")
	d.threads = new(int)
	IntVar(fs, d.threads, "threads", 2, "")
	fs.BoolP("help", "h", false, "")
	return d
}

func writeConf(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConfigFileSyntax: sections, top-level keys, dotted keys inside a section, comments,
// blanks, booleans (empty = true), repeated keys, unit suffixes, values kept verbatim
// (quotes, inner `=`, inline `#`), [x:enterprise] skipped and [x:community] read as the
// Community Edition does.
func TestConfigFileSyntax(t *testing.T) {
	dir := t.TempDir()
	conf := writeConf(t, dir, "godump.conf", `# a comment
; another comment
   # indented comment

overwrite = yes
output-directory=/backups/@GODUMP_T_DAY@
threads = 4k
batch-size = 64MiB   # a comment after a number is dropped

[server]
endpoint = ssl://db.example.com:8530
database = "quoted"
authentication =
password = a=b # not a comment

[]
collection = a
collection = b
compress-output = off
[dump]
server.username = dotted-wins
[x:enterprise]
not-read = 1
[server:community]
endpoint = ssl://community:8530
`)
	t.Setenv("GODUMP_T_DAY", "monday")
	d := newDumpFlags()
	if err := ParseWith(d.fs, []string{"-c", conf}, Config{}); err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"overwrite", boolString(*d.overwrite), "true"},
		{"output-directory", *d.output, "/backups/monday"},
		{"threads", strconv.Itoa(*d.threads), "4000"},
		{"batch-size", strconv.FormatUint(*d.batch, 10), "67108864"},
		{"server.endpoint", *d.endpoint, "ssl://community:8530"}, // the last one in the file
		{"server.database", *d.database, `"quoted"`},
		{"server.authentication", boolString(*d.auth), "true"},
		{"server.password", *d.password, "a=b # not a comment"},
		{"collection", strings.Join(*d.collections, ","), "a,b"},
		{"server.username", *d.username, "dotted-wins"},
		{"compress-output", boolString(*d.compress), "false"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if !d.fs.Changed("server.endpoint") {
		t.Error("a value from the file does not count as set (fs.Changed)")
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// TestConfigPrecedence: the command line wins over the file, for single values and for lists
// (the file's list entries are dropped entirely, as the tools freeze the option); FILE.local
// wins over FILE.
func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	conf := writeConf(t, dir, "x.conf", "[server]\ndatabase = fromfile\nusername = fileuser\n[]\ncollection = f1\ncollection = f2\nthreads = 8\noverwrite = true\n")
	writeConf(t, dir, "x.conf.local", "threads = 16\nserver.endpoint = tcp://local:1\n")
	d := newDumpFlags()
	err := ParseWith(d.fs, []string{"--configuration", conf, "--server.database", "cli", "--collection", "c1", "--overwrite", "false"}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if *d.database != "cli" || *d.username != "fileuser" || strings.Join(*d.collections, ",") != "c1" || *d.overwrite {
		t.Fatalf("database %q username %q collections %q overwrite %v", *d.database, *d.username, *d.collections, *d.overwrite)
	}
	if *d.threads != 16 || *d.endpoint != "tcp://local:1" {
		t.Fatalf("threads %d endpoint %q: FILE.local should win over FILE", *d.threads, *d.endpoint)
	}
}

// TestConfigNone: -c none (any case) reads no file, not even the default one.
func TestConfigNone(t *testing.T) {
	dir := t.TempDir()
	writeConf(t, dir, "godump.conf", "server.database = fromfile\n")
	for _, args := range [][]string{{"-c", "none"}, {"--configuration=NONE"}, {"--config", "None"}, {"-cnone"}} {
		d := newDumpFlags()
		if err := ParseWith(d.fs, args, Config{Names: []string{"godump"}, Dirs: []string{dir}}); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if *d.database != "_system" {
			t.Fatalf("%v read the file: %q", args, *d.database)
		}
	}
	d := newDumpFlags()
	if err := ParseWith(d.fs, nil, Config{Names: []string{"godump"}, Dirs: []string{dir}}); err != nil || *d.database != "fromfile" {
		t.Fatalf("default lookup: %v %q", err, *d.database)
	}
}

// TestConfigLookup: each directory in order, our name before the ArangoDB tool's in one
// directory; nothing found is not an error; Parse looks up nothing.
func TestConfigLookup(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	names := Config{Names: []string{"godump", "arangodump"}, Dirs: []string{first, second}}
	writeConf(t, second, "godump.conf", "server.database = second-godump\n")
	writeConf(t, first, "arangodump.conf", "server.database = first-arangodump\n")
	d := newDumpFlags()
	if err := ParseWith(d.fs, nil, names); err != nil || *d.database != "first-arangodump" {
		t.Fatalf("%v %q", err, *d.database)
	}
	writeConf(t, first, "godump.conf", "server.database = first-godump\n")
	d = newDumpFlags()
	if err := ParseWith(d.fs, nil, names); err != nil || *d.database != "first-godump" {
		t.Fatalf("%v %q", err, *d.database)
	}
	d = newDumpFlags()
	if err := ParseWith(d.fs, nil, Config{Names: []string{"nothing"}, Dirs: []string{first}}); err != nil || *d.database != "_system" {
		t.Fatalf("no file: %v %q", err, *d.database)
	}
	t.Chdir(first)
	d = newDumpFlags()
	if err := Parse(d.fs, nil); err != nil || *d.database != "_system" {
		t.Fatalf("Parse read a file: %v %q", err, *d.database)
	}
}

// TestDefaultConfigDirs: the tools' order, HOME and ARANGODB_CONFIG_PATH honoured.
func TestDefaultConfigDirs(t *testing.T) {
	cwd, home, cfg := t.TempDir(), t.TempDir(), t.TempDir()
	t.Chdir(cwd)
	cwd, _ = os.Getwd()
	t.Setenv("HOME", home)
	t.Setenv("ARANGODB_CONFIG_PATH", cfg+"/")
	want := []string{filepath.Join(cwd, "etc", "relative"), "/etc/arangodb3", cwd, filepath.Join(home, ".arangodb"), cfg}
	if got := DefaultConfigDirs(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	t.Setenv("ARANGODB_CONFIG_PATH", "")
	if got := DefaultConfigDirs(); len(got) != 4 || got[1] != "/etc/arangodb3" {
		t.Fatalf("without ARANGODB_CONFIG_PATH: %q", got)
	}
	// ~/.arangodb/arangodump.conf is found through the default directories.
	if err := os.MkdirAll(filepath.Join(home, ".arangodb"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeConf(t, filepath.Join(home, ".arangodb"), "arangodump.conf", "server.database = home\n")
	d := newDumpFlags()
	if err := ParseWith(d.fs, nil, Config{Names: []string{"godump", "arangodump"}}); err != nil || *d.database != "home" {
		t.Fatalf("%v %q", err, *d.database)
	}
}

// TestConfigErrors: every error names the file, and the line where there is one.
func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, text string
		line, code int
		want       string
	}{
		{"unknown option", "[server]\nendpoint = tcp://x:1\n\nnot-an-option = 1\n", 4, ExitInvalidOptionName, "unknown option '--server.not-an-option'"},
		{"unknown top-level option", "# c\nbogus = 1\n", 2, ExitInvalidOptionName, "unknown option '--bogus'"},
		{"bad boolean", "overwrite = maybe\n", 1, ExitInvalidOptionValue, `error setting value for option '--overwrite': invalid argument "maybe"`},
		{"bad size", "\nbatch-size = 1.5GB\n", 2, ExitInvalidOptionValue, "error setting value for option '--batch-size'"},
		{"line without =", "[server]\nendpoint\n", 2, ExitConfigNotFound, "unknown line type: 'endpoint'"},
		{"section with a blank", "[ server ]\n", 1, ExitConfigNotFound, "unknown line type: '[ server ]'"},
		{"key with a blank", "server endpoint = x\n", 1, ExitConfigNotFound, "unknown line type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := writeConf(t, dir, "bad.conf", tc.text)
			err := ParseWith(newDumpFlags().fs, []string{"-c", conf}, Config{})
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.File != conf || ce.Line != tc.line || ce.Code != tc.code || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v (%#v), want line %d code %d %q", err, ce, tc.line, tc.code, tc.want)
			}
			if prefix := "config file '" + conf + "', line #"; !strings.HasPrefix(err.Error(), prefix) {
				t.Fatalf("%q does not start with %q", err, prefix)
			}
		})
	}
	missing := filepath.Join(dir, "missing.conf")
	err := ParseWith(newDumpFlags().fs, []string{"-c", missing}, Config{})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Code != ExitConfigNotFound || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("missing file: %v", err)
	}
	// A file given on the command line that has an error in a found default file: the default
	// file is not read when -c names another.
	writeConf(t, dir, "godump.conf", "bogus = 1\n")
	good := writeConf(t, dir, "good.conf", "threads = 3\n")
	if err := ParseWith(newDumpFlags().fs, []string{"-c", good}, Config{Names: []string{"godump"}, Dirs: []string{dir}}); err != nil {
		t.Fatal(err)
	}
}

// TestConfigInclude: @include is relative to the including file when not found as given,
// gets ".conf" appended, is read in the same pass, and a file included twice is refused.
func TestConfigInclude(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "inc"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeConf(t, filepath.Join(dir, "inc"), "server.conf", "[server]\nendpoint = tcp://included:1\ndatabase = included\n")
	main := writeConf(t, dir, "main.conf", "@include inc/server\nserver.database = after-include\n")
	d := newDumpFlags()
	if err := ParseWith(d.fs, []string{"-c", main}, Config{}); err != nil {
		t.Fatal(err)
	}
	if *d.endpoint != "tcp://included:1" || *d.database != "after-include" {
		t.Fatalf("endpoint %q database %q", *d.endpoint, *d.database)
	}
	loop := writeConf(t, dir, "loop.conf", "@include loop.conf\n")
	err := ParseWith(newDumpFlags().fs, []string{"-c", loop}, Config{})
	if err == nil || !strings.Contains(err.Error(), "recursive include of file 'loop.conf'") {
		t.Fatalf("recursive include: %v", err)
	}
	twice := writeConf(t, dir, "twice.conf", "@include inc/server.conf\n@include inc/server\n")
	if err := ParseWith(newDumpFlags().fs, []string{"-c", twice}, Config{}); err == nil {
		t.Fatal("a file included twice was accepted")
	}
	nofile := writeConf(t, dir, "nofile.conf", "@include does-not-exist\n")
	err = ParseWith(newDumpFlags().fs, []string{"-c", nofile}, Config{})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.File != filepath.Join(dir, "does-not-exist.conf") || ce.Code != ExitConfigNotFound {
		t.Fatalf("missing include: %v", err)
	}
}

// TestConfigSubstitution: @VAR@ in file values, @@, --define (also KEY=V,KEY2=V2), the
// environment winning over a definition, and -c's own value expanded.
func TestConfigSubstitution(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GODUMP_T_DIR", dir)
	t.Setenv("GODUMP_T_USER", "envuser")
	writeConf(t, dir, "sub.conf", "[server]\nusername = @GODUMP_T_USER@\npassword = p@@ss@GODUMP_T_PW@\ndatabase = @GODUMP_T_DB@-@GODUMP_T_UNSET@x\n"+
		"endpoint = tcp://@GODUMP_T_HOST@:8529\n")
	d := newDumpFlags()
	err := ParseWith(d.fs, []string{"-c", "@GODUMP_T_DIR@/sub.conf", "--define", "GODUMP_T_DB=shop,GODUMP_T_PW=!", "-D", "GODUMP_T_USER=defuser", "-DGODUMP_T_HOST=h"}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if *d.username != "envuser" || *d.password != "p@ss!" || *d.database != "shop-x" || *d.endpoint != "tcp://h:8529" {
		t.Fatalf("username %q password %q database %q endpoint %q", *d.username, *d.password, *d.database, *d.endpoint)
	}
}

// TestCheckConfiguration: ErrCheckConfiguration after a valid parse; errors first; a file
// key sets it too (the tools check it after reading the file).
func TestCheckConfiguration(t *testing.T) {
	dir := t.TempDir()
	good := writeConf(t, dir, "good.conf", "threads = 3\n")
	bad := writeConf(t, dir, "bad.conf", "nope = 3\n")
	if err := ParseWith(newDumpFlags().fs, []string{"--check-configuration", "-c", good, "extra", "args"}, Config{}); !errors.Is(err, ErrCheckConfiguration) {
		t.Fatalf("valid: %v", err)
	}
	if err := ParseWith(newDumpFlags().fs, []string{"--check-configuration", "-c", bad}, Config{}); errors.Is(err, ErrCheckConfiguration) || err == nil {
		t.Fatalf("invalid file: %v", err)
	}
	if err := ParseWith(newDumpFlags().fs, []string{"--check-configuration", "--threads", "x"}, Config{}); errors.Is(err, ErrCheckConfiguration) || err == nil {
		t.Fatalf("invalid command line: %v", err)
	}
	if err := ParseWith(newDumpFlags().fs, []string{"--check-configuration", "false"}, Config{}); err != nil {
		t.Fatalf("--check-configuration false: %v", err)
	}
	inFile := writeConf(t, dir, "check.conf", "check-configuration = true\n")
	if err := ParseWith(newDumpFlags().fs, []string{"-c", inFile}, Config{}); !errors.Is(err, ErrCheckConfiguration) {
		t.Fatalf("from the file: %v", err)
	}
}

// TestHelpSkipsConfig: with --help the file is not read, so a broken file cannot hide the help.
func TestHelpSkipsConfig(t *testing.T) {
	dir := t.TempDir()
	writeConf(t, dir, "godump.conf", "bogus = 1\n")
	d := newDumpFlags()
	if err := ParseWith(d.fs, []string{"--help"}, Config{Names: []string{"godump"}, Dirs: []string{dir}}); err != nil {
		t.Fatal(err)
	}
	fs := pflag.NewFlagSet("nohelpflag", pflag.ContinueOnError)
	fs.SetOutput(&strings.Builder{})
	if err := ParseWith(fs, []string{"-h"}, Config{Names: []string{"godump"}, Dirs: []string{dir}}); !errors.Is(err, pflag.ErrHelp) {
		t.Fatalf("-h without a help flag: %v", err)
	}
}

// TestConfigFlagsRegistered: the options exist, -c and --configuration visible, the others
// hidden, once only, without stealing a shorthand a command already uses.
func TestConfigFlagsRegistered(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	AddConfigFlags(fs)
	AddConfigFlags(fs)
	if f := fs.Lookup(FlagConfiguration); f == nil || f.Shorthand != "c" || f.Hidden {
		t.Fatalf("--configuration: %+v", f)
	}
	for _, name := range []string{FlagConfig, FlagDefine, FlagCheckConfiguration} {
		if f := fs.Lookup(name); f == nil || !f.Hidden {
			t.Fatalf("--%s: %+v", name, f)
		}
	}
	if fs.Lookup(FlagDefine).Shorthand != "D" || !strings.Contains(fs.FlagUsages(), "-c, --configuration") {
		t.Fatal(fs.FlagUsages())
	}
	other := pflag.NewFlagSet("t", pflag.ContinueOnError)
	other.BoolP("compress", "c", false, "")
	AddConfigFlags(other)
	if f := other.Lookup(FlagConfiguration); f.Shorthand != "" {
		t.Fatal("took -c")
	}
	// --config and --configuration are one variable: the last one given wins.
	fs = newDumpFlags().fs
	if err := ParseWith(fs, []string{"--config", "a", "--configuration", "none"}, Config{}); err != nil {
		t.Fatal(err)
	}
}

// FuzzConfigFile: any file content gives a value set or a *ConfigError, never a panic.
func FuzzConfigFile(f *testing.F) {
	for _, s := range []string{"[server]\nendpoint = x\n", "overwrite =\n", "@include x\n", "# c\n;c\n[a:community]\nb=c", "x", "[]\n=\n"} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text string) {
		conf := filepath.Join(dir, "fuzz.conf")
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		err := ParseWith(newDumpFlags().fs, []string{"-c", conf}, Config{})
		var ce *ConfigError
		if err != nil && !errors.As(err, &ce) {
			t.Fatalf("%q: %T %v", text, err, err)
		}
	})
}
