// Package clilog implements the --log.* options of arangodump, arangorestore and arangobackup
// on top of log/slog: the same 29 option names and defaults, ArangoDB's level syntax with
// topics (`--log.level requests=debug`), its output definitions (`-`, `+`, `file://PATH`,
// `syslog://FACILITY`, per topic and with per-output levels), time formats and line layout.
//
// It is not a logging framework: it builds one *slog.Logger per topic from the options and
// prints nothing itself. Options it parses but cannot honour (log ids, thread ids, the
// logging thread's queue...) come back from Setup as notices for the command to print.
//
// The handler writes what it is given: redacting passwords, tokens and Authorization
// headers is the caller's job, before a value reaches a log call.
package clilog

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/arangobackup/godump/cliflag"
	"github.com/spf13/pflag"
)

// Options holds the values of the --log.* options.
type Options struct {
	fs *pflag.FlagSet

	Levels           []string // --log.level
	OldLevels        []string // --log (deprecated spelling of --log.level)
	Outputs          []string // --log.output
	StructuredParams []string // --log.structured-param

	File, FileGroup, FileMode, Hostname, Prefix, TimeFormat string

	Color, EscapeControlChars, EscapeUnicodeChars, ForceDirect, ForegroundTTY, IDs,
	LineNumber, Performance, Process, RequestParameters, Role, ShortenFilenames, Thread,
	ThreadName, UseJSONFormat, UseLocalTime, UseMicrotime bool

	MaxEntryLength, MaxQueuedEntries uint32
}

// noEffect lists the options that are accepted for compatibility and change nothing here.
var noEffect = []string{
	"log.force-direct",       // no logging thread: records are written by the caller
	"log.ids",                // records have no ArangoDB log ids
	"log.max-queued-entries", // no queue
	"log.performance",        // its topic "performance" no longer exists in 3.12 either
	"log.request-parameters", // request records always carry the path, never a body
	"log.role",               // a client tool has no server role
	"log.structured-param",   // records carry their attributes as key=value already
	"log.thread",             // Go has no stable thread ids
	"log.thread-name",        // nor thread names
}

