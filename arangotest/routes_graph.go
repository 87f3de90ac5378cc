package arangotest

import (
	"encoding/json"
	"sort"
	"strings"
)

// Named graphs (/_api/gharial), stored as documents in _graphs.

type edgeDef struct {
	Collection string   `json:"collection"`
	From       []string `json:"from"`
	To         []string `json:"to"`
}

type graphDef struct {
	Key               string    `json:"_key"`
	EdgeDefinitions   []edgeDef `json:"edgeDefinitions"`
	OrphanCollections []string  `json:"orphanCollections"`
	// Cluster/enterprise attributes echoed as a single server stores them.
	NumberOfShards       int    `json:"numberOfShards"`
	ReplicationFactor    any    `json:"replicationFactor"`
	MinReplicationFactor int    `json:"minReplicationFactor"`
	WriteConcern         int    `json:"writeConcern"`
	IsSmart              bool   `json:"isSmart"`
	IsDisjoint           bool   `json:"isDisjoint"`
	IsSatellite          bool   `json:"isSatellite"`
	SmartGraphAttribute  string `json:"smartGraphAttribute,omitempty"`
}

func (s *Server) loadGraph(db *Database, name string) (*graphDef, *Doc) {
	coll := db.Collection("_graphs")
	if coll == nil {
		return nil, nil
	}
	d := coll.Lookup(name)
	if d == nil {
		return nil, nil
	}
	var g graphDef
	if json.Unmarshal(d.Raw, &g) != nil {
		return nil, nil
	}
	if g.OrphanCollections == nil {
		g.OrphanCollections = []string{}
	}
	if g.EdgeDefinitions == nil {
		g.EdgeDefinitions = []edgeDef{}
	}
	return &g, d
}

func graphView(g *graphDef, d *Doc) map[string]any {
	var m map[string]any
	_ = json.Unmarshal(d.Raw, &m)
	m["name"] = g.Key
	if m["orphanCollections"] == nil {
		m["orphanCollections"] = []any{}
	}
	return m
}

func (s *Server) saveGraph(db *Database, g *graphDef) (*Doc, error) {
	coll := db.Collection("_graphs")
	if coll == nil {
		return nil, newError(404, 1932, "collection _graphs does not exist")
	}
	for i := range g.EdgeDefinitions {
		sort.Strings(g.EdgeDefinitions[i].From)
		sort.Strings(g.EdgeDefinitions[i].To)
	}
	// A collection an edge definition uses is no orphan (adding an edge definition over an
	// orphan takes it out of orphanCollections).
	used := map[string]bool{}
	for _, e := range g.EdgeDefinitions {
		for _, v := range append(append([]string{}, e.From...), e.To...) {
			used[v] = true
		}
	}
	orphans := []string{}
	for _, o := range g.OrphanCollections {
		if !used[o] {
			orphans = append(orphans, o)
		}
	}
	g.OrphanCollections = orphans
	sort.Strings(g.OrphanCollections)
	if err := coll.RestoreDocument(mustJSON(g)); err != nil {
		return nil, err
	}
	return coll.Lookup(g.Key), nil
}

