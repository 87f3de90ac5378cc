package arangotest

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
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
	if got := len(rtLines(t, r1.body)); got != 7 {
		t.Fatalf("first batch has %d documents, want docsPerBatch 7", got)
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
		if len(r.body) > 1000+200 {
			t.Fatalf("batch of %d bytes exceeds batchSize 1000 by more than one document", len(r.body))
		}
		total += len(rtLines(t, r.body))
		batches++
	}
	if total != 200 || batches < 15 {
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
	if ct := r.header.Get("Content-Type"); ct != "application/x-velocypack" {
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
