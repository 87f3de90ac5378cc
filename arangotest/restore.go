package arangotest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"runtime"
	"strconv"
	"strings"
)

// Restore endpoints used by arangorestore (RestReplicationHandler::handleCommandRestore*):
// restore-collection, restore-indexes, restore-data, restore-view. Behaviour follows the 3.12
// source; decisions are listed in CONFORMANCE.md, "Replication, dump and restore".

var resultTrue = []byte(`{"result":true}`)

func writeResultTrue(c *call) { c.raw(http.StatusOK, "application/json; charset=utf-8", resultTrue) }

type restoreStructure struct {
	Parameters json.RawMessage   `json:"parameters"`
	Indexes    []json.RawMessage `json:"indexes"`
}

// parseRestoreStructure validates {"parameters":{..},"indexes":[..]} as the server does.
func parseRestoreStructure(body []byte) (restoreStructure, map[string]any, error) {
	var rs restoreStructure
	if rawKind(bytes.TrimSpace(body)) != 'o' {
		return rs, nil, newError(400, 400, "collection declaration is invalid")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return rs, nil, newError(400, 600, "VPackError error: "+err.Error())
	}
	rs.Parameters = top["parameters"]
	if rawKind(bytes.TrimSpace(rs.Parameters)) != 'o' {
		return rs, nil, newError(400, 400, "collection parameters declaration is invalid")
	}
	idx := bytes.TrimSpace(top["indexes"])
	if rawKind(idx) != 'a' {
		return rs, nil, newError(400, 400, "collection indexes declaration is invalid")
	}
	if err := json.Unmarshal(idx, &rs.Indexes); err != nil {
		return rs, nil, newError(400, 400, "collection indexes declaration is invalid")
	}
	var params map[string]any
	if err := json.Unmarshal(rs.Parameters, &params); err != nil {
		return rs, nil, newError(400, 400, "collection parameters declaration is invalid")
	}
	return rs, params, nil
}

// handleRestoreCollection serves PUT /_api/replication/restore-collection on a single server.
func (rs *replState) handleRestoreCollection(c *call) { rs.restoreCollection(c, nil) }

// restoreCoordinator is what a Coordinator adds to restore-collection (cluster_routes.go), at
// the points where the 3.12 source makes its cluster checks.
type restoreCoordinator interface {
	// restoreDefinition applies the cluster defaults and validation of
	// CreateCollectionBody::fromRestoreAPIBody (replicationFactor within
	// --cluster.min/max-replication-factor, writeConcern, distributeShardsLike) to the
	// parameters; it runs before the existing-collection check.
	restoreDefinition(c *call, params json.RawMessage) (json.RawMessage, error)
	// keepOnOverwrite reports handlingOfExistingCollection's cases where an existing
	// collection is emptied instead of dropped (the drop is refused, or it is _analyzers).
	keepOnOverwrite(db *Database, existing *Collection) bool
	// checkDistribution is where Collections::create places the shards (EvenDistribution:
	// more copies than DB-Servers fail); it runs after an existing collection was dropped.
	checkDistribution(db *Database, params json.RawMessage) error
}

