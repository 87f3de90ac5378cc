package arangotest

// The data model of arangotest: databases, collections, documents (immutable raw JSON), indexes,
// key generators, one global tick counter and an in-memory write-ahead log.
//
// API for the replication / dump / restore / WAL code (replication*.go, dumpapi*.go, restore*.go,
// wal*.go). All of it is safe for concurrent use.
//
//	s.store                                    *Store of the server
//	st.Database(name) *Database                nil if unknown
//	st.Databases() []*Database                 sorted by name
//	st.NextTick() uint64 / st.LastTick()       global monotonic tick (HLC-shaped: ms<<20 | n)
//	encodeRev(tick) / decodeRev(rev)           _rev strings <-> ticks
//	db.Collection(nameOrID) *Collection        nil if unknown
//	db.Collections() []*Collection             sorted by name (system ones included)
//	db.CreateCollectionFromParams(params []byte, overwrite bool)   restore-collection: full inventory
//	                                           "parameters" object; keeps id/globallyUniqueId/keyOptions
//	                                           (incl. lastValue), schema, computedValues, ...
//	db.Views() []*View / db.View(name) / db.CreateViewFromDefinition(def []byte, overwrite bool)
//	db.Properties() map[string]any             inventory "properties" ({id,name,isSystem})
//	c.Snapshot() []*Doc                        consistent copy of the document pointers, storage order
//	                                           (last-write order, like RocksDB's scan by document id)
//	c.Lookup(key) *Doc
//	c.RestoreDocument(raw []byte) error        insert-or-replace preserving _key/_rev/_from/_to,
//	                                           advancing the key generator, enforcing unique indexes
//	c.RemoveKey(key string) error              (ErrDocumentNotFound-compatible *ArangoError if absent)
//	c.Truncate()
//	c.EnsureIndex(def []byte) (*Index, bool, error)   index from a definition (restore-indexes)
//	c.Indexes() []*Index; ix.Definition(withCollectionPrefix bool) map[string]any
//	c.Parameters() map[string]any              inventory "parameters" (DUMP312 key set)
//	c.Count() int
//	st.WAL.Since(fromTick, maxBytes) ([]Marker, more bool) / st.WAL.Range() (first, last uint64)
//	Marker{Tick,Type,DB,CID,CUID,TID,Data}, m.JSON() []byte   one /_api/wal/tail line
//	st.WAL.Trimmed() / st.WAL.Count()          whether old markers were dropped (256 MiB budget)
//	parseDoc(raw) (*parsedDoc, error)          split a body into _key/_rev/_from/_to and the rest;
//	                                           its strings are views into raw (valid while raw is)
//	newError(status, errorNum, msg) *ArangoError   errors that c.fail() renders as the server does
//
// Documents (type Doc) are never modified after creation: a write installs a new *Doc, so a
// snapshot slice stays valid forever and its Raw bytes can be written to a response as they are.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Store holds all databases of one server.
type Store struct {
	mu       sync.RWMutex
	dbs      map[string]*Database
	tick     atomic.Uint64
	serverID uint64
	WAL      *WAL
	// readOnly is the server mode flag (PUT /_admin/server/mode).
	readOnly atomic.Bool
	version  [3]int
	// cluster is the shared cluster state when the store backs Coordinators (cluster.go).
	cluster *clusterState
	// hb is the hot backup state: global write lock, backups, data directory (backup*.go).
	hb hotBackups
	// snapGate orders dump snapshots and writes to several collections (dumpsnapshot.go).
	snapGate sync.RWMutex
}

func newStore(serverID uint64) *Store {
	st := &Store{dbs: map[string]*Database{}, serverID: serverID, WAL: newWAL(256 << 20)}
	return st
}

// NextTick returns a new global tick. Ticks are hybrid-logical-clock shaped (wall clock
// milliseconds << 20 | counter), strictly increasing, and double as revision values.
// NextTicks reserves n consecutive ticks (n >= 1) and returns the first: a batch write takes
// its ticks at once instead of one atomic update per document.
func (st *Store) NextTicks(n int) uint64 {
	for {
		last := st.tick.Load()
		next := uint64(time.Now().UnixMilli()) << 20
		if next <= last {
			next = last + 1
		}
		if st.tick.CompareAndSwap(last, next+uint64(n)-1) {
			return next
		}
	}
}

func (st *Store) NextTick() uint64 {
	for {
		last := st.tick.Load()
		next := uint64(time.Now().UnixMilli()) << 20
		if next <= last {
			next = last + 1
		}
		if st.tick.CompareAndSwap(last, next) {
			return next
		}
	}
}

// LastTick returns the last tick handed out.
func (st *Store) LastTick() uint64 { return st.tick.Load() }

// advanceTick makes sure future ticks are above t (restored revisions).
func (st *Store) advanceTick(t uint64) {
	for {
		last := st.tick.Load()
		if last >= t || st.tick.CompareAndSwap(last, t) {
			return
		}
	}
}

// Database returns the database by name, or nil.
func (st *Store) Database(name string) *Database {
	st.mu.RLock()
	defer st.mu.RUnlock()
	return st.dbs[name]
}

