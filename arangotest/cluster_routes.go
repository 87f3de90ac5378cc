package arangotest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The Coordinator's HTTP routes. They are registered before the core routes, so for an equal
// pattern they win; a handler that only adds to the core behaviour calls s.coreRoute(c).

func (s *Server) registerClusterRoutes(r *router) {
	cs := s.cluster
	if cs == nil {
		return
	}
	r.handle("GET", "/_admin/server/role", func(c *call) {
		c.ok(200, map[string]any{"role": "COORDINATOR", "mode": "default"})
	})
	r.handle("GET", "/_admin/server/id", func(c *call) {
		c.ok(200, map[string]any{"id": s.coordID()})
	})
	r.handle("GET", "/_api/cluster/endpoints", func(c *call) {
		eps := []any{}
		cs.mu.Lock()
		for _, co := range cs.coords {
			eps = append(eps, map[string]any{"endpoint": "tcp://" + co.ln.Addr().String()})
		}
		cs.mu.Unlock()
		c.ok(200, map[string]any{"endpoints": eps})
	})
	r.handle("GET", "/_admin/cluster/health", func(c *call) { c.ok(200, cs.health(s)) })
	coordStatus := func(c *call) {
		s.patchCore(c, func(m map[string]any) {
			if si, ok := m["serverInfo"].(map[string]any); ok {
				si["role"] = "COORDINATOR"
				si["persistedId"] = s.coordID()
				si["serverId"] = s.coordID()
			}
			m["coordinator"] = map[string]any{"foxxmaster": cs.coordIDs[0], "isFoxxmaster": s.coordID() == cs.coordIDs[0]}
			m["agency"] = map[string]any{"agencyComm": map[string]any{"endpoints": []string{cs.memberEndpoint(cs.agentID)}}}
		})
	}
	// RestStatusHandler::execute checks no method: arangorestore (triggerFoxxHeal) POSTs it.
	for _, m := range []string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"} {
		r.handle(m, "/_admin/status", coordStatus)
	}
	versionPatch := func(c *call) {
		s.patchCore(c, func(m map[string]any) {
			if d, ok := m["details"].(map[string]any); ok {
				d["role"] = "COORDINATOR"
			}
		})
	}
	r.handle("GET", "/_api/version", versionPatch)
	r.handle("POST", "/_api/version", versionPatch)
	r.handle("GET", "/_admin/version", versionPatch)
	r.handle("GET", "/_admin/support-info", func(c *call) {
		s.patchCore(c, func(m map[string]any) {
			servers := map[string]any{}
			for _, id := range cs.coordIDs {
				servers[id] = map[string]any{"role": "COORDINATOR", "version": s.version}
			}
			for _, id := range cs.dbservers {
				servers[id] = map[string]any{"role": "PRIMARY", "version": s.version}
			}
			m["deployment"] = map[string]any{"type": "cluster", "servers": servers, "agents": 1,
				"coordinators": len(cs.coordIDs), "dbServers": len(cs.dbservers)}
			delete(m, "host")
		})
	})
	r.handle("GET", "/_api/database/current", func(c *call) {
		s.patchCore(c, func(m map[string]any) {
			res, ok := m["result"].(map[string]any)
			if !ok {
				return
			}
			o := c.db.options
			res["sharding"] = ""
			if v, ok := o["sharding"].(string); ok {
				res["sharding"] = v
			}
			res["replicationFactor"] = cs.defaultRF()
			if v, ok := o["replicationFactor"]; ok && v != nil {
				res["replicationFactor"] = v
			}
			res["writeConcern"] = 1
			if v, ok := o["writeConcern"]; ok && v != nil {
				res["writeConcern"] = v
			} else if v, ok := o["minReplicationFactor"]; ok && v != nil {
				res["writeConcern"] = v
			}
			res["replicationVersion"] = "1"
			delete(res, "path")
		})
	})
	// mirrors RestCollectionHandler::handleCommandPost (arangod/RestHandler/RestCollectionHandler.cpp):
	// CreateCollectionBody::fromCreateAPIBody with config.enforceReplicationFactor from the
	// query (default true), then Collections::create places the shards.
	r.handle("POST", "/_api/collection", func(c *call) {
		enforce := c.qbool("enforceReplicationFactor", true)
		body, err := cs.prepareCreate(c.db, c.body, enforce)
		if err == nil && enforce {
			err = cs.checkDistribution(c.db, body)
		}
		if err != nil {
			c.fail(err)
			return
		}
		c.body = body
		s.coreRoute(c)
	})
	r.handle("GET", "/_api/collection/{coll}/shards", func(c *call) {
		coll := c.collection(c.param("coll"))
		if coll == nil {
			return
		}
		p := cs.plan(coll)
		m := coll.Properties()
		if c.qbool("details", false) {
			sh := map[string]any{}
			for i, id := range p.shards {
				sh[id] = cs.planned(p, i)
			}
			m["shards"] = sh
		} else {
			m["shards"] = append([]string(nil), p.shards...)
		}
		c.ok(200, m)
	})
	r.handle("PUT", "/_api/collection/{coll}/responsibleShard", func(c *call) {
		coll := c.collection(c.param("coll"))
		if coll == nil {
			return
		}
		p := cs.plan(coll)
		body := bytes.TrimSpace(c.body)
		if s, ok := rawString(body); ok {
			// a bare key
			body = mustJSON(map[string]string{"_key": s})
		}
		if rawKind(body) != 'o' {
			c.error(400, 1227, "invalid document type")
			return
		}
		if err := p.checkShardKeysGiven(body); err != nil {
			c.fail(err)
			return
		}
		i, err := p.bucketOfBody(body)
		if err != nil {
			c.fail(err)
			return
		}
		c.ok(200, map[string]any{"shardId": p.shards[i]})
	})
	r.handle("PUT", "/_api/collection/{coll}/properties", func(c *call) {
		coll := c.collection(c.param("coll"))
		if coll == nil {
			return
		}
		var in struct {
			RF    json.RawMessage `json:"replicationFactor"`
			WC    json.RawMessage `json:"writeConcern"`
			MinRF json.RawMessage `json:"minReplicationFactor"`
		}
		_ = json.Unmarshal(c.body, &in)
		// mirrors the Coordinator part of Collections::updateProperties
		// (arangod/VocBase/Methods/Collections.cpp): no more copies, nor a higher write
		// concern, than DB-Servers (500, error 1487); --cluster.min/max-replication-factor are
		// not checked here (validateShardsAndReplicationFactor with enforceReplicationFactor
		// false).
		wc := in.MinRF
		if len(in.WC) > 0 {
			wc = in.WC
		}
		if n, err := strconv.Atoi(string(bytes.TrimSpace(wc))); err == nil && n > len(cs.dbservers) {
			c.fail(errInsufficientDBServers())
			return
		}
		if len(in.RF) > 0 {
			p := cs.plan(coll)
			if sv, ok := rawString(in.RF); ok {
				if sv != "satellite" {
					c.error(400, 10, "bad value for replicationFactor")
					return
				}
				cs.setReplicationFactor(p, 0, true, coll.Count())
			} else if n, err := strconv.Atoi(string(bytes.TrimSpace(in.RF))); err == nil && n > 0 {
				if n > len(cs.dbservers) {
					c.fail(errInsufficientDBServers())
					return
				}
				cs.setReplicationFactor(p, n, false, coll.Count())
			} else {
				c.error(400, 10, "bad value for replicationFactor")
				return
			}
		}
		s.coreRoute(c)
	})
	r.handle("DELETE", "/_api/collection/{coll}", func(c *call) {
		if coll := c.db.Collection(c.param("coll")); coll != nil {
			for _, o := range c.db.Collections() {
				if o == coll {
					continue
				}
				o.mu.RLock()
				dsl := propString(o.props, "distributeShardsLike")
				o.mu.RUnlock()
				if dsl == coll.Name {
					c.fail(newError(500, 1485, "Collection '"+coll.Name+"' must not be dropped while '"+o.Name+
						"' has distributeShardsLike set to '"+coll.Name+"'."))
					return
				}
			}
		}
		s.coreRoute(c)
	})
	r.handle("PUT", "/_api/collection/{coll}/rename", func(c *call) {
		c.error(403, 11, "rename is not supported in a cluster")
	})

	rs := s.repl
	r.handle("GET", "/_api/replication/clusterInventory", func(c *call) { cs.handleClusterInventory(s, c) })
	r.handle("GET", "/_api/replication/inventory", func(c *call) {
		// RestReplicationHandler::executeAsync: inventory on a Coordinator without DBserver
		// goes to handleUnforwardedTrampolineCoordinator.
		if cs.needDBserver(c, "DBserver") {
			rs.handleInventory(c)
		}
	})
	r.handle("POST", "/_api/replication/batch", func(c *call) {
		if cs.needDBserver(c, "DBserver") {
			rs.handleBatch(c)
		}
	})
	r.handle("PUT", "/_api/replication/batch/{id}", func(c *call) {
		if cs.needDBserver(c, "DBserver") {
			rs.handleBatch(c)
		}
	})
	r.handle("DELETE", "/_api/replication/batch/{id}", func(c *call) {
		if cs.needDBserver(c, "DBserver") {
			rs.handleBatch(c)
			if c.r.Method == http.MethodDelete {
				cs.forgetBatch(c.param("id"))
			}
		}
	})
	r.handle("GET", "/_api/replication/dump", func(c *call) {
		if cs.needDBserver(c, "DBserver") {
			cs.handleShardDump(s, c)
		}
	})
	r.handle("PUT", "/_api/replication/restore-collection", func(c *call) { cs.handleRestoreCollection(s, c) })
	if s.dumpAPIEnabled() {
		dump := func(c *call) {
			if !cs.needDBserver(c, "dbserver") {
				return
			}
			if c.r.Method == http.MethodPost && c.param("rest") == "start" {
				cs.handleDumpStart(s, c)
				return
			}
			rs.handleDumpAPI(c)
		}
		r.handle("POST", "/_api/dump/{rest...}", dump)
		r.handle("DELETE", "/_api/dump/{rest...}", dump)
	}
	s.registerClusterAdminRoutes(r)
	s.registerClusterCursorRoutes(r)
	s.registerClusterDocumentRoutes(r)
	s.registerClusterGraphRoutes(r)
	s.registerClusterDistributionRoutes(r)
	cs.ownRoutes.Store(int64(len(r.routes)))
}

