package arangotest

import (
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

func itoa(u uint64) string { return strconv.FormatUint(u, 10) }

func (s *Server) routeViews(r *router) {
	r.handle("POST", "/_api/view", func(c *call) {
		var in map[string]any
		if err := json.Unmarshal(c.body, &in); err != nil || in == nil {
			c.error(400, 600, "invalid JSON")
			return
		}
		v, err := c.db.createView(in, false, false)
		if err != nil {
			c.fail(err)
			return
		}
		c.json(201, v.Definition())
	})
	r.handle("GET", "/_api/view", func(c *call) {
		out := []any{}
		for _, v := range c.db.Views() {
			out = append(out, v.basicInfo())
		}
		c.okResult(200, out)
	})
	view := func(c *call) *View {
		v := c.db.View(c.param("view"))
		if v == nil {
			c.fail(errCollectionNotFound(c.param("view")))
		}
		return v
	}
	r.handle("GET", "/_api/view/{view}", func(c *call) {
		if v := view(c); v != nil {
			c.ok(200, v.basicInfo())
		}
	})
	r.handle("GET", "/_api/view/{view}/properties", func(c *call) {
		if v := view(c); v != nil {
			c.ok(200, v.Definition())
		}
	})
	upd := func(partial bool) func(c *call) {
		return func(c *call) {
			v := view(c)
			if v == nil {
				return
			}
			var in map[string]any
			if err := json.Unmarshal(c.body, &in); err != nil || in == nil {
				c.error(400, 600, "invalid JSON")
				return
			}
			if err := v.update(in, partial); err != nil {
				c.fail(err)
				return
			}
			c.json(200, v.Definition())
		}
	}
	r.handle("PUT", "/_api/view/{view}/properties", upd(false))
	r.handle("PATCH", "/_api/view/{view}/properties", upd(true))
	r.handle("PUT", "/_api/view/{view}/rename", func(c *call) {
		v := view(c)
		if v == nil {
			return
		}
		var in struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(c.body, &in)
		if err := c.db.renameView(v, in.Name); err != nil {
			c.fail(err)
			return
		}
		c.ok(200, v.basicInfo())
	})
	r.handle("DELETE", "/_api/view/{view}", func(c *call) {
		v := view(c)
		if v == nil {
			return
		}
		c.db.dropView(v)
		c.okResult(200, true)
	})
}

// --- analyzers --------------------------------------------------------------------------

var builtinAnalyzers = func() []map[string]any {
	out := []map[string]any{{"name": "identity", "type": "identity", "properties": map[string]any{}, "features": []any{"frequency", "norm"}}}
	for _, l := range []string{"de", "en", "es", "fi", "fr", "it", "nl", "no", "pt", "ru", "sv", "zh"} {
		out = append(out, map[string]any{"name": "text_" + l, "type": "text",
			"properties": map[string]any{"locale": l, "case": "lower", "stopwords": []any{}, "accent": false, "stemming": true},
			"features":   []any{"frequency", "position", "norm"}})
	}
	return out
}()

func builtinAnalyzer(name string) map[string]any {
	for _, a := range builtinAnalyzers {
		if a["name"] == name {
			return a
		}
	}
	return nil
}

var analyzerNameRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_-]*$`)

var analyzerTypes = map[string]bool{"identity": true, "delimiter": true, "multi_delimiter": true, "stem": true, "norm": true,
	"ngram": true, "text": true, "aql": true, "pipeline": true, "stopwords": true, "collation": true, "segmentation": true,
	"geojson": true, "geopoint": true, "geo_s2": true, "minhash": true, "classification": true, "nearest_neighbors": true,
	"wildcard": true}

func normalizeAnalyzerProps(typ string, props map[string]any) map[string]any {
	if props == nil {
		props = map[string]any{}
	}
	switch typ {
	case "ngram":
		for k, v := range map[string]any{"startMarker": "", "endMarker": "", "streamType": "binary"} {
			if _, ok := props[k]; !ok {
				props[k] = v
			}
		}
	case "geopoint":
		for _, k := range []string{"latitude", "longitude"} {
			if _, ok := props[k]; !ok {
				props[k] = []any{}
			}
		}
	case "collation":
		if l, ok := props["locale"].(string); ok {
			if i := strings.IndexByte(l, '.'); i >= 0 {
				props["locale"] = l[:i]
			}
		}
	}
	return props
}

// analyzerDoc is one stored analyzer.
func analyzerFromDoc(raw []byte) map[string]any {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	out := map[string]any{"name": m["name"], "type": m["type"], "properties": m["properties"], "features": m["features"]}
	if out["properties"] == nil {
		out["properties"] = map[string]any{}
	}
	if out["features"] == nil {
		out["features"] = []any{}
	}
	return out
}

func (s *Server) dbAnalyzers(db *Database) []map[string]any {
	coll := db.Collection("_analyzers")
	if coll == nil {
		return nil
	}
	var out []map[string]any
	for _, d := range coll.Snapshot() {
		if a := analyzerFromDoc(d.Raw); a != nil {
			a["name"] = db.Name + "::" + toStr(a["name"])
			out = append(out, a)
		}
	}
	return out
}

// splitAnalyzerName returns the database and bare name of an analyzer reference.
func splitAnalyzerName(cur, name string) (db, bare string) {
	if i := strings.Index(name, "::"); i >= 0 {
		db = name[:i]
		if db == "" {
			db = "_system"
		}
		return db, name[i+2:]
	}
	return "", name
}

func (s *Server) routeAnalyzers(r *router) {
	r.handle("GET", "/_api/analyzer", func(c *call) {
		out := []any{}
		for _, a := range builtinAnalyzers {
			out = append(out, a)
		}
		if sys := s.store.Database("_system"); sys != nil {
			for _, a := range s.dbAnalyzers(sys) {
				out = append(out, a)
			}
		}
		if c.db.Name != "_system" {
			for _, a := range s.dbAnalyzers(c.db) {
				out = append(out, a)
			}
		}
		c.okResult(200, out)
	})
	find := func(c *call, name string) map[string]any {
		dbn, bare := splitAnalyzerName(c.db.Name, name)
		if dbn == "" {
			if b := builtinAnalyzer(bare); b != nil {
				return b
			}
			dbn = c.db.Name
		}
		db := s.store.Database(dbn)
		if db == nil {
			return nil
		}
		coll := db.Collection("_analyzers")
		if coll == nil {
			return nil
		}
		if d := coll.Lookup(bare); d != nil {
			a := analyzerFromDoc(d.Raw)
			a["name"] = dbn + "::" + bare
			return a
		}
		return nil
	}
	r.handle("GET", "/_api/analyzer/{name}", func(c *call) {
		a := find(c, c.param("name"))
		if a == nil {
			c.error(404, 1202, "unable to find analyzer: "+c.db.Name+"::"+c.param("name"))
			return
		}
		c.ok(200, a)
	})
	r.handle("POST", "/_api/analyzer", func(c *call) {
		var in struct {
			Name       string         `json:"name"`
			Type       string         `json:"type"`
			Properties map[string]any `json:"properties"`
			Features   []any          `json:"features"`
		}
		if err := json.Unmarshal(c.body, &in); err != nil {
			c.error(400, 600, "invalid JSON")
			return
		}
		dbn, bare := splitAnalyzerName(c.db.Name, in.Name)
		if dbn != "" && dbn != c.db.Name {
			c.error(403, 11, "forbidden")
			return
		}
		if !analyzerNameRE.MatchString(bare) {
			c.error(400, 10, "invalid characters in analyzer name '"+bare+"'")
			return
		}
		if !analyzerTypes[in.Type] {
			c.error(400, 10, "unknown analyzer type '"+in.Type+"'")
			return
		}
		if (in.Type == "geo_s2" || in.Type == "minhash") && s.license != "enterprise" {
			c.error(400, 10, "analyzer type '"+in.Type+"' requires the Enterprise Edition")
			return
		}
		if in.Features == nil {
			in.Features = []any{}
		}
		for _, f := range in.Features {
			switch f {
			case "frequency", "norm", "position", "offset":
			default:
				c.error(400, 10, "invalid analyzer feature")
				return
			}
		}
		props := normalizeAnalyzerProps(in.Type, in.Properties)
		def := map[string]any{"name": c.db.Name + "::" + bare, "type": in.Type, "properties": props, "features": in.Features}
		if b := builtinAnalyzer(bare); b != nil {
			c.error(400, 10, "analyzer name collides with a built-in analyzer")
			return
		}
		if ex := find(c, bare); ex != nil {
			if ex["type"] == in.Type && canonicalAny(toAny(ex["properties"])) == canonicalAny(toAny(props)) &&
				canonicalAny(sortedStrings(toAny(ex["features"]))) == canonicalAny(sortedStrings(toAny(in.Features))) {
				c.json(200, ex)
				return
			}
			c.error(400, 10, "Name collision detected")
			return
		}
		coll := c.db.Collection("_analyzers")
		doc := map[string]any{"_key": bare, "name": bare, "type": in.Type, "properties": props, "features": in.Features,
			"revision": 0}
		if err := coll.RestoreDocument(mustJSON(doc)); err != nil {
			c.fail(err)
			return
		}
		c.json(201, def)
	})
	r.handle("DELETE", "/_api/analyzer/{name}", func(c *call) {
		dbn, bare := splitAnalyzerName(c.db.Name, c.param("name"))
		if dbn == "" && builtinAnalyzer(bare) != nil {
			c.error(403, 11, "built-in analyzers cannot be removed")
			return
		}
		if dbn == "" {
			dbn = c.db.Name
		}
		if dbn != c.db.Name {
			c.error(403, 11, "forbidden")
			return
		}
		coll := c.db.Collection("_analyzers")
		if coll == nil || coll.Lookup(bare) == nil {
			c.error(404, 1202, "unable to find analyzer: "+dbn+"::"+bare)
			return
		}
		if !c.qbool("force", false) && s.analyzerInUse(c.db, bare) {
			c.error(409, 1200, "analyzer in use")
			return
		}
		_ = coll.RemoveKey(bare)
		c.ok(200, map[string]any{"name": dbn + "::" + bare})
	})
}

func sortedStrings(v any) any {
	l, ok := v.([]any)
	if !ok {
		return v
	}
	ss := make([]string, 0, len(l))
	for _, x := range l {
		ss = append(ss, toStr(x))
	}
	sort.Strings(ss)
	out := make([]any, len(ss))
	for i, x := range ss {
		out[i] = x
	}
	return out
}

func (s *Server) analyzerInUse(db *Database, name string) bool {
	needle := []string{`"` + name + `"`, `"` + db.Name + "::" + name + `"`}
	for _, v := range db.Views() {
		b := mustJSON(v.Definition())
		for _, n := range needle {
			if strings.Contains(string(b), n) {
				return true
			}
		}
	}
	for _, c := range db.Collections() {
		for _, ix := range c.Indexes() {
			if ix.Type != "inverted" {
				continue
			}
			b := mustJSON(ix.Definition(false))
			for _, n := range needle {
				if strings.Contains(string(b), n) {
					return true
				}
			}
		}
	}
	return false
}
