package progress

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Terminal draws, on a terminal, one bar per running job (documents, bytes, rate, ETA when
// the expected count is known) and a total bar, using mpb.
//
// Rate and ETA are mpb's EWMA decorators: they move only when they are given the documents
// done with the time they took (IncrInt64 alone leaves them at 0, the ETA at "0s"); see
// rate. The jobs total is the planned one (Plan), not the jobs started so far, so it does not
// grow while the run goes on.
type Terminal struct {
	p     *mpb.Progress
	w     io.Writer
	now   func() time.Time
	mu    sync.Mutex
	total *mpb.Bar
	c     counters
	once  sync.Once

	rate     *rate // the total bar's
	bars     map[*termTracker]struct{}
	barsMu   sync.Mutex
	rendered chan any // manual refresh (tests), nil for the auto refresh
}

// NewTerminal returns a Terminal reporter drawing on w.
func NewTerminal(w io.Writer) *Terminal {
	return newTerminal(w, nil, time.Now, nil)
}

// newTerminal is NewTerminal drawing through cw when not nil (tests: a fixed width, frames
// kept), with a clock and a manual refresh channel (nil: refresh by itself).
func newTerminal(w io.Writer, cw mpb.ConsoleWriter, now func() time.Time, refresh chan any) *Terminal {
	opts := []mpb.ContainerOption{mpb.WithOutput(w), mpb.WithWidth(40)}
	if refresh != nil {
		opts = append(opts, mpb.WithManualRefresh(refresh))
	} else {
		opts = append(opts, mpb.WithAutoRefresh())
	}
	if cw != nil {
		opts = append(opts, mpb.WithConsoleWriter(cw))
	}
	t := &Terminal{p: mpb.New(opts...), w: w, now: now, rendered: refresh, bars: map[*termTracker]struct{}{}}
	t.c.start = now()
	t.rate = newRate(t.c.start)
	t.total = t.p.New(0, mpb.BarStyle(),
		mpb.BarPriority(1<<30), // keep the total at the bottom
		mpb.PrependDecorators(decor.Name("total", decor.WCSyncSpaceR),
			decor.Any(func(decor.Statistics) string {
				tt := t.c.totals()
				s := fmt.Sprintf("%d/%d jobs", tt.Finished, tt.Jobs)
				if tt.Failed > 0 {
					s += fmt.Sprintf(" (%d stopped)", tt.Failed)
				}
				return s
			}, decor.WCSyncSpace)),
		mpb.AppendDecorators(docsCounter(func() bool { return t.c.expected.Load() > 0 }),
			decor.Any(func(decor.Statistics) string { return Bytes(t.c.bytes.Load()) }, decor.WCSyncSpace),
			t.rate.speed(), t.rate.eta(func() bool { return t.c.expected.Load() > 0 })))
	return t
}

// docsCounter shows "N / M docs" when the expected count M is known, else "N docs" (never
// "N / 0 docs").
func docsCounter(known func() bool) decor.Decorator {
	return decor.Any(func(s decor.Statistics) string {
		if known() {
			return fmt.Sprintf("%d / %d docs", s.Current, s.Total)
		}
		return fmt.Sprintf("%d docs", s.Current)
	}, decor.WCSyncSpace)
}

// rate feeds a bar's EWMA rate and ETA. The documents of every Add are summed and handed
// to the EWMA with the time they took once at least rateSample has passed: one sample per
// Add would weigh in the near-zero intervals between the Adds of concurrent senders (the
// total bar, several batches of one collection in flight) and make the rate jump.
type rate struct {
	mu      sync.Mutex
	last    time.Time
	pending int64
	ds      []decor.EwmaDecorator
}

const rateSample = 500 * time.Millisecond

// ewmaAge 30 is the EWMA package's simple average, which has a value from the first sample
// on (any other age shows nothing for the first ten samples).
const ewmaAge = 30

func newRate(now time.Time) *rate { return &rate{last: now} }

func (r *rate) speed() decor.Decorator {
	d := decor.EwmaSpeed(0, "%.0f docs/s", ewmaAge, decor.WCSyncSpace)
	r.ds = append(r.ds, d.(decor.EwmaDecorator))
	return d
}

// eta is the EWMA ETA while the total is known (blank otherwise: an ETA of an unknown total
// would be "0s").
func (r *rate) eta(known func() bool) decor.Decorator {
	d := decor.EwmaETA(decor.ET_STYLE_GO, ewmaAge, decor.WCSyncSpace)
	r.ds = append(r.ds, d.(decor.EwmaDecorator))
	return knownETA{d, known}
}

func (r *rate) add(n int64, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending += n
	if el := now.Sub(r.last); el >= rateSample && r.pending > 0 {
		for _, d := range r.ds {
			d.EwmaUpdate(r.pending, el)
		}
		r.pending, r.last = 0, now
	}
}

// knownETA hides an ETA while its total is unknown. It is not an EwmaDecorator itself: rate
// feeds the EWMA, the bar only draws it.
type knownETA struct {
	decor.Decorator
	known func() bool
}

func (k knownETA) Decor(s decor.Statistics) (string, int) {
	if !k.known() {
		return k.Format("")
	}
	return k.Decorator.Decor(s)
}

func (t *Terminal) Plan(jobs int, docs int64) {
	t.c.planned.Add(int64(jobs))
	t.c.expected.Add(docs)
	t.total.SetTotal(max(t.c.expected.Load(), t.c.docs.Load()+1), false)
}

func (t *Terminal) Start(j Job) Tracker {
	t.c.jobs.Add(1)
	tr := &termTracker{t: t, expected: j.Docs, rate: newRate(t.now())}
	known := func() bool { return j.Docs > 0 }
	tr.bar = t.p.New(j.Docs, mpb.BarStyle(), mpb.BarRemoveOnComplete(),
		mpb.PrependDecorators(decor.Name(j.Label(), decor.WCSyncSpaceR)),
		mpb.AppendDecorators(docsCounter(known),
			decor.Any(func(decor.Statistics) string { return Bytes(tr.bytes.Load()) }, decor.WCSyncSpace),
			tr.rate.speed(), tr.rate.eta(known)))
	t.barsMu.Lock()
	t.bars[tr] = struct{}{}
	t.barsMu.Unlock()
	return tr
}

func (t *Terminal) Log(msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintln(t.p, msg)
}

// Close stops drawing. The total bar completes only when every planned job finished; after a
// failure or an interrupt it stays where it was (and so does every bar not done).
func (t *Terminal) Close() {
	t.once.Do(func() {
		t.barsMu.Lock()
		for tr := range t.bars {
			tr.Done(errClosed) // a job never ended (interrupted) is aborted, not completed
		}
		t.barsMu.Unlock()
		tt := t.c.totals()
		if tt.Failed == 0 && tt.Finished >= tt.Jobs {
			t.total.SetTotal(t.c.docs.Load(), true)
		} else {
			t.total.Abort(false)
		}
		if t.rendered != nil {
			select {
			case t.rendered <- struct{}{}:
			default:
			}
		}
		t.p.Wait()
	})
}

var errClosed = fmt.Errorf("progress closed before the job ended")

type termTracker struct {
	t        *Terminal
	bar      *mpb.Bar
	expected int64
	docs     atomic.Int64
	bytes    atomic.Int64
	done     atomic.Bool
	rate     *rate
}

func (tr *termTracker) Add(docs, bytes int64) {
	t := tr.t
	now := t.now()

	t.c.docs.Add(docs)
	t.c.bytes.Add(bytes)
	tr.bytes.Add(bytes)
	n := tr.docs.Add(docs)
	if n >= tr.expected && tr.expected > 0 {
		// the count was an estimate; grow the bar instead of completing it early
		tr.bar.SetTotal(n+1, false)
	}
	tr.bar.IncrInt64(docs)
	tr.rate.add(docs, now)
	if total := t.c.docs.Load(); total >= t.c.expected.Load() {
		t.total.SetTotal(total+1, false)
	}
	t.total.IncrInt64(docs)
	t.rate.add(docs, now)
}

func (tr *termTracker) Done(err error) {
	if tr.done.Swap(true) {
		return
	}
	if err != errClosed {
		tr.t.barsMu.Lock()
		delete(tr.t.bars, tr)
		tr.t.barsMu.Unlock()
	}
	if err != nil {
		tr.t.c.failed.Add(1)
		tr.bar.Abort(false) // an aborted bar stays as it is, never at 100 %
		return
	}
	tr.t.c.finished.Add(1)
	tr.bar.SetTotal(tr.docs.Load(), true)
}
