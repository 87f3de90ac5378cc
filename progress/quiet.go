package progress

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Quiet is the reporter of `--progress false`: no bars and no status lines, but every Log line
// (a warning, a retry, a phase change) is still written, because turning the progress display
// off must not hide what went wrong. The tools write it to stderr.
type Quiet struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
}

// NewQuiet returns a Quiet reporter writing log lines to w, each after prefix ("godump: ").
func NewQuiet(w io.Writer, prefix string) *Quiet { return &Quiet{w: w, prefix: prefix} }

func (q *Quiet) Plan(int, int64)   {}
func (q *Quiet) Start(Job) Tracker { return nopTracker{} }
func (q *Quiet) Close()            {}

func (q *Quiet) Log(msg string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	// "# warning: x" is the dump engine's spelling for the progress stream; alone on stderr it
	// reads better as "godump: warning: x".
	fmt.Fprintln(q.w, q.prefix+strings.TrimPrefix(msg, "# "))
}

// LogWriter is an io.Writer whose lines go to a reporter's Log while one is set (so that a
// retry message printed by the client does not break the bars), and to a fallback writer
// otherwise (before the reporter exists, after it is closed).
type LogWriter struct {
	mu       sync.Mutex
	fallback io.Writer
	rep      Reporter
	partial  []byte
}

// NewLogWriter returns a LogWriter that writes to fallback until SetReporter.
func NewLogWriter(fallback io.Writer) *LogWriter { return &LogWriter{fallback: fallback} }

// SetFallback replaces the writer used while no reporter is set.
func (l *LogWriter) SetFallback(w io.Writer) {
	l.mu.Lock()
	l.fallback = w
	l.mu.Unlock()
}

// SetReporter sends the following lines to r (nil: to the fallback again).
func (l *LogWriter) SetReporter(r Reporter) {
	l.mu.Lock()
	l.rep = r
	l.mu.Unlock()
}

func (l *LogWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rep == nil {
		return l.fallback.Write(p)
	}
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.rep.Log(string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
	if len(l.partial) == 0 {
		l.partial = nil
	}
	return len(p), nil
}

// TeeLog returns r whose Log lines are also written to w (the log file of --log.file while r
// draws bars on the terminal).
func TeeLog(r Reporter, w io.Writer) Reporter { return teeLog{r, w} }

type teeLog struct {
	Reporter
	w io.Writer
}

func (t teeLog) Log(msg string) {
	t.Reporter.Log(msg)
	fmt.Fprintln(t.w, msg)
}
