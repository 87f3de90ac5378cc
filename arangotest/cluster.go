package arangotest

// Cluster mode: several Coordinators (each a Server with its own port and role COORDINATOR)
// over one shared Store, and DB-Servers that exist only as ids owning shards.
//
// Documents stay in their collection (one map per collection, as on a single server); a shard is
// a deterministic view of it: the document's shard is a hash of its shard key values modulo
// numberOfShards. Everything a Coordinator shows about shards (/_api/collection/{c}/shards,
// responsibleShard, clusterInventory) and every per-shard read (replication/dump with DBserver,
// /_api/dump with dbserver) goes through that one function, so they agree by construction.
//
// The plan of a collection (shard ids, servers per shard, replication factor, follower sync
// state) is derived lazily from the collection's stored properties the first time it is needed,
// so collections created by any path (POST /_api/collection, restore-collection, gharial,
// system collections) get one.
//
// Hooks in the core files (each one line, delegating here):
//   server.go  Options.cluster, Server.cluster, NewServer: s.joinCluster, s.systemDatabase,
//              s.registerClusterRoutes (registered first, so equal patterns win over core ones)
//   store.go   Store.cluster, Collection.Properties: c.db.st.cluster.decorateProperties

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ClusterOptions configure a Cluster. The embedded Options apply to every Coordinator; Addr, if
// it names a port, is the first Coordinator's port and the others take the following ports.
// DataDir gives every process of the cluster a directory of its own under it (Agency,
// Coordinators, DB-Servers; cluster_persist.go), all kept by the first Coordinator.
type ClusterOptions struct {
	Options
	// Coordinators is the number of Coordinator endpoints (default 1).
	Coordinators int
	// DBServers is the number of DB-Servers owning shards (default 2).
	DBServers int
	// SyncBase and SyncPerDocument set how long followers take to catch up after
	// replicationFactor is raised: SyncBase + SyncPerDocument*documents, capped at 5 s.
	// Defaults 250 ms and 20 µs.
	SyncBase        time.Duration
	SyncPerDocument time.Duration
	// MinReplicationFactor and MaxReplicationFactor are the Coordinators'
	// --cluster.min-replication-factor and --cluster.max-replication-factor (ClusterFeature;
	// 0 here means the server's default, 1 and 10). A new collection's replicationFactor must
	// lie between them (restore-collection always, POST /_api/collection unless
	// enforceReplicationFactor=false; ClusteringMutableProperties::validateDatabaseConfiguration).
	// As --cluster.default-replication-factor is not given, it is the minimum: the
	// replicationFactor of a database created without one, and so of its collections created
	// without one.
	MinReplicationFactor int
	MaxReplicationFactor int
}

// Cluster is a running arangotest cluster.
type Cluster struct {
	state  *clusterState
	coords []*Server
}

// clusterState is what all Coordinators of one cluster share.
type clusterState struct {
	store      *Store
	clusterID  string
	coordIDs   []string // CRDN-<uuid>, index = Coordinator number
	dbservers  []string // PRMR-<uuid>
	agentID    string   // AGNT-<uuid>
	syncBase   time.Duration
	syncPerDoc time.Duration
	minRF      int          // --cluster.min-replication-factor
	maxRF      int          // --cluster.max-replication-factor (checked only when > 0, as the server does)
	ownRoutes  atomic.Int64 // routes registered by registerClusterRoutes (they come first; same for every Coordinator)

	mu          sync.Mutex
	coords      []*Server
	members     map[string]*clusterMember // DB-Server and Agent endpoints (cluster_members.go)
	plans       map[*Collection]*shardPlan
	nextShard   uint64
	nextServer  int
	planVersion uint64
	// per replication batch and shard: read position of /_api/replication/dump with DBserver
	dumpPos map[string]int
	// dumpChunks: per batch and shard, the chunk counter sent as
	// x-arango-replication-lastincluded (as the DB-Server's CollectionIterator::currentTick)
	dumpChunks map[string]uint64
	// and the shard's documents in that batch's snapshot (cut on first use)
	dumpDocs map[string][]*Doc
}

