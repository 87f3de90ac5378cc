package arangotest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

// DB-Servers and the Agent of a cluster hold no data in arangotest (the Coordinators share one
// store), but each gets a listening endpoint of its own: /_admin/cluster/health lists it, and
// clients that check every server of a cluster (the driver's WaitForHealthyCluster after a hot
// backup restore calls /_admin/server/availability on each listed endpoint) reach it. A member
// answers the server-local endpoints a client asks of a DB-Server or an Agent directly:
//
//	GET /_admin/server/availability   200 {"mode":"default","readOnly":false}; 503 while the
//	                                  cluster "restarts" after a hot backup restore
//	GET /_admin/server/role           {"role":"PRIMARY"|"AGENT","mode":"default"}
//	GET /_admin/server/id             {"id":"PRMR-…"|"AGNT-…"}
//	GET /_api/version, /_admin/version {"server":"arango","version":…,"license":…}
//	GET /_admin/status                role, server info, uptime
//
// Anything else answers 404 errorNum 404 "unknown path" (a DB-Server is not a Coordinator: data
// requests go through the Coordinators).

// clusterMember is one DB-Server or Agent endpoint.
type clusterMember struct {
	id   string
	role string // PRIMARY or AGENT
	ln   net.Listener
	srv  *http.Server
}

func (m *clusterMember) endpoint() string { return "tcp://" + m.ln.Addr().String() }

// startMembers opens an endpoint for every DB-Server and the Agent on host (free ports).
func (cs *clusterState) startMembers(host string) error {
	ids := append(append([]string{}, cs.dbservers...), cs.agentID)
	started := time.Now()
	for _, id := range ids {
		role := "PRIMARY"
		if id == cs.agentID {
			role = "AGENT"
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return fmt.Errorf("arangotest: listen for %s %s: %w", role, id, err)
		}
		m := &clusterMember{id: id, role: role, ln: ln}
		// HTTP/1.1 and h2c (prior knowledge and upgrade), as the Coordinators speak.
		h := h2c.NewHandler(cs.memberHandler(m, started), &http2.Server{})
		m.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = m.srv.Serve(ln) }()
		cs.mu.Lock()
		if cs.members == nil {
			cs.members = map[string]*clusterMember{}
		}
		cs.members[id] = m
		cs.mu.Unlock()
	}
	return nil
}

// memberEndpoint is the endpoint of a DB-Server or Agent ("tcp://127.0.0.1:0" if it has none).
func (cs *clusterState) memberEndpoint(id string) string {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if m := cs.members[id]; m != nil {
		return m.endpoint()
	}
	return "tcp://127.0.0.1:0"
}

// closeMembers stops every member endpoint.
func (cs *clusterState) closeMembers() error {
	cs.mu.Lock()
	ms := cs.members
	cs.members = nil
	cs.mu.Unlock()
	var errs []error
	for _, m := range ms {
		if err := m.srv.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("arangotest: close %s %s: %w", m.role, m.id, err))
		}
	}
	return errors.Join(errs...)
}

func (cs *clusterState) memberHandler(m *clusterMember, started time.Time) http.Handler {
	reply := func(w http.ResponseWriter, status int, body map[string]any) {
		body["error"] = status >= 400
		body["code"] = status
		b, _ := json.Marshal(body)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Server", "ArangoDB")
		w.WriteHeader(status)
		_, _ = w.Write(b)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if strings.HasPrefix(p, "/_db/") { // server-level endpoints answer under any database
			if i := strings.IndexByte(p[len("/_db/"):], '/'); i >= 0 {
				p = p[len("/_db/")+i:]
			}
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			reply(w, 405, map[string]any{"errorNum": 405, "errorMessage": "method not supported"})
			return
		}
		version, license := "3.12.4", "enterprise"
		if co := cs.firstCoordinator(); co != nil {
			version, license = co.version, co.license
		}
		switch p {
		case "/_admin/server/availability":
			if cs.store.backups().restarting() {
				reply(w, 503, map[string]any{"errorNum": 503, "errorMessage": "service unavailable"})
				return
			}
			mode := "default"
			if cs.store.readOnly.Load() {
				mode = "readonly"
			}
			reply(w, 200, map[string]any{"mode": mode, "readOnly": mode == "readonly"})
		case "/_admin/server/role":
			reply(w, 200, map[string]any{"role": m.role, "mode": "default"})
		case "/_admin/server/id":
			reply(w, 200, map[string]any{"id": m.id})
		case "/_api/version", "/_admin/version":
			reply(w, 200, map[string]any{"server": "arango", "version": version, "license": license})
		case "/_admin/status":
			reply(w, 200, map[string]any{"server": "arango", "version": version, "license": license,
				"mode": "server", "operationMode": "server", "role": m.role, "serverInfo": map[string]any{
					"serverId": m.id, "role": m.role, "persistedId": m.id, "maintenance": false, "readOnly": false},
				"uptime": time.Since(started).Seconds()})
		default:
			reply(w, 404, map[string]any{"errorNum": 404, "errorMessage": "unknown path '" + r.URL.Path + "'"})
		}
	})
}

// firstCoordinator is a Coordinator (for the version and license the cluster reports), or nil.
func (cs *clusterState) firstCoordinator() *Server {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if len(cs.coords) == 0 {
		return nil
	}
	return cs.coords[0]
}
