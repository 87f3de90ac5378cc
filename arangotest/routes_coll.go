package arangotest

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"strconv"
)

// collectionFromPath resolves the {coll} path parameter, writing 404 1203 if unknown.
func (c *call) collection(name string) *Collection {
	coll := c.db.Collection(name)
	if coll == nil {
		c.fail(errCollectionNotFound(name))
		return nil
	}
	return coll
}

func (c *call) location(path string) {
	c.setHeader("Location", "/_db/"+c.dbName+path)
}

func (s *Server) routeCollections(r *router) {
	r.handle("POST", "/_api/collection", func(c *call) {
		if s.store.readOnly.Load() {
			c.error(403, 1004, "read only")
			return
		}
		spec, err := specFromParams(c.body, false)
		if err != nil {
			c.fail(err)
			return
		}
		if !validCollectionName(spec.Name, spec.IsSystem) || (spec.IsSystem && spec.Name[0] != '_') {
			c.error(400, 1208, "illegal name")
			return
		}
		if v, ok := spec.Props["schema"]; ok {
			if err := validateSchemaDef(v); err != nil {
				c.fail(err)
				return
			}
		}
		if v, ok := spec.Props["computedValues"]; ok {
			norm, err := normalizeComputedValues(v)
			if err != nil {
				c.fail(err)
				return
			}
			spec.Props["computedValues"] = norm
		}
		if v, ok := spec.Props["minReplicationFactor"]; ok {
			if _, has := spec.Props["writeConcern"]; !has {
				spec.Props["writeConcern"] = v
			}
		}
		coll, err := c.db.CreateCollection(spec)
		if err != nil {
			c.fail(err)
			return
		}
		c.location("/_api/collection/" + coll.Name)
		c.ok(200, coll.Properties())
	})
	r.handle("GET", "/_api/collection", func(c *call) {
		exclude := c.qbool("excludeSystem", false)
		out := []any{}
		for _, coll := range c.db.Collections() {
			if exclude && coll.IsSystem {
				continue
			}
			out = append(out, coll.basicInfo())
		}
		c.okResult(200, out)
	})
	// GET /_api/collection/... mirrors RestCollectionHandler::handleCommandGet
	// (arangod/RestHandler/RestCollectionHandler.cpp): more than two suffixes is 400, error 400
	// (before the collection is looked up); an unknown collection 404, error 1203; an unknown
	// resource (responsibleShard included, which only PUT has) 404, error 404.
	r.handle("GET", "/_api/collection/{coll}/{what}/{rest...}", func(c *call) {
		c.error(400, 400, "expect GET /_api/collection/<collection-name>/<method>")
	})
	// PUT mirrors handleCommandPut: exactly two suffixes (else 400, error 400), then the body
	// (invalid JSON 400, error 600; anything but an object counts as {} except for
	// responsibleShard), then the collection (404, error 1203), then the action.
	putSuffixes := func(c *call) {
		c.error(400, 400, "expected PUT /_api/collection/<collection-name>/<action>")
	}
	r.handle("PUT", "/_api/collection", putSuffixes)
	r.handle("PUT", "/_api/collection/{coll}", putSuffixes)
	r.handle("PUT", "/_api/collection/{coll}/{action}/{rest...}", putSuffixes)
	r.handle("GET", "/_api/collection/{coll}", func(c *call) {
		coll := c.collection(c.param("coll"))
		if coll == nil {
			return
		}
		c.ok(200, coll.basicInfo())
	})
	r.handle("GET", "/_api/collection/{coll}/{what}", func(c *call) {
		coll := c.collection(c.param("coll"))
		if coll == nil {
			return
		}
		c.location("/_api/collection/" + coll.Name + "/" + c.param("what"))
		switch c.param("what") {
		case "properties":
			c.ok(200, coll.Properties())
		case "count":
			m := coll.Properties()
			m["count"] = s.countFor(c, coll)
			c.ok(200, m)
		case "figures":
			m := coll.Properties()
			n := coll.Count()
			size := 0
			for _, d := range coll.Snapshot() {
				size += len(d.Raw)
			}
			m["count"] = n
			idx := coll.Indexes()
			m["figures"] = map[string]any{"indexes": map[string]any{"count": len(idx), "size": n * 32},
				"documentsSize": size, "cacheInUse": false, "cacheSize": 0, "cacheUsage": 0}
			if c.qbool("details", false) {
				engIdx := []any{}
				for _, ix := range idx {
					engIdx = append(engIdx, map[string]any{"type": ix.Type, "id": ix.ID, "count": n})
				}
				m["figures"].(map[string]any)["engine"] = map[string]any{"documents": n, "indexes": engIdx}
			}
			c.ok(200, m)
		case "revision":
			m := coll.Properties()
			m["revision"] = strconv.FormatUint(coll.Revision(), 10)
			c.ok(200, m)
		case "checksum":
			withRev := c.qbool("withRevisions", false)
			withData := c.qbool("withData", false)
			var sum uint64
			for _, d := range coll.Snapshot() {
				h := fnv.New64a()
				h.Write([]byte(d.Key))
				if withRev {
					h.Write([]byte(d.Rev))
				}
				if withData {
					h.Write(d.Raw)
				}
				sum ^= h.Sum64()
			}
			m := coll.basicInfo()
			m["revision"] = encodeRev(coll.Revision())
			m["checksum"] = strconv.FormatUint(sum, 10)
			c.ok(200, m)
		case "shards":
			c.error(501, 9, "shards API is only available in a cluster")
		default:
			c.error(404, 404, "expecting one of the resources 'checksum', 'count', 'figures', 'properties', 'responsibleShard', 'revision', 'shards'")
		}
	})
	r.handle("PUT", "/_api/collection/{coll}/{action}", func(c *call) {
		if err := errInvalidBody(c.body); err != nil {
			c.fail(err)
			return
		}
		if c.param("action") != "responsibleShard" && rawKind(bytes.TrimSpace(c.body)) != 'o' {
			c.body = []byte("{}")
		}
		coll := c.collection(c.param("coll"))
		if coll == nil {
			return
		}
		switch c.param("action") {
		case "properties":
			if err := coll.setProperties(c.body); err != nil {
				c.fail(err)
				return
			}
			c.ok(200, coll.Properties())
		case "rename":
			var in struct {
				Name string `json:"name"`
			}
			_ = json.Unmarshal(c.body, &in)
			if in.Name == "" {
				c.error(400, 1208, "name is empty")
				return
			}
			if !validCollectionName(in.Name, coll.IsSystem) {
				c.error(400, 1208, "illegal name")
				return
			}
			if err := c.db.renameCollection(coll, in.Name); err != nil {
				c.fail(err)
				return
			}
			c.ok(200, coll.basicInfo())
		case "truncate":
			if s.store.readOnly.Load() {
				c.error(403, 1004, "read only")
				return
			}
			if t := s.trxFor(c); t != nil {
				// Truncate inside a transaction: buffer removals of all visible documents.
				for _, d := range t.visibleDocs(coll) {
					if err := t.stageRemove(coll, d.Key); err != nil {
						c.fail(err)
						return
					}
				}
				c.ok(200, coll.basicInfo())
				return
			}
			coll.Truncate()
			c.ok(200, coll.basicInfo())
		case "load":
			m := coll.basicInfo()
			m["count"] = coll.Count()
			c.ok(200, m)
		case "unload", "compact":
			c.ok(200, coll.basicInfo())
		case "loadIndexesIntoMemory":
			c.okResult(200, true)
		case "recalculateCount":
			c.ok(200, map[string]any{"result": true, "count": coll.Count()})
		case "responsibleShard":
			c.error(501, 1471, "this operation is only valid on a coordinator in a cluster")
		default:
			c.error(404, 404, "expecting one of the actions 'load', 'unload', 'truncate', 'properties', 'compact', 'rename', 'loadIndexesIntoMemory'")
		}
	})
	r.handle("DELETE", "/_api/collection/{coll}", func(c *call) {
		coll := c.collection(c.param("coll"))
		if coll == nil {
			return
		}
		if coll.IsSystem && !c.qbool("isSystem", false) {
			c.error(403, 1217, "cannot drop system collection")
			return
		}
		c.db.DropCollection(coll)
		c.ok(200, map[string]any{"id": strconv.FormatUint(coll.ID, 10)})
	})
}

// countFor counts documents, as seen by the request's transaction if any.
func (s *Server) countFor(c *call, coll *Collection) int {
	if t := s.trxFor(c); t != nil {
		return len(t.visibleDocs(coll))
	}
	return coll.Count()
}
