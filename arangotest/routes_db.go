package arangotest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// validDatabaseName checks a database name under 3.12 extended naming rules.
func validDatabaseName(s string) *ArangoError {
	if s == "" || len(s) > 128 || !utf8.ValidString(s) {
		return newError(400, 1229, "database name invalid")
	}
	if !norm.NFC.IsNormalString(s) {
		return newError(400, 1229, "database name is not properly UTF-8 NFC-normalized")
	}
	if strings.ContainsAny(s, "/:") {
		return newError(400, 1229, "database name invalid")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return newError(400, 1229, "database name invalid")
		}
	}
	c := s[0]
	if (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ' ' || s[len(s)-1] == ' ' {
		return newError(400, 1229, "database name invalid")
	}
	return nil
}

// CreateDatabase creates a database (library use, e.g. tests and SeedDemo).
func (s *Server) CreateDatabase(name string) error {
	if err := validDatabaseName(name); err != nil {
		return err
	}
	_, err := s.store.createDatabase(name, nil)
	return err
}

// systemAdmin answers 403 and returns false unless the request is an administrator's in
// _system: creating, listing and dropping databases is only allowed there.
func systemAdmin(c *call) bool {
	if c.dbName != "_system" {
		c.error(403, 1230, "operation only allowed in system database")
		return false
	}
	if !c.isAdmin() {
		c.error(403, 11, "forbidden")
		return false
	}
	return true
}

