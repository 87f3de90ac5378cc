package arangotest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
)

// Helpers shared by the replication, dump, restore, WAL and fault tests.

func rtServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := NewServer(opts)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

type rtResp struct {
	status int
	header http.Header
	body   []byte
}

func (r rtResp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response %d is not a JSON object: %v: %q", r.status, err, r.body)
	}
	return m
}

func (r rtResp) errorNum(t testing.TB) int {
	t.Helper()
	n, _ := r.json(t)["errorNum"].(float64)
	return int(n)
}

var rtClient = &http.Client{Transport: &http.Transport{DisableCompression: true}}

func rtDo(t testing.TB, s *Server, method, path string, body []byte, hdr ...string) rtResp {
	t.Helper()
	req, err := http.NewRequest(method, s.Endpoint()+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := rtClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return rtResp{res.StatusCode, res.Header, b}
}

func rtStatus(t testing.TB, r rtResp, want int, what string) {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s: status %d, want %d; body %s", what, r.status, want, r.body)
	}
}

// mkColl creates a document (typ 2) or edge (typ 3) collection in _system.
func rtColl(t testing.TB, s *Server, name string, typ int) *Collection {
	t.Helper()
	c, err := s.store.Database("_system").CreateCollection(CollectionSpec{Name: name, Type: typ})
	if err != nil {
		t.Fatalf("create collection %s: %v", name, err)
	}
	return c
}

func rtPut(t testing.TB, c *Collection, raw string) {
	t.Helper()
	if err := c.RestoreDocument([]byte(raw)); err != nil {
		t.Fatalf("write %s: %v", raw, err)
	}
}

