package arangotest

import (
	"encoding/json"
	"maps"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Index is a collection index: its definition, and for unique persistent indexes the
// value -> key map that enforces uniqueness.
type Index struct {
	coll   *Collection
	ID     uint64
	Name   string
	Type   string
	Fields []string
	Unique bool
	Sparse bool
	// def holds the normalized type-specific attributes (everything except id, name, type,
	// fields, unique, sparse), echoed in responses.
	def map[string]any
	// fieldsRaw is the "fields" value when it is not a list of strings (inverted indexes).
	fieldsRaw any
	dedup     bool
	uniq      map[string]string
	paths     [][]string // parsed field paths; "[*]" kept as its own element
}

func (ix *Index) tracked() bool {
	return ix.Unique && (ix.Type == "persistent" || ix.Type == "hash" || ix.Type == "skiplist" || ix.Type == "mdi" || ix.Type == "mdi-prefixed" || ix.Type == "zkd")
}

func (ix *Index) reset() {
	if ix.uniq != nil {
		ix.uniq = map[string]string{}
	}
}

func parsePath(f string) []string {
	var out []string
	for _, p := range strings.Split(f, ".") {
		if strings.HasSuffix(p, "[*]") {
			out = append(out, strings.TrimSuffix(p, "[*]"), "[*]")
		} else {
			out = append(out, p)
		}
	}
	return out
}

// values returns the canonical values of one field path in raw; nil slice entry = missing.
func fieldValues(raw []byte, path []string) (vals []string, missing bool) {
	for i, p := range path {
		if p == "[*]" {
			if rawKind(raw) != 'a' {
				return nil, true
			}
			rest := path[i+1:]
			_ = scanArray(raw, func(_ int, v []byte) error {
				if len(rest) == 0 {
					vals = append(vals, canonicalValue(v))
				} else if sub, miss := fieldValues(v, rest); !miss {
					vals = append(vals, sub...)
				}
				return nil
			})
			if len(vals) == 0 {
				return nil, true
			}
			return vals, false
		}
		if p == "" {
			continue
		}
		raw = lookupPath(raw, []string{p})
		if raw == nil {
			return nil, true
		}
	}
	if rawKind(raw) == 'n' {
		return nil, true
	}
	return []string{canonicalValue(raw)}, false
}

// entries returns the index keys of a document (nil for a sparse index skipping it).
func (ix *Index) entries(raw []byte) ([]string, error) {
	if ix.paths == nil {
		for _, f := range ix.Fields {
			ix.paths = append(ix.paths, parsePath(f))
		}
	}
	keys := []string{""}
	for _, p := range ix.paths {
		vals, missing := fieldValues(raw, p)
		if missing {
			if ix.Sparse {
				return nil, nil
			}
			vals = []string{"n"}
		}
		next := make([]string, 0, len(keys)*len(vals))
		for _, k := range keys {
			for _, v := range vals {
				next = append(next, k+"\x00"+v)
			}
		}
		keys = next
	}
	if ix.dedup && len(keys) > 1 {
		sort.Strings(keys)
		out := keys[:1]
		for _, k := range keys[1:] {
			if k != out[len(out)-1] {
				out = append(out, k)
			}
		}
		keys = out
	}
	return keys, nil
}

func (ix *Index) uniqueError(conflictKey string) *ArangoError {
	return newError(409, 1210, "unique constraint violated - in index "+ix.Name+" of type "+ix.Type+
		" over '"+strings.Join(ix.Fields, ", ")+"'; conflicting key: "+conflictKey)
}

func (ix *Index) checkUnique(vals []string, key string) error {
	for i, v := range vals {
		if other, ok := ix.uniq[v]; ok && other != key {
			return ix.uniqueError(other)
		}
		for _, w := range vals[:i] {
			if w == v {
				return ix.uniqueError(key)
			}
		}
	}
	return nil
}

func (ix *Index) add(vals []string, key string) {
	if ix.uniq == nil {
		ix.uniq = map[string]string{}
	}
	for _, v := range vals {
		ix.uniq[v] = key
	}
}

func (ix *Index) remove(vals []string, key string) {
	for _, v := range vals {
		if ix.uniq[v] == key {
			delete(ix.uniq, v)
		}
	}
}

// Definition returns the index description. withCollectionPrefix selects the API form
// ("coll/123" id, selectivityEstimate) instead of the inventory form (bare id).
func (ix *Index) Definition(withCollectionPrefix bool) map[string]any {
	m := map[string]any{"type": ix.Type, "name": ix.Name, "unique": ix.Unique, "sparse": ix.Sparse}
	if ix.fieldsRaw != nil {
		m["fields"] = ix.fieldsRaw
	} else {
		m["fields"] = ix.Fields
	}
	maps.Copy(m, ix.def)
	if withCollectionPrefix {
		m["id"] = ix.coll.Name + "/" + strconv.FormatUint(ix.ID, 10)
		switch ix.Type {
		case "primary", "edge", "persistent":
			if ix.Type != "persistent" || ix.def["estimates"] == true {
				m["selectivityEstimate"] = 1
			}
		}
	} else {
		m["id"] = strconv.FormatUint(ix.ID, 10)
	}
	return m
}

// Indexes returns all indexes, primary (and edge) first.
func (c *Collection) Indexes() []*Index {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]*Index(nil), c.indexes...)
}

