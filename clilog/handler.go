package clilog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Logger is the set of loggers the --log.* options describe. The embedded *slog.Logger logs
// to topic "general", or to the topic a record names with a "topic" attribute
// (`log.Debug("GET /_api/version", "topic", "requests")`). Topic returns a logger bound to one
// topic, whose Enabled is a single comparison: prefer it on hot paths.
type Logger struct {
	*slog.Logger
	c      *core
	topics []*slog.Logger
}

func newLogger(c *core) *Logger {
	l := &Logger{Logger: slog.New(&handler{c: c, topic: generalTopic}), c: c}
	l.topics = make([]*slog.Logger, len(topics))
	for i := range topics {
		l.topics[i] = slog.New(&handler{c: c, topic: i, bound: true})
	}
	return l
}

// Topic returns the logger of the named topic (TopicRequests, TopicGeneral or any ArangoDB
// topic name). An unknown name logs to "general": a typo must not stop a backup.
func (l *Logger) Topic(name string) *slog.Logger {
	if i, ok := topicIndex[name]; ok {
		return l.topics[i]
	}
	return l.topics[generalTopic]
}

// Close closes the log files and the syslog connection. Later records to them are dropped.
func (l *Logger) Close() error { return l.c.close() }

// syslogOutput is a connection to syslog.
type syslogOutput interface {
	write(l slog.Level, msg string) error
	Close() error
}

// sink is one output: a stream, a file or syslog.
type sink struct {
	mu     sync.Mutex
	w      io.Writer
	closer io.Closer
	syslog syslogOutput
	color  bool
	closed bool
	level  []slog.Level // this output's per-topic levels (the table plus its ";topic=level" part)
	thr    []slog.Level // what it shows per topic: its own level and the topic's gate
}

// format is the record layout the options chose.
type format struct {
	json                         bool
	timeFormat                   string
	escapeControl, escapeUnicode bool
	hostname, prefix             string
	process                      bool
	lineNumber, shortenFiles     bool
	maxLen                       int
	pid                          int
	now                          func() time.Time
	start                        time.Time
}

type core struct {
	format
	useColor  bool
	sinks     []*sink
	routes    [][]*sink    // per topic: its own outputs, else the general ones
	min       []slog.Level // per topic: the lowest level any of its outputs shows
	minAll    slog.Level
	closeOnce sync.Once
	closeErr  error
}

func (c *core) close() error {
	c.closeOnce.Do(func() {
		for _, s := range c.sinks {
			s.mu.Lock()
			s.closed = true
			var err error
			if s.closer != nil {
				err = s.closer.Close()
			}
			if s.syslog != nil {
				err = s.syslog.Close()
			}
			c.closeErr = errors.Join(c.closeErr, err)
			s.mu.Unlock()
		}
	})
	return c.closeErr
}

// builder turns output definitions into sinks (Appenders::addAppender).
type builder struct {
	core     *core
	env      Env
	levels   *levels
	fileMode os.FileMode
	fileGID  int
	prog     string

	byKey   map[string]*sink
	perTop  map[int][]*sink
	general []*sink
}

func (b *builder) add(s outputSpec) error {
	bad := func(reason string) error { return &OptionError{s.option, s.def, reason} }
	def := s.def
	parts := strings.Split(def, ";")
	if len(parts) > 2 {
		return bad("expecting DEST, TOPIC=DEST or DEST;TOPIC=LEVEL,...")
	}
	def = parts[0]
	overrides := map[int]slog.Level{}
	if len(parts) == 2 {
		table := make([]slog.Level, len(topics))
		for _, p := range strings.Split(parts[1], ",") {
			kv := strings.Split(p, "=")
			if len(kv) != 2 {
				return bad(fmt.Sprintf("strange level definition %q (use TOPIC=LEVEL)", p))
			}
			lvl, ok := parseLevel(strings.ToLower(kv[1]), true)
			if !ok {
				return bad(fmt.Sprintf("unknown log level %q", kv[1]))
			}
			for i := range table {
				table[i] = levelOff
			}
			if err := setTopicLevel(table, s.option, s.def, strings.ToLower(kv[0]), lvl); err != nil {
				return err
			}
			for i, l := range table {
				if l != levelOff {
					overrides[i] = l
				}
			}
		}
	}
	topic := -1
	out := def
	if v := strings.Split(def, "="); len(v) == 2 {
		name := strings.ToLower(v[0])
		if name != "" {
			i, ok := topicIndex[name]
			if !ok {
				return bad(fmt.Sprintf("unknown log topic %q", name))
			}
			topic, out = i, v[1]
		}
	} else if len(v) > 2 {
		return bad("expecting DEST or TOPIC=DEST")
	}

	var key string
	switch {
	case out == "+" || out == "-":
		key = out
	case strings.HasPrefix(out, "syslog://"):
		key = "syslog://"
		if p := strings.Split(out[len("syslog://"):], "/"); len(p) > 2 || p[0] == "" {
			return bad("expecting syslog://FACILITY or syslog://FACILITY/NAME")
		}
	case strings.HasPrefix(out, "file://"):
		key = out
		if out == "file://" {
			return bad("no file name after file://")
		}
	default:
		return bad("unknown output definition (use - for stdout, + for stderr, file://PATH or syslog://FACILITY)")
	}

	if b.byKey == nil {
		b.byKey, b.perTop = map[string]*sink{}, map[int][]*sink{}
	}
	sk := b.byKey[key]
	if sk == nil {
		var err error
		if sk, err = b.open(out); err != nil {
			return bad(err.Error())
		}
		sk.level = append([]slog.Level(nil), b.levels.topic...)
		for i, l := range overrides {
			sk.level[i] = l
		}
		b.byKey[key] = sk
		b.core.sinks = append(b.core.sinks, sk)
	}
	if topic >= 0 {
		b.perTop[topic] = appendOnce(b.perTop[topic], sk)
	} else {
		b.general = appendOnce(b.general, sk)
	}
	return nil
}

