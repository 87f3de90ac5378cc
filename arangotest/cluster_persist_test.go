package arangotest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arangobackup/godump/datadir"
)

// sortedDigest is imageDigest with every collection's documents in key order (a restart reads
// the shards back in write order, which can differ from the in-memory order after updates).
func sortedDigest(img *stateImage) string {
	for _, db := range img.Databases {
		sort.Slice(db.Collections, func(i, j int) bool { return db.Collections[i].Name < db.Collections[j].Name })
		for _, c := range db.Collections {
			sort.Slice(c.docs, func(i, j int) bool { return c.docs[i].Key < c.docs[j].Key })
		}
	}
	return imageDigest(img)
}

func (cl *Cluster) testDigest() string {
	return sortedDigest(cl.state.store.captureImage("x", "COORDINATOR", len(cl.state.dbservers)))
}

// clusterProcessDirs lists the directories of every process of cl under top.
func clusterProcessDirs(cl *Cluster, top string) []string {
	dirs := []string{filepath.Join(top, agentDirName)}
	for i := range cl.coords {
		dirs = append(dirs, filepath.Join(top, coordDirPrefix+strconv.Itoa(i+1)))
	}
	for _, id := range cl.DBServers() {
		dirs = append(dirs, filepath.Join(top, dbserverDirPrefix+id))
	}
	return dirs
}