// The database routes mirror RestDatabaseHandler (arangod/RestHandler/RestDatabaseHandler.cpp):
//   - execute: GET, POST, DELETE; any other method is 405, error 405 (the router);
//   - getDatabases: "", "user" and "current" (names sorted); more than one suffix is 400,
//     error 400; another single suffix builds nothing and is 400, error 10 "bad parameter";
//     the plain list outside _system is 403, error 1230;
//   - createDatabase: outside _system 403, error 1230; a suffix or a body that is not JSON
//     400, error 400 "bad parameter"; a body that is not an object makes body.get throw
//     (500, error 4 "VPack error: Expecting Object", RestHandler::executeEngine); a name
//     that is not a string is the empty name (400, error 1229); a duplicate 409, error 1207.
func (s *Server) routeDatabases(r *router) {
	r.handle("GET", "/_api/database", func(c *call) {
		if !systemAdmin(c) {
			return
		}
		names := []string{}
		for _, db := range s.store.Databases() {
			names = append(names, db.Name)
		}
		sort.Strings(names)
		c.okResult(200, names)
	})
	r.handle("GET", "/_api/database/{what}", func(c *call) {
		c.error(400, 10, "bad parameter") // getDatabases: an unknown suffix leaves the builder empty
	})
	r.handle("GET", "/_api/database/{what}/{rest...}", func(c *call) {
		c.error(400, 400, "bad parameter")
	})
	r.handle("POST", "/_api/database/{rest...}", func(c *call) {
		if c.dbName != "_system" {
			c.error(403, 1230, "operation only allowed in system database")
			return
		}
		c.error(400, 400, "bad parameter")
	})
	deleteSuffixes := func(c *call) { // deleteDatabase: exactly one suffix
		if c.dbName != "_system" {
			c.error(403, 1230, "operation only allowed in system database")
			return
		}
		c.error(400, 400, "bad parameter")
	}
	r.handle("DELETE", "/_api/database", deleteSuffixes)
	r.handle("DELETE", "/_api/database/{name}/{rest...}", deleteSuffixes)
	r.handle("GET", "/_api/database/user", func(c *call) {
		names := []string{}
		var u *userRecord
		if s.auth.enabled && c.user != "root" {
			u = s.findUser(c.user)
		}
		for _, db := range s.store.Databases() {
			if u != nil {
				if l, _ := u.dbLevel(db.Name); l == "none" {
					continue
				}
			}
			names = append(names, db.Name)
		}
		sort.Strings(names)
		c.okResult(200, names)
	})
	r.handle("GET", "/_api/database/current", func(c *call) {
		c.okResult(200, map[string]any{"id": strconv.FormatUint(c.db.ID, 10), "name": c.db.Name, "isSystem": c.db.isSystem, "path": "none"})
	})
	r.handle("POST", "/_api/database", func(c *call) {
		if !systemAdmin(c) {
			return
		}
		var in struct {
			Name    *string        `json:"name"`
			Options map[string]any `json:"options"`
			Users   []struct {
				Username string         `json:"username"`
				User     string         `json:"user"`
				Passwd   string         `json:"passwd"`
				Active   *bool          `json:"active"`
				Extra    map[string]any `json:"extra"`
			} `json:"users"`
		}
		if len(c.body) > 0 && !json.Valid(c.body) {
			c.error(400, 400, "bad parameter")
			return
		}
		if rawKind(bytes.TrimSpace(c.body)) != 'o' {
			c.error(500, 4, "VPack error: Expecting Object")
			return
		}
		if err := json.Unmarshal(c.body, &in); err != nil {
			// a well-formed object whose attributes have other types than expected
			in.Name, in.Options, in.Users = nil, nil, nil
			var top map[string]json.RawMessage
			_ = json.Unmarshal(c.body, &top)
			var name string
			if json.Unmarshal(top["name"], &name) == nil {
				in.Name = &name
			}
		}
		if in.Name == nil {
			c.error(400, 1229, "database name invalid")
			return
		}
		if err := validDatabaseName(*in.Name); err != nil {
			c.fail(err)
			return
		}
		if err := s.store.checkDatabaseReplicationFactor(in.Options); err != nil {
			c.fail(err)
			return
		}
		if _, err := s.store.createDatabase(*in.Name, in.Options); err != nil {
			c.fail(err)
			return
		}
		for _, iu := range in.Users {
			name := iu.Username
			if name == "" {
				name = iu.User
			}
			if name == "" {
				continue
			}
			u := s.findUser(name)
			if u == nil {
				u = &userRecord{User: name, Active: true, Extra: iu.Extra, Databases: map[string]*dbPerm{}}
				if iu.Active != nil {
					u.Active = *iu.Active
				}
				u.setPassword(iu.Passwd)
			}
			u.Databases[*in.Name] = &dbPerm{Permissions: permBits{true, true}}
			if err := s.saveUser(u); err != nil {
				c.fail(err)
				return
			}
		}
		c.okResult(201, true)
	})
	r.handle("DELETE", "/_api/database/{name}", func(c *call) {
		if !systemAdmin(c) {
			return
		}
		name := c.param("name")
		if name == "_system" {
			c.error(403, 1230, "operation only allowed in system database")
			return
		}
		if err := s.store.dropDatabase(name); err != nil {
			c.fail(err)
			return
		}
		s.trx.dropDatabase(name)
		// Remove explicit grants for the dropped database.
		for _, u := range s.allUsers() {
			if _, ok := u.Databases[name]; ok {
				full := s.findUser(u.User)
				delete(full.Databases, name)
				_ = s.saveUser(full)
			}
		}
		c.okResult(200, true)
	})
}

// checkDatabaseReplicationFactor mirrors the replicationFactor part of
// CreateDatabaseInfo's sanitizeVocbaseOptions (arangod/VocBase/VocbaseInfo.cpp, 3.12): a
// numeric options.replicationFactor other than 0 ("satellite") above
// --cluster.max-replication-factor or below --cluster.min-replication-factor is refused with
// 400, error 10 (TRI_ERROR_BAD_PARAMETER). ClusterFeature exists on a single server too, with
// its defaults 1 and 10.
func (st *Store) checkDatabaseReplicationFactor(options map[string]any) error {
	n, ok := options["replicationFactor"].(float64)
	if !ok || n == 0 {
		return nil
	}
	minRF, maxRF := 1, kMaxReplicationFactor
	if cs := st.cluster; cs != nil {
		minRF, maxRF = cs.minRF, cs.maxRF
	}
	if maxRF > 0 && int(n) > maxRF {
		return newError(400, 10, fmt.Sprintf("replicationFactor must not be higher than maximum allowed replicationFactor (%d)", maxRF))
	}
	if minRF > 0 && int(n) < minRF {
		return newError(400, 10, fmt.Sprintf("replicationFactor must not be lower than minimum allowed replicationFactor (%d)", minRF))
	}
	return nil
}