func (g *graphDef) vertexCollections() []string {
	set := map[string]bool{}
	for _, e := range g.EdgeDefinitions {
		for _, c := range append(append([]string{}, e.From...), e.To...) {
			set[c] = true
		}
	}
	for _, c := range g.OrphanCollections {
		set[c] = true
	}
	out := make([]string, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// orphanUnused makes the vertex collections among candidates that no edge definition uses any
// more orphan collections of the graph: replacing or removing an edge definition keeps its
// vertex collections in the graph (GraphManager moves them to orphanCollections).
func (g *graphDef) orphanUnused(candidates []string) {
	used := map[string]bool{}
	for _, e := range g.EdgeDefinitions {
		for _, v := range e.From {
			used[v] = true
		}
		for _, v := range e.To {
			used[v] = true
		}
	}
	for _, o := range g.OrphanCollections {
		used[o] = true
	}
	for _, v := range candidates {
		if !used[v] {
			used[v] = true
			g.OrphanCollections = append(g.OrphanCollections, v)
		}
	}
}

// usedByOtherGraph reports whether a graph other than except names coll in an edge definition
// or as an orphan.
func (s *Server) usedByOtherGraph(db *Database, coll, except string) bool {
	gc := db.Collection("_graphs")
	if gc == nil {
		return false
	}
	for _, d := range gc.Snapshot() {
		var g graphDef
		if json.Unmarshal(d.Raw, &g) != nil || g.Key == except {
			continue
		}
		for _, e := range g.EdgeDefinitions {
			if e.Collection == coll {
				return true
			}
		}
		for _, v := range g.vertexCollections() {
			if v == coll {
				return true
			}
		}
	}
	return false
}

func (s *Server) ensureColl(db *Database, name string, typ int) error {
	if c := db.Collection(name); c != nil {
		if c.Type != typ {
			return newError(400, 1237, "collection type mismatch")
		}
		return nil
	}
	_, err := db.CreateCollection(CollectionSpec{Name: name, Type: typ})
	return err
}

// CreateGraph creates a named graph (library use).
func (s *Server) createGraph(db *Database, name string, edges []edgeDef, orphans []string, opts map[string]any) (*graphDef, *Doc, error) {
	if g, _ := s.loadGraph(db, name); g != nil {
		return nil, nil, newError(409, 1925, "graph already exists")
	}
	for _, e := range edges {
		if err := s.ensureColl(db, e.Collection, 3); err != nil {
			return nil, nil, err
		}
		for _, v := range append(append([]string{}, e.From...), e.To...) {
			if err := s.ensureColl(db, v, 2); err != nil {
				return nil, nil, err
			}
		}
	}
	for _, v := range orphans {
		if err := s.ensureColl(db, v, 2); err != nil {
			return nil, nil, err
		}
	}
	if orphans == nil {
		orphans = []string{}
	}
	if edges == nil {
		edges = []edgeDef{}
	}
	g := &graphDef{Key: name, EdgeDefinitions: edges, OrphanCollections: orphans, NumberOfShards: 1, ReplicationFactor: 1,
		MinReplicationFactor: 1, WriteConcern: 1}
	if v, ok := opts["isSmart"].(bool); ok {
		g.IsSmart = v
	}
	d, err := s.saveGraph(db, g)
	return g, d, err
}

func (s *Server) routeGraphs(r *router) {
	r.handle("GET", "/_api/gharial", func(c *call) {
		coll := c.db.Collection("_graphs")
		out := []any{}
		if coll != nil {
			for _, d := range coll.Snapshot() {
				var g graphDef
				if json.Unmarshal(d.Raw, &g) == nil {
					out = append(out, graphView(&g, d))
				}
			}
		}
		c.ok(200, map[string]any{"graphs": out})
	})
	r.handle("POST", "/_api/gharial", func(c *call) {
		var in struct {
			Name              string         `json:"name"`
			EdgeDefinitions   []edgeDef      `json:"edgeDefinitions"`
			OrphanCollections []string       `json:"orphanCollections"`
			IsSmart           bool           `json:"isSmart"`
			Options           map[string]any `json:"options"`
		}
		if err := json.Unmarshal(c.body, &in); err != nil || in.Name == "" {
			c.error(400, 1923, "invalid graph")
			return
		}
		g, d, err := s.createGraph(c.db, in.Name, in.EdgeDefinitions, in.OrphanCollections, map[string]any{"isSmart": in.IsSmart})
		if err != nil {
			c.fail(err)
			return
		}
		status := 202
		if c.qbool("waitForSync", false) {
			status = 201
		}
		c.setHeader("Etag", `"`+d.Rev+`"`)
		c.ok(status, map[string]any{"graph": graphView(g, d)})
	})
	graph := func(c *call) (*graphDef, *Doc) {
		g, d := s.loadGraph(c.db, c.param("graph"))
		if g == nil {
			c.error(404, 1924, "graph '"+c.param("graph")+"' not found")
		}
		return g, d
	}
	r.handle("GET", "/_api/gharial/{graph}", func(c *call) {
		if g, d := graph(c); g != nil {
			c.ok(200, map[string]any{"graph": graphView(g, d)})
		}
	})
	r.handle("DELETE", "/_api/gharial/{graph}", func(c *call) {
		g, _ := graph(c)
		if g == nil {
			return
		}
		_ = c.db.Collection("_graphs").RemoveKey(g.Key)
		if c.qbool("dropCollections", false) {
			for _, e := range g.EdgeDefinitions {
				if coll := c.db.Collection(e.Collection); coll != nil {
					c.db.DropCollection(coll)
				}
			}
			for _, v := range g.vertexCollections() {
				if coll := c.db.Collection(v); coll != nil {
					c.db.DropCollection(coll)
				}
			}
		}
		status := 202
		if c.qbool("waitForSync", false) {
			status = 200
		}
		c.ok(status, map[string]any{"removed": true})
	})
	r.handle("GET", "/_api/gharial/{graph}/vertex", func(c *call) {
		if g, _ := graph(c); g != nil {
			c.ok(200, map[string]any{"collections": g.vertexCollections()})
		}
	})
	r.handle("GET", "/_api/gharial/{graph}/edge", func(c *call) {
		if g, _ := graph(c); g != nil {
			out := []string{}
			for _, e := range g.EdgeDefinitions {
				out = append(out, e.Collection)
			}
			sort.Strings(out)
			c.ok(200, map[string]any{"collections": out})
		}
	})
	r.handle("POST", "/_api/gharial/{graph}/vertex", func(c *call) {
		g, _ := graph(c)
		if g == nil {
			return
		}
		var in struct {
			Collection string `json:"collection"`
		}
		_ = json.Unmarshal(c.body, &in)
		for _, v := range g.vertexCollections() {
			if v == in.Collection {
				c.error(400, 1938, "collection already used in orphans")
				return
			}
		}
		if err := s.ensureColl(c.db, in.Collection, 2); err != nil {
			c.fail(err)
			return
		}
		g.OrphanCollections = append(g.OrphanCollections, in.Collection)
		d, err := s.saveGraph(c.db, g)
		if err != nil {
			c.fail(err)
			return
		}
		c.ok(202, map[string]any{"graph": graphView(g, d)})
	})
	r.handle("DELETE", "/_api/gharial/{graph}/vertex/{coll}", func(c *call) {
		g, _ := graph(c)
		if g == nil {
			return
		}
		idx := -1
		for i, o := range g.OrphanCollections {
			if o == c.param("coll") {
				idx = i
			}
		}
		if idx < 0 {
			c.error(400, 1928, "collection is not in list of orphan collections")
			return
		}
		g.OrphanCollections = append(g.OrphanCollections[:idx], g.OrphanCollections[idx+1:]...)
		d, err := s.saveGraph(c.db, g)
		if err != nil {
			c.fail(err)
			return
		}
		if c.qbool("dropCollection", false) {
			if coll := c.db.Collection(c.param("coll")); coll != nil {
				c.db.DropCollection(coll)
			}
		}
		c.ok(202, map[string]any{"graph": graphView(g, d)})
	})
	r.handle("POST", "/_api/gharial/{graph}/edge", func(c *call) {
		g, _ := graph(c)
		if g == nil {
			return
		}
		var in edgeDef
		if err := json.Unmarshal(c.body, &in); err != nil || in.Collection == "" {
			c.error(400, 1923, "invalid edge definition")
			return
		}
		for _, e := range g.EdgeDefinitions {
			if e.Collection == in.Collection {
				c.error(400, 1920, "multi use of edge collection in edge def")
				return
			}
		}
		if err := s.ensureColl(c.db, in.Collection, 3); err != nil {
			c.fail(err)
			return
		}
		for _, v := range append(append([]string{}, in.From...), in.To...) {
			if err := s.ensureColl(c.db, v, 2); err != nil {
				c.fail(err)
				return
			}
		}
		g.EdgeDefinitions = append(g.EdgeDefinitions, in)
		d, err := s.saveGraph(c.db, g)
		if err != nil {
			c.fail(err)
			return
		}
		c.ok(202, map[string]any{"graph": graphView(g, d)})
	})
	r.handle("PUT", "/_api/gharial/{graph}/edge/{coll}", func(c *call) {
		g, _ := graph(c)
		if g == nil {
			return
		}
		var in edgeDef
		if err := json.Unmarshal(c.body, &in); err != nil {
			c.error(400, 1923, "invalid edge definition")
			return
		}
		found := false
		var before []string
		for i, e := range g.EdgeDefinitions {
			if e.Collection == c.param("coll") {
				before = append(append(before, e.From...), e.To...)
				g.EdgeDefinitions[i] = in
				found = true
			}
		}
		g.orphanUnused(before)
		if !found {
			c.error(404, 1930, "edge collection not used in graph")
			return
		}
		for _, v := range append(append([]string{}, in.From...), in.To...) {
			if err := s.ensureColl(c.db, v, 2); err != nil {
				c.fail(err)
				return
			}
		}
		d, err := s.saveGraph(c.db, g)
		if err != nil {
			c.fail(err)
			return
		}
		c.ok(202, map[string]any{"graph": graphView(g, d)})
	})
	r.handle("DELETE", "/_api/gharial/{graph}/edge/{coll}", func(c *call) {
		g, _ := graph(c)
		if g == nil {
			return
		}
		idx := -1
		for i, e := range g.EdgeDefinitions {
			if e.Collection == c.param("coll") {
				idx = i
			}
		}
		if idx < 0 {
			c.error(404, 1930, "edge collection not used in graph")
			return
		}
		removed := g.EdgeDefinitions[idx]
		g.EdgeDefinitions = append(g.EdgeDefinitions[:idx], g.EdgeDefinitions[idx+1:]...)
		g.orphanUnused(append(append([]string{}, removed.From...), removed.To...))
		d, err := s.saveGraph(c.db, g)
		if err != nil {
			c.fail(err)
			return
		}
		// dropCollections drops the edge collection, unless another graph still uses it.
		if c.qbool("dropCollections", false) && !s.usedByOtherGraph(c.db, removed.Collection, g.Key) {
			if coll := c.db.Collection(removed.Collection); coll != nil {
				c.db.DropCollection(coll)
			}
		}
		c.ok(202, map[string]any{"graph": graphView(g, d)})
	})
	// Vertex and edge documents.
	for _, kind := range []string{"vertex", "edge"} {
		kind := kind
		check := func(c *call) (*graphDef, *Collection) {
			g, _ := graph(c)
			if g == nil {
				return nil, nil
			}
			name := c.param("coll")
			ok := false
			if kind == "vertex" {
				for _, v := range g.vertexCollections() {
					ok = ok || v == name
				}
			} else {
				for _, e := range g.EdgeDefinitions {
					ok = ok || e.Collection == name
				}
			}
			if !ok {
				if kind == "vertex" {
					c.error(404, 1926, "vertex collection does not exist or is not part of the graph")
				} else {
					c.error(404, 1930, "edge collection not used in graph")
				}
				return nil, nil
			}
			coll := c.collection(name)
			return g, coll
		}
		wrap := func(c *call, res docResult, status int, coll *Collection, o docOpts) {
			if res.err != nil {
				c.fail(res.err)
				return
			}
			var meta map[string]any
			_ = json.Unmarshal(res.render(coll, docOpts{}), &meta)
			out := map[string]any{kind: meta}
			if o.returnNew && res.newDoc != nil {
				out["new"] = json.RawMessage(res.newDoc.Raw)
			}
			if o.returnOld && res.oldDoc != nil {
				out["old"] = json.RawMessage(res.oldDoc.Raw)
			}
			c.setHeader("Etag", `"`+res.rev+`"`)
			c.ok(status, out)
		}
		r.handle("POST", "/_api/gharial/{graph}/"+kind+"/{coll}", func(c *call) {
			g, coll := check(c)
			if coll == nil {
				return
			}
			if kind == "edge" {
				p, err := parseDoc(c.body)
				if err == nil && p.hasFrom && p.hasTo {
					if !edgeAllowed(g, coll.Name, p.from, p.to) {
						c.error(400, 1906, "invalid edge between "+p.from+" and "+p.to+". Doesn't conform to any edge definition")
						return
					}
				}
			}
			o := c.docOpts()
			w := writeTarget{c: coll}
			wrap(c, s.insertDoc(w, c.body, o), graphWriteStatus(o, true), coll, o)
		})
		r.handle("GET", "/_api/gharial/{graph}/"+kind+"/{coll}/{key}", func(c *call) {
			_, coll := check(c)
			if coll == nil {
				return
			}
			d := coll.Lookup(c.param("key"))
			if d == nil {
				c.fail(errDocumentNotFound())
				return
			}
			// RestGraphHandler::vertexActionRead: If-None-Match equal to the revision -> 304;
			// a revision given by If-Match or the rev query parameter that differs -> 412.
			if inm := c.header("If-None-Match"); inm != "" && strings.Trim(inm, `"`) == d.Rev {
				c.setHeader("Etag", `"`+d.Rev+`"`)
				c.empty(304)
				return
			}
			want := strings.Trim(c.header("If-Match"), `"`)
			if want == "" {
				want = c.query("rev")
			}
			if want != "" && want != d.Rev {
				c.fail(preconditionFailed(coll, d))
				return
			}
			c.setHeader("Etag", `"`+d.Rev+`"`)
			c.ok(200, map[string]any{kind: json.RawMessage(d.Raw)})
		})
		mod := func(update bool) func(c *call) {
			return func(c *call) {
				_, coll := check(c)
				if coll == nil {
					return
				}
				o := graphDocOpts(c)
				res := s.modifyDoc(writeTarget{c: coll}, c.param("key"), c.body, o, update)
				wrap(c, res, graphWriteStatus(o, false), coll, o)
			}
		}
		r.handle("PATCH", "/_api/gharial/{graph}/"+kind+"/{coll}/{key}", mod(true))
		r.handle("PUT", "/_api/gharial/{graph}/"+kind+"/{coll}/{key}", mod(false))
		r.handle("DELETE", "/_api/gharial/{graph}/"+kind+"/{coll}/{key}", func(c *call) {
			g, coll := check(c)
			if coll == nil {
				return
			}
			o := graphDocOpts(c)
			res := s.removeDoc(writeTarget{c: coll}, c.param("key"), "", o)
			if res.err != nil {
				c.fail(res.err)
				return
			}
			if kind == "vertex" {
				id := coll.Name + "/" + res.key
				for _, e := range g.EdgeDefinitions {
					ec := c.db.Collection(e.Collection)
					if ec == nil {
						continue
					}
					for _, d := range ec.Snapshot() {
						p, _ := parseDoc(d.Raw)
						if p != nil && (p.from == id || p.to == id) {
							_ = ec.RemoveKey(d.Key)
						}
					}
				}
			}
			out := map[string]any{"removed": true}
			if o.returnOld && res.oldDoc != nil {
				out["old"] = json.RawMessage(res.oldDoc.Raw)
			}
			c.ok(graphWriteStatus(o, false), out)
		})
	}
}

// graphDocOpts are the document options of a gharial request; the revision to match comes from
// If-Match or, as the gharial API also accepts, the rev query parameter.
func graphDocOpts(c *call) docOpts {
	o := c.docOpts()
	if o.ifMatch == "" {
		o.ifMatch = c.query("rev")
	}
	return o
}

// graphWriteStatus is the status of a gharial vertex/edge write, as RestGraphHandler answers:
// 202 without waitForSync; with it 201 for an insert, 200 for a replace, update or remove
// (the docs' "200: Returned if the vertex could be updated"; the driver accepts 200/202 there).
func graphWriteStatus(o docOpts, insert bool) int {
	switch {
	case !o.waitForSync:
		return 202
	case insert:
		return 201
	}
	return 200
}

func edgeAllowed(g *graphDef, coll, from, to string) bool {
	fc := from[:max(0, strings.IndexByte(from, '/'))]
	tc := to[:max(0, strings.IndexByte(to, '/'))]
	for _, e := range g.EdgeDefinitions {
		if e.Collection != coll {
			continue
		}
		okF, okT := false, false
		for _, f := range e.From {
			okF = okF || f == fc
		}
		for _, t := range e.To {
			okT = okT || t == tc
		}
		if okF && okT {
			return true
		}
	}
	return false
}