func appendOnce(list []*sink, s *sink) []*sink {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func (b *builder) open(out string) (*sink, error) {
	switch {
	case out == "+":
		return &sink{w: b.env.Stderr, color: b.core.useColor && b.env.StderrTTY}, nil
	case out == "-":
		return &sink{w: b.env.Stdout, color: b.core.useColor && b.env.StdoutTTY}, nil
	case strings.HasPrefix(out, "syslog://"):
		p := strings.Split(out[len("syslog://"):], "/")
		ident := b.prog
		if len(p) == 2 && p[1] != "" {
			ident = p[1]
		}
		w, err := openSyslog(p[0], ident)
		if err != nil {
			return nil, err
		}
		return &sink{syslog: w}, nil
	}
	path := out[len("file://"):]
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, b.fileMode)
	if err != nil {
		return nil, err
	}
	if b.fileGID >= 0 {
		_ = f.Chown(-1, b.fileGID) // as LogAppenderFileFactory: a failed chown is not an error
	}
	return &sink{w: f, closer: f}, nil
}

// finish computes each topic's routes and thresholds (Logger::calculateEffectiveLogLevels).
func (b *builder) finish() {
	c := b.core
	n := len(topics)
	c.routes = make([][]*sink, n)
	c.min = make([]slog.Level, n)
	c.minAll = levelOff
	for _, s := range c.sinks {
		s.thr = make([]slog.Level, n)
	}
	for i := 0; i < n; i++ {
		gate := levelDefault
		for _, s := range c.sinks {
			gate = min(gate, s.level[i])
		}
		if gate == levelDefault {
			gate = b.levels.general
		}
		for _, s := range c.sinks {
			own := s.level[i]
			if own == levelDefault {
				own = slog.LevelInfo
			}
			s.thr[i] = max(gate, own)
		}
		c.routes[i] = b.perTop[i]
		if len(c.routes[i]) == 0 {
			c.routes[i] = b.general
		}
		c.min[i] = levelOff
		for _, s := range c.routes[i] {
			c.min[i] = min(c.min[i], s.thr[i])
		}
		c.minAll = min(c.minAll, c.min[i])
	}
}

// handler is the slog.Handler of one topic.
type handler struct {
	c     *core
	topic int
	bound bool        // the topic is fixed: records' "topic" attributes do not move them
	attrs []slog.Attr // from WithAttrs, keys already prefixed with their groups
	group string      // "a.b." after WithGroup("a").WithGroup("b")
}

func (h *handler) Enabled(_ context.Context, l slog.Level) bool {
	if h.bound {
		return l >= h.c.min[h.topic]
	}
	return l >= h.c.minAll
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append([]slog.Attr(nil), h.attrs...)
	for _, a := range as {
		if i, ok := topicAttr(a); ok && h.group == "" {
			n.topic, n.bound = i, true
			continue
		}
		a.Key = h.group + a.Key
		n.attrs = append(n.attrs, a)
	}
	return &n
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	n := *h
	n.group = h.group + name + "."
	return &n
}

