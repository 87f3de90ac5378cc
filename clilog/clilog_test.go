package clilog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arangobackup/godump/cliflag"
	"github.com/spf13/pflag"
)

var testNow = time.Date(2026, 12, 3, 14, 0, 0, 123456789, time.UTC)

type testLog struct {
	*Logger
	out, err *bytes.Buffer
	notices  []string
}

func newEnv(out, errw *bytes.Buffer) Env {
	return Env{Stdout: out, Stderr: errw, Now: func() time.Time { return testNow },
		Start: testNow.Add(-987654321 * time.Microsecond), PID: 4242}
}

func setupErr(t *testing.T, env func(*Env), args ...string) (*testLog, error) {
	t.Helper()
	fs := pflag.NewFlagSet("godump", pflag.ContinueOnError)
	o := AddFlags(fs)
	if err := cliflag.Parse(fs, args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	tl := &testLog{out: &bytes.Buffer{}, err: &bytes.Buffer{}}
	e := newEnv(tl.out, tl.err)
	if env != nil {
		env(&e)
	}
	l, notices, err := o.Setup("godump", e)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = l.Close() })
	tl.Logger, tl.notices = l, notices
	return tl, nil
}

func setup(t *testing.T, args ...string) *testLog {
	t.Helper()
	tl, err := setupErr(t, nil, args...)
	if err != nil {
		t.Fatalf("Setup %q: %v", args, err)
	}
	return tl
}

func TestDefaultLine(t *testing.T) {
	l := setup(t)
	l.Info("connected", "endpoint", "tcp://127.0.0.1:8529", "collections", 3, "note", "two words")
	l.Debug("hidden")
	l.Topic(TopicRequests).Debug("GET /_api/version")
	want := "2026-12-03T14:00:00.123456Z [4242] INFO {general} connected endpoint=tcp://127.0.0.1:8529 collections=3 note=\"two words\"\n"
	if got := l.err.String(); got != want {
		t.Errorf("stderr\n got %q\nwant %q", got, want)
	}
	if l.out.Len() != 0 {
		t.Errorf("stdout got %q", l.out.String())
	}
	l.err.Reset()
	l.Topic("dump").Warn("careful")
	l.Error("failed", "err", errors.New("boom"))
	want = "2026-12-03T14:00:00.123456Z [4242] WARNING {dump} careful\n" +
		"2026-12-03T14:00:00.123456Z [4242] ERROR {general} failed err=boom\n"
	if got := l.err.String(); got != want {
		t.Errorf("stderr\n got %q\nwant %q", got, want)
	}
}

func TestRequestsDebugOnlyWhenAsked(t *testing.T) {
	ctx := context.Background()
	l := setup(t)
	req := l.Topic(TopicRequests)
	if req.Enabled(ctx, slog.LevelDebug) || req.Enabled(ctx, slog.LevelError) {
		t.Fatal("requests topic enabled by default (ArangoDB's default level for it is fatal)")
	}
	if n := testing.AllocsPerRun(100, func() { req.Debug("GET /_api/version") }); n != 0 {
		t.Errorf("a disabled request record costs %v allocations", n)
	}

	l = setup(t, "--log.level", "requests=debug")
	l.Topic(TopicRequests).Debug("GET /_api/version", "status", 200)
	l.Debug("request via attribute", "topic", "requests")
	l.Debug("general debug stays off")
	l.Topic("dump").Debug("dump debug stays off")
	l.Info("general info")
	got := l.err.String()
	for _, w := range []string{
		"DEBUG {requests} GET /_api/version status=200\n",
		"DEBUG {requests} request via attribute\n",
		"INFO {general} general info\n",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in\n%s", w, got)
		}
	}
	if strings.Contains(got, "stays off") || strings.Count(got, "\n") != 3 {
		t.Errorf("unexpected lines:\n%s", got)
	}
	if l.Topic("general").Enabled(ctx, slog.LevelDebug) {
		t.Error("general debug enabled by requests=debug")
	}
}