// coreRoute runs the core handler for the request, skipping the Coordinator routes.
func (s *Server) coreRoute(c *call) {
	fb := &router{routes: s.router.routes[s.cluster.ownRoutes.Load():]}
	var segs []string
	for _, p := range strings.Split(strings.Trim(c.path, "/"), "/") {
		if p == "" {
			continue
		}
		if d, err := url.PathUnescape(p); err == nil {
			p = d
		}
		segs = append(segs, p)
	}
	rt, params, _ := fb.match(c.r.Method, segs)
	if rt == nil {
		c.error(404, 404, "unknown path '"+c.r.URL.Path+"'")
		return
	}
	c.params = params
	rt.h(c)
}

// clusterCapture records a response written by a core handler.
type clusterCapture struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func (w *clusterCapture) Header() http.Header         { return w.h }
func (w *clusterCapture) Write(b []byte) (int, error) { return w.buf.Write(b) }
func (w *clusterCapture) WriteHeader(status int)      { w.status = status }

// patchCore runs the core handler, lets patch change its JSON object answer (2xx only) and
// writes the result.
func (s *Server) patchCore(c *call, patch func(m map[string]any)) {
	w, enc := c.w, c.encoding
	rec := &clusterCapture{h: http.Header{}, status: 200}
	c.w, c.encoding = rec, ""
	s.coreRoute(c)
	c.w, c.encoding, c.written = w, enc, false
	var m map[string]any
	if rec.status >= 300 || json.Unmarshal(rec.buf.Bytes(), &m) != nil {
		for k, v := range rec.h {
			if k != "Content-Length" {
				c.w.Header()[k] = v
			}
		}
		c.raw(rec.status, rec.h.Get("Content-Type"), rec.buf.Bytes())
		return
	}
	patch(m)
	c.json(rec.status, m)
}