// AddFlags registers the 29 --log.* options on fs with ArangoDB 3.12's names, defaults and
// visibility (lib/Logger/LoggerFeature.cpp).
func AddFlags(fs *pflag.FlagSet) *Options {
	o := &Options{fs: fs}
	hidden := func(name string) {
		_ = fs.MarkHidden(name)
	}

	fs.StringArrayVar(&o.OldLevels, "log", []string{"info"}, "deprecated: use --log.level")
	hidden("log")
	cliflag.BoolVar(fs, &o.Color, "log.color", true, "use colors for TTY logging")
	cliflag.BoolVar(fs, &o.EscapeControlChars, "log.escape-control-chars", true,
		"escape control characters in log messages (false: replace them with a space)")
	cliflag.BoolVar(fs, &o.EscapeUnicodeChars, "log.escape-unicode-chars", false,
		"escape Unicode characters in log messages as \\uXXXX")
	fs.StringVar(&o.File, "log.file", "", "shortcut for --log.output file://<filename> (- is stdout, + is stderr)")
	hidden("log.file")
	fs.StringVar(&o.FileGroup, "log.file-group", "",
		"the group to use for a new log file (name or number; the user must be a member)")
	fs.StringVar(&o.FileMode, "log.file-mode", "",
		"the mode to use for a new log file, octal (default 0600 here; the umask is applied as well)")
	cliflag.BoolVar(fs, &o.ForceDirect, "log.force-direct", false, "do not start a separate thread for logging (no effect)")
	hidden("log.force-direct")
	cliflag.BoolVar(fs, &o.ForegroundTTY, "log.foreground-tty", false,
		"also log to the terminal (stderr) when logging to a file (default: true when stderr is a terminal)")
	hidden("log.foreground-tty")
	fs.StringVar(&o.Hostname, "log.hostname", "",
		`the hostname to use in log messages (empty for none, "auto" to determine it)`)
	cliflag.BoolVar(fs, &o.IDs, "log.ids", true, "log unique message IDs (no effect)")
	fs.StringArrayVar(&o.Levels, "log.level", []string{"info"},
		"the topic-specific log level: LEVEL for the general topic or TOPIC=LEVEL (repeatable); "+
			"levels fatal, error, warning, info, debug, trace; topic all sets every topic; "+
			"requests=debug logs each HTTP request")
	cliflag.BoolVar(fs, &o.LineNumber, "log.line-number", false,
		"include the function name, file name and line number of the code that logs: [func@file.go:123]")
	hidden("log.line-number")
	fs.Uint32Var(&o.MaxEntryLength, "log.max-entry-length", 134217728,
		"the maximum length of a log entry in bytes (longer ones are cut and end in ...)")
	fs.Uint32Var(&o.MaxQueuedEntries, "log.max-queued-entries", 16384,
		"upper limit of log entries queued for a background thread (no effect)")
	hidden("log.max-queued-entries")
	fs.StringArrayVar(&o.Outputs, "log.output", nil,
		"log destination: - stdout, + stderr, file://PATH, syslog://FACILITY[/NAME]; "+
			"TOPIC=DEST for one topic, DEST;TOPIC=LEVEL,... for levels of that output "+
			"($PID is replaced by the process id; repeatable; default: stderr)")
	cliflag.BoolVar(fs, &o.Performance, "log.performance", false,
		"deprecated: shortcut for --log.level performance=trace (no effect)")
	hidden("log.performance")
	fs.StringVar(&o.Prefix, "log.prefix", "", "prefix log messages with this string")
	hidden("log.prefix")
	cliflag.BoolVar(fs, &o.Process, "log.process", true, "show the process identifier (PID) in log messages")
	hidden("log.process")
	cliflag.BoolVar(fs, &o.RequestParameters, "log.request-parameters", true,
		"include full URLs and HTTP request parameters in trace logs (no effect)")
	hidden("log.request-parameters")
	cliflag.BoolVar(fs, &o.Role, "log.role", false, "log the server role (no effect)")
	cliflag.BoolVar(fs, &o.ShortenFilenames, "log.shorten-filenames", true,
		"shorten file names in log output (with --log.line-number)")
	hidden("log.shorten-filenames")
	fs.StringArrayVar(&o.StructuredParams, "log.structured-param", nil,
		"toggle a structured log parameter, PARAM[=BOOL] (no effect)")
	cliflag.BoolVar(fs, &o.Thread, "log.thread", true, "show the thread identifier in log messages (no effect)")
	hidden("log.thread")
	cliflag.BoolVar(fs, &o.ThreadName, "log.thread-name", false, "show the thread name in log messages (no effect)")
	hidden("log.thread-name")
	fs.StringVar(&o.TimeFormat, "log.time-format", DefaultTimeFormat,
		"the time format to use in logs: "+strings.Join(TimeFormats, ", "))
	cliflag.BoolVar(fs, &o.UseJSONFormat, "log.use-json-format", false, "use JSON as output format for logging")
	cliflag.BoolVar(fs, &o.UseLocalTime, "log.use-local-time", false,
		"deprecated: use --log.time-format local-datestring")
	hidden("log.use-local-time")
	cliflag.BoolVar(fs, &o.UseMicrotime, "log.use-microtime", false,
		"deprecated: use --log.time-format timestamp-micros")
	hidden("log.use-microtime")
	return o
}

// Env is what Setup needs from the process. Tests set Now, Start and PID.
type Env struct {
	Stdout, Stderr       io.Writer
	StdoutTTY, StderrTTY bool             // whether each is a terminal: colours, --log.foreground-tty's default
	Now                  func() time.Time // nil: time.Now
	Start                time.Time        // zero of the uptime formats; zero value: when Setup runs
	PID                  int              // 0: os.Getpid()
}

// OptionError is a bad --log.* value; commands map it to their "bad option" exit code.
type OptionError struct {
	Option, Value, Reason string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("--%s %q: %s", e.Option, e.Value, e.Reason)
}

func (o *Options) changed(name string) bool {
	return o.fs != nil && cliflag.Changed(o.fs, name)
}

