package arangotest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// Tests of restore-collection as RestReplicationHandler::processRestoreCollection (3.12) does
// it: existing collections (1207, overwrite of system collections), and on a Coordinator the
// replication factor limits (--cluster.min/max-replication-factor, DB-Servers).

func rfCluster(t *testing.T, dbservers, minRF, maxRF int) (*Cluster, string) {
	t.Helper()
	cl, err := NewCluster(ClusterOptions{DBServers: dbservers, MinReplicationFactor: minRF, MaxReplicationFactor: maxRF})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	return cl, cl.Endpoints()[0]
}

func rfRestore(t *testing.T, ep, query string, params map[string]any) (int, map[string]any, []byte) {
	t.Helper()
	st, _, m, raw := clDo(t, "PUT", ep+"/_api/replication/restore-collection"+query, map[string]any{"parameters": params, "indexes": []any{}})
	return st, m, raw
}

func rfWantError(t *testing.T, what string, st int, m map[string]any, raw []byte, status, num int, msg string) {
	t.Helper()
	if st != status || m["errorNum"] != float64(num) || m["errorMessage"] != msg {
		t.Fatalf("%s: %d %s, want %d, error %d %q", what, st, raw, status, num, msg)
	}
}

func TestRestoreCollectionExistingWithoutOverwrite(t *testing.T) {
	s := rtServer(t, Options{})
	params := `{"name":"users","type":2,"globallyUniqueId":"hABC/777","waitForSync":true}`
	rtStatus(t, rtRestoreColl(t, s, params, ""), 200, "restore-collection")
	c := s.store.Database("_system").Collection("users")
	rtPut(t, c, `{"_key":"a"}`)
	// The same definition (same globallyUniqueId and type) is refused like any other.
	for _, p := range []string{params, `{"name":"users","type":3,"globallyUniqueId":"other"}`} {
		r := rtRestoreColl(t, s, p, "?overwrite=false")
		if r.status != 409 || r.errorNum(t) != 1207 || r.json(t)["errorMessage"] != "duplicate collection name 'users'" {
			t.Fatalf("existing collection without overwrite (%s): %d %s", p, r.status, r.body)
		}
	}
	if got := s.store.Database("_system").Collection("users"); got != c || got.Count() != 1 {
		t.Fatal("refused restore-collection changed the collection")
	}
	// A name starting with "_" is answered 200 and the collection is kept as it is.
	graphs := s.store.Database("_system").Collection("_graphs")
	rtPut(t, graphs, `{"_key":"g"}`)
	rtStatus(t, rtRestoreColl(t, s, `{"name":"_graphs","type":2,"isSystem":true,"waitForSync":true}`, ""), 200, "existing system collection")
	if got := s.store.Database("_system").Collection("_graphs"); got != graphs || got.Count() != 1 {
		t.Fatal("existing system collection without overwrite was replaced")
	}
	// A body that is not an object, and one without indexes.
	for body, msg := range map[string]string{`[1]`: "collection declaration is invalid", `{"parameters":{"name":"x"}}`: "collection indexes declaration is invalid"} {
		r := rtDo(t, s, "PUT", "/_api/replication/restore-collection", []byte(body))
		if r.status != 400 || r.errorNum(t) != 400 || r.json(t)["errorMessage"] != msg {
			t.Fatalf("bad body %s: %d %s", body, r.status, r.body)
		}
	}
}

// On a single server an overwritten system collection is dropped and created from the dump
// (allowDropSystem = true): afterwards it has the dump's properties and no documents.
func TestRestoreCollectionOverwriteSystemSingleServer(t *testing.T) {
	s := rtServer(t, Options{})
	db := s.store.Database("_system")
	old := db.Collection("_apps")
	rtPut(t, old, `{"_key":"old"}`)
	params := `{"name":"_apps","type":2,"isSystem":true,"globallyUniqueId":"_apps-from-dump","waitForSync":true,` +
		`"schema":{"rule":{"type":"object"},"level":"moderate","message":"from the dump"},` +
		`"keyOptions":{"type":"traditional","allowUserKeys":true,"lastValue":4242}}`
	rtStatus(t, rtRestoreColl(t, s, params, "?overwrite=true"), 200, "overwrite _apps")
	c := db.Collection("_apps")
	if c == nil || c == old || c.Count() != 0 || !c.IsSystem {
		t.Fatalf("_apps not recreated empty: %+v", c)
	}
	p := rfParams(t, c)
	if p["globallyUniqueId"] != "_apps-from-dump" || p["waitForSync"] != true {
		t.Fatalf("recreated _apps has not the dump's properties: %v", p)
	}
	if sc, _ := p["schema"].(map[string]any); sc["message"] != "from the dump" {
		t.Fatalf("schema %v", p["schema"])
	}
	if kg := c.KeyGenerator(); kg.LastValue != 4242 {
		t.Fatalf("keyOptions.lastValue %d, want 4242", kg.LastValue)
	}
}

