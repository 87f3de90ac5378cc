package e2e

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arangobackup/godump/arangotest"
	"github.com/arangobackup/godump/client"
	"github.com/arangobackup/godump/format"
)

// killedDump starts godump on db into dir and kills it (SIGKILL: no cleanup of any kind) when
// ready returns true or after wait, whichever comes first. It returns when it was killed, or
// finished = true when godump completed first.
func killedDump(t *testing.T, tg *target, db, dir string, wait time.Duration, ready func() bool, extra ...string) (took time.Duration, finished bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := toolCommand(ctx, "godump", dmGodumpArgs(tg, db, dir, extra...)...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	started := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(wait)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			if err != nil || ready != nil {
				t.Fatalf("godump ended before it was killed (%v): %s", err, out.String())
			}
			return time.Since(started), true
		case <-deadline:
		case <-tick.C:
			if ready == nil || !ready() {
				continue
			}
		}
		break
	}
	_ = cmd.Process.Kill()
	took = time.Since(started)
	err := <-exited
	var ee *exec.ExitError
	if !dmAsExit(err, &ee) {
		t.Fatalf("godump killed: %v", err)
	}
	return took, false
}

// manifestFiles reads the (maybe unfinished) manifest of dir; nil when there is none yet.
func manifestFiles(dir string) *format.Manifest {
	m, err := format.ReadManifest(dir)
	if err != nil {
		return nil
	}
	return m
}

// TestDumpKilledAndContinued (issue 15 point 3): godump killed at random points (SIGKILL, so
// nothing is cleaned up) and run again with --continue true gives a dump that holds every
// document exactly and restores exactly; the files the killed run completed are kept (not
// fetched again), and until the continuing run finishes the directory never looks complete.
func TestDumpKilledAndContinued(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	tg.needArangotest(t)
	db := uniqueDB(t, "kill")
	seeded := seedStandard(t, tg, db)
	want := map[string]map[string]Doc{}
	for name := range seeded.Collections {
		want[name] = serverDocs(t, tg, db, name)
	}
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 7))
	t.Logf("random kill points from seed %d", seed)

	slow := arangotest.Fault{PathPrefix: "/_api/dump/next", Times: 100000, Delay: 400 * time.Millisecond, CutAfterBytes: -1}
	trials := []struct {
		name  string
		extra []string
		ready func(dir string) bool // kill as soon as this holds (nil: at the random time only)
	}{
		// killed once the first collection's file is committed: it must be kept
		{"after first file", []string{"--snapshot", "per-collection"}, func(dir string) bool {
			m := manifestFiles(dir)
			return m != nil && len(m.Files) > 0
		}},
		{"random per-collection", []string{"--snapshot", "per-collection"}, nil},
		{"random per-server", nil, nil},
		{"random uncompressed", []string{"--snapshot", "per-collection", "--compress-output", "false"}, nil},
		// the classic replication API (as against 3.11): a file per collection job
		{"random classic", []string{"--parallel-dump", "false"}, nil},
	}
	for _, tc := range trials {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "d")
			args := append([]string{"--threads", "1", "--docs-per-batch", "100", "--batch-size", "131072"}, tc.extra...)
			id := tg.Server.AddFault(slow)
			classic := slow
			classic.PathPrefix = "/_api/replication/dump"
			id2 := tg.Server.AddFault(classic)
			wait := time.Duration(100+rng.IntN(3500)) * time.Millisecond
			var ready func() bool
			if tc.ready != nil {
				wait = 30 * time.Second
				ready = func() bool { return tc.ready(dir) }
			}
			took, finished := killedDump(t, tg, db, dir, wait, ready, args...)
			tg.Server.RemoveFault(id)
			tg.Server.RemoveFault(id2)
			before := manifestFiles(dir)
			if finished {
				// the random point fell after the end: --continue must leave it alone
				t.Logf("godump finished in %s, before the kill", took.Round(time.Millisecond))
				res := mustRun(t, "godump", dmGodumpArgs(tg, db, dir, append(args, "--continue", "true")...)...)
				if !strings.Contains(res.Stdout, "Already complete") {
					t.Errorf("continue a complete dump: %s", res)
				}
				return
			}
			if before != nil && before.Complete {
				t.Fatalf("killed after %s: the manifest says complete", took)
			}
			dmCheckManifestNoMarker(t, dir)
			committed := 0
			if before != nil {
				committed = len(before.Files)
			}
			t.Logf("killed after %s with %d data file(s) committed", took.Round(time.Millisecond), committed)
			if tc.ready != nil && committed == 0 {
				t.Fatal("killed once a file was committed, but the manifest lists none")
			}

			res := mustRun(t, "godump", dmGodumpArgs(tg, db, dir, append(args, "--continue", "true", "--json", "true")...)...)
			var sum struct {
				OK            bool  `json:"ok"`
				KeptFiles     int   `json:"keptFiles"`
				KeptDocuments int64 `json:"keptDocuments"`
			}
			if err := json.Unmarshal([]byte(res.Stdout), &sum); err != nil || !sum.OK {
				t.Fatalf("continue summary: %v: %s", err, res)
			}
			if sum.KeptFiles != committed {
				t.Errorf("continue kept %d file(s), the killed run had committed %d", sum.KeptFiles, committed)
			}
			dmCheckManifest(t, dir, true)
			m := manifestFiles(dir)
			if committed > 0 && len(m.Runs) != 2 {
				t.Errorf("runs recorded: %+v, want 2", m.Runs)
			}
			for i := range m.Files {
				if r := m.RunOf(&m.Files[i]); committed > 0 && r != 1 && r != 2 {
					t.Errorf("file %s: run %d", m.Files[i].Name, r)
				}
			}
			for coll, docs := range want {
				compareDocs(t, "continued dump of "+coll, docs, dumpDocs(t, dir, coll), "_rev", "_id")
			}
			if committed > 0 {
				// which collection comes from which run
				res := mustRun(t, "gorestore", dir, "--list", "--server.endpoint", "tcp://127.0.0.1:1")
				if !strings.Contains(res.Stdout, "written by 2 godump runs") || !strings.Contains(res.Stdout, "RUN") {
					t.Errorf("--list of a continued dump does not show the runs:\n%s", res.Stdout)
				}
				kept := map[string]bool{}
				for _, f := range before.Files {
					kept[f.Collection] = true
				}
				col, checked := -1, 0
				for _, line := range strings.Split(res.Stdout, "\n") {
					if strings.Contains(line, "COLLECTION") {
						col = strings.Index(line, " RUN ") + 1
						continue
					}
					f := strings.Fields(line)
					if col <= 0 || len(f) == 0 || !kept[f[0]] || len(line) <= col {
						continue
					}
					checked++
					if run := strings.Fields(line[col:])[0]; run != "1" {
						t.Errorf("--list: %s was written by run 1, its RUN column says %q in %q", f[0], run, line)
					}
				}
				if checked != len(kept) {
					t.Errorf("--list: %d of the %d kept collection(s) found:\n%s", checked, len(kept), res.Stdout)
				}
			}
			dst := uniqueDB(t, "kill_dst")
			tg.dropAtEnd(t, dst)
			mustRun(t, "gorestore", append(tg.serverArgs(dst), dir, "--create-database", "true", "--progress", "false")...)
			for coll, docs := range want {
				compareDocs(t, "restore of the continued dump, "+coll, docs, serverDocs(t, tg, dst, coll), "_rev", "_id")
			}
		})
	}

	// --continue on a finished dump does nothing and says so; with other options it refuses.
	dir := filepath.Join(t.TempDir(), "done")
	mustRun(t, "godump", dmGodumpArgs(tg, db, dir)...)
	before, _ := os.ReadFile(filepath.Join(dir, format.ManifestFileName))
	res := mustRun(t, "godump", dmGodumpArgs(tg, db, dir, "--continue", "true")...)
	after, _ := os.ReadFile(filepath.Join(dir, format.ManifestFileName))
	if !strings.Contains(res.Stdout, "Already complete") || string(before) != string(after) {
		t.Errorf("continue a complete dump: %s (manifest changed: %v)", res, string(before) != string(after))
	}
	part := filepath.Join(t.TempDir(), "part")
	id := tg.Server.AddFault(slow)
	_, _ = killedDump(t, tg, db, part, 30*time.Second, func() bool { return manifestFiles(part) != nil }, "--threads", "1")
	tg.Server.RemoveFault(id)
	res = runTool(t, "godump", dmGodumpArgs(tg, db, part, "--continue", "true", "--compress-output", "false")...)
	if res.Code != 1 || !strings.Contains(res.Stderr, "compress-output") || !strings.Contains(res.Stderr, "other options") {
		t.Errorf("continue with other options: %s", res)
	}
	res = runTool(t, "godump", dmGodumpArgs(tg, db, part, "--continue", "true", "--overwrite", "true")...)
	if res.Code != 2 {
		t.Errorf("--continue with --overwrite: %s", res)
	}
}

