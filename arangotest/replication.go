package arangotest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
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
	defaultBatchTTL       = 600 * time.Second
	defaultDumpChunkSize  = 128 * 1024        // RestReplicationHandler::_defaultChunkSize
	maxDumpChunkSize      = 128 * 1024 * 1024 // RestReplicationHandler::_maxChunkSize
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
	st := rs.s.store
	b := &replBatch{id: strconv.FormatUint(st.NextTick(), 10), ttl: ttl, pos: map[*Collection]int{}}
	b.snap = takeSnapshot(st)
	b.expires = time.Now().Add(ttl)
	rs.mu.Lock()
	rs.gcLocked(time.Now())
	rs.batches[b.id] = b
	rs.mu.Unlock()
	return b
}

func (rs *replState) findBatch(id string) *replBatch {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.gcLocked(time.Now())
	return rs.batches[id]
}

func (rs *replState) extendBatch(id string, ttl time.Duration) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.gcLocked(time.Now())
	b := rs.batches[id]
	if b == nil {
		return false
	}
	if ttl > 0 {
		b.ttl = ttl
	}
	b.expires = time.Now().Add(b.ttl)
	return true
}

func (rs *replState) deleteBatch(id string) bool {
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

// replBool parses a query-string boolean the way the server does (true/1/yes/on).
func replBool(r *http.Request, name string, def bool) bool {
	v, ok := r.URL.Query()[name]
	if !ok || len(v) == 0 {
		return def
	}
	switch strings.ToLower(v[0]) {
	case "true", "1", "yes", "on", "y":
		return true
	case "":
		return def
	}
	return false
}

// ttlFromBody reads {"ttl": seconds} (absent or 0 = default).
func ttlFromBody(body []byte) (time.Duration, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return defaultBatchTTL, nil
	}
	var in struct {
		TTL *float64 `json:"ttl"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return 0, newError(400, 600, "VPackError error: "+err.Error())
	}
	if in.TTL == nil || *in.TTL == 0 {
		return defaultBatchTTL, nil
	}
	if *in.TTL < 0 {
		return 0, newError(400, 400, "invalid ttl")
	}
	return time.Duration(*in.TTL * float64(time.Second)), nil
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
func (rs *replState) handleBatch(c *call) {
	id, body := c.param("id"), c.body
	switch c.r.Method {
	case http.MethodPost:
		if id != "" {
			c.fail(newError(405, 405, "method not supported"))
			return
		}
		ttl, err := ttlFromBody(body)
		if err != nil {
			c.fail(err)
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
			c.fail(err)
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

// handleInventory serves GET /_api/replication/inventory.
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
	rs.extendBatch(b.id, 0)
	includeSystem := replBool(c.r, "includeSystem", true)
	includeFoxx := replBool(c.r, "includeFoxxQueues", false)
	out := map[string]any{}
	if replBool(c.r, "global", false) {
		if db.Name != "_system" {
			c.fail(newError(403, 11, "global inventory can only be fetched from within _system database"))
			return
		}
		dbs := map[string]any{}
		for _, d := range rs.s.store.Databases() {
			props := d.Properties()
			entry := map[string]any{"collections": inventoryCollections(d, includeSystem, includeFoxx, ""),
				"views": inventoryViews(d), "properties": props}
			for k, v := range props {
				entry[k] = v
			}
			dbs[d.Name] = entry
		}
		out["databases"] = dbs
	} else {
		only := q.Get("collection")
		if only != "" && db.Collection(only) == nil {
			c.fail(errCollectionNotFound(only))
			return
		}
		out["collections"] = inventoryCollections(db, includeSystem, includeFoxx, only)
		out["views"] = inventoryViews(db)
		out["properties"] = db.Properties()
	}
	state := rs.loggerStateObject()
	state["lastLogTick"] = strconv.FormatUint(b.snap.tick, 10)
	out["state"] = state
	out["tick"] = strconv.FormatUint(rs.s.store.LastTick(), 10)
	rs.trackClient(c.r, b.snap.tick, b.ttl)
	c.json(http.StatusOK, out)
}

// handleDump serves GET /_api/replication/dump.
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
		c.fail(newError(404, 400, "replication dump - unable to find context (it could be expired)"))
		return
	}
	docs := b.snap.collectionDocs(coll)
	start := b.pos[coll]
	end, size := o.cut(docs, start)
	b.pos[coll] = end
	b.mu.Unlock()
	rs.extendBatch(b.id, 0)
	writeDumpChunk(c, b.snap.tick, docs[start:end], size, end < len(docs), o.envelope)
}

// dumpChunkOptions are the query options of one classic dump request.
type dumpChunkOptions struct {
	envelope  bool
	chunkSize int // bytes, at least one document
	maxDocs   int // 0: no limit
}

// parseDumpChunkOptions reads useEnvelope, chunkSize and docsPerBatch; VelocyPack output is
// refused (the request is answered and ok is false).
func parseDumpChunkOptions(c *call) (dumpChunkOptions, bool) {
	if strings.Contains(c.header("Accept"), "application/x-velocypack") {
		c.fail(newError(501, 9, "replication dump - velocypack output is not supported by arangotest"))
		return dumpChunkOptions{}, false
	}
	q := c.r.URL.Query()
	o := dumpChunkOptions{envelope: replBool(c.r, "useEnvelope", true), chunkSize: defaultDumpChunkSize}
	if v := q.Get("chunkSize"); v != "" {
		if n, err := strconv.ParseUint(v, 10, 64); err == nil {
			o.chunkSize = int(min(n, maxDumpChunkSize))
		}
	}
	if v := q.Get("docsPerBatch"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			o.maxDocs = n
		}
	}
	return o, true
}

// cut returns where the chunk starting at docs[start] ends and its size on the wire.
func (o dumpChunkOptions) cut(docs []*Doc, start int) (end, size int) {
	overhead := 1 // newline
	if o.envelope {
		overhead += len(envelopePrefix) + len(envelopeSuffix)
	}
	end = start
	for end < len(docs) {
		size += len(docs[end].Raw) + overhead
		end++
		if size >= o.chunkSize || (o.maxDocs > 0 && end-start >= o.maxDocs) {
			break
		}
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

// handleClusterInventory answers as a single server does: 403 with errorNum 1471.
func (rs *replState) handleClusterInventory(c *call) {
	c.fail(newError(403, 1471, "this operation is only valid on a coordinator in a cluster"))
}

// handleServerID serves GET /_api/replication/server-id.
func (rs *replState) handleServerID(c *call) {
	c.json(http.StatusOK, map[string]any{"serverId": strconv.FormatUint(rs.s.serverID, 10)})
}