// On a Coordinator an overwritten system collection is dropped and created from the dump
// unless its drop is refused (_graphs: the other system collections follow it, 1485) or it is
// _analyzers: those are truncated and keep their definition.
func TestRestoreCollectionOverwriteSystemCluster(t *testing.T) {
	cl, ep := rfCluster(t, 2, 0, 0)
	db := cl.state.store.Database("_system")
	for _, n := range []string{"_apps", "_graphs", "_analyzers"} {
		rtPut(t, db.Collection(n), `{"_key":"old"}`)
	}
	before := map[string]*Collection{"_apps": db.Collection("_apps"), "_graphs": db.Collection("_graphs"), "_analyzers": db.Collection("_analyzers")}
	for _, n := range []string{"_apps", "_graphs", "_analyzers"} {
		st, _, raw := rfRestore(t, ep, "?overwrite=true", map[string]any{"name": n, "type": 2, "isSystem": true,
			"globallyUniqueId": n + "-from-dump", "waitForSync": true, "replicationFactor": 2, "numberOfShards": 1})
		cMust(t, 200, st, raw, "overwrite "+n)
	}
	apps := db.Collection("_apps")
	if apps == before["_apps"] || apps.Count() != 0 || rfParams(t, apps)["globallyUniqueId"] != "_apps-from-dump" || rfParams(t, apps)["waitForSync"] != true {
		t.Fatalf("_apps not recreated from the dump: %v", rfParams(t, apps))
	}
	for _, n := range []string{"_graphs", "_analyzers"} {
		c := db.Collection(n)
		if c != before[n] || c.Count() != 0 || rfParams(t, c)["globallyUniqueId"] == n+"-from-dump" || rfParams(t, c)["waitForSync"] == true {
			t.Fatalf("%s: want truncated with its own definition, got %v (count %d)", n, rfParams(t, c), c.Count())
		}
	}
	// A user collection another one follows (distributeShardsLike) is truncated too.
	clSeed(t, ep, "proto", map[string]any{"numberOfShards": 2}, 5)
	st, _, _, raw := clDo(t, "POST", ep+"/_api/collection", map[string]any{"name": "follower", "distributeShardsLike": "proto"})
	cMust(t, 200, st, raw, "create follower")
	protoBefore := db.Collection("proto")
	st, _, raw = rfRestore(t, ep, "?overwrite=true", map[string]any{"name": "proto", "type": 2, "numberOfShards": 2, "replicationFactor": 1, "waitForSync": true})
	cMust(t, 200, st, raw, "overwrite proto")
	if p := db.Collection("proto"); p != protoBefore || p.Count() != 0 {
		t.Fatal("a prototype of distributeShardsLike was not truncated in place")
	}
}

