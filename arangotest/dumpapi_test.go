package arangotest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/arangodb/go-velocypack"
)

func rtStartDump(t testing.TB, s *Server, body string, query string) string {
	t.Helper()
	r := rtDo(t, s, "POST", "/_api/dump/start"+query, []byte(body))
	rtStatus(t, r, 201, "dump start")
	id := r.header.Get("x-arango-dump-id")
	if !strings.HasPrefix(id, "dump-") {
		t.Fatalf("dump id %q", id)
	}
	return id
}

func TestParallelDumpSnapshotResendAndEnd(t *testing.T) {
	s := rtServer(t, Options{})
	a := rtColl(t, s, "a", 2)
	b := rtColl(t, s, "b", 3)
	for i := 0; i < 25; i++ {
		rtPut(t, a, fmt.Sprintf(`{"_key":"a%02d","n":%d}`, i, i))
		rtPut(t, b, fmt.Sprintf(`{"_key":"e%02d","_from":"a/a%02d","_to":"a/a00"}`, i, i))
	}
	id := rtStartDump(t, s, `{"shards":["a","b"],"batchSize":100000,"docsPerBatch":7,"prefetchCount":2,"parallelism":2}`, "")

	// Writes after the start are invisible.
	rtPut(t, a, `{"_key":"late"}`)
	rtPut(t, a, `{"_key":"a00","n":-1}`)
	if err := b.RemoveKey("e01"); err != nil {
		t.Fatal(err)
	}

	next := func(batch int, last int) rtResp {
		q := fmt.Sprintf("/_api/dump/next/%s?batchId=%d", id, batch)
		if last > 0 {
			q += "&lastBatch=" + strconv.Itoa(last)
		}
		return rtDo(t, s, "POST", q, nil)
	}
	r1 := next(1, 0)
	rtStatus(t, r1, 200, "next 1")
	// Retrying a batch that was not acknowledged returns the same bytes and shard.
	r1again := next(1, 0)
	rtStatus(t, r1again, 200, "next 1 again")
	if !bytes.Equal(r1.body, r1again.body) || r1.header.Get("x-arango-dump-shard-id") != r1again.header.Get("x-arango-dump-shard-id") {
		t.Fatalf("re-sent batch differs:\n%s\n%s", r1.body, r1again.body)
	}
	// docsPerBatch 7 is below the server's lower bound (DumpLimits docsPerBatchLowerBound 10,
	// clamped by RocksDBDumpManager::createContext).
	if got := len(rtLines(t, r1.body)); got != 10 {
		t.Fatalf("first batch has %d documents, want 10 (docsPerBatch 7 raised to the minimum)", got)
	}

	perShard := map[string]map[string]map[string]any{"a": {}, "b": {}}
	add := func(r rtResp) {
		shard := r.header.Get("x-arango-dump-shard-id")
		if perShard[shard] == nil {
			t.Fatalf("batch with shard header %q", shard)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-arango-dump") {
			t.Fatalf("content type %q", ct)
		}
		if r.header.Get("x-arango-dump-block-counts") == "" {
			t.Fatal("missing x-arango-dump-block-counts")
		}
		for _, d := range rtLines(t, r.body) {
			k := d["_key"].(string)
			if _, dup := perShard[shard][k]; dup {
				t.Fatalf("document %s/%s delivered twice", shard, k)
			}
			perShard[shard][k] = d
		}
	}
	add(r1)
	last := 1
	for batch := 2; ; batch++ {
		r := next(batch, last)
		if r.status == 204 {
			break
		}
		rtStatus(t, r, 200, "next")
		add(r)
		last = batch
		if batch > 100 {
			t.Fatal("dump does not end")
		}
	}
	if len(perShard["a"]) != 25 || len(perShard["b"]) != 25 {
		t.Fatalf("dumped a=%d b=%d documents, want 25 each", len(perShard["a"]), len(perShard["b"]))
	}
	if _, ok := perShard["a"]["late"]; ok {
		t.Fatal("document written after dump start is visible")
	}
	if perShard["a"]["a00"]["n"] != float64(0) {
		t.Fatalf("replaced document shows the new value %v", perShard["a"]["a00"]["n"])
	}
	if _, ok := perShard["b"]["e01"]; !ok {
		t.Fatal("document removed after dump start is missing")
	}
	if perShard["b"]["e05"]["_from"] != "a/a05" {
		t.Fatalf("edge lost _from: %v", perShard["b"]["e05"])
	}
	// Acknowledged batches are gone: asking for batch 1 again now cuts nothing new (204).
	rtStatus(t, next(1, 0), 204, "next after the end")

	r := rtDo(t, s, "POST", "/_api/dump/next/"+id, nil)
	if r.status != 400 || !strings.Contains(string(r.body), "expecting 'batchId'") {
		t.Fatalf("next without batchId: %d %s", r.status, r.body)
	}
	rtStatus(t, rtDo(t, s, "DELETE", "/_api/dump/"+id, nil), 200, "delete dump")
	r = next(99, 0)
	if r.status != 404 || r.errorNum(t) != 1600 {
		t.Fatalf("next on deleted dump: %d %s", r.status, r.body)
	}
	r = rtDo(t, s, "DELETE", "/_api/dump/"+id, nil)
	if r.status != 404 || r.errorNum(t) != 1600 {
		t.Fatalf("delete deleted dump: %d %s", r.status, r.body)
	}
	r = rtDo(t, s, "POST", "/_api/dump/start", []byte(`{"shards":["nope"]}`))
	if r.status != 404 || r.errorNum(t) != 1203 {
		t.Fatalf("start with unknown shard: %d %s", r.status, r.body)
	}
	r = rtDo(t, s, "POST", "/_api/dump/bogus", nil)
	if r.status != 400 {
		t.Fatalf("bad dump route: %d %s", r.status, r.body)
	}
}

