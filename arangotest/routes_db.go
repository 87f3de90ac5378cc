package arangotest

import (
	"encoding/json"
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

func (s *Server) routeDatabases(r *router) {
	r.handle("GET", "/_api/database", func(c *call) {
		if !systemAdmin(c) {
			return
		}
		names := []string{}
		for _, db := range s.store.Databases() {
			names = append(names, db.Name)
		}
		c.okResult(200, names)
	})
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
		if err := json.Unmarshal(c.body, &in); err != nil {
			c.error(400, 600, "invalid JSON in request body")
			return
		}
		if in.Name == nil {
			c.error(400, 1229, "database name invalid")
			return
		}
		if err := validDatabaseName(*in.Name); err != nil {
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
