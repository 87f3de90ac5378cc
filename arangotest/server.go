// Package arangotest is an ArangoDB-compatible HTTP server held in memory, for tests (like
// miniredis for Redis). It speaks the single-server HTTP API of ArangoDB 3.11/3.12 faithfully
// enough for the official Go driver and for the dump/restore tools. It is test
// infrastructure, not a database: nothing is persisted (unless Options.DataDir is set), AQL is a
// tiny subset.
package arangotest

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

// Options configure a Server.
type Options struct {
	// Version is the reported server version (default "3.12.4"). A 3.11.x version also
	// changes behaviour (no /_api/dump endpoints).
	Version string
	// License is "enterprise" (default) or "community".
	License string
	// Users enables authentication (basic and JWT) with these users and passwords; root is
	// always included (empty password unless given). nil = no authentication.
	Users map[string]string
	// JWTSecret signs the JWTs handed out by /_open/auth (random if empty).
	JWTSecret string
	// FaultSeed seeds the probabilistic fault injection rules.
	FaultSeed int64
	// DataDir keeps the state on disk (persist.go): locked with DIR/LOCK while running, loaded
	// at start, written on Close and after each hot backup; hot backups under DIR/backups.
	// Empty = memory only.
	DataDir string
	// Addr is the listen address (default "127.0.0.1:0", a free loopback port).
	Addr string
	// UnixSocket, when set, is the path of a Unix socket to listen on instead of Addr (as
	// arangod's --server.endpoint unix:///PATH); Endpoint is then "unix://PATH". The socket
	// file is removed on Close.
	UnixSocket string
	// TLS, when set, serves HTTPS with this configuration (its Certificates; HTTP/1.1 and h2
	// by ALPN) instead of cleartext HTTP; Endpoint is then "https://...". Not with UnixSocket.
	TLS *tls.Config
	// CompressResponseThreshold is --http.compress-response-threshold: response bodies of at
	// least this many bytes are compressed when the request accepts gzip or deflate. 0 (the
	// server's default) never compresses.
	CompressResponseThreshold int
	// FoxxAPIDisabled is --foxx.api false: /_admin/status says "foxxApi": false and the Foxx
	// API (POST /_api/foxx/_local/heal) answers 403, error 3099.
	FoxxAPIDisabled bool
	// StatisticsDisabled is --server.statistics false: GET /_admin/statistics answers 404,
	// error 36 "statistics not enabled".
	StatisticsDisabled bool

	// cluster is set by NewCluster: the Server is then a Coordinator over shared state.
	cluster *clusterState
}

// Server is a running arangotest server.
type Server struct {
	opts     Options
	version  string
	license  string
	ver      [3]int
	store    *Store
	router   *router
	repl     *replState
	faults   *faultState
	auth     *authState
	ln       net.Listener
	http     *http.Server
	serverID uint64
	started  time.Time
	cancel   context.CancelFunc
	ctx      context.Context
	wg       sync.WaitGroup

	cursors *cursorRegistry
	trx     *trxRegistry
	extra   *extraState
	extraMu sync.Mutex
	async   asyncJobs

	cluster *clusterState // nil on a single server (see cluster.go)
}