// Databases returns all databases sorted by name.
func (st *Store) Databases() []*Database {
	st.mu.RLock()
	defer st.mu.RUnlock()
	out := make([]*Database, 0, len(st.dbs))
	for _, d := range st.dbs {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Database is one database with its collections and views.
type Database struct {
	st       *Store
	Name     string
	ID       uint64
	mu       sync.RWMutex
	colls    map[string]*Collection // by name
	views    map[string]*View       // by name
	isSystem bool
	options  map[string]any // sharding, replicationFactor, writeConcern as given
}

var systemCollectionsAll = []string{"_analyzers", "_appbundles", "_apps", "_aqlfunctions", "_frontend", "_graphs", "_jobs", "_pregel_queries", "_queues"}
var systemCollectionsSystemDB = []string{"_statistics", "_statistics15", "_statisticsRaw", "_users"}

// createDatabase creates a database with its system collections.
func (st *Store) createDatabase(name string, options map[string]any) (*Database, error) {
	st.mu.Lock()
	if _, ok := st.dbs[name]; ok {
		st.mu.Unlock()
		return nil, errDuplicateName(name)
	}
	db := &Database{st: st, Name: name, ID: st.NextTick(), colls: map[string]*Collection{}, views: map[string]*View{},
		isSystem: name == "_system", options: options}
	st.dbs[name] = db
	st.mu.Unlock()
	st.WAL.append(Marker{Tick: st.NextTick(), Type: 1100, DB: name,
		Data: mustJSON(map[string]any{"database": strconv.FormatUint(db.ID, 10), "id": strconv.FormatUint(db.ID, 10), "name": name})})
	names := systemCollectionsAll
	if db.isSystem {
		names = append(append([]string{}, names...), systemCollectionsSystemDB...)
	}
	for _, n := range names {
		if _, err := db.CreateCollection(CollectionSpec{Name: n, Type: 2, IsSystem: true}); err != nil {
			return nil, err
		}
	}
	return db, nil
}

func (st *Store) dropDatabase(name string) error {
	st.mu.Lock()
	db, ok := st.dbs[name]
	if !ok {
		st.mu.Unlock()
		return errDatabaseNotFound()
	}
	delete(st.dbs, name)
	st.mu.Unlock()
	st.WAL.append(Marker{Tick: st.NextTick(), Type: 1101, DB: name,
		Data: mustJSON(map[string]any{"database": strconv.FormatUint(db.ID, 10), "id": strconv.FormatUint(db.ID, 10), "name": name})})
	return nil
}

// Properties returns the inventory "properties" of the database.
func (db *Database) Properties() map[string]any {
	return map[string]any{"id": strconv.FormatUint(db.ID, 10), "name": db.Name, "isSystem": db.isSystem}
}

// Collection returns a collection by name or numeric id, or nil.
func (db *Database) Collection(nameOrID string) *Collection {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if c, ok := db.colls[nameOrID]; ok {
		return c
	}
	if id, err := strconv.ParseUint(nameOrID, 10, 64); err == nil {
		for _, c := range db.colls {
			if c.ID == id {
				return c
			}
		}
	}
	return nil
}

// Collections returns all collections sorted by name.
func (db *Database) Collections() []*Collection {
	db.mu.RLock()
	defer db.mu.RUnlock()
	out := make([]*Collection, 0, len(db.colls))
	for _, c := range db.colls {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Doc is one stored document version. Never modified after creation.
type Doc struct {
	Key  string
	Rev  string
	Tick uint64 // the tick of the write that created this version (decodeRev(Rev) for restored docs)
	Raw  []byte // {"_key":..,"_id":..,["_from":..,"_to":..,]"_rev":..,...user attributes}
}

// KeyGen is a collection's key generator state.
type KeyGen struct {
	Type          string // traditional, autoincrement, padded, uuid
	AllowUserKeys bool
	Increment     uint64
	Offset        uint64
	LastValue     uint64
}

// CollectionSpec is what a collection is created from.
type CollectionSpec struct {
	Name     string
	Type     int // 2 document, 3 edge
	IsSystem bool
	ID       uint64 // 0 = new tick
	GUID     string // globallyUniqueId; "" = derived
	KeyGen   KeyGen
	// Props are all further properties (waitForSync, cacheEnabled, schema, computedValues,
	// sharding fields, ...) as raw JSON values, echoed as given.
	Props map[string]json.RawMessage
}

// Collection is one collection with its documents and indexes.
type Collection struct {
	db       *Database
	ID       uint64
	Name     string
	Type     int
	IsSystem bool
	GUID     string

	mu     sync.RWMutex
	props  map[string]json.RawMessage
	keygen KeyGen
	docs   map[string]int // key -> position in order
	order  []*Doc         // storage order; nil = removed
	holes  int
	// docsRoom is the number of keys docs was last made for by presizeLocked (0: unknown).
	docsRoom int
	indexes  []*Index
	// revTick is the tick of the last write (collection revision).
	revTick uint64
	// locks held by running stream transactions: key -> transaction id.
	trxLocks map[string]uint64
}

// CreateCollection creates a collection from a spec.
func (db *Database) CreateCollection(spec CollectionSpec) (*Collection, error) {
	if spec.Type == 0 {
		spec.Type = 2
	}
	if spec.KeyGen.Type == "" {
		spec.KeyGen.Type = "traditional"
		spec.KeyGen.AllowUserKeys = true
	}
	st := db.st
	db.mu.Lock()
	if db.nameTakenLocked(spec.Name) {
		db.mu.Unlock()
		return nil, errDuplicateName(spec.Name)
	}
	id := spec.ID
	if id == 0 {
		id = st.NextTick()
	} else {
		st.advanceTick(id)
		for _, o := range db.colls {
			if o.ID == id {
				id = st.NextTick()
				break
			}
		}
	}
	guid := spec.GUID
	if guid == "" {
		if spec.IsSystem {
			guid = spec.Name
		} else {
			guid = fmt.Sprintf("h%X/%d", st.serverID, id)
		}
	}
	props := spec.Props
	if props == nil {
		props = map[string]json.RawMessage{}
	}
	c := &Collection{db: db, ID: id, Name: spec.Name, Type: spec.Type, IsSystem: spec.IsSystem, GUID: guid,
		props: props, keygen: spec.KeyGen, docs: map[string]int{}}
	c.indexes = []*Index{{ID: 0, Name: "primary", Type: "primary", Fields: []string{"_key"}, Unique: true, coll: c}}
	if spec.Type == 3 {
		c.indexes = append(c.indexes, &Index{ID: 1, Name: "edge", Type: "edge", Fields: []string{"_from", "_to"}, coll: c})
	}
	c.revTick = st.NextTick()
	db.colls[spec.Name] = c
	db.mu.Unlock()
	st.WAL.append(Marker{Tick: st.NextTick(), Type: 2000, DB: db.Name, CID: c.ID, CUID: c.GUID, Data: mustJSON(c.Parameters())})
	return c, nil
}

// DropCollection removes a collection and its links from views.
func (db *Database) DropCollection(c *Collection) {
	db.mu.Lock()
	if db.colls[c.Name] == c {
		delete(db.colls, c.Name)
	}
	views := make([]*View, 0, len(db.views))
	for _, v := range db.views {
		views = append(views, v)
	}
	db.mu.Unlock()
	for _, v := range views {
		v.dropCollection(c.Name)
	}
	db.st.WAL.append(Marker{Tick: db.st.NextTick(), Type: 2001, DB: db.Name, CID: c.ID, CUID: c.GUID,
		Data: mustJSON(map[string]any{"id": strconv.FormatUint(c.ID, 10), "name": c.Name, "cuid": c.GUID})})
}

// nameTakenLocked reports whether a collection or a view has the name: they share one
// namespace per database. db.mu must be held.
func (db *Database) nameTakenLocked(name string) bool {
	_, coll := db.colls[name]
	_, view := db.views[name]
	return coll || view
}

// renameCollection renames a collection (409 if the new name is taken).
func (db *Database) renameCollection(c *Collection, newName string) error {
	db.mu.Lock()
	if db.nameTakenLocked(newName) {
		db.mu.Unlock()
		return errDuplicateName(newName)
	}
	delete(db.colls, c.Name)
	c.mu.Lock()
	c.Name = newName
	c.mu.Unlock()
	db.colls[newName] = c
	db.mu.Unlock()
	db.st.WAL.append(Marker{Tick: db.st.NextTick(), Type: 2002, DB: db.Name, CID: c.ID, CUID: c.GUID,
		Data: mustJSON(map[string]any{"name": newName})})
	return nil
}

// CreateCollectionFromParams creates a collection from a full parameter object as
// restore-collection sends it (the inventory "parameters"). With overwrite an existing
// collection of that name is dropped first.
func (db *Database) CreateCollectionFromParams(params []byte, overwrite bool) (*Collection, error) {
	spec, err := specFromParams(params, true)
	if err != nil {
		return nil, err
	}
	if old := db.Collection(spec.Name); old != nil {
		if !overwrite {
			return nil, errDuplicateName(spec.Name)
		}
		db.DropCollection(old)
	}
	return db.CreateCollection(spec)
}

// collection property names that are computed, not stored.
var computedCollectionProps = map[string]bool{
	"name": true, "type": true, "isSystem": true, "id": true, "cid": true, "planId": true, "globallyUniqueId": true,
	"keyOptions": true, "status": true, "statusString": true, "objectId": true, "path": true, "deleted": true,
	"indexes": true, "count": true, "error": true, "code": true, "version": true, "isSmartChild": true,
	"usesRevisionsAsDocumentIds": true, "syncByRevision": true, "internalValidatorType": true,
}

// specFromParams parses a collection definition (create body or restore parameters).
func specFromParams(params []byte, restore bool) (CollectionSpec, error) {
	var spec CollectionSpec
	spec.Props = map[string]json.RawMessage{}
	var keyOpts []byte
	err := scanObject(params, func(k string, v []byte) error {
		switch k {
		case "name":
			s, ok := rawString(v)
			if !ok {
				return newError(400, 1208, "illegal name")
			}
			spec.Name = s
		case "type":
			n, err := strconv.Atoi(string(v))
			if err != nil {
				if s, ok := rawString(v); ok && (s == "edge" || s == "document") {
					n = map[string]int{"edge": 3, "document": 2}[s]
				} else {
					return newError(400, 1218, "collection type invalid")
				}
			}
			spec.Type = n
		case "isSystem":
			spec.IsSystem = string(v) == "true"
		case "id", "cid", "planId":
			if restore && spec.ID == 0 {
				if s, ok := rawString(v); ok {
					spec.ID, _ = strconv.ParseUint(s, 10, 64)
				} else {
					spec.ID, _ = strconv.ParseUint(string(v), 10, 64)
				}
			}
		case "globallyUniqueId":
			if restore {
				spec.GUID, _ = rawString(v)
			}
		case "keyOptions":
			keyOpts = v
		default:
			if !computedCollectionProps[k] {
				spec.Props[k] = append(json.RawMessage(nil), v...)
			}
		}
		return nil
	})
	if err != nil {
		if ae, ok := err.(*ArangoError); ok {
			return spec, ae
		}
		return spec, newError(400, 600, err.Error())
	}
	if spec.Type != 0 && spec.Type != 2 && spec.Type != 3 {
		return spec, newError(400, 1218, "collection type invalid")
	}
	kg, err := parseKeyOptions(keyOpts, restore)
	if err != nil {
		return spec, err
	}
	spec.KeyGen = kg
	return spec, nil
}

func parseKeyOptions(v []byte, restore bool) (KeyGen, error) {
	kg := KeyGen{Type: "traditional", AllowUserKeys: true}
	if len(v) == 0 || rawKind(v) == 'n' {
		return kg, nil
	}
	var ko struct {
		Type          *string          `json:"type"`
		AllowUserKeys *bool            `json:"allowUserKeys"`
		Increment     *json.Number     `json:"increment"`
		Offset        *json.Number     `json:"offset"`
		LastValue     *json.RawMessage `json:"lastValue"`
	}
	if err := json.Unmarshal(v, &ko); err != nil {
		return kg, newError(400, 10, "invalid keyOptions")
	}
	if ko.Type != nil {
		switch *ko.Type {
		case "traditional", "autoincrement", "uuid", "padded":
			kg.Type = *ko.Type
		default:
			return kg, newError(400, 1232, "invalid key generator type")
		}
	}
	if ko.AllowUserKeys != nil {
		kg.AllowUserKeys = *ko.AllowUserKeys
	}
	if kg.Type == "autoincrement" {
		kg.Increment, kg.Offset = 1, 0
		if ko.Increment != nil {
			n, err := strconv.ParseInt(string(*ko.Increment), 10, 64)
			if err != nil || n < 1 || n >= 65536 {
				return kg, newError(400, 1232, "increment value must be greater than zero and less than 65536")
			}
			kg.Increment = uint64(n)
		}
		if ko.Offset != nil {
			n, err := strconv.ParseInt(string(*ko.Offset), 10, 64)
			if err != nil || n < 0 {
				return kg, newError(400, 1232, "offset value must be zero or greater")
			}
			kg.Offset = uint64(n)
		}
	} else if !restore && ((ko.Increment != nil && string(*ko.Increment) != "0") || (ko.Offset != nil && string(*ko.Offset) != "0")) {
		// 3.12 rejects increment/offset for other generators... but tools send them echoed
		// from inventories, so only for user creates.
		if kg.Type != "traditional" || true {
			_ = 0
		}
	}
	if ko.LastValue != nil {
		raw := []byte(*ko.LastValue)
		if s, ok := rawString(raw); ok {
			if kg.Type == "padded" {
				kg.LastValue, _ = strconv.ParseUint(s, 16, 64)
			} else {
				kg.LastValue, _ = strconv.ParseUint(s, 10, 64)
			}
		} else {
			f, err := strconv.ParseFloat(string(raw), 64)
			if err == nil && f > 0 {
				if u, err := strconv.ParseUint(string(raw), 10, 64); err == nil {
					kg.LastValue = u
				} else {
					kg.LastValue = uint64(f)
				}
			}
		}
	}
	return kg, nil
}

// keyOptionsJSON renders the keyOptions object as the server does.
func (kg KeyGen) object() map[string]any {
	m := map[string]any{"type": kg.Type, "allowUserKeys": kg.AllowUserKeys}
	switch kg.Type {
	case "autoincrement":
		m["increment"] = kg.Increment
		m["offset"] = kg.Offset
		m["lastValue"] = kg.LastValue
	case "traditional":
		m["lastValue"] = kg.LastValue
	case "padded":
		m["lastValue"] = kg.LastValue
	}
	return m
}

func (c *Collection) propOr(name string, def any) any {
	if v, ok := c.props[name]; ok {
		return v
	}
	return def
}

// Parameters returns the collection definition as the replication inventory shows it on a
// single server (DUMP312 key set).
func (c *Collection) Parameters() map[string]any {
	c.mu.RLock()
	defer c.mu.RUnlock()
	id := strconv.FormatUint(c.ID, 10)
	m := map[string]any{
		"allowUserKeys": c.keygen.AllowUserKeys, "cacheEnabled": c.propOr("cacheEnabled", false), "cid": id,
		"computedValues": c.propOr("computedValues", nil), "deleted": false, "globallyUniqueId": c.GUID, "id": id,
		"internalValidatorType": 0, "isDisjoint": c.propOr("isDisjoint", false), "isSmart": c.propOr("isSmart", false),
		"isSmartChild": false, "isSystem": c.IsSystem, "keyOptions": c.keygen.object(),
		"minReplicationFactor": c.propOr("minReplicationFactor", c.propOr("writeConcern", 1)), "name": c.Name,
		"numberOfShards": c.propOr("numberOfShards", 1), "planId": id, "replicationFactor": c.propOr("replicationFactor", 1),
		"schema": c.propOr("schema", nil), "shardKeys": c.propOr("shardKeys", []string{"_key"}), "shards": map[string]any{},
		"status": 3, "syncByRevision": true, "type": c.Type, "usesRevisionsAsDocumentIds": true, "version": 9,
		"waitForSync": c.propOr("waitForSync", false), "writeConcern": c.propOr("writeConcern", c.propOr("minReplicationFactor", 1)),
	}
	for k, v := range c.props {
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	return m
}

// Properties returns the collection properties as GET /_api/collection/{c}/properties shows
// them on a single server.
func (c *Collection) Properties() map[string]any {
	c.mu.RLock()
	defer c.mu.RUnlock()
	id := strconv.FormatUint(c.ID, 10)
	m := map[string]any{
		"writeConcern": c.propOr("writeConcern", c.propOr("minReplicationFactor", 1)), "waitForSync": c.propOr("waitForSync", false),
		"usesRevisionsAsDocumentIds": true, "syncByRevision": true, "statusString": "loaded", "id": id,
		"isSmartChild": false, "schema": c.propOr("schema", nil), "name": c.Name, "type": c.Type, "status": 3,
		"cacheEnabled": c.propOr("cacheEnabled", false), "isSystem": c.IsSystem, "internalValidatorType": 0,
		"globallyUniqueId": c.GUID, "keyOptions": c.keygen.object(), "computedValues": c.propOr("computedValues", nil),
		"objectId": strconv.FormatUint(c.ID+1, 10),
	}
	// A single server echoes the sharding fields it was given.
	for _, k := range []string{"numberOfShards", "shardKeys", "replicationFactor", "minReplicationFactor", "shardingStrategy",
		"distributeShardsLike", "smartJoinAttribute", "smartGraphAttribute", "isSmart", "isDisjoint"} {
		if v, ok := c.props[k]; ok {
			m[k] = v
		}
	}
	c.db.st.cluster.decorateProperties(c, m) // cluster.go; no-op on a single server
	return m
}

// basicInfo is the short collection description.
func (c *Collection) basicInfo() map[string]any {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return map[string]any{"id": strconv.FormatUint(c.ID, 10), "name": c.Name, "status": 3, "type": c.Type,
		"isSystem": c.IsSystem, "globallyUniqueId": c.GUID}
}

// setProperties applies the changeable properties.
func (c *Collection) setProperties(body []byte) error {
	changed := map[string]any{}
	err := scanObject(body, func(k string, v []byte) error {
		switch k {
		case "waitForSync", "schema", "replicationFactor", "minReplicationFactor", "writeConcern", "computedValues", "cacheEnabled":
			changed[k] = json.RawMessage(append([]byte(nil), v...))
		}
		return nil
	})
	if err != nil {
		return newError(400, 600, err.Error())
	}
	if v, ok := changed["schema"]; ok {
		if err := validateSchemaDef(v.(json.RawMessage)); err != nil {
			return err
		}
	}
	if v, ok := changed["computedValues"]; ok {
		norm, err := normalizeComputedValues(v.(json.RawMessage))
		if err != nil {
			return err
		}
		changed["computedValues"] = norm
	}
	c.mu.Lock()
	for k, v := range changed {
		c.props[k] = v.(json.RawMessage)
	}
	c.mu.Unlock()
	c.db.st.WAL.append(Marker{Tick: c.db.st.NextTick(), Type: 2003, DB: c.db.Name, CID: c.ID, CUID: c.GUID, Data: mustJSON(c.Parameters())})
	return nil
}

// Count returns the number of documents.
func (c *Collection) Count() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.docs)
}

// Snapshot returns a consistent copy of the current documents in storage order.
func (c *Collection) Snapshot() []*Doc {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*Doc, 0, len(c.docs))
	for _, d := range c.order {
		if d != nil {
			out = append(out, d)
		}
	}
	return out
}

// Lookup returns the current document with the key, or nil.
func (c *Collection) Lookup(key string) *Doc {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if p, ok := c.docs[key]; ok {
		return c.order[p]
	}
	return nil
}

// Revision returns the collection revision (tick of the last change).
func (c *Collection) Revision() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.revTick
}

// KeyGenerator returns a copy of the key generator state.
func (c *Collection) KeyGenerator() KeyGen {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.keygen
}

// Truncate removes all documents.
func (c *Collection) Truncate() {
	c.mu.Lock()
	c.docs = map[string]int{}
	c.order = nil
	c.holes = 0
	for _, ix := range c.indexes {
		ix.reset()
	}
	t := c.db.st.NextTick()
	c.revTick = t
	c.mu.Unlock()
	c.db.st.WAL.append(Marker{Tick: t, Type: 2004, DB: c.db.Name, CID: c.ID, CUID: c.GUID,
		Data: mustJSON(map[string]any{"id": strconv.FormatUint(c.ID, 10), "name": c.Name})})
}

// --- write path -------------------------------------------------------------------------

// parsedDoc is a document body split into its system attributes and the rest.
type parsedDoc struct {
	key, rev, from, to string
	hasKey, hasRev     bool
	hasFrom, hasTo     bool
	badKeyType         bool
	badFromTo          bool
	user               []member // user attributes in order (excluding _key,_id,_rev,_from,_to)
	// userRaw is the bytes of the user members as newDocIn would render them
	// (`"a":1,"b":2`, empty when there are none), a view into the parsed input; nil when they
	// cannot be copied as one block (see parseDocInto). Whoever changes user must clear it.
	userRaw []byte
	raw     []byte // the parsed object, without surrounding whitespace
}

func parseDoc(raw []byte) (*parsedDoc, error) {
	p := &parsedDoc{user: make([]member, 0, 8)}
	return p, parseDocInto(p, raw)
}

var parsedDocPool = sync.Pool{New: func() any { return &parsedDoc{user: make([]member, 0, 16)} }}

// parseDocInto parses raw into p, reusing p's member slice. It is scanObjectView with the
// member handling inlined (one pass, no callback), and it notes where the user members lie
// in raw so that newDocIn can copy them as one block (see parsedDoc.userRaw).
func parseDocInto(p *parsedDoc, raw []byte) error {
	*p = parsedDoc{user: p.user[:0]}
	// Strings in p are views into raw (no copies): they are only valid while raw is, and
	// newDoc copies what it keeps.
	b := raw
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return newError(400, 1227, "invalid document type")
	}
	objStart := i
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		if skipWS(b, i+1) != len(b) {
			return newError(400, 600, synErr(i+1, "Expecting end of input").Error())
		}
		p.userRaw = b[i:i]
		p.raw = b[objStart : i+1]
		return nil
	}
	// The user members form one block when they are contiguous (no system attribute between
	// them), have no whitespace between tokens and plain ASCII names without escapes: then
	// the block is byte for byte what rendering the members one by one gives.
	userStart, userEnd := -1, -1
	block := true
	sysAfterUser := false
	for {
		if i >= len(b) || b[i] != '"' {
			return newError(400, 600, synErr(i, "Expecting '\"' or '}'").Error())
		}
		ks := i
		k, end, err := scanStringView(b, i)
		if err != nil {
			return newError(400, 600, err.Error())
		}
		i = skipWS(b, end)
		if i >= len(b) || b[i] != ':' {
			return newError(400, 600, synErr(i, "Expecting ':'").Error())
		}
		compact := i == end
		i++
		vs := skipWS(b, i)
		compact = compact && vs == i
		if i, err = skipValue(b, vs); err != nil {
			return newError(400, 600, err.Error())
		}
		v := b[vs:i]
		user := true
		if len(k) > 0 && k[0] == '_' {
			user = false
			switch k {
			case "_key":
				s, ok := rawStringView(v)
				if !ok {
					p.badKeyType = true
				}
				p.key, p.hasKey = s, true
			case "_rev":
				if s, ok := rawStringView(v); ok {
					p.rev, p.hasRev = s, true
				}
			case "_id":
			case "_from":
				s, ok := rawStringView(v)
				if !ok {
					p.badFromTo = true
				}
				p.from, p.hasFrom = s, true
			case "_to":
				s, ok := rawStringView(v)
				if !ok {
					p.badFromTo = true
				}
				p.to, p.hasTo = s, true
			default:
				user = true
			}
			if !user && userStart >= 0 {
				sysAfterUser = true
			}
		}
		if user {
			p.user = append(p.user, member{k, v})
			if block {
				if userStart < 0 {
					userStart = ks
				} else if sysAfterUser || ks != userEnd+1 {
					block = false // not contiguous, or whitespace before the name
				}
				block = block && compact && plainName(b[ks+1:end-1])
				userEnd = i
			}
		}
		j := skipWS(b, i)
		if j >= len(b) {
			return newError(400, 600, synErr(j, "Expecting ',' or '}'").Error())
		}
		if b[j] == '}' {
			if skipWS(b, j+1) != len(b) {
				return newError(400, 600, synErr(j+1, "Expecting end of input").Error())
			}
			p.raw = b[objStart : j+1]
			break
		}
		if b[j] != ',' {
			return newError(400, 600, synErr(j, "Expecting ',' or '}'").Error())
		}
		if user && j != i {
			block = false // whitespace after a user value
		}
		i = skipWS(b, j+1)
	}
	switch {
	case !block:
	case userStart < 0:
		p.userRaw = raw[len(raw):]
	default:
		p.userRaw = raw[userStart:userEnd]
	}
	return nil
}

