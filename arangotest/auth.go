package arangotest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// authState handles authentication. Users live as documents in _system/_users (so that they
// are dumped and restored like on a real server); this reads them on every check.
type authState struct {
	s       *Server
	enabled bool
	secret  []byte
}

func newAuthState(s *Server, opts Options) (*authState, error) {
	a := &authState{s: s, enabled: opts.Users != nil}
	if opts.JWTSecret != "" {
		a.secret = []byte(opts.JWTSecret)
	} else {
		a.secret = make([]byte, 32)
		_, _ = rand.Read(a.secret)
	}
	return a, nil
}

// userRecord is the decoded form of a _users document.
type userRecord struct {
	Key      string         `json:"_key,omitempty"`
	User     string         `json:"user"`
	Active   bool           `json:"active"`
	Extra    map[string]any `json:"extra"`
	AuthData struct {
		Simple struct {
			Hash   string `json:"hash"`
			Salt   string `json:"salt"`
			Method string `json:"method"`
		} `json:"simple"`
		Active bool `json:"active"`
	} `json:"authData"`
	Databases map[string]*dbPerm `json:"databases"`
}

type permBits struct {
	Read  bool `json:"read"`
	Write bool `json:"write"`
}

type dbPerm struct {
	Permissions permBits             `json:"permissions"`
	Collections map[string]*collPerm `json:"collections,omitempty"`
}

type collPerm struct {
	Permissions permBits `json:"permissions"`
}

func levelOf(p permBits) string {
	switch {
	case p.Write:
		return "rw"
	case p.Read:
		return "ro"
	}
	return "none"
}

func bitsOf(level string) permBits {
	switch level {
	case "rw":
		return permBits{true, true}
	case "ro":
		return permBits{Read: true}
	}
	return permBits{}
}

func hashPassword(pw string) (hash, salt string) {
	var b [4]byte
	_, _ = rand.Read(b[:])
	salt = hex.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(salt + pw))
	return hex.EncodeToString(sum[:]), salt
}

func (u *userRecord) setPassword(pw string) {
	u.AuthData.Simple.Hash, u.AuthData.Simple.Salt = hashPassword(pw)
	u.AuthData.Simple.Method = "sha256"
	u.AuthData.Active = true
}

func (u *userRecord) checkPassword(pw string) bool {
	sum := sha256.Sum256([]byte(u.AuthData.Simple.Salt + pw))
	return hmac.Equal([]byte(hex.EncodeToString(sum[:])), []byte(u.AuthData.Simple.Hash))
}

func (s *Server) usersColl() *Collection {
	db := s.store.Database("_system")
	if db == nil {
		return nil
	}
	return db.Collection("_users")
}

// findUser returns the user record, or nil.
func (s *Server) findUser(name string) *userRecord {
	c := s.usersColl()
	if c == nil {
		return nil
	}
	for _, d := range c.Snapshot() {
		var u userRecord
		if err := json.Unmarshal(d.Raw, &u); err != nil || u.User != name {
			continue
		}
		if u.Databases == nil {
			u.Databases = map[string]*dbPerm{}
		}
		if u.Extra == nil {
			u.Extra = map[string]any{}
		}
		return &u
	}
	return nil
}

// allUsers returns all user records sorted by name.
func (s *Server) allUsers() []*userRecord {
	c := s.usersColl()
	if c == nil {
		return nil
	}
	var out []*userRecord
	for _, d := range c.Snapshot() {
		var u userRecord
		if err := json.Unmarshal(d.Raw, &u); err == nil && u.User != "" {
			if u.Extra == nil {
				u.Extra = map[string]any{}
			}
			out = append(out, &u)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].User < out[j].User })
	return out
}

// saveUser writes the user record to _users.
func (s *Server) saveUser(u *userRecord) error {
	c := s.usersColl()
	if c == nil {
		return newError(500, 4, "no _users collection")
	}
	if u.Key == "" {
		u.Key = strconv.FormatUint(s.store.NextTick(), 10)
	}
	if u.Extra == nil {
		u.Extra = map[string]any{}
	}
	if u.Databases == nil {
		u.Databases = map[string]*dbPerm{}
	}
	b, err := json.Marshal(u)
	if err != nil {
		return err
	}
	return c.RestoreDocument(b)
}

func (s *Server) deleteUser(u *userRecord) error {
	c := s.usersColl()
	return c.RemoveKey(u.Key)
}

// seedUsers creates root (and the configured users) in _system/_users.
func (a *authState) seedUsers(sys *Database) error {
	users := map[string]string{"root": ""}
	for k, v := range a.s.opts.Users {
		users[k] = v
	}
	names := make([]string, 0, len(users))
	for n := range users {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if a.s.findUser(n) != nil {
			continue // a cluster's later Coordinators, or a state loaded from a data directory
		}
		u := &userRecord{User: n, Active: true, Databases: map[string]*dbPerm{}}
		u.setPassword(users[n])
		if n == "root" {
			u.Databases["*"] = &dbPerm{Permissions: permBits{true, true}, Collections: map[string]*collPerm{"*": {permBits{true, true}}}}
		}
		if err := a.s.saveUser(u); err != nil {
			return err
		}
	}
	return nil
}

// dbLevel returns the effective database permission of a user and whether it is explicit.
func (u *userRecord) dbLevel(db string) (string, bool) {
	if p, ok := u.Databases[db]; ok && p != nil {
		return levelOf(p.Permissions), true
	}
	if p, ok := u.Databases["*"]; ok && p != nil {
		return levelOf(p.Permissions), false
	}
	return "none", false
}