// NewServer starts a server listening on opts.Addr (default a free loopback port).
func NewServer(opts Options) (*Server, error) {
	s := &Server{opts: opts, version: opts.Version, license: opts.License, started: time.Now()}
	if s.version == "" {
		s.version = "3.12.4"
	}
	if s.license == "" {
		s.license = "enterprise"
	}
	if s.license != "enterprise" && s.license != "community" {
		return nil, fmt.Errorf("arangotest: license %q: want enterprise or community", s.license)
	}
	s.ver = parseVersion(s.version)
	var b [8]byte
	_, _ = rand.Read(b[:])
	s.serverID = binary.BigEndian.Uint64(b[:])>>16 | 1<<40
	s.store = newStore(s.serverID)
	s.store.version = s.ver
	s.joinCluster(opts) // cluster.go: Coordinators share one store
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.cursors = newCursorRegistry()
	s.trx = newTrxRegistry()
	s.extra = newExtraState()
	s.async.jobs = map[uint64]*asyncJob{}
	sys, err := s.systemDatabase() // cluster.go: created once per store
	if err != nil {
		return nil, fmt.Errorf("arangotest: create _system: %w", err)
	}
	auth, err := newAuthState(s, opts)
	if err != nil {
		return nil, err
	}
	s.auth = auth
	if err := s.auth.seedUsers(sys); err != nil {
		return nil, fmt.Errorf("arangotest: create users: %w", err)
	}

	s.repl = newReplState(s)
	s.faults = newFaultState(s, opts)
	r := newRouter()
	s.router = r
	s.registerClusterRoutes(r) // cluster.go: Coordinator routes first, they win over the core ones
	s.registerRoutes(r)
	s.registerReplicationRoutes(r)
	if err := s.initBackup(r); err != nil { // backup.go, persist.go: hot backup routes, data directory
		return nil, err
	}

	network, addr := "tcp", opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if opts.UnixSocket != "" {
		network, addr = "unix", opts.UnixSocket
	}
	if opts.TLS != nil && (network == "unix" || len(opts.TLS.Certificates) == 0 && opts.TLS.GetCertificate == nil) {
		_ = s.closeBackup()
		return nil, errors.New("arangotest: TLS needs a certificate (Options.TLS.Certificates) and a TCP address, not a Unix socket")
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		_ = s.closeBackup() // persist.go: release the data directory
		return nil, fmt.Errorf("arangotest: listen %s: %w", addr, err)
	}
	s.ln = ln
	handler := s.faults.wrap(http.HandlerFunc(s.serveHTTP))
	h2s := &http2.Server{MaxConcurrentStreams: 1000}
	s.http = &http.Server{Handler: h2c.NewHandler(handler, h2s), ReadHeaderTimeout: 30 * time.Second, TLSConfig: opts.TLS,
		ErrorLog: log.New(handshakeFilter{os.Stderr}, "", log.LstdFlags)}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if opts.TLS != nil {
			_ = s.http.ServeTLS(ln, "", "") // the certificates are in TLSConfig
			return
		}
		_ = s.http.Serve(ln)
	}()
	go func() {
		defer s.wg.Done()
		s.background()
	}()
	return s, nil
}

// handshakeFilter drops net/http's "TLS handshake error" lines: a client refusing the
// certificate (what the TLS tests provoke) is not the server's error.
type handshakeFilter struct{ w io.Writer }

func (f handshakeFilter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("http: TLS handshake error")) {
		return len(p), nil
	}
	return f.w.Write(p)
}

// Endpoint returns the server's URL, e.g. "http://127.0.0.1:40123", "https://127.0.0.1:40123"
// with Options.TLS, or "unix:///tmp/arangotest.sock" with Options.UnixSocket (the ArangoDB
// endpoint form, which net/http does not dial by itself).
func (s *Server) Endpoint() string {
	switch {
	case s.opts.UnixSocket != "":
		return "unix://" + s.opts.UnixSocket
	case s.opts.TLS != nil:
		return "https://" + s.ln.Addr().String()
	}
	return "http://" + s.ln.Addr().String()
}

// Close stops the server.
func (s *Server) Close() error {
	s.cancel()
	err := s.http.Close()
	s.wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if perr := s.closeBackup(); perr != nil && err == nil { // persist.go: save the data directory, unlock it
		err = perr
	}
	return err
}

// Version returns the reported server version.
func (s *Server) Version() string { return s.version }

// background runs periodic work: TTL expiry, cursor and transaction expiry.
func (s *Server) background() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	n := 0
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-t.C:
			n++
			if n%5 == 0 {
				for _, db := range s.store.Databases() {
					for _, c := range db.Collections() {
						c.ttlExpire(now)
					}
				}
			}
			s.cursors.expire(now)
			s.trx.expire(s, now)
		}
	}
}

func parseVersion(v string) [3]int {
	var out [3]int
	core := v
	if i := strings.IndexAny(core, "-+ "); i >= 0 {
		core = core[:i]
	}
	for i, p := range strings.SplitN(core, ".", 3) {
		n, _ := strconv.Atoi(p)
		out[i] = n
	}
	return out
}

func (st *Store) versionAtLeast(a, b, c int) bool {
	v := st.version
	if v[0] != a {
		return v[0] > a
	}
	if v[1] != b {
		return v[1] > b
	}
	return v[2] >= c
}

