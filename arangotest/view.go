package arangotest

import (
	"encoding/json"
	"sort"
	"strconv"
	"sync"
)

// View is an arangosearch or search-alias view. Its properties are kept normalized as the
// server reports them.
type View struct {
	db   *Database
	mu   sync.RWMutex
	ID   uint64
	Name string
	Type string
	GUID string
	// props are all properties except id, name, type, globallyUniqueId (links for arangosearch,
	// indexes for search-alias).
	props map[string]any
}

// Views returns all views sorted by name.
func (db *Database) Views() []*View {
	db.mu.RLock()
	defer db.mu.RUnlock()
	out := make([]*View, 0, len(db.views))
	for _, v := range db.views {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// View returns a view by name or id, or nil.
func (db *Database) View(nameOrID string) *View {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if v, ok := db.views[nameOrID]; ok {
		return v
	}
	for _, v := range db.views {
		if strconv.FormatUint(v.ID, 10) == nameOrID {
			return v
		}
	}
	return nil
}

// Definition returns the full view definition (as POST /_api/view answers and the inventory
// lists it).
func (v *View) Definition() map[string]any {
	v.mu.RLock()
	defer v.mu.RUnlock()
	m := map[string]any{"id": strconv.FormatUint(v.ID, 10), "name": v.Name, "type": v.Type, "globallyUniqueId": v.GUID}
	for k, val := range v.props {
		m[k] = val
	}
	return m
}

func (v *View) basicInfo() map[string]any {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return map[string]any{"id": strconv.FormatUint(v.ID, 10), "name": v.Name, "type": v.Type, "globallyUniqueId": v.GUID}
}

// CreateViewFromDefinition creates a view from a full definition (POST /_api/view body or a
// dumped view file). With overwrite an existing view of that name is replaced.
func (db *Database) CreateViewFromDefinition(def []byte, overwrite bool) (*View, error) {
	var in map[string]any
	if err := json.Unmarshal(def, &in); err != nil || in == nil {
		return nil, newError(400, 600, "invalid view definition")
	}
	return db.createView(in, overwrite, true)
}

func (db *Database) createView(in map[string]any, overwrite, restore bool) (*View, error) {
	name, _ := in["name"].(string)
	typ, _ := in["type"].(string)
	if name == "" || !validCollectionName(name, false) {
		return nil, newError(400, 1208, "illegal name")
	}
	if typ != "arangosearch" && typ != "search-alias" {
		return nil, newError(400, 10, "invalid view type: "+typ)
	}
	if old := db.View(name); old != nil {
		if !overwrite {
			return nil, errDuplicateName(name)
		}
		db.dropView(old)
	}
	v := &View{db: db, Name: name, Type: typ}
	props, err := db.normalizeViewProps(typ, in, nil, false)
	if err != nil {
		return nil, err
	}
	v.props = props
	st := db.st
	if restore {
		if id := idFromDef(in["id"]); id != 0 {
			v.ID = id
			st.advanceTick(id)
		}
		v.GUID, _ = in["globallyUniqueId"].(string)
	}
	if v.ID == 0 || db.View(strconv.FormatUint(v.ID, 10)) != nil {
		v.ID = st.NextTick()
	}
	if v.GUID == "" {
		v.GUID = "h" + strconv.FormatUint(st.serverID, 16) + "/" + strconv.FormatUint(v.ID, 10)
	}
	db.mu.Lock()
	if db.nameTakenLocked(name) {
		db.mu.Unlock()
		return nil, errDuplicateName(name)
	}
	db.views[name] = v
	db.mu.Unlock()
	st.WAL.append(Marker{Tick: st.NextTick(), Type: 2110, DB: db.Name, CUID: v.GUID, Data: mustJSON(v.Definition())})
	return v, nil
}

func (db *Database) dropView(v *View) {
	db.mu.Lock()
	if db.views[v.Name] == v {
		delete(db.views, v.Name)
	}
	db.mu.Unlock()
	db.st.WAL.append(Marker{Tick: db.st.NextTick(), Type: 2111, DB: db.Name, CUID: v.GUID,
		Data: mustJSON(map[string]any{"id": strconv.FormatUint(v.ID, 10), "name": v.Name})})
}

func (db *Database) renameView(v *View, newName string) error {
	if !validCollectionName(newName, false) {
		return newError(400, 1208, "illegal name")
	}
	db.mu.Lock()
	if db.nameTakenLocked(newName) {
		db.mu.Unlock()
		return errDuplicateName(newName)
	}
	delete(db.views, v.Name)
	v.mu.Lock()
	v.Name = newName
	v.mu.Unlock()
	db.views[newName] = v
	db.mu.Unlock()
	return nil
}

// dropCollection removes links/index entries of a dropped collection.
func (v *View) dropCollection(name string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if links, ok := v.props["links"].(map[string]any); ok {
		delete(links, name)
	}
	if idx, ok := v.props["indexes"].([]any); ok {
		out := idx[:0:0]
		for _, e := range idx {
			if m, ok := e.(map[string]any); ok && m["collection"] == name {
				continue
			}
			out = append(out, e)
		}
		v.props["indexes"] = out
	}
}

// update applies a PUT (replace) or PATCH (partial) properties request.
func (v *View) update(in map[string]any, partial bool) error {
	v.mu.RLock()
	cur := v.props
	v.mu.RUnlock()
	props, err := v.db.normalizeViewProps(v.Type, in, cur, partial)
	if err != nil {
		return err
	}
	v.mu.Lock()
	v.props = props
	v.mu.Unlock()
	v.db.st.WAL.append(Marker{Tick: v.db.st.NextTick(), Type: 2112, DB: v.db.Name, CUID: v.GUID, Data: mustJSON(v.Definition())})
	return nil
}
