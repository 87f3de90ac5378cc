package arangotest

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// defaultConsolidation returns the default tier consolidation policy of the server version.
func (st *Store) defaultConsolidation() map[string]any {
	if st.versionAtLeast(3, 12, 7) {
		return map[string]any{"type": "tier", "segmentsBytesMax": 8589934592.0, "maxSkewThreshold": 0.4, "minDeletionRatio": 0.5}
	}
	return map[string]any{"type": "tier", "segmentsBytesFloor": 2097152.0, "segmentsBytesMax": 5368709120.0,
		"segmentsMax": 10.0, "segmentsMin": 1.0, "minScore": 0.0}
}

func normalizeConsolidation(st *Store, v any) map[string]any {
	m, ok := v.(map[string]any)
	if !ok {
		return st.defaultConsolidation()
	}
	out := map[string]any{}
	typ, _ := m["type"].(string)
	if typ == "bytes_accum" {
		out["type"] = "bytes_accum"
		out["threshold"] = numOr(m, "threshold", 0)
		return out
	}
	for k, v := range st.defaultConsolidation() {
		out[k] = v
	}
	for k, v := range m {
		if _, ok := out[k]; ok {
			out[k] = v
		}
	}
	out["type"] = "tier"
	return out
}

// normalizeLink returns the normalized form of an arangosearch link (or nested field).
func normalizeLink(m map[string]any, top bool) map[string]any {
	out := map[string]any{}
	if a, ok := m["analyzers"].([]any); ok {
		out["analyzers"] = a
	} else if top {
		out["analyzers"] = []any{"identity"}
	}
	fields := map[string]any{}
	if f, ok := m["fields"].(map[string]any); ok {
		for k, v := range f {
			fm, _ := v.(map[string]any)
			if fm == nil {
				fm = map[string]any{}
			}
			fields[k] = normalizeLink(fm, false)
		}
	}
	if top || len(fields) > 0 {
		out["fields"] = fields
	}
	for _, k := range []string{"includeAllFields", "trackListPositions"} {
		if v, ok := m[k].(bool); ok {
			out[k] = v
		} else if top {
			out[k] = false
		}
	}
	if v, ok := m["storeValues"].(string); ok {
		out["storeValues"] = v
	} else if top {
		out["storeValues"] = "none"
	}
	if v, ok := m["cache"].(bool); ok && v {
		out["cache"] = true // a false cache flag is not echoed
	}
	for _, k := range []string{"nested"} {
		if v, ok := m[k]; ok {
			if k == "nested" {
				if nm, ok := v.(map[string]any); ok {
					nn := map[string]any{}
					for nk, nv := range nm {
						fm, _ := nv.(map[string]any)
						if fm == nil {
							fm = map[string]any{}
						}
						nn[nk] = normalizeLink(fm, false)
					}
					out["nested"] = nn
					continue
				}
			}
			out[k] = v
		}
	}
	return out
}