// --- router -----------------------------------------------------------------------------

// router dispatches requests by method and path pattern. Registration (for the replication
// helper and everything else):
//
//		r.handle(method, pattern, h)
//
//	  - method: "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD" ("GET" also serves HEAD).
//	  - pattern: the path after the optional "/_db/{db}" prefix, e.g.
//	    "/_api/replication/batch/{id}". "{name}" matches one path segment (percent-decoded);
//	    a final "{name...}" matches the rest of the path (one or more segments, joined by "/").
//	    Literal segments win over parameters when several patterns match.
//	  - h: func(c *call). Inside it:
//	    c.db            *Database of the request (the "/_db/{db}" prefix, "_system" without it);
//	    unknown databases are answered with 404 1228 before the handler runs.
//	    c.dbName        its name
//	    c.param("id")   a path parameter
//	    c.query("x"), c.queryHas("x"), c.qbool("x", def), c.qint("x", def)  query arguments
//	    c.body          the request body, already decompressed (gzip/deflate)
//	    c.header(name)  a request header
//	    c.r, c.w        the raw *http.Request and http.ResponseWriter
//	    c.user          the authenticated user ("root" when auth is off)
//	  - answers: c.json(status, v) writes v as JSON; c.ok(status, fields) writes fields plus
//	    "error":false,"code":status (generateOk); c.okResult(status, v) writes
//	    {"error":false,"code":status,"result":v}; c.raw(status, contentType, []byte) writes bytes
//	    as they are (e.g. "application/x-arango-dump"); c.empty(status) writes no body;
//	    c.setHeader(k, v) before writing; c.error(status, errorNum, msg) writes the ArangoDB error
//	    body; c.fail(err) writes an *ArangoError as such and anything else as 500 errorNum 4.
type router struct {
	routes []*route
}

type route struct {
	method string
	segs   []string
	rest   string // name of the trailing "{name...}" parameter, or ""
	h      func(c *call)
}

func newRouter() *router { return &router{} }

func (r *router) handle(method, pattern string, h func(c *call)) {
	rt := &route{method: method, h: h}
	segs := strings.Split(strings.Trim(pattern, "/"), "/")
	if n := len(segs); n > 0 && strings.HasSuffix(segs[n-1], "...}") {
		rt.rest = strings.TrimSuffix(strings.TrimPrefix(segs[n-1], "{"), "...}")
		segs = segs[:n-1]
	}
	rt.segs = segs
	r.routes = append(r.routes, rt)
}

// match finds the best route for path segments. methodOK is false when a route matched the
// path but not the method.
func (r *router) match(method string, segs []string) (best *route, params map[string]string, pathMatched bool) {
	bestScore := -1
	for _, rt := range r.routes {
		if len(segs) < len(rt.segs) || (rt.rest == "" && len(segs) != len(rt.segs)) || (rt.rest != "" && len(segs) == len(rt.segs)) {
			continue
		}
		score := 0
		ok := true
		for i, p := range rt.segs {
			if strings.HasPrefix(p, "{") {
				score = score * 2
				continue
			}
			if p != segs[i] {
				ok = false
				break
			}
			score = score*2 + 1
		}
		if !ok {
			continue
		}
		if rt.rest == "" {
			score = score*2 + 1
		} else {
			score = score * 2
		}
		pathMatched = true
		if rt.method != method && !(method == "HEAD" && rt.method == "GET") {
			continue
		}
		if score > bestScore {
			bestScore = score
			best = rt
		}
	}
	if best == nil {
		return nil, nil, pathMatched
	}
	params = map[string]string{}
	for i, p := range best.segs {
		if strings.HasPrefix(p, "{") {
			params[strings.Trim(p, "{}")] = segs[i]
		}
	}
	if best.rest != "" {
		params[best.rest] = strings.Join(segs[len(best.segs):], "/")
	}
	return best, params, true
}

// call is one request being handled.
type call struct {
	s        *Server
	w        http.ResponseWriter
	r        *http.Request
	db       *Database
	dbName   string
	params   map[string]string
	q        url.Values
	body     []byte
	user     string
	path     string // path after the /_db/{db} prefix
	written  bool
	encoding string // response content encoding ("gzip", "deflate" or "")
}

func (c *call) param(name string) string { return c.params[name] }

