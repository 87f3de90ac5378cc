package arangotest

import (
	"encoding/json"
	"strings"
)

// Named graphs on a Coordinator: the graph's sharding attributes (numberOfShards,
// replicationFactor incl. "satellite", writeConcern, isSmart, isDisjoint, smartGraphAttribute,
// satellites) are applied to the collections the graph creates and stored with the graph. The
// core gharial code does the rest; these handlers create the collections first (the core then
// finds them) and add the attributes to the stored definition and the answer.

type graphAttrs struct {
	NumberOfShards      *int     `json:"numberOfShards,omitempty"`
	ReplicationFactor   any      `json:"replicationFactor,omitempty"`
	WriteConcern        *int     `json:"writeConcern,omitempty"`
	IsSmart             *bool    `json:"isSmart,omitempty"`
	IsDisjoint          *bool    `json:"isDisjoint,omitempty"`
	IsSatellite         *bool    `json:"isSatellite,omitempty"`
	SmartGraphAttribute string   `json:"smartGraphAttribute,omitempty"`
	Satellites          []string `json:"-"`
}

// parseGraphAttrs reads the attributes from the top level and from "options" of a body.
func parseGraphAttrs(body []byte) graphAttrs {
	var top struct {
		graphAttrs
		Options struct {
			graphAttrs
			Satellites []string `json:"satellites"`
		} `json:"options"`
	}
	_ = json.Unmarshal(body, &top)
	a := top.graphAttrs
	o := top.Options
	if o.NumberOfShards != nil {
		a.NumberOfShards = o.NumberOfShards
	}
	if o.ReplicationFactor != nil {
		a.ReplicationFactor = o.ReplicationFactor
	}
	if o.WriteConcern != nil {
		a.WriteConcern = o.WriteConcern
	}
	if o.IsDisjoint != nil {
		a.IsDisjoint = o.IsDisjoint
	}
	if o.SmartGraphAttribute != "" {
		a.SmartGraphAttribute = o.SmartGraphAttribute
	}
	a.Satellites = o.Satellites
	if s, ok := a.ReplicationFactor.(string); ok && s == "satellite" {
		t := true
		a.IsSatellite = &t
	}
	return a
}

// collectionProps are the create properties of a graph collection.
func (a graphAttrs) collectionProps(name string) map[string]json.RawMessage {
	p := map[string]json.RawMessage{}
	sat := a.IsSatellite != nil && *a.IsSatellite
	for _, s := range a.Satellites {
		sat = sat || s == name
	}
	if sat {
		p["replicationFactor"] = mustJSON("satellite")
		return p
	}
	if a.NumberOfShards != nil && *a.NumberOfShards > 0 {
		p["numberOfShards"] = mustJSON(*a.NumberOfShards)
	}
	if f, ok := a.ReplicationFactor.(float64); ok && f > 0 {
		p["replicationFactor"] = mustJSON(int(f))
	}
	if a.WriteConcern != nil && *a.WriteConcern > 0 {
		p["writeConcern"] = mustJSON(*a.WriteConcern)
	}
	return p
}

// precreate creates the named collections that do not exist yet with the graph's properties.
func (cs *clusterState) precreate(db *Database, a graphAttrs, typ int, names ...string) {
	for _, n := range names {
		if n == "" || db.Collection(n) != nil || !validCollectionName(n, false) {
			continue
		}
		_, _ = db.CreateCollection(CollectionSpec{Name: n, Type: typ, Props: a.collectionProps(n)})
	}
}

// storedGraphAttrs reads the attributes kept with a graph.
func storedGraphAttrs(db *Database, name string) graphAttrs {
	var a graphAttrs
	if g := db.Collection("_graphs"); g != nil {
		if d := g.Lookup(name); d != nil {
			a = parseGraphAttrs(d.Raw)
			if a.IsSatellite != nil && !*a.IsSatellite {
				a.IsSatellite = nil
			}
		}
	}
	return a
}