// shardPlan is the Plan (and Current) of one collection.
type shardPlan struct {
	coll      *Collection
	shards    []string   // shard ids, in order (index = hash bucket)
	servers   [][]string // per shard: leader first, then followers (the Plan)
	keys      []string   // shard keys
	rf        int
	satellite bool
	// followers catching up after replicationFactor was raised: not in sync before syncUntil
	syncUntil time.Time
	inSyncN   int // servers per shard that were in sync before the change
	version   uint64
}

// NewCluster starts Coordinators over one shared state.
func NewCluster(opts ClusterOptions) (*Cluster, error) {
	if opts.Coordinators <= 0 {
		opts.Coordinators = 1
	}
	if opts.DBServers <= 0 {
		opts.DBServers = 2
	}
	if opts.SyncBase <= 0 {
		opts.SyncBase = 250 * time.Millisecond
	}
	if opts.SyncPerDocument <= 0 {
		opts.SyncPerDocument = 20 * time.Microsecond
	}
	minRF, maxRF, err := replicationFactorLimits(opts.MinReplicationFactor, opts.MaxReplicationFactor)
	if err != nil {
		return nil, err
	}
	if opts.JWTSecret == "" {
		// One secret for all Coordinators, so a JWT from one is valid on the others.
		var b [24]byte
		_, _ = rand.Read(b[:])
		opts.JWTSecret = fmt.Sprintf("%x", b)
	}
	var sid [8]byte
	_, _ = rand.Read(sid[:])
	cs := &clusterState{clusterID: newUUID(), agentID: "AGNT-" + newUUID(), syncBase: opts.SyncBase,
		syncPerDoc: opts.SyncPerDocument, minRF: minRF, maxRF: maxRF, plans: map[*Collection]*shardPlan{}, nextShard: 100000,
		planVersion: 1, dumpPos: map[string]int{}, dumpChunks: map[string]uint64{}, dumpDocs: map[string][]*Doc{}}
	cs.store = newStore(uint64(sid[0])<<40 | uint64(sid[1])<<32 | uint64(sid[2])<<24 | uint64(sid[3])<<16 | uint64(sid[4])<<8 | uint64(sid[5]) | 1<<40)
	cs.store.cluster = cs
	for i := 0; i < opts.DBServers; i++ {
		cs.dbservers = append(cs.dbservers, "PRMR-"+newUUID())
	}
	for i := 0; i < opts.Coordinators; i++ {
		cs.coordIDs = append(cs.coordIDs, "CRDN-"+newUUID())
	}
	host, port := "127.0.0.1", 0
	if opts.Addr != "" {
		h, p, err := net.SplitHostPort(opts.Addr)
		if err != nil {
			return nil, fmt.Errorf("arangotest: cluster address %q: %w", opts.Addr, err)
		}
		host = h
		port, _ = strconv.Atoi(p)
	}
	cl := &Cluster{state: cs}
	for i := 0; i < opts.Coordinators; i++ {
		o := opts.Options
		o.cluster = cs
		p := 0
		if port != 0 {
			p = port + i
		}
		o.Addr = net.JoinHostPort(host, strconv.Itoa(p))
		if i > 0 {
			// One store, one data directory: the first Coordinator keeps it (and its LOCK).
			o.DataDir = ""
		}
		s, err := NewServer(o)
		if err != nil {
			cl.Close()
			return nil, fmt.Errorf("arangotest: start Coordinator %d: %w", i+1, err)
		}
		cl.coords = append(cl.coords, s)
		cs.mu.Lock()
		cs.coords = append(cs.coords, s)
		cs.mu.Unlock()
	}
	if err := cs.startMembers(host); err != nil {
		cl.Close()
		return nil, err
	}
	return cl, nil
}

