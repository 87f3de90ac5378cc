package restore

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseOverrides(t *testing.T) {
	o, err := ParseOverrides("number-of-shards", []string{"3", "users=5", "a=b=7"}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		coll string
		want any
		ok   bool
	}{{"users", uint64(5), true}, {"orders", uint64(3), true}, {"a=b", uint64(7), true}, {"_graphs", nil, false}} {
		v, ok := o.For(c.coll)
		if ok != c.ok || !reflect.DeepEqual(v, c.want) {
			t.Errorf("For(%q) = %v, %v; want %v, %v", c.coll, v, ok, c.want, c.ok)
		}
	}
	for _, bad := range []string{"0", "x", "c=0", "=3", "-1"} {
		if _, err := ParseOverrides("number-of-shards", []string{bad}, false); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := ParseOverrides("replication-factor", []string{"satellite"}, false); err == nil {
		t.Error("satellite accepted for number-of-shards")
	}
	r, err := ParseOverrides("replication-factor", []string{"c=satellite"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := r.For("c"); v != "satellite" {
		t.Errorf("satellite: %v", v)
	}
	if _, ok := r.For("d"); ok {
		t.Error("no global value, but d got one")
	}
}

func TestParseRenames(t *testing.T) {
	m, err := ParseRenames([]string{"a=b", "c=d"})
	if err != nil || m["a"] != "b" || m["c"] != "d" {
		t.Fatalf("%v %v", m, err)
	}
	for _, bad := range [][]string{{"a"}, {"=b"}, {"a="}, {"a=b", "a=c"}} {
		if _, err := ParseRenames(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestValidate(t *testing.T) {
	o := DefaultOptions()
	o.CreateCollection, o.ImportData = false, false
	if err := o.Validate(); err == nil {
		t.Error("--create-collection false --import-data false accepted")
	}
	o = DefaultOptions()
	o.BatchSize = 10
	if err := o.Validate(); err != nil || o.BatchSize != MinBatchSize {
		t.Errorf("batch size %d, %v", o.BatchSize, err)
	}
}

func TestContinueFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	cf, err := loadContinueFile(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(cf.setState("orders", stateCreated))
	must(cf.setOffsets("customers", 1, 4096, []span{{File: 1, Start: 8192, End: 9000}}))
	must(cf.setState("done", stateRestored))
	must(cf.setState(markerArangoSearch, stateRestored))
	b, err := os.ReadFile(filepath.Join(dir, ContinueFileName))
	must(err)
	var raw map[string]map[string]any
	must(json.Unmarshal(b, &raw))
	// arangorestore's fields, with its rule: offsets only when not both zero.
	if raw["customers"]["state"] != 2.0 || raw["customers"]["bytes-acked"] != 4096.0 || raw["customers"]["file-no"] != 1.0 {
		t.Errorf("customers entry: %v", raw["customers"])
	}
	if _, ok := raw["orders"]["bytes-acked"]; ok || raw["orders"]["state"] != 1.0 {
		t.Errorf("orders entry: %v", raw["orders"])
	}
	if raw[markerArangoSearch]["state"] != 3.0 {
		t.Errorf("marker: %v", raw)
	}
	// Without --continue the old file is ignored.
	cf2, err := loadContinueFile(dir, false)
	must(err)
	if cf2.get("customers").State != stateUnknown {
		t.Error("state loaded without --continue")
	}
	cf3, err := loadContinueFile(dir, true)
	must(err)
	got := cf3.get("customers")
	want := collProgress{State: stateRestoring, BytesAcked: 4096, FileNo: 1, Acked: []span{{File: 1, Start: 8192, End: 9000}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("loaded %+v, want %+v", got, want)
	}
	// arangorestore's own file (no gorestore fields) loads too.
	must(os.WriteFile(filepath.Join(dir, ContinueFileName), []byte(`{"c":{"state":2,"bytes-acked":16777216,"file-no":0},"o":{"state":3}}`), 0o644))
	cf4, err := loadContinueFile(dir, true)
	must(err)
	if g := cf4.get("c"); g.State != 2 || g.BytesAcked != 16777216 {
		t.Errorf("arangorestore file: %+v", g)
	}
	must(cf4.remove())
	if _, err := os.Stat(filepath.Join(dir, ContinueFileName)); !os.IsNotExist(err) {
		t.Error("continue.json not removed")
	}
}

func TestAckTrackerWatermark(t *testing.T) {
	tr := newAckTracker(pos{})
	tr.dispatched(0, 0, 100)
	tr.dispatched(0, 100, 200)
	tr.dispatched(0, 200, 300)
	// The second batch finishes first: resume must still start at 0, but skip [100,200).
	w, spans := tr.ack(0, 100)
	if w != (pos{0, 0}) || !reflect.DeepEqual(spans, []span{{0, 100, 200}}) {
		t.Fatalf("after ack 100: %v %v", w, spans)
	}
	w, spans = tr.ack(0, 0)
	if w != (pos{0, 200}) || len(spans) != 0 {
		t.Fatalf("after ack 0: %v %v", w, spans)
	}
	tr.dispatched(1, 0, 50) // next split file
	w, _ = tr.ack(0, 200)
	if w != (pos{1, 0}) {
		t.Fatalf("after ack 200: %v", w)
	}
	w, _ = tr.ack(1, 0)
	if w != (pos{1, 50}) {
		t.Fatalf("at end: %v", w)
	}
	if !inSpans([]span{{0, 100, 200}}, 0, 100, 200) || inSpans([]span{{0, 100, 200}}, 0, 100, 250) || inSpans([]span{{0, 100, 200}}, 1, 100, 200) {
		t.Error("inSpans")
	}
}

func TestInjectKeyAndRenameEdge(t *testing.T) {
	if got := string(injectKey([]byte(`{"a":1}`), "k")); got != `{"_key":"k","a":1}` {
		t.Errorf("injectKey: %s", got)
	}
	if got := string(injectKey([]byte(`{}`), "k")); got != `{"_key":"k"}` {
		t.Errorf("injectKey empty: %s", got)
	}
	out, err := renameEdge([]byte(`{"_key":"e1","_from":"old/1","_to":"other/2","n":12345678901234567890}`), map[string]string{"old": "new"})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	if string(m["_from"]) != `"new/1"` || string(m["_to"]) != `"other/2"` || string(m["n"]) != "12345678901234567890" {
		t.Errorf("renameEdge: %s", out)
	}
}

func TestRenameInView(t *testing.T) {
	def := []byte(`{"name":"v","type":"arangosearch","links":{"old":{"includeAllFields":true},"keep":{}}}`)
	out, err := renameInView(def, map[string]string{"old": "new"})
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Links map[string]any }
	_ = json.Unmarshal(out, &v)
	if _, ok := v.Links["new"]; !ok || len(v.Links) != 2 {
		t.Errorf("links: %s", out)
	}
	alias := []byte(`{"name":"a","type":"search-alias","indexes":[{"collection":"old","index":"inv"}]}`)
	out, err = renameInView(alias, map[string]string{"old": "new"})
	if err != nil {
		t.Fatal(err)
	}
	var a struct{ Indexes []map[string]string }
	_ = json.Unmarshal(out, &a)
	if a.Indexes[0]["collection"] != "new" {
		t.Errorf("indexes: %s", out)
	}
}

func TestFastClusterPlan(t *testing.T) {
	dir := t.TempDir()
	writeTestDump(t, dir, map[string]string{
		"a":       `{"name":"a","type":2,"replicationFactor":3,"writeConcern":2,"numberOfShards":5}`,
		"b":       `{"name":"b","type":2,"replicationFactor":1}`,
		"c":       `{"name":"c","type":2,"replicationFactor":2,"distributeShardsLike":"a"}`,
		"_graphs": `{"name":"_graphs","type":2,"isSystem":true,"replicationFactor":2}`,
	}, nil, nil)
	opts := DefaultOptions()
	opts.InputDirectory = dir
	opts.IncludeSystemCollections = true
	opts.FastClusterRestore = true
	opts.NumberOfShards, _ = ParseOverrides("number-of-shards", []string{"b=7"}, false)
	p, err := BuildPlan(opts)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]any{}
	final := map[string]any{}
	for _, c := range p.Databases[0].Collections {
		var s struct{ Parameters map[string]any }
		if err := json.Unmarshal(c.Structure, &s); err != nil {
			t.Fatal(err)
		}
		got[c.Name()] = s.Parameters
		if c.FinalReplicationFactor != nil {
			b, _ := json.Marshal(c.FinalReplicationFactor)
			final[c.Name()] = string(b)
		}
	}
	if got["a"]["replicationFactor"] != 1.0 || got["a"]["writeConcern"] != 1.0 || got["a"]["numberOfShards"] != 5.0 || final["a"] != "3" {
		t.Errorf("a: %v final %v", got["a"], final["a"])
	}
	if got["b"]["numberOfShards"] != 7.0 || final["b"] != nil {
		t.Errorf("b: %v final %v", got["b"], final["b"])
	}
	// Followers of a prototype and system collections keep their settings.
	if got["c"]["replicationFactor"] != 2.0 || final["c"] != nil || got["_graphs"]["replicationFactor"] != 2.0 {
		t.Errorf("c %v, _graphs %v", got["c"], got["_graphs"])
	}
}
