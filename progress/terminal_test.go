package progress

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// frames is a fake terminal for mpb: 100 columns, and every frame mpb draws kept as text.
type frames struct {
	mu     sync.Mutex
	cur    bytes.Buffer
	frames []string
}

func (f *frames) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cur.Write(p)
}

func (f *frames) ReadFrom(r io.Reader) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cur.ReadFrom(r)
}

func (f *frames) IsTerminal() bool                            { return true }
func (f *frames) GetTermSize() (width, height int, err error) { return 100, 50, nil }

func (f *frames) Flush(int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.frames = append(f.frames, f.cur.String())
	f.cur.Reset()
	return nil
}

func (f *frames) last() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.frames) == 0 {
		return ""
	}
	return f.frames[len(f.frames)-1]
}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testTerminal is a Terminal drawing into frames, refreshed by render.
type testTerminal struct {
	*Terminal
	out     *frames
	clock   *fakeClock
	refresh chan any
}

func newTestTerminal() *testTerminal {
	tt := &testTerminal{out: &frames{}, clock: &fakeClock{t: time.Unix(1e9, 0)}, refresh: make(chan any)}
	tt.Terminal = newTerminal(io.Discard, tt.out, tt.clock.now, tt.refresh)
	return tt
}

// render draws a frame and returns it.
func (tt *testTerminal) render(t *testing.T) string {
	t.Helper()
	n := len(tt.out.frames)
	tt.refresh <- struct{}{}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		tt.out.mu.Lock()
		done := len(tt.out.frames) > n
		tt.out.mu.Unlock()
		if done {
			// mpb may not have handled every increment before drawing: draw once more
			time.Sleep(10 * time.Millisecond)
			n = len(tt.out.frames)
			tt.refresh <- struct{}{}
			for ctx.Err() == nil {
				tt.out.mu.Lock()
				done := len(tt.out.frames) > n
				tt.out.mu.Unlock()
				if done {
					return tt.out.last()
				}
				time.Sleep(time.Millisecond)
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("no frame drawn")
	return ""
}

func line(frame, prefix string) string {
	for _, l := range strings.Split(frame, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			return l
		}
	}
	return ""
}

var etaRe = regexp.MustCompile(`(\d+m)?\d+s\s*$`)

// After increments over time, the ETA and the rate move: 100 docs a second with 800 to go is
// 8s, not "0s".
func TestTerminalRateAndETAMove(t *testing.T) {
	tt := newTestTerminal()
	tt.Plan(1, 1000)
	tr := tt.Start(Job{Database: "shop", Name: "users", Docs: 1000})
	for i := 0; i < 4; i++ {
		tt.clock.advance(time.Second)
		tr.Add(50, 5000)
	}
	f := tt.render(t)
	job, total := line(f, "shop/users"), line(f, "total")
	for _, l := range []string{job, total} {
		if !strings.Contains(l, "200 / 1000 docs") || !strings.Contains(l, "50 docs/s") || !strings.HasSuffix(strings.TrimSpace(l), "16s") {
			t.Errorf("want 200 / 1000 docs, 50 docs/s, ETA 16s:\n%s", f)
		}
	}
	tr.Done(nil)
	tt.Close()
}

// The totals of a job are the expected documents ("N / M docs"); a job of unknown size says
// "N docs", never "N / 0 docs", and has no ETA.
func TestTerminalShowsExpectedTotals(t *testing.T) {
	tt := newTestTerminal()
	tt.Plan(2, 500)
	a := tt.Start(Job{Database: "shop", Name: "orders", Docs: 500})
	b := tt.Start(Job{Database: "shop", Name: "unknown"})
	tt.clock.advance(time.Second)
	a.Add(120, 1000)
	b.Add(7, 100)
	f := tt.render(t)
	if l := line(f, "shop/orders"); !strings.Contains(l, "120 / 500 docs") {
		t.Errorf("orders: want 120 / 500 docs:\n%s", f)
	}
	if l := line(f, "shop/unknown"); !strings.Contains(l, " 7 docs") || strings.Contains(l, "/ 0 docs") || etaRe.MatchString(l) {
		t.Errorf("unknown: want 7 docs, no total, no ETA:\n%s", f)
	}
	if l := line(f, "total"); !strings.Contains(l, "127 / 500 docs") {
		t.Errorf("total: want 127 / 500 docs:\n%s", f)
	}
	a.Done(nil)
	b.Done(nil)
	tt.Close()
}

// The jobs total is the planned one from the start, whether the jobs start at once or late
// (the parallel dump starts a job's tracker at its first batch).
func TestTerminalJobsTotalIsPlanned(t *testing.T) {
	tt := newTestTerminal()
	tt.Plan(3, 30)
	if l := line(tt.render(t), "total"); !strings.Contains(l, "0/3 jobs") {
		t.Errorf("before any job: %q", l)
	}
	a := tt.Start(Job{Name: "a", Docs: 10})
	a.Add(10, 10)
	a.Done(nil)
	if l := line(tt.render(t), "total"); !strings.Contains(l, "1/3 jobs") {
		t.Errorf("after one job: %q", l)
	}
	b := tt.Start(Job{Name: "b", Docs: 10})
	c := tt.Start(Job{Name: "c", Docs: 10})
	if l := line(tt.render(t), "total"); !strings.Contains(l, "1/3 jobs") {
		t.Errorf("three started: %q", l)
	}
	b.Done(nil)
	c.Done(nil)
	tt.Close()
}

// An interrupted run: the failed job's bar and the total stay where they were, not at 100 %.
func TestTerminalAbortedBarDoesNotComplete(t *testing.T) {
	tt := newTestTerminal()
	tt.Plan(2, 1000)
	a := tt.Start(Job{Database: "shop", Name: "users", Docs: 1000})
	b := tt.Start(Job{Database: "shop", Name: "orders", Docs: 1000}) // never done: Close aborts it
	tt.clock.advance(time.Second)
	a.Add(300, 1000)
	b.Add(100, 1000)
	tt.render(t)
	a.Done(context.Canceled)
	tt.Close()
	f := tt.out.last()
	for _, want := range []string{"300 / 1000 docs", "100 / 1000 docs", "400 / 1000 docs", "0/2 jobs (2 stopped)"} {
		if !strings.Contains(f, want) {
			t.Errorf("last frame lacks %q:\n%s", want, f)
		}
	}
	if strings.Contains(f, "1000 / 1000") || strings.Contains(f, "400 / 400") {
		t.Errorf("a bar completed after the interrupt:\n%s", f)
	}
}