func TestLevels(t *testing.T) {
	type rec struct {
		topic string
		level slog.Level
		shown bool
	}
	cases := []struct {
		args []string
		recs []rec
	}{
		{nil, []rec{{"general", slog.LevelInfo, true}, {"general", slog.LevelDebug, false},
			{"httpclient", slog.LevelInfo, false}, {"httpclient", slog.LevelWarn, true},
			{"backup", slog.LevelInfo, true}, {"views", slog.LevelError, false}, {"views", LevelFatal, true}}},
		{[]string{"--log.level", "debug"}, []rec{{"general", slog.LevelDebug, true},
			{"general", LevelTrace, false}, {"dump", slog.LevelDebug, false},
			// a topic at "default" follows the general level but shows at most info
			{"backup", slog.LevelDebug, false}, {"backup", slog.LevelInfo, true},
			{"requests", slog.LevelDebug, false}}},
		{[]string{"--log.level", "warning"}, []rec{{"general", slog.LevelInfo, false},
			{"backup", slog.LevelInfo, false}, {"backup", slog.LevelWarn, true}, {"dump", slog.LevelInfo, true}}},
		{[]string{"--log.level", "all=warning", "--log.level", "dump=trace"}, []rec{
			{"general", slog.LevelInfo, false}, {"general", slog.LevelWarn, true},
			{"dump", LevelTrace, true}, {"requests", slog.LevelWarn, true}}},
		{[]string{"--log.level", "dump=debug", "--log.level", "dump=error"}, []rec{ // later wins
			{"dump", slog.LevelWarn, false}, {"dump", slog.LevelError, true}}},
		{[]string{"--log.level", "TRACE"}, []rec{{"general", LevelTrace, true}}},
		{[]string{"--log.level", " requests = default "}, []rec{{"requests", slog.LevelInfo, true},
			{"requests", slog.LevelDebug, false}}},
		{[]string{"--log", "debug"}, []rec{{"general", slog.LevelDebug, true}}},
		{[]string{"--log.output", "+;requests=debug"}, []rec{{"requests", slog.LevelDebug, true},
			{"general", slog.LevelDebug, false}}},
	}
	for _, c := range cases {
		l := setup(t, c.args...)
		for _, r := range c.recs {
			l.err.Reset()
			l.Topic(r.topic).Log(context.Background(), r.level, "m")
			if shown := l.err.Len() > 0; shown != r.shown {
				t.Errorf("%q: %s %s shown=%v, want %v", c.args, r.topic, levelName(r.level), shown, r.shown)
			}
		}
	}
}

func TestTimeFormats(t *testing.T) {
	local := testNow.Local().Format("2006-01-02T15:04:05")
	want := map[string]string{
		"timestamp":             "1796306400",
		"timestamp-millis":      "1796306400.123",
		"timestamp-micros":      "1796306400.123456",
		"uptime":                "987",
		"uptime-millis":         "987.654",
		"uptime-micros":         "987.654321",
		"utc-datestring":        "2026-12-03T14:00:00Z",
		"utc-datestring-millis": "2026-12-03T14:00:00.123Z",
		"utc-datestring-micros": "2026-12-03T14:00:00.123456Z",
		"local-datestring":      local,
	}
	if len(want) != len(TimeFormats) {
		t.Fatalf("%d formats tested, %d known", len(want), len(TimeFormats))
	}
	for _, f := range TimeFormats {
		l := setup(t, "--log.time-format", f)
		l.Info("x")
		if got, w := l.err.String(), want[f]+" [4242] INFO {general} x\n"; got != w {
			t.Errorf("%s: got %q, want %q", f, got, w)
		}
	}
	l := setup(t, "--log.use-microtime", "true")
	l.Info("x")
	if !strings.HasPrefix(l.err.String(), "1796306400.123456 ") {
		t.Errorf("--log.use-microtime: %q", l.err.String())
	}
	l = setup(t, "--log.use-local-time")
	l.Info("x")
	if !strings.HasPrefix(l.err.String(), local+" ") {
		t.Errorf("--log.use-local-time: %q", l.err.String())
	}
}