func (c *call) query(name string) string { return c.q.Get(name) }

func (c *call) queryHas(name string) bool { _, ok := c.q[name]; return ok }

func (c *call) header(name string) string { return c.r.Header.Get(name) }

func (c *call) setHeader(k, v string) { c.w.Header().Set(k, v) }

func (c *call) qbool(name string, def bool) bool {
	v, ok := c.q[name]
	if !ok || len(v) == 0 {
		return def
	}
	switch strings.ToLower(v[0]) {
	case "true", "1", "yes", "on", "":
		return v[0] != "" || def
	case "false", "0", "no", "off":
		return false
	}
	return def
}

func (c *call) qint(name string, def int64) int64 {
	v := c.q.Get(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return def
	}
	return n
}

// raw writes body as it is.
func (c *call) raw(status int, contentType string, body []byte) {
	if c.written {
		return
	}
	c.written = true
	h := c.w.Header()
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	h.Set("Server", "ArangoDB")
	h.Set("X-Content-Type-Options", "nosniff")
	if th := c.s.opts.CompressResponseThreshold; c.encoding != "" && th > 0 && len(body) >= th &&
		status != http.StatusNoContent && status != http.StatusNotModified {
		var buf bytes.Buffer
		var zw io.WriteCloser
		if c.encoding == "gzip" {
			zw = gzip.NewWriter(&buf)
		} else {
			zw = zlib.NewWriter(&buf) // HTTP "deflate" is zlib-wrapped (RFC 9110)
		}
		_, _ = zw.Write(body)
		_ = zw.Close()
		body = buf.Bytes()
		h.Set("Content-Encoding", c.encoding)
		h.Add("Vary", "Accept-Encoding")
	}
	if status != http.StatusNoContent && status != http.StatusNotModified {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	c.w.WriteHeader(status)
	if c.r.Method != http.MethodHead && status != http.StatusNoContent && status != http.StatusNotModified {
		_, _ = c.w.Write(body)
	}
}

// empty answers with a status and no body.
func (c *call) empty(status int) { c.raw(status, "", nil) }

// json writes v as JSON (json.RawMessage and []byte-in-RawMessage values are kept as they are).
func (c *call) json(status int, v any) {
	b, err := marshalJSON(v)
	if err != nil {
		c.error(500, 4, "cannot encode response: "+err.Error())
		return
	}
	c.raw(status, "application/json; charset=utf-8", b)
}

// ok writes fields plus "error":false and "code":status.
func (c *call) ok(status int, fields map[string]any) {
	m := make(map[string]any, len(fields)+2)
	for k, v := range fields {
		m[k] = v
	}
	m["error"] = false
	m["code"] = status
	c.json(status, m)
}

// okResult writes {"error":false,"code":status,"result":v}.
func (c *call) okResult(status int, v any) {
	c.json(status, map[string]any{"error": false, "code": status, "result": v})
}

// error writes an ArangoDB error body.
func (c *call) error(status, errorNum int, msg string) {
	c.json(status, map[string]any{"code": status, "error": true, "errorMessage": msg, "errorNum": errorNum})
}

// fail writes err as an ArangoDB error.
func (c *call) fail(err error) {
	var ae *ArangoError
	if errors.As(err, &ae) {
		m := map[string]any{"code": ae.Code, "error": true, "errorMessage": ae.Message, "errorNum": ae.Num}
		for k, v := range ae.Extra {
			m[k] = v
		}
		c.json(ae.Code, m)
		return
	}
	c.error(500, 4, err.Error())
}

func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return b[:len(b)-1], nil
}

// --- request handling -------------------------------------------------------------------

