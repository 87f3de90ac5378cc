package arangotest

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"runtime"
	"strconv"
	"time"
)

func (s *Server) versionDetails() map[string]string {
	return map[string]string{
		"architecture": "64bit", "arm": "false", "asan": "false", "build-date": "2025-01-01 00:00:00",
		"build-repository": "arangotest", "compiler": "go " + runtime.Version(), "cplusplus": "202002",
		"endianness": "little", "fd-client-event-handler": "poll", "fd-setsize": "1024",
		"full-version-string": "ArangoDB " + s.version + " (arangotest)", "icu-version": "64.2",
		"iresearch-version": "1.3.0.0", "jemalloc": "false", "license": s.license, "maintainer-mode": "false",
		"mode": "server", "openssl-version-compile-time": "OpenSSL 3.0", "platform": runtime.GOOS,
		"reactor-type": "epoll", "rocksdb-version": "7.2.0", "server-version": s.version, "sizeof int": "4",
		"sizeof void*": "8", "sse42": "false", "tsan": "false", "unaligned-access": "true", "v8-version": "none",
		"vpack-version": "0.2.1", "zlib-version": "1.3.1", "role": "SINGLE", "host": s.hostID(),
	}
}

// role is ServerState::roleToString of this server.
func (s *Server) role() string {
	if s.cluster != nil {
		return "COORDINATOR"
	}
	return "SINGLE"
}

func (s *Server) hostID() string { return fmt.Sprintf("%012x", s.serverID&0xffffffffffff) }

func (s *Server) singleID() string { return fmt.Sprintf("SNGL-%012x", s.serverID&0xffffffffffff) }

func nowISO() string { return time.Now().UTC().Format("2006-01-02T15:04:05Z") }

