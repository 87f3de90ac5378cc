package arangotest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Replication batches (/_api/replication/batch), inventory, logger-state and the classic
// per-collection dump (/_api/replication/dump).
//
// A batch pins a snapshot of every database when it is created: for each collection a copy of
// its document pointers (documents are immutable, so the copy is the snapshot). Dumps that pass
// the batch id read from that copy, so writes made after the batch started are invisible, as
// with the RocksDB snapshot the real server holds. The catalog (which collections exist, their
// properties and indexes) is read live by inventory, as the real server does; a collection
// created after the batch dumps as empty.

const (
	defaultBatchTTL       = 3600 * time.Second // replutils::BatchInfo::DefaultTimeout
	defaultDumpChunkSize  = 128 * 1024         // RestReplicationHandler::_defaultChunkSize
	maxDumpChunkSize      = 64 * 1024 * 1024   // RestReplicationHandler::maxChunkSize (3.12)
	replicationServerInfo = "rocksdb"
)

// replState holds replication batches and parallel dump contexts of one server.
type replState struct {
	s       *Server
	mu      sync.Mutex
	batches map[string]*replBatch
	dumps   map[string]*dumpContext
	// syncers seen by batch/inventory calls, for logger-state "clients".
	clients map[string]*replClient
	// applierReg holds the (non-replicating) applier states.
	applierReg *applierRegistry
}

type replClient struct {
	SyncerID       string `json:"syncerId"`
	ServerID       string `json:"serverId"`
	ClientInfo     string `json:"clientInfo"`
	Time           string `json:"time"`
	Expires        string `json:"expires"`
	LastServedTick string `json:"lastServedTick"`
}

func newReplState(s *Server) *replState {
	return &replState{s: s, batches: map[string]*replBatch{}, dumps: map[string]*dumpContext{},
		clients: map[string]*replClient{}, applierReg: &applierRegistry{appliers: map[string]*applierState{}}}
}

// snapshot is a point-in-time copy of the documents of every collection of every database.
type snapshot struct {
	tick uint64
	docs map[*Collection][]*Doc
}

func takeSnapshot(st *Store) *snapshot {
	sn := &snapshot{docs: map[*Collection][]*Doc{}}
	sn.tick = st.LastTick()
	for _, db := range st.Databases() {
		for _, c := range db.Collections() {
			sn.docs[c] = c.Snapshot()
		}
	}
	return sn
}

// collectionDocs returns the snapshot of c (nil if c did not exist when it was taken).
func (sn *snapshot) collectionDocs(c *Collection) []*Doc { return sn.docs[c] }

// replBatch is one replication batch (dump context of the classic API).
type replBatch struct {
	id      string
	snap    *snapshot
	mu      sync.Mutex
	ttl     time.Duration
	expires time.Time
	// per-collection read position of /_api/replication/dump
	pos map[*Collection]int
	// per-collection chunk counter (CollectionIterator::currentTick, starting at 1), sent as
	// x-arango-replication-lastincluded
	chunks map[*Collection]uint64
	// busy guards against concurrent use, like the server's context lease
	busy bool
}

func (rs *replState) gcLocked(now time.Time) {
	for id, b := range rs.batches {
		if now.After(b.expires) {
			delete(rs.batches, id)
		}
	}
	for id, d := range rs.dumps {
		if now.After(d.expiresAt()) {
			delete(rs.dumps, id)
		}
	}
}

func (rs *replState) createBatch(ttl time.Duration) *replBatch {
	if ttl <= 0 {
		ttl = defaultBatchTTL // RocksDBReplicationContext: ttl > 0 ? ttl : DefaultTimeout
	}
	st := rs.s.store
	b := &replBatch{id: strconv.FormatUint(st.NextTick(), 10), ttl: ttl, pos: map[*Collection]int{}, chunks: map[*Collection]uint64{}}
	b.snap = takeSnapshot(st)
	b.expires = time.Now().Add(ttl)
	rs.mu.Lock()
	rs.gcLocked(time.Now())
	rs.batches[b.id] = b
	rs.mu.Unlock()
	return b
}