func TestFileOutputs(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.log")
	l := setup(t, "--log.output", "file://"+a, "--log.foreground-tty", "false")
	l.Info("to file")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l.Info("after close is dropped")
	checkFile(t, a, 0o600, "INFO {general} to file\n")
	if l.err.Len() != 0 {
		t.Errorf("stderr got %q", l.err.String())
	}

	// --log.file, appending, --log.file-mode, $PID.
	b := filepath.Join(dir, "b.$PID.log")
	for i := 0; i < 2; i++ {
		l = setup(t, "--log.file", b, "--log.file-mode", "0640")
		l.Warn("line")
		_ = l.Close()
	}
	checkFile(t, filepath.Join(dir, "b.4242.log"), 0o640, "WARNING {general} line\n")
	if data, _ := os.ReadFile(filepath.Join(dir, "b.4242.log")); strings.Count(string(data), "\n") != 2 {
		t.Errorf("not appended: %q", data)
	}

	// a topic with its own output leaves the general ones.
	r := filepath.Join(dir, "requests.log")
	l = setup(t, "--log.level", "requests=debug", "--log.output", "requests=file://"+r, "--log.output", "-")
	l.Topic(TopicRequests).Debug("GET /_api/version")
	l.Info("general")
	_ = l.Close()
	checkFile(t, r, 0o600, "DEBUG {requests} GET /_api/version\n")
	if got := l.out.String(); strings.Contains(got, "requests") || !strings.Contains(got, "{general} general") {
		t.Errorf("stdout got %q", got)
	}
	if l.err.Len() != 0 {
		t.Errorf("stderr got %q", l.err.String())
	}
}

func checkFile(t *testing.T, path string, mode os.FileMode, suffix string) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != mode {
		t.Errorf("%s: mode %v, want %v", path, st.Mode().Perm(), mode)
	}
	data, _ := os.ReadFile(path)
	if !strings.HasSuffix(string(data), suffix) {
		t.Errorf("%s: %q does not end in %q", path, data, suffix)
	}
}

func TestStdStreamsAndForegroundTTY(t *testing.T) {
	l := setup(t, "--log.output", "-")
	l.Info("x")
	if l.out.Len() == 0 || l.err.Len() != 0 {
		t.Errorf("--log.output -: stdout %q stderr %q", l.out, l.err)
	}
	l = setup(t, "--log.file", "+", "--log.output", "-")
	l.Info("x")
	if l.out.Len() == 0 || l.err.Len() == 0 {
		t.Errorf("+ and -: stdout %q stderr %q", l.out, l.err)
	}

	file := filepath.Join(t.TempDir(), "f.log")
	tty := func(e *Env) { e.StderrTTY = true }
	cases := []struct {
		env      func(*Env)
		args     []string
		onStderr bool
	}{
		{nil, []string{"--log.file", file}, false},
		{nil, []string{"--log.file", file, "--log.foreground-tty"}, true},
		{nil, []string{"--log.file", file, "--log.foreground-tty", "true"}, true},
		{tty, []string{"--log.file", file}, true}, // the real default: on when on a terminal
		{tty, []string{"--log.file", file, "--log.foreground-tty", "false"}, false},
	}
	for _, c := range cases {
		l, err := setupErr(t, c.env, c.args...)
		if err != nil {
			t.Fatal(err)
		}
		l.Info("x")
		if got := l.err.Len() > 0; got != c.onStderr {
			t.Errorf("%q: on stderr %v, want %v", c.args, got, c.onStderr)
		}
		_ = l.Close()
	}
}