func (s *Server) routeAdmin(r *router) {
	// mirrors RestVersionHandler::execute (arangod/RestHandler/RestVersionHandler.cpp): it
	// looks at no method, so every method is answered.
	version := func(c *call) {
		m := map[string]any{"server": "arango", "license": s.license, "version": s.version}
		if c.qbool("details", false) {
			m["details"] = s.versionDetails()
		}
		c.json(200, m)
	}
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		r.handle(m, "/_api/version", version)
		r.handle(m, "/_admin/version", version)
	}
	// mirrors RestAdminServerHandler::handleRole and handleAvailability
	// (arangod/RestHandler/RestAdminServerHandler.cpp): GET only (405, error 405 otherwise,
	// from the router); availability is 200 with the mode also when read-only, 503 only while
	// starting or stopping (here: while a hot backup restore "restarts", backup_lock.go).
	// Another /_admin/server/<x> is 404, error 404 (RestAdminServerHandler::execute).
	r.handle("GET", "/_admin/server/role", func(c *call) {
		c.ok(200, map[string]any{"role": "SINGLE", "mode": "default"})
	})
	r.handle("GET", "/_admin/server/availability", func(c *call) {
		mode := "default"
		if s.store.readOnly.Load() {
			mode = "readonly"
		}
		c.ok(200, map[string]any{"mode": mode})
	})
	r.handle("GET", "/_admin/server/mode", func(c *call) {
		mode := "default"
		if s.store.readOnly.Load() {
			mode = "readonly"
		}
		c.ok(200, map[string]any{"mode": mode})
	})
	r.handle("PUT", "/_admin/server/mode", func(c *call) {
		if !c.isAdmin() {
			c.error(403, 11, "forbidden")
			return
		}
		var in struct {
			Mode string `json:"mode"`
		}
		if err := json.Unmarshal(c.body, &in); err != nil {
			c.error(400, 400, "mode invalid")
			return
		}
		switch in.Mode {
		case "readonly":
			s.store.readOnly.Store(true)
		case "default":
			s.store.readOnly.Store(false)
		default:
			c.error(400, 400, "mode invalid")
			return
		}
		c.ok(200, map[string]any{"mode": in.Mode})
	})
	// arangorestore (and gorestore) call this after restoring _apps/_appbundles, unless
	// POST /_admin/status says foxxApi false. It mirrors the Foxx API service
	// (js/apps/system/_api/foxx/APP/index.js, localRouter.post('/heal')): FoxxManager.heal(),
	// no body, so 204 (foxx/router/tree.js); with the Foxx API disabled (--foxx.api false,
	// Options.FoxxAPIDisabled) every route of the service is 403, error 3099. arangotest runs
	// no Foxx services, so there is nothing to heal.
	r.handle("POST", "/_api/foxx/_local/heal", func(c *call) {
		if s.opts.FoxxAPIDisabled {
			c.error(403, 3099, "service api disabled")
			return
		}
		c.empty(204)
	})
	r.handle("GET", "/_admin/server/id", func(c *call) {
		c.error(500, 500, "server id is only available in a cluster")
	})
	r.handle("GET", "/_api/engine", func(c *call) {
		idx := []string{"primary", "edge", "hash", "skiplist", "ttl", "persistent", "geo", "fulltext", "zkd", "inverted"}
		if s.store.versionAtLeast(3, 12, 0) {
			idx = append(idx, "mdi", "mdi-prefixed")
		}
		if s.store.versionAtLeast(3, 12, 4) {
			idx = append(idx, "vector")
		}
		c.json(200, map[string]any{"name": "rocksdb", "supports": map[string]any{"indexes": idx,
			"aliases": map[string]any{"indexes": map[string]string{"hash": "persistent", "skiplist": "persistent"}}}, "endianness": "little"})
	})
	// mirrors RestStatusHandler::execute and executeStandard (arangod/RestHandler/
	// RestStatusHandler.cpp): any method (arangorestore POSTs it); "foxxApi" is a top-level
	// attribute, !ServerSecurityFeature::isFoxxApiDisabled(), true unless --foxx.api false;
	// "hostname" only when the HOSTNAME environment variable is set; serverInfo carries
	// persistedId, rebootId, address, serverId and state only outside a single server.
	// overview=true answers executeOverview's object; memory=true is 501, error 9 (memory
	// profiles are a compile-time option, off in release builds).
	status := func(c *call) {
		if replBool(c.r, "overview", false) {
			c.json(200, map[string]any{"version": s.version, "platform": runtime.GOOS, "license": s.license,
				"engine": "rocksdb", "role": s.role(), "hash": "arangotest"})
			return
		}
		if replBool(c.r, "memory", false) {
			c.error(501, 9, "memory profiles not enabled at compile time")
			return
		}
		si := map[string]any{"progress": map[string]any{"phase": "in wait", "feature": "", "recoveryTick": 0},
			"maintenance": false, "role": s.role(), "writeOpsEnabled": !s.store.readOnly.Load(), "readOnly": s.store.readOnly.Load()}
		if s.cluster != nil {
			si["persistedId"], si["serverId"] = s.singleID(), s.singleID() // the Coordinator route sets its own ids
			si["rebootId"], si["address"], si["state"] = 1, "tcp://"+s.ln.Addr().String(), "SERVING"
		}
		m := map[string]any{"server": "arango", "version": s.version, "pid": os.Getpid(), "license": s.license,
			"mode": "server", "operationMode": "server", "foxxApi": !s.opts.FoxxAPIDisabled, "host": s.hostID(),
			"serverInfo": si}
		if h := os.Getenv("HOSTNAME"); h != "" {
			m["hostname"] = h
		}
		c.json(200, m)
	}
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		r.handle(m, "/_admin/status", status)
	}
	r.handle("GET", "/_admin/time", func(c *call) {
		c.ok(200, map[string]any{"time": float64(time.Now().UnixNano()) / 1e9})
	})
	r.handle("GET", "/_admin/support-info", func(c *call) {
		c.json(200, map[string]any{"date": nowISO(), "deployment": map[string]any{"type": "single"},
			"host": map[string]any{"role": "SINGLE", "maintenance": false, "readOnly": s.store.readOnly.Load(),
				"version": s.version, "build": "arangotest", "license": s.license, "platform": runtime.GOOS,
				"os": runtime.GOOS, "physicalMemory": map[string]any{"value": 8 << 30, "overridden": false},
				"numberOfCores": map[string]any{"value": runtime.NumCPU(), "overridden": false},
				"processStats":  map[string]any{"processUptime": time.Since(s.started).Seconds()}}})
	})
	r.handle("GET", "/_admin/license", func(c *call) {
		if s.license == "enterprise" {
			exp := time.Now().Add(365 * 24 * time.Hour).Unix()
			c.json(200, map[string]any{"upgrading": false, "features": map[string]any{"expires": exp},
				"license": "arangotest-license", "version": 1, "status": "good", "hash": "arangotest"})
			return
		}
		c.json(200, map[string]any{"upgrading": false, "features": map[string]any{"expires": 0}, "version": 0, "status": "",
			"diskUsage": map[string]any{"bytesLimit": 107374182400, "bytesUsed": 0, "status": "good"}})
	})
	r.handle("PUT", "/_admin/compact", func(c *call) { c.ok(200, nil) })
	r.handle("GET", "/_admin/deployment/id", func(c *call) {
		c.json(200, map[string]any{"id": fmt.Sprintf("%08x-0000-4000-8000-%012x", s.serverID>>32, s.serverID&0xffffffffffff)})
	})
	r.handle("POST", "/_admin/echo", func(c *call) {
		hdr := map[string]string{}
		for k := range c.r.Header {
			hdr[k] = c.r.Header.Get(k)
		}
		c.json(200, map[string]any{"authorized": true, "user": c.user, "database": c.dbName, "url": c.r.URL.String(),
			"protocol": "http", "server": map[string]any{"address": s.ln.Addr().String()}, "headers": hdr,
			"requestType": c.r.Method, "requestBody": string(c.body)})
	})
	r.handle("GET", "/_api/endpoint", func(c *call) {
		c.json(200, []any{map[string]any{"endpoint": "http://" + s.ln.Addr().String()}})
	})
	r.handle("GET", "/_api/cluster/endpoints", func(c *call) {
		c.error(501, 9, "cannot serve this request for this deployment type")
	})
	r.handle("GET", "/_admin/cluster/health", func(c *call) {
		c.error(403, 403, "only allowed on single server with active failover")
	})
	metrics := func(c *call) {
		body := "# HELP arangodb_server_statistics_server_uptime_total Number of seconds elapsed since server start.\n" +
			"# TYPE arangodb_server_statistics_server_uptime_total counter\n" +
			"arangodb_server_statistics_server_uptime_total " + strconv.FormatFloat(time.Since(s.started).Seconds(), 'f', 3, 64) + "\n" +
			"# HELP arangodb_client_connection_statistics_client_connections The number of client connections.\n" +
			"# TYPE arangodb_client_connection_statistics_client_connections gauge\n" +
			"arangodb_client_connection_statistics_client_connections 1\n"
		c.raw(200, "text/plain; charset=utf-8", []byte(body))
	}
	r.handle("GET", "/_admin/metrics/v2", metrics)
	r.handle("GET", "/_admin/metrics", metrics)
	r.handle("GET", "/_api/key-generators", func(c *call) {
		c.ok(200, map[string]any{"keyGenerators": []string{"traditional", "autoincrement", "uuid", "padded"}})
	})
	s.routeAdminLog(r)
}

