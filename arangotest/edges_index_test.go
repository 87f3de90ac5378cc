package arangotest

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
)

// The edges API and the AQL edge lookups answer from the edge index, kept current across
// writes, with RestEdgesHandler's errors.
func TestEdgesAPIAndEdgeIndexLookups(t *testing.T) {
	s := startCore(t, Options{})
	base := s.Endpoint() + "/_db/_system"
	for _, body := range []string{`{"name":"v"}`, `{"name":"e","type":3}`} {
		if st, _, m, _ := coreDo(t, "POST", base+"/_api/collection", body); st != 200 {
			t.Fatalf("create %s: %d %v", body, st, m)
		}
	}
	if st, _, m, _ := coreDo(t, "POST", base+"/_api/document/e", `[{"_key":"ab","_from":"v/a","_to":"v/b"},{"_key":"ac","_from":"v/a","_to":"v/c"},{"_key":"ba","_from":"v/b","_to":"v/a"},{"_key":"aa","_from":"v/a","_to":"v/a"}]`); st != 202 && st != 201 {
		t.Fatalf("insert edges: %d %v", st, m)
	}
	keys := func(raw []byte, field string) string {
		var res map[string]json.RawMessage
		if err := json.Unmarshal(raw, &res); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		var docs []struct {
			Key string `json:"_key"`
		}
		_ = json.Unmarshal(res[field], &docs)
		var out []string
		for _, d := range docs {
			out = append(out, d.Key)
		}
		sort.Strings(out)
		return strings.Join(out, ",")
	}
	for _, c := range []struct{ q, want string }{
		{"vertex=v/a&direction=out", "aa,ab,ac"},
		{"vertex=v/a&direction=in", "aa,ba"},
		{"vertex=v/a&direction=any", "aa,ab,ac,ba"}, // the loop once
		{"vertex=v/a", "aa,ab,ac,ba"},
		{"vertex=v/zz&direction=out", ""},
	} {
		st, _, _, raw := coreDo(t, "GET", base+"/_api/edges/e?"+c.q, "")
		if got := keys(raw, "edges"); st != 200 || got != c.want {
			t.Errorf("edges %s: %d %s, want %s", c.q, st, got, c.want)
		}
	}
	st, _, m, _ := coreDo(t, "GET", base+"/_api/edges/e?vertex=v/a&direction=up", "")
	wantError(t, "bad direction", st, m, 400, 400)
	st, _, m, _ = coreDo(t, "GET", base+"/_api/edges/e?direction=out", "")
	wantError(t, "no vertex", st, m, 400, 1205)
	st, _, m, _ = coreDo(t, "GET", base+"/_api/edges/v?vertex=v/a", "")
	wantError(t, "document collection", st, m, 400, 1218)
	st, _, m, _ = coreDo(t, "GET", base+"/_api/edges/nosuch?vertex=v/a", "")
	wantError(t, "unknown collection", st, m, 404, 1203)

	// a write after the index was built: the next lookups see it
	if st, _, m, _ := coreDo(t, "POST", base+"/_api/document/e", `{"_key":"ca","_from":"v/c","_to":"v/a"}`); st != 202 && st != 201 {
		t.Fatalf("insert: %d %v", st, m)
	}
	if st, _, m, _ := coreDo(t, "DELETE", base+"/_api/document/e/ab", ""); st != 202 && st != 200 {
		t.Fatalf("remove: %d %v", st, m)
	}
	_, _, _, raw := coreDo(t, "GET", base+"/_api/edges/e?vertex=v/a&direction=any", "")
	if got := keys(raw, "edges"); got != "aa,ac,ba,ca" {
		t.Errorf("after insert and remove: %s", got)
	}
	// AQL: e._from IN [...] and e._to == v use the index and still apply the other filters
	for _, c := range []struct{ body, want string }{
		{`{"query":"FOR e IN e FILTER e._from IN @ids RETURN e","bindVars":{"ids":["v/a","v/b","v/a"]}}`, "aa,ac,ba"},
		{`{"query":"FOR e IN e FILTER e._to == @v && e._key != @k RETURN e","bindVars":{"v":"v/a","k":"aa"}}`, "ba,ca"},
		{`{"query":"FOR e IN e FILTER e._key != @k && e._from IN @ids RETURN e","bindVars":{"k":"ac","ids":["v/a"]}}`, "aa"},
	} {
		st, _, m, raw := coreDo(t, "POST", base+"/_api/cursor", c.body)
		if got := keys(raw, "result"); st != 201 || got != c.want {
			t.Errorf("%s: %d %s, want %s (%v)", c.body, st, got, c.want, m)
		}
		if stats := m["extra"].(map[string]any)["stats"].(map[string]any); stats["scannedFull"] != 0.0 {
			t.Errorf("%s: scannedFull %v, want the edge index", c.body, stats["scannedFull"])
		}
	}
	// onlyget: its presence makes the PUT a read, whatever its value
	st, _, _, raw = coreDo(t, "PUT", base+"/_api/document/e?onlyget=false", `["aa","nope"]`)
	if st != 200 || !strings.Contains(string(raw), `"_key":"aa"`) || !strings.Contains(string(raw), `"errorNum":1202`) {
		t.Errorf("onlyget read: %d %s", st, raw)
	}
}