// normalizeViewProps builds the stored properties of a view from a create/PUT/PATCH body.
func (db *Database) normalizeViewProps(typ string, in map[string]any, cur map[string]any, partial bool) (map[string]any, error) {
	st := db.st
	if typ == "search-alias" {
		var idx []any
		if partial && cur != nil {
			idx, _ = cur["indexes"].([]any)
		}
		add, _ := in["indexes"].([]any)
		if !partial {
			idx = nil
		}
		for _, e := range add {
			m, _ := e.(map[string]any)
			if m == nil {
				return nil, newError(400, 10, "invalid indexes entry")
			}
			coll, _ := m["collection"].(string)
			index, _ := m["index"].(string)
			c := db.Collection(coll)
			if c == nil {
				return nil, errCollectionNotFound(coll)
			}
			ix := c.Index(index)
			if ix == nil {
				return nil, errIndexNotFound()
			}
			if ix.Type != "inverted" {
				return nil, newError(400, 10, "index '"+index+"' is not an inverted index")
			}
			op, _ := m["operation"].(string)
			entry := map[string]any{"collection": coll, "index": ix.Name}
			// remove existing identical entry
			out := idx[:0:0]
			for _, x := range idx {
				xm, _ := x.(map[string]any)
				if xm != nil && xm["collection"] == coll && xm["index"] == ix.Name {
					continue
				}
				out = append(out, x)
			}
			idx = out
			if op != "del" {
				idx = append(idx, entry)
			}
		}
		if idx == nil {
			idx = []any{}
		}
		return map[string]any{"indexes": idx}, nil
	}
	// arangosearch
	out := map[string]any{
		"cleanupIntervalStep": 2.0, "commitIntervalMsec": 1000.0, "consolidationIntervalMsec": 1000.0,
		"consolidationPolicy": st.defaultConsolidation(), "primarySort": []any{}, "primarySortCompression": "lz4",
		"storedValues": []any{}, "writebufferActive": 0.0, "writebufferIdle": 64.0, "writebufferSizeMax": 33554432.0,
		"links": map[string]any{},
	}
	if st.versionAtLeast(3, 12, 0) {
		out["optimizeTopK"] = []any{}
	}
	if cur != nil {
		// immutable ones always stay; mutable ones stay on PATCH
		for _, k := range []string{"primarySort", "primarySortCompression", "storedValues", "optimizeTopK", "writebufferActive",
			"writebufferIdle", "writebufferSizeMax", "primarySortCache", "primaryKeyCache"} {
			if v, ok := cur[k]; ok {
				out[k] = v
			}
		}
		if partial {
			for k, v := range cur {
				out[k] = v
			}
		}
	}
	for _, k := range []string{"cleanupIntervalStep", "commitIntervalMsec", "consolidationIntervalMsec"} {
		if v, ok := in[k].(float64); ok {
			out[k] = v
		}
	}
	if v, ok := in["consolidationPolicy"]; ok {
		out["consolidationPolicy"] = normalizeConsolidation(st, v)
	}
	if cur == nil {
		for _, k := range []string{"writebufferActive", "writebufferIdle", "writebufferSizeMax"} {
			if v, ok := in[k].(float64); ok {
				out[k] = v
			}
		}
		if v, ok := in["primarySort"].([]any); ok {
			ps := make([]any, 0, len(v))
			for _, e := range v {
				m, _ := e.(map[string]any)
				if m == nil {
					return nil, newError(400, 10, "invalid primarySort")
				}
				f, _ := m["field"].(string)
				asc, hasAsc := m["asc"].(bool)
				if !hasAsc {
					dir, ok := m["direction"].(string)
					if !ok || (strings.ToLower(dir) != "asc" && strings.ToLower(dir) != "desc") {
						return nil, newError(400, 10, "failed to parse primarySort: missing 'asc' or 'direction'")
					}
					asc = strings.ToLower(dir) == "asc"
				}
				ps = append(ps, map[string]any{"field": f, "asc": asc})
			}
			out["primarySort"] = ps
		}
		if v, ok := in["primarySortCompression"].(string); ok {
			out["primarySortCompression"] = v
		}
		if v, ok := in["storedValues"].([]any); ok {
			out["storedValues"] = normalizeStoredValues(v)
		}
		if v, ok := in["optimizeTopK"].([]any); ok {
			out["optimizeTopK"] = v
		}
		for _, k := range []string{"primarySortCache", "primaryKeyCache"} {
			if v, ok := in[k].(bool); ok {
				out[k] = v
			}
		}
	}
	links := map[string]any{}
	if partial && cur != nil {
		if l, ok := cur["links"].(map[string]any); ok {
			for k, v := range l {
				links[k] = v
			}
		}
	}
	if l, ok := in["links"].(map[string]any); ok {
		for coll, lv := range l {
			if lv == nil {
				delete(links, coll)
				continue
			}
			if db.Collection(coll) == nil {
				return nil, errCollectionNotFound(coll)
			}
			m, _ := lv.(map[string]any)
			if m == nil {
				return nil, newError(400, 10, "invalid link definition for collection '"+coll+"'")
			}
			links[coll] = normalizeLink(m, true)
		}
	}
	out["links"] = links
	return out, nil
}

// normalizeInverted fills an inverted index definition with the server's defaults.
func normalizeInverted(in map[string]any, ix *Index) error {
	st := ix.coll.db.st
	fl, ok := in["fields"].([]any)
	if !ok || len(fl) == 0 {
		if !boolOr(in, "includeAllFields", false) {
			return newError(400, 10, "inverted index: fields must be non-empty")
		}
	}
	fields := make([]any, 0, len(fl))
	for _, f := range fl {
		switch t := f.(type) {
		case string:
			fields = append(fields, map[string]any{"name": t})
			ix.Fields = append(ix.Fields, t)
		case map[string]any:
			if n, _ := t["name"].(string); n == "" {
				return newError(400, 10, "inverted index: field without name")
			}
			fields = append(fields, t)
			ix.Fields = append(ix.Fields, t["name"].(string))
		default:
			return newError(400, 10, "inverted index: invalid field")
		}
	}
	ix.fieldsRaw = fields
	d := ix.def
	d["analyzer"] = "identity"
	if a, ok := in["analyzer"].(string); ok {
		d["analyzer"] = a
	}
	if f, ok := in["features"].([]any); ok {
		d["features"] = f
	} else {
		d["features"] = []any{"frequency", "norm"}
	}
	d["cleanupIntervalStep"] = numOr(in, "cleanupIntervalStep", 2)
	d["commitIntervalMsec"] = numOr(in, "commitIntervalMsec", 1000)
	d["consolidationIntervalMsec"] = numOr(in, "consolidationIntervalMsec", 1000)
	d["consolidationPolicy"] = normalizeConsolidation(st, in["consolidationPolicy"])
	d["includeAllFields"] = boolOr(in, "includeAllFields", false)
	d["searchField"] = boolOr(in, "searchField", false)
	d["trackListPositions"] = boolOr(in, "trackListPositions", false)
	d["writebufferActive"] = numOr(in, "writebufferActive", 0)
	d["writebufferIdle"] = numOr(in, "writebufferIdle", 64)
	d["writebufferSizeMax"] = numOr(in, "writebufferSizeMax", 33554432)
	d["version"] = numOr(in, "version", 1)
	if v, ok := in["optimizeTopK"].([]any); ok {
		d["optimizeTopK"] = v
	} else {
		d["optimizeTopK"] = []any{}
	}
	ps := map[string]any{"fields": []any{}, "compression": "lz4"}
	if p, ok := in["primarySort"].(map[string]any); ok {
		if f, ok := p["fields"].([]any); ok {
			nf := make([]any, 0, len(f))
			for _, e := range f {
				m, _ := e.(map[string]any)
				if m == nil {
					continue
				}
				asc := true
				if a, ok := m["asc"].(bool); ok {
					asc = a
				} else if dir, ok := m["direction"].(string); ok {
					asc = strings.ToLower(dir) == "asc"
				}
				nf = append(nf, map[string]any{"field": m["field"], "asc": asc})
			}
			ps["fields"] = nf
		}
		if c, ok := p["compression"].(string); ok {
			ps["compression"] = c
		}
		if c, ok := p["cache"].(bool); ok {
			ps["cache"] = c
		}
	}
	d["primarySort"] = ps
	if sv, ok := in["storedValues"].([]any); ok {
		d["storedValues"] = normalizeStoredValues(sv)
	} else {
		d["storedValues"] = []any{}
	}
	for _, k := range []string{"parallelism", "cache", "primaryKeyCache", "nested"} {
		if v, ok := in[k]; ok {
			d[k] = v
		}
	}
	ix.Sparse, ix.Unique = true, false
	return nil
}