// NamesOutputs reports whether --log.file or --log.output says where log lines go (on the
// command line or in a configuration file); without them they go to stderr.
func (o *Options) NamesOutputs() bool { return o.changed("log.file") || o.changed("log.output") }

// outputSpec is one output definition and the option it came from.
type outputSpec struct{ option, def string }

// Setup builds the loggers the options describe. prog names the tool in notices and is the
// syslog identifier. The returned notices name each given option that has no effect; the
// caller prints them. Close the Logger at exit to close its files.
func (o *Options) Setup(prog string, env Env) (*Logger, []string, error) {
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Start.IsZero() {
		env.Start = env.Now()
	}
	if env.PID == 0 {
		env.PID = os.Getpid()
	}
	if env.Stdout == nil {
		env.Stdout = io.Discard
	}
	if env.Stderr == nil {
		env.Stderr = io.Discard
	}

	var notices []string
	for _, name := range noEffect {
		if o.changed(name) {
			notices = append(notices, fmt.Sprintf("--%s has no effect in %s", name, prog))
		}
	}

	f := format{
		json:          o.UseJSONFormat,
		timeFormat:    o.TimeFormat,
		escapeControl: o.EscapeControlChars,
		escapeUnicode: o.EscapeUnicodeChars,
		prefix:        o.Prefix,
		process:       o.Process,
		lineNumber:    o.LineNumber,
		shortenFiles:  o.ShortenFilenames,
		maxLen:        max(256, int(o.MaxEntryLength)),
		pid:           env.PID,
		now:           env.Now,
		start:         env.Start,
	}
	if !validTimeFormat(o.TimeFormat) {
		return nil, nil, &OptionError{"log.time-format", o.TimeFormat,
			"unknown time format (use " + strings.Join(TimeFormats, ", ") + ")"}
	}
	if o.changed("log.time-format") && (o.changed("log.use-microtime") || o.changed("log.use-local-time")) {
		return nil, nil, &OptionError{"log.time-format", o.TimeFormat,
			"cannot combine --log.time-format with either --log.use-microtime or --log.use-local-time"}
	}
	if o.changed("log.use-local-time") && o.UseLocalTime {
		f.timeFormat = "local-datestring"
	} else if o.changed("log.use-microtime") && o.UseMicrotime {
		f.timeFormat = "timestamp-micros"
	}
	if o.Hostname == "auto" {
		h, err := os.Hostname()
		if err != nil {
			return nil, nil, &OptionError{"log.hostname", o.Hostname, "cannot determine the hostname: " + err.Error()}
		}
		f.hostname = h
	} else {
		f.hostname = o.Hostname
	}

	lv := newLevels()
	for _, spec := range o.levelSpecs() {
		if err := lv.apply(spec.option, spec.def); err != nil {
			return nil, nil, err
		}
	}

	fileMode := os.FileMode(0o600)
	if o.FileMode != "" {
		m, err := strconv.ParseUint(o.FileMode, 8, 32)
		if err != nil {
			return nil, nil, &OptionError{"log.file-mode", o.FileMode, "expecting an octal number, e.g. 0640"}
		}
		fileMode = os.FileMode(m) & os.ModePerm
	}
	fileGID := -1
	if o.FileGroup != "" {
		g, err := lookupGroup(o.FileGroup)
		if err != nil {
			return nil, nil, &OptionError{"log.file-group", o.FileGroup, err.Error()}
		}
		fileGID = g
	}

	outs := o.outputSpecs(env.PID)
	if len(outs) == 0 {
		// The real tools log to stdout because their shipped configuration files say
		// `[log] file = -`; here log lines go to stderr and the closing summary to stdout.
		outs = append(outs, outputSpec{"log.output", "+"})
	}
	foreground := env.StderrTTY
	if o.changed("log.foreground-tty") {
		foreground = o.ForegroundTTY
	}
	if foreground {
		logsToStd := false
		for _, s := range outs {
			logsToStd = logsToStd || s.def == "+" || s.def == "-"
		}
		if !logsToStd {
			// LoggerFeature::prepare adds "-" (stdout); our terminal stream is stderr.
			outs = append(outs, outputSpec{"log.foreground-tty", "+"})
		}
	}

	c := &core{format: f, useColor: o.Color}
	b := builder{core: c, env: env, levels: lv, fileMode: fileMode, fileGID: fileGID, prog: prog}
	for _, s := range outs {
		if err := b.add(s); err != nil {
			c.close()
			return nil, nil, err
		}
	}
	b.finish()
	return newLogger(c), notices, nil
}

