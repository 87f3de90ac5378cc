package arangotest

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
)

// Revision-based replication reads used between servers (and by two driver tests on single
// servers): PUT /_api/replication/revisions/ranges and /revisions/documents, both reading the
// batch snapshot. Plus the pre-3.12.10 logger-first-tick and logger-tick-ranges.

// revisionSnapshot returns the snapshot documents of the collection named in the query,
// sorted by revision.
func (rs *replState) revisionSnapshot(c *call) ([]*Doc, bool) {
	name := c.query("collection")
	coll := c.db.Collection(name)
	if name == "" || coll == nil {
		c.fail(errCollectionNotFound(name))
		return nil, false
	}
	b := rs.findBatch(c.query("batchId"))
	if b == nil {
		c.fail(newError(404, 1600, "replication context not found"))
		return nil, false
	}
	rs.extendBatch(b.id, 0)
	docs := append([]*Doc(nil), b.snap.collectionDocs(coll)...)
	sort.Slice(docs, func(i, j int) bool { return decodeRev(docs[i].Rev) < decodeRev(docs[j].Rev) })
	return docs, true
}

// handleRevisionRanges serves PUT /_api/replication/revisions/ranges: for each [from,to] pair
// of revision strings, the revisions of the snapshot in that (inclusive) range.
func (rs *replState) handleRevisionRanges(c *call) {
	var pairs [][]string
	if err := json.Unmarshal(c.body, &pairs); err != nil {
		c.fail(newError(400, 400, "body needs to be an array of pairs of revisions"))
		return
	}
	docs, ok := rs.revisionSnapshot(c)
	if !ok {
		return
	}
	resume := decodeRev(c.query("resume"))
	ranges := make([][]string, 0, len(pairs))
	for _, p := range pairs {
		if len(p) != 2 {
			c.fail(newError(400, 400, "body needs to be an array of pairs of revisions"))
			return
		}
		lo, hi := decodeRev(p[0]), decodeRev(p[1])
		lo = max(lo, resume)
		revs := []string{}
		i := sort.Search(len(docs), func(i int) bool { return decodeRev(docs[i].Rev) >= lo })
		for ; i < len(docs) && decodeRev(docs[i].Rev) <= hi; i++ {
			revs = append(revs, docs[i].Rev)
		}
		ranges = append(ranges, revs)
	}
	c.json(http.StatusOK, map[string]any{"ranges": ranges})
}

// handleRevisionDocuments serves PUT /_api/replication/revisions/documents: the snapshot
// documents with the given revisions, in request order (unknown revisions are left out).
func (rs *replState) handleRevisionDocuments(c *call) {
	var revs []string
	if err := json.Unmarshal(c.body, &revs); err != nil {
		c.fail(newError(400, 400, "body needs to be an array of revisions"))
		return
	}
	docs, ok := rs.revisionSnapshot(c)
	if !ok {
		return
	}
	byRev := make(map[string]*Doc, len(docs))
	for _, d := range docs {
		byRev[d.Rev] = d
	}
	out := make([]json.RawMessage, 0, len(revs))
	for _, r := range revs {
		if d := byRev[r]; d != nil {
			out = append(out, d.Raw)
		}
	}
	c.json(http.StatusOK, out)
}

// handleLoggerFirstTick serves GET /_api/replication/logger-first-tick (before 3.12.10).
func (rs *replState) handleLoggerFirstTick(c *call) {
	first, _ := rs.s.store.WAL.Range()
	if first == 0 {
		first = rs.s.store.LastTick()
	}
	c.json(http.StatusOK, map[string]any{"firstTick": strconv.FormatUint(first, 10)})
}

// handleLoggerTickRanges serves GET /_api/replication/logger-tick-ranges (before 3.12.10):
// the in-memory WAL as one "datafile".
func (rs *replState) handleLoggerTickRanges(c *call) {
	first, last := rs.s.store.WAL.Range()
	if last == 0 {
		last = rs.s.store.LastTick()
		first = last
	}
	c.json(http.StatusOK, []map[string]any{{"datafile": "memory", "status": "open",
		"tickMin": strconv.FormatUint(first, 10), "tickMax": strconv.FormatUint(last, 10)}})
}