// plainName reports whether a member name's raw bytes are printable ASCII without escapes
// (rendered back unchanged by appendJSONString).
func plainName(s []byte) bool {
	for _, c := range s {
		if c < 0x20 || c >= 0x80 || c == '\\' || c == '"' {
			return false
		}
	}
	return true
}

// newDoc renders the stored form of a document version. Key and Rev of the result point
// into its Raw bytes (they need no escaping: validKey and the revision alphabet exclude
// quotes and backslashes), so a document costs one allocation for its data.
func (c *Collection) newDoc(key, rev string, tick uint64, from, to string, user []member) *Doc {
	return c.newDocIn(nil, key, rev, tick, from, to, user, nil)
}

// docArena hands out the stored bytes and Doc headers of a batch of documents from shared
// chunks, so that a batch write (restore-data, import) costs a few allocations per chunk
// instead of two per document, and the garbage collector tracks chunks, not documents. A
// chunk stays alive while any document in it does; chunks are small so that documents
// replaced later pin little memory. The zero value is ready; a nil *docArena allocates
// each document on its own.
type docArena struct {
	buf  []byte
	docs []Doc
	// bulk: a large batch whose documents live and die together (restore-data). Once its
	// first chunk is full, each data chunk holds about what is still expected (expect: the
	// bytes of input still to come, when known; else twice the chunk before), up to
	// docArenaBulkChunk (see bulkDocs for the headers).
	bulk   bool
	expect int
}