// health is the /_admin/cluster/health answer.
func (cs *clusterState) health(s *Server) map[string]any {
	now := time.Now().UTC().Format("2006-01-02T15:04:05Z")
	h := map[string]any{}
	cs.mu.Lock()
	coords := append([]*Server(nil), cs.coords...)
	cs.mu.Unlock()
	for i, id := range cs.coordIDs {
		ep := "tcp://127.0.0.1:0"
		if i < len(coords) {
			ep = "tcp://" + coords[i].ln.Addr().String()
		}
		h[id] = map[string]any{"Endpoint": ep, "Role": "Coordinator", "CanBeDeleted": false, "Version": s.version,
			"Engine": "rocksdb", "Status": "GOOD", "SyncStatus": "SERVING", "ShortName": "Coordinator" + clusterPad4(i+1),
			"LastAckedTime": now, "Host": s.hostID(), "Timestamp": now}
	}
	for i, id := range cs.dbservers {
		h[id] = map[string]any{"Endpoint": cs.memberEndpoint(id), "Role": "DBServer", "CanBeDeleted": false, "Version": s.version,
			"Engine": "rocksdb", "Status": "GOOD", "SyncStatus": "SERVING", "ShortName": "DBServer" + clusterPad4(i+1),
			"LastAckedTime": now, "Host": s.hostID(), "Timestamp": now}
	}
	h[cs.agentID] = map[string]any{"Endpoint": cs.memberEndpoint(cs.agentID), "Role": "Agent", "CanBeDeleted": false,
		"Version": s.version, "Engine": "rocksdb", "Status": "GOOD", "Leading": true, "Leader": cs.agentID,
		"LastAckedTime": 0.0}
	return map[string]any{"ClusterId": cs.clusterID, "Health": h}
}

func clusterPad4(n int) string {
	return strings.Repeat("0", max(0, 4-len(strconv.Itoa(n)))) + strconv.Itoa(n)
}