// restoreCollection mirrors RestReplicationHandler::handleCommandRestoreCollection and
// processRestoreCollection with handlingOfExistingCollection
// (arangod/RestHandler/RestReplicationHandler.cpp, 3.12), in their order:
//   - a body that is not an object: 400, error 400 "collection declaration is invalid"; no
//     "indexes" array: 400, error 400 "collection indexes declaration is invalid" (and
//     arangotest's own: parameters not an object, no name, a bad type);
//   - the definition is validated (CreateCollectionBody::fromRestoreAPIBody; on a
//     Coordinator with the cluster's checks, co.restoreDefinition), then "deleted": true
//     collections are ignored (200);
//   - an existing collection without overwrite: 409, error 1207 "duplicate collection name
//     'NAME'", except for names starting with "_" (200: "system collection, may have been
//     created in the meantime"); a matching globallyUniqueId changes nothing;
//   - an existing collection with overwrite is dropped, system collections too
//     (allowDropSystem = true), and created from the definition; only where the drop is
//     refused (a Coordinator: another collection's distributeShardsLike points to it, or
//     _analyzers, whose analyzers are removed) it is truncated instead and keeps its
//     definition;
//   - then the collection is created (Collections::create with enforceReplicationFactor).
func (rs *replState) restoreCollection(c *call, co restoreCoordinator) {
	str, params, err := parseRestoreStructure(c.body)
	if err != nil {
		c.fail(err)
		return
	}
	name, _ := params["name"].(string)
	if name == "" {
		c.fail(newError(400, 400, "collection name is missing"))
		return
	}
	if t, ok := params["type"].(float64); ok && t != 2 && t != 3 {
		c.fail(newError(400, 1218, "collection type invalid"))
		return
	}
	def := str.Parameters
	if co != nil {
		if def, err = co.restoreDefinition(c, def); err != nil {
			c.fail(err)
			return
		}
	}
	if del, _ := params["deleted"].(bool); del {
		writeResultTrue(c) // "we don't care about deleted collections"
		return
	}
	db := c.db
	if existing := db.Collection(name); existing != nil && existing.Name == name {
		switch {
		case !c.qbool("overwrite", false):
			if strings.HasPrefix(name, "_") {
				writeResultTrue(c)
				return
			}
			c.fail(newError(409, 1207, "duplicate collection name '"+name+"'"))
			return
		case co != nil && co.keepOnOverwrite(db, existing):
			existing.Truncate()
			writeResultTrue(c)
			return
		default:
			db.DropCollection(existing)
		}
	}
	if co != nil {
		if err := co.checkDistribution(db, def); err != nil {
			c.fail(err)
			return
		}
	}
	// "By all means, we cannot take an id from the outside": the server drops objectId, cid
	// and id (a new id is assigned) and keeps everything else, including globallyUniqueId and
	// keyOptions.lastValue.
	patched, err := patchRestoreParameters(def, name)
	if err != nil {
		c.fail(err)
		return
	}
	if _, err := db.CreateCollectionFromParams(patched, false); err != nil {
		var ae *ArangoError
		if asArangoError(err, &ae) && ae.Num != 1207 {
			c.fail(newError(ae.Code, ae.Num, "unable to create collection: "+ae.Message))
			return
		}
		c.fail(err)
		return
	}
	writeResultTrue(c)
}

func asArangoError(err error, target **ArangoError) bool {
	ae, ok := err.(*ArangoError)
	if ok {
		*target = ae
	}
	return ok
}

// patchRestoreParameters removes id/cid/planId/objectId and sets isSystem for "_" names
// without an explicit isSystem, keeping the member order of everything else.
func patchRestoreParameters(raw json.RawMessage, name string) ([]byte, error) {
	ms, err := orderedObject(raw)
	if err != nil {
		return nil, newError(400, 600, err.Error())
	}
	out := ms[:0]
	hasIsSystem := false
	for _, m := range ms {
		switch m.key {
		case "id", "cid", "planId", "objectId":
			continue
		case "isSystem":
			hasIsSystem = true
		}
		out = append(out, m)
	}
	if strings.HasPrefix(name, "_") && !hasIsSystem {
		out = append(out, member{"isSystem", []byte("true")})
	}
	return encodeObject(out), nil
}