// Index finds an index by numeric id or name.
func (c *Collection) Index(idOrName string) *Index {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, ix := range c.indexes {
		if ix.Name == idOrName || strconv.FormatUint(ix.ID, 10) == idOrName {
			return ix
		}
	}
	return nil
}

// DropIndex removes an index by id or name.
func (c *Collection) DropIndex(idOrName string) (*Index, error) {
	c.mu.Lock()
	var found *Index
	for i, ix := range c.indexes {
		if ix.Name == idOrName || strconv.FormatUint(ix.ID, 10) == idOrName {
			if ix.Type == "primary" || ix.Type == "edge" {
				c.mu.Unlock()
				return nil, newError(403, 1212, "cannot drop index of type "+ix.Type)
			}
			found = ix
			c.indexes = append(c.indexes[:i:i], c.indexes[i+1:]...)
			break
		}
	}
	c.mu.Unlock()
	if found == nil {
		return nil, errIndexNotFound()
	}
	c.db.st.WAL.append(Marker{Tick: c.db.st.NextTick(), Type: 2101, DB: c.db.Name, CID: c.ID, CUID: c.GUID,
		Data: mustJSON(map[string]any{"id": strconv.FormatUint(found.ID, 10)})})
	return found, nil
}

func boolOr(m map[string]any, k string, def bool) bool {
	if v, ok := m[k].(bool); ok {
		return v
	}
	return def
}

func numOr(m map[string]any, k string, def float64) float64 {
	if v, ok := m[k].(float64); ok {
		return v
	}
	return def
}

func validIndexName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	if strings.ContainsAny(s, "/:") {
		return false
	}
	c := s[0]
	return !(c >= '0' && c <= '9') && c != '_' && c != ' ' && c != '.'
}

