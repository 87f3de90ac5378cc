package progress

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// Plain writes a line when a job starts or fails and a status line every interval: for logs,
// CI and pipes, where redrawn bars would be noise.
type Plain struct {
	w        io.Writer
	interval time.Duration
	now      func() time.Time

	mu      sync.Mutex
	running map[*plainTracker]struct{}
	c       counters
	stop    chan struct{}
	stopped chan struct{}
	closed  bool
}

// NewPlain returns a Plain reporter writing to w every interval (5s when 0).
func NewPlain(w io.Writer, interval time.Duration) *Plain {
	if interval <= 0 {
		interval = 5 * time.Second
	}
	p := &Plain{w: w, interval: interval, now: time.Now, running: map[*plainTracker]struct{}{},
		stop: make(chan struct{}), stopped: make(chan struct{})}
	p.c.start = p.now()
	go p.loop()
	return p
}

func (p *Plain) loop() {
	defer close(p.stopped)
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			if len(p.running) > 0 {
				fmt.Fprintln(p.w, p.statusLocked())
			}
			p.mu.Unlock()
		}
	}
}

// statusLocked is one status line: totals, rate and the running jobs.
func (p *Plain) statusLocked() string {
	t := p.c.totals()
	el := p.now().Sub(p.c.start).Seconds()
	var b strings.Builder
	fmt.Fprintf(&b, "# progress: %d document(s)", t.Docs)
	if t.ExpectedDocs > 0 {
		fmt.Fprintf(&b, " of ~%d (%.0f%%)", t.ExpectedDocs, 100*float64(t.Docs)/float64(t.ExpectedDocs))
	}
	fmt.Fprintf(&b, ", %s received", Bytes(t.Bytes))
	if el > 0 {
		fmt.Fprintf(&b, ", %s/s", Bytes(int64(float64(t.Bytes)/el)))
	}
	fmt.Fprintf(&b, ", %d of %d job(s) done", t.Finished, t.Jobs)
	names := make([]string, 0, len(p.running))
	for r := range p.running {
		names = append(names, fmt.Sprintf("%s %d docs", r.job.Label(), r.docs))
	}
	sort.Strings(names)
	if len(names) > 0 {
		fmt.Fprintf(&b, "; running: %s", strings.Join(names, ", "))
	}
	return b.String()
}

func (p *Plain) Plan(jobs int, docs int64) {
	p.c.planned.Add(int64(jobs))
	p.c.expected.Add(docs)
}

func (p *Plain) Start(j Job) Tracker {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.c.jobs.Add(1)
	t := &plainTracker{p: p, job: j}
	p.running[t] = struct{}{}
	fmt.Fprintf(p.w, "# Dumping %s...\n", j.Label())
	return t
}

func (p *Plain) Log(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, msg)
}

func (p *Plain) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.mu.Unlock()
	close(p.stop)
	<-p.stopped
}

type plainTracker struct {
	p    *Plain
	job  Job
	docs int64 // guarded by p.mu
	done bool
}

func (t *plainTracker) Add(docs, bytes int64) {
	t.p.c.docs.Add(docs)
	t.p.c.bytes.Add(bytes)
	t.p.mu.Lock()
	t.docs += docs
	t.p.mu.Unlock()
}

func (t *plainTracker) Done(err error) {
	t.p.mu.Lock()
	defer t.p.mu.Unlock()
	if t.done {
		return
	}
	t.done = true
	delete(t.p.running, t)
	if err != nil {
		t.p.c.failed.Add(1)
		fmt.Fprintf(t.p.w, "# %s failed after %d document(s)\n", t.job.Label(), t.docs)
		return
	}
	t.p.c.finished.Add(1)
}

// Bytes formats a byte count the way arangodump's summary does (B, KB, MB, GB; powers of 1024).
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f := float64(n)
	for _, u := range []string{"KB", "MB", "GB", "TB"} {
		f /= unit
		if f < unit || u == "TB" {
			return fmt.Sprintf("%.2f %s", f, u)
		}
	}
	return ""
}