// handleRestoreIndexes serves PUT /_api/replication/restore-indexes. It mirrors
// RestReplicationHandler::handleCommandRestoreIndexes and processRestoreIndexes
// (arangod/RestHandler/RestReplicationHandler.cpp): invalid JSON is 400, error 600
// (parseVPackBody); no body or not an object 400, error 400 "collection declaration is
// invalid"; "parameters" not an object, "indexes" not an array: 400, error 400; no indexes is
// done at once; no parameters.name 400, error 400 "collection name is missing"; a deleted
// collection is done at once; an unknown one 404, error 1203; primary, edge and untyped
// indexes are skipped, geo1/geo2 become geo, an index type the server does not implement
// (error 9) is skipped, any other failure ends the request with its error number and
// "could not create index: <message>". The errors are thrown (THROW_ARANGO_EXCEPTION) and
// written by RestHandler::executeEngine with the message as it is.
func (rs *replState) handleRestoreIndexes(c *call) {
	if err := errInvalidBody(c.body); err != nil {
		c.fail(err)
		return
	}
	str, params, err := parseRestoreStructure(c.body)
	if err != nil {
		c.fail(err)
		return
	}
	if len(str.Indexes) == 0 {
		writeResultTrue(c)
		return
	}
	name, _ := params["name"].(string)
	if name == "" {
		c.fail(newError(400, 400, "collection name is missing"))
		return
	}
	if del, _ := params["deleted"].(bool); del {
		writeResultTrue(c)
		return
	}
	coll := c.db.Collection(name)
	if coll == nil {
		c.fail(newError(404, 1203, "collection or view not found")) // Result(TRI_ERROR_ARANGO_DATA_SOURCE_NOT_FOUND)
		return
	}
	for _, raw := range str.Indexes {
		var def map[string]any
		if err := json.Unmarshal(raw, &def); err != nil || def == nil {
			continue
		}
		typ, ok := def["type"].(string)
		if !ok || typ == "primary" || typ == "edge" {
			continue
		}
		if typ == "geo1" || typ == "geo2" {
			def["type"] = "geo"
			raw = mustJSON(def)
		}
		if _, _, err := coll.EnsureIndex(raw); err != nil {
			var ae *ArangoError
			if asArangoError(err, &ae) {
				if ae.Num == 9 { // TRI_ERROR_NOT_IMPLEMENTED: skipped by the server
					continue
				}
				c.fail(newError(ae.Code, ae.Num, "could not create index: "+ae.Message))
				return
			}
			c.fail(newError(500, 4, "could not create index: "+err.Error()))
			return
		}
	}
	writeResultTrue(c)
}

// handleRestoreView serves PUT /_api/replication/restore-view. It mirrors
// RestReplicationHandler::handleCommandRestoreView (arangod/RestHandler/
// RestReplicationHandler.cpp): invalid JSON is 400, error 600 (parseVPackBody); no body,
// a body that is not an object, or name or type not strings: 400, error 10 "bad parameter";
// an existing view without overwrite=true: 409, error 1207 "unable to restore view
// '<name>: duplicate name" (sic); with overwrite the view is dropped and created anew.
func (rs *replState) handleRestoreView(c *call) {
	var def map[string]any
	if err := errInvalidBody(c.body); err != nil {
		c.fail(err)
		return
	}
	if rawKind(bytes.TrimSpace(c.body)) != 'o' || json.Unmarshal(c.body, &def) != nil {
		c.fail(newError(400, 10, "bad parameter"))
		return
	}
	name, okName := def["name"].(string)
	_, okType := def["type"].(string)
	if def == nil || !okName || !okType {
		c.fail(newError(400, 10, "bad parameter"))
		return
	}
	overwrite := c.qbool("overwrite", false)
	if c.db.View(name) != nil && !overwrite {
		// sic: the server's message lacks the closing quote
		c.fail(newError(409, 1207, "unable to restore view '"+name+": duplicate name"))
		return
	}
	if _, err := c.db.CreateViewFromDefinition(c.body, overwrite); err != nil {
		c.fail(err)
		return
	}
	writeResultTrue(c)
}

// --- restore-data ------------------------------------------------------------------------

// restoreOp is one parsed line of a restore-data body.
type restoreOp struct {
	remove bool
	key    string
	doc    *parsedDoc
	d      *Doc  // restoreData: the prepared document
	err    error // restoreData: why the document cannot be stored
}

func restoreLineError(coll string, line int, detail string, data []byte) error {
	return newError(400, 600, "received invalid JSON data for collection '"+coll+"' on line "+
		strconv.Itoa(line)+": "+detail+" in message '"+string(data)+"'")
}

// restoreParser parses the lines of one body, keeping the parsed documents and their members
// in two arenas (two allocations per body instead of two per line). Parsed strings are views
// into the body, which outlives the parse.
type restoreParser struct {
	coll    string
	docs    []parsedDoc
	members []member
	// reuse: every line is parsed into one, the result is valid until the next line
	reuse bool
	one   parsedDoc
}