// EnsureIndex creates an index from a definition (create body or inventory entry). It returns
// the existing index and false when an equivalent one exists.
func (c *Collection) EnsureIndex(defRaw []byte) (*Index, bool, error) {
	var in map[string]any
	dec := json.NewDecoder(strings.NewReader(string(defRaw)))
	if err := dec.Decode(&in); err != nil || in == nil {
		return nil, false, newError(400, 10, "expecting object for index definition")
	}
	typ, _ := in["type"].(string)
	if typ == "" {
		return nil, false, newError(400, 10, "invalid index type")
	}
	st0 := c.db.st
	if ((typ == "mdi" || typ == "mdi-prefixed") && !st0.versionAtLeast(3, 12, 0)) || (typ == "vector" && !st0.versionAtLeast(3, 12, 4)) {
		return nil, false, newError(400, 10, "invalid index type '"+typ+"'")
	}
	ix := &Index{coll: c, Type: typ, def: map[string]any{}}
	if typ == "hash" || typ == "skiplist" {
		ix.Type = "persistent"
	}
	if typ == "zkd" {
		ix.Type = "zkd"
	}
	ix.Unique = boolOr(in, "unique", false)
	ix.Sparse = boolOr(in, "sparse", false)
	if typ != "inverted" {
		fl, _ := in["fields"].([]any)
		for _, f := range fl {
			s, ok := f.(string)
			if !ok || s == "" {
				return nil, false, newError(400, 10, "invalid index field")
			}
			ix.Fields = append(ix.Fields, s)
		}
	}
	d := ix.def
	switch ix.Type {
	case "primary", "edge":
		return nil, false, newError(400, 10, "cannot create index of type "+ix.Type)
	case "persistent":
		if len(ix.Fields) == 0 {
			return nil, false, newError(400, 10, "fields must be non-empty")
		}
		ix.dedup = boolOr(in, "deduplicate", true)
		d["deduplicate"] = ix.dedup
		d["estimates"] = boolOr(in, "estimates", true)
		d["cacheEnabled"] = boolOr(in, "cacheEnabled", false)
		if sv, ok := in["storedValues"].([]any); ok && len(sv) > 0 {
			d["storedValues"] = sv
		}
	case "ttl":
		if len(ix.Fields) != 1 {
			return nil, false, newError(400, 10, "ttl index must have exactly one field")
		}
		ea, ok := in["expireAfter"].(float64)
		if !ok || ea < 0 {
			return nil, false, newError(400, 10, "expireAfter attribute must be a number >= 0")
		}
		for _, o := range c.Indexes() {
			if o.Type == "ttl" && !(len(o.Fields) == 1 && o.Fields[0] == ix.Fields[0] && o.def["expireAfter"] == ea) {
				return nil, false, newError(400, 10, "there can only be one ttl index per collection")
			}
		}
		d["expireAfter"] = ea
		d["estimates"] = false
		ix.Sparse, ix.Unique = true, false
	case "geo", "geo1", "geo2":
		ix.Type = "geo"
		if len(ix.Fields) != 1 && len(ix.Fields) != 2 {
			return nil, false, newError(400, 10, "geo index needs one or two fields")
		}
		d["geoJson"] = boolOr(in, "geoJson", false)
		d["legacyPolygons"] = boolOr(in, "legacyPolygons", false)
		d["bestIndexedLevel"] = 17
		d["worstIndexedLevel"] = 4
		d["maxNumCoverCells"] = 8
		ix.Sparse, ix.Unique = true, false
	case "fulltext":
		if len(ix.Fields) != 1 {
			return nil, false, newError(400, 10, "fulltext index needs exactly one field")
		}
		d["minLength"] = numOr(in, "minLength", 2)
		ix.Sparse, ix.Unique = true, false
	case "zkd", "mdi", "mdi-prefixed":
		if fvt, _ := in["fieldValueTypes"].(string); fvt != "double" {
			return nil, false, newError(400, 10, "zkd index requires `fieldValueTypes` to be set to `double`")
		}
		if len(ix.Fields) == 0 {
			return nil, false, newError(400, 10, "fields must be non-empty")
		}
		d["fieldValueTypes"] = "double"
		if ix.Type != "zkd" {
			d["estimates"] = boolOr(in, "estimates", true)
			if sv, ok := in["storedValues"].([]any); ok && len(sv) > 0 {
				d["storedValues"] = sv
			}
		}
		if ix.Type == "mdi-prefixed" {
			pf, ok := in["prefixFields"].([]any)
			if !ok || len(pf) == 0 {
				return nil, false, newError(400, 10, "prefixFields must be set")
			}
			d["prefixFields"] = pf
		}
	case "inverted":
		if err := normalizeInverted(in, ix); err != nil {
			return nil, false, err
		}
	case "vector":
		if len(ix.Fields) != 1 {
			return nil, false, newError(400, 10, "vector index needs exactly one field")
		}
		params, ok := in["params"].(map[string]any)
		if !ok {
			return nil, false, newError(400, 10, "vector index needs params")
		}
		d["params"] = params
		if sv, ok := in["storedValues"].([]any); ok && len(sv) > 0 {
			d["storedValues"] = sv
		}
	default:
		return nil, false, newError(400, 10, "invalid index type '"+typ+"'")
	}
	name, hasName := in["name"].(string)
	if hasName && !validIndexName(name) {
		return nil, false, newError(400, 1208, "illegal index name")
	}
	// Equivalent existing index?
	for _, o := range c.Indexes() {
		if o.equivalent(ix) {
			return o, false, nil
		}
		if hasName && o.Name == name {
			return nil, false, newError(409, 1207, "duplicate value for `name`: "+name)
		}
	}
	st := c.db.st
	if id := idFromDef(in["id"]); id != 0 {
		ix.ID = id
		st.advanceTick(id)
		if c.Index(strconv.FormatUint(id, 10)) != nil {
			ix.ID = st.NextTick()
		}
	} else {
		ix.ID = st.NextTick()
	}
	if hasName {
		ix.Name = name
	} else {
		ix.Name = "idx_" + strconv.FormatUint(st.NextTick(), 10)
	}
	c.mu.Lock()
	if ix.tracked() {
		ix.uniq = map[string]string{}
		for _, dd := range c.order {
			if dd == nil {
				continue
			}
			vals, _ := ix.entries(dd.Raw)
			if err := ix.checkUnique(vals, dd.Key); err != nil {
				c.mu.Unlock()
				return nil, false, newError(409, 1210, "unique constraint violated")
			}
			ix.add(vals, dd.Key)
		}
	}
	c.indexes = append(c.indexes, ix)
	c.mu.Unlock()
	st.WAL.append(Marker{Tick: st.NextTick(), Type: 2100, DB: c.db.Name, CID: c.ID, CUID: c.GUID, Data: mustJSON(ix.Definition(false))})
	return ix, true, nil
}