// needDBserver checks the forwarding parameter a Coordinator requires (name is "DBserver" for
// the replication API, "dbserver" for /_api/dump) and writes the error if it is missing or
// unknown.
func (cs *clusterState) needDBserver(c *call, name string) bool {
	id := c.query(name)
	if id == "" {
		if name == "DBserver" {
			// RestReplicationHandler::handleUnforwardedTrampolineCoordinator
			c.error(400, 400, `need "DBserver" parameter`)
		} else {
			// RestDumpHandler::forwardingTarget: TRI_ERROR_BAD_PARAMETER
			c.error(400, 10, "need a 'dbserver' parameter")
		}
		return false
	}
	if !cs.isDBServer(id) {
		// RestHandler::forwardRequest: no endpoint for the server
		c.error(404, 1449, "cluster server "+id+" unknown") // TRI_ERROR_CLUSTER_SERVER_UNKNOWN
		return false
	}
	return true
}

func (cs *clusterState) isDBServer(id string) bool {
	for _, d := range cs.dbservers {
		if d == id {
			return true
		}
	}
	return false
}

// errInsufficientDBServers is TRI_ERROR_CLUSTER_INSUFFICIENT_DBSERVERS with its default
// message (lib/Basics/errors.dat); no status is mapped for it, so it is a 500.
func errInsufficientDBServers() *ArangoError {
	return newError(500, 1487, "the number of current DB-Servers is lower than the requested replicationFactor/writeConcern")
}

// prepareCreate fills in the database defaults of a collection definition and validates its
// sharding attributes as a Coordinator does before it places any shard: it mirrors
// UserInputCollectionProperties::applyDefaultsAndValidateDatabaseConfiguration and
// ClusteringMutableProperties::applyDatabaseDefaults / validateDatabaseConfiguration
// (arangod/VocBase/Properties/, 3.12), reached from CreateCollectionBody::fromCreateAPIBody
// (POST /_api/collection) and fromRestoreAPIBody (restore-collection):
//   - distributeShardsLike (or a OneShard database's "_graphs") takes the prototype's
//     numberOfShards and replicationFactor (a different replicationFactor fails the strict
//     parse; the backwards-compatible one drops it; see followPrototype for arangotest's
//     difference), so the replication factor limits are not checked again for it;
//   - otherwise a missing replicationFactor is the database's (a database's default is
//     --cluster.default-replication-factor), a missing writeConcern minReplicationFactor,
//     else the database's;
//   - with enforceRF (always for restore-collection) a numeric replicationFactor above
//     --cluster.max-replication-factor (when > 0) or below --cluster.min-replication-factor
//     fails with 400, error 10; "satellite" is exempt;
//   - writeConcern above replicationFactor fails with 400, error 10 "writeConcern must not
//     be higher than replicationFactor" (a satellite collection: above 1).
//
// It returns the body to create the collection from. Whether the DB-Servers suffice is
// checked where the shards are placed (checkDistribution).
func (cs *clusterState) prepareCreate(db *Database, body []byte, enforceRF bool) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return body, nil // the core answers bad bodies
	}
	isSystem := string(m["isSystem"]) == "true"
	dslName, _ := rawString(m["distributeShardsLike"])
	if dslName == "" {
		delete(m, "distributeShardsLike")
	}
	if name := dslName; name != "" {
		proto := db.Collection(name)
		if proto == nil {
			return nil, newError(500, 1486, "Collection not found: "+name+" in database "+db.Name)
		}
		if pp := proto.Properties()["distributeShardsLike"]; pp != nil && pp != "" && !proto.IsSystem {
			if s, ok := pp.(json.RawMessage); !ok || (string(s) != `""` && string(s) != "null") {
				return nil, newError(500, 1484, "Cannot distribute shards like '"+name+"' it is already distributed like another collection")
			}
		}
		cs.followPrototype(m, proto, false)
	} else if !isSystem {
		if sh, _ := db.options["sharding"].(string); sh == "single" {
			m["distributeShardsLike"] = mustJSON("_graphs")
			if g := db.Collection("_graphs"); g != nil {
				cs.followPrototype(m, g, true)
			}
		}
	}
	if _, has := m["replicationFactor"]; !has {
		if v, ok := db.options["replicationFactor"]; ok && v != nil {
			m["replicationFactor"] = mustJSON(v)
		} else {
			m["replicationFactor"] = mustJSON(cs.defaultRF())
		}
	}
	if _, has := m["writeConcern"]; !has {
		if v, ok := m["minReplicationFactor"]; ok {
			m["writeConcern"] = v
		} else if v, ok := db.options["writeConcern"]; ok && v != nil {
			m["writeConcern"] = mustJSON(v)
		}
	}
	if v, ok := m["numberOfShards"]; ok {
		n, err := strconv.Atoi(string(bytes.TrimSpace(v)))
		if err != nil || n < 1 {
			return nil, newError(400, 10, "invalid number of shards")
		}
		if n > 1000 {
			return nil, newError(400, 1450, "too many shards")
		}
	}
	if v, ok := m["shardKeys"]; ok {
		var keys []string
		if json.Unmarshal(v, &keys) != nil || len(keys) == 0 || len(keys) > 8 {
			return nil, newError(400, 10, "invalid shardKeys")
		}
	}
	n, satellite, err := parseReplicationFactor(m["replicationFactor"])
	if err != nil {
		return nil, err
	}
	_, follows := m["distributeShardsLike"]
	if !satellite && enforceRF && !follows { // a follower has its (validated) prototype's factor

		if cs.maxRF > 0 && n > cs.maxRF {
			return nil, newError(400, 10, "replicationFactor must not be higher than maximum allowed replicationFactor ("+strconv.Itoa(cs.maxRF)+")")
		}
		if n < cs.minRF {
			return nil, newError(400, 10, "replicationFactor must not be lower than minimum allowed replicationFactor ("+strconv.Itoa(cs.minRF)+")")
		}
	}
	wc := 1 // applyDatabaseDefaults: a satellite's is 1, the others' the database's
	if v, ok := m["writeConcern"]; ok {
		wc, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
	}
	switch {
	case !satellite && n < wc:
		return nil, newError(400, 10, "writeConcern must not be higher than replicationFactor")
	case satellite && wc > 1:
		return nil, newError(400, 10, "For a satellite collection writeConcern must not be set")
	}
	return json.Marshal(m)
}

