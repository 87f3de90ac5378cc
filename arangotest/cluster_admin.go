package arangotest

import (
	"encoding/json"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Cluster administration on a Coordinator: moveShard / resignLeadership jobs (applied to the
// plan after a short delay, as the Agency's supervision would), maintenance modes, rebalance
// statistics and plans, per-DB-Server statistics, numberOfServers.

// jobDelay is how long a shard move takes before the plan shows it.
const jobDelay = 300 * time.Millisecond

type clusterAdmin struct {
	mu          sync.Mutex
	jobs        map[string]string // job id -> "ToDo", "Pending", "Finished", "Failed"
	maintenance map[string]time.Time
	supervision bool // cluster-wide maintenance ("on")
	pending     int
}

var clusterAdmins sync.Map // *clusterState -> *clusterAdmin

func (cs *clusterState) admin() *clusterAdmin {
	a, _ := clusterAdmins.LoadOrStore(cs, &clusterAdmin{jobs: map[string]string{}, maintenance: map[string]time.Time{}})
	return a.(*clusterAdmin)
}

// moveShard moves shard i of p from one server to another (leader position kept: moving the
// leader makes the target the leader).
func (cs *clusterState) moveShard(p *shardPlan, i int, from, to string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	srv := p.servers[i]
	toPos := -1
	for j, s := range srv {
		if s == to {
			toPos = j
		}
	}
	for j, s := range srv {
		if s != from {
			continue
		}
		if toPos >= 0 {
			srv[j], srv[toPos] = srv[toPos], srv[j] // swap roles
		} else {
			srv[j] = to
		}
		cs.planVersion++
		p.version = cs.planVersion
		return
	}
}

// scheduleJob runs f after jobDelay and returns the job id.
func (cs *clusterState) scheduleJob(f func()) string {
	a := cs.admin()
	id := strconv.FormatUint(cs.store.NextTick(), 10)
	a.mu.Lock()
	a.jobs[id] = "Pending"
	a.pending++
	a.mu.Unlock()
	time.AfterFunc(jobDelay, func() {
		f()
		a.mu.Lock()
		a.jobs[id] = "Finished"
		a.pending--
		a.mu.Unlock()
	})
	return id
}

func (s *Server) registerClusterAdminRoutes(r *router) {
	cs := s.cluster
	r.handle("POST", "/_admin/cluster/moveShard", func(c *call) {
		var in struct {
			Database, Collection, Shard, FromServer, ToServer string
		}
		if err := json.Unmarshal(c.body, &in); err != nil {
			c.error(400, 10, "invalid body")
			return
		}
		db := s.store.Database(in.Database)
		if db == nil {
			c.fail(errDatabaseNotFound())
			return
		}
		coll := db.Collection(in.Collection)
		if coll == nil {
			c.fail(errCollectionNotFound(in.Collection))
			return
		}
		if !cs.isDBServer(in.FromServer) || !cs.isDBServer(in.ToServer) {
			c.error(400, 1449, "unknown server")
			return
		}
		p := cs.plan(coll)
		i := clusterIndexOf(p.shards, in.Shard)
		if i < 0 || clusterIndexOf(cs.planned(p, i), in.FromServer) < 0 {
			c.error(400, 10, "shard "+in.Shard+" is not on server "+in.FromServer)
			return
		}
		id := cs.scheduleJob(func() { cs.moveShard(p, i, in.FromServer, in.ToServer) })
		c.ok(202, map[string]any{"id": id})
	})
	r.handle("POST", "/_admin/cluster/resignLeadership", func(c *call) {
		var in struct{ Server string }
		_ = json.Unmarshal(c.body, &in)
		if !cs.isDBServer(in.Server) {
			c.error(400, 1449, "unknown server")
			return
		}
		id := cs.scheduleJob(func() { cs.resign(in.Server) })
		c.ok(202, map[string]any{"id": id})
	})
	r.handle("POST", "/_admin/cluster/cleanOutServer", func(c *call) {
		var in struct{ Server string }
		_ = json.Unmarshal(c.body, &in)
		if !cs.isDBServer(in.Server) {
			c.error(400, 1449, "unknown server")
			return
		}
		id := cs.scheduleJob(func() { cs.cleanOut(in.Server) })
		c.ok(202, map[string]any{"id": id})
	})
	r.handle("GET", "/_admin/cluster/queryAgencyJob", func(c *call) {
		a := cs.admin()
		a.mu.Lock()
		st, ok := a.jobs[c.query("id")]
		a.mu.Unlock()
		if !ok {
			c.error(404, 1600, "job not found")
			return
		}
		c.ok(200, map[string]any{"id": c.query("id"), "status": st})
	})
	// mirrors RestOptionsHandler::execute and RestOptionsBaseHandler::checkAuthentication
	// (arangod/RestHandler/RestOptionsHandler.cpp, RestOptionsBaseHandler.cpp, 3.12) under the
	// default --server.options-api "jwt": only GET (405 otherwise, by the router); only a
	// superuser (403, error 11 "insufficient permissions"); only in _system (403, error 1230).
	// The answer is ProgramOptions::toVelocyPack's flat object of option names and values,
	// here only for the options arangotest models.
	r.handle("GET", "/_admin/options", func(c *call) {
		if !c.isSuperuser() {
			c.error(403, 11, "insufficient permissions")
			return
		}
		if c.dbName != "_system" {
			c.error(403, 1230, "operation only allowed in system database")
			return
		}
		c.json(200, map[string]any{
			"cluster.min-replication-factor":     cs.minRF,
			"cluster.max-replication-factor":     cs.maxRF,
			"cluster.default-replication-factor": cs.defaultRF(),
			"server.authentication":              s.auth.enabled,
		})
	})
	r.handle("GET", "/_admin/cluster/numberOfServers", func(c *call) {
		c.ok(200, map[string]any{"numberOfCoordinators": len(cs.coordIDs), "numberOfDBServers": len(cs.dbservers),
			"cleanedServers": []string{}})
	})
	// RestAdminClusterHandler::handleStatistics -> handleProxyGetRequest("/_admin/statistics",
	// "DBserver"): a missing parameter is 400/400 "missing parameter `DBserver`".
	r.handle("GET", "/_admin/cluster/statistics", func(c *call) {
		if c.query("DBserver") == "" {
			c.error(400, 400, "missing parameter `DBserver`")
			return
		}
		if !cs.needDBserver(c, "DBserver") {
			return
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		dist := map[string]any{"sum": 0, "count": 0, "counts": []int{0, 0, 0, 0, 0, 0, 0}}
		c.ok(200, map[string]any{"time": float64(time.Now().UnixNano()) / 1e9, "enabled": true,
			"system": map[string]any{"minorPageFaults": 0, "majorPageFaults": 0, "userTime": 0.0, "systemTime": 0.0,
				"numberOfThreads": runtime.NumGoroutine(), "residentSize": ms.Sys, "residentSizePercent": 0.0, "virtualSize": ms.Sys},
			"client": map[string]any{"httpConnections": 1, "connectionTime": dist, "totalTime": dist, "requestTime": dist,
				"queueTime": dist, "ioTime": dist, "bytesSent": dist, "bytesReceived": dist},
			"http":   map[string]any{"requestsTotal": 0, "requestsAsync": 0, "requestsGet": 0, "requestsHead": 0, "requestsPost": 0, "requestsPut": 0, "requestsPatch": 0, "requestsDelete": 0, "requestsOptions": 0, "requestsOther": 0},
			"server": map[string]any{"uptime": time.Since(s.started).Seconds(), "physicalMemory": 8 << 30, "pid": os.Getpid()}})
	})
	r.handle("PUT", "/_admin/cluster/maintenance", func(c *call) {
		var mode string
		if err := json.Unmarshal(c.body, &mode); err != nil || (mode != "on" && mode != "off") {
			c.error(400, 10, "state string must be either 'on' or 'off'")
			return
		}
		a := cs.admin()
		a.mu.Lock()
		a.supervision = mode == "on"
		a.mu.Unlock()
		c.ok(200, nil)
	})
	r.handle("GET", "/_admin/cluster/maintenance", func(c *call) {
		a := cs.admin()
		a.mu.Lock()
		on := a.supervision
		a.mu.Unlock()
		res := "Normal"
		if on {
			res = "Maintenance"
		}
		c.okResult(200, res)
	})
	r.handle("GET", "/_admin/cluster/maintenance/{server}", func(c *call) {
		id := c.param("server")
		if !cs.isDBServer(id) {
			c.error(400, 1449, "unknown server")
			return
		}
		a := cs.admin()
		a.mu.Lock()
		until, ok := a.maintenance[id]
		if ok && time.Now().After(until) {
			delete(a.maintenance, id)
			ok = false
		}
		a.mu.Unlock()
		if !ok {
			c.ok(200, nil)
			return
		}
		c.okResult(200, map[string]any{"mode": "maintenance", "until": until.UTC().Format(time.RFC3339)})
	})
	r.handle("PUT", "/_admin/cluster/maintenance/{server}", func(c *call) {
		id := c.param("server")
		if !cs.isDBServer(id) {
			c.error(400, 1449, "unknown server")
			return
		}
		var in struct {
			Mode    string `json:"mode"`
			Timeout *int   `json:"timeout"`
		}
		if err := json.Unmarshal(c.body, &in); err != nil || (in.Mode != "maintenance" && in.Mode != "normal") {
			c.error(400, 10, "mode must be 'maintenance' or 'normal'")
			return
		}
		a := cs.admin()
		a.mu.Lock()
		if in.Mode == "normal" {
			delete(a.maintenance, id)
		} else {
			d := 3600
			if in.Timeout != nil && *in.Timeout > 0 {
				d = *in.Timeout
			}
			a.maintenance[id] = time.Now().Add(time.Duration(d) * time.Second)
		}
		a.mu.Unlock()
		c.ok(200, nil)
	})
	r.handle("GET", "/_admin/cluster/rebalance", func(c *call) {
		st := cs.balanceStats()
		a := cs.admin()
		a.mu.Lock()
		st["pendingMoveShards"], st["todoMoveShards"] = a.pending, 0
		a.mu.Unlock()
		c.okResult(200, st)
	})
	compute := func(c *call, execute bool) {
		var in struct {
			Version              *int `json:"version"`
			MaximumNumberOfMoves *int `json:"maximumNumberOfMoves"`
		}
		if err := json.Unmarshal(c.body, &in); err != nil || in.Version == nil || *in.Version != 1 {
			c.error(400, 10, "unknown version provided")
			return
		}
		maxMoves := 1000
		if in.MaximumNumberOfMoves != nil {
			maxMoves = *in.MaximumNumberOfMoves
		}
		before := cs.balanceStats()
		moves := cs.rebalanceMoves(maxMoves)
		if execute {
			cs.executeMoves(moves)
		}
		c.okResult(200, map[string]any{"imbalanceBefore": before, "imbalanceAfter": cs.balanceStatsAfter(moves), "moves": moves})
	}
	r.handle("POST", "/_admin/cluster/rebalance", func(c *call) { compute(c, false) })
	r.handle("PUT", "/_admin/cluster/rebalance", func(c *call) { compute(c, true) })
	r.handle("POST", "/_admin/cluster/rebalance/execute", func(c *call) {
		var in struct {
			Version *int             `json:"version"`
			Moves   []map[string]any `json:"moves"`
		}
		if err := json.Unmarshal(c.body, &in); err != nil || in.Version == nil || *in.Version != 1 {
			c.error(400, 10, "unknown version provided")
			return
		}
		if len(in.Moves) == 0 {
			c.ok(200, nil)
			return
		}
		cs.executeMoves(in.Moves)
		c.ok(202, nil)
	})
}

func clusterIndexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// allPlans lists the plans of every collection of every database.
func (cs *clusterState) allPlans() []*shardPlan {
	var out []*shardPlan
	for _, db := range cs.store.Databases() {
		for _, c := range db.Collections() {
			out = append(out, cs.plan(c))
		}
	}
	return out
}

// resign hands the leadership of every shard led by server to its first follower.
func (cs *clusterState) resign(server string) {
	for _, p := range cs.allPlans() {
		for i := range p.shards {
			srv := cs.planned(p, i)
			if srv[0] == server && len(srv) > 1 {
				cs.moveShard(p, i, server, srv[1])
			}
		}
	}
}

// cleanOut moves every shard off server.
func (cs *clusterState) cleanOut(server string) {
	for _, p := range cs.allPlans() {
		for i := range p.shards {
			srv := cs.planned(p, i)
			if clusterIndexOf(srv, server) < 0 {
				continue
			}
			cs.mu.Lock()
			to := cs.nextFollower(srv)
			cs.mu.Unlock()
			if to != server {
				cs.moveShard(p, i, server, to)
			}
		}
	}
}

// balanceStats is the leader/shard distribution as /_admin/cluster/rebalance reports it.
func (cs *clusterState) balanceStats() map[string]any {
	return cs.statsFor(cs.counts(nil))
}

// counts returns leaders and shards per DB-Server (in cs.dbservers order), after moves.
func (cs *clusterState) counts(moves []map[string]any) ([]int, []int, int, int) {
	leaders := make([]int, len(cs.dbservers))
	shards := make([]int, len(cs.dbservers))
	total, system := 0, 0
	for _, p := range cs.allPlans() {
		for i := range p.shards {
			srv := cs.planned(p, i)
			for j, s := range srv {
				k := clusterIndexOf(cs.dbservers, s)
				if k < 0 {
					continue
				}
				shards[k]++
				if j == 0 {
					leaders[k]++
				}
			}
			total++
			if p.coll.IsSystem {
				system++
			}
		}
	}
	for _, m := range moves {
		from, _ := m["from"].(string)
		to, _ := m["to"].(string)
		if f, t := clusterIndexOf(cs.dbservers, from), clusterIndexOf(cs.dbservers, to); f >= 0 && t >= 0 {
			leaders[f]--
			leaders[t]++
			shards[f]--
			shards[t]++
		}
	}
	return leaders, shards, total, system
}

func (cs *clusterState) balanceStatsAfter(moves []map[string]any) map[string]any {
	return cs.statsFor(cs.counts(moves))
}

func (cs *clusterState) statsFor(leaders, shards []int, total, system int) map[string]any {
	n := float64(len(cs.dbservers))
	sumL, sumS := 0, 0
	for i := range leaders {
		sumL += leaders[i]
		sumS += shards[i]
	}
	target := func(sum int) []float64 {
		out := make([]float64, len(leaders))
		for i := range out {
			out[i] = float64(sum) / n
		}
		return out
	}
	imb := func(v []int, sum int) float64 {
		x := 0.0
		for _, c := range v {
			d := float64(c) - float64(sum)/n
			x += d * d
		}
		return math.Round(x*1000) / 1000
	}
	sizes := make([]int64, len(shards))
	for i, c := range shards {
		sizes[i] = int64(c)
	}
	return map[string]any{
		"leader": map[string]any{"weightUsed": leaders, "targetWeight": target(sumL), "numberShards": leaders,
			"leaderDupl": make([]int, len(leaders)), "totalWeight": sumL, "imbalance": imb(leaders, sumL), "totalShards": total},
		"shards": map[string]any{"sizeUsed": sizes, "targetSize": target(sumS), "numberShards": shards, "totalUsed": sumS,
			"totalShards": sumS, "totalShardsFromSystemCollections": system, "imbalance": imb(shards, sumS)},
	}
}

// rebalanceMoves proposes leader moves from the most to the least loaded DB-Server while they
// differ by more than one.
func (cs *clusterState) rebalanceMoves(max int) []map[string]any {
	moves := []map[string]any{}
	leaders, _, _, _ := cs.counts(nil)
	used := map[string]bool{}
	for len(moves) < max {
		hi, lo := 0, 0
		for i := range leaders {
			if leaders[i] > leaders[hi] {
				hi = i
			}
			if leaders[i] < leaders[lo] {
				lo = i
			}
		}
		if leaders[hi]-leaders[lo] <= 1 {
			break
		}
		found := false
		for _, p := range cs.allPlans() {
			if p.coll.IsSystem || found {
				continue
			}
			for i, id := range p.shards {
				srv := cs.planned(p, i)
				if srv[0] != cs.dbservers[hi] || clusterIndexOf(srv, cs.dbservers[lo]) >= 0 || used[id] {
					continue
				}
				used[id] = true
				moves = append(moves, map[string]any{"from": cs.dbservers[hi], "to": cs.dbservers[lo], "shard": id,
					"collection": strconv.FormatUint(p.coll.ID, 10), "database": p.coll.db.Name, "isLeader": true})
				found = true
				break
			}
		}
		if !found {
			break
		}
		leaders[hi]--
		leaders[lo]++
	}
	return moves
}

// executeMoves schedules the moves as jobs.
func (cs *clusterState) executeMoves(moves []map[string]any) {
	for _, m := range moves {
		dbName, _ := m["database"].(string)
		shard, _ := m["shard"].(string)
		from, _ := m["from"].(string)
		to, _ := m["to"].(string)
		db := cs.store.Database(dbName)
		if db == nil {
			continue
		}
		p, i := cs.shardByID(db, shard)
		if p == nil {
			continue
		}
		cs.scheduleJob(func() { cs.moveShard(p, i, from, to) })
	}
}

// shardDistribution is one collection's entry of /_admin/cluster/shardDistribution: the Plan
// and the Current servers (followers that are still catching up are missing from Current).
func (cs *clusterState) shardDistribution(c *Collection) map[string]any {
	p := cs.plan(c)
	plan, cur := map[string]any{}, map[string]any{}
	for i, id := range p.shards {
		ps := cs.planned(p, i)
		plan[id] = map[string]any{"leader": ps[0], "followers": append([]string{}, ps[1:]...)}
		cs2, _ := cs.current(p, i)
		cur[id] = map[string]any{"leader": cs2[0], "followers": append([]string{}, cs2[1:]...)}
	}
	return map[string]any{"Plan": plan, "Current": cur}
}

func (s *Server) registerClusterDistributionRoutes(r *router) {
	cs := s.cluster
	r.handle("GET", "/_admin/cluster/shardDistribution", func(c *call) {
		res := map[string]any{}
		for _, coll := range c.db.Collections() {
			res[coll.Name] = cs.shardDistribution(coll)
		}
		c.ok(200, map[string]any{"results": res})
	})
	r.handle("PUT", "/_admin/cluster/collectionShardDistribution", func(c *call) {
		var in struct {
			Collection string `json:"collection"`
		}
		if json.Unmarshal(c.body, &in) != nil || in.Collection == "" {
			c.error(400, 10, "expecting a collection name")
			return
		}
		coll := c.collection(in.Collection)
		if coll == nil {
			return
		}
		c.ok(200, map[string]any{"results": map[string]any{coll.Name: cs.shardDistribution(coll)}})
	})
	r.handle("GET", "/_api/collection/{coll}/count", func(c *call) {
		if !c.qbool("details", false) {
			s.coreRoute(c)
			return
		}
		coll := c.collection(c.param("coll"))
		if coll == nil {
			return
		}
		p := cs.plan(coll)
		docs := coll.Snapshot()
		counts := map[string]int{}
		for _, id := range p.shards {
			counts[id] = 0
		}
		for _, d := range docs {
			counts[p.shards[p.bucketOfDoc(d)]]++
		}
		m := coll.Properties()
		m["count"] = counts
		c.ok(200, m)
	})
}

// isSuperuser reports ExecContext::isSuperuser: authentication is off, or the request carries
// a JWT signed with the server secret that names no user (a superuser token). verifyJWT
// (auth.go) maps such a token to "root", as it maps the root user's own login; this tells
// the two apart.
func (c *call) isSuperuser() bool {
	if !c.s.auth.enabled {
		return true
	}
	h := c.r.Header.Get("Authorization")
	if len(h) <= 7 || !strings.EqualFold(h[:7], "bearer ") {
		return false
	}
	tok := strings.TrimSpace(h[7:])
	if _, ok := c.s.auth.verifyJWT(tok); !ok {
		return false
	}
	parts := strings.Split(tok, ".")
	raw, err := b64.DecodeString(parts[1])
	if err != nil {
		return false
	}
	var claims struct {
		User   string `json:"preferred_username"`
		Server string `json:"server_id"`
	}
	return json.Unmarshal(raw, &claims) == nil && claims.User == "" && claims.Server != ""
}