func idFromDef(v any) uint64 {
	s, _ := v.(string)
	if s == "" {
		if f, ok := v.(float64); ok {
			return uint64(f)
		}
		return 0
	}
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

func (ix *Index) equivalent(o *Index) bool {
	if ix.Type != o.Type || ix.Unique != o.Unique || ix.Sparse != o.Sparse {
		return false
	}
	if ix.fieldsRaw != nil || o.fieldsRaw != nil {
		return canonicalAny(toAny(ix.fieldsRaw)) == canonicalAny(toAny(o.fieldsRaw)) &&
			canonicalAny(toAny(ix.def["analyzer"])) == canonicalAny(toAny(o.def["analyzer"]))
	}
	if len(ix.Fields) != len(o.Fields) {
		return false
	}
	for i := range ix.Fields {
		if ix.Fields[i] != o.Fields[i] {
			return false
		}
	}
	for _, k := range []string{"expireAfter", "geoJson", "prefixFields", "params"} {
		if canonicalAny(toAny(ix.def[k])) != canonicalAny(toAny(o.def[k])) {
			return false
		}
	}
	if ix.Type == "persistent" && ix.dedup != o.dedup {
		return false
	}
	return true
}

// toAny round-trips v through JSON so that canonicalAny sees plain types.
func toAny(v any) any {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var x any
	_ = json.Unmarshal(b, &x)
	return x
}

// ttlExpire removes documents whose TTL index attribute plus expireAfter lies in the past.
func (c *Collection) ttlExpire(now time.Time) int {
	var ttl *Index
	for _, ix := range c.Indexes() {
		if ix.Type == "ttl" {
			ttl = ix
		}
	}
	if ttl == nil {
		return 0
	}
	ea, _ := ttl.def["expireAfter"].(float64)
	path := parsePath(ttl.Fields[0])
	nowSec := float64(now.UnixNano()) / 1e9
	n := 0
	for _, d := range c.Snapshot() {
		v := lookupPath(d.Raw, path)
		var ts float64
		switch rawKind(v) {
		case 'd':
			f, err := strconv.ParseFloat(string(v), 64)
			if err != nil {
				continue
			}
			ts = f
		case 's':
			s, _ := rawString(v)
			t, err := parseISODate(s)
			if err != nil {
				continue
			}
			ts = float64(t.UnixNano()) / 1e9
		default:
			continue
		}
		if ts+ea < nowSec {
			if c.RemoveKey(d.Key) == nil {
				n++
			}
		}
	}
	return n
}

func parseISODate(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errBadParameter("bad date")
}
