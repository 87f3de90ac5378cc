package arangotest

import (
	"encoding/json"
	"maps"
	"sort"
)

func userInfo(u *userRecord) map[string]any {
	extra := u.Extra
	if extra == nil {
		extra = map[string]any{}
	}
	return map[string]any{"user": u.User, "active": u.Active, "extra": extra}
}

func validUserName(s string) bool {
	return s != "" && len(s) <= 256
}

func (s *Server) routeUsers(r *router) {
	admin := func(c *call) bool {
		if !c.isAdmin() {
			c.error(403, 11, "forbidden")
			return false
		}
		return true
	}
	// adminUser is the user the path names, for an administrator; nil after answering 403 or 404.
	adminUser := func(c *call) *userRecord {
		if !admin(c) {
			return nil
		}
		u := s.findUser(c.param("user"))
		if u == nil {
			c.error(404, 1703, "user not found")
		}
		return u
	}
	r.handle("POST", "/_api/user", func(c *call) {
		if !admin(c) {
			return
		}
		var in struct {
			User   string         `json:"user"`
			Passwd string         `json:"passwd"`
			Active *bool          `json:"active"`
			Extra  map[string]any `json:"extra"`
		}
		if err := json.Unmarshal(c.body, &in); err != nil {
			c.error(400, 600, "invalid JSON")
			return
		}
		if !validUserName(in.User) {
			c.error(400, 1700, "invalid user name")
			return
		}
		if s.findUser(in.User) != nil {
			c.error(409, 1702, "duplicate user")
			return
		}
		u := &userRecord{User: in.User, Active: true, Extra: in.Extra, Databases: map[string]*dbPerm{}}
		if in.Active != nil {
			u.Active = *in.Active
		}
		u.setPassword(in.Passwd)
		if err := s.saveUser(u); err != nil {
			c.fail(err)
			return
		}
		c.ok(201, userInfo(u))
	})
	r.handle("GET", "/_api/user", func(c *call) {
		out := []any{}
		for _, u := range s.allUsers() {
			if !c.isAdmin() && u.User != c.user {
				continue
			}
			out = append(out, userInfo(u))
		}
		c.okResult(200, out)
	})
	getUser := func(c *call) *userRecord {
		if !c.isAdmin() && c.param("user") != c.user {
			c.error(403, 11, "forbidden")
			return nil
		}
		u := s.findUser(c.param("user"))
		if u == nil {
			c.error(404, 1703, "user not found")
		}
		return u
	}
	r.handle("GET", "/_api/user/{user}", func(c *call) {
		if u := getUser(c); u != nil {
			c.ok(200, userInfo(u))
		}
	})
	modify := func(replace bool) func(c *call) {
		return func(c *call) {
			u := getUser(c)
			if u == nil {
				return
			}
			var in struct {
				Passwd *string         `json:"passwd"`
				Active *bool           `json:"active"`
				Extra  *map[string]any `json:"extra"`
			}
			if err := json.Unmarshal(c.body, &in); err != nil {
				c.error(400, 600, "invalid JSON")
				return
			}
			if in.Passwd != nil {
				u.setPassword(*in.Passwd)
			} else if replace {
				u.setPassword("")
			}
			if in.Active != nil {
				u.Active = *in.Active
			} else if replace {
				u.Active = true
			}
			if in.Extra != nil {
				if replace {
					u.Extra = *in.Extra
				} else {
					maps.Copy(u.Extra, *in.Extra)
				}
			} else if replace {
				u.Extra = map[string]any{}
			}
			if err := s.saveUser(u); err != nil {
				c.fail(err)
				return
			}
			c.ok(200, userInfo(u))
		}
	}
	r.handle("PUT", "/_api/user/{user}", modify(true))
	r.handle("PATCH", "/_api/user/{user}", modify(false))
	r.handle("DELETE", "/_api/user/{user}", func(c *call) {
		u := adminUser(c)
		if u == nil {
			return
		}
		_ = s.deleteUser(u)
		c.ok(202, nil)
	})
	r.handle("GET", "/_api/user/{user}/database", func(c *call) {
		u := getUser(c)
		if u == nil {
			return
		}
		if !c.qbool("full", false) {
			out := map[string]any{}
			for _, db := range s.store.Databases() {
				if l, _ := u.dbLevel(db.Name); l != "none" {
					out[db.Name] = l
				}
			}
			c.okResult(200, out)
			return
		}
		out := map[string]any{}
		for _, db := range s.store.Databases() {
			lvl, explicit := u.dbLevel(db.Name)
			if !explicit {
				lvl = "undefined"
			}
			colls := map[string]any{}
			for _, coll := range db.Collections() {
				cl, cexp := "undefined", false
				if p, ok := u.Databases[db.Name]; ok && p != nil {
					if cp, ok := p.Collections[coll.Name]; ok && cp != nil {
						cl, cexp = levelOf(cp.Permissions), true
					}
				}
				_ = cexp
				colls[coll.Name] = cl
			}
			star := "undefined"
			if p, ok := u.Databases[db.Name]; ok && p != nil {
				if cp, ok := p.Collections["*"]; ok && cp != nil {
					star = levelOf(cp.Permissions)
				}
			}
			colls["*"] = star
			out[db.Name] = map[string]any{"permission": lvl, "collections": colls}
		}
		star := "none"
		if p, ok := u.Databases["*"]; ok && p != nil {
			star = levelOf(p.Permissions)
		}
		out["*"] = map[string]any{"permission": star}
		c.okResult(200, out)
	})
	r.handle("GET", "/_api/user/{user}/database/{db}", func(c *call) {
		u := getUser(c)
		if u == nil {
			return
		}
		l, _ := u.dbLevel(c.param("db"))
		c.okResult(200, l)
	})
	r.handle("GET", "/_api/user/{user}/database/{db}/{coll}", func(c *call) {
		u := getUser(c)
		if u == nil {
			return
		}
		l, _ := u.collLevel(c.param("db"), c.param("coll"))
		c.okResult(200, l)
	})
	grant := func(c *call, db, coll string) {
		u := adminUser(c)
		if u == nil {
			return
		}
		var in struct {
			Grant string `json:"grant"`
		}
		if err := json.Unmarshal(c.body, &in); err != nil || (in.Grant != "rw" && in.Grant != "ro" && in.Grant != "none") {
			c.error(400, 400, "invalid grant")
			return
		}
		if db != "*" && s.store.Database(db) == nil {
			c.fail(errDatabaseNotFound())
			return
		}
		p := u.Databases[db]
		if coll == "" {
			if p == nil {
				p = &dbPerm{}
				u.Databases[db] = p
			}
			p.Permissions = bitsOf(in.Grant)
		} else {
			if coll != "*" && db != "*" && s.store.Database(db).Collection(coll) == nil {
				c.fail(errCollectionNotFound(coll))
				return
			}
			if p == nil {
				// No database-level grant yet: create the entry keeping the effective level.
				lvl, _ := u.dbLevel(db)
				p = &dbPerm{Permissions: bitsOf(lvl)}
				u.Databases[db] = p
			}
			if p.Collections == nil {
				p.Collections = map[string]*collPerm{}
			}
			p.Collections[coll] = &collPerm{Permissions: bitsOf(in.Grant)}
		}
		if err := s.saveUser(u); err != nil {
			c.fail(err)
			return
		}
		key := db
		if coll != "" {
			key = db + "/" + coll
		}
		c.ok(200, map[string]any{key: in.Grant})
	}
	r.handle("PUT", "/_api/user/{user}/database/{db}", func(c *call) { grant(c, c.param("db"), "") })
	r.handle("PUT", "/_api/user/{user}/database/{db}/{coll}", func(c *call) { grant(c, c.param("db"), c.param("coll")) })
	revoke := func(c *call, db, coll string) {
		u := adminUser(c)
		if u == nil {
			return
		}
		if coll == "" {
			if p := u.Databases[db]; p != nil && len(p.Collections) > 0 {
				// keep collection grants, drop the database level by removing the entry
				delete(u.Databases, db)
			} else {
				delete(u.Databases, db)
			}
		} else if p := u.Databases[db]; p != nil {
			delete(p.Collections, coll)
		}
		if err := s.saveUser(u); err != nil {
			c.fail(err)
			return
		}
		c.ok(202, nil)
	}
	r.handle("DELETE", "/_api/user/{user}/database/{db}", func(c *call) { revoke(c, c.param("db"), "") })
	r.handle("DELETE", "/_api/user/{user}/database/{db}/{coll}", func(c *call) { revoke(c, c.param("db"), c.param("coll")) })
	_ = sort.Strings
}
