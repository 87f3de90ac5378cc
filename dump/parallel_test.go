package dump

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/arangobackup/godump/progress"
)

// TestParallelOneContextForManyCollections: a single server's collections are all dumped
// through one dump context, whose batches of all collections interleave; every collection
// gets its complete file, with several writers and fetchers at work.
func TestParallelOneContextForManyCollections(t *testing.T) {
	f := newFakeServer(t, "3.12.4")
	for i := 0; i < 60; i++ {
		f.add(fmt.Sprintf("c%02d", i), (i*7)%23)
	}
	conn := f.start()
	m := newMemOutput()
	o := testOptions(m)
	o.Threads, o.NetworkThreads = 3, 2
	counting := progress.NewCounting(nil)
	sum, err := Run(context.Background(), conn, o, counting)
	if err != nil {
		t.Fatal(err)
	}
	want := int64(0)
	for i := 0; i < 60; i++ {
		n := (i * 7) % 23
		want += int64(n)
		name := fmt.Sprintf("c%02d", i)
		if n == 0 {
			if d, ok := m.files[name]; !ok || d != "" {
				t.Errorf("%s: file %v %q, want an empty one", name, ok, d)
			}
			continue
		}
		checkCollection(t, m, name, n)
	}
	if len(f.starts) != 1 || len(f.starts[0]) != 60 {
		t.Fatalf("dump contexts started: %v, want one over the 60 collections", f.starts)
	}
	// smallest first, the largest last: the server takes its work from the back
	var prev int
	for i, s := range f.starts[0] {
		n := len(f.colls[s])
		if i > 0 && n < prev {
			t.Fatalf("shards sent out of order (size %d after %d): %v", n, prev, f.starts[0])
		}
		prev = n
	}
	if len(f.contexts) != 0 {
		t.Errorf("%d dump contexts left on the server", len(f.contexts))
	}
	if sum.Documents != want || counting.Totals().Docs != want || counting.Totals().Finished != 60 {
		t.Errorf("documents %d, progress %d (%d jobs finished), want %d and 60", sum.Documents, counting.Totals().Docs, counting.Totals().Finished, want)
	}
}

// TestParallelUnknownShardIsAnError: a batch of a shard the context does not hold is an error
// naming that shard; nothing is committed, and the context is deleted.
func TestParallelUnknownShardIsAnError(t *testing.T) {
	for _, bad := range []string{"bogus", ""} {
		t.Run("shard="+bad, func(t *testing.T) {
			f := newFakeServer(t, "3.12.4")
			f.add("a", 30)
			f.add("b", 10)
			var n atomic.Int64
			f.shardHeader = func(s string) string {
				if n.Add(1) == 3 {
					return bad
				}
				return s
			}
			conn := f.start()
			m := newMemOutput()
			_, err := Run(context.Background(), conn, testOptions(m), nil)
			want := "shard bogus, which is not in the dump context"
			if bad == "" {
				want = "no x-arango-dump-shard-id header"
			}
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "database shop") {
				t.Fatalf("err = %v, want one containing %q", err, want)
			}
			if m.finished || len(m.files) != 0 || m.open != 0 {
				t.Errorf("finished %v, files %v, %d open after the failure", m.finished, keysOfMap(m.files), m.open)
			}
			if len(f.contexts) != 0 {
				t.Errorf("%d dump contexts left on the server", len(f.contexts))
			}
		})
	}
}

// TestParallelStructureMaskingNotInContext: collections whose data is not dumped are not put
// in the dump context and get their empty file without a request for data.
func TestParallelStructureMaskingNotInContext(t *testing.T) {
	f := newFakeServer(t, "3.12.4")
	f.add("a", 20)
	f.add("b", 5)
	conn := f.start()
	m := newMemOutput()
	o := testOptions(m)
	dir := t.TempDir()
	o.Maskings = dir + "/maskings.json"
	writeFile(t, o.Maskings, `{"a":{"type":"structure"},"b":{"type":"full"}}`)
	if _, err := Run(context.Background(), conn, o, nil); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(f.starts); got != "[[b]]" {
		t.Errorf("dump contexts over %s, want one over [b] only", got)
	}
	if d, ok := m.files["a"]; !ok || d != "" {
		t.Errorf("structure-only collection a: file %v %q, want an empty one", ok, d)
	}
	checkCollection(t, m, "b", 5)

	// --dump-data false: no context at all
	f.starts = nil
	m = newMemOutput()
	o = testOptions(m)
	o.DumpData = false
	if _, err := Run(context.Background(), conn, o, nil); err != nil {
		t.Fatal(err)
	}
	if len(f.starts) != 0 {
		t.Errorf("--dump-data false started dump contexts %v", f.starts)
	}
}

// TestParallelCancelDeletesContext: an interrupted dump still deletes its dump context.
func TestParallelCancelDeletesContext(t *testing.T) {
	f := newFakeServer(t, "3.12.4")
	f.add("a", 200)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int64
	f.fault = func(r *http.Request) string {
		if strings.Contains(r.URL.Path, "/_api/dump/next/") && n.Add(1) == 4 {
			cancel()
		}
		return ""
	}
	conn := f.start()
	m := newMemOutput()
	_, err := Run(ctx, conn, testOptions(m), nil)
	if err == nil {
		t.Fatal("want an error after the cancel")
	}
	f.mu.Lock()
	left := len(f.contexts)
	deleted := 0
	for _, r := range f.requests {
		if strings.HasPrefix(r, "DELETE /_api/dump/") {
			deleted++
		}
	}
	f.mu.Unlock()
	if left != 0 || deleted != 1 {
		t.Errorf("after the cancel: %d contexts left, %d deleted; want 0 and 1", left, deleted)
	}
	if m.finished {
		t.Error("interrupted dump finished")
	}
}

// TestPlanContextsByServer: on a cluster, one context per DB-Server holding the leaders of
// its shards, each context's shards smallest first.
func TestPlanContextsByServer(t *testing.T) {
	mk := func(name string, shards ...shardRef) *jobFile {
		c := &invCollection{}
		c.info.Name = name
		return &jobFile{j: &job{db: "shop", coll: c, shards: shards, part: -1}}
	}
	files := []*jobFile{
		mk("big", shardRef{ID: "s1", Leader: "PRMR-1", Docs: 900}, shardRef{ID: "s2", Leader: "PRMR-2", Docs: 800}),
		mk("mid", shardRef{ID: "s3", Leader: "PRMR-2", Docs: 500}, shardRef{ID: "s4", Leader: "PRMR-1", Docs: 50}),
		mk("small", shardRef{ID: "s5", Leader: "PRMR-1", Docs: 10}),
	}
	var got []string
	for _, cd := range planContexts("shop", files, false) {
		var ids []string
		for _, s := range cd.shards {
			ids = append(ids, s.ID)
			if cd.jobs[s.ID] == nil {
				t.Errorf("shard %s has no job", s.ID)
			}
		}
		got = append(got, cd.server+":"+strings.Join(ids, ","))
	}
	if s := strings.Join(got, " "); s != "PRMR-1:s5,s4,s1 PRMR-2:s3,s2" {
		t.Errorf("contexts %s, want PRMR-1:s5,s4,s1 PRMR-2:s3,s2", s)
	}
}