// kMaxReplicationFactor is ClusterFeature's hard upper bound of the replication factor options.
const kMaxReplicationFactor = 10

// replicationFactorLimits checks the replication factor options as ClusterFeature does (the
// options' ranges in collectOptions, the default against them in prepare); 0 means not given.
func replicationFactorLimits(minRF, maxRF int) (int, int, error) {
	if minRF == 0 {
		minRF = 1
	}
	if maxRF == 0 {
		maxRF = kMaxReplicationFactor
	}
	if minRF < 1 || minRF > kMaxReplicationFactor {
		return 0, 0, fmt.Errorf("arangotest: --cluster.min-replication-factor %d: must be between 1 and %d", minRF, kMaxReplicationFactor)
	}
	if maxRF < 0 || maxRF > kMaxReplicationFactor {
		return 0, 0, fmt.Errorf("arangotest: --cluster.max-replication-factor %d: must be between 0 and %d", maxRF, kMaxReplicationFactor)
	}
	// --cluster.default-replication-factor, not given, is the minimum; it must lie within both.
	if minRF > maxRF {
		return 0, 0, errors.New("arangotest: Invalid value for `--cluster.default-replication-factor`. Must not be lower than " +
			"`--cluster.min-replication-factor` or higher than `--cluster.max-replication-factor`")
	}
	return minRF, maxRF, nil
}

// defaultRF is --cluster.default-replication-factor: the minimum, as it is not set.
func (cs *clusterState) defaultRF() int { return cs.minRF }

// Endpoints returns the Coordinators' URLs.
func (cl *Cluster) Endpoints() []string {
	out := make([]string, len(cl.coords))
	for i, s := range cl.coords {
		out[i] = s.Endpoint()
	}
	return out
}

// Coordinators returns the Coordinator servers (e.g. to inject faults into one of them).
func (cl *Cluster) Coordinators() []*Server { return append([]*Server(nil), cl.coords...) }

// MemberEndpoints returns the endpoints (tcp://host:port) of the DB-Servers and the Agent, by
// server id, as /_admin/cluster/health lists them.
func (cl *Cluster) MemberEndpoints() map[string]string {
	out := map[string]string{}
	for _, id := range append(append([]string{}, cl.state.dbservers...), cl.state.agentID) {
		out[id] = cl.state.memberEndpoint(id)
	}
	return out
}

// DBServers returns the DB-Server ids (PRMR-...).
func (cl *Cluster) DBServers() []string { return append([]string(nil), cl.state.dbservers...) }