func topicAttr(a slog.Attr) (int, bool) {
	if a.Key != "topic" || a.Value.Kind() != slog.KindString {
		return 0, false
	}
	i, ok := topicIndex[a.Value.String()]
	return i, ok
}

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	topic := h.topic
	attrs := h.attrs[:len(h.attrs):len(h.attrs)] // appending must not write into the shared array
	r.Attrs(func(a slog.Attr) bool {
		if i, ok := topicAttr(a); ok && h.group == "" {
			// the line shows its topic in {braces}: not again as an attribute
			if !h.bound {
				topic = i
			}
			return true
		}
		if a.Equal(slog.Attr{}) {
			return true
		}
		a.Key = h.group + a.Key
		attrs = append(attrs, a)
		return true
	})
	c := h.c
	if r.Level < c.min[topic] {
		return nil
	}
	line, offset := c.render(r, topic, attrs)
	var errs error
	for _, s := range c.routes[topic] {
		if r.Level < s.thr[topic] {
			continue
		}
		errs = errors.Join(errs, s.write(r.Level, line, offset))
	}
	return errs
}

const (
	colorRed    = "\x1b[31m"
	colorYellow = "\x1b[33m"
	colorReset  = "\x1b[0m"
)

// write outputs one line. On a terminal with --log.color the whole line is coloured by level,
// as LogAppenderStdStream::writeLogMessage does.
func (s *sink) write(l slog.Level, line []byte, offset int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	if s.syslog != nil {
		return s.syslog.write(l, string(line[offset:]))
	}
	if !s.color {
		_, err := s.w.Write(append(line, '\n'))
		return err
	}
	col := colorReset
	switch {
	case l >= slog.LevelError:
		col = colorRed
	case l >= slog.LevelWarn:
		col = colorYellow
	}
	b := make([]byte, 0, len(line)+len(col)+len(colorReset)+1)
	b = append(append(append(append(b, col...), line...), '\n'), colorReset...)
	_, err := s.w.Write(b)
	return err
}

// render builds a record's line without the newline, and the offset where its part after
// the level (and source location) starts: what syslog gets, as in Logger::buildTextLogMessage.
func (c *core) render(r slog.Record, topic int, attrs []slog.Attr) ([]byte, int) {
	var fn, file string
	line := 0
	if c.lineNumber && r.PC != 0 {
		fr, _ := runtime.CallersFrames([]uintptr{r.PC}).Next()
		fn, file, line = fr.Function, fr.File, fr.Line
		if i := strings.LastIndexByte(fn, '/'); i >= 0 {
			fn = fn[i+1:]
		}
		if c.shortenFiles {
			file = filepath.Base(file)
		}
	}
	t := c.now()
	if c.json {
		return c.renderJSON(r, t, topic, attrs, fn, file, line), 0
	}
	b := make([]byte, 0, 128+len(r.Message))
	if c.hostname != "" {
		b = append(append(b, c.hostname...), ' ')
	}
	b = appendTime(b, c.timeFormat, t, c.start)
	b = append(b, ' ')
	if c.prefix != "" {
		b = append(append(b, c.prefix...), ' ')
	}
	if c.process {
		b = append(strconv.AppendInt(append(b, '['), int64(c.pid), 10), "] "...)
	}
	b = append(append(b, levelName(r.Level)...), ' ')
	if fn != "" && file != "" {
		b = fmt.Appendf(b, "[%s@%s:%d] ", fn, file, line)
	}
	offset := len(b)
	b = append(append(append(b, '{'), topics[topic].name...), "} "...)

	text := make([]byte, 0, len(r.Message)+32*len(attrs))
	text = append(text, r.Message...)
	for _, a := range attrs {
		text = appendTextAttr(text, a)
	}
	b = appendEscaped(b, text, c.escapeControl, c.escapeUnicode)
	if len(b) > c.maxLen {
		// LogMessage::shrink: cut and mark with "..."
		cut := c.maxLen
		for cut > 0 && !utf8.RuneStart(b[cut]) {
			cut--
		}
		b = append(b[:cut], "..."...)
	}
	return b, offset
}

func (c *core) renderJSON(r slog.Record, t time.Time, topic int, attrs []slog.Attr, fn, file string, line int) []byte {
	b := make([]byte, 0, 160+len(r.Message))
	b = append(b, `{"time":`...)
	if isStringTime(c.timeFormat) {
		b = append(appendTime(append(b, '"'), c.timeFormat, t, c.start), '"')
	} else {
		b = appendTime(b, c.timeFormat, t, c.start)
	}
	str := func(key, val string) {
		b = append(append(append(b, ',', '"'), key...), '"', ':')
		b = appendJSONString(b, val, c.escapeUnicode)
	}
	if c.prefix != "" {
		str("prefix", c.prefix)
	}
	if c.process {
		b = strconv.AppendInt(append(b, `,"pid":`...), int64(c.pid), 10)
	}
	str("level", levelName(r.Level))
	if c.lineNumber {
		if file != "" {
			str("file", file)
		}
		b = strconv.AppendInt(append(b, `,"line":`...), int64(line), 10)
		if fn != "" {
			str("function", fn)
		}
	}
	str("topic", topics[topic].name)
	if c.hostname != "" {
		str("hostname", c.hostname)
	}
	for _, a := range attrs {
		b = c.appendJSONAttr(b, a)
	}
	b = append(b, `,"message":`...)
	msg := r.Message
	if c.maxLen >= len(b)+3 {
		// keep the line valid JSON: cut the message, not the object (buildJsonLogMessage)
		if m := c.maxLen - len(b) - 3; m < len(msg) {
			for m > 0 && !utf8.RuneStart(msg[m]) {
				m--
			}
			msg = msg[:m]
		}
	}
	b = appendJSONString(b, msg, c.escapeUnicode)
	return append(b, '}')
}

