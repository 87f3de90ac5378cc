package arangotest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cdo sends one request and decodes a JSON object answer (nil for other bodies).
func clDo(t *testing.T, method, url string, body any) (int, http.Header, map[string]any, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		case []byte:
			rd = bytes.NewReader(b)
		default:
			rd = bytes.NewReader(mustJSON(b))
		}
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(url, "/_api/replication/restore-data") {
		req.Header.Set("Content-Type", "application/x-arango-dump") // as arangorestore sends it
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, resp.Header, m, raw
}

func cMust(t *testing.T, want, got int, raw []byte, what string) {
	t.Helper()
	if want != got {
		t.Fatalf("%s: status %d, want %d: %s", what, got, want, raw)
	}
}

func clStart(t *testing.T, coords, dbservers int) *Cluster {
	t.Helper()
	cl, err := NewCluster(ClusterOptions{Coordinators: coords, DBServers: dbservers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// clSeed creates a collection and n documents {_key:"k<i>", n:i} through ep.
func clSeed(t *testing.T, ep, coll string, props map[string]any, n int) {
	t.Helper()
	body := map[string]any{"name": coll}
	for k, v := range props {
		body[k] = v
	}
	st, _, _, raw := clDo(t, "POST", ep+"/_api/collection", body)
	cMust(t, 200, st, raw, "create "+coll)
	docs := make([]map[string]any, n)
	for i := range docs {
		docs[i] = map[string]any{"_key": "k" + strconv.Itoa(i), "n": i, "g": i % 7}
	}
	for off := 0; off < n; off += 500 {
		st, _, _, raw := clDo(t, "POST", ep+"/_api/document/"+coll, docs[off:min(off+500, n)])
		if st != 201 && st != 202 {
			t.Fatalf("insert: %d %s", st, raw)
		}
	}
}

type clShardInfo struct {
	ids     []string
	servers map[string][]string
}

func clShards(t *testing.T, ep, coll string) clShardInfo {
	t.Helper()
	st, _, m, raw := clDo(t, "GET", ep+"/_api/collection/"+coll+"/shards?details=true", nil)
	cMust(t, 200, st, raw, "shards")
	si := clShardInfo{servers: map[string][]string{}}
	for id, v := range m["shards"].(map[string]any) {
		si.ids = append(si.ids, id)
		for _, s := range v.([]any) {
			si.servers[id] = append(si.servers[id], s.(string))
		}
	}
	sort.Strings(si.ids)
	return si
}

func clResponsible(t *testing.T, ep, coll string, doc any) string {
	t.Helper()
	st, _, m, raw := clDo(t, "PUT", ep+"/_api/collection/"+coll+"/responsibleShard", doc)
	cMust(t, 200, st, raw, "responsibleShard")
	return m["shardId"].(string)
}

// clDumpShard dumps one shard through the Coordinator as arangodump does without the
// parallel API; it returns the _key of every line.
func clDumpShard(t *testing.T, ep, shard, server string) []string {
	t.Helper()
	st, _, m, raw := clDo(t, "POST", ep+"/_api/replication/batch?DBserver="+server, `{"ttl":60}`)
	cMust(t, 200, st, raw, "batch")
	id := m["id"].(string)
	var keys []string
	for round := 0; ; round++ {
		st, h, _, raw := clDo(t, "GET", ep+"/_api/replication/dump?collection="+shard+"&batchId="+id+
			"&DBserver="+server+"&useEnvelope=false&chunkSize=4096", nil)
		if st == 204 {
			break
		}
		cMust(t, 200, st, raw, "dump "+shard)
		sc := bufio.NewScanner(bytes.NewReader(raw))
		for sc.Scan() {
			var d struct {
				Key string `json:"_key"`
			}
			if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
				t.Fatalf("dump line %q: %v", sc.Text(), err)
			}
			keys = append(keys, d.Key)
		}
		if h.Get("x-arango-replication-checkmore") != "true" {
			break
		}
		// lastincluded counts the chunks, as the DB-Server's iterator does (the core's handleDump)
		if got, want := h.Get("x-arango-replication-lastincluded"), strconv.Itoa(round+2); got != want {
			t.Fatalf("dump %s chunk %d: lastincluded %q, want %q", shard, round, got, want)
		}
		if round > 10000 {
			t.Fatal("dump does not end")
		}
	}
	st, _, _, raw = clDo(t, "DELETE", ep+"/_api/replication/batch/"+id+"?DBserver="+server, nil)
	cMust(t, 204, st, raw, "delete batch")
	return keys
}

func TestClusterRoleAndTopology(t *testing.T) {
	cl := clStart(t, 2, 3)
	eps := cl.Endpoints()
	if len(eps) != 2 || eps[0] == eps[1] {
		t.Fatalf("endpoints %v", eps)
	}
	for _, ep := range eps {
		st, _, m, raw := clDo(t, "GET", ep+"/_admin/server/role", nil)
		cMust(t, 200, st, raw, "role")
		if m["role"] != "COORDINATOR" {
			t.Fatalf("role %v", m["role"])
		}
		_, _, m, _ = clDo(t, "GET", ep+"/_admin/server/id", nil)
		if id, _ := m["id"].(string); !strings.HasPrefix(id, "CRDN-") {
			t.Fatalf("server id %v", m)
		}
	}
	_, _, m, _ := clDo(t, "GET", eps[1]+"/_api/cluster/endpoints", nil)
	list := m["endpoints"].([]any)
	if len(list) != 2 || list[1].(map[string]any)["endpoint"] != "tcp://"+strings.TrimPrefix(eps[1], "http://") {
		t.Fatalf("cluster endpoints %v", m)
	}
	_, _, m, _ = clDo(t, "GET", eps[0]+"/_admin/cluster/health", nil)
	roles := map[string]int{}
	for id, v := range m["Health"].(map[string]any) {
		role := v.(map[string]any)["Role"].(string)
		roles[role]++
		if role == "DBServer" && !strings.HasPrefix(id, "PRMR-") {
			t.Fatalf("DB-Server id %s", id)
		}
	}
	if roles["Coordinator"] != 2 || roles["DBServer"] != 3 || roles["Agent"] != 1 {
		t.Fatalf("health roles %v", roles)
	}
}

func TestClusterShardPlacement(t *testing.T) {
	cl := clStart(t, 1, 3)
	ep := cl.Endpoints()[0]
	const n = 3000
	clSeed(t, ep, "c", map[string]any{"numberOfShards": 6, "replicationFactor": 2}, n)
	si := clShards(t, ep, "c")
	if len(si.ids) != 6 {
		t.Fatalf("shards %v", si.ids)
	}
	leaders := map[string]int{}
	for _, id := range si.ids {
		if !strings.HasPrefix(id, "s") {
			t.Fatalf("shard id %q", id)
		}
		if _, err := strconv.ParseUint(id[1:], 10, 64); err != nil {
			t.Fatalf("shard id %q", id)
		}
		srv := si.servers[id]
		if len(srv) != 2 || srv[0] == srv[1] {
			t.Fatalf("servers of %s: %v", id, srv)
		}
		leaders[srv[0]]++
	}
	for _, dbs := range cl.DBServers() {
		if leaders[dbs] != 2 {
			t.Fatalf("leaders not balanced: %v", leaders)
		}
	}
	// Properties echo the sharding attributes as a Coordinator does.
	_, _, props, _ := clDo(t, "GET", ep+"/_api/collection/c/properties", nil)
	if props["numberOfShards"] != 6.0 || props["replicationFactor"] != 2.0 || props["writeConcern"] != 1.0 ||
		props["shardingStrategy"] != "hash" || fmt.Sprint(props["shardKeys"]) != "[_key]" {
		t.Fatalf("properties %v", props)
	}

	// Every shard dumped through the Coordinator holds exactly the documents responsibleShard
	// places there; together they are the collection; the split is balanced.
	want := map[string]map[string]bool{}
	for i := 0; i < n; i++ {
		k := "k" + strconv.Itoa(i)
		sh := clShardOf(t, cl, "c", k)
		if i%25 == 0 { // the HTTP answer agrees with the placement function
			if sh2 := clResponsible(t, ep, "c", map[string]any{"_key": k}); sh2 != sh {
				t.Fatalf("ShardOf %s = %s, responsibleShard %s", k, sh, sh2)
			}
		}
		if want[sh] == nil {
			want[sh] = map[string]bool{}
		}
		want[sh][k] = true
	}
	total := 0
	for _, id := range si.ids {
		keys := clDumpShard(t, ep, id, si.servers[id][0])
		if len(keys) != len(want[id]) {
			t.Fatalf("shard %s: dumped %d documents, responsibleShard says %d", id, len(keys), len(want[id]))
		}
		for _, k := range keys {
			if !want[id][k] {
				t.Fatalf("shard %s: document %s belongs elsewhere", id, k)
			}
		}
		if len(keys) < n/6/2 || len(keys) > n/6*2 {
			t.Fatalf("shard %s holds %d of %d documents: not balanced", id, len(keys), n)
		}
		total += len(keys)
	}
	if total != n {
		t.Fatalf("shards hold %d documents, want %d", total, n)
	}
	// A follower can be dumped too; a server that does not hold the shard cannot.
	if keys := clDumpShard(t, ep, si.ids[0], si.servers[si.ids[0]][1]); len(keys) != len(want[si.ids[0]]) {
		t.Fatalf("follower dump: %d documents", len(keys))
	}
	var other string
	for _, d := range cl.DBServers() {
		if d != si.servers[si.ids[0]][0] && d != si.servers[si.ids[0]][1] {
			other = d
		}
	}
	_, _, m, _ := clDo(t, "POST", ep+"/_api/replication/batch?DBserver="+other, `{"ttl":60}`)
	st, _, _, _ := clDo(t, "GET", ep+"/_api/replication/dump?collection="+si.ids[0]+"&batchId="+m["id"].(string)+"&DBserver="+other, nil)
	if st != 404 {
		t.Fatalf("dump of a shard from a server without it: status %d", st)
	}
	// Without DBserver a Coordinator refuses (handleUnforwardedTrampolineCoordinator: 400, error 400).
	st, _, m, _ = clDo(t, "POST", ep+"/_api/replication/batch", `{"ttl":60}`)
	if st != 400 || m["errorNum"] != 400.0 {
		t.Fatalf("batch without DBserver: %d %v", st, m)
	}
	// An unknown DB-Server: the forwarding finds no endpoint (RestHandler::forwardRequest).
	st, _, m, _ = clDo(t, "POST", ep+"/_api/replication/batch?DBserver=PRMR-nope", `{"ttl":60}`)
	if st != 404 || m["errorNum"] != 1449.0 || m["errorMessage"] != "cluster server PRMR-nope unknown" {
		t.Fatalf("batch on an unknown DB-Server: %d %v", st, m)
	}
}

func TestClusterPlacementDeterministic(t *testing.T) {
	bucket := func() []int {
		cl := clStart(t, 1, 3)
		ep := cl.Endpoints()[0]
		clSeed(t, ep, "d", map[string]any{"numberOfShards": 5, "shardKeys": []string{"g"}}, 0)
		si := clShards(t, ep, "d")
		idx := map[string]int{}
		for i, id := range si.ids {
			idx[id] = i
		}
		var out []int
		for g := 0; g < 20; g++ {
			out = append(out, idx[clResponsible(t, ep, "d", map[string]any{"g": g, "x": "ignored"})])
		}
		return out
	}
	a, b := bucket(), bucket()
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("placement differs between clusters: %v vs %v", a, b)
	}
	distinct := map[int]bool{}
	for _, i := range a {
		distinct[i] = true
	}
	if len(distinct) < 3 {
		t.Fatalf("20 shard key values fall in %d of 5 shards", len(distinct))
	}
}

func TestClusterShardKeysAndResponsibleShard(t *testing.T) {
	cl := clStart(t, 1, 2)
	ep := cl.Endpoints()[0]
	clSeed(t, ep, "byg", map[string]any{"numberOfShards": 4, "shardKeys": []string{"g"}}, 0)
	// Documents with the same shard key value share a shard, whatever their keys.
	s1 := clResponsible(t, ep, "byg", map[string]any{"g": 3, "_key": "a"})
	s2 := clResponsible(t, ep, "byg", map[string]any{"g": 3, "_key": "b", "other": true})
	if s1 != s2 {
		t.Fatalf("same shard key, different shards: %s %s", s1, s2)
	}
	st, _, m, _ := clDo(t, "PUT", ep+"/_api/collection/byg/responsibleShard", map[string]any{"_key": "a"})
	if st != 400 || m["errorNum"] != 1468.0 {
		t.Fatalf("missing shard key: %d %v", st, m)
	}
}

func TestClusterDistributeShardsLike(t *testing.T) {
	cl := clStart(t, 1, 3)
	ep := cl.Endpoints()[0]
	st, _, m, _ := clDo(t, "POST", ep+"/_api/collection", map[string]any{"name": "orphan", "distributeShardsLike": "nope"})
	if st != 500 || m["errorNum"] != 1486.0 {
		t.Fatalf("missing prototype: %d %v", st, m)
	}
	if st, _, _, _ := clDo(t, "GET", ep+"/_api/collection/orphan", nil); st != 404 {
		t.Fatalf("collection created despite the error: %d", st)
	}
	clSeed(t, ep, "proto", map[string]any{"numberOfShards": 3, "replicationFactor": 2}, 0)
	clSeed(t, ep, "follower", map[string]any{"distributeShardsLike": "proto"}, 0)
	p, f := clShards(t, ep, "proto"), clShards(t, ep, "follower")
	if len(f.ids) != 3 {
		t.Fatalf("follower has %d shards", len(f.ids))
	}
	// Shards at the same position live on the same servers (numeric id order = position).
	sortNumeric := func(ids []string) {
		sort.Slice(ids, func(i, j int) bool {
			a, _ := strconv.Atoi(ids[i][1:])
			b, _ := strconv.Atoi(ids[j][1:])
			return a < b
		})
	}
	sortNumeric(p.ids)
	sortNumeric(f.ids)
	for i := range p.ids {
		if fmt.Sprint(p.servers[p.ids[i]]) != fmt.Sprint(f.servers[f.ids[i]]) {
			t.Fatalf("shard %d: prototype on %v, follower on %v", i, p.servers[p.ids[i]], f.servers[f.ids[i]])
		}
		// and the same key lands at the same position
	}
	for i := 0; i < 30; i++ {
		doc := map[string]any{"_key": "x" + strconv.Itoa(i)}
		a, b := clResponsible(t, ep, "proto", doc), clResponsible(t, ep, "follower", doc)
		if clIndex(p.ids, a) != clIndex(f.ids, b) {
			t.Fatalf("key %v: prototype shard %s, follower shard %s (not co-located)", doc, a, b)
		}
	}
	st, _, m, _ = clDo(t, "DELETE", ep+"/_api/collection/proto", nil)
	if st != 500 || m["errorNum"] != 1485.0 {
		t.Fatalf("dropping a prototype: %d %v", st, m)
	}
	_, _, props, _ := clDo(t, "GET", ep+"/_api/collection/follower/properties", nil)
	if props["distributeShardsLike"] != "proto" || props["numberOfShards"] != 3.0 || props["replicationFactor"] != 2.0 {
		t.Fatalf("follower properties %v", props)
	}
	// Too high a replication factor is refused as the server does.
	st, _, m, _ = clDo(t, "POST", ep+"/_api/collection", map[string]any{"name": "big", "replicationFactor": 4})
	if st != 500 || m["errorNum"] != 1487.0 {
		t.Fatalf("replicationFactor 4 on 3 DB-Servers: %d %v", st, m)
	}
}

func clShardOf(t *testing.T, cl *Cluster, coll, key string) string {
	t.Helper()
	sh, err := cl.ShardOf("_system", coll, mustJSON(map[string]string{"_key": key}))
	if err != nil {
		t.Fatal(err)
	}
	return sh
}

func clIndex(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

func TestClusterParallelDumpPerServer(t *testing.T) {
	cl := clStart(t, 1, 2)
	ep := cl.Endpoints()[0]
	const n = 1000
	clSeed(t, ep, "p", map[string]any{"numberOfShards": 4}, n)
	si := clShards(t, ep, "p")
	byServer := map[string][]string{}
	for _, id := range si.ids {
		byServer[si.servers[id][0]] = append(byServer[si.servers[id][0]], id)
	}
	seen := map[string]string{}
	for server, shards := range byServer {
		st, h, _, raw := clDo(t, "POST", ep+"/_api/dump/start?dbserver="+server,
			map[string]any{"batchSize": 4096, "docsPerBatch": 100, "shards": shards})
		cMust(t, 201, st, raw, "dump start")
		id := h.Get("x-arango-dump-id")
		for batch := 1; ; batch++ {
			st, h, _, raw := clDo(t, "POST", ep+"/_api/dump/next/"+id+"?dbserver="+server+"&batchId="+strconv.Itoa(batch), nil)
			if st == 204 {
				break
			}
			cMust(t, 200, st, raw, "dump next")
			shard := h.Get("x-arango-dump-shard-id")
			if clIndex(shards, shard) < 0 {
				t.Fatalf("batch of shard %s from server %s which has %v", shard, server, shards)
			}
			sc := bufio.NewScanner(bytes.NewReader(raw))
			for sc.Scan() {
				var d struct {
					Key string `json:"_key"`
				}
				_ = json.Unmarshal(sc.Bytes(), &d)
				if prev, dup := seen[d.Key]; dup {
					t.Fatalf("document %s twice (shards %s and %s)", d.Key, prev, shard)
				}
				seen[d.Key] = shard
				if want := clShardOf(t, cl, "p", d.Key); want != shard {
					t.Fatalf("document %s came in shard %s, responsible shard is %s", d.Key, shard, want)
				}
			}
		}
		st, _, _, raw = clDo(t, "DELETE", ep+"/_api/dump/"+id+"?dbserver="+server, nil)
		cMust(t, 200, st, raw, "dump delete")
	}
	if len(seen) != n {
		t.Fatalf("parallel dump returned %d documents, want %d", len(seen), n)
	}
	st, _, m, _ := clDo(t, "POST", ep+"/_api/dump/start", map[string]any{"shards": si.ids})
	if st != 400 || m["errorNum"] != 10.0 {
		t.Fatalf("dump start without dbserver: %d %v", st, m)
	}
}

func clInventoryEntry(t *testing.T, ep, coll string) map[string]any {
	t.Helper()
	st, _, m, raw := clDo(t, "GET", ep+"/_api/replication/clusterInventory?includeSystem=false", nil)
	cMust(t, 200, st, raw, "clusterInventory")
	for _, e := range m["collections"].([]any) {
		e := e.(map[string]any)
		if e["parameters"].(map[string]any)["name"] == coll {
			return e
		}
	}
	t.Fatalf("%s not in clusterInventory: %s", coll, raw)
	return nil
}

func TestClusterReplicationFactorCatchUp(t *testing.T) {
	// A long catch-up, so that the checks below run inside it even on a loaded machine.
	cl, err := NewCluster(ClusterOptions{Coordinators: 1, DBServers: 3, SyncBase: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	ep := cl.Endpoints()[0]
	clSeed(t, ep, "rf", map[string]any{"numberOfShards": 2}, 5000)
	e := clInventoryEntry(t, ep, "rf")
	if e["allInSync"] != true || e["isReady"] != true {
		t.Fatalf("fresh collection not in sync: %v", e)
	}
	pv0 := e["planVersion"].(float64)
	start := time.Now()
	st, _, props, raw := clDo(t, "PUT", ep+"/_api/collection/rf/properties", map[string]any{"replicationFactor": 3})
	cMust(t, 200, st, raw, "set replicationFactor")
	if props["replicationFactor"] != 3.0 {
		t.Fatalf("properties after change: %v", props)
	}
	e = clInventoryEntry(t, ep, "rf")
	if e["allInSync"] != false {
		t.Fatalf("followers in sync at once: %v", e)
	}
	if e["planVersion"].(float64) <= pv0 {
		t.Fatalf("planVersion did not grow: %v -> %v", pv0, e["planVersion"])
	}
	for _, servers := range e["parameters"].(map[string]any)["shards"].(map[string]any) {
		if len(servers.([]any)) != 3 {
			t.Fatalf("planned servers %v", servers)
		}
	}
	// shardDistribution shows the new followers in the Plan but not yet in Current.
	_, _, sd, _ := clDo(t, "GET", ep+"/_admin/cluster/shardDistribution", nil)
	dist := sd["results"].(map[string]any)["rf"].(map[string]any)
	for id, v := range dist["Plan"].(map[string]any) {
		planF := v.(map[string]any)["followers"].([]any)
		curF := dist["Current"].(map[string]any)[id].(map[string]any)["followers"].([]any)
		if len(planF) != 2 || len(curF) != 0 {
			t.Fatalf("shard %s during catch-up: plan followers %v, current followers %v", id, planF, curF)
		}
	}
	for {
		e = clInventoryEntry(t, ep, "rf")
		if e["allInSync"] == true {
			break
		}
		if time.Since(start) > 6*time.Second {
			t.Fatal("followers never caught up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if el := time.Since(start); el < time.Second {
		t.Fatalf("followers caught up after %v, want at least 1s (SyncBase)", el)
	}
	_, _, sd, _ = clDo(t, "PUT", ep+"/_admin/cluster/collectionShardDistribution", map[string]any{"collection": "rf"})
	for id, v := range sd["results"].(map[string]any)["rf"].(map[string]any)["Current"].(map[string]any) {
		if f := v.(map[string]any)["followers"].([]any); len(f) != 2 {
			t.Fatalf("shard %s after catch-up: current followers %v", id, f)
		}
	}
	// Per-shard counts add up to the collection.
	_, _, cnt, _ := clDo(t, "GET", ep+"/_api/collection/rf/count?details=true", nil)
	sum := 0.0
	for _, n := range cnt["count"].(map[string]any) {
		sum += n.(float64)
	}
	if len(cnt["count"].(map[string]any)) != 2 || sum != 5000 {
		t.Fatalf("count details %v", cnt["count"])
	}
	// Lowering the factor is immediate.
	clDo(t, "PUT", ep+"/_api/collection/rf/properties", map[string]any{"replicationFactor": 1})
	if e = clInventoryEntry(t, ep, "rf"); e["allInSync"] != true {
		t.Fatalf("not in sync after lowering: %v", e)
	}
}

func TestClusterCoordinatorsShareData(t *testing.T) {
	cl := clStart(t, 3, 2)
	eps := cl.Endpoints()
	clSeed(t, eps[0], "shared", map[string]any{"numberOfShards": 3}, 100)
	for _, ep := range eps[1:] {
		_, _, m, _ := clDo(t, "GET", ep+"/_api/collection/shared/count", nil)
		if m["count"] != 100.0 {
			t.Fatalf("%s: count %v", ep, m["count"])
		}
		st, _, d, _ := clDo(t, "GET", ep+"/_api/document/shared/k42", nil)
		if st != 200 || d["n"] != 42.0 {
			t.Fatalf("%s: document %d %v", ep, st, d)
		}
		if fmt.Sprint(clShards(t, ep, "shared")) != fmt.Sprint(clShards(t, eps[0], "shared")) {
			t.Fatal("Coordinators disagree about shards")
		}
	}
	st, _, _, raw := clDo(t, "DELETE", eps[2]+"/_api/document/shared/k42", nil)
	if st != 200 && st != 202 {
		t.Fatalf("delete: %d %s", st, raw)
	}
	if st, _, _, _ := clDo(t, "GET", eps[0]+"/_api/document/shared/k42", nil); st != 404 {
		t.Fatalf("document still visible on another Coordinator: %d", st)
	}
}

func TestClusterDatabaseSharding(t *testing.T) {
	cl := clStart(t, 1, 3)
	ep := cl.Endpoints()[0]
	st, _, _, raw := clDo(t, "POST", ep+"/_api/database", map[string]any{"name": "one", "options": map[string]any{"sharding": "single", "replicationFactor": 2}})
	cMust(t, 201, st, raw, "create database")
	_, _, m, _ := clDo(t, "GET", ep+"/_db/one/_api/database/current", nil)
	res := m["result"].(map[string]any)
	if res["sharding"] != "single" || res["replicationFactor"] != 2.0 {
		t.Fatalf("database/current %v", res)
	}
	clSeed(t, ep+"/_db/one", "x", nil, 10)
	_, _, props, _ := clDo(t, "GET", ep+"/_db/one/_api/collection/x/properties", nil)
	if props["distributeShardsLike"] != "_graphs" || props["numberOfShards"] != 1.0 || props["replicationFactor"] != 2.0 {
		t.Fatalf("collection in a single-sharded database: %v", props)
	}
	g, x := clShards(t, ep+"/_db/one", "_graphs"), clShards(t, ep+"/_db/one", "x")
	if fmt.Sprint(g.servers[g.ids[0]][0]) != fmt.Sprint(x.servers[x.ids[0]][0]) {
		t.Fatalf("x not led by _graphs' leader: %v vs %v", x.servers, g.servers)
	}
}

func TestClusterRestoreCollectionThroughCoordinator(t *testing.T) {
	cl := clStart(t, 1, 2)
	ep := cl.Endpoints()[0]
	// numberOfShards from the dump's shard map (CreateCollectionBody handleShards)
	params := map[string]any{"name": "r", "type": 2, "shardKeys": []string{"_key"},
		"shards": map[string]any{"s1": []string{"PRMR-old"}, "s2": []string{"PRMR-old"}, "s3": []string{"PRMR-old"}}}
	// Query values are not read (3.12 takes them from the definition only): the shard map
	// gives 3 shards, the definition's replicationFactor 2 copies.
	params["replicationFactor"] = 2
	st, _, _, raw := clDo(t, "PUT", ep+"/_api/replication/restore-collection?replicationFactor=3&numberOfShards=7",
		map[string]any{"parameters": params, "indexes": []any{}})
	cMust(t, 200, st, raw, "restore-collection")
	si := clShards(t, ep, "r")
	if len(si.ids) != 3 || len(si.servers[si.ids[0]]) != 2 {
		t.Fatalf("restored shards %v", si.servers)
	}
	var lines bytes.Buffer
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&lines, `{"_key":"r%d","_rev":"_kmX5mm6--%d","v":%d}`+"\n", i, i%10, i)
	}
	st, _, _, raw = clDo(t, "PUT", ep+"/_api/replication/restore-data?collection=r", lines.Bytes())
	cMust(t, 200, st, raw, "restore-data")
	total := 0
	for _, id := range si.ids {
		keys := clDumpShard(t, ep, id, si.servers[id][0])
		for _, k := range keys {
			if clShardOf(t, cl, "r", k) != id {
				t.Fatalf("restored %s on the wrong shard", k)
			}
		}
		if len(keys) == 0 {
			t.Fatalf("shard %s empty after restoring 300 documents", id)
		}
		total += len(keys)
	}
	if total != 300 {
		t.Fatalf("restored %d documents, want 300", total)
	}
	params["name"] = "r2"
	params["distributeShardsLike"] = "missing"
	st, _, m, _ := clDo(t, "PUT", ep+"/_api/replication/restore-collection", map[string]any{"parameters": params, "indexes": []any{}})
	if st != 500 || m["errorNum"] != 1486.0 {
		t.Fatalf("restore with missing prototype: %d %v", st, m)
	}
	st, _, _, raw = clDo(t, "PUT", ep+"/_api/replication/restore-collection?ignoreDistributeShardsLikeErrors=true",
		map[string]any{"parameters": params, "indexes": []any{}})
	cMust(t, 200, st, raw, "restore with ignoreDistributeShardsLikeErrors")
}

func TestClusterMoveShardAndResign(t *testing.T) {
	cl := clStart(t, 1, 3)
	ep := cl.Endpoints()[0]
	clSeed(t, ep, "m", map[string]any{"numberOfShards": 3, "replicationFactor": 2}, 30)
	si := clShards(t, ep, "m")
	sh := si.ids[0]
	from := si.servers[sh][0]
	var to string
	for _, d := range cl.DBServers() {
		if clIndex(si.servers[sh], d) < 0 {
			to = d
		}
	}
	st, _, m, raw := clDo(t, "POST", ep+"/_admin/cluster/moveShard", map[string]any{"database": "_system", "collection": "m",
		"shard": sh, "fromServer": from, "toServer": to})
	cMust(t, 202, st, raw, "moveShard")
	if m["id"] == "" {
		t.Fatalf("no job id: %v", m)
	}
	time.Sleep(2 * jobDelay)
	if got := clShards(t, ep, "m").servers[sh]; got[0] != to || got[1] != si.servers[sh][1] {
		t.Fatalf("after moving %s from %s to %s: %v", sh, from, to, got)
	}
	// The moved shard still dumps the same documents from its new leader.
	if keys := clDumpShard(t, ep, sh, to); len(keys) != len(clDumpShard(t, ep, sh, si.servers[sh][1])) || len(keys) == 0 {
		t.Fatalf("dump after move: %d documents", len(keys))
	}
	st, _, _, raw = clDo(t, "POST", ep+"/_admin/cluster/resignLeadership", map[string]any{"server": to})
	cMust(t, 202, st, raw, "resignLeadership")
	time.Sleep(2 * jobDelay)
	for id, srv := range clShards(t, ep, "m").servers {
		if srv[0] == to {
			t.Fatalf("%s still leads %s after resigning", to, id)
		}
	}
}

func TestClusterCursorShardIDs(t *testing.T) {
	cl := clStart(t, 1, 2)
	ep := cl.Endpoints()[0]
	clSeed(t, ep, "q", map[string]any{"numberOfShards": 3}, 200)
	si := clShards(t, ep, "q")
	total := 0
	for _, sh := range si.ids {
		st, _, m, raw := clDo(t, "POST", ep+"/_api/cursor", map[string]any{"query": "FOR d IN q RETURN d", "batchSize": 1000,
			"options": map[string]any{"shardIds": []string{sh}}})
		if st != 201 {
			t.Fatalf("query: %d %s", st, raw)
		}
		for _, d := range m["result"].([]any) {
			if k := d.(map[string]any)["_key"].(string); clShardOf(t, cl, "q", k) != sh {
				t.Fatalf("document %s of another shard in a query restricted to %s", k, sh)
			}
			total++
		}
	}
	if total != 200 {
		t.Fatalf("queries per shard returned %d documents, want 200", total)
	}
	st, _, _, _ := clDo(t, "POST", ep+"/_api/cursor", map[string]any{"query": "FOR d IN q RETURN d", "options": map[string]any{"shardIds": []string{"ss1"}}})
	if st < 400 {
		t.Fatalf("unknown shard id accepted: %d", st)
	}
}

func TestClusterShardKeyWriteRules(t *testing.T) {
	cl := clStart(t, 1, 2)
	ep := cl.Endpoints()[0]
	clSeed(t, ep, "sk", map[string]any{"numberOfShards": 3, "shardKeys": []string{"g"}}, 0)
	st, _, m, _ := clDo(t, "POST", ep+"/_api/document/sk", map[string]any{"_key": "a", "g": 1})
	if st != 400 || m["errorNum"] != 1466.0 {
		t.Fatalf("insert with _key into a collection sharded by g: %d %v", st, m)
	}
	st, _, m, raw := clDo(t, "POST", ep+"/_api/document/sk", map[string]any{"g": 1, "v": 1})
	if st != 201 && st != 202 {
		t.Fatalf("insert: %d %s", st, raw)
	}
	key := m["_key"].(string)
	st, _, m, _ = clDo(t, "PATCH", ep+"/_api/document/sk/"+key, map[string]any{"g": 2})
	if st != 400 || m["errorNum"] != 1469.0 {
		t.Fatalf("update changing the shard key: %d %v", st, m)
	}
	st, _, m, _ = clDo(t, "PUT", ep+"/_api/document/sk/"+key, map[string]any{"v": 2})
	if st != 400 || m["errorNum"] != 1469.0 {
		t.Fatalf("replace dropping the shard key: %d %v", st, m)
	}
	if st, _, _, raw := clDo(t, "PATCH", ep+"/_api/document/sk/"+key, map[string]any{"v": 3, "g": 1}); st != 201 && st != 202 {
		t.Fatalf("update keeping the shard key: %d %s", st, raw)
	}
	_, _, d, _ := clDo(t, "GET", ep+"/_api/document/sk/"+key, nil)
	if d["v"] != 3.0 || d["g"] != 1.0 {
		t.Fatalf("document after the updates: %v", d)
	}
}

func TestClusterGraphSharding(t *testing.T) {
	cl := clStart(t, 1, 3)
	ep := cl.Endpoints()[0]
	st, _, m, raw := clDo(t, "POST", ep+"/_api/gharial", map[string]any{"name": "g",
		"edgeDefinitions": []any{map[string]any{"collection": "e", "from": []string{"v"}, "to": []string{"sat"}}},
		"options":         map[string]any{"numberOfShards": 3, "replicationFactor": 2, "satellites": []string{"sat"}}})
	if st != 201 && st != 202 {
		t.Fatalf("create graph: %d %s", st, raw)
	}
	if g := m["graph"].(map[string]any); g["numberOfShards"] != 3.0 || g["replicationFactor"] != 2.0 {
		t.Fatalf("graph answer %v", g)
	}
	for _, c := range []string{"e", "v"} {
		_, _, p, _ := clDo(t, "GET", ep+"/_api/collection/"+c+"/properties", nil)
		if p["numberOfShards"] != 3.0 || p["replicationFactor"] != 2.0 {
			t.Fatalf("%s: %v", c, p)
		}
	}
	_, _, p, _ := clDo(t, "GET", ep+"/_api/collection/sat/properties", nil)
	if p["replicationFactor"] != "satellite" || p["numberOfShards"] != 1.0 {
		t.Fatalf("satellite collection: %v", p)
	}
	// A vertex collection added later gets the graph's sharding; the stored graph keeps it.
	st, _, _, raw = clDo(t, "POST", ep+"/_api/gharial/g/vertex", map[string]any{"collection": "later"})
	if st != 201 && st != 202 {
		t.Fatalf("add vertex collection: %d %s", st, raw)
	}
	_, _, p, _ = clDo(t, "GET", ep+"/_api/collection/later/properties", nil)
	if p["numberOfShards"] != 3.0 {
		t.Fatalf("later: %v", p)
	}
	_, _, m, _ = clDo(t, "GET", ep+"/_api/gharial/g", nil)
	if g := m["graph"].(map[string]any); g["numberOfShards"] != 3.0 {
		t.Fatalf("stored graph %v", g)
	}
}