func TestColor(t *testing.T) {
	tty := func(e *Env) { e.StderrTTY, e.StdoutTTY = true, true }
	l, err := setupErr(t, tty)
	if err != nil {
		t.Fatal(err)
	}
	l.Error("bad")
	l.Warn("meh")
	l.Info("ok")
	want := colorRed + "2026-12-03T14:00:00.123456Z [4242] ERROR {general} bad\n" + colorReset +
		colorYellow + "2026-12-03T14:00:00.123456Z [4242] WARNING {general} meh\n" + colorReset +
		colorReset + "2026-12-03T14:00:00.123456Z [4242] INFO {general} ok\n" + colorReset
	if got := l.err.String(); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	for _, c := range []struct {
		env  func(*Env)
		args []string
	}{{nil, nil}, {tty, []string{"--log.color", "false"}}} {
		l, err := setupErr(t, c.env, c.args...)
		if err != nil {
			t.Fatal(err)
		}
		l.Error("bad")
		if strings.Contains(l.err.String(), "\x1b") {
			t.Errorf("%q: coloured %q", c.args, l.err.String())
		}
	}
}

func TestJSON(t *testing.T) {
	l := setup(t, "--log.use-json-format", "--log.hostname", "h1", "--log.prefix", "-->")
	l.Topic("restore").With("db", "shop").Warn("slow \"x\"", "n", 3, "ok", true, "d", 1500*time.Millisecond,
		slog.Group("g", "a", 1))
	var m map[string]any
	if err := json.Unmarshal(l.err.Bytes(), &m); err != nil {
		t.Fatalf("%v: %q", err, l.err.String())
	}
	want := map[string]any{"time": "2026-12-03T14:00:00.123456Z", "prefix": "-->", "pid": 4242.0,
		"level": "WARNING", "topic": "restore", "hostname": "h1", "db": "shop", "n": 3.0, "ok": true,
		"d": "1.5s", "g.a": 1.0, "message": `slow "x"`}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %#v, want %#v", k, m[k], v)
		}
	}
	if len(m) != len(want) {
		t.Errorf("fields %v", m)
	}
	if !strings.HasPrefix(l.err.String(), `{"time":"2026`) || !strings.HasSuffix(l.err.String(), `"message":"slow \"x\""}`+"\n") {
		t.Errorf("field order: %s", l.err.String())
	}

	l = setup(t, "--log.use-json-format", "true", "--log.time-format", "timestamp-millis", "--log.process", "false")
	l.Info("x")
	if got, want := l.err.String(), `{"time":1796306400.123,"level":"INFO","topic":"general","message":"x"}`+"\n"; got != want {
		t.Errorf("got %s want %s", got, want)
	}
}

func TestTextDetails(t *testing.T) {
	l := setup(t, "--log.hostname", "h1", "--log.prefix", "-->", "--log.process", "false")
	l.Info("a\nb\x07 犬", "k", "v\tw")
	if got, want := l.err.String(), `h1 2026-12-03T14:00:00.123456Z --> INFO {general} a\nb\x07 犬 k="v\tw"`+"\n"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	l = setup(t, "--log.escape-control-chars", "false", "--log.escape-unicode-chars", "true")
	l.Info("a\nb 犬😀")
	if got, want := l.err.String(), `INFO {general} a b \u72AC\uD83D\uDE00`+"\n"; !strings.HasSuffix(got, want) {
		t.Errorf("got %q, want suffix %q", got, want)
	}
	l = setup(t, "--log.max-entry-length", "10") // at least 256, as in ArangoDB
	l.Info(strings.Repeat("x", 400))
	if got := strings.TrimSuffix(l.err.String(), "\n"); len(got) != 259 || !strings.HasSuffix(got, "x...") {
		t.Errorf("truncated to %d: %q", len(got), got)
	}
	l = setup(t, "--log.line-number")
	l.Info("here")
	if got := l.err.String(); !strings.Contains(got, " INFO [clilog.TestTextDetails@clilog_test.go:") {
		t.Errorf("no source location: %q", got)
	}
}