// batchKey is the id a request names, read as the server reads it (StringUtils::uint64:
// "0042" is batch 42, "abc" is 0, which no batch has).
func batchKey(id string) string { return strconv.FormatUint(replUint(id), 10) }

func (rs *replState) findBatch(id string) *replBatch {
	id = batchKey(id)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.gcLocked(time.Now())
	return rs.batches[id]
}

// extendBatch is RocksDBReplicationContext::extendLifetime: the batch now expires after the
// longer of its own ttl (set at creation) and ttl.
func (rs *replState) extendBatch(id string, ttl time.Duration) bool {
	id = batchKey(id)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.gcLocked(time.Now())
	b := rs.batches[id]
	if b == nil {
		return false
	}
	b.expires = time.Now().Add(max(b.ttl, ttl))
	return true
}

func (rs *replState) deleteBatch(id string) bool {
	id = batchKey(id)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if _, ok := rs.batches[id]; !ok {
		return false
	}
	delete(rs.batches, id)
	return true
}

func (rs *replState) trackClient(r *http.Request, tick uint64, ttl time.Duration) {
	q := r.URL.Query()
	syncer, server := q.Get("syncerId"), q.Get("serverId")
	if syncer == "" && server == "" {
		return
	}
	now := time.Now().UTC()
	rs.mu.Lock()
	rs.clients[syncer+"/"+server] = &replClient{SyncerID: syncer, ServerID: server, ClientInfo: q.Get("clientInfo"),
		Time: now.Format(time.RFC3339), Expires: now.Add(ttl).Format(time.RFC3339), LastServedTick: strconv.FormatUint(tick, 10)}
	rs.mu.Unlock()
}

// --- request helpers (independent of the core router) -------------------------------------

// replBool parses a query-string boolean as GeneralRequest::parsedValue<bool> does
// (StringUtils::boolean): absent is def; true, yes, on, y, 1 (any case, trimmed) are true,
// anything else (the empty string included) is false.
func replBool(r *http.Request, name string, def bool) bool {
	v, ok := r.URL.Query()[name]
	if !ok || len(v) == 0 {
		return def
	}
	switch strings.ToLower(strings.TrimSpace(v[0])) {
	case "true", "1", "yes", "on", "y", "✓":
		return true
	}
	return false
}

// replUint parses a query-string number as StringUtils::uint64 does (std::from_chars): the
// leading digits, 0 when there are none.
func replUint(v string) uint64 {
	var n uint64
	for i := 0; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
		n = n*10 + uint64(v[i]-'0')
	}
	return n
}

// errNoResponse is a handler that returns without writing an answer: arangod then sends the
// response it prepared for the handler, HTTP 500 without a body (HttpCommTask::processRequest).
var errNoResponse = newError(500, 0, "")

// ttlFromBody reads the body of POST and PUT /_api/replication/batch as
// RocksDBRestReplicationHandler::handleCommandBatch does: parseVPackBody (invalid JSON: 400,
// error 600), then an object is required (anything else, an empty body included, leaves the
// handler without an answer: errNoResponse), and "ttl" is read with getNumericValue (not a
// number: the default). 0 is returned for "use the batch's own ttl".
func ttlFromBody(body []byte) (time.Duration, error) {
	if len(body) == 0 {
		return 0, errNoResponse
	}
	var top map[string]json.RawMessage
	if err := errInvalidBody(body); err != nil {
		return 0, err
	}
	if rawKind(bytes.TrimSpace(body)) != 'o' || json.Unmarshal(body, &top) != nil {
		return 0, errNoResponse
	}
	var ttl float64
	if json.Unmarshal(top["ttl"], &ttl) != nil {
		return defaultBatchTTL, nil
	}
	if ttl <= 0 {
		return 0, nil
	}
	return time.Duration(ttl * float64(time.Second)), nil
}

// failRepl answers err; errNoResponse becomes the bodiless 500.
func failRepl(c *call, err error) {
	if err == errNoResponse {
		c.empty(http.StatusInternalServerError)
		return
	}
	c.fail(err)
}