func TestParallelDumpBatchSize(t *testing.T) {
	s := rtServer(t, Options{})
	a := rtColl(t, s, "a", 2)
	for i := 0; i < 200; i++ {
		rtPut(t, a, fmt.Sprintf(`{"_key":"k%03d","pad":"%s"}`, i, strings.Repeat("p", 90)))
	}
	id := rtStartDump(t, s, `{"shards":["a"],"batchSize":1000,"docsPerBatch":100000}`, "")
	total, batches := 0, 0
	for batch := 1; ; batch++ {
		r := rtDo(t, s, "POST", fmt.Sprintf("/_api/dump/next/%s?batchId=%d&lastBatch=%d", id, batch, batch-1), nil)
		if r.status == 204 {
			break
		}
		rtStatus(t, r, 200, "next")
		// batchSize 1000 is raised to the server's lower bound of 4096 (DumpLimits
		// batchSizeLowerBound, clamped by RocksDBDumpManager::createContext)
		if len(r.body) > 4096+200 {
			t.Fatalf("batch of %d bytes exceeds batchSize 4096 by more than one document", len(r.body))
		}
		total += len(rtLines(t, r.body))
		batches++
	}
	if total != 200 || batches < 5 {
		t.Fatalf("got %d documents in %d batches", total, batches)
	}
}

func TestParallelDumpVelocyPack(t *testing.T) {
	s := rtServer(t, Options{})
	a := rtColl(t, s, "a", 2)
	rtPut(t, a, `{"_key":"x","n":1}`)
	rtPut(t, a, `{"_key":"y","n":2}`)
	id := rtStartDump(t, s, `{"shards":["a"]}`, "?useVPack=true")
	r := rtDo(t, s, "POST", "/_api/dump/next/"+id+"?batchId=1", nil)
	rtStatus(t, r, 200, "next vpack")
	// RestDumpHandler::handleCommandDumpNext sets ContentType::DUMP for VelocyPack batches too
	if ct := r.header.Get("Content-Type"); ct != "application/x-arango-dump; charset=utf-8" {
		t.Fatalf("content type %q", ct)
	}
	sl := velocypack.Slice(r.body)
	n, err := sl.Length()
	if err != nil || !sl.IsArray() || n != 2 {
		t.Fatalf("vpack batch: array=%v len=%d err=%v", sl.IsArray(), n, err)
	}
	js, err := sl.JSONString()
	if err != nil || !strings.Contains(js, `"_key":"x"`) {
		t.Fatalf("vpack content %s %v", js, err)
	}
}