const (
	docArenaChunk     = 64 << 10 // bytes of document data per chunk
	docArenaDocs      = 256      // Doc headers per chunk
	docArenaBulkChunk = 4 << 20  // largest data chunk of a bulk arena
)

// reserve returns an empty slice with capacity n, from the current chunk when it fits.
func (a *docArena) reserve(n int) []byte {
	if a == nil || n > docArenaChunk/4 {
		return make([]byte, 0, n)
	}
	if cap(a.buf)-len(a.buf) < n {
		size := docArenaChunk
		if a.bulk && cap(a.buf) > 0 {
			size = 2 * cap(a.buf)
			if a.expect > 0 {
				size = a.expect + a.expect/8 // stored forms may add _id and _rev
			}
			size = max(min(size, docArenaBulkChunk), docArenaChunk)
		}
		a.buf = make([]byte, 0, size)
		prefault(a.buf)
	}
	l := len(a.buf)
	return a.buf[l : l : l+n]
}

// commit marks the bytes of b, which reserve returned, as used.
func (a *docArena) commit(b []byte) {
	if a == nil || len(b) == 0 || cap(a.buf) == 0 {
		return
	}
	l := len(a.buf)
	if l < cap(a.buf) && &a.buf[:l+1][l] == &b[0] && l+len(b) <= cap(a.buf) {
		a.buf = a.buf[:l+len(b)]
	}
}