func TestRestoreCollectionClusterReplicationFactor(t *testing.T) {
	cl, ep := rfCluster(t, 2, 2, 3)
	db := cl.state.store.Database("_system")
	const insufficient = "the number of current DB-Servers is lower than the requested replicationFactor/writeConcern"

	st, m, raw := rfRestore(t, ep, "", map[string]any{"name": "big", "type": 2, "replicationFactor": 3, "numberOfShards": 2})
	rfWantError(t, "replicationFactor 3 on 2 DB-Servers", st, m, raw, 500, 1487, insufficient)
	st, m, raw = rfRestore(t, ep, "", map[string]any{"name": "small", "type": 2, "replicationFactor": 1})
	rfWantError(t, "below the minimum", st, m, raw, 400, 10, "replicationFactor must not be lower than minimum allowed replicationFactor (2)")
	st, m, raw = rfRestore(t, ep, "", map[string]any{"name": "huge", "type": 2, "replicationFactor": 4})
	rfWantError(t, "above the maximum", st, m, raw, 400, 10, "replicationFactor must not be higher than maximum allowed replicationFactor (3)")
	st, m, raw = rfRestore(t, ep, "", map[string]any{"name": "wc", "type": 2, "replicationFactor": 2, "writeConcern": 3})
	rfWantError(t, "writeConcern above replicationFactor", st, m, raw, 400, 10, "writeConcern must not be higher than replicationFactor")
	st, m, raw = rfRestore(t, ep, "", map[string]any{"name": "wc", "type": 2, "replicationFactor": 2, "minReplicationFactor": 3})
	rfWantError(t, "minReplicationFactor above replicationFactor", st, m, raw, 400, 10, "writeConcern must not be higher than replicationFactor")
	for _, n := range []string{"big", "small", "huge", "wc"} {
		if db.Collection(n) != nil {
			t.Fatalf("refused collection %s was created", n)
		}
	}
	// Without replicationFactor: the database's, which defaults to the minimum.
	st, _, raw = rfRestore(t, ep, "", map[string]any{"name": "dflt", "type": 2})
	cMust(t, 200, st, raw, "restore without replicationFactor")
	if si := clShards(t, ep, "dflt"); len(si.servers[si.ids[0]]) != 2 {
		t.Fatalf("default replication factor: servers %v, want 2 per shard", si.servers)
	}
	// "satellite" is exempt from the limits and the DB-Server count.
	st, _, raw = rfRestore(t, ep, "", map[string]any{"name": "sat", "type": 2, "replicationFactor": "satellite"})
	cMust(t, 200, st, raw, "satellite")

	// The limits are checked before the existing-collection check, the DB-Servers after it:
	// without overwrite an existing collection is a 1207, with overwrite it is dropped first.
	st, m, raw = rfRestore(t, ep, "", map[string]any{"name": "dflt", "type": 2, "replicationFactor": 1})
	rfWantError(t, "existing, below the minimum", st, m, raw, 400, 10, "replicationFactor must not be lower than minimum allowed replicationFactor (2)")
	st, m, raw = rfRestore(t, ep, "", map[string]any{"name": "dflt", "type": 2, "replicationFactor": 3})
	rfWantError(t, "existing, too many copies", st, m, raw, 409, 1207, "duplicate collection name 'dflt'")
	st, m, raw = rfRestore(t, ep, "?overwrite=true", map[string]any{"name": "dflt", "type": 2, "replicationFactor": 3})
	rfWantError(t, "overwrite, too many copies", st, m, raw, 500, 1487, insufficient)
	if db.Collection("dflt") != nil {
		t.Fatal("overwrite refused for too many copies: the server has dropped the old collection by then")
	}

	// POST /_api/collection applies the limits unless enforceReplicationFactor=false.
	st, _, m, raw = clDo(t, "POST", ep+"/_api/collection", map[string]any{"name": "p1", "replicationFactor": 1})
	rfWantError(t, "POST below the minimum", st, m, raw, 400, 10, "replicationFactor must not be lower than minimum allowed replicationFactor (2)")
	st, _, m, raw = clDo(t, "POST", ep+"/_api/collection", map[string]any{"name": "p1", "replicationFactor": 3})
	rfWantError(t, "POST too many copies", st, m, raw, 500, 1487, insufficient)
	st, _, _, raw = clDo(t, "POST", ep+"/_api/collection?enforceReplicationFactor=false", map[string]any{"name": "p1", "replicationFactor": 1})
	cMust(t, 200, st, raw, "POST enforceReplicationFactor=false")
	// Changing the properties checks only the DB-Servers (Collections::updateProperties).
	st, _, _, raw = clDo(t, "PUT", ep+"/_api/collection/p1/properties", map[string]any{"replicationFactor": 2})
	cMust(t, 200, st, raw, "raise to 2")
	st, _, m, raw = clDo(t, "PUT", ep+"/_api/collection/p1/properties", map[string]any{"replicationFactor": 3})
	rfWantError(t, "raise to 3", st, m, raw, 500, 1487, insufficient)
	st, _, m, raw = clDo(t, "PUT", ep+"/_api/collection/p1/properties", map[string]any{"writeConcern": 3})
	rfWantError(t, "writeConcern 3", st, m, raw, 500, 1487, insufficient)
}