func TestBadValues(t *testing.T) {
	cases := []struct {
		args   []string
		option string
	}{
		{[]string{"--log.level", "loud"}, "log.level"},
		{[]string{"--log.level", "nosuchtopic=debug"}, "log.level"},
		{[]string{"--log.level", "requests=loud"}, "log.level"},
		{[]string{"--log.level", "a=b=c"}, "log.level"},
		{[]string{"--log.level", "default"}, "log.level"},
		{[]string{"--log", "loud"}, "log"},
		{[]string{"--log.time-format", "iso"}, "log.time-format"},
		{[]string{"--log.time-format", "uptime", "--log.use-microtime"}, "log.time-format"},
		{[]string{"--log.output", "http://x"}, "log.output"},
		{[]string{"--log.output", "file://"}, "log.output"},
		{[]string{"--log.output", "nosuchtopic=+"}, "log.output"},
		{[]string{"--log.output", "+;requests"}, "log.output"},
		{[]string{"--log.output", "+;requests=loud"}, "log.output"},
		{[]string{"--log.output", "+;x=debug"}, "log.output"},
		{[]string{"--log.output", "+;a;b"}, "log.output"},
		{[]string{"--log.output", "file:///nonexistent-dir/x.log"}, "log.output"},
		{[]string{"--log.file", "/nonexistent-dir/x.log"}, "log.file"},
		{[]string{"--log.file-mode", "rw"}, "log.file-mode"},
		{[]string{"--log.file-group", "no-such-group-here"}, "log.file-group"},
	}
	for _, c := range cases {
		_, err := setupErr(t, nil, c.args...)
		var oe *OptionError
		if !errors.As(err, &oe) {
			t.Errorf("%q: error %v, want an OptionError", c.args, err)
			continue
		}
		if oe.Option != c.option || !strings.HasPrefix(err.Error(), "--"+c.option+" \"") {
			t.Errorf("%q: %v, want it to name --%s", c.args, err, c.option)
		}
	}
}

func TestNotices(t *testing.T) {
	l := setup(t, "--log.level", "debug", "--log.color", "false", "--log.file", filepath.Join(t.TempDir(), "x"))
	if len(l.notices) != 0 {
		t.Errorf("notices %q", l.notices)
	}
	l = setup(t, "--log.thread", "false", "--log.ids", "false", "--log.force-direct", "--log.structured-param", "url",
		"--log.max-queued-entries", "5", "--log.performance", "--log.request-parameters", "false",
		"--log.role", "--log.thread-name")
	want := []string{
		"--log.force-direct has no effect in godump",
		"--log.ids has no effect in godump",
		"--log.max-queued-entries has no effect in godump",
		"--log.performance has no effect in godump",
		"--log.request-parameters has no effect in godump",
		"--log.role has no effect in godump",
		"--log.structured-param has no effect in godump",
		"--log.thread has no effect in godump",
		"--log.thread-name has no effect in godump",
	}
	if strings.Join(l.notices, "\n") != strings.Join(want, "\n") {
		t.Errorf("notices\n%s\nwant\n%s", strings.Join(l.notices, "\n"), strings.Join(want, "\n"))
	}
}

