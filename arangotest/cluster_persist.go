package arangotest

// The data directory of a cluster (ClusterOptions.DataDir, cmd/arangotest --cluster --data-dir):
// every process of the cluster gets a directory of its own under it, as a real deployment has
// one per arangod (the starter's agent8531, coordinator8529, dbserver8530):
//
//	D/agent-1/                 the Agency: LOCK, ENGINE, SERVER ({"serverId":"AGNT-..."}),
//	  engine-arangotest/MANIFEST.json   the Plan: cluster identity (cluster, Coordinator and
//	                           DB-Server ids), databases, collections (properties, indexes, key
//	                           generators), views, and per collection its shards with their
//	                           servers (leader first), shard keys and replication factor, plus
//	                           the next shard id: what a restart reads back
//	  backups/<id>/            hot backups, each a whole image (see below)
//	D/coordinator-<n>/         LOCK, ENGINE, SERVER ({"serverId":"CRDN-..."}): a Coordinator
//	                           keeps no data
//	D/dbserver-<PRMR id>/      LOCK, ENGINE, SERVER ({"serverId":"PRMR-..."}),
//	  engine-arangotest/<shard>-<content hash>-<count>.jsonl   the documents of every shard
//	                           this DB-Server leads (followers keep no copy on disk)
//	  engine-arangotest/MANIFEST.json   the shards this DB-Server holds (informational)
//
// The Agency's MANIFEST.json is the commit point: a save writes the shard files first (their
// names carry their content, so unchanged shards cost nothing), then the Plan atomically, then
// each DB-Server's list, and only then removes shard files the Plan no longer names. A restart
// reads the Plan, reads every shard from its leader's directory (checking the DB-Server's
// SERVER file, the file and its document count) and comes back with the same ids, shard ids
// and placement.
//
// Every directory is locked (datadir.Lock) by the first Coordinator, which runs the cluster's
// persistence: all processes live in one OS process here, so they start and stop together.
// Hot backups are kept whole in the Agency's directory rather than split over the DB-Servers'
// backups/ directories as arangod does (CONFORMANCE.md).

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/arangobackup/godump/datadir"
)

const (
	agentDirName      = "agent-1"
	coordDirPrefix    = "coordinator-"
	dbserverDirPrefix = "dbserver-"
	clusterPlanFormat = 1
	clusterPlanKind   = "arangotest-agency"
)

// clusterDirs is the per-process layout of a cluster's data directory (dataDir.cluster).
type clusterDirs struct {
	top   string // D
	cs    *clusterState
	locks []*datadir.Lockfile // Coordinators' and DB-Servers' (the Agency's is dataDir.lock)
}

// clusterPlanFile is the Agency's MANIFEST.json.
type clusterPlanFile struct {
	Format       int                     `json:"format"`
	Kind         string                  `json:"kind"` // clusterPlanKind
	ClusterID    string                  `json:"clusterId"`
	AgentID      string                  `json:"agentId"`
	Coordinators []string                `json:"coordinators"`
	DBServers    []string                `json:"dbservers"`
	NextShard    uint64                  `json:"nextShard"`
	NextServer   int                     `json:"nextServer"`
	PlanVersion  uint64                  `json:"planVersion"`
	State        *stateImage             `json:"state"`  // documents not included (collImage.File empty)
	Shards       map[string]*collShardsP `json:"shards"` // key: "<database id>/<collection id>"
}

// collShardsP is the Plan of one collection.
type collShardsP struct {
	Keys      []string      `json:"shardKeys"`
	RF        int           `json:"replicationFactor"`
	Satellite bool          `json:"satellite,omitempty"`
	Version   uint64        `json:"version"`
	Shards    []shardOnDisk `json:"list"`
}

// shardOnDisk is one shard: its servers (leader first) and its data file on the leader.
type shardOnDisk struct {
	ID      string   `json:"id"`
	Servers []string `json:"servers"`
	File    string   `json:"file"`
	Count   int      `json:"count"`
	Bytes   int64    `json:"bytes"`
}

// dbserverShardList is a DB-Server's MANIFEST.json.
type dbserverShardList struct {
	Format   int               `json:"format"`
	ServerID string            `json:"serverId"`
	Shards   []dbserverShardAt `json:"shards"`
}

type dbserverShardAt struct {
	Database   string `json:"database"`
	Collection string `json:"collection"`
	Shard      string `json:"shard"`
	File       string `json:"file"`
	Count      int    `json:"count"`
}