func TestDumpAPIAbsentOn311(t *testing.T) {
	s := rtServer(t, Options{Version: "3.11.8"})
	c := rtColl(t, s, "a", 2)
	rtPut(t, c, `{"_key":"x"}`)
	r := rtDo(t, s, "POST", "/_api/dump/start", []byte(`{"shards":["a"]}`))
	if r.status != 404 || r.errorNum(t) != 404 || !strings.Contains(string(r.body), "unknown path") {
		t.Fatalf("3.11 /_api/dump/start: %d %s", r.status, r.body)
	}
	// The classic API works.
	batch := rtBatch(t, s)
	docs, _ := rtDumpAll(t, s, "a", batch, false, 1<<20)
	if len(docs) != 1 {
		t.Fatalf("classic dump on 3.11: %d documents", len(docs))
	}
}

// rtDrainDump reads a dump context to its end and returns the keys of every shard's batches.
func rtDrainDump(t testing.TB, s *Server, id string) map[string]map[string]bool {
	t.Helper()
	got := map[string]map[string]bool{}
	last := -1
	for batch := 0; ; batch++ {
		q := fmt.Sprintf("/_api/dump/next/%s?batchId=%d", id, batch)
		if last >= 0 {
			q += "&lastBatch=" + strconv.Itoa(last)
		}
		r := rtDo(t, s, "POST", q, nil)
		if r.status == 204 {
			break
		}
		rtStatus(t, r, 200, "next")
		shard := r.header.Get("x-arango-dump-shard-id")
		if got[shard] == nil {
			got[shard] = map[string]bool{}
		}
		for _, d := range rtLines(t, r.body) {
			k := d["_key"].(string)
			if got[shard][k] {
				t.Fatalf("%s/%s delivered twice", shard, k)
			}
			got[shard][k] = true
		}
		last = batch
	}
	rtStatus(t, rtDo(t, s, "DELETE", "/_api/dump/"+id, nil), 200, "delete dump")
	return got
}

// TestParallelDumpOneSnapshotAcrossShards: writers keep inserting (and removing) pairs of
// documents with the same key in two collections, each pair as one atomic step; every dump
// context started meanwhile must hold each pair in both collections or in neither, because a
// context reads all its shards from one snapshot (RocksDBDumpContext's constructor takes one
// RocksDB snapshot). Snapshotting the collections one after the other fails this.
func TestParallelDumpOneSnapshotAcrossShards(t *testing.T) {
	s := rtServer(t, Options{})
	va := rtColl(t, s, "va", 2)
	eb := rtColl(t, s, "eb", 3)
	pair := func(k string) error {
		if err := va.RestoreDocument([]byte(`{"_key":"` + k + `","n":1}`)); err != nil {
			return err
		}
		runtime.Gosched() // give a snapshot every chance to fall between the two writes
		return eb.RestoreDocument([]byte(`{"_key":"` + k + `","_from":"va/` + k + `","_to":"va/` + k + `"}`))
	}
	// many documents, so that copying one collection takes a while: a snapshot taken one
	// collection after the other then misses the writers' pairs by half
	const initial = 5000
	for i := 0; i < initial; i++ {
		if err := pair(fmt.Sprintf("init%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	errc := make(chan error, 3)
	var wg sync.WaitGroup
	var written atomic.Int64
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var err error
				s.Atomically(func() {
					if err = pair(fmt.Sprintf("w%d-%d", w, i)); err != nil || i < 5 {
						return
					}
					// remove an earlier pair, again both documents in one step (so that the
					// data set stays the same size)
					old := fmt.Sprintf("w%d-%d", w, i-5)
					if err = va.RemoveKey(old); err == nil {
						runtime.Gosched()
						err = eb.RemoveKey(old)
					}
				})
				if err != nil {
					errc <- err
					return
				}
				written.Add(1)
			}
		}()
	}
	defer func() {
		close(stop)
		wg.Wait()
	}()
	maxPairs := 0
	for round := 0; round < 10; round++ {
		shards := `["va","eb"]`
		if round%2 == 1 {
			shards = `["eb","va"]`
		}
		for start := written.Load(); written.Load() < start+5; {
			select {
			case err := <-errc:
				t.Fatal(err)
			default:
				runtime.Gosched()
			}
		}
		id := rtStartDump(t, s, `{"shards":`+shards+`,"docsPerBatch":5000,"batchSize":10000000,"parallelism":3}`, "")
		got := rtDrainDump(t, s, id)
		for k := range got["va"] {
			if !got["eb"][k] {
				t.Fatalf("round %d: pair %s is in va but not in eb (va %d, eb %d documents): the context's shards are not one snapshot",
					round, k, len(got["va"]), len(got["eb"]))
			}
		}
		for k := range got["eb"] {
			if !got["va"][k] {
				t.Fatalf("round %d: pair %s is in eb but not in va (va %d, eb %d documents): the context's shards are not one snapshot",
					round, k, len(got["va"]), len(got["eb"]))
			}
		}
		maxPairs = max(maxPairs, len(got["va"]))
	}
	if maxPairs <= initial {
		t.Fatalf("the writers added nothing the dumps saw (at most %d pairs)", maxPairs)
	}
}