func (c *core) appendJSONAttr(b []byte, a slog.Attr) []byte {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		for _, g := range v.Group() {
			if a.Key != "" {
				g.Key = a.Key + "." + g.Key
			}
			b = c.appendJSONAttr(b, g)
		}
		return b
	}
	b = appendJSONString(append(b, ','), a.Key, c.escapeUnicode)
	b = append(b, ':')
	switch v.Kind() {
	case slog.KindString:
		return appendJSONString(b, v.String(), c.escapeUnicode)
	case slog.KindInt64:
		return strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindFloat64:
		if f := v.Float64(); !math.IsInf(f, 0) && !math.IsNaN(f) {
			return strconv.AppendFloat(b, f, 'g', -1, 64)
		}
		return appendJSONString(b, v.String(), false)
	case slog.KindBool:
		return strconv.AppendBool(b, v.Bool())
	case slog.KindDuration, slog.KindTime:
		return appendJSONString(b, textValue(v), c.escapeUnicode)
	}
	x := v.Any()
	if err, ok := x.(error); ok {
		return appendJSONString(b, err.Error(), c.escapeUnicode)
	}
	if j, err := json.Marshal(x); err == nil {
		return append(b, j...)
	}
	return appendJSONString(b, fmt.Sprint(x), c.escapeUnicode)
}

func textValue(v slog.Value) string {
	switch v.Kind() {
	case slog.KindTime:
		return v.Time().Format(time.RFC3339Nano)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return err.Error()
		}
	}
	return v.String()
}

// appendTextAttr writes " key=value", quoting what a reader could not split otherwise.
func appendTextAttr(b []byte, a slog.Attr) []byte {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		for _, g := range v.Group() {
			if a.Key != "" {
				g.Key = a.Key + "." + g.Key
			}
			b = appendTextAttr(b, g)
		}
		return b
	}
	b = append(b, ' ')
	b = appendMaybeQuoted(b, a.Key)
	b = append(b, '=')
	return appendMaybeQuoted(b, textValue(v))
}

func appendMaybeQuoted(b []byte, s string) []byte {
	if needsQuote(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for _, r := range s {
		if r <= ' ' || r == '=' || r == '"' || r == 0x7f || r == utf8.RuneError {
			return true
		}
	}
	return false
}

// appendEscaped copies s as the Escaper of --log.escape-control-chars and
// --log.escape-unicode-chars does.
func appendEscaped(b, s []byte, control, unicode bool) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			if c >= 0x20 && c != 0x7f {
				b = append(b, c)
				continue
			}
			if !control {
				b = append(b, ' ')
				continue
			}
			switch c {
			case '\n':
				b = append(b, `\n`...)
			case '\r':
				b = append(b, `\r`...)
			case '\t':
				b = append(b, `\t`...)
			case '\b':
				b = append(b, `\b`...)
			case '\f':
				b = append(b, `\f`...)
			default:
				b = fmt.Appendf(b, `\x%02X`, c)
			}
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		if unicode {
			b = appendUnicodeEscape(b, r)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return b
}

// appendUnicodeEscape writes \uXXXX, as a surrogate pair above U+FFFF.
func appendUnicodeEscape(b []byte, r rune) []byte {
	if r > 0xFFFF {
		r -= 0x10000
		return fmt.Appendf(b, `\u%04X\u%04X`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
	}
	return fmt.Appendf(b, `\u%04X`, r)
}

func appendJSONString(b []byte, s string, escapeUnicode bool) []byte {
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"':
			b = append(b, `\"`...)
		case r == '\\':
			b = append(b, `\\`...)
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r < 0x20:
			b = fmt.Appendf(b, `\u%04X`, r)
		case r < utf8.RuneSelf:
			b = append(b, byte(r))
		case escapeUnicode:
			b = appendUnicodeEscape(b, r)
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}

func parseSmallInt(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err == nil && n < 0 {
		err = errors.New("negative")
	}
	return n, err
}