func (a *docArena) doc() *Doc {
	if a == nil {
		return new(Doc)
	}
	if len(a.docs) == cap(a.docs) {
		a.docs = make([]Doc, 0, docArenaDocs)
	}
	a.docs = a.docs[:len(a.docs)+1]
	return &a.docs[len(a.docs)-1]
}

// newDocIn is newDoc with its memory from a (nil: its own allocations). When userRaw is not
// nil it holds the user members already rendered (`"k":v,"k2":v2`, see parsedDoc.userRaw)
// and is copied as one block instead of user.
func (c *Collection) newDocIn(a *docArena, key, rev string, tick uint64, from, to string, user []member, userRaw []byte) *Doc {
	buf := a.reserve(c.storedSize(key, rev, from, to, user, userRaw))
	buf, keyOff, revOff := c.appendStored(buf, key, rev, from, to, user, userRaw)
	a.commit(buf)
	buf = buf[:len(buf):len(buf)] // an append to Raw must never reach the next document
	d := a.doc()
	*d = Doc{Key: unsafe.String(&buf[keyOff], len(key)), Rev: unsafe.String(&buf[revOff], len(rev)), Tick: tick, Raw: buf}
	return d
}

// storedSize is an upper bound of the length of appendStored's output.
func (c *Collection) storedSize(key, rev string, from, to string, user []member, userRaw []byte) int {
	n := 48 + len(key)*2 + len(c.Name) + len(from) + len(to) + len(rev)
	if userRaw != nil {
		n += len(userRaw)
	} else {
		for _, m := range user {
			n += len(m.key) + len(m.val) + 4
		}
	}
	return n
}

// appendStored appends the stored form of a document version to buf (see newDocIn) and
// returns where its key and revision start.
func (c *Collection) appendStored(buf []byte, key, rev string, from, to string, user []member, userRaw []byte) (_ []byte, keyOff, revOff int) {
	buf = append(buf, `{"_key":"`...)
	keyOff = len(buf)
	buf = append(buf, key...)
	buf = append(buf, `","_id":`...)
	buf = appendJSONString(buf, c.Name)
	buf = append(buf[:len(buf)-1], '/')
	buf = append(buf, key...)
	buf = append(buf, '"')
	if c.Type == 3 {
		buf = append(buf, `,"_from":`...)
		buf = appendJSONString(buf, from)
		buf = append(buf, `,"_to":`...)
		buf = appendJSONString(buf, to)
	}
	buf = append(buf, `,"_rev":"`...)
	revOff = len(buf)
	buf = append(buf, rev...)
	buf = append(buf, '"')
	if userRaw != nil {
		if len(userRaw) > 0 {
			buf = append(buf, ',')
			buf = append(buf, userRaw...)
		}
	} else {
		for _, m := range user {
			buf = append(buf, ',')
			buf = appendJSONString(buf, m.key)
			buf = append(buf, ':')
			buf = append(buf, m.val...)
		}
	}
	buf = append(buf, '}')
	return buf, keyOff, revOff
}

// build renders the stored form of a document (see newDoc).
func (c *Collection) build(key, rev string, from, to string, user []member) []byte {
	return c.newDoc(key, rev, 0, from, to, user).Raw
}