// TestParallelDumpBatchOrderLikeRocksDB: the context hands out batches as RocksDBDumpContext
// produces them: work items taken from the back of the shard list (WorkItems::pop), one per
// worker, workers taking turns, and a worker's range split in half after a batch when more
// than 5000 documents are left (handleWorkItem).
func TestParallelDumpBatchOrderLikeRocksDB(t *testing.T) {
	s := rtServer(t, Options{})
	for _, n := range []string{"x", "y", "z"} {
		c := rtColl(t, s, n, 2)
		for i := 0; i < 30; i++ {
			rtPut(t, c, fmt.Sprintf(`{"_key":"%s%02d"}`, n, i))
		}
	}
	id := rtStartDump(t, s, `{"shards":["x","y","z"],"docsPerBatch":10,"parallelism":2}`, "")
	var order []string
	for batch := 0; ; batch++ {
		r := rtDo(t, s, "POST", fmt.Sprintf("/_api/dump/next/%s?batchId=%d", id, batch), nil)
		if r.status == 204 {
			break
		}
		rtStatus(t, r, 200, "next")
		order = append(order, r.header.Get("x-arango-dump-shard-id"))
	}
	if got := strings.Join(order, ","); got != "z,y,z,y,z,y,x,x,x" {
		t.Errorf("batch order %s, want the last shards first, interleaved by the two workers: z,y,z,y,z,y,x,x,x", got)
	}

	big := rtColl(t, s, "big", 2)
	for i := 0; i < 12000; i++ {
		rtPut(t, big, fmt.Sprintf(`{"_key":"b%05d"}`, i))
	}
	id = rtStartDump(t, s, `{"shards":["big"],"docsPerBatch":1000,"batchSize":1000000,"parallelism":2}`, "")
	first := func(batch int) string {
		r := rtDo(t, s, "POST", fmt.Sprintf("/_api/dump/next/%s?batchId=%d", id, batch), nil)
		rtStatus(t, r, 200, "next")
		return rtLines(t, r.body)[0]["_key"].(string)
	}
	// worker 1 cuts [0,1000) and pushes [6500,12000); worker 2 takes that half
	if a, b := first(0), first(1); a != "b00000" || b != "b06500" {
		t.Errorf("first keys of the first two batches %s, %s; want b00000, b06500 (the range split in half)", a, b)
	}
}