const maxBodySize = 1 << 30

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{s: s, w: w, r: r, user: "root"}
	c.encoding = responseEncoding(r.Header.Get("Accept-Encoding"))
	path := r.URL.EscapedPath()
	dbName := "_system"
	if strings.HasPrefix(path, "/_db/") {
		rest := path[len("/_db/"):]
		i := strings.IndexByte(rest, '/')
		var enc string
		if i < 0 {
			enc, path = rest, "/"
		} else {
			enc, path = rest[:i], rest[i:]
		}
		dec, err := url.PathUnescape(enc)
		if err != nil {
			c.error(400, 1229, "database name invalid")
			return
		}
		dbName = dec
	}
	c.dbName = dbName
	c.path = path
	// Authentication comes before everything else (except open paths).
	if !s.auth.check(c) {
		return
	}
	var segs []string
	for _, p := range strings.Split(strings.Trim(path, "/"), "/") {
		if p == "" {
			continue
		}
		if d, err := url.PathUnescape(p); err == nil {
			p = d
		}
		segs = append(segs, p)
	}
	rt, params, pathMatched := s.router.match(r.Method, segs)
	// The database is resolved before the path, as the server does.
	c.db = s.store.Database(dbName)
	if c.db == nil && (rt != nil || !dbIndependent(path)) {
		c.fail(errDatabaseNotFound())
		return
	}
	if rt == nil {
		// mirrors RestHandler::generateError(METHOD_NOT_ALLOWED, TRI_ERROR_HTTP_METHOD_NOT_ALLOWED)
		// of the C++ handlers, and the catch-all action handler (RestActionHandler, then
		// js/server/modules/@arangodb/actions.js resultNotFound) for a path no handler has:
		// 404, error 404, "unknown path '<url>'", the URL without its /_db/<name> prefix
		// but with its query string (GeneralRequest::fullUrl).
		if pathMatched {
			c.error(405, 405, "method not supported")
			return
		}
		c.error(404, 404, "unknown path '"+fullURL(r, c.path)+"'")
		return
	}
	c.params = params
	c.q = r.URL.Query()
	var body []byte
	var err error
	if bodyReusable(c) {
		// The handler keeps nothing of this body: read it into a pooled buffer (a fresh
		// one per request costs more in the kernel's first touch of its pages than the
		// handler's own work) and give it back when the handler has returned.
		pb := getBodyBuf()
		defer putBodyBuf(pb)
		body, err = readBodyInto(r, pb)
	} else {
		body, err = readBody(r)
	}
	if err != nil {
		c.error(400, 600, "cannot read request body: "+err.Error())
		return
	}
	c.body = body
	if requestContentType(r) == ctDump && !rawBodyRoute(c) {
		// HttpRequest::payload parses a body only when the recorded type is unset, JSON or
		// VPack: under the dump type a JSON handler sees no body at all.
		c.body = nil
	}
	leave, ok := s.hbEnter(c) // backup_lock.go: writes share the hot backup lock; 503 while restarting
	if !ok {
		return
	}
	defer leave()
	if s.startAsync(c, s.hbAsync(c, rt.h)) { // backup_lock.go: a background write takes its own share
		return
	}
	rt.h(c)
	if !c.written {
		c.empty(200)
	}
}

// fullURL is GeneralRequest::fullUrl: the request's URL as sent, without the /_db/<name>
// prefix (HttpRequest::parseUrl), with the query string.
func fullURL(r *http.Request, path string) string {
	if r.URL.RawQuery != "" {
		return path + "?" + r.URL.RawQuery
	}
	return path
}

// rawBodyRoute reports the handlers that read the request body as bytes
// (GeneralRequest::rawPayload) rather than as one JSON value (payload): restore-data
// (RestReplicationHandler::parseBatch) and the line-wise imports (RestImportHandler).
// HttpRequest::setHeader records a dump Content-Type and payload() then returns nothing:
// every other handler sees no body.
func rawBodyRoute(c *call) bool {
	return c.r.Method == http.MethodPut && c.path == "/_api/replication/restore-data" ||
		c.r.Method == http.MethodPost && c.path == "/_api/import"
}

func responseEncoding(ae string) string {
	if ae == "" {
		return ""
	}
	for _, part := range strings.Split(ae, ",") {
		p := strings.TrimSpace(part)
		if i := strings.IndexByte(p, ';'); i >= 0 {
			if strings.Contains(p[i:], "q=0") && !strings.Contains(p[i:], "q=0.") {
				continue
			}
			p = strings.TrimSpace(p[:i])
		}
		switch strings.ToLower(p) {
		case "gzip":
			return "gzip"
		case "deflate":
			return "deflate"
		}
	}
	return ""
}

