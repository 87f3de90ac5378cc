package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arangobackup/godump/arangotest"
	"github.com/arangobackup/godump/client"
)

// One snapshot per dump (issue 11): on 3.12 godump reads a single server's database through
// ONE dump context, and a cluster through one context per DB-Server, as arangodump does; each
// context is one snapshot, so what the dump holds is one point in time per server.

// snWritePair writes document key into vertices and the edge with the same key into edges,
// in one stream transaction: atomic on a real server, and in arangotest, whose commit runs
// under the gate that a dump context's snapshot takes.
func snWritePair(ctx context.Context, tg *target, c *client.Conn, key string) error {
	write := func() error {
		var trx struct {
			Result struct {
				ID string `json:"id"`
			} `json:"result"`
		}
		if err := c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/transaction/begin",
			JSON: Doc{"collections": Doc{"write": []string{"vertices", "edges"}}}}, &trx); err != nil {
			return fmt.Errorf("begin transaction: %w", err)
		}
		h := map[string]string{"x-arango-trx-id": trx.Result.ID}
		if err := c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/document/vertices", Header: h,
			JSON: Doc{"_key": key, "n": key}}, nil); err != nil {
			return fmt.Errorf("insert vertex %s: %w", key, err)
		}
		if err := c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/document/edges", Header: h,
			JSON: Doc{"_key": key, "_from": "vertices/" + key, "_to": "vertices/v0"}}, nil); err != nil {
			return fmt.Errorf("insert edge %s: %w", key, err)
		}
		if err := c.DoJSON(ctx, client.Request{Method: "PUT", Path: "/_api/transaction/" + trx.Result.ID}, nil); err != nil {
			return fmt.Errorf("commit transaction: %w", err)
		}
		return nil
	}
	return write()
}

// snContextCounter counts the /_api/dump/start requests a server answers (a rule that only
// matches: no status, no delay, no cut).
func snContextCounter(srv *arangotest.Server) func() int {
	id := srv.AddFault(arangotest.Fault{Method: "POST", PathPrefix: "/_api/dump/start", CutAfterBytes: -1})
	return func() int {
		for _, fi := range srv.Faults() {
			if fi.ID == id {
				return fi.Matched
			}
		}
		return -1
	}
}

// TestDumpOneSnapshot dumps a database while a writer keeps adding pairs of documents (a
// vertex and its edge, same key) in transactions: the dump must hold the same keys in both
// collections, more than the data there was before, from a single dump context. Dumping each
// collection through a context of its own (godump before issue 11) fails it: the collections
// are read at different times.
func TestDumpOneSnapshot(t *testing.T) {
	// against a real server (ARANGO_ENDPOINT) only the snapshot is checked: there are no
	// fault rules to slow the dump down or to count its contexts
	tg := newTarget(t, arangotest.Options{Version: "3.12.4"})
	db := uniqueDB(t, "snap")
	tg.createDatabase(t, db)
	c := tg.conn(t, db)
	ctx := context.Background()
	must(t, c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/collection", JSON: Doc{"name": "vertices"}}, nil), "create vertices")
	must(t, c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/collection", JSON: Doc{"name": "edges", "type": 3}}, nil), "create edges")
	const initial = 500
	vs := &seededCollection{Name: "vertices", Docs: map[string]Doc{}}
	es := &seededCollection{Name: "edges", Docs: map[string]Doc{}}
	for i := 0; i < initial; i++ {
		k := "v" + strconv.Itoa(i)
		vs.Docs[k] = Doc{"_key": k, "n": k}
		es.Docs[k] = Doc{"_key": k, "_from": "vertices/" + k, "_to": "vertices/v0"}
	}
	insertDocs(t, c, vs)
	insertDocs(t, c, es)

	contexts := func() int { return -1 }
	if tg.Server != nil {
		contexts = snContextCounter(tg.Server)
		// slow every batch down, so that a dump takes long against the writer
		tg.Server.AddFault(arangotest.Fault{PathPrefix: "/_api/dump/next", Delay: 20 * time.Millisecond, CutAfterBytes: -1})
	}

	wctx, stop := context.WithCancel(ctx)
	var written atomic.Int64
	var wg sync.WaitGroup
	var werr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; wctx.Err() == nil; i++ {
			if err := snWritePair(wctx, tg, c, "w"+strconv.Itoa(i)); err != nil {
				if wctx.Err() == nil {
					werr = err
				}
				return
			}
			written.Add(1)
		}
	}()
	stopWriter := func() {
		stop()
		wg.Wait()
		if werr != nil {
			t.Fatalf("writer: %v", werr)
		}
	}
	defer stopWriter()
	for deadline := time.Now().Add(30 * time.Second); written.Load() < 20; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) || werr != nil {
			t.Fatalf("the writer wrote %d pairs in 30s (%v)", written.Load(), werr)
		}
	}
	dir := filepath.Join(t.TempDir(), "d")
	// one thread: per-collection contexts would be taken one after the other
	mustRun(t, "godump", dmGodumpArgs(tg, db, dir, "--threads", "1", "--docs-per-batch", "100")...)
	during := written.Load()
	stopWriter()
	if during < 25 {
		t.Errorf("only %d pairs were written while the dump ran; the test proves little", during)
	}

	v, e := dumpDocs(t, dir, "vertices"), dumpDocs(t, dir, "edges")
	var onlyV, onlyE []string
	for k := range v {
		if _, ok := e[k]; !ok {
			onlyV = append(onlyV, k)
		}
	}
	for k, d := range e {
		if _, ok := v[k]; !ok {
			onlyE = append(onlyE, k)
		}
		if d["_from"] != "vertices/"+k {
			t.Errorf("edge %s: _from %v", k, d["_from"])
		}
	}
	sort.Strings(onlyV)
	sort.Strings(onlyE)
	if len(onlyV) > 0 || len(onlyE) > 0 {
		t.Errorf("the dump is not one point in time: %d vertices without their edge (%v), %d edges without their vertex (%v); %d vertices, %d edges",
			len(onlyV), snFirst(onlyV), len(onlyE), snFirst(onlyE), len(v), len(e))
	}
	if len(v) <= initial+10 {
		t.Errorf("the dump holds %d pairs, barely more than the %d there were before the writer started", len(v), initial)
	}
	for k := range vs.Docs {
		if _, ok := v[k]; !ok {
			t.Fatalf("vertex %s of the initial data is missing", k)
		}
	}
	if n := contexts(); tg.Server != nil && n != 1 {
		t.Errorf("a single-server dump of one database started %d dump contexts, want 1", n)
	}
	dmCheckManifest(t, dir, true)
}

