package progress

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Terminal draws, on a terminal, one bar per running job (documents, bytes, rate, ETA when
// the expected count is known) and a total bar, using mpb.
type Terminal struct {
	p     *mpb.Progress
	w     io.Writer
	mu    sync.Mutex
	total *mpb.Bar
	c     counters
	once  sync.Once
}

// NewTerminal returns a Terminal reporter drawing on w.
func NewTerminal(w io.Writer) *Terminal {
	t := &Terminal{p: mpb.New(mpb.WithOutput(w), mpb.WithWidth(40), mpb.WithAutoRefresh()), w: w}
	t.total = t.p.New(0, mpb.BarStyle(),
		mpb.BarPriority(1<<30), // keep the total at the bottom
		mpb.PrependDecorators(decor.Name("total", decor.WCSyncSpaceR),
			decor.Any(func(decor.Statistics) string {
				tt := t.c.totals()
				return fmt.Sprintf("%d/%d jobs", tt.Finished+tt.Failed, tt.Jobs)
			}, decor.WCSyncSpace)),
		mpb.AppendDecorators(decor.CountersNoUnit("%d / %d docs", decor.WCSyncSpace),
			decor.Any(func(decor.Statistics) string { return Bytes(t.c.bytes.Load()) }, decor.WCSyncSpace),
			decor.EwmaETA(decor.ET_STYLE_GO, 30, decor.WCSyncSpace)))
	return t
}

func (t *Terminal) Plan(jobs int, docs int64) {
	t.c.expected.Add(docs)
	t.total.SetTotal(t.c.expected.Load(), false)
}

func (t *Terminal) Start(j Job) Tracker {
	t.c.jobs.Add(1)
	tr := &termTracker{t: t, expected: j.Docs}
	tr.bar = t.p.New(j.Docs, mpb.BarStyle(), mpb.BarRemoveOnComplete(),
		mpb.PrependDecorators(decor.Name(j.Label(), decor.WCSyncSpaceR)),
		mpb.AppendDecorators(decor.CountersNoUnit("%d / %d docs", decor.WCSyncSpace),
			decor.Any(func(decor.Statistics) string { return Bytes(tr.bytes.Load()) }, decor.WCSyncSpace),
			decor.AverageSpeed(0, "%.0f docs/s", decor.WCSyncSpace),
			decor.EwmaETA(decor.ET_STYLE_GO, 30, decor.WCSyncSpace)))
	return tr
}

func (t *Terminal) Log(msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintln(t.p, msg)
}

func (t *Terminal) Close() {
	t.once.Do(func() {
		t.total.SetTotal(t.c.docs.Load(), true)
		t.p.Wait()
	})
}

type termTracker struct {
	t        *Terminal
	bar      *mpb.Bar
	expected int64
	docs     atomic.Int64
	bytes    atomic.Int64
	done     atomic.Bool
}

func (tr *termTracker) Add(docs, bytes int64) {
	tr.t.c.docs.Add(docs)
	tr.t.c.bytes.Add(bytes)
	tr.bytes.Add(bytes)
	n := tr.docs.Add(docs)
	if n > tr.expected && tr.expected > 0 {
		// the count was an estimate; grow the bar instead of completing it early
		tr.bar.SetTotal(n+1, false)
	}
	tr.bar.IncrInt64(docs)
	if total := tr.t.c.docs.Load(); total >= tr.t.c.expected.Load() {
		tr.t.total.SetTotal(total+1, false)
	}
	tr.t.total.IncrInt64(docs)
}

func (tr *termTracker) Done(err error) {
	if tr.done.Swap(true) {
		return
	}
	if err != nil {
		tr.t.c.failed.Add(1)
		tr.bar.Abort(false)
		return
	}
	tr.t.c.finished.Add(1)
	tr.bar.SetTotal(tr.docs.Load(), true)
}