func (s *Server) routeAdminLog(r *router) {
	levels := map[string]string{"general": "INFO", "replication": "INFO", "requests": "INFO", "queries": "INFO", "startup": "INFO"}
	r.handle("GET", "/_admin/log/level", func(c *call) {
		s.extraMu.Lock()
		defer s.extraMu.Unlock()
		c.json(200, levels)
	})
	r.handle("PUT", "/_admin/log/level", func(c *call) {
		var in map[string]string
		if err := json.Unmarshal(c.body, &in); err != nil {
			c.error(400, 400, "invalid log level body")
			return
		}
		s.extraMu.Lock()
		for k, v := range in {
			if k == "all" {
				for kk := range levels {
					levels[kk] = v
				}
				continue
			}
			levels[k] = v
		}
		out := maps.Clone(levels)
		s.extraMu.Unlock()
		c.json(200, out)
	})
	r.handle("DELETE", "/_admin/log/level", func(c *call) {
		s.extraMu.Lock()
		for k := range levels {
			levels[k] = "INFO"
		}
		out := maps.Clone(levels)
		s.extraMu.Unlock()
		c.json(200, out)
	})
	r.handle("GET", "/_admin/log/entries", func(c *call) {
		c.json(200, map[string]any{"total": 1, "messages": []any{map[string]any{"id": 1, "topic": "general", "level": "INFO",
			"date": nowISO(), "message": "arangotest is ready for business"}}})
	})
	structured := map[string]bool{"database": false, "username": false, "url": false}
	r.handle("GET", "/_admin/log/structured", func(c *call) {
		s.extraMu.Lock()
		defer s.extraMu.Unlock()
		c.json(200, structured)
	})
	r.handle("PUT", "/_admin/log/structured", func(c *call) {
		var in map[string]bool
		_ = json.Unmarshal(c.body, &in)
		s.extraMu.Lock()
		maps.Copy(structured, in)
		out := maps.Clone(structured)
		s.extraMu.Unlock()
		c.json(200, out)
	})
	r.handle("GET", "/_admin/server/api-calls", func(c *call) {
		c.ok(200, map[string]any{"result": map[string]any{"calls": []any{map[string]any{"timeStamp": nowISO(),
			"requestType": "GET", "path": "/_api/version", "database": c.dbName}}}})
	})
}
