package dump

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/arangobackup/godump/arangotest"
	"github.com/arangobackup/godump/client"
	"github.com/arangobackup/godump/progress"
)

// planRecorder keeps what the engine announces and starts.
type planRecorder struct {
	progress.Nop
	mu      sync.Mutex
	plans   []int // jobs of each Plan call
	started int
	before  int // jobs announced when the first job started
}

func (r *planRecorder) Plan(jobs int, _ int64) {
	r.mu.Lock()
	r.plans = append(r.plans, jobs)
	r.mu.Unlock()
}

func (r *planRecorder) Start(progress.Job) progress.Tracker {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started == 0 {
		for _, n := range r.plans {
			r.before += n
		}
	}
	r.started++
	return r.Nop.Start(progress.Job{})
}

// With --all-databases every database's jobs are announced before the first job starts, so
// the "x/y jobs" total of the progress display does not grow at each database (issue 12
// point 7); the announced total is exactly the jobs run. On a cluster with --split-files a
// job is a shard.
func TestAllDatabasesPlansEveryJobFirst(t *testing.T) {
	for _, cluster := range []bool{false, true} {
		t.Run(fmt.Sprintf("cluster=%v", cluster), func(t *testing.T) {
			var endpoint string
			if cluster {
				c, err := arangotest.NewCluster(arangotest.ClusterOptions{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = c.Close() })
				endpoint = c.Endpoints()[0]
			} else {
				s, err := arangotest.NewServer(arangotest.Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = s.Close() })
				endpoint = s.Endpoint()
			}
			ctx := context.Background()
			copts := client.DefaultOptions()
			copts.Endpoints, copts.Authentication = []string{endpoint}, false
			conn, err := client.Connect(ctx, copts)
			if err != nil {
				t.Fatal(err)
			}
			for i, db := range []string{"a", "b", "c"} {
				if err := conn.DoJSON(ctx, client.Request{Method: "POST", Database: "_system", Path: "/_api/database", JSON: map[string]any{"name": db}}, nil); err != nil {
					t.Fatal(err)
				}
				for j := 0; j <= i; j++ {
					body := map[string]any{"name": fmt.Sprintf("c%d", j), "numberOfShards": 3}
					if err := conn.DoJSON(ctx, client.Request{Method: "POST", Database: db, Path: "/_api/collection", JSON: body}, nil); err != nil {
						t.Fatal(err)
					}
					if err := conn.DoJSON(ctx, client.Request{Method: "POST", Database: db, Path: "/_api/document/" + body["name"].(string), JSON: []map[string]any{{"x": 1}, {"x": 2}}}, nil); err != nil {
						t.Fatal(err)
					}
				}
			}
			o := DefaultOptions()
			o.OutputDirectory = filepath.Join(t.TempDir(), "all")
			o.AllDatabases = true
			rec := &planRecorder{}
			sum, err := Run(ctx, conn, o, rec)
			if err != nil {
				t.Fatal(err)
			}
			want := 6 // 1 + 2 + 3 collections
			if cluster {
				want = 18 // 3 shards each, one job per shard (--split-files is the cluster default)
			}
			total := 0
			for _, n := range rec.plans {
				total += n
			}
			if rec.started != want || sum.Jobs != want || rec.before != want || total != want {
				t.Errorf("started %d jobs (summary %d), %d announced before the first started, %d in all (calls %v); want %d each",
					rec.started, sum.Jobs, rec.before, total, rec.plans, want)
			}
		})
	}
}
