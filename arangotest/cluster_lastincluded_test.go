package arangotest

import (
	"fmt"
	"strconv"
	"testing"
)

// TestClusterShardDumpCountsChunks: a Coordinator's classic shard dump sends the chunk
// counter as x-arango-replication-lastincluded, as the core's handleDump does: 2 for the first
// chunk that has more, then one more per further such chunk.
func TestClusterShardDumpCountsChunks(t *testing.T) {
	cl := clStart(t, 1, 2)
	ep := cl.Endpoints()[0]
	st, _, _, raw := clDo(t, "POST", ep+"/_api/collection", map[string]any{"name": "chunks", "numberOfShards": 1})
	cMust(t, 200, st, raw, "create collection")
	docs := make([]map[string]any, 50)
	for i := range docs {
		docs[i] = map[string]any{"_key": fmt.Sprintf("k%d", i), "pad": fmt.Sprintf("%0100d", i)}
	}
	st, _, _, raw = clDo(t, "POST", ep+"/_api/document/chunks", docs)
	cMust(t, 202, st, raw, "insert")
	si := clShards(t, ep, "chunks")
	shard, server := si.ids[0], si.servers[si.ids[0]][0]
	st, _, m, raw := clDo(t, "POST", ep+"/_api/replication/batch?DBserver="+server, `{"ttl":60}`)
	cMust(t, 200, st, raw, "batch")
	id := m["id"].(string)
	more := 0
	for round := 0; round < 100; round++ {
		st, h, _, raw := clDo(t, "GET", ep+"/_api/replication/dump?collection="+shard+"&batchId="+id+
			"&DBserver="+server+"&useEnvelope=false&chunkSize=1000", nil)
		if st == 204 {
			break
		}
		cMust(t, 200, st, raw, "dump")
		if h.Get("x-arango-replication-checkmore") != "true" {
			break
		}
		more++
		if got, want := h.Get("x-arango-replication-lastincluded"), strconv.Itoa(round+2); got != want {
			t.Fatalf("chunk %d: lastincluded %q, want %q", round, got, want)
		}
	}
	if more < 3 {
		t.Fatalf("only %d chunks with more to come: the test checks nothing", more)
	}
}