// validCollectionName checks a collection/view name (extended names, 3.12 default).
// normalizeStoredValues gives storedValues (of an arangosearch view or an inverted index) as
// the server reports them: each entry an object with its fields and compression (lz4 unless
// given) and, when given, cache; a bare array of fields is such an object's fields.
func normalizeStoredValues(v []any) []any {
	out := make([]any, 0, len(v))
	for _, e := range v {
		switch t := e.(type) {
		case map[string]any:
			m := map[string]any{"fields": t["fields"], "compression": "lz4"}
			if c, ok := t["compression"].(string); ok {
				m["compression"] = c
			}
			if c, ok := t["cache"].(bool); ok {
				m["cache"] = c
			}
			out = append(out, m)
		case []any:
			out = append(out, map[string]any{"fields": t, "compression": "lz4"})
		}
	}
	return out
}

func validCollectionName(s string, system bool) bool {
	if s == "" || len(s) > 256 || !utf8.ValidString(s) {
		return false
	}
	if strings.ContainsAny(s, "/:") {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	if s[0] == '_' {
		return system
	}
	c := s[0]
	if c == '.' || c == ' ' || (c >= '0' && c <= '9') || s[len(s)-1] == ' ' {
		return false
	}
	return norm.NFC.IsNormalString(s)
}

// validateSchemaDef checks a collection schema value.
func validateSchemaDef(v json.RawMessage) error {
	if rawKind(v) == 'n' {
		return nil
	}
	var s struct {
		Rule    any     `json:"rule"`
		Level   *string `json:"level"`
		Message *string `json:"message"`
	}
	if err := json.Unmarshal(v, &s); err != nil {
		return newError(400, 1621, "invalid schema validation parameter")
	}
	if rawKind(v) == 'o' && string(v) == "{}" {
		return nil
	}
	if _, ok := s.Rule.(map[string]any); !ok {
		return newError(400, 1621, "invalid schema validation parameter: rule must be an object")
	}
	if s.Level != nil {
		switch *s.Level {
		case "none", "new", "moderate", "strict":
		default:
			return newError(400, 1621, "invalid schema validation parameter: level")
		}
	}
	return nil
}

// normalizeComputedValues fills defaults of computed value definitions.
func normalizeComputedValues(v json.RawMessage) (json.RawMessage, error) {
	if rawKind(v) == 'n' {
		return json.RawMessage("null"), nil
	}
	var in []map[string]any
	if err := json.Unmarshal(v, &in); err != nil {
		return nil, newError(400, 10, "invalid computedValues")
	}
	for _, cv := range in {
		if n, _ := cv["name"].(string); n == "" {
			return nil, newError(400, 10, "invalid computedValues: name missing")
		}
		if e, _ := cv["expression"].(string); e == "" {
			return nil, newError(400, 10, "invalid computedValues: expression missing")
		}
		if _, ok := cv["computeOn"]; !ok {
			cv["computeOn"] = []any{"insert", "update", "replace"}
		}
		if _, ok := cv["overwrite"]; !ok {
			cv["overwrite"] = false
		}
		if _, ok := cv["keepNull"]; !ok {
			cv["keepNull"] = true
		}
		if _, ok := cv["failOnWarning"]; !ok {
			cv["failOnWarning"] = false
		}
	}
	b, _ := json.Marshal(in)
	return b, nil
}