func TestClusterReplicationFactorOptions(t *testing.T) {
	for _, o := range []ClusterOptions{{MinReplicationFactor: 3, MaxReplicationFactor: 2}, {MinReplicationFactor: 11}, {MaxReplicationFactor: 11}, {MinReplicationFactor: -1}} {
		if cl, err := NewCluster(o); err == nil {
			cl.Close()
			t.Fatalf("NewCluster(min %d, max %d) accepted", o.MinReplicationFactor, o.MaxReplicationFactor)
		}
	}
}

// GET /_admin/options as RestOptionsHandler answers it under --server.options-api jwt.
func TestClusterOptionsAPI(t *testing.T) {
	cl, err := NewCluster(ClusterOptions{Options: Options{Users: map[string]string{"root": "pw"}, JWTSecret: "sekret"},
		DBServers: 3, MinReplicationFactor: 2, MaxReplicationFactor: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ep := cl.Endpoints()[0]
	get := func(path, authz string) (int, map[string]any) {
		req, _ := http.NewRequest("GET", ep+path, nil)
		req.Header.Set("Authorization", authz)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	if st, m := get("/_admin/options", "Basic cm9vdDpwdw=="); st != 403 || m["errorNum"] != 11.0 {
		t.Fatalf("root user: %d %v, want 403 error 11", st, m)
	}
	tok := rfSuperuserJWT("sekret")
	if st, m := get("/_db/_system/_admin/options", "bearer "+tok); st != 200 || m["cluster.min-replication-factor"] != 2.0 ||
		m["cluster.max-replication-factor"] != 5.0 || m["cluster.default-replication-factor"] != 2.0 {
		t.Fatalf("superuser: %d %v", st, m)
	}
	req, _ := http.NewRequest("POST", ep+"/_api/database", strings.NewReader(`{"name":"other"}`))
	req.Header.Set("Authorization", "bearer "+tok)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 201 {
		t.Fatalf("create database: %v %v", resp, err)
	}
	if st, m := get("/_db/other/_admin/options", "bearer "+tok); st != 403 || m["errorNum"] != 1230.0 {
		t.Fatalf("outside _system: %d %v, want 403 error 1230", st, m)
	}
}

// rfParams is a collection's parameters as a client decodes them.
func rfParams(t *testing.T, c *Collection) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(mustJSON(c.Parameters()), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// rfSuperuserJWT is a superuser token as arangod's --server.jwt-secret users make it: signed,
// with server_id and no preferred_username.
func rfSuperuserJWT(secret string) string {
	header := b64.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	payload := header + "." + b64.EncodeToString([]byte(`{"iss":"arangodb","server_id":"test"}`))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(payload))
	return payload + "." + b64.EncodeToString(mac.Sum(nil))
}

// POST /_api/database checks options.replicationFactor against the min/max as
// CreateDatabaseInfo's sanitizeVocbaseOptions does (400, error 10); 0 is "satellite".
func TestCreateDatabaseReplicationFactorLimits(t *testing.T) {
	cl, err := NewCluster(ClusterOptions{DBServers: 3, MinReplicationFactor: 2, MaxReplicationFactor: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ep := cl.Endpoints()[0]
	for _, tc := range []struct {
		rf   any
		code int
		msg  string
	}{
		{1, 400, "must not be lower than minimum allowed replicationFactor (2)"},
		{4, 400, "must not be higher than maximum allowed replicationFactor (3)"},
		{2, 201, ""},
		{3, 201, ""},
	} {
		st, _, m, raw := clDo(t, "POST", ep+"/_api/database", map[string]any{"name": fmt.Sprintf("rf%v", tc.rf), "options": map[string]any{"replicationFactor": tc.rf}})
		if st != tc.code || (tc.code == 400 && (m["errorNum"] != 10.0 || !strings.Contains(fmt.Sprint(m["errorMessage"]), tc.msg))) {
			t.Fatalf("create database with replicationFactor %v: %d %s", tc.rf, st, raw)
		}
	}
	s := rtServer(t, Options{})
	r := rtDo(t, s, "POST", "/_api/database", []byte(`{"name":"big","options":{"replicationFactor":11}}`), "Content-Type", "application/json")
	if r.status != 400 || r.errorNum(t) != 10 {
		t.Fatalf("single server, replicationFactor 11: %d %s", r.status, r.body)
	}
}