// followPrototype gives a definition with distributeShardsLike its prototype's
// numberOfShards and, when it has none, replicationFactor. (The server always takes the
// prototype's replicationFactor; arangotest keeps a given one because its system
// collections, the usual prototypes, have replicationFactor 1 rather than the server's
// max(database's, --cluster.system-replication-factor).)
func (cs *clusterState) followPrototype(m map[string]json.RawMessage, proto *Collection, shardsOnly bool) {
	pm := proto.Properties()
	m["numberOfShards"] = mustJSON(pm["numberOfShards"])
	if _, has := m["replicationFactor"]; !has && !shardsOnly {
		m["replicationFactor"] = mustJSON(pm["replicationFactor"])
	}
}

// parseReplicationFactor reads a replicationFactor value: a number (0 is "satellite") or
// "satellite".
func parseReplicationFactor(rf json.RawMessage) (n int, satellite bool, err error) {
	if s, ok := rawString(rf); ok {
		if s != "satellite" {
			return 0, false, newError(400, 10, "invalid replicationFactor")
		}
		return 0, true, nil
	}
	n, err = strconv.Atoi(string(bytes.TrimSpace(rf)))
	if err != nil || n < 0 {
		return 0, false, newError(400, 10, "invalid replicationFactor")
	}
	return n, n == 0, nil
}

// checkDistribution mirrors EvenDistribution::checkDistributionPossible
// (arangod/Cluster/Utils/EvenDistribution.cpp), where Collections::create places the shards
// of a prepared definition: with enforceRF, more copies than DB-Servers fail with 500, error
// 1487. A satellite collection (SatelliteDistribution) and one following a prototype
// (DistributeShardsLike: the prototype's servers) are not checked.
func (cs *clusterState) checkDistribution(db *Database, body json.RawMessage) error {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil || m == nil {
		return nil
	}
	if dsl, _ := rawString(m["distributeShardsLike"]); dsl != "" {
		return nil
	}
	n, satellite, err := parseReplicationFactor(m["replicationFactor"])
	if err != nil || satellite {
		return nil
	}
	if n > len(cs.dbservers) {
		return errInsufficientDBServers()
	}
	return nil
}

func (p *shardPlan) numShards() int { return len(p.shards) }

// checkShardKeysGiven answers 1468 when a shard key other than _key is missing.
func (p *shardPlan) checkShardKeysGiven(body []byte) error {
	seen := map[string]bool{}
	_ = scanObject(body, func(k string, v []byte) error { seen[k] = true; return nil })
	for _, k := range p.keys {
		if !seen[k] {
			return newError(400, 1468, "not all sharding attributes given")
		}
	}
	return nil
}

// handleClusterInventory serves GET /_api/replication/clusterInventory.
func (cs *clusterState) handleClusterInventory(s *Server, c *call) {
	includeSystem := replBool(c.r, "includeSystem", true)
	colls := []map[string]any{}
	for _, entry := range inventoryCollections(c.db, includeSystem, true, "") {
		params, _ := entry["parameters"].(map[string]any)
		name, _ := params["name"].(string)
		coll := c.db.Collection(name)
		if coll == nil {
			continue
		}
		p := cs.plan(coll) // before the read lock: deriving a plan takes it itself
		coll.mu.RLock()
		cs.parametersFor(coll, params)
		coll.mu.RUnlock()
		cs.mu.Lock()
		pv := p.version
		cs.mu.Unlock()
		entry["planVersion"] = pv
		entry["isReady"] = true
		entry["allInSync"] = cs.allInSync(p)
		colls = append(colls, entry)
	}
	props := c.db.Properties()
	o := c.db.options
	props["sharding"] = ""
	if v, ok := o["sharding"].(string); ok {
		props["sharding"] = v
	}
	props["replicationFactor"] = cs.defaultRF()
	if v, ok := o["replicationFactor"]; ok && v != nil {
		props["replicationFactor"] = v
	}
	props["writeConcern"] = 1
	if v, ok := o["writeConcern"]; ok && v != nil {
		props["writeConcern"] = v
	}
	props["replicationVersion"] = "1"
	c.json(200, map[string]any{"collections": colls, "views": inventoryViews(c.db), "properties": props,
		"tick": strconv.FormatUint(s.store.LastTick(), 10), "state": "unused"})
}

