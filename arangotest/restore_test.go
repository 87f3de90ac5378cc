package arangotest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

func rtRestoreColl(t testing.TB, s *Server, params string, query string) rtResp {
	t.Helper()
	return rtDo(t, s, "PUT", "/_api/replication/restore-collection"+query,
		[]byte(`{"parameters":`+params+`,"indexes":[]}`))
}

func rtRestoreData(t testing.TB, s *Server, coll, query, body string) rtResp {
	t.Helper()
	return rtDo(t, s, "PUT", "/_api/replication/restore-data?collection="+coll+query, []byte(body),
		"Content-Type", "application/x-arango-dump")
}

func rtDocMap(t testing.TB, c *Collection, key string) map[string]any {
	t.Helper()
	d := c.Lookup(key)
	if d == nil {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(d.Raw, &m); err != nil {
		t.Fatalf("stored document %s is not JSON: %v", key, err)
	}
	return m
}

func TestRestoreCollectionAndOverwrite(t *testing.T) {
	s := rtServer(t, Options{})
	params := `{"name":"users","type":2,"id":"777","cid":"777","planId":"777","globallyUniqueId":"hABC/777",` +
		`"keyOptions":{"type":"traditional","allowUserKeys":true,"lastValue":5000},"waitForSync":true,"cacheEnabled":false,` +
		`"schema":null,"computedValues":null,"numberOfShards":1,"replicationFactor":1,"shardKeys":["_key"]}`
	rtStatus(t, rtRestoreColl(t, s, params, ""), 200, "restore-collection")
	c := s.store.Database("_system").Collection("users")
	if c == nil {
		t.Fatal("collection not created")
	}
	p := c.Parameters()
	if p["globallyUniqueId"] != "hABC/777" {
		t.Fatalf("globallyUniqueId %v, want kept", p["globallyUniqueId"])
	}
	if p["waitForSync"] == false {
		t.Fatalf("waitForSync not kept: %v", p["waitForSync"])
	}
	if kg := c.KeyGenerator(); kg.LastValue != 5000 {
		t.Fatalf("keyOptions.lastValue %d, want 5000", kg.LastValue)
	}
	rtPut(t, c, `{"_key":"a"}`)

	// Same definition again without overwrite: 3.12 refuses it like any existing collection
	// (processRestoreCollection has no globallyUniqueId exemption; restore_rf_test.go).
	if r := rtRestoreColl(t, s, params, ""); r.status != 409 || r.errorNum(t) != 1207 {
		t.Fatalf("same definition again without overwrite: %d %s", r.status, r.body)
	}
	// A different collection with that name: 409 duplicate name.
	other := strings.Replace(params, "hABC/777", "hABC/999", 1)
	r := rtRestoreColl(t, s, other, "?overwrite=false")
	if r.status != 409 || r.errorNum(t) != 1207 {
		t.Fatalf("existing collection without overwrite: %d %s", r.status, r.body)
	}
	if c.Count() != 1 {
		t.Fatal("failed restore-collection touched the data")
	}
	// With overwrite the collection is recreated empty.
	rtStatus(t, rtRestoreColl(t, s, other, "?overwrite=true"), 200, "restore-collection overwrite")
	c2 := s.store.Database("_system").Collection("users")
	if c2 == nil || c2.Count() != 0 || c2.GUID != "hABC/999" {
		t.Fatalf("overwrite did not recreate the collection: %+v", c2)
	}

	// Bad bodies.
	r = rtDo(t, s, "PUT", "/_api/replication/restore-collection", []byte(`{"parameters":{"name":"x"}}`))
	if r.status != 400 || r.errorNum(t) != 400 || !strings.Contains(string(r.body), "indexes declaration is invalid") {
		t.Fatalf("missing indexes: %d %s", r.status, r.body)
	}
	r = rtDo(t, s, "PUT", "/_api/replication/restore-collection", []byte(`{"parameters":{},"indexes":[]}`))
	if r.status != 400 || !strings.Contains(string(r.body), "collection name is missing") {
		t.Fatalf("missing name: %d %s", r.status, r.body)
	}
	// deleted collections are ignored
	rtStatus(t, rtRestoreColl(t, s, `{"name":"gone","type":2,"deleted":true}`, ""), 200, "deleted")
	if s.store.Database("_system").Collection("gone") != nil {
		t.Fatal("deleted collection was created")
	}
}

func TestRestoreDataPlainEnvelopeAndRemovals(t *testing.T) {
	s := rtServer(t, Options{})
	rtStatus(t, rtRestoreColl(t, s, `{"name":"docs","type":2}`, ""), 200, "restore-collection")
	c := s.store.Database("_system").Collection("docs")
	rtPut(t, c, `{"_key":"old","v":"before"}`)
	rtPut(t, c, `{"_key":"doomed","v":"before"}`)

	body := strings.Join([]string{
		`{"_key":"p1","_id":"docs/p1","_rev":"_kmX5mm6---","v":1}`,
		`{"type":2300,"data":{"_key":"e1","_rev":"_kmX5mm7---","v":2}}`,
		`{"type":2301,"data":{"_key":"e2","v":3}}`,
		`{"type":2300,"data":{"_key":"old","v":"after"}}`, // replace, not a unique error
		`{"type":2302,"data":{"_key":"doomed","_rev":"_abc"}}`,
		`{"type":2302,"key":"never-existed"}`, // failing removes count as success
		`{"type":2300,"data":{"_key":"flip","v":"gone"}}`,
		`{"type":2302,"data":{"_key":"flip"}}`, // last marker wins: removed
		`{"type":2302,"data":{"_key":"flop"}}`,
		`{"type":2300,"data":{"_key":"flop","v":"back"}}`, // last marker wins: present
		``,
	}, "\n")
	r := rtRestoreData(t, s, "docs", "", body)
	rtStatus(t, r, 200, "restore-data")
	if string(r.body) != `{"result":true}` {
		t.Fatalf("restore-data answer %s", r.body)
	}
	want := map[string]any{"p1": float64(1), "e1": float64(2), "e2": float64(3), "old": "after", "flop": "back"}
	for k, v := range want {
		m := rtDocMap(t, c, k)
		if m == nil || m["v"] != v {
			t.Fatalf("document %s = %v, want v=%v", k, m, v)
		}
		if m["_id"] != "docs/"+k {
			t.Fatalf("document %s has _id %v", k, m["_id"])
		}
	}
	for _, k := range []string{"doomed", "flip", "never-existed"} {
		if rtDocMap(t, c, k) != nil {
			t.Fatalf("document %s should not exist", k)
		}
	}
	if c.Count() != 5 {
		t.Fatalf("count %d, want 5", c.Count())
	}
	// The server drops _rev and makes a new one (parseBatchDump), whatever the client asks.
	if m := rtDocMap(t, c, "p1"); m["_rev"] == "_kmX5mm6---" || m["_rev"] == "" {
		t.Fatalf("p1 kept the dumped _rev: %v", m["_rev"])
	}
	rtStatus(t, rtRestoreData(t, s, "docs", "&preserveRevisionIds=true", `{"_key":"p2","_rev":"_kmX5mm6---","v":9}`+"\n"), 200, "restore-data new revs")
	if m := rtDocMap(t, c, "p2"); m == nil || m["_rev"] == "_kmX5mm6---" || m["_rev"] == "" || m["v"] != float64(9) {
		t.Fatalf("preserveRevisionIds=true (a parameter no server since 3.8 reads): %v", m)
	}

	// The body must be typed as JSON lines (RestReplicationHandler::parseBatch): text/plain
	// or no type is refused with 500, error 4, and nothing is stored.
	for _, typ := range []string{"", "text/plain", "text/plain; charset=utf-8", "application/octet-stream", "Application/JSON"} {
		var hdr []string
		if typ != "" {
			hdr = []string{"Content-Type", typ}
		}
		r := rtDo(t, s, "PUT", "/_api/replication/restore-data?collection=docs", []byte(`{"_key":"typed","v":1}`+"\n"), hdr...)
		if r.status != 500 || r.errorNum(t) != 4 || !strings.Contains(string(r.body), "invalid request type") {
			t.Fatalf("restore-data as %q: %d %s", typ, r.status, r.body)
		}
		if rtDocMap(t, c, "typed") != nil {
			t.Fatalf("restore-data as %q stored the document", typ)
		}
	}
	for _, typ := range []string{"application/x-arango-dump", "application/x-arango-dump; charset=utf-8", "application/json", "application/json; charset=utf-8"} {
		r := rtDo(t, s, "PUT", "/_api/replication/restore-data?collection=docs", []byte(`{"_key":"typed","v":1}`+"\n"), "Content-Type", typ)
		rtStatus(t, r, 200, "restore-data as "+typ)
		if m := rtDocMap(t, c, "typed"); m == nil || m["v"] != float64(1) {
			t.Fatalf("restore-data as %q: %v", typ, m)
		}
	}
	if r := rtDo(t, s, "PUT", "/_api/replication/restore-data?collection=nope", []byte(`{"_key":"x"}`), "Content-Type", "text/plain"); r.status != 404 || r.errorNum(t) != 1203 {
		t.Fatalf("unknown collection is checked before the type: %d %s", r.status, r.body)
	}

	// Bad input: invalid JSON names collection and line; nothing of the batch is applied.
	r = rtRestoreData(t, s, "docs", "", `{"_key":"ok1"}`+"\n"+`{"_key":"bad",`+"\n")
	if r.status != 400 || r.errorNum(t) != 600 || !strings.Contains(string(r.body), "collection 'docs' on line 2") {
		t.Fatalf("invalid JSON line: %d %s", r.status, r.body)
	}
	if rtDocMap(t, c, "ok1") != nil {
		t.Fatal("a batch with an invalid line was partly applied")
	}
	r = rtRestoreData(t, s, "docs", "", `{"type":2999,"data":{"_key":"x"}}`+"\n")
	if r.status != 400 || !strings.Contains(string(r.body), "got an invalid input document") {
		t.Fatalf("unknown marker type: %d %s", r.status, r.body)
	}
	r = rtRestoreData(t, s, "docs", "", `[1,2]`+"\n")
	if r.status != 400 || !strings.Contains(string(r.body), "data is no object") {
		t.Fatalf("array line: %d %s", r.status, r.body)
	}
	r = rtRestoreData(t, s, "nope", "", `{"_key":"x"}`)
	if r.status != 404 || r.errorNum(t) != 1203 {
		t.Fatalf("unknown collection: %d %s", r.status, r.body)
	}
	r = rtDo(t, s, "PUT", "/_api/replication/restore-data", []byte(`{"_key":"x"}`), "Content-Type", "application/x-arango-dump")
	if r.status != 400 || !strings.Contains(string(r.body), "invalid collection parameter") {
		t.Fatalf("no collection parameter: %d %s", r.status, r.body)
	}
}

func TestRestoreDataEdges(t *testing.T) {
	s := rtServer(t, Options{})
	rtStatus(t, rtRestoreColl(t, s, `{"name":"links","type":3}`, ""), 200, "restore-collection edge")
	c := s.store.Database("_system").Collection("links")
	body := `{"_key":"l1","_id":"links/l1","_from":"people/a","_to":"people/b","_rev":"_kmX5mm6---","w":1}` + "\n" +
		`{"type":2300,"data":{"_key":"l2","_from":"people/b","_to":"places/c"}}` + "\n"
	rtStatus(t, rtRestoreData(t, s, "links", "", body), 200, "restore edges")
	m := rtDocMap(t, c, "l1")
	if m["_from"] != "people/a" || m["_to"] != "people/b" || m["_rev"] == "_kmX5mm6---" || m["_rev"] == "" || m["w"] != float64(1) {
		t.Fatalf("edge l1 %v", m)
	}
	if m := rtDocMap(t, c, "l2"); m["_to"] != "places/c" {
		t.Fatalf("edge l2 %v", m)
	}
	r := rtRestoreData(t, s, "links", "", `{"_key":"bad","_from":"people/a"}`+"\n")
	if r.status != 400 || r.errorNum(t) != 1233 {
		t.Fatalf("edge without _to: %d %s", r.status, r.body)
	}
}

func TestRestoreDataUniqueViolation(t *testing.T) {
	s := rtServer(t, Options{})
	structure := `{"parameters":{"name":"people","type":2},"indexes":[` +
		`{"id":"12033","type":"persistent","name":"u_email","fields":["email"],"unique":true,"sparse":false,` +
		`"deduplicate":false,"estimates":true,"cacheEnabled":false}]}`
	rtStatus(t, rtDo(t, s, "PUT", "/_api/replication/restore-collection", []byte(structure)), 200, "restore-collection")
	rtStatus(t, rtDo(t, s, "PUT", "/_api/replication/restore-indexes", []byte(structure)), 200, "restore-indexes")
	c := s.store.Database("_system").Collection("people")
	var found bool
	for _, ix := range c.Indexes() {
		if ix.Name == "u_email" && ix.Unique {
			found = true
		}
	}
	if !found {
		t.Fatal("unique index u_email not restored")
	}
	rtStatus(t, rtRestoreData(t, s, "people", "", `{"_key":"a","email":"x@y"}`+"\n"), 200, "first row")
	// Same key again (replace) is fine; a second key with the same email is not.
	body := `{"_key":"a","email":"x@y","n":2}` + "\n" + `{"_key":"b","email":"b@y"}` + "\n" + `{"_key":"c","email":"x@y"}` + "\n"
	r := rtRestoreData(t, s, "people", "", body)
	if r.status != 409 || r.errorNum(t) != 1210 {
		t.Fatalf("unique violation: %d %s", r.status, r.body)
	}
	if !strings.Contains(string(r.body), "unique constraint violated") || !strings.Contains(string(r.body), "u_email") {
		t.Fatalf("unique violation message: %s", r.body)
	}
	// The batch is one transaction: nothing of it stays.
	if rtDocMap(t, c, "b") != nil || rtDocMap(t, c, "c") != nil {
		t.Fatal("failed batch left documents behind")
	}
	if m := rtDocMap(t, c, "a"); m == nil || m["n"] != nil {
		t.Fatalf("failed batch changed document a: %v", m)
	}
	if c.Count() != 1 {
		t.Fatalf("count %d after failed batch, want 1", c.Count())
	}
	// Unknown collection for restore-indexes.
	r = rtDo(t, s, "PUT", "/_api/replication/restore-indexes",
		[]byte(`{"parameters":{"name":"zzz"},"indexes":[{"type":"persistent","fields":["a"]}]}`))
	if r.status != 404 || r.errorNum(t) != 1203 {
		t.Fatalf("restore-indexes unknown collection: %d %s", r.status, r.body)
	}
}

func TestRestoreKeyGeneratorAdvances(t *testing.T) {
	s := rtServer(t, Options{})
	rtStatus(t, rtRestoreColl(t, s,
		`{"name":"auto","type":2,"keyOptions":{"type":"autoincrement","allowUserKeys":true,"increment":1,"offset":0,"lastValue":0}}`, ""),
		200, "restore-collection autoincrement")
	rtStatus(t, rtRestoreColl(t, s, `{"name":"trad","type":2}`, ""), 200, "restore-collection traditional")
	db := s.store.Database("_system")
	for _, name := range []string{"auto", "trad"} {
		c := db.Collection(name)
		body := `{"_key":"5"}` + "\n" + `{"_key":"123456"}` + "\n" + `{"_key":"77"}` + "\n"
		if name == "trad" {
			body += `{"_key":"abc"}` + "\n"
		}
		rtStatus(t, rtRestoreData(t, s, name, "", body), 200, "restore "+name)
		if lv := c.KeyGenerator().LastValue; lv < 123456 {
			t.Fatalf("%s: lastValue %d after restoring key 123456", name, lv)
		}
		// A later insert without a key gets a key past the largest restored numeric key.
		c.mu.Lock()
		key, err := c.nextKey(s.store.NextTick())
		c.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.ParseUint(key, 10, 64)
		if err != nil || n <= 123456 {
			t.Fatalf("%s: generated key %q is not past 123456", name, key)
		}
		// And the inventory reports the new lastValue.
		ko := c.Parameters()["keyOptions"].(map[string]any)
		if fmt.Sprint(ko["lastValue"]) == "0" {
			t.Fatalf("%s: inventory keyOptions %v", name, ko)
		}
	}
}

func TestRestoreView(t *testing.T) {
	s := rtServer(t, Options{})
	rtStatus(t, rtRestoreColl(t, s, `{"name":"docs","type":2}`, ""), 200, "restore-collection")
	view := `{"name":"v1","type":"arangosearch","id":"4711","globallyUniqueId":"hX/4711",` +
		`"links":{"docs":{"includeAllFields":true,"analyzers":["identity"],"fields":{}}}}`
	rtStatus(t, rtDo(t, s, "PUT", "/_api/replication/restore-view", []byte(view)), 200, "restore-view")
	v := s.store.Database("_system").View("v1")
	if v == nil {
		t.Fatal("view not created")
	}
	def := v.Definition()
	if links, _ := def["links"].(map[string]any); links["docs"] == nil {
		t.Fatalf("view links lost: %v", def)
	}
	r := rtDo(t, s, "PUT", "/_api/replication/restore-view", []byte(view))
	if r.status != 409 || r.errorNum(t) != 1207 {
		t.Fatalf("restore existing view without overwrite: %d %s", r.status, r.body)
	}
	rtStatus(t, rtDo(t, s, "PUT", "/_api/replication/restore-view?overwrite=true", []byte(view)), 200, "restore-view overwrite")
	r = rtDo(t, s, "PUT", "/_api/replication/restore-view", []byte(`{"type":"arangosearch"}`))
	if r.status != 400 {
		t.Fatalf("view without name: %d %s", r.status, r.body)
	}
}

// TestDumpRestoreRoundTrip dumps a collection through the parallel API and restores it into a
// second server, comparing every document byte for byte.
func TestDumpRestoreRoundTrip(t *testing.T) {
	src := rtServer(t, Options{})
	dst := rtServer(t, Options{})
	c := rtColl(t, src, "rt", 2)
	for i := 0; i < 300; i++ {
		rtPut(t, c, fmt.Sprintf(`{"_key":"%d","name":"n\u00e9%d","nested":{"a":[1,2,{"b":null}]},"f":%d.5}`, i*7, i, i))
	}
	batch := rtBatch(t, src)
	r := rtDo(t, src, "GET", "/_api/replication/inventory?batchId="+batch, nil)
	rtStatus(t, r, 200, "inventory")
	var inv struct {
		Collections []json.RawMessage `json:"collections"`
	}
	if err := json.Unmarshal(r.body, &inv); err != nil {
		t.Fatal(err)
	}
	var structure json.RawMessage
	for _, e := range inv.Collections {
		if strings.Contains(string(e), `"name":"rt"`) {
			structure = e
		}
	}
	if structure == nil {
		t.Fatal("rt not in inventory")
	}
	rtStatus(t, rtDo(t, dst, "PUT", "/_api/replication/restore-collection", structure), 200, "restore-collection")
	id := rtStartDump(t, src, `{"shards":["rt"],"batchSize":4000}`, "")
	for b := 1; ; b++ {
		r := rtDo(t, src, "POST", fmt.Sprintf("/_api/dump/next/%s?batchId=%d&lastBatch=%d", id, b, b-1), nil)
		if r.status == 204 {
			break
		}
		rtStatus(t, r, 200, "next")
		rtStatus(t, rtRestoreData(t, dst, "rt", "", string(r.body)), 200, "restore-data")
	}
	d := dst.store.Database("_system").Collection("rt")
	if d.Count() != c.Count() {
		t.Fatalf("restored %d documents, want %d", d.Count(), c.Count())
	}
	for _, doc := range c.Snapshot() {
		got := d.Lookup(doc.Key) // the same document with a new _rev
		if !revRenewed(got, string(doc.Raw)) {
			t.Fatalf("document %s differs:\n%s\n%v", doc.Key, doc.Raw, got)
		}
	}
	if d.KeyGenerator().LastValue < 299*7 {
		t.Fatalf("lastValue %d after restore", d.KeyGenerator().LastValue)
	}
}

// revRenewed reports whether d is want with a new revision: restore-data drops _rev and the
// server makes a new one (RestReplicationHandler::parseBatchDump), so d.Raw must equal want
// with its "_rev" value replaced by d.Rev, and d.Rev must differ from the revision in want.
func revRenewed(d *Doc, want string) bool {
	if d == nil {
		return false
	}
	i := strings.Index(want, `"_rev":"`)
	if i < 0 {
		return false
	}
	j := strings.IndexByte(want[i+8:], '"')
	old := want[i+8 : i+8+j]
	renewed := want[:i+8] + d.Rev + want[i+8+j:]
	return d.Rev != "" && d.Rev != old && string(d.Raw) == renewed
}
