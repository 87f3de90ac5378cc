package arangotest

import (
	"encoding/json"
	"testing"
)

// Batch (array) writes apply the shard key rules per item: the failing items carry errorNum
// 1466/1469 (and X-Arango-Error-Codes counts them), the others are written.
func TestClusterShardKeyBatchRules(t *testing.T) {
	cl := clStart(t, 1, 2)
	ep := cl.Endpoints()[0]
	clSeed(t, ep, "skb", map[string]any{"numberOfShards": 3, "shardKeys": []string{"g"}}, 0)
	st, h, _, raw := clDo(t, "POST", ep+"/_api/document/skb", []map[string]any{{"g": 1, "v": 1}, {"_key": "x", "g": 2}, {"g": 3, "v": 3}})
	if st != 202 {
		t.Fatalf("batch insert: %d %s", st, raw)
	}
	var items []map[string]any
	if err := json.Unmarshal(raw, &items); err != nil || len(items) != 3 {
		t.Fatalf("batch insert answer: %s", raw)
	}
	if items[0]["error"] == true || items[2]["error"] == true || items[1]["errorNum"] != 1466.0 {
		t.Fatalf("batch insert items: %s", raw)
	}
	if h.Get("X-Arango-Error-Codes") != `{"1466":1}` {
		t.Fatalf("X-Arango-Error-Codes %q", h.Get("X-Arango-Error-Codes"))
	}
	if _, _, m, _ := clDo(t, "GET", ep+"/_api/collection/skb/count", nil); m["count"] != 2.0 {
		t.Fatalf("count after batch insert: %v", m["count"])
	}
	k1, k3 := items[0]["_key"].(string), items[2]["_key"].(string)

	// Update: changing g fails, keeping it (or not naming it) works.
	_, h, _, raw = clDo(t, "PATCH", ep+"/_api/document/skb", []map[string]any{{"_key": k1, "g": 9}, {"_key": k3, "v": 30}})
	items = nil
	_ = json.Unmarshal(raw, &items)
	if len(items) != 2 || items[0]["errorNum"] != 1469.0 || items[1]["error"] == true {
		t.Fatalf("batch update: %s", raw)
	}
	if h.Get("X-Arango-Error-Codes") != `{"1469":1}` {
		t.Fatalf("X-Arango-Error-Codes %q", h.Get("X-Arango-Error-Codes"))
	}
	// Replace: dropping g fails, keeping it works.
	_, _, _, raw = clDo(t, "PUT", ep+"/_api/document/skb", []map[string]any{{"_key": k1, "v": 10, "g": 1}, {"_key": k3, "v": 31}})
	items = nil
	_ = json.Unmarshal(raw, &items)
	if len(items) != 2 || items[0]["error"] == true || items[1]["errorNum"] != 1469.0 {
		t.Fatalf("batch replace: %s", raw)
	}
	_, _, d1, _ := clDo(t, "GET", ep+"/_api/document/skb/"+k1, nil)
	_, _, d3, _ := clDo(t, "GET", ep+"/_api/document/skb/"+k3, nil)
	if d1["g"] != 1.0 || d1["v"] != 10.0 || d3["g"] != 3.0 || d3["v"] != 30.0 {
		t.Fatalf("documents after the batches: %v %v", d1, d3)
	}
}