// writeUncompressed writes a data body (dump batches) without the router's response
// compression: the real server only compresses above --http.compress-response-threshold,
// which is 0 (off) by default, and compressing here would make the server, not the tool, the
// bottleneck of every dump benchmark.
func writeUncompressed(c *call, status int, contentType string, body []byte) {
	c.written = true
	h := c.w.Header()
	h.Set("Server", "ArangoDB")
	h.Set("X-Content-Type-Options", "nosniff")
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	if status == http.StatusNoContent {
		c.w.WriteHeader(status)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.w.WriteHeader(status)
	if c.r.Method != http.MethodHead {
		_, _ = c.w.Write(body)
	}
}

func nowString() string { return time.Now().UTC().Format(time.RFC3339) }

func (rs *replState) loggerStateObject() map[string]any {
	st := rs.s.store
	last := strconv.FormatUint(st.LastTick(), 10)
	return map[string]any{"running": true, "lastLogTick": last, "lastUncommittedLogTick": last,
		"totalEvents": st.WAL.Count(), "time": nowString()}
}

// --- handlers ------------------------------------------------------------------------------

// handleBatch serves POST /_api/replication/batch, PUT|DELETE /_api/replication/batch/{id}.
// It mirrors RocksDBRestReplicationHandler::handleCommandBatch
// (arangod/RocksDBEngine/RocksDBRestReplicationHandler.cpp): POST creates a batch (whatever
// follows "batch" in the path), PUT and DELETE need the id; anything else is 405, error 405.
// An unknown id is 404, error 1600 (TRI_ERROR_CURSOR_NOT_FOUND, "cursor not found"); a
// negative or zero ttl means the default (3600 s) at creation and the batch's own ttl on PUT.
func (rs *replState) handleBatch(c *call) {
	id, body := c.param("id"), c.body
	switch c.r.Method {
	case http.MethodPost:
		ttl, err := ttlFromBody(body)
		if err != nil {
			failRepl(c, err)
			return
		}
		b := rs.createBatch(ttl)
		rs.trackClient(c.r, b.snap.tick, ttl)
		out := map[string]any{"id": b.id, "lastTick": strconv.FormatUint(b.snap.tick, 10)}
		if replBool(c.r, "state", false) {
			out["state"] = rs.loggerStateObject()
		}
		c.json(http.StatusOK, out)
	case http.MethodPut:
		if id == "" {
			c.fail(newError(405, 405, "method not supported"))
			return
		}
		ttl, err := ttlFromBody(body)
		if err != nil {
			failRepl(c, err)
			return
		}
		if !rs.extendBatch(id, ttl) {
			c.fail(newError(404, 1600, "cursor not found"))
			return
		}
		c.empty(http.StatusNoContent)
	case http.MethodDelete:
		if id == "" {
			c.fail(newError(405, 405, "method not supported"))
			return
		}
		if !rs.deleteBatch(id) {
			c.fail(newError(404, 1600, "cursor not found"))
			return
		}
		c.empty(http.StatusNoContent)
	default:
		c.fail(newError(405, 405, "method not supported"))
	}
}

// handleLoggerState serves GET /_api/replication/logger-state.
func (rs *replState) handleLoggerState(c *call) {
	rs.mu.Lock()
	clients := make([]*replClient, 0, len(rs.clients))
	for _, c := range rs.clients {
		clients = append(clients, c)
	}
	rs.mu.Unlock()
	sort.Slice(clients, func(i, j int) bool {
		return clients[i].SyncerID+clients[i].ServerID < clients[j].SyncerID+clients[j].ServerID
	})
	c.json(http.StatusOK, map[string]any{
		"state":   rs.loggerStateObject(),
		"server":  map[string]any{"version": rs.s.version, "serverId": strconv.FormatUint(rs.s.serverID, 10), "engine": replicationServerInfo},
		"clients": clients,
	})
}

// inventoryCollections lists the collections of db as the inventory shows them.
func inventoryCollections(db *Database, includeSystem, includeFoxxQueues bool, only string) []map[string]any {
	out := []map[string]any{}
	for _, c := range db.Collections() {
		if only != "" && c.Name != only {
			continue
		}
		if c.IsSystem && !includeSystem {
			continue
		}
		if (c.Name == "_queues" || c.Name == "_jobs") && !includeFoxxQueues {
			continue
		}
		idx := []map[string]any{}
		for _, ix := range c.Indexes() {
			if ix.Type == "primary" || ix.Type == "edge" {
				continue
			}
			def := ix.Definition(false)
			delete(def, "selectivityEstimate")
			delete(def, "figures")
			idx = append(idx, def)
		}
		out = append(out, map[string]any{"indexes": idx, "parameters": c.Parameters()})
	}
	return out
}

func inventoryViews(db *Database) []map[string]any {
	out := []map[string]any{}
	for _, v := range db.Views() {
		out = append(out, v.Definition())
	}
	return out
}

// replicatedCollections is inventoryCollections with the filter of
// RocksDBReplicationContext::getInventory: TRI_ExcludeCollectionReplication also leaves out
// _statistics* and _routing, and TRI_vocbase_t::inventory sorts by type, then name.
func replicatedCollections(db *Database, includeSystem, includeFoxxQueues bool) []map[string]any {
	all := inventoryCollections(db, includeSystem, includeFoxxQueues, "")
	out := all[:0]
	for _, e := range all {
		p, _ := e["parameters"].(map[string]any)
		name, _ := p["name"].(string)
		if strings.HasPrefix(name, "_statistics") || name == "_routing" {
			continue
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool {
		pi, _ := out[i]["parameters"].(map[string]any)
		pj, _ := out[j]["parameters"].(map[string]any)
		ti, tj := fmt.Sprint(pi["type"]), fmt.Sprint(pj["type"])
		if ti != tj {
			return ti < tj
		}
		ni, _ := pi["name"].(string)
		nj, _ := pj["name"].(string)
		return ni < nj
	})
	return out
}

// handleInventory serves GET /_api/replication/inventory. It mirrors
// RocksDBRestReplicationHandler::handleCommandInventory
// (arangod/RocksDBEngine/RocksDBRestReplicationHandler.cpp) and
// RocksDBReplicationContext::getInventory:
//   - no batchId: 404, error 1600 "batchId not specified"; an unknown one: 404, error 1600
//     "context was not found";
//   - collection=<name>: only that collection, or none when it does not exist (no error),
//     an empty "views" and no "properties";
//   - global=true lists every database. Outside _system getApplier writes a 403, but the
//     handler goes on and its 200 replaces it, so arangotest answers the 200 as well.
func (rs *replState) handleInventory(c *call) {
	db := c.db
	q := c.q
	if _, ok := q["batchId"]; !ok {
		c.fail(newError(404, 1600, "batchId not specified"))
		return
	}
	b := rs.findBatch(q.Get("batchId"))
	if b == nil {
		c.fail(newError(404, 1600, "context was not found"))
		return
	}
	rs.extendBatch(b.id, defaultBatchTTL) // RocksDBReplicationManager::find's default ttl
	includeSystem := replBool(c.r, "includeSystem", true)
	includeFoxx := replBool(c.r, "includeFoxxQueues", false)
	out := map[string]any{}
	if replBool(c.r, "global", false) {
		dbs := map[string]any{}
		for _, d := range rs.s.store.Databases() {
			props := d.Properties()
			entry := map[string]any{"collections": replicatedCollections(d, includeSystem, includeFoxx),
				"views": inventoryViews(d), "properties": props}
			for k, v := range props {
				entry[k] = v
			}
			dbs[d.Name] = entry
		}
		out["databases"] = dbs
	} else if only := q.Get("collection"); only != "" {
		colls := []map[string]any{}
		if db.Collection(only) != nil {
			colls = inventoryCollections(db, true, true, only)
		}
		out["collections"] = colls
		out["views"] = []map[string]any{}
	} else {
		out["collections"] = replicatedCollections(db, includeSystem, includeFoxx)
		out["views"] = inventoryViews(db)
		out["properties"] = db.Properties()
	}
	snapTick := strconv.FormatUint(b.snap.tick, 10)
	out["state"] = map[string]any{"running": true, "lastLogTick": snapTick, "lastUncommittedLogTick": snapTick,
		"totalEvents": b.snap.tick, "time": nowString()}
	out["tick"] = strconv.FormatUint(rs.s.store.LastTick(), 10)
	rs.trackClient(c.r, b.snap.tick, b.ttl)
	c.json(http.StatusOK, out)
}

// handleDump serves GET /_api/replication/dump (the classic dump: arangodump up to 3.11, and
// 3.12 for a collection of a 3.11 server). It mirrors RocksDBRestReplicationHandler::
// handleCommandDump (arangod/RocksDBEngine/RocksDBRestReplicationHandler.cpp) and
// RocksDBReplicationContext::dumpJson:
//   - no or empty collection: 400, error 400 "invalid collection parameter";
//   - no batchId: 404, error 400 "replication dump - request misses batchId"; an unknown
//     batch: 404, error 400 "replication dump - unable to find context (it could be expired)";
//   - an unknown collection: 400, error 400 "replication dump - bad parameter";
//   - docsPerBatch (default 10000) and chunkSize (default 128 KiB, at most 128 MiB, read as
//     StringUtils::uint64) bound a chunk: documents are added while the chunk is smaller
//     than chunkSize, so a chunk holds at least one unless chunkSize or docsPerBatch is 0;
//   - any Accept but exactly application/x-velocypack gets JSON lines
//     (application/x-arango-dump); VelocyPack output is not implemented by arangotest (501).
func (rs *replState) handleDump(c *call) {
	db := c.db
	q := c.q
	cname := q.Get("collection")
	if cname == "" {
		c.fail(newError(400, 400, "invalid collection parameter"))
		return
	}
	if _, ok := q["batchId"]; !ok {
		c.fail(newError(404, 400, "replication dump - request misses batchId"))
		return
	}
	b := rs.findBatch(q.Get("batchId"))
	if b == nil {
		c.fail(newError(404, 400, "replication dump - unable to find context (it could be expired)"))
		return
	}
	coll := db.Collection(cname)
	if coll == nil {
		// RocksDBReplicationContext::dumpJson fails with TRI_ERROR_BAD_PARAMETER when it cannot
		// set up the collection iterator; the handler turns that into 400 "replication dump - ..."
		c.fail(newError(400, 400, "replication dump - bad parameter"))
		return
	}
	o, ok := parseDumpChunkOptions(c)
	if !ok {
		return
	}

	b.mu.Lock()
	if b.busy {
		b.mu.Unlock()
		c.fail(newError(400, 400, "replication dump - bad parameter")) // the iterator is in use
		return
	}
	docs := b.snap.collectionDocs(coll)
	start := b.pos[coll]
	end, size := o.cut(docs, start)
	b.pos[coll] = end
	if b.chunks[coll] == 0 {
		b.chunks[coll] = 1
	}
	if end < len(docs) {
		b.chunks[coll]++
	}
	included := b.chunks[coll]
	b.mu.Unlock()
	rs.extendBatch(b.id, 0)
	writeDumpChunk(c, included, docs[start:end], size, end < len(docs), o.envelope)
}

// dumpChunkOptions are the query options of one classic dump request.
type dumpChunkOptions struct {
	envelope  bool
	chunkSize int // bytes: documents are added while the chunk is smaller
	maxDocs   int // documents at most (docsPerBatch)
}

// defaultDumpDocsPerBatch is handleCommandDump's default docsPerBatch.
const defaultDumpDocsPerBatch = 10 * 1000

// parseDumpChunkOptions reads useEnvelope, chunkSize (RestReplicationHandler::
// determineChunkSize) and docsPerBatch as handleCommandDump does; VelocyPack output
// (Accept: application/x-velocypack, rest::stringToContentType) is not implemented (the
// request is answered and ok is false).
func parseDumpChunkOptions(c *call) (dumpChunkOptions, bool) {
	if c.header("Accept") == "application/x-velocypack" {
		c.fail(newError(501, 9, "replication dump - velocypack output is not supported by arangotest"))
		return dumpChunkOptions{}, false
	}
	q := c.r.URL.Query()
	o := dumpChunkOptions{envelope: replBool(c.r, "useEnvelope", true), chunkSize: defaultDumpChunkSize,
		maxDocs: defaultDumpDocsPerBatch}
	if v, ok := q["chunkSize"]; ok && len(v) > 0 {
		o.chunkSize = int(min(replUint(v[0]), maxDumpChunkSize))
	}
	if v, ok := q["docsPerBatch"]; ok && len(v) > 0 {
		o.maxDocs = int(min(replUint(v[0]), 1<<31))
	}
	return o, true
}

// cut returns where the chunk starting at docs[start] ends and its size on the wire: the
// loop of RocksDBReplicationContext::dumpJson (while the buffer is smaller than chunkSize
// and at most docsPerBatch documents).
func (o dumpChunkOptions) cut(docs []*Doc, start int) (end, size int) {
	overhead := 1 // newline
	if o.envelope {
		overhead += len(envelopePrefix) + len(envelopeSuffix)
	}
	end = start
	for end < len(docs) && size < o.chunkSize && end-start < o.maxDocs {
		size += len(docs[end].Raw) + overhead
		end++
	}
	return end, size
}

// writeDumpChunk answers a classic dump request with docs as JSON lines (204 when empty).
func writeDumpChunk(c *call, tick uint64, docs []*Doc, size int, more, envelope bool) {
	h := c.w.Header()
	h.Set("x-arango-replication-checkmore", strconv.FormatBool(more))
	if len(docs) == 0 {
		h.Set("x-arango-replication-lastincluded", "0")
		writeUncompressed(c, http.StatusNoContent, dumpContentType, nil)
		return
	}
	h.Set("x-arango-replication-lastincluded", strconv.FormatUint(tick, 10))
	writeDocLines(c, dumpContentType, docs, size, envelope)
}

const (
	dumpContentType = "application/x-arango-dump; charset=utf-8"
	envelopePrefix  = `{"type":2300,"data":`
	envelopeSuffix  = "}"
)

// writeDocLines streams documents as JSON lines (optionally enveloped) with a known length,
// copying the stored bytes as they are.
func writeDocLines(c *call, contentType string, docs []*Doc, size int, envelope bool) {
	c.written = true
	h := c.w.Header()
	h.Set("Server", "ArangoDB")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(size))
	c.w.WriteHeader(http.StatusOK)
	if c.r.Method == http.MethodHead {
		return
	}
	bw := bufio.NewWriterSize(c.w, 256<<10)
	for _, d := range docs {
		if envelope {
			_, _ = bw.WriteString(envelopePrefix)
		}
		if _, err := bw.Write(d.Raw); err != nil {
			return
		}
		if envelope {
			_, _ = bw.WriteString(envelopeSuffix)
		}
		_ = bw.WriteByte('\n')
	}
	_ = bw.Flush()
}

// handleClusterInventory answers as a single server does (RestReplicationHandler::
// executeAsync, command clusterInventory, not a Coordinator): 403 with errorNum 1471.
func (rs *replState) handleClusterInventory(c *call) {
	c.fail(newError(403, 1471, "this operation is only valid on a coordinator in a cluster"))
}

// handleServerID serves GET /_api/replication/server-id.
func (rs *replState) handleServerID(c *call) {
	c.json(http.StatusOK, map[string]any{"serverId": strconv.FormatUint(rs.s.serverID, 10)})
}

// replicationCommands are the commands of RestReplicationHandler::executeAsync with the
// methods it accepts for each ("batch" checks its methods itself, handleCommandBatch).
var replicationCommands = map[string][]string{
	"logger-state": {"GET"}, "logger-tick-ranges": {"GET"}, "logger-first-tick": {"GET"},
	"logger-follow": {"GET", "PUT"}, "batch": nil, "inventory": {"GET"},
	"keys": {"GET", "POST", "PUT", "DELETE"}, "revisions": {"GET", "POST", "PUT"}, "dump": {"GET"},
	"restore-collection": {"PUT"}, "restore-indexes": {"PUT"}, "restore-data": {"PUT"},
	"restore-view": {"PUT"}, "sync": {"PUT"}, "make-follower": {"PUT"}, "make-slave": {"PUT"},
	"server-id": {"GET"}, "applier-config": {"GET", "PUT"}, "applier-start": {"PUT"},
	"applier-stop": {"PUT"}, "applier-state": {"GET", "DELETE"}, "applier-state-all": {"GET"},
	"clusterInventory": {"GET"}, "addFollower": {"PUT"}, "removeFollower": {"PUT"},
	"set-the-leader": {"PUT"}, "holdReadLockCollection": {"GET", "POST", "DELETE"},
}

// removedIn31210 are the commands arangotest drops from 3.12.10 on (ext.go).
var removedIn31210 = map[string]bool{"server-id": true, "logger-first-tick": true, "logger-tick-ranges": true,
	"applier-config": true, "applier-start": true, "applier-stop": true, "applier-state": true}

// routeReplicationFallback answers what no replication route of arangotest takes: it mirrors
// the dispatch of RestReplicationHandler::executeAsync (arangod/RestHandler/
// RestReplicationHandler.cpp), which looks at the first suffix (the command) and then at the
// method:
//   - an unknown command: 400, error 400 "invalid command '<command>'";
//   - a known command with a method it does not take ("BAD_CALL"): 405, error 405 when the
//     command is the only suffix, else 400, error 401 "expecting URL
//     /_api/replication/<command>"; /_api/replication itself is the latter;
//   - "batch" with another method than POST, or PUT/DELETE without an id: 405, error 405
//     (RocksDBRestReplicationHandler::handleCommandBatch); POST with more suffixes creates a
//     batch, PUT/DELETE with more than the id act on the id;
//   - a command and method the server takes, with more suffixes than arangotest's route
//     (the server ignores them): the route of the command;
//   - a command the server has and arangotest does not implement: 501, error 9.
func (s *Server) routeReplicationFallback(r *router) {
	h := func(c *call) {
		segs := strings.Split(strings.Trim(c.param("rest"), "/"), "/")
		if c.param("rest") == "" {
			segs = nil
		}
		method := c.r.Method
		if method == http.MethodHead {
			method = http.MethodGet
		}
		badCall := func() {
			if len(segs) != 1 {
				c.error(400, 401, "expecting URL /_api/replication/<command>")
				return
			}
			c.error(405, 405, "method not supported")
		}
		if len(segs) == 0 {
			badCall()
			return
		}
		cmd := segs[0]
		if removedIn31210[cmd] && s.store.versionAtLeast(3, 12, 10) {
			// Not verified (no 3.12.10 source here): answered as before, unknown path.
			c.error(404, 404, "unknown path '"+fullURL(c.r, c.path)+"'")
			return
		}
		methods, known := replicationCommands[cmd]
		if !known {
			c.error(400, 400, "invalid command '"+cmd+"'")
			return
		}
		route := []string{"_api", "replication", cmd}
		if cmd == "revisions" {
			// tree, ranges, documents: the second suffix is the sub-command
			if len(segs) < 2 {
				badCall()
				return
			}
			route = append(route, segs[1])
		}
		if cmd == "batch" {
			switch {
			case method == http.MethodPost:
			case (method == http.MethodPut || method == http.MethodDelete) && len(segs) >= 2:
				route = append(route, segs[1])
			default:
				c.error(405, 405, "method not supported")
				return
			}
		} else if !slices.Contains(methods, method) {
			badCall()
			return
		}
		rt, params, _ := s.router.match(c.r.Method, route)
		if rt == nil || (len(rt.segs) == 2 && rt.rest != "") {
			c.error(501, 9, "arangotest does not implement "+c.r.Method+" /_api/replication/"+cmd)
			return
		}
		c.params = params
		rt.h(c)
	}
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		r.handle(m, "/_api/replication", h)
		r.handle(m, "/_api/replication/{rest...}", h)
	}
}
