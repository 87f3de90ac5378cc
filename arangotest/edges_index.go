package arangotest

import (
	"bytes"
	"strconv"
	"sync"
)

// edgeIndex is the edge index of one edge collection: the documents by _from and by _to, in
// storage order, as of one revision and count of the collection. arangod keeps its edge
// index up to date on every write (RocksDBEdgeIndex); arangotest builds it on the first
// lookup after a change, so that GET /_api/edges costs a map lookup per vertex instead of
// a scan of the collection, as on the real server.
type edgeIndex struct {
	rev      uint64
	count    int
	from, to map[string][]*Doc
}

// edgeIndexes caches the edge index of the collections looked up most recently (a small,
// bounded set: test servers come and go in one process).
var edgeIndexes = struct {
	sync.Mutex
	build sync.Mutex // one build at a time: concurrent lookups after a change wait for it
	m     map[*Collection]*edgeIndex
}{m: map[*Collection]*edgeIndex{}}

const maxEdgeIndexes = 32

func edgeIndexOf(coll *Collection) *edgeIndex {
	rev, count := coll.Revision(), coll.Count()
	edgeIndexes.Lock()
	ix := edgeIndexes.m[coll]
	edgeIndexes.Unlock()
	if ix != nil && ix.rev == rev && ix.count == count {
		return ix
	}
	edgeIndexes.build.Lock()
	defer edgeIndexes.build.Unlock()
	edgeIndexes.Lock()
	ix = edgeIndexes.m[coll]
	edgeIndexes.Unlock()
	if ix != nil && ix.rev == rev && ix.count == count {
		return ix // built while this lookup waited
	}
	ix = &edgeIndex{rev: rev, count: count, from: map[string][]*Doc{}, to: map[string][]*Doc{}}
	for _, d := range coll.Snapshot() {
		p, err := parseDoc(d.Raw)
		if err != nil {
			continue
		}
		ix.from[p.from] = append(ix.from[p.from], d)
		ix.to[p.to] = append(ix.to[p.to], d)
	}
	edgeIndexes.Lock()
	if len(edgeIndexes.m) >= maxEdgeIndexes {
		for k := range edgeIndexes.m {
			delete(edgeIndexes.m, k)
			break
		}
	}
	edgeIndexes.m[coll] = ix
	edgeIndexes.Unlock()
	return ix
}

// readEdges serves GET /_api/edges/{coll}?vertex=&direction= as RestEdgesHandler::readEdges
// (arangod/RestHandler/RestEdgesHandler.cpp, 3.12) does: 404/1203 for an unknown collection,
// 400/1218 for one that is not an edge collection, 400/400 for a direction other than any,
// in or out (empty: any), 400/1205 "illegal document handle" without a vertex; the answer is
// {"edges":[...],"error":false,"code":200,"stats":{...}}, the edges of the query
// FOR e IN @@collection FILTER e._from == @vertex [|| e._to == @vertex] RETURN e (an edge
// with both ends at the vertex once).
func (s *Server) readEdges(c *call) {
	coll := c.collection(c.param("coll"))
	if coll == nil {
		return
	}
	if coll.Type != 3 {
		c.error(400, 1218, "collection type invalid")
		return
	}
	dir := c.query("direction")
	switch dir {
	case "", "any", "in", "out":
	default:
		c.error(400, 400, "<direction> must by any, in, or out, not: "+dir)
		return
	}
	vertex := c.query("vertex")
	if vertex == "" {
		c.error(400, 1205, "illegal document handle")
		return
	}
	ix := edgeIndexOf(coll)
	var parts [][]byte
	seen := map[*Doc]bool{}
	if dir != "in" {
		for _, d := range ix.from[vertex] {
			parts = append(parts, d.Raw)
			seen[d] = true
		}
	}
	if dir != "out" {
		for _, d := range ix.to[vertex] {
			if !seen[d] {
				parts = append(parts, d.Raw)
			}
		}
	}
	var buf bytes.Buffer
	buf.WriteString(`{"edges":[`)
	buf.Write(bytes.Join(parts, []byte(",")))
	buf.WriteString(`],"error":false,"code":200,"stats":{"scannedIndex":` + strconv.Itoa(len(parts)) + `,"filtered":0}}`)
	c.raw(200, "application/json; charset=utf-8", buf.Bytes())
}