// realOptions is the log.* table of /work/shared/reference/cli-compat.md: ArangoDB 3.12's
// option, type, default and whether it is hidden.
var realOptions = []struct {
	name, typ, def string
	hidden         bool
}{
	{"log", "stringArray", "[info]", true},
	{"log.color", "bool", "true", false},
	{"log.escape-control-chars", "bool", "true", false},
	{"log.escape-unicode-chars", "bool", "false", false},
	{"log.file", "string", "", true},
	{"log.file-group", "string", "", false},
	{"log.file-mode", "string", "", false},
	{"log.force-direct", "bool", "false", true},
	{"log.foreground-tty", "bool", "false", true},
	{"log.hostname", "string", "", false},
	{"log.ids", "bool", "true", false},
	{"log.level", "stringArray", "[info]", false},
	{"log.line-number", "bool", "false", true},
	{"log.max-entry-length", "uint32", "134217728", false},
	{"log.max-queued-entries", "uint32", "16384", true},
	{"log.output", "stringArray", "[]", false},
	{"log.performance", "bool", "false", true},
	{"log.prefix", "string", "", true},
	{"log.process", "bool", "true", true},
	{"log.request-parameters", "bool", "true", true},
	{"log.role", "bool", "false", false},
	{"log.shorten-filenames", "bool", "true", true},
	{"log.structured-param", "stringArray", "[]", false},
	{"log.thread", "bool", "true", true},
	{"log.thread-name", "bool", "false", true},
	{"log.time-format", "string", "utc-datestring-micros", false},
	{"log.use-json-format", "bool", "false", false},
	{"log.use-local-time", "bool", "false", true},
	{"log.use-microtime", "bool", "false", true},
}

func TestFlagsMatchRealTools(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	AddFlags(fs)
	n := 0
	fs.VisitAll(func(f *pflag.Flag) { n++ })
	if n != 29 || len(realOptions) != 29 {
		t.Fatalf("%d flags registered, %d in the table; want 29", n, len(realOptions))
	}
	for _, r := range realOptions {
		f := fs.Lookup(r.name)
		if f == nil {
			t.Errorf("--%s missing", r.name)
			continue
		}
		if f.Value.Type() != r.typ || f.DefValue != r.def || f.Hidden != r.hidden {
			t.Errorf("--%s: type %s default %q hidden %v; want %s %q %v",
				r.name, f.Value.Type(), f.DefValue, f.Hidden, r.typ, r.def, r.hidden)
		}
	}
	// Cross-check against the reference table when the shared checkout is there.
	doc, err := os.ReadFile("/work/shared/reference/cli-compat.md")
	if err != nil {
		t.Skip("cli-compat.md not available")
	}
	_, section, _ := strings.Cut(string(doc), "### log.* (identical in all three tools; 29 options)")
	section, _, _ = strings.Cut(section, "\n## ")
	for _, r := range realOptions {
		row := ""
		for _, line := range strings.Split(section, "\n") {
			if strings.HasPrefix(line, "| `--"+r.name+"` |") {
				row = line
			}
		}
		if row == "" {
			t.Errorf("--%s not in cli-compat.md", r.name)
			continue
		}
		cells := strings.Split(row, "|")
		typ, def := strings.TrimSpace(cells[2]), strings.Trim(strings.TrimSpace(cells[3]), "`")
		if strings.Contains(typ, "hidden") != r.hidden {
			t.Errorf("--%s: cli-compat.md says %q, we hidden=%v", r.name, typ, r.hidden)
		}
		docDef := strings.ReplaceAll(strings.Trim(def, `"`), `"`, "")
		if docDef != r.def {
			t.Errorf("--%s: cli-compat.md default %s, ours %q", r.name, def, r.def)
		}
	}
}

func TestWithAndConcurrency(t *testing.T) {
	l := setup(t, "--log.level", "requests=debug")
	req := l.With("topic", "requests", "conn", 1) // binds the topic like Topic does
	grp := l.Topic("dump").WithGroup("job").With("coll", "users")
	done := make(chan bool)
	for i := 0; i < 8; i++ {
		go func(i int) {
			for j := 0; j < 50; j++ {
				req.Debug("GET", "i", i)
				grp.Info("chunk", "n", j)
			}
			done <- true
		}(i)
	}
	for i := 0; i < 8; i++ {
		<-done
	}
	got := l.err.String()
	if n := strings.Count(got, "DEBUG {requests} GET conn=1 i="); n != 400 {
		t.Errorf("%d request lines", n)
	}
	if n := strings.Count(got, "INFO {dump} chunk job.coll=users job.n="); n != 400 {
		t.Errorf("%d dump lines", n)
	}
}