// shardOnServer resolves a shard id that must live on DB-Server server; writes the error.
func (cs *clusterState) shardOnServer(c *call, shard, server string) (*shardPlan, int) {
	p, i := cs.shardByID(c.db, shard)
	if p == nil {
		c.fail(errCollectionNotFound(shard))
		return nil, -1
	}
	for _, id := range cs.planned(p, i) {
		if id == server {
			return p, i
		}
	}
	c.fail(errCollectionNotFound(shard))
	return nil, -1
}

// handleShardDump serves GET /_api/replication/dump?collection=<shard>&DBserver=<id> on a
// Coordinator: the shard's documents from the batch snapshot, as the DB-Server answers.
func (cs *clusterState) handleShardDump(s *Server, c *call) {
	q := c.q
	shard := q.Get("collection")
	if shard == "" {
		c.fail(newError(400, 400, "invalid collection parameter"))
		return
	}
	if _, ok := q["batchId"]; !ok {
		c.fail(newError(404, 400, "replication dump - request misses batchId"))
		return
	}
	b := s.repl.findBatch(q.Get("batchId"))
	if b == nil {
		c.fail(newError(404, 400, "replication dump - unable to find context (it could be expired)"))
		return
	}
	p, i := cs.shardOnServer(c, shard, q.Get("DBserver"))
	if p == nil {
		return
	}
	o, ok := parseDumpChunkOptions(c)
	if !ok {
		return
	}
	// The shard's part of the batch snapshot is cut once and kept with the read position, so a
	// dump in many chunks does not filter the whole collection for every chunk.
	posKey := b.id + "/" + shard
	cs.mu.Lock()
	start := cs.dumpPos[posKey]
	docs, cut := cs.dumpDocs[posKey]
	cs.mu.Unlock()
	if !cut {
		docs = p.shardDocs(b.snap.collectionDocs(p.coll), i)
		cs.mu.Lock()
		cs.dumpDocs[posKey] = docs
		cs.mu.Unlock()
	}
	j, size := o.cut(docs, start)
	cs.mu.Lock()
	cs.dumpPos[posKey] = j
	if j >= len(docs) {
		delete(cs.dumpDocs, posKey) // read to the end: free the cut (a re-cut would start at j)
	}
	// the chunk counter, as the core's handleDump keeps it per collection
	if cs.dumpChunks[posKey] == 0 {
		cs.dumpChunks[posKey] = 1
	}
	if j < len(docs) {
		cs.dumpChunks[posKey]++
	}
	included := cs.dumpChunks[posKey]
	cs.mu.Unlock()
	s.repl.extendBatch(b.id, 0)
	writeDumpChunk(c, included, docs[start:j], size, j < len(docs), o.envelope)
}

// forgetBatch drops the per-shard dump positions of a deleted batch.
func (cs *clusterState) forgetBatch(id string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for k := range cs.dumpPos {
		if strings.HasPrefix(k, id+"/") {
			delete(cs.dumpPos, k)
		}
	}
	for k := range cs.dumpDocs {
		if strings.HasPrefix(k, id+"/") {
			delete(cs.dumpDocs, k)
		}
	}
	for k := range cs.dumpChunks {
		if strings.HasPrefix(k, id+"/") {
			delete(cs.dumpChunks, k)
		}
	}
}

// handleDumpStart serves POST /_api/dump/start?dbserver=<id> on a Coordinator: a dump context
// over the listed shards of that DB-Server, each a filtered snapshot of its collection.
func (cs *clusterState) handleDumpStart(s *Server, c *call) {
	server := c.query("dbserver")
	var in struct {
		Shards []string `json:"shards"`
	}
	if len(bytes.TrimSpace(c.body)) > 0 {
		if err := json.Unmarshal(c.body, &in); err != nil {
			c.fail(newError(400, 600, "VPackError error: "+err.Error()))
			return
		}
	}
	// Resolve shards first (errors before a context exists), then let the core build the
	// context over no shards and fill in the per-shard snapshots.
	type resolved struct {
		p *shardPlan
		i int
	}
	var rs []resolved
	for _, sh := range in.Shards {
		p, i := cs.shardOnServer(c, sh, server)
		if p == nil {
			return
		}
		rs = append(rs, resolved{p, i})
	}
	opts, err := dumpStartOptions(c.body)
	if err != nil {
		c.fail(err)
		return
	}
	// one snapshot of every shard of the context (dumpsnapshot.go), as the DB-Server's
	// RocksDBDumpContext takes one RocksDB snapshot
	srcs := make([]dumpSource, len(rs))
	for k, r := range rs {
		srcs[k] = dumpSource{name: in.Shards[k], coll: r.p.coll, pick: func(docs []*Doc) []*Doc { return r.p.shardDocs(docs, r.i) }}
	}
	d := s.repl.startDump(c.db, c.user, opts, replBool(c.r, "useVPack", false), srcs)
	c.setHeader("x-arango-dump-id", d.id)
	c.empty(http.StatusCreated)
}

