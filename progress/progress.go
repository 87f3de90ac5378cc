// Package progress reports the progress of long-running dump and restore jobs.
//
// The engines (dump, restore) report into a Reporter: they announce the plan, start one Tracker
// per job (a collection or a shard) and add documents and bytes to it as they stream. Three
// implementations exist: Terminal draws a bar per running job and a total (mpb), Plain writes a
// line every few seconds (for logs and pipes), and Nop is silent (`--progress false`).
//
// It is not a logger: errors are returned by the engines, and cmd/ prints them.
package progress

import (
	"io"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/term"
)

// Job describes one unit of work shown to the user.
type Job struct {
	Database string // database the job belongs to
	Name     string // collection name, or "collection/shard" on a cluster
	Docs     int64  // expected documents, 0 when unknown
}

// Label is how a job is shown: "db/collection", or just the collection in the default database.
func (j Job) Label() string {
	if j.Database == "" {
		return j.Name
	}
	return j.Database + "/" + j.Name
}

// Reporter receives progress from an engine. Implementations are safe for concurrent use.
type Reporter interface {
	// Plan announces how many jobs and documents (0 if unknown) are coming, and may be called
	// several times (once per database); the figures add up.
	Plan(jobs int, docs int64)
	// Start begins showing a job and returns its tracker.
	Start(job Job) Tracker
	// Log shows an informational line (a warning, a phase change) without breaking the bars.
	Log(msg string)
	// Close stops drawing; it must be called once, after every tracker is done.
	Close()
}

// Tracker follows one running job.
type Tracker interface {
	// Add records docs documents and bytes bytes (as received from the server) done.
	Add(docs, bytes int64)
	// Done ends the job; err is nil when it succeeded.
	Done(err error)
}

// Totals are the figures every reporter keeps, for the final summary.
type Totals struct {
	Jobs, Finished, Failed int64
	Docs, Bytes            int64
	ExpectedDocs           int64
}

// counters is the shared bookkeeping of the reporters.
type counters struct {
	jobs, finished, failed, docs, bytes, expected atomic.Int64
	planned                                       atomic.Int64 // jobs announced by Plan
	start                                         time.Time
}

// totals are the figures so far; Jobs is the planned number of jobs (the started ones when
// more started than were planned), so that it does not grow while the jobs start.
func (c *counters) totals() Totals {
	return Totals{Jobs: max(c.jobs.Load(), c.planned.Load()), Finished: c.finished.Load(), Failed: c.failed.Load(),
		Docs: c.docs.Load(), Bytes: c.bytes.Load(), ExpectedDocs: c.expected.Load()}
}

// ForCommand picks a command's reporter: Quiet (log lines only, to lines, after prefix) when
// disabled; Terminal bars when term is a terminal, their log lines copied to tee when tee is
// not nil (a log file); otherwise Plain, a status line every interval to lines.
func ForCommand(enabled bool, term *os.File, lines io.Writer, prefix string, tee io.Writer, interval time.Duration) Reporter {
	switch {
	case !enabled:
		return NewQuiet(lines, prefix)
	case IsTerminal(term) && tee != nil:
		return TeeLog(NewTerminal(term), tee)
	case IsTerminal(term):
		return NewTerminal(term)
	}
	return NewPlain(lines, interval)
}

// IsTerminal reports whether f is a terminal the bars can be drawn on (TERM is not "dumb").
func IsTerminal(f *os.File) bool {
	return f != nil && term.IsTerminal(int(f.Fd())) && os.Getenv("TERM") != "dumb"
}

// Nop is the silent reporter.
type Nop struct{}

func (Nop) Plan(int, int64)       {}
func (Nop) Start(Job) Tracker     { return nopTracker{} }
func (Nop) Log(string)            {}
func (Nop) Close()                {}
func (nopTracker) Add(_, _ int64) {}
func (nopTracker) Done(error)     {}

type nopTracker struct{}

// Counting wraps a reporter and keeps totals, so the engine can read them for its summary.
type Counting struct {
	Reporter
	c counters
}

// NewCounting returns r with totals kept alongside.
func NewCounting(r Reporter) *Counting {
	if r == nil {
		r = Nop{}
	}
	return &Counting{Reporter: r}
}

// Totals returns the figures so far.
func (c *Counting) Totals() Totals { return c.c.totals() }

func (c *Counting) Plan(jobs int, docs int64) {
	c.c.planned.Add(int64(jobs))
	c.c.expected.Add(docs)
	c.Reporter.Plan(jobs, docs)
}

func (c *Counting) Start(j Job) Tracker {
	c.c.jobs.Add(1)
	return &countingTracker{inner: c.Reporter.Start(j), c: &c.c}
}

type countingTracker struct {
	inner Tracker
	c     *counters
	done  atomic.Bool
}

func (t *countingTracker) Add(docs, bytes int64) {
	t.c.docs.Add(docs)
	t.c.bytes.Add(bytes)
	t.inner.Add(docs, bytes)
}

func (t *countingTracker) Done(err error) {
	if t.done.Swap(true) {
		return
	}
	if err != nil {
		t.c.failed.Add(1)
	} else {
		t.c.finished.Add(1)
	}
	t.inner.Done(err)
}