func (rp *restoreParser) parse(line []byte) (*parsedDoc, error) {
	if rp.reuse {
		return &rp.one, parseDocInto(&rp.one, line)
	}
	if len(rp.docs) == cap(rp.docs) {
		rp.docs = make([]parsedDoc, 0, max(64, cap(rp.docs)))
	}
	rp.docs = rp.docs[:len(rp.docs)+1]
	p := &rp.docs[len(rp.docs)-1]
	if cap(rp.members)-len(rp.members) < 16 {
		rp.members = make([]member, 0, max(1024, cap(rp.members)))
	}
	p.user = rp.members[len(rp.members):len(rp.members)]
	err := parseDocInto(p, line)
	if err == nil {
		n := len(p.user)
		p.user = p.user[:n:n]
		if n <= cap(rp.members)-len(rp.members) {
			rp.members = rp.members[:len(rp.members)+n] // appended in place
		}
	}
	return p, err
}

// parseLine parses one line: a plain document (top-level string _key) or an envelope
// {"type":2300|2301,"data":{..}} / {"type":2302,"data":{"_key":..}} (or "key":..).
func (rp *restoreParser) parseLine(lineNo int, line []byte) (restoreOp, error) {
	coll := rp.coll
	p, err := rp.parse(line)
	if err != nil {
		ae, _ := err.(*ArangoError)
		if err == errNotObject || (ae != nil && ae.Num == 1227) {
			return restoreOp{}, restoreLineError(coll, lineNo, "data is no object", line)
		}
		msg := err.Error()
		if ae != nil {
			msg = ae.Message
		}
		return restoreOp{}, restoreLineError(coll, lineNo, msg, line)
	}
	if p.hasKey && !p.badKeyType {
		return restoreOp{key: p.key, doc: p}, nil
	}
	// enveloped (old) format
	var typ int
	var data, key []byte
	for _, m := range p.user {
		switch m.key {
		case "type":
			if rawKind(m.val) == 'd' {
				f, _ := strconv.ParseFloat(string(m.val), 64)
				typ = int(f)
			}
		case "data":
			data = m.val
		case "key":
			key = m.val
		}
	}
	invalid := restoreLineError(coll, lineNo, "got an invalid input document", line)
	switch typ {
	case 2300, 2301:
		if rawKind(data) != 'o' {
			return restoreOp{}, invalid
		}
		dp, err := rp.parse(data)
		if err != nil {
			return restoreOp{}, invalid
		}
		return restoreOp{key: dp.key, doc: dp}, nil
	case 2302:
		var k string
		var ok bool
		if rawKind(data) == 'o' {
			k, ok = rawString(lookupPath(data, []string{"_key"}))
		} else {
			k, ok = rawString(key)
		}
		if !ok {
			return restoreOp{}, invalid
		}
		return restoreOp{remove: true, key: k}, nil
	}
	return restoreOp{}, invalid
}