// jsonLines decodes a JSONL body into objects.
func rtLines(t testing.TB, body []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range bytes.Split(body, []byte{'\n'}) {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("bad JSON line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func rtBatch(t testing.TB, s *Server) string {
	t.Helper()
	r := rtDo(t, s, "POST", "/_api/replication/batch?state=true", []byte(`{"ttl":60}`))
	rtStatus(t, r, 200, "create batch")
	m := r.json(t)
	id, _ := m["id"].(string)
	if id == "" {
		t.Fatalf("batch without id: %s", r.body)
	}
	if _, ok := m["state"].(map[string]any); !ok {
		t.Fatalf("state=true but no state object: %s", r.body)
	}
	return id
}

// dumpAll reads a collection through /_api/replication/dump until checkmore is false.
func rtDumpAll(t testing.TB, s *Server, coll, batch string, envelope bool, chunk int) (docs []map[string]any, calls int) {
	t.Helper()
	for calls = 1; calls < 10000; calls++ {
		r := rtDo(t, s, "GET", fmt.Sprintf("/_api/replication/dump?collection=%s&batchId=%s&useEnvelope=%t&chunkSize=%d",
			coll, batch, envelope, chunk), nil)
		if r.status == 204 {
			if r.header.Get("x-arango-replication-checkmore") != "false" {
				t.Fatalf("204 with checkmore %q", r.header.Get("x-arango-replication-checkmore"))
			}
			return docs, calls
		}
		rtStatus(t, r, 200, "dump")
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-arango-dump") {
			t.Fatalf("content type %q", ct)
		}
		for _, l := range rtLines(t, r.body) {
			if envelope {
				if l["type"] != float64(2300) {
					t.Fatalf("envelope type %v", l["type"])
				}
				l, _ = l["data"].(map[string]any)
			}
			docs = append(docs, l)
		}
		switch r.header.Get("x-arango-replication-checkmore") {
		case "true":
		case "false":
			return docs, calls
		default:
			t.Fatalf("checkmore header %q", r.header.Get("x-arango-replication-checkmore"))
		}
	}
	t.Fatal("dump does not end")
	return nil, 0
}

func rtKeys(docs []map[string]any) []string {
	var ks []string
	for _, d := range docs {
		k, _ := d["_key"].(string)
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func TestBatchSnapshotIsolation(t *testing.T) {
	s := rtServer(t, Options{})
	c := rtColl(t, s, "things", 2)
	for i := 1; i <= 3; i++ {
		rtPut(t, c, fmt.Sprintf(`{"_key":"k%d","v":%d}`, i, i))
	}
	batch := rtBatch(t, s)

	// Writes after the batch started: a new document, a replacement, a removal.
	rtPut(t, c, `{"_key":"k4","v":4}`)
	rtPut(t, c, `{"_key":"k1","v":100}`)
	if err := c.RemoveKey("k2"); err != nil {
		t.Fatal(err)
	}
	// A collection created after the batch dumps as empty.
	late := rtColl(t, s, "late", 2)
	rtPut(t, late, `{"_key":"x"}`)

	for _, env := range []bool{false, true} {
		docs, _ := rtDumpAll(t, s, "things", batch, env, 1<<20)
		if got := strings.Join(rtKeys(docs), ","); got != "k1,k2,k3" {
			t.Fatalf("envelope=%v: snapshot dump keys %s, want k1,k2,k3", env, got)
		}
		for _, d := range docs {
			if d["_key"] == "k1" && d["v"] != float64(1) {
				t.Fatalf("envelope=%v: k1 has v=%v, want the value before the batch (1)", env, d["v"])
			}
			if d["_id"] != "things/"+d["_key"].(string) || d["_rev"] == nil {
				t.Fatalf("document lacks _id/_rev: %v", d)
			}
		}
		// The batch keeps a read position per collection: a second full read returns 204.
		r := rtDo(t, s, "GET", "/_api/replication/dump?collection=things&batchId="+batch+"&useEnvelope=false", nil)
		rtStatus(t, r, 204, "dump after the end")
		// reset for the next round
		s.repl.findBatch(batch).pos = map[*Collection]int{}
	}
	docs, _ := rtDumpAll(t, s, "late", batch, false, 1<<20)
	if len(docs) != 0 {
		t.Fatalf("collection created after the batch: %d documents visible", len(docs))
	}

	// A new batch sees the current state.
	b2 := rtBatch(t, s)
	docs, _ = rtDumpAll(t, s, "things", b2, false, 1<<20)
	if got := strings.Join(rtKeys(docs), ","); got != "k1,k3,k4" {
		t.Fatalf("new batch keys %s, want k1,k3,k4", got)
	}

	// Inventory with the batch.
	r := rtDo(t, s, "GET", "/_api/replication/inventory?batchId="+batch+"&includeSystem=false", nil)
	rtStatus(t, r, 200, "inventory")
	inv := r.json(t)
	colls, _ := inv["collections"].([]any)
	var names []string
	for _, e := range colls {
		p := e.(map[string]any)["parameters"].(map[string]any)
		names = append(names, p["name"].(string))
		if p["isSystem"] == true {
			t.Fatalf("includeSystem=false but %s listed", p["name"])
		}
	}
	if strings.Join(names, ",") != "late,things" {
		t.Fatalf("inventory collections %v", names)
	}
	if inv["properties"].(map[string]any)["name"] != "_system" || inv["tick"] == nil || inv["state"] == nil {
		t.Fatalf("inventory misses properties/tick/state: %s", r.body)
	}
	r = rtDo(t, s, "GET", "/_api/replication/inventory", nil)
	if r.status != 404 || r.errorNum(t) != 1600 {
		t.Fatalf("inventory without batchId: %d %s", r.status, r.body)
	}

	// Extend and delete.
	rtStatus(t, rtDo(t, s, "PUT", "/_api/replication/batch/"+batch, []byte(`{"ttl":30}`)), 204, "extend batch")
	rtStatus(t, rtDo(t, s, "DELETE", "/_api/replication/batch/"+batch, nil), 204, "delete batch")
	r = rtDo(t, s, "DELETE", "/_api/replication/batch/"+batch, nil)
	if r.status != 404 || r.errorNum(t) != 1600 {
		t.Fatalf("delete unknown batch: %d %s", r.status, r.body)
	}
	r = rtDo(t, s, "GET", "/_api/replication/dump?collection=things&batchId="+batch, nil)
	if r.status != 404 || r.errorNum(t) != 400 {
		t.Fatalf("dump with deleted batch: %d %s", r.status, r.body)
	}
	r = rtDo(t, s, "GET", "/_api/replication/dump?batchId="+b2, nil)
	if r.status != 400 {
		t.Fatalf("dump without collection: %d %s", r.status, r.body)
	}
}

func TestReplicationDumpChunks(t *testing.T) {
	s := rtServer(t, Options{})
	c := rtColl(t, s, "many", 2)
	const n = 500
	for i := 0; i < n; i++ {
		rtPut(t, c, fmt.Sprintf(`{"_key":"d%04d","payload":"%s"}`, i, strings.Repeat("x", 100)))
	}
	batch := rtBatch(t, s)
	docs, calls := rtDumpAll(t, s, "many", batch, false, 4096)
	if len(docs) != n {
		t.Fatalf("dumped %d documents, want %d", len(docs), n)
	}
	if calls < 10 {
		t.Fatalf("chunkSize 4096 over ~70 KB took only %d calls", calls)
	}
	seen := map[string]bool{}
	for _, d := range docs {
		k := d["_key"].(string)
		if seen[k] {
			t.Fatalf("document %s dumped twice", k)
		}
		seen[k] = true
	}
}

func TestLoggerStateAndServerID(t *testing.T) {
	s := rtServer(t, Options{})
	r := rtDo(t, s, "GET", "/_api/replication/logger-state", nil)
	rtStatus(t, r, 200, "logger-state")
	m := r.json(t)
	st := m["state"].(map[string]any)
	if st["running"] != true || st["lastLogTick"] == "" {
		t.Fatalf("logger-state %s", r.body)
	}
	if m["server"].(map[string]any)["engine"] != "rocksdb" {
		t.Fatalf("logger-state server %v", m["server"])
	}
	r = rtDo(t, s, "GET", "/_api/replication/clusterInventory", nil)
	if r.status != 403 || r.errorNum(t) != 1471 {
		t.Fatalf("clusterInventory on a single server: %d %s", r.status, r.body)
	}
}

func TestRevisionRangesAndDocuments(t *testing.T) {
	s := rtServer(t, Options{})
	c := rtColl(t, s, "revs", 2)
	for i := 0; i < 5; i++ {
		rtPut(t, c, fmt.Sprintf(`{"_key":"d%d","i":%d}`, i, i))
	}
	snap := c.Snapshot()
	batch := rtBatch(t, s)
	rtPut(t, c, `{"_key":"late"}`)
	body, _ := json.Marshal([][2]string{{snap[0].Rev, snap[2].Rev}, {snap[3].Rev, encodeRev(^uint64(0) >> 2)}})
	r := rtDo(t, s, "PUT", "/_api/replication/revisions/ranges?collection=revs&batchId="+batch, body)
	rtStatus(t, r, 200, "revisions/ranges")
	var rg struct {
		Ranges [][]string `json:"ranges"`
	}
	if err := json.Unmarshal(r.body, &rg); err != nil || len(rg.Ranges) != 2 || len(rg.Ranges[0]) != 3 || len(rg.Ranges[1]) != 2 {
		t.Fatalf("ranges %s (late document must not be in the snapshot)", r.body)
	}
	revs, _ := json.Marshal([]string{snap[4].Rev, snap[1].Rev, "_unknown__"})
	r = rtDo(t, s, "PUT", "/_api/replication/revisions/documents?collection=revs&batchId="+batch, revs)
	rtStatus(t, r, 200, "revisions/documents")
	var docs []map[string]any
	if err := json.Unmarshal(r.body, &docs); err != nil || len(docs) != 2 || docs[0]["_key"] != "d4" || docs[1]["_key"] != "d1" {
		t.Fatalf("documents %s", r.body)
	}
	rtStatus(t, rtDo(t, s, "GET", "/_api/replication/logger-first-tick", nil), 200, "logger-first-tick")
	rtStatus(t, rtDo(t, s, "GET", "/_api/replication/logger-tick-ranges", nil), 200, "logger-tick-ranges")
}

func TestApplierStateOnly(t *testing.T) {
	s := rtServer(t, Options{Version: "3.12.4"})
	r := rtDo(t, s, "PUT", "/_api/replication/applier-start", nil)
	if r.status != 400 {
		t.Fatalf("start without endpoint: %d %s", r.status, r.body)
	}
	rtStatus(t, rtDo(t, s, "PUT", "/_api/replication/applier-config", []byte(`{"endpoint":"tcp://127.0.0.1:1","verbose":true}`)), 200, "config")
	r = rtDo(t, s, "GET", "/_api/replication/applier-config", nil)
	if m := r.json(t); m["endpoint"] != "tcp://127.0.0.1:1" || m["verbose"] != true || m["database"] != "_system" {
		t.Fatalf("config %s", r.body)
	}
	r = rtDo(t, s, "PUT", "/_api/replication/applier-start", nil)
	rtStatus(t, r, 200, "start")
	if r.json(t)["state"].(map[string]any)["running"] != true {
		t.Fatalf("start state %s", r.body)
	}
	r = rtDo(t, s, "PUT", "/_api/replication/applier-stop", nil)
	if r.json(t)["state"].(map[string]any)["running"] != false {
		t.Fatalf("stop state %s", r.body)
	}
	// Removed in 3.12.10.
	s2 := rtServer(t, Options{Version: "3.12.10"})
	rtStatus(t, rtDo(t, s2, "GET", "/_api/replication/applier-config", nil), 404, "3.12.10 applier-config")
}