// collLevel returns the effective collection permission.
func (u *userRecord) collLevel(db, coll string) (string, bool) {
	if coll == "_users" && db == "_system" {
		return "none", false
	}
	for _, d := range []string{db, "*"} {
		if p, ok := u.Databases[d]; ok && p != nil {
			if cp, ok := p.Collections[coll]; ok && cp != nil {
				return levelOf(cp.Permissions), d == db
			}
			if cp, ok := p.Collections["*"]; ok && cp != nil {
				return levelOf(cp.Permissions), false
			}
			l, _ := u.dbLevel(db)
			return l, false
		}
	}
	return "none", false
}

// --- JWT --------------------------------------------------------------------------------

var b64 = base64.RawURLEncoding

func (a *authState) issueJWT(user string, lifetime time.Duration) string {
	header := b64.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	now := time.Now()
	claims, _ := json.Marshal(map[string]any{"preferred_username": user, "iss": "arangodb", "iat": now.Unix(),
		"exp": now.Add(lifetime).Unix()})
	payload := header + "." + b64.EncodeToString(claims)
	mac := hmac.New(sha256.New, a.secret)
	mac.Write([]byte(payload))
	return payload + "." + b64.EncodeToString(mac.Sum(nil))
}

func (a *authState) verifyJWT(tok string) (string, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", false
	}
	mac := hmac.New(sha256.New, a.secret)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	sig, err := b64.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return "", false
	}
	raw, err := b64.DecodeString(parts[1])
	if err != nil {
		return "", false
	}
	var claims struct {
		User   string  `json:"preferred_username"`
		Server string  `json:"server_id"`
		Exp    float64 `json:"exp"`
	}
	if json.Unmarshal(raw, &claims) != nil {
		return "", false
	}
	if claims.Exp != 0 && float64(time.Now().Unix()) > claims.Exp {
		return "", false
	}
	if claims.User == "" && claims.Server != "" {
		return "root", true // superuser token
	}
	return claims.User, claims.User != ""
}

func (a *authState) unauthorized(c *call) {
	if c.r.Header.Get("x-omit-www-authenticate") == "" {
		c.setHeader("Www-Authenticate", `Basic, realm="ArangoDB"`)
	}
	c.error(401, 11, "not authorized to execute this request")
}

// check authenticates the request; it writes the error response and returns false on failure.
func (a *authState) check(c *call) bool {
	if !a.enabled {
		return true
	}
	p := c.path
	if strings.HasPrefix(p, "/_open/") || p == "/_admin/server/availability" {
		return true
	}
	h := c.r.Header.Get("Authorization")
	user := ""
	switch {
	case len(h) > 6 && strings.EqualFold(h[:6], "basic "):
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h[6:]))
		if err != nil {
			a.unauthorized(c)
			return false
		}
		name, pw, _ := strings.Cut(string(raw), ":")
		u := a.s.findUser(name)
		if u == nil || !u.Active || !u.checkPassword(pw) {
			a.unauthorized(c)
			return false
		}
		user = name
	case len(h) > 7 && strings.EqualFold(h[:7], "bearer "):
		name, ok := a.verifyJWT(strings.TrimSpace(h[7:]))
		if !ok {
			a.unauthorized(c)
			return false
		}
		if name != "root" {
			if u := a.s.findUser(name); u == nil || !u.Active {
				a.unauthorized(c)
				return false
			}
		}
		user = name
	default:
		a.unauthorized(c)
		return false
	}
	c.user = user
	// Database access: at least ro on the database (database-independent paths excepted).
	if user != "root" && !dbIndependent(p) {
		u := a.s.findUser(user)
		if u == nil {
			a.unauthorized(c)
			return false
		}
		if lvl, _ := u.dbLevel(c.dbName); lvl == "none" {
			a.unauthorized(c)
			return false
		}
	}
	return true
}

func dbIndependent(p string) bool {
	for _, pre := range []string{"/_api/version", "/_admin/version", "/_api/user", "/_admin/server/", "/_admin/status",
		"/_api/database/user", "/_admin/license", "/_admin/time", "/_api/engine"} {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}

// isAdmin reports whether the request's user has rw on _system.
func (c *call) isAdmin() bool {
	if c.user == "root" || !c.s.auth.enabled {
		return true
	}
	u := c.s.findUser(c.user)
	if u == nil {
		return false
	}
	l, _ := u.dbLevel("_system")
	return l == "rw"
}

func (s *Server) routeAuth(r *router) {
	r.handle("POST", "/_open/auth", func(c *call) {
		var in struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}
		if err := json.Unmarshal(c.body, &in); err != nil {
			c.error(400, 400, "invalid JSON")
			return
		}
		if s.auth.enabled {
			u := s.findUser(in.Username)
			if u == nil || !u.Active || !u.checkPassword(in.Password) {
				c.error(401, 401, "Wrong credentials")
				return
			}
		}
		c.json(200, map[string]any{"jwt": s.auth.issueJWT(in.Username, time.Hour)})
	})
	r.handle("POST", "/_open/auth/renew", func(c *call) {
		h := c.r.Header.Get("Authorization")
		if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
			if name, ok := s.auth.verifyJWT(strings.TrimSpace(h[7:])); ok {
				c.json(200, map[string]any{"jwt": s.auth.issueJWT(name, time.Hour)})
				return
			}
		}
		c.error(401, 401, "Wrong credentials")
	})
}

// JWT returns a JWT for the user signed with the server secret (for tests).
func (s *Server) JWT(user string) string { return s.auth.issueJWT(user, time.Hour) }

var _ = http.StatusOK
var _ = fmt.Sprint