// Close stops every Coordinator and the DB-Server and Agent endpoints.
func (cl *Cluster) Close() error {
	var errs []error
	// The first Coordinator last: it keeps the data directory (cluster_persist.go), so its
	// final save sees every write the others accepted.
	for i := len(cl.coords) - 1; i >= 0; i-- {
		if err := cl.coords[i].Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := cl.state.closeMembers(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ShardOf returns the shard id that holds (or would hold) the document with these shard key
// values in collection coll of database db; for tests.
func (cl *Cluster) ShardOf(db, coll string, doc []byte) (string, error) {
	d := cl.state.store.Database(db)
	if d == nil {
		return "", errDatabaseNotFound()
	}
	c := d.Collection(coll)
	if c == nil {
		return "", errCollectionNotFound(coll)
	}
	p := cl.state.plan(c)
	i, err := p.bucketOfBody(doc)
	if err != nil {
		return "", err
	}
	return p.shards[i], nil
}

// --- hooks called from the core -----------------------------------------------------------------

// joinCluster makes a Coordinator use the cluster's shared store.
func (s *Server) joinCluster(opts Options) {
	if opts.cluster == nil {
		return
	}
	s.cluster = opts.cluster
	if s.cluster.store.version == ([3]int{}) {
		// the first Coordinator, before any serves; the others report the same version
		s.cluster.store.version = s.ver
	}
	s.store = s.cluster.store
}

// systemDatabase returns _system, creating it once per store.
func (s *Server) systemDatabase() (*Database, error) {
	if s.cluster != nil {
		s.cluster.mu.Lock()
		defer s.cluster.mu.Unlock()
		if db := s.store.Database("_system"); db != nil {
			return db, nil
		}
	}
	return s.store.createDatabase("_system", nil)
}

// coordIndex returns the Coordinator number of s.
func (cs *clusterState) coordIndex(s *Server) int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for i, c := range cs.coords {
		if c == s {
			return i
		}
	}
	return len(cs.coords) // still starting: it will be the next one
}

func (s *Server) coordID() string {
	i := s.cluster.coordIndex(s)
	if i >= len(s.cluster.coordIDs) {
		i = len(s.cluster.coordIDs) - 1
	}
	return s.cluster.coordIDs[i]
}

// --- plans and shard placement ------------------------------------------------------------------

// plan returns the plan of c, deriving it on first use.
func (cs *clusterState) plan(c *Collection) *shardPlan {
	cs.mu.Lock()
	if p := cs.plans[c]; p != nil {
		cs.mu.Unlock()
		return p
	}
	cs.mu.Unlock()
	c.mu.RLock()
	props := maps.Clone(c.props)
	c.mu.RUnlock()
	return cs.planFromProps(c, props)
}

// planFromProps derives and records the plan of c from its properties (c.mu may be held by
// the caller: this does not lock c).
func (cs *clusterState) planFromProps(c *Collection, props map[string]json.RawMessage) *shardPlan {
	var proto *shardPlan
	if name := propString(props, "distributeShardsLike"); name != "" && c.db != nil {
		if pc := c.db.Collection(name); pc != nil && pc != c {
			proto = cs.plan(pc)
		}
	} else if c.IsSystem && c.Name != "_graphs" && c.db != nil {
		if pc := c.db.Collection("_graphs"); pc != nil && pc != c {
			proto = cs.plan(pc)
		}
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if p := cs.plans[c]; p != nil {
		return p
	}
	p := &shardPlan{coll: c, keys: []string{"_key"}, rf: 1}
	if ks := propStrings(props, "shardKeys"); len(ks) > 0 {
		p.keys = ks
	}
	n := propInt(props, "numberOfShards", 1)
	if n < 1 {
		n = 1
	}
	if v, ok := props["replicationFactor"]; ok {
		if s, isStr := rawString(v); isStr && s == "satellite" {
			p.satellite = true
		} else if r, err := strconv.Atoi(strings.TrimSpace(string(v))); err == nil && r > 0 {
			p.rf = r
		} else if r == 0 && err == nil {
			p.satellite = true
		}
	}
	if p.satellite {
		n = 1
		p.rf = len(cs.dbservers)
	}
	p.rf = min(p.rf, len(cs.dbservers))
	if proto != nil {
		n = len(proto.shards)
	}
	for i := 0; i < n; i++ {
		cs.nextShard++
		p.shards = append(p.shards, "s"+strconv.FormatUint(cs.nextShard, 10))
		var servers []string
		if proto != nil {
			// Co-location: the same servers as the prototype's shard at this position.
			servers = append(servers, proto.servers[i]...)
			for len(servers) < p.rf {
				servers = append(servers, cs.nextFollower(servers))
			}
			servers = servers[:p.rf]
		} else {
			start := (cs.nextServer + i) % len(cs.dbservers)
			for j := 0; j < p.rf; j++ {
				servers = append(servers, cs.dbservers[(start+j)%len(cs.dbservers)])
			}
		}
		p.servers = append(p.servers, servers)
	}
	if proto == nil {
		cs.nextServer = (cs.nextServer + n) % len(cs.dbservers)
	}
	p.inSyncN = p.rf
	cs.planVersion++
	p.version = cs.planVersion
	cs.plans[c] = p
	return p
}

// nextFollower picks a DB-Server not in have (lock held).
func (cs *clusterState) nextFollower(have []string) string {
	for _, id := range cs.dbservers {
		found := false
		for _, h := range have {
			if h == id {
				found = true
				break
			}
		}
		if !found {
			return id
		}
	}
	return cs.dbservers[0]
}

// setReplicationFactor changes the plan's replication factor. Raising it adds followers that
// are out of sync for a while (scaled with the number of documents).
func (cs *clusterState) setReplicationFactor(p *shardPlan, rf int, satellite bool, docs int) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if satellite {
		rf = len(cs.dbservers)
	}
	rf = max(min(rf, len(cs.dbservers)), 1)
	p.satellite = satellite
	old := p.rf
	if rf == old {
		return
	}
	for i := range p.servers {
		s := p.servers[i]
		if rf < len(s) {
			s = s[:rf]
		}
		for len(s) < rf {
			s = append(s, cs.nextFollower(s))
		}
		p.servers[i] = s
	}
	if rf > old {
		if !time.Now().Before(p.syncUntil) {
			p.inSyncN = old
		}
		d := cs.syncBase + time.Duration(docs)*cs.syncPerDoc
		p.syncUntil = time.Now().Add(min(d, 5*time.Second))
	} else {
		p.inSyncN = min(p.inSyncN, rf)
	}
	p.rf = rf
	cs.planVersion++
	p.version = cs.planVersion
}

// current returns the servers of shard i that are in sync (leader first) and whether all
// planned servers are.
func (cs *clusterState) current(p *shardPlan, i int) ([]string, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	s := p.servers[i]
	if time.Now().Before(p.syncUntil) && p.inSyncN < len(s) {
		return append([]string(nil), s[:max(p.inSyncN, 1)]...), false
	}
	return append([]string(nil), s...), true
}

// planned returns a copy of the servers of shard i.
func (cs *clusterState) planned(p *shardPlan, i int) []string {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return append([]string(nil), p.servers[i]...)
}

// allInSync reports whether every follower of the collection has caught up.
func (cs *clusterState) allInSync(p *shardPlan) bool {
	for i := range p.shards {
		if _, ok := cs.current(p, i); !ok {
			return false
		}
	}
	return true
}

// shardByID finds a shard of any collection in db; nil if unknown.
func (cs *clusterState) shardByID(db *Database, id string) (*shardPlan, int) {
	for _, c := range db.Collections() {
		p := cs.plan(c)
		for i, s := range p.shards {
			if s == id {
				return p, i
			}
		}
	}
	return nil, -1
}

// bucketOfDoc returns the shard index of a stored document.
func (p *shardPlan) bucketOfDoc(d *Doc) int {
	if len(p.shards) == 1 {
		return 0
	}
	if len(p.keys) == 1 && p.keys[0] == "_key" {
		h := fnv.New64a()
		h.Write([]byte{'s'})
		h.Write([]byte(d.Key))
		return int(mix64(h.Sum64()) % uint64(len(p.shards)))
	}
	i, _ := p.bucketOfBody(d.Raw)
	return i
}

// bucketOfBody returns the shard index for a document body (its shard key attributes; missing
// ones count as null, as the server hashes them).
func (p *shardPlan) bucketOfBody(body []byte) (int, error) {
	vals := make([][]byte, len(p.keys))
	err := scanObject(body, func(k string, v []byte) error {
		for i, sk := range p.keys {
			if sk == k {
				vals[i] = v
			}
		}
		return nil
	})
	if err != nil {
		return 0, newError(400, 600, "invalid document: "+err.Error())
	}
	if len(p.shards) == 1 {
		return 0, nil
	}
	h := fnv.New64a()
	for i, v := range vals {
		if i > 0 {
			h.Write([]byte{0})
		}
		if v == nil {
			h.Write([]byte("null"))
			continue
		}
		if s, ok := rawString(v); ok {
			h.Write([]byte{'s'})
			h.Write([]byte(s))
			continue
		}
		var compact bytes.Buffer
		if json.Compact(&compact, v) == nil {
			h.Write(compact.Bytes())
		} else {
			h.Write(v)
		}
	}
	return int(mix64(h.Sum64()) % uint64(len(p.shards))), nil
}

// mix64 spreads every input bit over the low bits (the murmur3 finalizer): FNV's low bits
// depend only on the low bits of the input bytes, which would place keys that differ in
// high bits only on the same shard.
func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// shardDocs filters a snapshot to the documents of shard i.
func (p *shardPlan) shardDocs(docs []*Doc, i int) []*Doc {
	if len(p.shards) == 1 {
		return docs
	}
	out := make([]*Doc, 0, len(docs)/len(p.shards)+1)
	for _, d := range docs {
		if p.bucketOfDoc(d) == i {
			out = append(out, d)
		}
	}
	return out
}

func propString(props map[string]json.RawMessage, k string) string {
	if v, ok := props[k]; ok {
		s, _ := rawString(v)
		return s
	}
	return ""
}

func propStrings(props map[string]json.RawMessage, k string) []string {
	var out []string
	if v, ok := props[k]; ok {
		_ = json.Unmarshal(v, &out)
	}
	return out
}

func propInt(props map[string]json.RawMessage, k string, def int) int {
	if v, ok := props[k]; ok {
		var f float64
		if json.Unmarshal(v, &f) == nil {
			return int(f)
		}
	}
	return def
}

// --- properties as a Coordinator shows them --------------------------------------------------------

// decorateProperties adds the sharding fields a Coordinator always reports (c.mu is held by the
// caller, read-locked). No-op on a single server (nil receiver).
func (cs *clusterState) decorateProperties(c *Collection, m map[string]any) {
	if cs == nil {
		return
	}
	p := cs.planFromProps(c, c.props)
	cs.mu.Lock()
	rf, sat, n := p.rf, p.satellite, len(p.shards)
	cs.mu.Unlock()
	m["numberOfShards"] = n
	m["shardKeys"] = p.keys
	if sat {
		m["replicationFactor"] = "satellite"
		m["writeConcern"] = 1
		m["minReplicationFactor"] = 1
	} else {
		m["replicationFactor"] = rf
		wc := propInt(c.props, "writeConcern", propInt(c.props, "minReplicationFactor", 1))
		m["writeConcern"] = wc
		m["minReplicationFactor"] = wc
	}
	// Given attributes are echoed as they were given, the rest gets the Coordinator's defaults.
	for k, def := range map[string]any{"shardingStrategy": "hash", "isSmart": false, "isDisjoint": false} {
		if v, ok := c.props[k]; ok {
			m[k] = v
		} else {
			m[k] = def
		}
	}
	for _, k := range []string{"distributeShardsLike", "smartJoinAttribute", "smartGraphAttribute"} {
		if v, ok := c.props[k]; ok && rawKind(v) == 's' {
			m[k] = v
		}
	}
	if _, ok := m["distributeShardsLike"]; !ok && c.IsSystem && c.Name != "_graphs" {
		m["distributeShardsLike"] = "_graphs"
	}
	// Coordinators do not report objectId (it is per shard on the DB-Servers).
	delete(m, "objectId")
}

// parametersFor is the inventory "parameters" of c with the cluster's shard map.
func (cs *clusterState) parametersFor(c *Collection, params map[string]any) map[string]any {
	p := cs.plan(c)
	props := map[string]any{}
	cs.decorateProperties(c, props)
	maps.Copy(params, props)
	shards := map[string]any{}
	for i, id := range p.shards {
		shards[id] = cs.planned(p, i)
	}
	params["shards"] = shards
	return params
}
