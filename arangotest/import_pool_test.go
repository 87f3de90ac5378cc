package arangotest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestImportPooledBodyNotRetained imports into one collection several times, each body read
// into the same pooled buffer (same sizes, different bytes), in every way that can leave a
// view of the body behind (user keys, generated keys, _from/_to, onDuplicate=update, an
// undone complete=true batch, error details, a body of unknown length), and then checks that
// every stored document, the primary index and the WAL still hold exactly what was imported.
func TestImportPooledBodyNotRetained(t *testing.T) {
	s := startCore(t, Options{})
	ep := s.Endpoint()
	for _, spec := range []string{`{"name":"pool"}`, `{"name":"poole","type":3}`} {
		if sc, _, m, _ := coreDo(t, "POST", ep+"/_api/collection", spec); sc != 200 {
			t.Fatalf("create collection: %d %v", sc, m)
		}
	}
	const n = 300
	// want: key -> value of "v" (every document carries its own key in "k", when known).
	want := map[string]string{}
	body := func(round string, userKeys bool) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			if userKeys {
				fmt.Fprintf(&b, `{"_key":"%s%04d","k":"%s%04d","v":"%s-%04d-%s"}`+"\n", round, i, round, i, round, i, strings.Repeat(round, 20))
			} else {
				fmt.Fprintf(&b, `{"v":"%s-%04d-%s"}`+"\n", round, i, strings.Repeat(round, 20))
			}
		}
		return b.String()
	}
	post := func(query, b string, unknownLength bool) map[string]any {
		t.Helper()
		var rd io.Reader = strings.NewReader(b)
		if unknownLength {
			rd = io.MultiReader(rd) // hides the length: the body is read in chunks
		}
		req, err := http.NewRequest("POST", ep+"/_api/import?"+query, rd)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s: %d %s", query, resp.StatusCode, raw)
		}
		m["status"] = float64(resp.StatusCode)
		return m
	}
	expect := func(m map[string]any, status, created, errors, updated float64) {
		t.Helper()
		if m["status"] != status || (status == 201 && (m["created"] != created || m["errors"] != errors || m["updated"] != updated)) {
			t.Fatalf("import result %v, want status %v created %v errors %v updated %v", m, status, created, errors, updated)
		}
	}
	// 1: user keys.
	expect(post("collection=pool&type=documents", body("a", true), false), 201, n, 0, 0)
	for i := 0; i < n; i++ {
		want[fmt.Sprintf("a%04d", i)] = fmt.Sprintf("a-%04d-%s", i, strings.Repeat("a", 20))
	}
	// 2: generated keys, same body size as 1 would have without keys.
	expect(post("collection=pool&type=documents", body("b", false), false), 201, n, 0, 0)
	// 3: onDuplicate=update over round 1's keys, body of unknown length.
	upd := strings.ReplaceAll(body("a", true), `"v":"a-`, `"w":"a-`)
	expect(post("collection=pool&type=documents&onDuplicate=update", upd, true), 201, 0, 0, n)
	// 4: complete=true with one bad line: undone, nothing changes.
	bad := body("c", true) + `{"_key":"a0000","v":"dup"}` + "\n"
	expect(post("collection=pool&type=documents&complete=true", bad, false), 409, 0, 0, 0)
	// 5: an error with details, as an array; its details must name the offending document.
	m := post("collection=pool&type=array&details=true", `[{"_key":"a0001","v":"x"},{"_key":"d0001","k":"d0001","v":"d"}]`, false)
	expect(m, 201, 1, 1, 0)
	want["d0001"] = "d"
	// 6: edges with _from/_to views of the body.
	var eb strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&eb, `{"_key":"e%04d","_from":"pool/a%04d","_to":"pool/b%04d","k":"e%04d"}`+"\n", i, i, i, i)
	}
	expect(post("collection=poole&type=documents", eb.String(), false), 201, n, 0, 0)
	// 7: overwrite the pooled buffer with other bytes of the same sizes.
	for _, round := range []string{"x", "y"} {
		expect(post("collection=pool&type=documents", body(round, false), false), 201, n, 0, 0)
		expect(post("collection=poole&type=documents", strings.ReplaceAll(eb.String(), "e", "q"), false), 201, n, 0, 0)
	}
	if d, ok := m["details"].([]any); !ok || len(d) != 1 || !strings.Contains(d[0].(string), `"_key":"a0001"`) {
		t.Fatalf("details %v", m["details"])
	}

	coll := s.store.Database("_system").Collection("pool")
	if got, wantN := coll.Count(), 4*n+1; got != wantN {
		t.Fatalf("pool holds %d documents, want %d", got, wantN)
	}
	for _, d := range coll.Snapshot() {
		var doc map[string]any
		if err := json.Unmarshal(d.Raw, &doc); err != nil {
			t.Fatalf("stored document %q: %v: %s", d.Key, err, d.Raw)
		}
		if doc["_key"] != d.Key || doc["_id"] != "pool/"+d.Key || doc["_rev"] != d.Rev {
			t.Fatalf("document %q/%q does not match its bytes %s", d.Key, d.Rev, d.Raw)
		}
		if k, ok := doc["k"]; ok && k != d.Key {
			t.Fatalf("document %q holds k %v: %s", d.Key, k, d.Raw)
		}
		if v, ok := want[d.Key]; ok {
			if doc["v"] != v {
				t.Fatalf("document %q: v %v, want %q", d.Key, doc["v"], v)
			}
			if strings.HasPrefix(d.Key, "a") && doc["w"] != v {
				t.Fatalf("document %q: w %v, want %q (onDuplicate=update)", d.Key, doc["w"], v)
			}
		}
	}
	for key, v := range want {
		sc, _, m, _ := coreDo(t, "GET", ep+"/_api/document/pool/"+key, "")
		if sc != 200 || m["_key"] != key || m["v"] != v {
			t.Fatalf("GET %s: %d %v", key, sc, m)
		}
	}
	edges := s.store.Database("_system").Collection("poole")
	seen := 0
	for _, d := range edges.Snapshot() {
		var doc map[string]any
		if err := json.Unmarshal(d.Raw, &doc); err != nil {
			t.Fatal(err)
		}
		if doc["k"] != d.Key {
			continue // rounds 7's edges: keys generated
		}
		seen++
		i := strings.TrimPrefix(d.Key, "e")
		if doc["_from"] != "pool/a"+i || doc["_to"] != "pool/b"+i {
			t.Fatalf("edge %q: _from %v _to %v", d.Key, doc["_from"], doc["_to"])
		}
	}
	if seen != n {
		t.Fatalf("%d edges with their own key, want %d", seen, n)
	}
	// The WAL's document markers hold the stored bytes (no view of a request body).
	ms, _ := s.store.WAL.Since(0, 0)
	docs := 0
	for _, mk := range ms {
		if mk.Type != 2300 || mk.CUID != coll.GUID {
			continue
		}
		docs++
		var doc map[string]any
		if err := json.Unmarshal(mk.Data, &doc); err != nil {
			t.Fatalf("WAL marker %d: %v: %s", mk.Tick, err, mk.Data)
		}
		if k, ok := doc["k"]; ok && k != doc["_key"] {
			t.Fatalf("WAL marker %d: key %v holds k %v", mk.Tick, doc["_key"], k)
		}
		if mk.DB != "_system" || mk.CID != coll.ID {
			t.Fatalf("WAL marker %d: db %q cid %d", mk.Tick, mk.DB, mk.CID)
		}
	}
	// rounds 1, 2, 3 (updates), 5, 7 (x, y)
	if wantDocs := n + n + n + 1 + 2*n; docs != wantDocs {
		t.Fatalf("WAL holds %d document markers of pool, want %d", docs, wantDocs)
	}
}