// TestDumpAPIRefusals: what RestDumpHandler, RocksDBDumpManager and the deserialization of
// RocksDBDumpContextOptions refuse, with their status and error number.
func TestDumpAPIRefusals(t *testing.T) {
	s := rtServer(t, Options{Users: map[string]string{"bob": "pw"}})
	rtColl(t, s, "a", 2)
	if err := s.CreateDatabase("other"); err != nil {
		t.Fatal(err)
	}
	root := []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("root:"))}
	bob := []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("bob:pw"))}
	r := rtDo(t, s, "POST", "/_api/dump/start", []byte(`{"shards":["a"]}`), root...)
	rtStatus(t, r, 201, "start")
	id := r.header.Get("x-arango-dump-id")
	cases := []struct {
		method, path, body string
		auth               []string
		status, errorNum   int
		msg                string
	}{
		{"GET", "/_api/dump/start", "", root, 405, 405, "method not supported"},
		{"PUT", "/_api/dump/" + id, "", root, 405, 405, "method not supported"},
		{"POST", "/_api/dump/bogus", "{}", root, 400, 10, "expecting POST /_api/dump/start or /_api/dump/next/<id>"},
		{"POST", "/_api/dump/next", "", root, 400, 10, "expecting POST"},
		{"POST", "/_api/dump/start/x", "{}", root, 400, 10, "expecting POST"},
		{"POST", "/_api/dump/next/" + id + "/x?batchId=1", "", root, 400, 10, "expecting POST"},
		{"DELETE", "/_api/dump/" + id + "/x", "", root, 400, 10, "expecting DELETE /_api/dump/<id>"},
		{"POST", "/_api/dump/start", `{"shards":`, root, 400, 10, "bad parameter"},
		{"POST", "/_api/dump/start", `{} x`, root, 400, 10, "bad parameter"},
		{"POST", "/_api/dump/start", ``, root, 500, 39, "Expecting type Object"},
		{"POST", "/_api/dump/start", `["a"]`, root, 500, 39, "Expecting type Object"},
		{"POST", "/_api/dump/start", `{"docsPerBatch":"10","shards":["a"]}`, root, 500, 39, "Path: docsPerBatch"},
		{"POST", "/_api/dump/start", `{"batchSize":-1,"shards":["a"]}`, root, 500, 39, "Number out of range"},
		{"POST", "/_api/dump/start", `{"parallelism":true,"shards":["a"]}`, root, 500, 39, "Path: parallelism"},
		{"POST", "/_api/dump/start", `{"prefetchCount":null,"shards":["a"]}`, root, 500, 39, "Path: prefetchCount"},
		{"POST", "/_api/dump/start", `{"ttl":"600","shards":["a"]}`, root, 500, 39, "Path: ttl"},
		{"POST", "/_api/dump/start", `{"shards":"a"}`, root, 500, 39, "Expecting type Array"},
		{"POST", "/_api/dump/start", `{"shards":["a",1]}`, root, 500, 39, "Path: shards[1]"},
		{"POST", "/_api/dump/start", `{"shards":["a"],"useVPack":true}`, root, 500, 39, "Found unexpected attribute 'useVPack'"},
		{"POST", "/_api/dump/start", `{"shards":["a"],"projections":[]}`, root, 500, 39, "Path: projections"},
		{"POST", "/_api/dump/start", `{"shards":["a"],"filters":{"type":"regex"}}`, root, 500, 39, "Field invariant failed"},
		{"POST", "/_api/dump/start", `{"shards":["a"],"filters":{"conditions":[]}}`, root, 500, 39, "Missing required attribute 'type'"},
		{"POST", "/_api/dump/start", `{"shards":["a"],"filters":{"type":"simple","conditions":[{"value":1}]}}`, root, 500, 39, "attributePath"},
		{"POST", "/_api/dump/start", `{"shards":["a","nope"]}`, root, 404, 1203, "collection or view not found"},
		{"POST", "/_api/dump/next/" + id, "", root, 400, 10, "expecting 'batchId'"},
		{"POST", "/_api/dump/next/dump-1?batchId=1", "", root, 404, 1600, "requested dump context not found"},
		{"DELETE", "/_api/dump/dump-1", "", root, 404, 1600, "requested dump context not found"},
		{"POST", "/_db/other/_api/dump/next/" + id + "?batchId=1", "", root, 403, 11, "insufficient permissions"},
		{"DELETE", "/_db/other/_api/dump/" + id, "", root, 403, 11, "insufficient permissions"},
		{"POST", "/_db/other/_api/dump/start", `{"shards":["secret"]}`, bob, 403, 11, "insufficient permissions to access shard secret of collection secret"},
	}
	// bob may read database "other" but not its collection "secret"
	if _, err := s.store.Database("other").CreateCollection(CollectionSpec{Name: "secret", Type: 2}); err != nil {
		t.Fatal(err)
	}
	rtStatus(t, rtDo(t, s, "PUT", "/_api/user/bob/database/other", []byte(`{"grant":"ro"}`), root...), 200, "grant")
	rtStatus(t, rtDo(t, s, "PUT", "/_api/user/bob/database/other/secret", []byte(`{"grant":"none"}`), root...), 200, "grant")
	for _, c := range cases {
		r := rtDo(t, s, c.method, c.path, []byte(c.body), c.auth...)
		if r.status != c.status || r.errorNum(t) != c.errorNum || !strings.Contains(string(r.body), c.msg) {
			t.Errorf("%s %s %s: %d %s, want %d errorNum %d with %q", c.method, c.path, c.body, r.status, r.body, c.status, c.errorNum, c.msg)
		}
	}
	if _, err := s.store.Database("other").CreateCollection(CollectionSpec{Name: "open", Type: 2}); err != nil {
		t.Fatal(err)
	}
	r = rtDo(t, s, "POST", "/_db/other/_api/dump/start", []byte(`{"shards":["open"]}`), bob...)
	rtStatus(t, r, 201, "bob starts a dump of a collection he may read")
	bobID := r.header.Get("x-arango-dump-id")
	// the context belongs to bob: root may not use it (RocksDBDumpContext::canAccess)
	if r := rtDo(t, s, "POST", "/_db/other/_api/dump/next/"+bobID+"?batchId=1", nil, root...); r.status != 403 || r.errorNum(t) != 11 {
		t.Errorf("root reads bob's context: %d %s", r.status, r.body)
	}
	if r := rtDo(t, s, "POST", "/_db/other/_api/dump/next/"+bobID+"?batchId=1", nil, bob...); r.status != 204 {
		t.Errorf("bob reads his empty context: %d %s", r.status, r.body)
	}

	// batchId and lastBatch are read as StringUtils::uint64 does: a value without leading
	// digits is 0, so "x" asks for batch 0 and "2junk" for batch 2.
	c := rtColl(t, s, "n", 2)
	for i := 0; i < 30; i++ {
		rtPut(t, c, fmt.Sprintf(`{"_key":"n%02d"}`, i))
	}
	r = rtDo(t, s, "POST", "/_api/dump/start", []byte(`{"shards":["n"],"docsPerBatch":10}`), root...)
	rtStatus(t, r, 201, "start")
	id = r.header.Get("x-arango-dump-id")
	b0 := rtDo(t, s, "POST", "/_api/dump/next/"+id+"?batchId=x", nil, root...)
	b0again := rtDo(t, s, "POST", "/_api/dump/next/"+id+"?batchId=0", nil, root...)
	rtStatus(t, b0, 200, "batchId=x")
	if !bytes.Equal(b0.body, b0again.body) {
		t.Errorf("batchId=x is not batch 0")
	}
	b2 := rtDo(t, s, "POST", "/_api/dump/next/"+id+"?batchId=2junk&lastBatch=zz", nil, root...)
	rtStatus(t, b2, 200, "batchId=2junk")
	// lastBatch=zz freed batch 0: asking for 0 again cuts the next batch (a different one)
	if again := rtDo(t, s, "POST", "/_api/dump/next/"+id+"?batchId=0", nil, root...); bytes.Equal(again.body, b0.body) || again.status != 200 {
		t.Errorf("lastBatch=zz did not free batch 0: %d", again.status)
	}
}