func shardKeyOf(dbID, collID uint64) string {
	return strconv.FormatUint(dbID, 10) + "/" + strconv.FormatUint(collID, 10)
}

func (cd *clusterDirs) coordDir(i int) string {
	return filepath.Join(cd.top, coordDirPrefix+strconv.Itoa(i+1))
}

func (cd *clusterDirs) dbserverDir(id string) string {
	return filepath.Join(cd.top, dbserverDirPrefix+id)
}

func (cd *clusterDirs) dbserverEngine(id string) string {
	return filepath.Join(cd.dbserverDir(id), engineDirName)
}

// lockProcessDir creates dir, locks it and writes its ENGINE and SERVER files.
func lockProcessDir(dir, serverID string) (*datadir.Lockfile, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("arangotest: data directory %q: %w", dir, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "SERVER")); err == nil {
		var sid struct {
			ServerID string `json:"serverId"`
		}
		if json.Unmarshal(b, &sid) == nil && sid.ServerID != "" && sid.ServerID != serverID {
			return nil, fmt.Errorf("arangotest: data directory %q belongs to server %s, expected %s (directories mixed up?)",
				dir, sid.ServerID, serverID)
		}
	}
	lk, err := datadir.Lock(dir)
	if err != nil {
		return nil, fmt.Errorf("arangotest: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, "ENGINE"), []byte("arangotest")); err != nil {
		lk.Unlock()
		return nil, fmt.Errorf("arangotest: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, "SERVER"), mustJSON(map[string]any{"serverId": serverID})); err != nil {
		lk.Unlock()
		return nil, fmt.Errorf("arangotest: %w", err)
	}
	return lk, nil
}

// unlockAll releases the Coordinators' and DB-Servers' locks.
func (cd *clusterDirs) unlockAll() error {
	var errs []error
	for _, lk := range cd.locks {
		if err := lk.Unlock(); err != nil {
			errs = append(errs, err)
		}
	}
	cd.locks = nil
	return errors.Join(errs...)
}

// initClusterDataDir opens a cluster's data directory (called by the first Coordinator's
// initBackup, before any Coordinator serves): it locks every process's directory, loads the
// state a previous run left (identity, Plan, shards) or writes the fresh one.
func (s *Server) initClusterDataDir() error {
	cs := s.cluster
	top, err := filepath.Abs(s.opts.DataDir)
	if err != nil {
		return fmt.Errorf("arangotest: data directory %q: %w", s.opts.DataDir, err)
	}
	if fileExists(filepath.Join(top, engineDirName, manifestName)) {
		return fmt.Errorf("arangotest: data directory %s holds a single server's data, not a cluster's", top)
	}
	d, err := openDataDir(filepath.Join(top, agentDirName))
	if err != nil {
		return err
	}
	cd := &clusterDirs{top: top, cs: cs}
	d.cluster = cd
	fail := func(err error) error {
		cd.unlockAll()
		d.lock.Unlock()
		return err
	}
	plan, err := cd.readPlan()
	if err != nil {
		return fail(fmt.Errorf("arangotest: %w", err))
	}
	if plan != nil {
		if len(plan.DBServers) != len(cs.dbservers) {
			return fail(fmt.Errorf("arangotest: data directory %s holds a cluster with %d DB-Servers, started with %d (use --dbservers %d)",
				top, len(plan.DBServers), len(cs.dbservers), len(plan.DBServers)))
		}
		for _, id := range plan.DBServers {
			if strings.ContainsAny(id, `/\`) || !fileExists(filepath.Join(cd.dbserverDir(id), "SERVER")) {
				return fail(fmt.Errorf("arangotest: data directory %s: DB-Server %s has no data directory %s (restore every process's directory)",
					top, id, cd.dbserverDir(id)))
			}
		}
		cs.clusterID, cs.agentID = plan.ClusterID, plan.AgentID
		copy(cs.dbservers, plan.DBServers)
		for i := range cs.coordIDs {
			if i < len(plan.Coordinators) {
				cs.coordIDs[i] = plan.Coordinators[i]
			}
		}
	}
	if err := writeFileAtomic(filepath.Join(d.root, "SERVER"), mustJSON(map[string]any{"serverId": cs.agentID})); err != nil {
		return fail(fmt.Errorf("arangotest: %w", err))
	}
	for i, id := range cs.coordIDs {
		lk, err := lockProcessDir(cd.coordDir(i), id)
		if err != nil {
			return fail(err)
		}
		cd.locks = append(cd.locks, lk)
	}
	for _, id := range cs.dbservers {
		lk, err := lockProcessDir(cd.dbserverDir(id), id)
		if err != nil {
			return fail(err)
		}
		cd.locks = append(cd.locks, lk)
		if err := os.MkdirAll(cd.dbserverEngine(id), 0o755); err != nil {
			return fail(fmt.Errorf("arangotest: data directory %q: %w", cd.dbserverDir(id), err))
		}
	}
	if plan != nil {
		if err := cd.readShards(plan); err != nil {
			return fail(fmt.Errorf("arangotest: data directory %s: %w", top, err))
		}
		if plan.State.ServerID != 0 {
			s.serverID = plan.State.ServerID
			s.store.serverID = plan.State.ServerID
		}
		if err := s.store.installImage(plan.State); err != nil {
			return fail(fmt.Errorf("arangotest: data directory %s: %w", top, err))
		}
		cd.installPlans(plan)
	} else {
		role, nrDB := s.topology()
		if err := d.save(s.store.captureImage(s.version, role, nrDB)); err != nil {
			return fail(fmt.Errorf("arangotest: %w", err))
		}
	}
	s.attachDataDir(d)
	return nil
}

// readPlan reads the Agency's MANIFEST.json; nil if there is none yet.
func (cd *clusterDirs) readPlan() (*clusterPlanFile, error) {
	p := filepath.Join(cd.top, agentDirName, engineDirName, manifestName)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read cluster plan: %w", err)
	}
	var plan clusterPlanFile
	if err := json.Unmarshal(b, &plan); err != nil {
		return nil, fmt.Errorf("read cluster plan %s: %w", p, err)
	}
	if plan.Format != clusterPlanFormat || plan.Kind != clusterPlanKind || plan.State == nil {
		return nil, fmt.Errorf("read cluster plan %s: not an arangotest cluster plan (format %d, kind %q)", p, plan.Format, plan.Kind)
	}
	if len(plan.DBServers) == 0 || plan.ClusterID == "" {
		return nil, fmt.Errorf("read cluster plan %s: no cluster identity", p)
	}
	return &plan, nil
}

// readShards fills the Plan's state with the documents of every shard, read from its leader.
func (cd *clusterDirs) readShards(plan *clusterPlanFile) error {
	for _, db := range plan.State.Databases {
		for _, ci := range db.Collections {
			cp := plan.Shards[shardKeyOf(db.ID, ci.ID)]
			if cp == nil {
				return fmt.Errorf("database %q collection %q: no shards in the plan", db.Name, ci.Name)
			}
			var docs []*Doc
			for _, sh := range cp.Shards {
				if len(sh.Servers) == 0 || sh.File == "" || strings.ContainsAny(sh.File, `/\`) ||
					strings.ContainsAny(sh.Servers[0], `/\`) {
					return fmt.Errorf("database %q collection %q shard %s: bad plan entry", db.Name, ci.Name, sh.ID)
				}
				p := filepath.Join(cd.dbserverEngine(sh.Servers[0]), sh.File)
				part, err := readDataFile(p)
				if err != nil {
					return fmt.Errorf("database %q collection %q shard %s on %s: %w", db.Name, ci.Name, sh.ID, sh.Servers[0], err)
				}
				if len(part) != sh.Count {
					return fmt.Errorf("database %q collection %q shard %s: %s holds %d documents, the plan says %d",
						db.Name, ci.Name, sh.ID, p, len(part), sh.Count)
				}
				docs = append(docs, part...)
			}
			if len(docs) != ci.Count {
				return fmt.Errorf("database %q collection %q: its shards hold %d documents, the plan says %d",
					db.Name, ci.Name, len(docs), ci.Count)
			}
			// Back to the order of writing (the collection's iteration order before the restart).
			sort.SliceStable(docs, func(i, j int) bool { return docs[i].Tick < docs[j].Tick })
			ci.docs = docs
		}
	}
	return nil
}

// installPlans gives the freshly installed collections their saved Plans (same shard ids and
// servers), and the cluster its counters.
func (cd *clusterDirs) installPlans(plan *clusterPlanFile) {
	cs := cd.cs
	plans := map[*Collection]*shardPlan{}
	for _, db := range cs.store.Databases() {
		for _, c := range db.Collections() {
			cp := plan.Shards[shardKeyOf(db.ID, c.ID)]
			if cp == nil {
				continue
			}
			p := &shardPlan{coll: c, keys: cp.Keys, rf: cp.RF, satellite: cp.Satellite, inSyncN: cp.RF, version: cp.Version}
			for _, sh := range cp.Shards {
				p.shards = append(p.shards, sh.ID)
				p.servers = append(p.servers, append([]string(nil), sh.Servers...))
			}
			plans[c] = p
		}
	}
	cs.mu.Lock()
	cs.plans = plans
	cs.nextShard = max(cs.nextShard, plan.NextShard)
	cs.nextServer = plan.NextServer % len(cs.dbservers)
	cs.planVersion = max(cs.planVersion, plan.PlanVersion)
	cs.mu.Unlock()
}

// shardFileName names a shard's data file by shard id and content hash.
func shardFileName(shard string, docs []*Doc) string {
	h := fnv.New64a()
	for _, d := range docs {
		h.Write([]byte(d.Key))
		h.Write([]byte{0})
		h.Write([]byte(d.Rev))
		h.Write([]byte{0})
	}
	return fmt.Sprintf("%s-%016x-%d.jsonl", shard, h.Sum64(), len(docs))
}

// save writes img as the cluster's current state: every shard to its leader's directory, then
// the Plan (the commit point), then the DB-Servers' lists, then removes stale shard files.
// img must be the store's current state (its collections are looked up by id for their Plans);
// a collection dropped since img was taken is left out.
func (cd *clusterDirs) save(agentRoot string, img *stateImage) error {
	cs := cd.cs
	plan := &clusterPlanFile{Format: clusterPlanFormat, Kind: clusterPlanKind, Shards: map[string]*collShardsP{}}
	state := *img
	state.Databases, state.Plans = nil, nil // the Plan is written below, with the data files
	keep := map[string]map[string]bool{}
	lists := map[string]*dbserverShardList{}
	for _, id := range cs.dbservers {
		keep[id] = map[string]bool{manifestName: true}
		lists[id] = &dbserverShardList{Format: clusterPlanFormat, ServerID: id, Shards: []dbserverShardAt{}}
	}
	for _, di := range img.Databases {
		sdb := cs.store.Database(di.Name)
		if sdb == nil || sdb.ID != di.ID {
			continue
		}
		byID := map[uint64]*Collection{}
		for _, c := range sdb.Collections() {
			byID[c.ID] = c
		}
		ndi := *di
		ndi.Collections = nil
		for _, ci := range di.Collections {
			c := byID[ci.ID]
			if c == nil {
				continue
			}
			p := cs.plan(c)
			cs.mu.Lock()
			cp := &collShardsP{Keys: append([]string(nil), p.keys...), RF: p.rf, Satellite: p.satellite, Version: p.version}
			servers := make([][]string, len(p.shards))
			for i := range p.shards {
				servers[i] = append([]string(nil), p.servers[i]...)
			}
			cs.mu.Unlock()
			buckets := make([][]*Doc, len(p.shards))
			for _, d := range ci.docs {
				b := p.bucketOfDoc(d)
				buckets[b] = append(buckets[b], d)
			}
			for i, id := range p.shards {
				leader := servers[i][0]
				if keep[leader] == nil {
					return fmt.Errorf("database %q collection %q shard %s: leader %s is not a DB-Server of this cluster", di.Name, ci.Name, id, leader)
				}
				name := shardFileName(id, buckets[i])
				path := filepath.Join(cd.dbserverEngine(leader), name)
				var size int64
				if fi, err := os.Stat(path); err == nil {
					size = fi.Size()
				} else {
					n, err := writeDataFile(path, buckets[i])
					if err != nil {
						return fmt.Errorf("database %q collection %q shard %s: %w", di.Name, ci.Name, id, err)
					}
					size = n
				}
				keep[leader][name] = true
				cp.Shards = append(cp.Shards, shardOnDisk{ID: id, Servers: servers[i], File: name, Count: len(buckets[i]), Bytes: size})
				lists[leader].Shards = append(lists[leader].Shards, dbserverShardAt{Database: di.Name, Collection: ci.Name,
					Shard: id, File: name, Count: len(buckets[i])})
			}
			plan.Shards[shardKeyOf(di.ID, ci.ID)] = cp
			nci := *ci
			nci.File, nci.Bytes, nci.docs = "", 0, nil
			nci.Count = len(ci.docs)
			ndi.Collections = append(ndi.Collections, &nci)
		}
		state.Databases = append(state.Databases, &ndi)
	}
	cs.mu.Lock()
	plan.ClusterID, plan.AgentID = cs.clusterID, cs.agentID
	plan.Coordinators = append([]string(nil), cs.coordIDs...)
	plan.DBServers = append([]string(nil), cs.dbservers...)
	plan.NextShard, plan.NextServer, plan.PlanVersion = cs.nextShard, cs.nextServer, cs.planVersion
	cs.mu.Unlock()
	plan.State = &state
	b, err := json.MarshalIndent(plan, "", " ")
	if err != nil {
		return fmt.Errorf("encode cluster plan: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(agentRoot, engineDirName, manifestName), b); err != nil {
		return err
	}
	var errs []error
	for _, id := range cs.dbservers {
		if err := writeFileAtomic(filepath.Join(cd.dbserverEngine(id), manifestName), mustJSON(lists[id])); err != nil {
			errs = append(errs, err)
			continue
		}
		ents, err := os.ReadDir(cd.dbserverEngine(id))
		if err != nil {
			errs = append(errs, fmt.Errorf("data directory %s: %w", cd.dbserverDir(id), err))
			continue
		}
		for _, e := range ents {
			if !keep[id][e.Name()] {
				os.Remove(filepath.Join(cd.dbserverEngine(id), e.Name()))
			}
		}
	}
	return errors.Join(errs...)
}

// --- the Plan inside an image (hot backups) --------------------------------------------------------

// planImage is one collection's Plan as an instance image carries it in cluster mode, so that a
// hot restore brings back the shard ids and placement of the moment, as restoring arangod's
// Agency dump does.
type planImage struct {
	Collection string     `json:"collection"` // "<database id>/<collection id>"
	Keys       []string   `json:"shardKeys"`
	RF         int        `json:"replicationFactor"`
	Satellite  bool       `json:"satellite,omitempty"`
	Shards     []string   `json:"shards"`
	Servers    [][]string `json:"servers"`
}

// capturePlans returns the Plans of every collection of the store (nil on a single server).
func (cs *clusterState) capturePlans() []planImage {
	if cs == nil {
		return nil
	}
	var out []planImage
	for _, db := range cs.store.Databases() {
		for _, c := range db.Collections() {
			p := cs.plan(c)
			cs.mu.Lock()
			pi := planImage{Collection: shardKeyOf(db.ID, c.ID), Keys: append([]string(nil), p.keys...), RF: p.rf,
				Satellite: p.satellite, Shards: append([]string(nil), p.shards...)}
			for _, s := range p.servers {
				pi.Servers = append(pi.Servers, append([]string(nil), s...))
			}
			cs.mu.Unlock()
			out = append(out, pi)
		}
	}
	return out
}

// restorePlans gives the collections just installed from an image the Plans the image carries
// (those naming only this cluster's DB-Servers); the others derive theirs on first use. Plans
// of collections no longer in the store are dropped. No-op on a single server.
func (cs *clusterState) restorePlans(plans []planImage) {
	if cs == nil {
		return
	}
	byKey := make(map[string]*planImage, len(plans))
	for i := range plans {
		byKey[plans[i].Collection] = &plans[i]
	}
	colls := map[string]*Collection{}
	for _, db := range cs.store.Databases() {
		for _, c := range db.Collections() {
			colls[shardKeyOf(db.ID, c.ID)] = c
		}
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	known := map[string]bool{}
	for _, id := range cs.dbservers {
		known[id] = true
	}
	next := map[*Collection]*shardPlan{}
	for key, c := range colls {
		// The image's Plan wins over one derived while the image was being built.
		pi := byKey[key]
		if pi == nil || len(pi.Shards) == 0 || len(pi.Shards) != len(pi.Servers) {
			if p := cs.plans[c]; p != nil {
				next[c] = p
			}
			continue
		}
		ok := true
		for _, s := range pi.Servers {
			for _, id := range s {
				ok = ok && known[id]
			}
			ok = ok && len(s) > 0
		}
		if !ok {
			if p := cs.plans[c]; p != nil {
				next[c] = p
			}
			continue
		}
		cs.planVersion++
		p := &shardPlan{coll: c, keys: append([]string(nil), pi.Keys...), rf: pi.RF, satellite: pi.Satellite,
			inSyncN: pi.RF, version: cs.planVersion, shards: append([]string(nil), pi.Shards...)}
		for _, s := range pi.Servers {
			p.servers = append(p.servers, append([]string(nil), s...))
		}
		next[c] = p
	}
	cs.plans = next
}