// handleRestoreCollection serves PUT /_api/replication/restore-collection on a Coordinator:
// RestReplicationHandler::processRestoreCollection (arangod/RestHandler/RestReplicationHandler.cpp,
// 3.12; there is no Coordinator variant of it any more) with the cluster's checks at the
// points where the source makes them (restoreCoordinator; replState.restoreCollection has the
// order). The shard map of a dump becomes numberOfShards when none is given (handleShards in
// CreateCollectionBody.cpp). As in 3.12, numberOfShards, replicationFactor and writeConcern
// are read from the definition only, never from the query (arangorestore puts its overrides
// into the parameters, RestoreFeature's sendRestoreCollection).
func (cs *clusterState) handleRestoreCollection(s *Server, c *call) {
	s.repl.restoreCollection(c, cs)
}

// restoreDefinition is CreateCollectionBody::fromRestoreAPIBody's part on a Coordinator
// (restoreCoordinator): prepareCreate with enforceReplicationFactor, which restore-collection
// always sets.
func (cs *clusterState) restoreDefinition(c *call, raw json.RawMessage) (json.RawMessage, error) {
	var params map[string]json.RawMessage
	if err := json.Unmarshal(raw, &params); err != nil || params == nil {
		return raw, nil
	}
	if _, ok := params["numberOfShards"]; !ok {
		var shards map[string]json.RawMessage
		if json.Unmarshal(params["shards"], &shards) == nil && len(shards) > 0 {
			params["numberOfShards"] = mustJSON(len(shards)) // CreateCollectionBody handleShards
		}
	}
	delete(params, "shards") // shard ids are the new cluster's
	if dsl, ok := params["distributeShardsLike"]; ok {
		if name, _ := rawString(dsl); name != "" && c.db.Collection(name) == nil {
			if !c.qbool("ignoreDistributeShardsLikeErrors", false) {
				return nil, newError(500, 1486, "Collection not found: "+name+" in database "+c.db.Name)
			}
			delete(params, "distributeShardsLike")
		}
	}
	pb, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	return cs.prepareCreate(c.db, pb, true)
}

// keepOnOverwrite is handlingOfExistingCollection's fallback on a Coordinator
// (restoreCoordinator): _analyzers is emptied ("Analyzers are only truncated, never
// dropped"), and a collection whose drop is refused with 1485 because another collection's
// distributeShardsLike points to it (ClusterInfo::dropCollectionCoordinator) is truncated.
// arangotest's system collections follow _graphs (planFromProps), so _graphs is one.
func (cs *clusterState) keepOnOverwrite(db *Database, existing *Collection) bool {
	if existing.Name == "_analyzers" {
		return true
	}
	for _, o := range db.Collections() {
		if o == existing {
			continue
		}
		o.mu.RLock()
		dsl := propString(o.props, "distributeShardsLike")
		o.mu.RUnlock()
		if dsl == existing.Name || (dsl == "" && existing.Name == "_graphs" && o.IsSystem) {
			return true
		}
	}
	return false
}

// cursorShardFilter restricts AQL results to options.shardIds (a Coordinator's query option):
// documents (objects with an _id) of other shards are dropped from every batch of the cursor.
type cursorShardFilter struct {
	db     *Database
	shards map[string]bool
}

var cursorFilters sync.Map // cursor id -> *cursorShardFilter

func (s *Server) registerClusterCursorRoutes(r *router) {
	cs := s.cluster
	filter := func(c *call, f *cursorShardFilter) {
		s.patchCore(c, func(m map[string]any) {
			res, ok := m["result"].([]any)
			if !ok {
				return
			}
			out := res[:0]
			for _, v := range res {
				if d, ok := v.(map[string]any); ok {
					if id, ok := d["_id"].(string); ok {
						if sh := cs.shardOfID(f.db, id, d); sh != "" && !f.shards[sh] {
							continue
						}
					}
				}
				out = append(out, v)
			}
			m["result"] = out
			if id, ok := m["id"].(string); ok && m["hasMore"] == true {
				cursorFilters.Store(id, f)
			}
		})
	}
	r.handle("POST", "/_api/cursor", func(c *call) {
		var in struct {
			Options struct {
				ShardIDs []string `json:"shardIds"`
			} `json:"options"`
		}
		_ = json.Unmarshal(c.body, &in)
		if len(in.Options.ShardIDs) == 0 {
			s.coreRoute(c)
			return
		}
		f := &cursorShardFilter{db: c.db, shards: map[string]bool{}}
		for _, sh := range in.Options.ShardIDs {
			if p, _ := cs.shardByID(c.db, sh); p == nil {
				c.fail(newError(404, 1203, "collection or view not found: "+sh))
				return
			}
			f.shards[sh] = true
		}
		filter(c, f)
	})
	next := func(c *call) {
		if v, ok := cursorFilters.Load(c.param("id")); ok {
			filter(c, v.(*cursorShardFilter))
			return
		}
		s.coreRoute(c)
	}
	r.handle("POST", "/_api/cursor/{id}", next)
	r.handle("PUT", "/_api/cursor/{id}", next)
}