// levelSpecs are --log and --log.level in the order ArangoDB applies them. Both fill one
// vector whose default is ["info"]; given options replace the default.
func (o *Options) levelSpecs() []outputSpec {
	var specs []outputSpec
	if o.changed("log") {
		for _, l := range o.OldLevels {
			specs = append(specs, outputSpec{"log", l})
		}
	}
	if o.changed("log.level") || !o.changed("log") {
		for _, l := range o.Levels {
			specs = append(specs, outputSpec{"log.level", l})
		}
	}
	return specs
}

// outputSpecs are the --log.output definitions, then --log.file's (LoggerFeature::validateOptions),
// with $PID replaced.
func (o *Options) outputSpecs(pid int) []outputSpec {
	var specs []outputSpec
	for _, d := range o.Outputs {
		specs = append(specs, outputSpec{"log.output", d})
	}
	if o.changed("log.file") {
		d := o.File
		if d != "+" && d != "-" {
			d = "file://" + d
		}
		specs = append(specs, outputSpec{"log.file", d})
	}
	p := strconv.Itoa(pid)
	for i := range specs {
		specs[i].def = strings.ReplaceAll(specs[i].def, "$PID", p)
		specs[i].def = strings.ReplaceAll(specs[i].def, "@PID@", p)
	}
	return specs
}

func lookupGroup(name string) (int, error) {
	var g *user.Group
	var err error
	if _, nerr := strconv.Atoi(name); nerr == nil {
		g, err = user.LookupGroupId(name)
	} else {
		g, err = user.LookupGroup(name)
	}
	if err != nil {
		return 0, fmt.Errorf("unknown group: %w", err)
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		return 0, fmt.Errorf("group %q has no numeric id %q", name, g.Gid)
	}
	return gid, nil
}

// levels is the per-topic level table --log.level builds (Logger::setLogLevel).
type levels struct {
	general slog.Level   // Logger::_level, the level of topics at "default"
	topic   []slog.Level // per topic; levelDefault follows general
}

func newLevels() *levels {
	l := &levels{general: slog.LevelInfo, topic: make([]slog.Level, len(topics))}
	for i, t := range topics {
		l.topic[i] = t.level
	}
	return l
}

// apply reads one --log.level value: LEVEL, TOPIC=LEVEL or all=LEVEL.
func (l *levels) apply(option, spec string) error {
	v := strings.Split(strings.ToLower(spec), "=")
	if len(v) > 2 {
		return &OptionError{option, spec, "expecting LEVEL or TOPIC=LEVEL"}
	}
	name := strings.TrimSpace(v[0])
	if len(v) == 1 {
		lvl, ok := parseLevel(name, false)
		if !ok {
			return &OptionError{option, spec, "unknown log level (use fatal, error, warning, info, debug or trace)"}
		}
		l.general = lvl
		l.topic[generalTopic] = lvl
		return nil
	}
	lvl, ok := parseLevel(strings.TrimSpace(v[1]), true)
	if !ok {
		return &OptionError{option, spec, "unknown log level (use fatal, error, warning, info, debug, trace or default)"}
	}
	return setTopicLevel(l.topic, option, spec, name, lvl)
}

func setTopicLevel(table []slog.Level, option, spec, name string, lvl slog.Level) error {
	if name == "all" {
		for i := range table {
			table[i] = lvl
		}
		return nil
	}
	i, ok := topicIndex[name]
	if !ok {
		return &OptionError{option, spec, fmt.Sprintf("unknown log topic %q (use all or one of %s)",
			name, strings.Join(Topics(), ", "))}
	}
	table[i] = lvl
	return nil
}
