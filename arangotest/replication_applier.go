package arangotest

import (
	"encoding/json"
	"maps"
	"net/http"
	"strconv"
	"sync"
)

// The single-server replication applier API (applier-config, applier-start, applier-stop,
// applier-state), removed from the server in 3.12.10 and served here only before that
// version. arangotest keeps the applier's configuration and running state but never connects
// to the configured endpoint: nothing is replicated (documented in CONFORMANCE.md).

type applierState struct {
	config  map[string]any
	running bool
	started string
}

type applierRegistry struct {
	mu       sync.Mutex
	appliers map[string]*applierState // database name, or "" for global
}

var applierDefaults = map[string]any{
	"endpoint": nil, "database": nil, "username": nil, "maxConnectRetries": 100, "connectTimeout": 10,
	"requestTimeout": 600, "chunkSize": 0, "autoStart": false, "adaptivePolling": true, "autoResync": false,
	"autoResyncRetries": 2, "includeSystem": true, "requireFromPresent": true, "verbose": false,
	"incremental": false, "restrictType": "", "restrictCollections": []any{}, "connectionRetryWaitTime": 15,
	"initialSyncMaxWaitTime": 300, "idleMinWaitTime": 1, "idleMaxWaitTime": 2.5, "skipCreateDrop": false,
	"maxPacketSize": 536870912,
}

func (rs *replState) applier(c *call) (*applierState, *applierRegistry, bool) {
	global := c.qbool("global", false)
	if global && c.db.Name != "_system" {
		c.fail(newError(403, 11, "global inventory can only be created from within _system database"))
		return nil, nil, false
	}
	key := c.db.Name
	if global {
		key = ""
	}
	reg := rs.appliers()
	reg.mu.Lock()
	a := reg.appliers[key]
	if a == nil {
		a = &applierState{config: maps.Clone(applierDefaults)}
		if !global {
			a.config["database"] = c.db.Name
		}
		reg.appliers[key] = a
	}
	reg.mu.Unlock()
	return a, reg, true
}

func (rs *replState) appliers() *applierRegistry { return rs.applierReg }

// handleApplierConfig serves GET and PUT /_api/replication/applier-config.
func (rs *replState) handleApplierConfig(c *call) {
	a, reg, ok := rs.applier(c)
	if !ok {
		return
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if c.r.Method == http.MethodPut {
		var in map[string]any
		if err := json.Unmarshal(c.body, &in); err != nil || in == nil {
			c.fail(newError(400, 600, "invalid JSON"))
			return
		}
		if ep, _ := in["endpoint"].(string); ep == "" {
			c.fail(newError(400, 400, "<endpoint> must be a valid endpoint"))
			return
		}
		if a.running {
			c.fail(newError(400, 1411, "replication applier is running"))
			return
		}
		for k, v := range in {
			if k == "password" || k == "jwt" {
				continue
			}
			if _, known := applierDefaults[k]; known {
				a.config[k] = v
			}
		}
	}
	c.json(http.StatusOK, maps.Clone(a.config))
}

func (rs *replState) applierStateObject(a *applierState) map[string]any {
	phase, msg := "inactive", "applier shut down"
	if a.running {
		phase, msg = "running", "applier started (arangotest does not replicate)"
	}
	last := strconv.FormatUint(rs.s.store.LastTick(), 10)
	return map[string]any{
		"state": map[string]any{
			"started": a.started, "running": a.running, "phase": phase,
			"lastAppliedContinuousTick": nil, "lastProcessedContinuousTick": nil,
			"lastAvailableContinuousTick": last, "safeResumeTick": nil,
			"progress":      map[string]any{"time": nowString(), "message": msg, "failedConnects": 0},
			"totalRequests": 0, "totalFailedConnects": 0, "totalEvents": 0, "totalDocuments": 0,
			"totalRemovals": 0, "totalResyncs": 0, "totalOperationsExcluded": 0, "totalApplyTime": 0,
			"averageApplyTime": 0, "totalFetchTime": 0, "averageFetchTime": 0,
			"lastError": map[string]any{"errorNum": 0}, "time": nowString(),
		},
		"server":   map[string]any{"version": rs.s.version, "serverId": strconv.FormatUint(rs.s.serverID, 10)},
		"endpoint": a.config["endpoint"],
		"database": a.config["database"],
	}
}

// handleApplierStart serves PUT /_api/replication/applier-start.
func (rs *replState) handleApplierStart(c *call) {
	a, reg, ok := rs.applier(c)
	if !ok {
		return
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if ep, _ := a.config["endpoint"].(string); ep == "" {
		c.fail(newError(400, 1410, "no endpoint configured"))
		return
	}
	if !a.running {
		a.running, a.started = true, nowString()
	}
	c.json(http.StatusOK, rs.applierStateObject(a))
}

// handleApplierStop serves PUT /_api/replication/applier-stop.
func (rs *replState) handleApplierStop(c *call) {
	a, reg, ok := rs.applier(c)
	if !ok {
		return
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	a.running = false
	c.json(http.StatusOK, rs.applierStateObject(a))
}

// handleApplierState serves GET (and DELETE: forget the state) /_api/replication/applier-state.
func (rs *replState) handleApplierState(c *call) {
	a, reg, ok := rs.applier(c)
	if !ok {
		return
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if c.r.Method == http.MethodDelete {
		if a.running {
			c.fail(newError(400, 1411, "replication applier is running"))
			return
		}
		a.started = ""
	}
	c.json(http.StatusOK, rs.applierStateObject(a))
}
