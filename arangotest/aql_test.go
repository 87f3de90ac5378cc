package arangotest

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"testing"
)

func TestAQLDistanceFunction(t *testing.T) {
	// One degree of latitude on the equator: 2*pi*R/360.
	want := 2 * math.Pi * aqlEarthRadius / 360
	d, err := strconv.ParseFloat(string(aqlDistance([][]byte{[]byte("0"), []byte("0"), []byte("1"), []byte("0")})), 64)
	if err != nil || math.Abs(d-want) > 1e-6 {
		t.Fatalf("DISTANCE(0,0,1,0) = %v (%v), want %v", d, err, want)
	}
	// Amsterdam -> Berlin is about 576 km.
	d, _ = strconv.ParseFloat(string(aqlDistance([][]byte{[]byte("52.3676"), []byte("4.9041"), []byte("52.52"), []byte("13.405")})), 64)
	if d < 570e3 || d > 582e3 {
		t.Fatalf("Amsterdam-Berlin %v m", d)
	}
	if v := aqlDistance([][]byte{[]byte("0"), []byte(`"a"`), []byte("1"), []byte("0")}); string(v) != "null" {
		t.Fatalf("DISTANCE with a string argument = %s, want null", v)
	}
}

// FILTER DISTANCE(lat, lon, x.lat, x.lon) <= n selects by great-circle distance; missing
// coordinates make DISTANCE null, and null is less than every number in AQL, so such a document
// passes "<= n" (as in a full scan on a real server; a geo index would leave it out).
func TestAQLFilterDistance(t *testing.T) {
	s := startCore(t, Options{})
	ep := s.Endpoint()
	coreDo(t, "POST", ep+"/_api/collection", `{"name":"places"}`)
	sc, _, _, raw := coreDo(t, "POST", ep+"/_api/document/places", `[
		{"_key":"a","latitude":0.5,"longitude":0.5},
		{"_key":"b","latitude":10,"longitude":10},
		{"_key":"c","latitude":-0.9,"longitude":-0.3},
		{"_key":"d","name":"no coordinates"}]`)
	if sc != 202 {
		t.Fatalf("insert: %d %s", sc, raw)
	}
	run := func(body string) []string {
		t.Helper()
		sc, _, m, raw := coreDo(t, "POST", ep+"/_api/cursor", body)
		if sc != 201 {
			t.Fatalf("%s: %d %s", body, sc, raw)
		}
		var keys []string
		for _, d := range m["result"].([]any) {
			keys = append(keys, d.(map[string]any)["_key"].(string))
		}
		sort.Strings(keys)
		return keys
	}
	got := run("{\"query\":\"FOR x IN `places` FILTER DISTANCE(0, 0, x.latitude, x.longitude) <= 1120000 RETURN x\"}")
	if len(got) != 3 || got[0] != "a" || got[1] != "c" || got[2] != "d" {
		t.Fatalf("within 1120 km of (0,0): %v", got)
	}
	got = run(`{"query":"FOR x IN places FILTER DISTANCE(x.latitude, x.longitude, @lat, @lon) > @m RETURN x","bindVars":{"lat":0,"lon":0,"m":1120000}}`)
	if len(got) != 1 || got[0] != "b" {
		t.Fatalf("farther than 1120 km from (0,0): %v", got)
	}
	if sc, _, m, _ := coreDo(t, "POST", ep+"/_api/cursor", `{"query":"FOR x IN places FILTER DISTANCE(0, 0, x.latitude) <= 1 RETURN x"}`); sc != 400 || m["errorNum"] != 1501.0 {
		t.Fatalf("DISTANCE with three arguments: %d %v", sc, m)
	}
}

// Traversals over a named graph: depth-first, an edge once per path, RETURN of v/e/p paths and
// CONCAT_SEPARATOR over p.vertices[*].attr.
func TestAQLGraphTraversal(t *testing.T) {
	s := startCore(t, Options{})
	ep := s.Endpoint()
	if sc, _, _, raw := coreDo(t, "POST", ep+"/_api/gharial", `{"name":"ring","edgeDefinitions":[{"collection":"links","from":["n"],"to":["n"]}]}`); sc != 202 {
		t.Fatalf("create graph: %d %s", sc, raw)
	}
	coreDo(t, "POST", ep+"/_api/document/n", `[{"_key":"1","value":"V1"},{"_key":"2","value":"V2"},{"_key":"3","value":"V3"},{"_key":"4","value":"V4"}]`)
	coreDo(t, "POST", ep+"/_api/document/links", `[{"_from":"n/1","_to":"n/2"},{"_from":"n/2","_to":"n/3"},
		{"_from":"n/3","_to":"n/4"},{"_from":"n/4","_to":"n/1"},{"_from":"n/4","_to":"n/3"}]`)
	run := func(query string) []any {
		t.Helper()
		sc, _, m, raw := coreDo(t, "POST", ep+"/_api/cursor", string(mustJSON(map[string]any{"query": query})))
		if sc != 201 {
			t.Fatalf("%s: %d %s", query, sc, raw)
		}
		return m["result"].([]any)
	}
	got := run(`FOR v, e, p IN 1..1 OUTBOUND "n/4" GRAPH "ring" RETURN CONCAT_SEPARATOR("--", p.vertices[*].value)`)
	if fmt.Sprint(got) != "[V4--V1 V4--V3]" {
		t.Fatalf("depth 1 from n/4: %v", got)
	}
	got = run(`FOR v IN 2..3 OUTBOUND "n/1" GRAPH "ring" RETURN v._key`)
	if fmt.Sprint(got) != "[3 4]" {
		t.Fatalf("depth 2..3 from n/1: %v", got)
	}
	got = run(`FOR v, e IN INBOUND "n/3" GRAPH "ring" RETURN e._from`)
	if fmt.Sprint(got) != "[n/2 n/4]" {
		t.Fatalf("inbound n/3: %v", got)
	}
	// ANY from 1 at depth 1: the edges 1->2 and 4->1.
	got = run(`FOR v IN ANY "n/1" GRAPH "ring" RETURN v.value`)
	if fmt.Sprint(got) != "[V2 V4]" {
		t.Fatalf("any n/1: %v", got)
	}
	// 0..4 from 3: 3, 4, 1, 2, (2->3 back to 3: 3 again: vertices may repeat), then 3 via 4->3.
	got = run(`FOR v, e, p IN 0..4 OUTBOUND "n/3" GRAPH "ring" RETURN CONCAT_SEPARATOR("", p.vertices[*]._key)`)
	if fmt.Sprint(got) != "[3 34 341 3412 34123 343]" {
		t.Fatalf("0..4 from n/3: %v", got)
	}
	if sc, _, m, _ := coreDo(t, "POST", ep+"/_api/cursor", `{"query":"FOR v IN 1..1 OUTBOUND 'n/1' GRAPH 'nograph' RETURN v"}`); sc != 404 || m["errorNum"] != 1924.0 {
		t.Fatalf("unknown graph: %d %v", sc, m)
	}
}