// bodyReusable reports whether the request's body may be read into a pooled buffer: only
// for handlers that copy what they keep (POST /_api/import, PUT restore-data), and only when
// the handler runs within serveHTTP (not as an async job, which outlives it). Receiving a batch
// into a buffer still in the cache, parsing it there and copying the documents out costs
// less than receiving it into fresh memory and keeping the documents there: measured on a
// 537 MB restore, 2.42-2.61 instead of 2.64-2.91 CPU-seconds of the server.
func bodyReusable(c *call) bool {
	restore := c.r.Method == http.MethodPut && c.path == "/_api/replication/restore-data"
	if !restore && (c.r.Method != http.MethodPost || c.path != "/_api/import") {
		return false
	}
	mode := strings.ToLower(c.header("x-arango-async"))
	return mode != "store" && mode != "true"
}

// bufList keeps a few slices for reuse, across garbage collections: a sync.Pool drops its
// objects after two, and bulk writes collect often, while a fresh buffer the size of a
// batch costs more in the kernel's first touch of its pages than the batch costs to ingest.
type bufList[T any] struct {
	free   chan *[]T
	maxCap int // larger slices are left to the garbage collector
}

func newBufList[T any](n, maxCap int) *bufList[T] {
	return &bufList[T]{free: make(chan *[]T, n), maxCap: maxCap}
}

// get returns an empty slice, with the capacity of an earlier one when there is one.
func (l *bufList[T]) get() *[]T {
	select {
	case b := <-l.free:
		return b
	default:
		return new([]T)
	}
}

// put gives b back, cleared (it keeps nothing alive), unless the list is full or b too big.
func (l *bufList[T]) put(b *[]T) {
	if cap(*b) > l.maxCap {
		return
	}
	clear(*b) // entries past the length are still zero
	*b = (*b)[:0]
	select {
	case l.free <- b:
	default:
	}
}

// bodyBufs holds request-body buffers for bodyReusable requests.
var bodyBufs = newBufList[byte](8, 32<<20)

func getBodyBuf() *[]byte  { return bodyBufs.get() }
func putBodyBuf(b *[]byte) { *b = (*b)[:0]; bodyBufs.put(b) } // a body need not be cleared

// readBodyInto is readBody into the buffer *buf (grown as needed and stored back into *buf):
// the returned body aliases *buf and is valid until the buffer is reused.
func readBodyInto(r *http.Request, buf *[]byte) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	enc := strings.ToLower(r.Header.Get("Content-Encoding"))
	if enc != "" && enc != "identity" {
		return readBody(r) // compressed: rare for imports, read as before
	}
	rd := io.LimitReader(r.Body, maxBodySize)
	b := (*buf)[:0]
	if r.ContentLength > 0 && r.ContentLength < maxBodySize {
		n := int(r.ContentLength)
		if cap(b) < n {
			b = make([]byte, n)
		}
		b = b[:n]
		*buf = b
		if _, err := io.ReadFull(rd, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	if cap(b) < 512 {
		b = make([]byte, 0, 64<<10)
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := rd.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			*buf = b
			return b, nil
		}
		if err != nil {
			*buf = b
			return nil, err
		}
	}
}

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	var rd io.Reader = io.LimitReader(r.Body, maxBodySize)
	switch strings.ToLower(r.Header.Get("Content-Encoding")) {
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(rd)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		rd = zr
	case "deflate":
		// Accept both raw deflate and zlib-wrapped deflate.
		all, err := io.ReadAll(rd)
		if err != nil {
			return nil, err
		}
		if zr, err := zlib.NewReader(bytes.NewReader(all)); err == nil {
			if out, err := io.ReadAll(zr); err == nil {
				return out, nil
			}
		}
		out, err := io.ReadAll(flate.NewReader(bytes.NewReader(all)))
		if err != nil {
			return nil, fmt.Errorf("deflate: %w", err)
		}
		return out, nil
	}
	if r.ContentLength > 0 && r.ContentLength < maxBodySize {
		// Exact size known: one allocation (bytes.Buffer.ReadFrom would double it at the end).
		// A large body (restore-data, import) is fresh memory, about to be written whole:
		// its pages are mapped at once rather than faulted in one by one.
		b := make([]byte, r.ContentLength)
		prefault(b)
		if _, err := io.ReadFull(rd, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	var buf bytes.Buffer
	_, err := buf.ReadFrom(rd)
	return buf.Bytes(), err
}
