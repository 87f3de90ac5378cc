package progress

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// --progress false hides the display, never the warnings.
func TestQuietKeepsLogLines(t *testing.T) {
	var b bytes.Buffer
	q := NewQuiet(&b, "godump: ")
	q.Plan(3, 100)
	tr := q.Start(Job{Name: "c"})
	tr.Add(10, 100)
	tr.Done(nil)
	q.Log("# warning: collection x skipped")
	q.Log("db shop: waiting")
	q.Close()
	if got, want := b.String(), "godump: warning: collection x skipped\ngodump: db shop: waiting\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

type logRecorder struct {
	Nop
	mu    sync.Mutex
	lines []string
}

func (r *logRecorder) Log(msg string) {
	r.mu.Lock()
	r.lines = append(r.lines, msg)
	r.mu.Unlock()
}

// Retry lines go through the reporter while it draws, to the fallback before and after.
func TestLogWriterRoutesLines(t *testing.T) {
	var fallback bytes.Buffer
	w := NewLogWriter(&fallback)
	fmt.Fprintln(w, "before")
	rec := &logRecorder{}
	w.SetReporter(rec)
	fmt.Fprint(w, "retry 1; trying ")
	fmt.Fprintln(w, "again")
	fmt.Fprint(w, "two\nlines\n")
	w.SetReporter(nil)
	fmt.Fprintln(w, "after")
	if got := fallback.String(); got != "before\nafter\n" {
		t.Errorf("fallback got %q", got)
	}
	if got := strings.Join(rec.lines, "|"); got != "retry 1; trying again|two|lines" {
		t.Errorf("reporter got %q", got)
	}
}