// validKey reports whether s is a legal document key.
func validKey(s string) bool {
	if len(s) == 0 || len(s) > 254 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("_-.@()+,=;$!*'%:", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func validDocHandle(s string) bool {
	i := strings.IndexByte(s, '/')
	if i <= 0 || i == len(s)-1 {
		return false
	}
	return validKey(s[i+1:])
}

// nextKey generates a key (collection lock held).
func (c *Collection) nextKey(tick uint64) (string, error) {
	kg := &c.keygen
	switch kg.Type {
	case "autoincrement":
		return strconv.FormatUint(c.nextAutoincrement(), 10), nil
	case "padded":
		v := tick
		if v <= kg.LastValue {
			v = kg.LastValue + 1
		}
		kg.LastValue = v
		return fmt.Sprintf("%016x", v), nil
	case "uuid":
		return newUUID(), nil
	default:
		v := tick
		if v <= kg.LastValue {
			v = kg.LastValue + 1
		}
		kg.LastValue = v
		return strconv.FormatUint(v, 10), nil
	}
}

// nextAutoincrement advances the autoincrement generator and returns its new value.
func (c *Collection) nextAutoincrement() uint64 {
	kg := &c.keygen
	var next uint64
	if kg.LastValue < kg.Offset {
		next = kg.Offset
		if next == 0 {
			next = kg.Increment
		}
	} else {
		next = kg.LastValue + kg.Increment - ((kg.LastValue - kg.Offset) % kg.Increment)
	}
	kg.LastValue = next
	return next
}

// appendNextKey is nextKey appending the key to dst, without allocating, for the numeric
// generators (traditional, autoincrement); ok is false (and nothing is generated) for others.
func (c *Collection) appendNextKey(dst []byte, tick uint64) (_ []byte, ok bool) {
	kg := &c.keygen
	switch kg.Type {
	case "autoincrement":
		return strconv.AppendUint(dst, c.nextAutoincrement(), 10), true
	case "padded", "uuid":
		return dst, false
	default:
		v := tick
		if v <= kg.LastValue {
			v = kg.LastValue + 1
		}
		kg.LastValue = v
		return strconv.AppendUint(dst, v, 10), true
	}
}

// trackUserKey advances the key generator past a user-supplied or restored key.
func (c *Collection) trackUserKey(key string) {
	kg := &c.keygen
	switch kg.Type {
	case "traditional", "autoincrement":
		if n, ok := parseKeyUint(key, 10); ok && n > kg.LastValue && key[0] != '0' {
			kg.LastValue = n
		}
	case "padded":
		if len(key) == 16 {
			if n, ok := parseKeyUint(key, 16); ok && n > kg.LastValue {
				kg.LastValue = n
			}
		}
	}
}

// parseKeyUint is strconv.ParseUint(key, base, 64) for base 10 or 16 without the error value
// (which allocates): restored keys are mostly not numbers, and this runs once per document.
func parseKeyUint(key string, base uint64) (uint64, bool) {
	if len(key) == 0 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(key); i++ {
		c := key[i]
		var d uint64
		switch {
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			d = uint64(c-'a') + 10
		case base == 16 && c >= 'A' && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			return 0, false
		}
		if n > (^uint64(0)-d)/base {
			return 0, false // overflow
		}
		n = n*base + d
	}
	return n, true
}

// checkUserKey validates a user-supplied key against the generator (lock held).
func (c *Collection) checkUserKey(key string) error {
	if !validKey(key) {
		return newError(400, 1221, "illegal document key")
	}
	if !c.keygen.AllowUserKeys && !c.IsSystem {
		return newError(400, 1222, "unexpected document key")
	}
	if c.keygen.Type == "autoincrement" {
		if _, err := strconv.ParseUint(key, 10, 64); err != nil {
			return newError(400, 1221, "illegal document key")
		}
	}
	return nil
}

// install puts d in place of the current version of its key (lock held) and updates indexes.
// It checks unique indexes first; on conflict nothing changes.
func (c *Collection) install(d *Doc, old *Doc) error {
	pos, ok := c.docs[d.Key]
	if !ok {
		pos = -1
	}
	return c.installAt(d, old, pos)
}

// installAt is install for a caller that has looked the key up: pos is its current
// version's place in c.order, -1 if it has none (a restore batch hashes each key once
// for the lookup and once to store it, not three times).
func (c *Collection) installAt(d *Doc, old *Doc, pos int) error {
	var oldVals, newVals [][]string
	for i, ix := range c.indexes {
		if !ix.tracked() {
			continue
		}
		if oldVals == nil {
			oldVals = make([][]string, len(c.indexes))
			newVals = make([][]string, len(c.indexes))
		}
		nv, err := ix.entries(d.Raw)
		if err != nil {
			return err
		}
		newVals[i] = nv
		if old != nil {
			oldVals[i], _ = ix.entries(old.Raw)
		}
		if ix.Unique {
			if err := ix.checkUnique(nv, d.Key); err != nil {
				return err
			}
		}
	}
	for i, ix := range c.indexes {
		if newVals == nil || !ix.tracked() {
			continue
		}
		if old != nil {
			ix.remove(oldVals[i], old.Key)
		}
		ix.add(newVals[i], d.Key)
	}
	if pos >= 0 {
		c.order[pos] = nil
		c.holes++
	}
	c.docs[d.Key] = len(c.order)
	c.order = append(c.order, d)
	c.compactLocked()
	if d.Tick > c.revTick {
		c.revTick = d.Tick
	}
	return nil
}

func (c *Collection) compactLocked() {
	if c.holes < 1024 || c.holes < len(c.order)/2 {
		return
	}
	n := make([]*Doc, 0, len(c.docs)+len(c.docs)/4)
	for _, d := range c.order {
		if d != nil {
			c.docs[d.Key] = len(n)
			n = append(n, d)
		}
	}
	c.order = n
	c.holes = 0
}

// removeLocked removes the document with key (lock held); returns the removed version.
func (c *Collection) removeLocked(key string) *Doc {
	p, ok := c.docs[key]
	if !ok {
		return nil
	}
	d := c.order[p]
	for _, ix := range c.indexes {
		if ix.tracked() {
			vals, _ := ix.entries(d.Raw)
			ix.remove(vals, key)
		}
	}
	c.order[p] = nil
	c.holes++
	delete(c.docs, key)
	c.compactLocked()
	return d
}

func (c *Collection) logDoc(d *Doc, tid uint64) {
	c.db.st.WAL.append(Marker{Tick: d.Tick, Type: 2300, DB: c.db.Name, CID: c.ID, CUID: c.GUID, TID: tid, Data: d.Raw})
}

func (c *Collection) logRemove(key, rev string, tick uint64, tid uint64) {
	var buf bytes.Buffer
	buf.WriteString(`{"_key":`)
	writeJSONString(&buf, key)
	buf.WriteString(`,"_rev":"`)
	buf.WriteString(rev)
	buf.WriteString(`"}`)
	c.db.st.WAL.append(Marker{Tick: tick, Type: 2302, DB: c.db.Name, CID: c.ID, CUID: c.GUID, TID: tid, Data: buf.Bytes()})
}

// RestoreDocument inserts or replaces a document exactly as given: _key, _rev, _from and _to
// are preserved (a missing _rev gets a new one), the key generator is advanced past the key,
// unique indexes are enforced.
func (c *Collection) RestoreDocument(raw []byte) error {
	p := parsedDocPool.Get().(*parsedDoc)
	defer parsedDocPool.Put(p)
	if err := parseDocInto(p, raw); err != nil {
		return err
	}
	return c.restoreParsed(p)
}

func (c *Collection) restoreParsed(p *parsedDoc) error {
	d, err := c.prepareRestored(nil, p, 0)
	if err != nil {
		return err
	}
	c.mu.Lock()
	var old *Doc
	if pos, ok := c.docs[p.key]; ok {
		old = c.order[pos]
	}
	if err := c.install(d, old); err != nil {
		c.mu.Unlock()
		return err
	}
	c.trackUserKey(p.key)
	c.mu.Unlock()
	c.logDoc(d, 0)
	return nil
}

// prepareRestored validates a restored document and renders its stored version (memory from
// a, see docArena) without touching the collection: the caller installs it. The document
// keeps nothing of the parsed input.
//
// tick is the document's write tick, 0 for a new one.
func (c *Collection) prepareRestored(a *docArena, p *parsedDoc, tick uint64) (*Doc, error) {
	if !p.hasKey || p.badKeyType {
		if !p.hasKey {
			return nil, newError(400, 1226, "missing document key")
		}
		return nil, newError(400, 1221, "illegal document key")
	}
	if !validKey(p.key) {
		return nil, newError(400, 1221, "illegal document key")
	}
	if c.Type == 3 {
		if !p.hasFrom || !p.hasTo || p.badFromTo || !validDocHandle(p.from) || !validDocHandle(p.to) {
			return nil, newError(400, 1233, "edge attribute missing or invalid")
		}
	}
	st := c.db.st
	if tick == 0 {
		tick = st.NextTick()
	}
	rev := p.rev
	if rev == "" {
		rev = encodeRev(tick)
	} else if rt := decodeRev(rev); rt != 0 {
		st.advanceTick(rt)
	}
	return c.newDocIn(a, p.key, rev, tick, p.from, p.to, p.user, p.userRaw), nil
}

// presizeLocked makes room for n more documents (lock held), so that a large batch neither
// grows the key map nor the storage order step by step.
//
// The key map is made for twice the first batch, then rebuilt for four times what it must
// hold when a batch would not fit. Go's map grows by splitting full tables, hashing every key
// again each time the map doubles: a key's bytes lie anywhere in the documents, and reading
// them is a cache and TLB miss. The rebuild reads the keys in storage order (sequentially,
// as the batches were written) and fewer times over.
func (c *Collection) presizeLocked(n int) {
	if n <= 1024 {
		return
	}
	if len(c.docs) == 0 {
		c.docs = make(map[string]int, 2*n)
		c.docsRoom = 2 * n
		c.order = make([]*Doc, 0, n)
		prefaultSlice(c.order)
		c.holes = 0
		return
	}
	if need := len(c.docs) + n; need > c.docsRoom {
		room := 4 * need
		m := make(map[string]int, room)
		for i, d := range c.order {
			if d != nil {
				m[d.Key] = i
			}
		}
		c.docs, c.docsRoom = m, room
	}
	// The storage order grows by doubling (append grows a large slice by a quarter, so that
	// a restore would copy it, into fresh memory, a dozen times over).
	if need := len(c.order) + n; need > cap(c.order) {
		o := make([]*Doc, len(c.order), max(need, 2*cap(c.order)))
		prefaultSlice(o)
		copy(o, c.order)
		c.order = o
	}
}

// docMarker is the WAL marker of a document version written outside a transaction.
func (c *Collection) docMarker(d *Doc) Marker {
	return Marker{Tick: d.Tick, Type: 2300, DB: c.db.Name, CID: c.ID, CUID: c.GUID, Data: d.Raw}
}

// removeMarker is the WAL marker of a removal outside a transaction.
func (c *Collection) removeMarker(key, rev string, tick uint64) Marker {
	buf := make([]byte, 0, len(key)+len(rev)+24)
	buf = append(buf, `{"_key":`...)
	buf = appendJSONString(buf, key)
	buf = append(buf, `,"_rev":"`...)
	buf = append(buf, rev...)
	buf = append(buf, `"}`...)
	return Marker{Tick: tick, Type: 2302, DB: c.db.Name, CID: c.ID, CUID: c.GUID, Data: buf}
}

// RemoveKey removes the document with the key; 404 1202 if absent.
func (c *Collection) RemoveKey(key string) error {
	c.mu.Lock()
	d := c.removeLocked(key)
	if d == nil {
		c.mu.Unlock()
		return errDocumentNotFound()
	}
	t := c.db.st.NextTick()
	c.revTick = t
	c.mu.Unlock()
	c.logRemove(key, d.Rev, t, 0)
	return nil
}

// --- WAL --------------------------------------------------------------------------------

// Marker is one write-ahead log entry.
type Marker struct {
	Tick uint64
	Type int
	DB   string
	CID  uint64
	CUID string
	TID  uint64
	Data []byte // raw JSON, may be nil
}

// JSON renders the marker as one /_api/wal/tail line (without newline).
func (m Marker) JSON() []byte {
	var buf bytes.Buffer
	buf.WriteString(`{"tick":"`)
	buf.WriteString(strconv.FormatUint(m.Tick, 10))
	buf.WriteString(`","type":`)
	buf.WriteString(strconv.Itoa(m.Type))
	if m.DB != "" {
		buf.WriteString(`,"db":`)
		writeJSONString(&buf, m.DB)
	}
	if m.CUID != "" {
		buf.WriteString(`,"cuid":`)
		writeJSONString(&buf, m.CUID)
	}
	if m.Type >= 2200 && m.Type <= 2302 {
		buf.WriteString(`,"tid":"`)
		buf.WriteString(strconv.FormatUint(m.TID, 10))
		buf.WriteByte('"')
	}
	if m.Data != nil {
		buf.WriteString(`,"data":`)
		buf.Write(m.Data)
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

// WAL is an in-memory log of markers in tick order, kept in fixed-size segments (no large
// copies when it grows) and trimmed from the front, a segment at a time, when it exceeds its
// byte budget.
type WAL struct {
	mu       sync.RWMutex
	segs     [][]walEntry
	count    int
	bytes    int
	max      int
	trimmed  bool
	lastMeta *walMeta // the newest entry's, shared by the entries after it while equal
	// free holds trimmed segments (cleared) for reuse, later appendSeq's scratch: a bulk
	// restore logs a marker per document, and fresh memory costs a page fault per page.
	free  [][]walEntry
	later []walEntry
}

// maxFreeSegments bounds the trimmed segments kept for reuse (about 10 MiB).
const maxFreeSegments = 32

// walEntry is a Marker as the WAL holds it: 40 bytes instead of 88 (a bulk write logs one
// per document, and ingest speed is mostly the first touch of fresh memory), the fields
// that consecutive markers share (type, database, collection, transaction) in one walMeta.
type walEntry struct {
	tick uint64
	meta *walMeta
	data []byte
}

type walMeta struct {
	typ  int
	db   string
	cid  uint64
	cuid string
	tid  uint64
}

// entryLocked returns m as a walEntry, sharing the last entry's metadata when equal.
func (w *WAL) entryLocked(m *Marker) walEntry {
	lm := w.lastMeta
	if lm == nil || lm.typ != m.Type || lm.cid != m.CID || lm.tid != m.TID || lm.db != m.DB || lm.cuid != m.CUID {
		lm = &walMeta{typ: m.Type, db: m.DB, cid: m.CID, cuid: m.CUID, tid: m.TID}
		w.lastMeta = lm
	}
	return walEntry{tick: m.Tick, meta: lm, data: m.Data}
}

func (e *walEntry) marker() Marker {
	return Marker{Tick: e.tick, Type: e.meta.typ, DB: e.meta.db, CID: e.meta.cid, CUID: e.meta.cuid, TID: e.meta.tid, Data: e.data}
}

// entrySize is what an entry counts against the WAL's byte budget (a Marker's size, as
// before entries were made compact, so that the budget keeps its meaning).
func entrySize(e *walEntry) int { return len(e.data) + 64 }

const walSegment = 8192

func newWAL(maxBytes int) *WAL { return &WAL{max: maxBytes} }

func (w *WAL) append(m Marker) {
	w.mu.Lock()
	w.appendLocked(w.entryLocked(&m))
	w.trimLocked()
	w.mu.Unlock()
}

// appendBatch appends markers under one lock (see appendSeq).
func (w *WAL) appendBatch(ms []Marker) {
	if !sort.SliceIsSorted(ms, func(i, j int) bool { return ms[i].Tick < ms[j].Tick }) {
		sort.SliceStable(ms, func(i, j int) bool { return ms[i].Tick < ms[j].Tick })
	}
	w.appendSeq(len(ms), func(i int) Marker { return ms[i] })
}

// appendWrites logs a batch's writes under one lock: the markers before, the documents, the
// markers after, each group in ascending tick order and the groups in that order too (as
// restoreData and handleImport reserve their ticks). The documents' markers are made as
// they are logged.
func (w *WAL) appendWrites(c *Collection, before []Marker, docs []*Doc, after []Marker) {
	nb, nd := len(before), len(docs)
	w.appendSeq(nb+nd+len(after), func(i int) Marker {
		switch {
		case i < nb:
			return before[i]
		case i < nb+nd:
			return c.docMarker(docs[i-nb])
		}
		return after[i-nb-nd]
	})
}

// appendSeq appends the n markers at(0..n-1), in ascending tick order, under one lock.
// Batches prepared in parallel reserve their ticks in one order and may append in another,
// so a batch can belong before markers already logged: those are taken off the tail and
// merged with the batch, in time linear in both (appending marker by marker would move each
// of them past all the others).
func (w *WAL) appendSeq(n int, at func(i int) Marker) {
	if n == 0 {
		return
	}
	first := at(0).Tick
	w.mu.Lock()
	later := w.later[:0] // entries already logged with a tick after the batch's first, newest first
	for len(w.segs) > 0 {
		last := len(w.segs) - 1
		seg := w.segs[last]
		if len(seg) == 0 {
			w.segs = w.segs[:last]
			continue
		}
		e := seg[len(seg)-1]
		if e.tick <= first {
			break
		}
		later = append(later, e)
		seg[len(seg)-1] = walEntry{}
		w.segs[last] = seg[:len(seg)-1]
		w.count--
		w.bytes -= entrySize(&e)
	}
	i, j := 0, len(later)-1
	next := at(0)
	for i < n || j >= 0 {
		if j < 0 || (i < n && next.Tick <= later[j].tick) {
			w.appendLocked(w.entryLocked(&next))
			if i++; i < n {
				next = at(i)
			}
		} else {
			w.appendLocked(later[j])
			j--
		}
	}
	clear(later)
	w.later = later[:0]
	w.trimLocked()
	w.mu.Unlock()
}

func (w *WAL) appendLocked(m walEntry) {
	if n := len(w.segs); n == 0 || len(w.segs[n-1]) == walSegment {
		var seg []walEntry
		if f := len(w.free); f > 0 {
			seg, w.free[f-1] = w.free[f-1], nil
			w.free = w.free[:f-1]
		} else {
			seg = make([]walEntry, 0, walSegment)
			prefaultSlice(seg)
		}
		w.segs = append(w.segs, seg)
	}
	last := len(w.segs) - 1
	w.segs[last] = append(w.segs[last], m)
	w.count++
	// Keep tick order even when writers race between NextTick and append.
	for si, i := last, len(w.segs[last])-1; ; {
		pi, ps := i-1, si
		if pi < 0 {
			if si == 0 {
				break
			}
			ps, pi = si-1, len(w.segs[si-1])-1
		}
		if w.segs[ps][pi].tick <= w.segs[si][i].tick {
			break
		}
		w.segs[ps][pi], w.segs[si][i] = w.segs[si][i], w.segs[ps][pi]
		si, i = ps, pi
	}
	w.bytes += entrySize(&m)
}

func (w *WAL) trimLocked() {
	for w.bytes > w.max && len(w.segs) > 1 {
		for i := range w.segs[0] {
			w.bytes -= entrySize(&w.segs[0][i])
		}
		w.count -= len(w.segs[0])
		if seg := w.segs[0]; cap(seg) == walSegment && len(w.free) < maxFreeSegments {
			clear(seg)
			w.free = append(w.free, seg[:0])
		}
		w.segs[0] = nil
		w.segs = w.segs[1:]
		w.trimmed = true
	}
}

// Range returns the first and last tick held (0,0 if empty).
func (w *WAL) Range() (first, last uint64) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.count == 0 {
		return 0, 0
	}
	ls := w.segs[len(w.segs)-1]
	return w.segs[0][0].tick, ls[len(ls)-1].tick
}

// Trimmed reports whether old markers were dropped (then ticks before Range's first are lost).
func (w *WAL) Trimmed() bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.trimmed
}

// Since returns markers with from < tick, up to about maxBytes of data (at least one), and
// whether more are available.
func (w *WAL) Since(from uint64, maxBytes int) ([]Marker, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	si := sort.Search(len(w.segs), func(i int) bool {
		seg := w.segs[i]
		return seg[len(seg)-1].tick > from
	})
	var out []Marker
	size := 0
	for ; si < len(w.segs); si++ {
		seg := w.segs[si]
		i := sort.Search(len(seg), func(i int) bool { return seg[i].tick > from })
		for ; i < len(seg); i++ {
			if len(out) > 0 && maxBytes > 0 && size >= maxBytes {
				return out, true
			}
			out = append(out, seg[i].marker())
			size += entrySize(&seg[i])
		}
	}
	return out, false
}

// Count returns the number of markers held.
func (w *WAL) Count() int {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.count
}

// --- revisions --------------------------------------------------------------------------

const revAlphabet = "-_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

var revDecode = func() [256]int8 {
	var t [256]int8
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(revAlphabet); i++ {
		t[revAlphabet[i]] = int8(i)
	}
	return t
}()

// encodeRev encodes a tick as the server's _rev string (HybridLogicalClock::encodeTimeStamp).
// appendRev appends encodeRev(t) to dst.
func appendRev(dst []byte, t uint64) []byte {
	var b [11]byte
	pos := 11
	for t > 0 && pos > 0 {
		pos--
		b[pos] = revAlphabet[t&0x3f]
		t >>= 6
	}
	return append(dst, b[pos:]...)
}

func encodeRev(t uint64) string {
	var b [11]byte
	pos := 11
	for t > 0 && pos > 0 {
		pos--
		b[pos] = revAlphabet[t&0x3f]
		t >>= 6
	}
	return string(b[pos:])
}

// decodeRev decodes a _rev string; 0 if it is not in the HLC format.
func decodeRev(s string) uint64 {
	if len(s) == 0 || len(s) > 11 {
		return 0
	}
	var t uint64
	for i := 0; i < len(s); i++ {
		v := revDecode[s[i]]
		if v < 0 {
			return 0
		}
		t = t<<6 | uint64(v)
	}
	return t
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