// shardOfID returns the shard of a document given by _id and its body ("" if unknown).
func (cs *clusterState) shardOfID(db *Database, id string, doc map[string]any) string {
	name, _, ok := strings.Cut(id, "/")
	if !ok {
		return ""
	}
	coll := db.Collection(name)
	if coll == nil {
		return ""
	}
	p := cs.plan(coll)
	b, err := json.Marshal(doc)
	if err != nil {
		return ""
	}
	i, err := p.bucketOfBody(b)
	if err != nil {
		return ""
	}
	return p.shards[i]
}

// registerClusterDocumentRoutes adds the Coordinator's shard key rules to single-document
// writes: no user _key when the collection is not sharded by _key (1466), no change of a shard
// key value by replace or update (1469). Batch (array) bodies get the same rules per item in
// the core's docBatchOrSingle (routes_doc.go), through shardKeyRule.
func (s *Server) registerClusterDocumentRoutes(r *router) {
	cs := s.cluster
	r.handle("POST", "/_api/document/{coll}", func(c *call) {
		if coll := c.db.Collection(c.param("coll")); coll != nil && rawKind(bytes.TrimSpace(c.body)) == 'o' {
			if err := cs.shardKeyRule(coll, "insert", "", c.body); err != nil {
				c.fail(err)
				return
			}
		}
		s.coreRoute(c)
	})
	change := func(op string) func(c *call) {
		return func(c *call) {
			coll := c.db.Collection(c.param("coll"))
			if coll != nil && rawKind(bytes.TrimSpace(c.body)) == 'o' {
				if err := cs.shardKeyRule(coll, op, c.param("key"), c.body); err != nil {
					c.fail(err)
					return
				}
			}
			s.coreRoute(c)
		}
	}
	r.handle("PUT", "/_api/document/{coll}/{key}", change("replace"))
	r.handle("PATCH", "/_api/document/{coll}/{key}", change("update"))
}

// shardKeyRule checks one document write (op insert, replace or update) against the shard key
// rules of a Coordinator: an insert must not give _key when the collection is not sharded by
// _key (400 1466); a replace or update must not change a shard key value, and a replace must
// not drop one (400 1469). key is the document key of a replace or update ("" = the body's
// _key, as in a batch). Documents that do not exist are left to the core (404 1202).
func (cs *clusterState) shardKeyRule(coll *Collection, op, key string, body []byte) error {
	p := cs.plan(coll)
	if op == "insert" {
		if len(p.keys) == 1 && p.keys[0] == "_key" {
			return nil
		}
		has := false
		_ = scanObject(body, func(k string, v []byte) error {
			has = has || k == "_key"
			return nil
		})
		if has {
			return newError(400, 1466, "must not specify _key for this collection")
		}
		return nil
	}
	if key == "" {
		_ = scanObject(body, func(k string, v []byte) error {
			if k == "_key" {
				key, _ = rawString(v)
			}
			return nil
		})
		if key == "" {
			return nil
		}
	}
	old := coll.Lookup(key)
	if old == nil {
		return nil
	}
	replace := op == "replace"
	oldVals, newVals := shardKeyValues(p.keys, old.Raw), shardKeyValues(p.keys, body)
	for _, k := range p.keys {
		if k == "_key" {
			continue
		}
		nv, given := newVals[k]
		if !given && !replace {
			continue
		}
		if !given {
			nv = "null"
		}
		ov, ok := oldVals[k]
		if !ok {
			ov = "null"
		}
		if nv != ov {
			return newError(400, 1469, "must not change the value of a shard key attribute")
		}
	}
	return nil
}

// shardKeyValues returns the compact JSON of the shard key attributes present in doc.
func shardKeyValues(keys []string, doc []byte) map[string]string {
	out := map[string]string{}
	_ = scanObject(doc, func(k string, v []byte) error {
		for _, sk := range keys {
			if sk == k {
				var b bytes.Buffer
				if json.Compact(&b, v) == nil {
					out[k] = b.String()
				} else {
					out[k] = string(v)
				}
			}
		}
		return nil
	})
	return out
}
