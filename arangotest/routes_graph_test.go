package arangotest

import (
	"fmt"
	"reflect"
	"sort"
	"testing"
)

func graphOrphans(t *testing.T, m map[string]any) []string {
	t.Helper()
	g, _ := m["graph"].(map[string]any)
	if g == nil {
		t.Fatalf("no graph in %v", m)
	}
	out := []string{}
	for _, o := range g["orphanCollections"].([]any) {
		out = append(out, o.(string))
	}
	sort.Strings(out)
	return out
}

// Replacing or removing an edge definition keeps its vertex collections as orphans; adding an
// edge definition over an orphan takes it out; dropCollections drops only the edge collection.
func TestGraphEdgeDefinitionOrphans(t *testing.T) {
	s := startCore(t, Options{})
	ep := s.Endpoint()
	sc, _, m, raw := coreDo(t, "POST", ep+"/_api/gharial", `{"name":"g","edgeDefinitions":[
		{"collection":"e1","from":["a"],"to":["b"]},{"collection":"e2","from":["a"],"to":["c"]}]}`)
	if sc != 202 {
		t.Fatalf("create graph: %d %s", sc, raw)
	}
	if o := graphOrphans(t, m); len(o) != 0 {
		t.Fatalf("orphans after create: %v", o)
	}
	// Replace e1: b -> d. b is no longer used anywhere: orphan.
	sc, _, m, raw = coreDo(t, "PUT", ep+"/_api/gharial/g/edge/e1", `{"collection":"e1","from":["a"],"to":["d"]}`)
	if sc != 202 {
		t.Fatalf("replace: %d %s", sc, raw)
	}
	if o := graphOrphans(t, m); !reflect.DeepEqual(o, []string{"b"}) {
		t.Fatalf("orphans after replace: %v", o)
	}
	// Remove e2: c becomes an orphan, a is still used by e1. The edge collection stays.
	sc, _, m, raw = coreDo(t, "DELETE", ep+"/_api/gharial/g/edge/e2", "")
	if sc != 202 {
		t.Fatalf("delete e2: %d %s", sc, raw)
	}
	if o := graphOrphans(t, m); !reflect.DeepEqual(o, []string{"b", "c"}) {
		t.Fatalf("orphans after delete: %v", o)
	}
	if s.store.Database("_system").Collection("e2") == nil {
		t.Fatal("e2 dropped without dropCollections")
	}
	// Adding an edge definition over orphan c takes c out of the orphans.
	sc, _, m, raw = coreDo(t, "POST", ep+"/_api/gharial/g/edge", `{"collection":"e3","from":["c"],"to":["a"]}`)
	if sc != 202 {
		t.Fatalf("add e3: %d %s", sc, raw)
	}
	if o := graphOrphans(t, m); !reflect.DeepEqual(o, []string{"b"}) {
		t.Fatalf("orphans after adding e3: %v", o)
	}
	// dropCollections=true drops the edge collection, not its vertex collections (now orphans).
	sc, _, m, raw = coreDo(t, "DELETE", ep+"/_api/gharial/g/edge/e3?dropCollections=true", "")
	if sc != 202 {
		t.Fatalf("delete e3: %d %s", sc, raw)
	}
	if o := graphOrphans(t, m); !reflect.DeepEqual(o, []string{"b", "c"}) {
		t.Fatalf("orphans after deleting e3: %v", o)
	}
	db := s.store.Database("_system")
	if db.Collection("e3") != nil || db.Collection("c") == nil {
		t.Fatalf("dropCollections: e3 exists %v, c exists %v", db.Collection("e3") != nil, db.Collection("c") != nil)
	}
	// An edge collection another graph uses is kept.
	coreDo(t, "POST", ep+"/_api/gharial", `{"name":"h","edgeDefinitions":[{"collection":"e1","from":["a"],"to":["d"]}]}`)
	sc, _, _, raw = coreDo(t, "DELETE", ep+"/_api/gharial/g/edge/e1?dropCollections=true", "")
	if sc != 202 || db.Collection("e1") == nil {
		t.Fatalf("delete e1 used by graph h: %d %s, e1 exists %v", sc, raw, db.Collection("e1") != nil)
	}
}