// TestParallelDumpFiltersAndProjections: the "filters" and "projections" options of
// RocksDBDumpContextOptions (applyFilter and the projection in handleWorkItem).
func TestParallelDumpFiltersAndProjections(t *testing.T) {
	s := rtServer(t, Options{})
	c := rtColl(t, s, "p", 2)
	for i := 0; i < 20; i++ {
		rtPut(t, c, fmt.Sprintf(`{"_key":"k%02d","grp":{"g":%d},"v":"x%d"}`, i, i%2, i))
	}
	id := rtStartDump(t, s, `{"shards":["p"],"filters":{"type":"simple","conditions":[{"attributePath":["grp","g"],"value":1.0}]},"projections":{"key":["_key"],"val":["v"]}}`, "")
	got := 0
	for batch := 0; ; batch++ {
		r := rtDo(t, s, "POST", fmt.Sprintf("/_api/dump/next/%s?batchId=%d", id, batch), nil)
		if r.status == 204 {
			break
		}
		for _, d := range rtLines(t, r.body) {
			got++
			if len(d) != 2 || d["key"] == nil || d["val"] == nil {
				t.Fatalf("projected document %v", d)
			}
			var n int
			fmt.Sscanf(d["key"].(string), "k%d", &n)
			if n%2 != 1 {
				t.Fatalf("filter let %v through", d)
			}
		}
	}
	if got != 10 {
		t.Fatalf("%d documents, want the 10 with grp.g == 1", got)
	}
}

// TestDumpAPIWithoutSuffix: POST and DELETE /_api/dump with no suffix are refused by
// RestDumpHandler::validateRequest with 400/10, not answered as an unknown path.
func TestDumpAPIWithoutSuffix(t *testing.T) {
	s := rtServer(t, Options{})
	for _, m := range []string{"POST", "DELETE"} {
		r := rtDo(t, s, m, "/_api/dump", nil)
		if r.status != 400 || r.errorNum(t) != 10 {
			t.Fatalf("%s /_api/dump: %d %s", m, r.status, r.body)
		}
	}
}