// TestImportGeneratedKeys checks the keys import generates without allocating them, per
// generator: autoincrement (offset, increment), traditional (ascending numbers), padded.
func TestImportGeneratedKeys(t *testing.T) {
	s := startCore(t, Options{})
	ep := s.Endpoint()
	for _, spec := range []string{
		`{"name":"ai","keyOptions":{"type":"autoincrement","increment":5,"offset":10}}`,
		`{"name":"tr"}`,
		`{"name":"pd","keyOptions":{"type":"padded"}}`,
	} {
		if sc, _, m, _ := coreDo(t, "POST", ep+"/_api/collection", spec); sc != 200 {
			t.Fatalf("create %s: %d %v", spec, sc, m)
		}
	}
	lines := "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n"
	keys := func(coll string) []string {
		t.Helper()
		if sc, _, m, _ := coreDo(t, "POST", ep+"/_api/import?type=documents&collection="+coll, lines); sc != 201 || m["created"] != 3.0 {
			t.Fatalf("import into %s: %d %v", coll, sc, m)
		}
		var out []string
		for _, d := range s.store.Database("_system").Collection(coll).Snapshot() {
			var doc map[string]any
			if err := json.Unmarshal(d.Raw, &doc); err != nil || doc["_key"] != d.Key || doc["_rev"] != d.Rev {
				t.Fatalf("%s: %v %s", coll, err, d.Raw)
			}
			out = append(out, d.Key)
		}
		return out
	}
	if got := strings.Join(keys("ai"), ","); got != "10,15,20" {
		t.Fatalf("autoincrement keys %s, want 10,15,20", got)
	}
	tr := keys("tr")
	if len(tr) != 3 {
		t.Fatalf("traditional keys %v", tr)
	}
	for i := 1; i < len(tr); i++ {
		a, _ := parseKeyUint(tr[i-1], 10)
		b, ok := parseKeyUint(tr[i], 10)
		if !ok || b <= a {
			t.Fatalf("traditional keys %v not ascending numbers", tr)
		}
	}
	for _, k := range keys("pd") {
		if _, ok := parseKeyUint(k, 16); !ok || len(k) != 16 {
			t.Fatalf("padded key %q", k)
		}
	}
}