// Vertex/edge writes answer as RestGraphHandler does: 202 without waitForSync, with it 201
// for inserts and 200 for replace, update and remove; reads check rev and If-None-Match.
func TestGraphDocumentStatusAndRevisions(t *testing.T) {
	s := startCore(t, Options{})
	ep := s.Endpoint()
	if sc, _, _, raw := coreDo(t, "POST", ep+"/_api/gharial", `{"name":"g","edgeDefinitions":[{"collection":"e","from":["v"],"to":["v"]}]}`); sc != 202 {
		t.Fatalf("create graph: %d %s", sc, raw)
	}
	for _, kind := range []string{"vertex", "edge"} {
		coll := map[string]string{"vertex": "v", "edge": "e"}[kind]
		base := ep + "/_api/gharial/g/" + kind + "/" + coll
		body := `{"_key":"k1","x":1}`
		if kind == "edge" {
			body = `{"_key":"k1","_from":"v/a","_to":"v/b","x":1}`
		}
		steps := []struct {
			method, url, body string
			want              int
		}{
			{"POST", base + "?waitForSync=true", body, 201},
			{"PATCH", base + "/k1?waitForSync=true", `{"x":2}`, 200},
			{"PATCH", base + "/k1", `{"x":3}`, 202},
			{"PUT", base + "/k1?waitForSync=true", body, 200},
			{"PUT", base + "/k1", body, 202},
		}
		for _, st := range steps {
			if sc, _, _, raw := coreDo(t, st.method, st.url, st.body); sc != st.want {
				t.Fatalf("%s %s %s: %d %s, want %d", kind, st.method, st.url, sc, raw, st.want)
			}
		}
		sc, h, m, _ := coreDo(t, "GET", base+"/k1", "")
		if sc != 200 {
			t.Fatalf("%s get: %d", kind, sc)
		}
		cur := m[kind].(map[string]any)["_rev"].(string)
		if h.Get("Etag") != `"`+cur+`"` {
			t.Fatalf("%s Etag %q, rev %q", kind, h.Get("Etag"), cur)
		}
		// An outdated revision, by query parameter or If-Match, fails with 412 1200.
		for _, hdr := range [][]string{nil, {"If-Match", `"_old_"`}} {
			url := base + "/k1"
			if hdr == nil {
				url += "?rev=_old_"
			}
			sc, _, m, raw := coreDo(t, "GET", url, "", hdr...)
			if sc != 412 || m["errorNum"] != float64(1200) || m["_rev"] != cur {
				t.Fatalf("%s get outdated (%v): %d %s", kind, hdr, sc, raw)
			}
		}
		if sc, _, _, raw := coreDo(t, "GET", base+"/k1?rev="+cur, ""); sc != 200 {
			t.Fatalf("%s get current rev: %d %s", kind, sc, raw)
		}
		if sc, _, _, _ := coreDo(t, "GET", base+"/k1", "", "If-None-Match", `"`+cur+`"`); sc != 304 {
			t.Fatalf("%s If-None-Match: %d", kind, sc)
		}
		// Updating with an outdated rev query parameter fails too.
		if sc, _, _, raw := coreDo(t, "PATCH", base+"/k1?rev=_old_", `{"x":9}`); sc != 412 {
			t.Fatalf("%s patch outdated rev: %d %s", kind, sc, raw)
		}
		if sc, _, _, raw := coreDo(t, "DELETE", base+"/k1?waitForSync=true", ""); sc != 200 {
			t.Fatalf("%s delete: %d %s", kind, sc, raw)
		}
		if sc, _, _, _ := coreDo(t, "GET", base+"/k1", ""); sc != 404 {
			t.Fatal(fmt.Sprintf("%s still there after delete: %d", kind, sc))
		}
	}
}
