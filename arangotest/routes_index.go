package arangotest

import (
	"strings"
)

func (s *Server) routeIndexes(r *router) {
	r.handle("GET", "/_api/index", func(c *call) {
		name := c.query("collection")
		coll := c.collection(name)
		if coll == nil {
			return
		}
		list := []any{}
		ids := map[string]any{}
		for _, ix := range coll.Indexes() {
			d := ix.Definition(true)
			if c.qbool("withStats", false) {
				d["figures"] = map[string]any{"memory": 0, "cacheInUse": false, "cacheSize": 0, "cacheUsage": 0}
			}
			list = append(list, d)
			ids[d["id"].(string)] = d
		}
		c.ok(200, map[string]any{"indexes": list, "identifiers": ids})
	})
	r.handle("POST", "/_api/index", func(c *call) {
		coll := c.collection(c.query("collection"))
		if coll == nil {
			return
		}
		ix, created, err := coll.EnsureIndex(c.body)
		if err != nil {
			c.fail(err)
			return
		}
		d := ix.Definition(true)
		d["isNewlyCreated"] = created
		status := 200
		if created {
			status = 201
		}
		c.ok(status, d)
	})
	get := func(c *call, collName, id string) {
		coll := c.collection(collName)
		if coll == nil {
			return
		}
		ix := coll.Index(id)
		if ix == nil {
			c.fail(errIndexNotFound())
			return
		}
		c.ok(200, ix.Definition(true))
	}
	del := func(c *call, collName, id string) {
		coll := c.collection(collName)
		if coll == nil {
			return
		}
		ix, err := coll.DropIndex(id)
		if err != nil {
			c.fail(err)
			return
		}
		// Drop search-alias view entries that referenced this index.
		for _, v := range c.db.Views() {
			v.mu.Lock()
			if idx, ok := v.props["indexes"].([]any); ok {
				out := idx[:0:0]
				for _, e := range idx {
					if m, ok := e.(map[string]any); ok && m["collection"] == coll.Name && m["index"] == ix.Name {
						continue
					}
					out = append(out, e)
				}
				v.props["indexes"] = out
			}
			v.mu.Unlock()
		}
		c.ok(200, map[string]any{"id": coll.Name + "/" + itoa(ix.ID)})
	}
	r.handle("GET", "/_api/index/{coll}/{id}", func(c *call) { get(c, c.param("coll"), c.param("id")) })
	r.handle("DELETE", "/_api/index/{coll}/{id}", func(c *call) { del(c, c.param("coll"), c.param("id")) })
	// A single segment "coll%2F123" or "coll/123" passed escaped.
	r.handle("GET", "/_api/index/{handle}", func(c *call) {
		parts := strings.SplitN(c.param("handle"), "/", 2)
		if len(parts) != 2 {
			c.error(400, 1214, "illegal index identifier")
			return
		}
		get(c, parts[0], parts[1])
	})
	r.handle("DELETE", "/_api/index/{handle}", func(c *call) {
		parts := strings.SplitN(c.param("handle"), "/", 2)
		if len(parts) != 2 {
			c.error(400, 1214, "illegal index identifier")
			return
		}
		del(c, parts[0], parts[1])
	})
}
