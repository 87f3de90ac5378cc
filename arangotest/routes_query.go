package arangotest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
)

// Query tracking and cache settings. arangotest has no query tracking or result cache; these
// endpoints keep and echo their settings so that clients that configure them work, and report
// empty lists (no running, slow or cached queries).

type queryState struct {
	props      map[string]any
	cacheProps map[string]any
}

type extraState struct {
	query queryState
}

func newExtraState() *extraState {
	return &extraState{query: queryState{
		props: map[string]any{"enabled": true, "trackSlowQueries": true, "trackBindVars": true, "maxSlowQueries": 64.0,
			"slowQueryThreshold": 10.0, "slowStreamingQueryThreshold": 10.0, "maxQueryStringLength": 4096.0},
		cacheProps: map[string]any{"mode": "off", "maxResults": 128.0, "maxResultsSize": 268435456.0, "maxEntrySize": 16777216.0,
			"includeSystem": false},
	}}
}

var optimizerRuleNames = []string{"replace-function-with-index", "inline-subqueries", "replace-or-with-in", "move-calculations-up",
	"move-filters-up", "remove-redundant-sorts", "use-indexes", "remove-filter-covered-by-index", "remove-unnecessary-calculations-2"}

func (s *Server) routeQuery(r *router) {
	s.settingsRoutes(r, "/_api/query/properties", s.extra.query.props, func(c *call, m map[string]any) { c.ok(200, m) })
	s.settingsRoutes(r, "/_api/query-cache/properties", s.extra.query.cacheProps, func(c *call, m map[string]any) { c.json(200, m) })
	r.handle("DELETE", "/_api/query-cache", func(c *call) { c.ok(200, nil) })
	r.handle("GET", "/_api/query-cache/entries", func(c *call) { c.json(200, []any{}) })
	r.handle("GET", "/_api/query-plan-cache", func(c *call) { c.json(200, []any{}) })
	r.handle("DELETE", "/_api/query-plan-cache", func(c *call) { c.ok(200, nil) })
	r.handle("GET", "/_api/query/current", func(c *call) { c.json(200, []any{}) })
	r.handle("GET", "/_api/query/slow", func(c *call) { c.json(200, []any{}) })
	r.handle("DELETE", "/_api/query/slow", func(c *call) { c.ok(200, nil) })
	r.handle("DELETE", "/_api/query/{id}", func(c *call) { c.error(404, 1591, "cannot kill query '"+c.param("id")+"': query not found") })
	r.handle("GET", "/_api/query/rules", func(c *call) {
		out := []any{}
		for _, n := range optimizerRuleNames {
			out = append(out, map[string]any{"name": n, "flags": map[string]any{"hidden": false, "clusterOnly": false,
				"canBeDisabled": n != "replace-function-with-index", "canCreateAdditionalPlans": false,
				"disabledByDefault": false, "enterpriseOnly": false}})
		}
		c.json(200, out)
	})
	r.handle("POST", "/_api/query", func(c *call) {
		var in struct {
			Query string `json:"query"`
		}
		_ = json.Unmarshal(c.body, &in)
		if _, err := parseAQL(in.Query, nil); err != nil {
			if ae, ok := err.(*ArangoError); ok && ae.Num != 1552 {
				c.fail(err)
				return
			}
		}
		c.ok(200, map[string]any{"parsed": true, "collections": []any{}, "bindVars": []any{}, "ast": []any{}})
	})
	r.handle("POST", "/_api/explain", func(c *call) {
		var in struct {
			Query    string                     `json:"query"`
			BindVars map[string]json.RawMessage `json:"bindVars"`
			Options  struct {
				AllPlans  bool `json:"allPlans"`
				Optimizer struct {
					Rules []string `json:"rules"`
				} `json:"optimizer"`
			} `json:"options"`
		}
		if err := json.Unmarshal(c.body, &in); err != nil {
			c.error(400, 600, "invalid JSON")
			return
		}
		q, err := parseAQL(in.Query, in.BindVars)
		if err != nil {
			c.fail(err)
			return
		}
		if q.coll != "" && c.db.Collection(q.coll) == nil {
			c.fail(newError(404, 1203, "AQL: collection or view not found: "+q.coll+" (while parsing)"))
			return
		}
		plan := map[string]any{"nodes": []any{}, "rules": optimizerRules(in.Options.Optimizer.Rules), "collections": []any{},
			"variables": []any{}, "estimatedCost": 1, "estimatedNrItems": 1, "isModificationQuery": false}
		out := map[string]any{"warnings": []any{}, "stats": map[string]any{"rulesExecuted": 1, "rulesSkipped": 0,
			"plansCreated": 1, "peakMemoryUsage": 0, "executionTime": 0.0}, "cacheable": true}
		if in.Options.AllPlans {
			out["plans"] = []any{plan}
		} else {
			out["plan"] = plan
		}
		c.ok(200, out)
	})
	// TLS and JWT secret management (no TLS; the JWT secret is the server's own).
	r.handle("GET", "/_admin/server/tls", func(c *call) { c.okResult(200, map[string]any{}) })
	r.handle("POST", "/_admin/server/tls", func(c *call) { c.okResult(200, map[string]any{}) })
	jwt := func(c *call) {
		sum := sha256.Sum256(s.auth.secret)
		c.okResult(200, map[string]any{"active": map[string]any{"sha256": hex.EncodeToString(sum[:])}, "passive": []any{}})
	}
	r.handle("GET", "/_admin/server/jwt", jwt)
	r.handle("POST", "/_admin/server/jwt", jwt)
}

// settingsRoutes serves GET and PUT of a settings object; PUT changes only the keys it knows.
func (s *Server) settingsRoutes(r *router, path string, settings map[string]any, reply func(c *call, m map[string]any)) {
	get := func(c *call) {
		s.extraMu.Lock()
		m := maps.Clone(settings)
		s.extraMu.Unlock()
		reply(c, m)
	}
	r.handle("GET", path, get)
	r.handle("PUT", path, func(c *call) {
		var in map[string]any
		if err := json.Unmarshal(c.body, &in); err != nil {
			c.error(400, 600, "invalid JSON")
			return
		}
		s.extraMu.Lock()
		for k, v := range in {
			if _, ok := settings[k]; ok {
				settings[k] = v
			}
		}
		s.extraMu.Unlock()
		get(c)
	})
}