// graphFields are the answer/storage fields for the attributes.
func (a graphAttrs) fields() map[string]any {
	m := map[string]any{}
	if a.NumberOfShards != nil {
		m["numberOfShards"] = *a.NumberOfShards
	}
	if a.ReplicationFactor != nil {
		m["replicationFactor"] = a.ReplicationFactor
	}
	if a.WriteConcern != nil {
		m["writeConcern"] = *a.WriteConcern
		m["minReplicationFactor"] = *a.WriteConcern
	}
	if a.IsSmart != nil {
		m["isSmart"] = *a.IsSmart
	}
	if a.IsDisjoint != nil {
		m["isDisjoint"] = *a.IsDisjoint
	}
	if a.IsSatellite != nil {
		m["isSatellite"] = *a.IsSatellite
	}
	if a.SmartGraphAttribute != "" {
		m["smartGraphAttribute"] = a.SmartGraphAttribute
	}
	return m
}

func (s *Server) registerClusterGraphRoutes(r *router) {
	cs := s.cluster
	r.handle("POST", "/_api/gharial", func(c *call) {
		var in struct {
			Name            string    `json:"name"`
			EdgeDefinitions []edgeDef `json:"edgeDefinitions"`
			Orphans         []string  `json:"orphanCollections"`
		}
		_ = json.Unmarshal(c.body, &in)
		if in.Name == "" {
			s.coreRoute(c)
			return
		}
		if g, _ := s.loadGraph(c.db, in.Name); g != nil {
			s.coreRoute(c) // the core answers "graph already exists"
			return
		}
		a := parseGraphAttrs(c.body)
		for _, e := range in.EdgeDefinitions {
			cs.precreate(c.db, a, 3, e.Collection)
			cs.precreate(c.db, a, 2, e.From...)
			cs.precreate(c.db, a, 2, e.To...)
		}
		cs.precreate(c.db, a, 2, in.Orphans...)
		ok := false
		s.patchCore(c, func(m map[string]any) {
			ok = true
			if g, isMap := m["graph"].(map[string]any); isMap {
				for k, v := range a.fields() {
					g[k] = v
				}
			}
		})
		if ok {
			cs.storeGraphAttrs(c.db, in.Name, a)
		}
	})
	r.handle("POST", "/_api/gharial/{graph}/vertex", func(c *call) {
		var in struct {
			Collection string `json:"collection"`
		}
		_ = json.Unmarshal(c.body, &in)
		a := storedGraphAttrs(c.db, c.param("graph"))
		a.Satellites = parseGraphAttrs(c.body).Satellites
		if _, exists := s.loadGraph(c.db, c.param("graph")); exists != nil {
			cs.precreate(c.db, a, 2, in.Collection)
		}
		s.coreRoute(c)
	})
	edge := func(c *call) {
		var in edgeDef
		_ = json.Unmarshal(c.body, &in)
		if in.Collection == "" {
			in.Collection = c.param("coll")
		}
		a := storedGraphAttrs(c.db, c.param("graph"))
		a.Satellites = parseGraphAttrs(c.body).Satellites
		// An edge collection touching a satellite vertex collection is created as a satellite
		// too (what the driver's satellite tests expect of an Enterprise server).
		for _, v := range append(append([]string{}, in.From...), in.To...) {
			if clusterIndexOf(a.Satellites, v) >= 0 {
				a.Satellites = append(a.Satellites, in.Collection)
				break
			}
		}
		if _, exists := s.loadGraph(c.db, c.param("graph")); exists != nil {
			cs.precreate(c.db, a, 3, in.Collection)
			cs.precreate(c.db, a, 2, in.From...)
			cs.precreate(c.db, a, 2, in.To...)
		}
		s.coreRoute(c)
	}
	r.handle("POST", "/_api/gharial/{graph}/edge", edge)
	r.handle("PUT", "/_api/gharial/{graph}/edge/{coll}", edge)
}

// storeGraphAttrs merges the attributes into the stored graph definition.
func (cs *clusterState) storeGraphAttrs(db *Database, name string, a graphAttrs) {
	g := db.Collection("_graphs")
	if g == nil {
		return
	}
	d := g.Lookup(name)
	if d == nil {
		return
	}
	var m map[string]any
	if json.Unmarshal(d.Raw, &m) != nil {
		return
	}
	f := a.fields()
	if len(f) == 0 {
		return
	}
	for k, v := range f {
		m[k] = v
	}
	delete(m, "_id")
	if !strings.HasPrefix(name, "_") {
		_ = g.RestoreDocument(mustJSON(m))
	}
}
