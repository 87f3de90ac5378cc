package restore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/arangobackup/godump/progress"
)

// recorder is a progress.Reporter that records what the engine reports.
type recorder struct {
	mu      sync.Mutex
	events  []string // "plan 2 20001", "start src/a 20000", "done src/a <nil>"
	onAdd   func()
	started int
	docs    map[string]int64 // documents added per job
}

func (r *recorder) Plan(jobs int, docs int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf("plan %d %d", jobs, docs))
}

func (r *recorder) Start(j progress.Job) progress.Tracker {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started++
	r.events = append(r.events, fmt.Sprintf("start %s %d", j.Label(), j.Docs))
	return &recTracker{r: r, job: j}
}

func (r *recorder) Log(string) {}
func (r *recorder) Close()     {}

func (r *recorder) plans() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var p []string
	for _, e := range r.events {
		if strings.HasPrefix(e, "plan ") {
			p = append(p, e)
		}
	}
	return p
}

type recTracker struct {
	r    *recorder
	job  progress.Job
	once sync.Once
}

func (t *recTracker) Add(docs, bytes int64) {
	t.r.mu.Lock()
	if t.r.docs == nil {
		t.r.docs = map[string]int64{}
	}
	t.r.docs[t.job.Label()] += docs
	t.r.mu.Unlock()
	if t.r.onAdd != nil {
		t.once.Do(t.r.onAdd)
	}
}

func (t *recTracker) Done(err error) {}

// The restore announces its jobs and documents once, before the first job starts, and each
// job's expected documents (godump's manifest), so that the bars read "N / M docs" with the
// right M and an "x/y jobs" total that does not move.
func TestProgressTotalsKnownBeforeTheRun(t *testing.T) {
	dir := t.TempDir()
	safetyDump(t, dir, true, 20000, 20000)
	opts := DefaultOptions()
	opts.InputDirectory = dir
	f := newFakeServer(t)
	rec := &recorder{}
	if _, err := Run(context.Background(), f.conn(t), opts, rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.events) == 0 || rec.events[0] != "plan 2 20001" || len(rec.plans()) != 1 {
		t.Errorf("want one plan of 2 jobs and 20001 documents before any start: %q", rec.events)
	}
	for _, want := range []string{"start _system/a 20000", "start _system/b 1"} {
		if !contains(rec.events, want) {
			t.Errorf("no %q in %q", want, rec.events)
		}
	}

	// A resumed restore plans only the collections not finished before.
	cf, err := loadContinueFile(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := cf.setState("b", stateRestored); err != nil {
		t.Fatal(err)
	}
	opts.Continue = true
	rec = &recorder{}
	if _, err := Run(context.Background(), f.conn(t), opts, rec); err != nil {
		t.Fatal(err)
	}
	if p := rec.plans(); len(p) != 1 || p[0] != "plan 1 20000" || rec.started != 1 {
		t.Errorf("resumed: want one plan of 1 job and 20000 documents, 1 start: %q", rec.events)
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// An interrupt is reported once, with what was done and how to resume, however many jobs it
// stopped.
func TestInterruptReportedOnce(t *testing.T) {
	dir := t.TempDir()
	writeBigDump(t, dir, "a", "b", "c", "d")
	opts := DefaultOptions()
	opts.InputDirectory = dir
	opts.BatchSize = MinBatchSize
	opts.Threads = 4
	f := newFakeServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &recorder{onAdd: cancel} // Ctrl-C at the first batch acknowledged
	sum, err := Run(ctx, f.conn(t), opts, rec)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want a cancellation, got %v", err)
	}
	msg := err.Error()
	t.Log(msg)
	if n := strings.Count(msg, "context canceled"); n != 1 || !strings.Contains(msg, "--continue true") || !strings.Contains(msg, "of 4 collection(s)") {
		t.Errorf("want one cancellation naming --continue true and the 4 collections, got %d in:\n%s", n, msg)
	}
	if sum == nil || !sum.Interrupted {
		t.Errorf("summary not marked interrupted: %+v", sum)
	}
}

// A resumed restore counts the batches an earlier run had acknowledged as done: each bar ends
// at the collection's whole count, not at what this run sent.
func TestResumedProgressCountsAcknowledgedBatches(t *testing.T) {
	dir := t.TempDir()
	writeBigDump(t, dir, "a", "b")
	opts := DefaultOptions()
	opts.InputDirectory = dir
	opts.BatchSize = MinBatchSize
	opts.Threads = 2
	f := newFakeServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	rec := &recorder{}
	first := &recorder{onAdd: cancel} // Ctrl-C at the first batch acknowledged
	if _, err := Run(ctx, f.conn(t), opts, first); !errors.Is(err, context.Canceled) {
		t.Fatalf("want a cancellation, got %v", err)
	}
	sentBefore := int64(0)
	for _, n := range first.docs {
		sentBefore += n
	}
	if sentBefore == 0 || sentBefore >= 40000 {
		t.Fatalf("the first run should stop part way: %d documents acknowledged", sentBefore)
	}
	opts.Continue = true
	sum, err := Run(context.Background(), f.conn(t), opts, rec)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Skipped == 0 {
		t.Fatalf("the resumed run skipped no batch: %+v", sum)
	}
	for label, n := range rec.docs {
		if n != 20000 {
			t.Errorf("resumed %s: the bar got %d documents, want the whole 20000 (acknowledged ones included)", label, n)
		}
	}
	if len(rec.docs) == 0 {
		t.Errorf("no job reported documents: %q", rec.events)
	}
}

// writeBigDump writes a dump (no manifest) of the named collections, 20000 documents each.
func writeBigDump(t *testing.T, dir string, names ...string) {
	t.Helper()
	colls, data := map[string]string{}, map[string]string{}
	var big strings.Builder
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&big, `{"_key":"k%d","pad":"%s"}`+"\n", i, strings.Repeat("x", 40))
	}
	for _, c := range names {
		colls[c] = fmt.Sprintf(`{"name":%q,"type":2}`, c)
		data[c] = big.String()
	}
	writeTestDump(t, dir, colls, data, nil)
}