// dmCheckManifestNoMarker: an unfinished dump has no completion marker (its temporaries
// may be left by a kill; the continuing run removes them).
func dmCheckManifestNoMarker(t *testing.T, dir string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, format.ManifestFileName))
	if err == nil && strings.Contains(string(b), `"complete": true`) {
		t.Errorf("%s: a killed dump carries the completion marker", dir)
	}
}

// TestDumpPerCollectionSnapshotCluster: --snapshot per-collection on a cluster, with and
// without split files (a collection's shards then span several DB-Servers, each with a
// context of its own, and its one file is committed when the last of them ends).
func TestDumpPerCollectionSnapshotCluster(t *testing.T) {
	_, cl := rsClusterTarget(t, 1)
	db := uniqueDB(t, "pcs")
	cl.createDatabase(t, db)
	c := cl.conn(t, db)
	want := map[string]map[string]Doc{}
	for i, name := range []string{"alpha", "beta"} {
		must(t, c.DoJSON(context.Background(), client.Request{Method: "POST", Path: "/_api/collection", JSON: Doc{"name": name, "numberOfShards": 5}}, nil), "create "+name)
		sc := &seededCollection{Name: name, Type: 2, Docs: map[string]Doc{}}
		for j := 0; j < 700+i*300; j++ {
			k := name + strconv.Itoa(j)
			sc.Docs[k] = Doc{"_key": k, "n": json.Number(strconv.Itoa(j))}
		}
		insertDocs(t, c, sc)
		want[name] = sc.Docs
	}
	for _, split := range []string{"true", "false"} {
		dir := filepath.Join(t.TempDir(), "d"+split)
		mustRun(t, "godump", dmGodumpArgs(cl, db, dir, "--snapshot", "per-collection", "--split-files", split, "--docs-per-batch", "100")...)
		dmCheckManifest(t, dir, true)
		for name, docs := range want {
			compareDocs(t, "split="+split+" "+name, docs, dumpDocs(t, dir, name), "_rev", "_id")
		}
	}
}