func TestClusterDataDirSurvivesRestart(t *testing.T) {
	top := filepath.Join(t.TempDir(), "cluster")
	opts := ClusterOptions{Options: Options{DataDir: top}, Coordinators: 2, DBServers: 3}
	cl, err := NewCluster(opts)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			cl.Close()
		}
	}()
	if got := cl.coords[0].DataDir(); got != top {
		t.Fatalf("DataDir() = %q, want %q", got, top)
	}
	dirs := clusterProcessDirs(cl, top)
	for _, d := range dirs {
		if locked, pid, err := datadir.IsLocked(d); err != nil || !locked || pid != os.Getpid() {
			t.Fatalf("%s/LOCK while running: locked=%v pid=%d err=%v", d, locked, pid, err)
		}
	}
	// Another cluster on the same directory is refused.
	if cl2, err := NewCluster(opts); err == nil {
		cl2.Close()
		t.Fatal("a second cluster opened a locked data directory")
	} else if !errors.Is(err, datadir.ErrLocked) {
		t.Fatalf("second cluster: %v, want datadir.ErrLocked", err)
	}

	ep := cl.Endpoints()[0]
	ep2 := cl.Endpoints()[1]
	clSeed(t, ep, "sharded", map[string]any{"numberOfShards": 6}, 600)
	clSeed(t, ep2, "bycity", map[string]any{"numberOfShards": 4, "shardKeys": []string{"g"}, "replicationFactor": 2}, 200)
	hbOK(t, hbDo(t, ep, "POST", "/_api/index?collection=sharded", map[string]any{"type": "persistent", "fields": []string{"g"}, "name": "byG"}), "index")
	hbMust(t, hbDo(t, ep, "POST", "/_api/user", map[string]any{"user": "bob", "passwd": "pw"}), 201, "user")
	hbCreateDB(t, ep, "other")
	hbMust(t, hbDo(t, ep, "POST", "/_db/other/_api/collection", map[string]any{"name": "c", "numberOfShards": 2}), 200, "collection in other")
	for i := 0; i < 50; i++ {
		hbInsert(t, ep2, "other", "c", map[string]any{"_key": fmt.Sprintf("o%d", i), "v": i})
	}
	// A hot backup kept in the data directory, then more changes after it.
	hbID := hbBackup(t, ep, map[string]any{"label": "clusterdisk"})
	atBackup := cl.testDigest()
	hbOK(t, hbDo(t, ep, "DELETE", "/_api/document/sharded/k0", nil), "remove k0")
	hbOK(t, hbDo(t, ep, "PATCH", "/_api/document/sharded/k1", map[string]any{"n": "changed"}), "update k1")

	shardsBefore := map[string]clShardInfo{"sharded": clShards(t, ep, "sharded"), "bycity": clShards(t, ep, "bycity")}
	docShard := map[string]string{}
	for i := 1; i < 600; i++ {
		sh, err := cl.ShardOf("_system", "sharded", []byte(fmt.Sprintf(`{"_key":"k%d"}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		docShard["k"+strconv.Itoa(i)] = sh
	}
	dbservers := cl.DBServers()
	coordIDs := append([]string(nil), cl.state.coordIDs...)
	clusterID := cl.state.clusterID
	want := cl.testDigest()
	if err := cl.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	for _, d := range dirs {
		if locked, _, _ := datadir.IsLocked(d); locked {
			t.Fatalf("%s/LOCK still held after Close", d)
		}
	}

	// Each DB-Server's directory holds exactly the shards it leads, with their documents.
	leads := map[string]map[string]bool{}
	for _, si := range shardsBefore {
		for _, id := range si.ids {
			leader := si.servers[id][0]
			if leads[leader] == nil {
				leads[leader] = map[string]bool{}
			}
			leads[leader][id] = true
		}
	}
	onDisk := 0
	for _, id := range dbservers {
		b, err := os.ReadFile(filepath.Join(top, dbserverDirPrefix+id, engineDirName, manifestName))
		if err != nil {
			t.Fatal(err)
		}
		var list dbserverShardList
		if err := json.Unmarshal(b, &list); err != nil || list.ServerID != id {
			t.Fatalf("%s: %v %+v", id, err, list)
		}
		for _, sh := range list.Shards {
			docs, err := readDataFile(filepath.Join(top, dbserverDirPrefix+id, engineDirName, sh.File))
			if err != nil || len(docs) != sh.Count {
				t.Fatalf("%s shard %s: %d documents, list says %d (%v)", id, sh.Shard, len(docs), sh.Count, err)
			}
			if sh.Database == "_system" && (sh.Collection == "sharded" || sh.Collection == "bycity") && !leads[id][sh.Shard] {
				t.Errorf("%s holds shard %s/%s it does not lead", id, sh.Collection, sh.Shard)
			}
			if sh.Collection == "sharded" {
				for _, d := range docs {
					if docShard[d.Key] != sh.Shard {
						t.Errorf("document %s lies in shard file %s, its shard is %s", d.Key, sh.Shard, docShard[d.Key])
					}
					onDisk++
				}
			}
		}
	}
	if onDisk != 599 {
		t.Errorf("%d documents of sharded on the DB-Servers' disks, want 599", onDisk)
	}

	// Started with another number of DB-Servers: refused.
	if cl2, err := NewCluster(ClusterOptions{Options: Options{DataDir: top}, Coordinators: 2, DBServers: 2}); err == nil {
		cl2.Close()
		t.Fatal("a cluster with 2 DB-Servers opened a 3 DB-Server data directory")
	} else if !strings.Contains(err.Error(), "--dbservers 3") {
		t.Fatalf("wrong topology: %v", err)
	}
	// A single server on a cluster's directory: refused.
	if s, err := NewServer(Options{DataDir: top}); err == nil {
		s.Close()
		t.Fatal("a single server opened a cluster's data directory")
	}

	// A DB-Server's directory missing: refused, naming it, and nothing left locked.
	gone := filepath.Join(top, dbserverDirPrefix+dbservers[1])
	if err := os.Rename(gone, gone+".away"); err != nil {
		t.Fatal(err)
	}
	if cl2, err := NewCluster(opts); err == nil {
		cl2.Close()
		t.Fatal("a cluster started without one DB-Server's directory")
	} else if !strings.Contains(err.Error(), gone) {
		t.Fatalf("missing DB-Server directory: %v", err)
	}
	if err := os.Rename(gone+".away", gone); err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if locked, _, _ := datadir.IsLocked(d); locked {
			t.Fatalf("%s/LOCK held after a refused start", d)
		}
	}

	cl2, err := NewCluster(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	if got := cl2.testDigest(); got != want {
		t.Fatalf("after restart the data differs: %s", firstDiff(want, got))
	}
	if !equalStrings(cl2.DBServers(), dbservers) || !equalStrings(cl2.state.coordIDs, coordIDs) || cl2.state.clusterID != clusterID {
		t.Fatalf("identity changed: %v %v %s, was %v %v %s", cl2.DBServers(), cl2.state.coordIDs, cl2.state.clusterID, dbservers, coordIDs, clusterID)
	}
	nep := cl2.Endpoints()[1]
	for name, before := range shardsBefore {
		after := clShards(t, nep, name)
		if !equalStrings(after.ids, before.ids) {
			t.Fatalf("%s: shards %v after restart, were %v", name, after.ids, before.ids)
		}
		for _, id := range before.ids {
			if !equalStrings(after.servers[id], before.servers[id]) {
				t.Fatalf("%s shard %s: servers %v after restart, were %v", name, id, after.servers[id], before.servers[id])
			}
		}
	}
	for key, sh := range docShard {
		got, err := cl2.ShardOf("_system", "sharded", []byte(`{"_key":"`+key+`"}`))
		if err != nil || got != sh {
			t.Fatalf("document %s: shard %s after restart, was %s (%v)", key, got, sh, err)
		}
	}
	// New shards get new ids, not reused ones.
	hbMust(t, hbDo(t, nep, "POST", "/_api/collection", map[string]any{"name": "fresh", "numberOfShards": 2}), 200, "new collection")
	for _, id := range clShards(t, nep, "fresh").ids {
		for _, si := range shardsBefore {
			for _, old := range si.ids {
				if id == old {
					t.Fatalf("new collection got the old shard id %s", id)
				}
			}
		}
	}
	// The hot backup is still there and restores.
	hb := cl2.state.store.backups()
	hb.restartDelay.Store(1)
	if r := hbDo(t, nep, "POST", "/_admin/backup/list", map[string]any{"id": hbID}); r.status != 200 {
		t.Fatalf("hot backup %s lost in the restart: %d %s", hbID, r.status, r.body)
	}
	hbOK(t, hbDo(t, nep, "POST", "/_admin/backup/restore", map[string]any{"id": hbID}), "restore")
	waitAvailable(t, nep)
	if got := cl2.testDigest(); got != atBackup {
		t.Fatalf("hot backup restored after a restart: %s", firstDiff(atBackup, got))
	}
	for name, before := range shardsBefore {
		after := clShards(t, nep, name)
		if !equalStrings(after.ids, before.ids) {
			t.Fatalf("%s: shards %v after the hot restore, were %v", name, after.ids, before.ids)
		}
	}
}

// A hot restore in cluster mode brings back the shard ids and placement of the backup, also
// for a collection dropped after it, and documents stay on their shards.
func TestClusterHotRestoreKeepsShards(t *testing.T) {
	cl := clStart(t, 2, 3)
	cl.state.store.backups().restartDelay.Store(1)
	ep := cl.Endpoints()[0]
	clSeed(t, ep, "keep", map[string]any{"numberOfShards": 5}, 300)
	clSeed(t, ep, "gone", map[string]any{"numberOfShards": 3, "replicationFactor": 2}, 100)
	before := map[string]clShardInfo{"keep": clShards(t, ep, "keep"), "gone": clShards(t, ep, "gone")}
	docShard := map[string]string{}
	for i := 0; i < 300; i++ {
		k := "k" + strconv.Itoa(i)
		sh, err := cl.ShardOf("_system", "keep", []byte(`{"_key":"`+k+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		docShard[k] = sh
	}
	id := hbBackup(t, ep, map[string]any{"label": "shards"})
	want := cl.testDigest()
	hbOK(t, hbDo(t, ep, "DELETE", "/_api/collection/gone", nil), "drop gone")
	clSeed(t, ep, "later", map[string]any{"numberOfShards": 4}, 10)
	laterShards := clShards(t, ep, "later").ids
	hbOK(t, hbDo(t, cl.Endpoints()[1], "POST", "/_admin/backup/restore", map[string]any{"id": id}), "restore")
	waitAvailable(t, ep)
	if got := cl.testDigest(); got != want {
		t.Fatalf("restored data differs: %s", firstDiff(want, got))
	}
	for name, b := range before {
		a := clShards(t, ep, name)
		if !equalStrings(a.ids, b.ids) {
			t.Fatalf("%s: shards %v after the hot restore, were %v", name, a.ids, b.ids)
		}
		for _, s := range b.ids {
			if !equalStrings(a.servers[s], b.servers[s]) {
				t.Fatalf("%s shard %s: servers %v after the hot restore, were %v", name, s, a.servers[s], b.servers[s])
			}
		}
	}
	for k, sh := range docShard {
		if got, err := cl.ShardOf("_system", "keep", []byte(`{"_key":"`+k+`"}`)); err != nil || got != sh {
			t.Fatalf("document %s: shard %s after the hot restore, was %s (%v)", k, got, sh, err)
		}
	}
	// A collection created now gets new shard ids, not those of the collection the restore dropped.
	clSeed(t, ep, "fresh", map[string]any{"numberOfShards": 2}, 1)
	for _, s := range clShards(t, ep, "fresh").ids {
		for _, old := range append(append([]string(nil), laterShards...), append(before["keep"].ids, before["gone"].ids...)...) {
			if s == old {
				t.Fatalf("new collection got the old shard id %s", s)
			}
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// copyTreeWithoutLocks copies a data directory tree as a crash would leave it (LOCK files are
// the running processes' and are left out).
func copyTreeWithoutLocks(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if fi.Name() == datadir.LockFileName || strings.HasSuffix(fi.Name(), ".tmp") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Without a Close (a SIGKILL), what the periodic flush wrote is a complete state a cluster
// starts on.
func TestClusterDataDirFlushesWhileRunning(t *testing.T) {
	top := filepath.Join(t.TempDir(), "cluster")
	cl, err := NewCluster(ClusterOptions{Options: Options{DataDir: top}, DBServers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ep := cl.Endpoints()[0]
	clSeed(t, ep, "flushed", map[string]any{"numberOfShards": 3}, 250)
	shards := clShards(t, ep, "flushed")
	want := cl.testDigest()
	cd := &clusterDirs{top: top, cs: cl.state}
	deadline := time.Now().Add(4 * flushInterval)
	for {
		plan, err := cd.readPlan()
		if err != nil {
			t.Fatal(err)
		}
		n := -1
		for _, db := range plan.State.Databases {
			for _, c := range db.Collections {
				if db.Name == "_system" && c.Name == "flushed" {
					n = c.Count
				}
			}
		}
		if n == 250 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v the plan on disk has %d documents of flushed, want 250", 4*flushInterval, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	crashed := filepath.Join(t.TempDir(), "crashed")
	copyTreeWithoutLocks(t, top, crashed)
	cl2, err := NewCluster(ClusterOptions{Options: Options{DataDir: crashed}, DBServers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	if got := cl2.testDigest(); got != want {
		t.Fatalf("started on the flushed state: %s", firstDiff(want, got))
	}
	if got := clShards(t, cl2.Endpoints()[0], "flushed"); !equalStrings(got.ids, shards.ids) {
		t.Fatalf("shards %v on the flushed state, were %v", got.ids, shards.ids)
	}
}

// BenchmarkClusterDataDirSave measures one save of a cluster's state after one document
// changed (one shard file rewritten, the others kept by name): 100,000 documents, 6 shards on
// 3 DB-Servers.
func BenchmarkClusterDataDirSave(b *testing.B) {
	top := filepath.Join(b.TempDir(), "cluster")
	cl, err := NewCluster(ClusterOptions{Options: Options{DataDir: top}, DBServers: 3})
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ep := cl.Endpoints()[0]
	hbMust(b, hbDo(b, ep, "POST", "/_api/collection", map[string]any{"name": "big", "numberOfShards": 6}), 200, "create")
	const n = 100000
	for off := 0; off < n; off += 5000 {
		docs := make([]map[string]any, 5000)
		for i := range docs {
			docs[i] = map[string]any{"_key": "k" + strconv.Itoa(off+i), "v": strings.Repeat("x", 100)}
		}
		r := hbDo(b, ep, "POST", "/_api/document/big", docs)
		if r.status != 201 && r.status != 202 {
			b.Fatalf("insert: %d", r.status)
		}
	}
	d := cl.state.store.backups().disk
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		hbOK(b, hbDo(b, ep, "PATCH", "/_api/document/big/k1", map[string]any{"n": i}), "update")
		img := cl.state.store.captureImage("x", "COORDINATOR", 3)
		if err := d.save(img); err != nil {
			b.Fatal(err)
		}
	}
}