// parseRestoreBody splits a restore-data body into operations. Lines of at most one byte are
// skipped, as the server does.
func parseRestoreBody(coll string, body []byte) ([]restoreOp, error) {
	// A guess of the number of lines, not a count: counting would read the whole body once
	// more (it is not in the cache any more by then). Slices grow if the lines are shorter.
	n := len(body)/128 + 16
	rp := &restoreParser{coll: coll, docs: make([]parsedDoc, 0, n)}
	ops := make([]restoreOp, 0, n)
	err := forEachRestoreLine(body, func(line int, l []byte) error {
		op, err := rp.parseLine(line, l)
		if err != nil {
			return err
		}
		ops = append(ops, op)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ops, nil
}

// forEachRestoreLine calls fn for every line of a restore-data body with its 1-based number;
// lines of at most one byte are skipped, as the server does.
func forEachRestoreLine(body []byte, fn func(line int, l []byte) error) error {
	line := 0
	for len(body) > 0 {
		i := bytes.IndexByte(body, '\n')
		var l []byte
		if i < 0 {
			l, body = body, nil
		} else {
			l, body = body[:i], body[i+1:]
			line++
		}
		if len(l) <= 1 {
			continue
		}
		if err := fn(line, l); err != nil {
			return err
		}
	}
	return nil
}

// undoEntry remembers the state of a key before a restore-data batch changed it.
type undoEntry struct {
	key string
	old *Doc // nil = the key did not exist
}

// handleRestoreData serves PUT /_api/replication/restore-data; it mirrors
// RestReplicationHandler::handleCommandRestoreData, processRestoreData, parseBatch and
// parseBatchDump (arangod/RestHandler/RestReplicationHandler.cpp, 3.12):
//   - no collection parameter: 400, error 400 "invalid collection parameter, not given";
//   - an unknown collection: the transaction cannot start (404, error 1203);
//   - a body not sent as JSON lines (Content-Type application/x-arango-dump or
//     application/json; see requestContentType): 500, error 4 "invalid request type: ..."
//     (parseBatch throws TRI_ERROR_INTERNAL; text/plain or no type leaves the type unset,
//     which contentTypeToString names as JSON). VPack bodies (parseBatchVPack) are not
//     parsed by arangotest and are refused the same way.
//   - _rev is dropped from every document ("We simply get rid of the _rev attribute here"):
//     restored documents get new revisions, whatever the client asks (no parameter
//     preserveRevisionIds exists since 3.8).
//
// As in RestReplicationHandler::processRestoreDataBatch the whole batch is one transaction:
// removal markers are applied first (for keys whose last marker is a removal), then every
// document is inserted with overwriteMode=replace (so existing keys are replaced, not reported
// as primary-key conflicts); the first failing document (e.g. a secondary unique index
// violation) fails the request with its errorNum and message and the batch is rolled back.
func (rs *replState) handleRestoreData(c *call) {
	name := c.query("collection")
	if name == "" {
		c.fail(newError(400, 400, "invalid collection parameter, not given"))
		return
	}
	coll := c.db.Collection(name)
	if coll == nil {
		c.fail(errCollectionNotFound(name))
		return
	}
	switch requestContentType(c.r) {
	case ctJSON, ctDump:
	case ctVPack:
		c.fail(newError(500, 4, "invalid request type: application/x-velocypack (arangotest does not parse VelocyPack restore-data bodies)"))
		return
	default:
		c.fail(newError(500, 4, "invalid request type: application/json; charset=utf-8"))
		return
	}
	if err := restoreData(coll, c.body); err != nil {
		c.fail(err)
		return
	}
	writeResultTrue(c)
}

// restoreData applies one restore-data body to coll.
//
// The body is parsed and every document rendered before the collection is locked (batches of
// one collection sent in parallel parse in parallel); then the whole batch is applied under
// one lock and its WAL markers appended at once. If a document fails (a unique index
// violation), everything the batch changed is put back as it was and nothing is logged, as
// an aborted transaction leaves nothing behind.
//
// Nothing of the body is kept (documents are rendered into memory of their own): it is
// usually a pooled buffer that the next request reuses (bodyReusable).
func restoreData(coll *Collection, body []byte) error {
	if coll.Name == "_users" {
		ops, err := parseRestoreBody(coll.Name, body)
		if err != nil {
			return err
		}
		return restoreUsers(coll, ops)
	}
	// One pass over the lines: each document is parsed into the same scratch and rendered at
	// once (no parsed form of the whole body is kept). As before, every line is parsed before
	// the first invalid document is reported, and documents whose key a later removal marker
	// removes are neither checked nor stored.
	rp := &restoreParser{coll: coll.Name, reuse: true}
	// The batch's documents share chunks: most of them live and die together.
	arena := docArena{bulk: true}
	lines := bytes.Count(body, []byte{'\n'}) + 1
	arena.bulkDocs(lines)
	opsBuf := restoreOps.get()
	defer restoreOps.put(opsBuf)
	ops := (*opsBuf)[:0]
	if cap(ops) == 0 {
		ops = make([]restoreOp, 0, len(body)/128+16)
	}
	// Ticks for the documents, reserved at once: a batch's ticks are consecutive, so that the
	// WAL rarely has to merge the markers of batches logged in parallel (see appendSeq).
	tick := coll.db.st.NextTicks(lines)
	tickEnd := tick + uint64(lines)
	consumed := 0
	err := forEachRestoreLine(body, func(lineNo int, l []byte) error {
		arena.expect = len(body) - consumed // this line and the rest
		consumed += len(l) + 1
		op, err := rp.parseLine(lineNo, l)
		if err != nil {
			return err
		}
		if op.remove {
			ops = append(ops, op)
			return nil
		}
		p := op.doc
		op.doc = nil
		p.rev, p.hasRev = "", false // parseBatchDump drops _rev: the server makes a new one
		if tick == tickEnd {
			tick = coll.db.st.NextTicks(256)
			tickEnd = tick + 256
		}
		op.d, op.err = coll.prepareRestored(&arena, p, tick)
		if op.d != nil {
			op.key = op.d.Key // the stored copy: p.key lies in the body
		}
		tick++
		ops = append(ops, op)
		return nil
	})
	*opsBuf = ops
	if err != nil {
		return err
	}
	// Keys whose last marker is a removal; a later document marker cancels an earlier removal.
	var removals map[string]bool
	for _, op := range ops {
		if op.remove {
			if removals == nil {
				removals = map[string]bool{}
			}
			removals[op.key] = true
		} else if removals != nil {
			delete(removals, op.key)
		}
	}
	docsBuf := restoreDocs.get()
	defer restoreDocs.put(docsBuf)
	docs := (*docsBuf)[:0]
	for _, op := range ops {
		if op.remove || (removals != nil && removals[op.key]) {
			continue
		}
		if op.err != nil {
			return op.err
		}
		docs = append(docs, op.d)
	}
	*docsBuf = docs
	// The removals' ticks come after the documents' (they touch other keys: the order
	// between the two does not matter).
	removeTick := coll.db.st.NextTicks(len(removals) + 1)
	var removed []Marker // the removals' WAL markers; the documents' are made when logged
	undoBuf := restoreUndo.get()
	undo := (*undoBuf)[:0]
	defer func() {
		*undoBuf = undo
		restoreUndo.put(undoBuf)
	}()
	coll.mu.Lock()
	rollback := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			u := undo[i]
			var cur *Doc
			if pos, ok := coll.docs[u.key]; ok {
				cur = coll.order[pos]
			}
			if u.old == nil {
				coll.removeLocked(u.key)
			} else {
				_ = coll.install(u.old, cur)
			}
		}
	}
	for key := range removals {
		if old := coll.removeLocked(key); old != nil { // a failing remove counts as success
			t := removeTick
			removeTick++
			coll.revTick = max(coll.revTick, t)
			undo = append(undo, undoEntry{key: key, old: old})
			removed = append(removed, coll.removeMarker(key, old.Rev, t))
		}
	}
	coll.presizeLocked(len(docs))
	var touched byte
	for i, d := range docs {
		// Load the key a few documents ahead: its bytes lie in the body, out of the cache by
		// now, and the load overlaps with the map work for this document instead of the map
		// waiting for each key in turn.
		if j := i + 8; j < len(docs) && len(docs[j].Key) > 0 {
			touched ^= docs[j].Key[0]
		}
		// One lookup: installAt is told where the old version is.
		var old *Doc
		pos, ok := coll.docs[d.Key]
		if ok {
			old = coll.order[pos]
		} else {
			pos = -1
		}
		if err := coll.installAt(d, old, pos); err != nil {
			rollback()
			coll.mu.Unlock()
			return err
		}
		coll.trackUserKey(d.Key)
		undo = append(undo, undoEntry{key: d.Key, old: old})
	}
	runtime.KeepAlive(touched) // keeps the loads ahead from being optimized away
	coll.mu.Unlock()
	coll.db.st.WAL.appendWrites(coll, nil, docs, removed)
	return nil
}

// restoreUsers applies _users rows as "FOR u IN @restored UPSERT {user: u.user} INSERT u
// REPLACE u INTO _users OPTIONS {ignoreErrors: true}": keys are ignored and rows are matched by
// their "user" attribute.
func restoreUsers(coll *Collection, ops []restoreOp) error {
	byUser := map[string]string{}
	for _, d := range coll.Snapshot() {
		if u, ok := rawString(lookupPath(d.Raw, []string{"user"})); ok {
			byUser[u] = d.Key
		}
	}
	for _, op := range ops {
		if op.remove {
			continue
		}
		p := op.doc
		user := ""
		for _, m := range p.user {
			if m.key == "user" {
				user, _ = rawString(m.val)
			}
		}
		if key, ok := byUser[user]; ok && user != "" {
			p.key, p.hasKey = key, true
		} else {
			p.key, p.hasKey = strconv.FormatUint(coll.db.st.NextTick(), 10), true
			if user != "" {
				byUser[user] = p.key
			}
		}
		p.rev, p.hasRev = "", false
		_ = coll.restoreParsed(p) // ignoreErrors: true
	}
	return nil
}