func snFirst(keys []string) []string {
	return keys[:min(len(keys), 5)]
}

// TestDumpOneContextPerDBServer: a cluster dump starts one dump context per DB-Server that
// leads shards of the dumped collections (each with all those shards), and gets every
// document of every shard.
func TestDumpOneContextPerDBServer(t *testing.T) {
	if realEndpoint() != "" {
		t.Skip("needs an arangotest cluster")
	}
	cl, err := arangotest.NewCluster(arangotest.ClusterOptions{Options: arangotest.Options{Version: "3.12.4"}, DBServers: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	tg := &target{Endpoint: cl.Endpoints()[0], Server: cl.Coordinators()[0], Username: "root"}
	db := uniqueDB(t, "ctxs")
	tg.createDatabase(t, db)
	c := tg.conn(t, db)
	ctx := context.Background()
	must(t, c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/collection", JSON: Doc{"name": "vertices", "numberOfShards": 4}}, nil), "create vertices")
	must(t, c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/collection",
		JSON: Doc{"name": "edges", "type": 3, "distributeShardsLike": "vertices"}}, nil), "create edges")
	must(t, c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/collection", JSON: Doc{"name": "single", "numberOfShards": 1}}, nil), "create single")
	vs := &seededCollection{Name: "vertices", Docs: map[string]Doc{}}
	es := &seededCollection{Name: "edges", Docs: map[string]Doc{}}
	ss := &seededCollection{Name: "single", Docs: map[string]Doc{}}
	for i := 0; i < 400; i++ {
		k := "k" + strconv.Itoa(i)
		vs.Docs[k] = Doc{"_key": k, "n": json.Number(strconv.Itoa(i))}
		es.Docs[k] = Doc{"_key": k, "_from": "vertices/" + k, "_to": "vertices/k0"}
		if i < 50 {
			ss.Docs[k] = Doc{"_key": k}
		}
	}
	insertDocs(t, c, vs)
	insertDocs(t, c, es)
	insertDocs(t, c, ss)

	// the leaders of every shard, as the cluster inventory shows them
	var inv struct {
		Collections []struct {
			Parameters struct {
				Name   string              `json:"name"`
				Shards map[string][]string `json:"shards"`
			} `json:"parameters"`
		} `json:"collections"`
	}
	must(t, c.DoJSON(ctx, client.Request{Method: "GET", Path: "/_api/replication/clusterInventory"}, &inv), "cluster inventory")
	leaders := map[string]bool{}
	for _, col := range inv.Collections {
		if col.Parameters.Name == "vertices" || col.Parameters.Name == "edges" || col.Parameters.Name == "single" {
			for _, servers := range col.Parameters.Shards {
				leaders[servers[0]] = true
			}
		}
	}
	if len(leaders) < 2 {
		t.Fatalf("the shards lead on %d DB-Server(s); the test needs several", len(leaders))
	}

	for _, split := range []string{"true", "false"} {
		t.Run("split-files="+split, func(t *testing.T) {
			contexts := snContextCounter(tg.Server)
			dir := filepath.Join(t.TempDir(), "d")
			mustRun(t, "godump", dmGodumpArgs(tg, db, dir, "--threads", "2", "--docs-per-batch", "100", "--split-files", split)...)
			if n := contexts(); n != len(leaders) {
				t.Errorf("cluster dump started %d dump contexts, want one per DB-Server leading shards (%d)", n, len(leaders))
			}
			compareDocs(t, "cluster dump of vertices", vs.Docs, dumpDocs(t, dir, "vertices"))
			compareDocs(t, "cluster dump of edges", es.Docs, dumpDocs(t, dir, "edges"))
			compareDocs(t, "cluster dump of single", ss.Docs, dumpDocs(t, dir, "single"))
			files := dataFilesOf(t, dir, "vertices")
			if want := map[string]int{"true": 4, "false": 1}[split]; len(files) != want {
				t.Errorf("--split-files %s: %d data files of vertices, want %d", split, len(files), want)
			}
			dmCheckManifest(t, dir, true)
			tg.Server.ClearFaults()
		})
	}
}
