package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/arangodb/go-driver/v2/arangodb"
	"github.com/arangodb/go-driver/v2/connection"
	jsoniter "github.com/json-iterator/go"
)

// Conn is a connection to one ArangoDB deployment (one or several Coordinators).
type Conn struct {
	Client     arangodb.Client       // typed API of the official driver
	Connection connection.Connection // the driver's connection, for raw requests
	Endpoints  []string              // normalized http(s) URLs, in the order given
	Version    Version               // server version, from GET /_api/version
	License    string                // "enterprise" or "community"
	Role       string                // "SINGLE", "COORDINATOR", "PRIMARY", "AGENT"
	Database   string                // default database of requests
	Retry      RetryPolicy           // used by Do and Retry
	// RequestTimeout bounds each attempt of Do, reading the response body included
	// (--server.request-timeout); 0: no bound.
	RequestTimeout time.Duration

	bulk *bulkSender // raw bodies without the driver's copy (see bulk.go); nil: the driver
}

// IsCluster reports whether the server is a Coordinator of a cluster.
func (c *Conn) IsCluster() bool { return c.Role == "COORDINATOR" }

// Connect opens a connection with o, checks that the server answers, and detects version,
// license and role (the tools' common preamble: GET /_api/version, GET /_admin/server/role).
func Connect(ctx context.Context, o Options) (*Conn, error) {
	if len(o.Endpoints) == 0 {
		return nil, errors.New("no --server.endpoint given")
	}
	eps := make([]string, 0, len(o.Endpoints))
	sockets := map[string]string{} // UnixSocketHost -> socket path
	var epUser *url.Userinfo       // the first endpoint's userinfo, if any
	for _, e := range o.Endpoints {
		// Comma-separated lists are accepted too, as in the fast cluster restore scripts.
		for _, part := range strings.Split(e, ",") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			n, u, socket, err := splitEndpoint(part)
			if err != nil {
				return nil, err
			}
			if u != nil && epUser == nil {
				epUser = u
			}
			if socket != "" {
				sockets[strings.TrimPrefix(n, "http://")] = socket
			}
			eps = append(eps, n)
		}
	}
	base, err := newTransport(o, sockets)
	if err != nil {
		return nil, err
	}
	var transport http.RoundTripper = base
	if o.Logger != nil {
		transport = &loggingTransport{next: base, log: o.Logger, sockets: sockets}
	}
	conn := connection.NewHttpConnection(connection.HttpConfiguration{
		Endpoint:    connection.NewRoundRobinEndpoints(eps),
		ContentType: connection.ApplicationJSON,
		Transport:   transport,
	})
	bulk := &bulkSender{http: &http.Client{Transport: transport}}
	// Credentials are sent whatever --server.authentication says: arangodump's
	// ClientFeature::createHttpClient always calls setUserNamePassword (a JWT, when given,
	// wins: SimpleHttpClient sends "bearer" then), and --server.authentication false only
	// keeps it from asking for a password (ClientFeature::prepare).
	if err := o.ResolveJWT(); err != nil {
		return nil, err
	}
	if o.JWTToken == "" && o.JWTSecret != "" {
		o.JWTToken = SuperToken(o.JWTSecret, "godump")
	}
	if o.JWTToken != "" {
		bulk.auth = "bearer " + o.JWTToken
		if err := conn.SetAuthentication(connection.NewHeaderAuth("Authorization", "bearer %s", o.JWTToken)); err != nil {
			return nil, err
		}
	} else {
		o.ResolvePassword()
		if pw, ok := epUser.Password(); ok && o.Password == "" {
			// http://user:password@host: the endpoint's credentials, when no other password
			// was given (the URL itself never carries them: see NormalizeEndpoint).
			o.Username, o.Password = epUser.Username(), pw
		}
		bulk.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(o.Username+":"+o.Password))
		if err := conn.SetAuthentication(connection.NewBasicAuth(o.Username, o.Password)); err != nil {
			return nil, err
		}
	}
	db := o.Database
	if db == "" {
		db = "_system"
	}
	retries := o.MaxRetries
	if retries < 0 {
		retries = 0
	}
	c := &Conn{
		Client:     arangodb.NewClient(conn),
		Connection: conn,
		Endpoints:  eps,
		Database:   db,
		Retry:      RetryPolicy{Attempts: retries + 1, Initial: 200 * time.Millisecond, Max: 5 * time.Second, OnRetry: retryLogger(o.OnRetry, o.Logger)},
		bulk:       bulk,

		RequestTimeout: timeoutOrDay(o.RequestTimeout),
	}
	var ver struct {
		Server  string `json:"server"`
		Version string `json:"version"`
		License string `json:"license"`
	}
	// The first contact: a refused connection or an unknown host fails at once (see
	// retryableLater); what can heal (a timeout, a 503 of a starting server) is retried.
	first := *c
	first.Retry.retryable = retryableLater
	if err := first.DoJSON(ctx, Request{Method: http.MethodGet, Path: "/_api/version"}, &ver); err != nil {
		return nil, explainConnect(shownEndpoints(eps, sockets), o, db, err)
	}
	if c.Version, err = ParseVersion(ver.Version); err != nil {
		return nil, fmt.Errorf("connect to %s: %w", strings.Join(shownEndpoints(eps, sockets), ", "), err)
	}
	c.License = ver.License
	var role struct {
		Role string `json:"role"`
	}
	if err := c.DoJSON(ctx, Request{Method: http.MethodGet, Path: "/_admin/server/role"}, &role); err != nil {
		return nil, explainConnect(shownEndpoints(eps, sockets), o, db, err)
	}
	c.Role = role.Role
	return c, nil
}

// explainConnect says what a failed first contact means and what to do about it, naming the
// endpoints (never credentials: splitEndpoint took the userinfo out of eps) and wrapping err.
func explainConnect(eps []string, o Options, db string, err error) error {
	where := strings.Join(eps, ", ")
	if hint := connectHint(o, db, err); hint != "" {
		return fmt.Errorf("connect to %s: %s: %w", where, hint, err)
	}
	return fmt.Errorf("connect to %s: %w", where, err)
}

// connectHint is explainConnect's explanation of err, "" when it has none.
func connectHint(o Options, db string, err error) string {
	var de *net.DNSError
	var rhe tls.RecordHeaderError
	switch {
	case IsRefused(err):
		return "connection refused: is ArangoDB running and listening there? (check --server.endpoint)"
	case IsMissingSocket(err):
		return "no such Unix socket: is ArangoDB running and listening there? (check --server.endpoint)"
	case IsUnknownHost(err):
		return fmt.Sprintf("unknown host %q (check --server.endpoint)", unknownHostName(err))
	case errors.As(err, &de):
		return fmt.Sprintf("cannot resolve host %q (check --server.endpoint and DNS)", de.Name)
	case errors.As(err, &rhe):
		return "the server does not answer TLS (for an unencrypted server use http+tcp:// or tcp://)"
	case IsTLSVersionError(err):
		return "the server and --ssl.protocol agree on no TLS version (--ssl.protocol 5 and 9 accept TLSv1.2 and later, 4 TLSv1 and later, 6 only TLSv1.3)"
	case IsCertificateError(err):
		return "the server's TLS certificate failed verification " +
			"(trust its CA with --ssl.ca-file FILE, or skip the check with --ssl.verify-certificate false)"
	case IsUnauthorized(err) && o.JWTToken != "":
		return "the server refused the JWT token given with --server.jwt-token (expired, or signed with another secret)"
	case IsUnauthorized(err) && o.Password == "" && !o.Authentication:
		return fmt.Sprintf("authentication failed for user %q: no password was given, and "+
			"--server.authentication false asks for none (use --server.password, or set %s)", o.Username, PasswordEnv)
	case IsUnauthorized(err) && o.Password == "":
		return fmt.Sprintf("authentication failed for user %q: no password was given "+
			"(use --server.password, or set %s)", o.Username, PasswordEnv)
	case IsUnauthorized(err):
		return fmt.Sprintf("authentication failed for user %q: wrong password "+
			"(or unknown user; check --server.username and --server.password)", o.Username)
	case IsErrorNum(err, 1228):
		return fmt.Sprintf("database %q does not exist (check --server.database)", db)
	}
	return ""
}

// longTimeout is what a timeout of 0 means: one day, ClientFeature::LONG_TIMEOUT (86400 s),
// which ClientFeature::validateOptions puts in place of a 0 --server.connection-timeout or
// --server.request-timeout.
const longTimeout = 24 * time.Hour

// timeoutOrDay is d, or longTimeout for 0.
func timeoutOrDay(d time.Duration) time.Duration {
	if d <= 0 {
		return longTimeout
	}
	return d
}

// newTransport is the HTTP transport of a connection with o: TLS as --ssl.* say, dial and
// TLS handshake bounded by --server.connection-timeout, the response header by
// --server.request-timeout, and the hosts in sockets (UnixSocketHost names) dialled as those
// Unix sockets.
func newTransport(o Options, sockets map[string]string) (*http.Transport, error) {
	minVersion, err := tlsMinVersion(o.SSLProtocol)
	if err != nil {
		return nil, err
	}
	tlsConf := &tls.Config{InsecureSkipVerify: !o.VerifyCertificate, MinVersion: minVersion} //nolint:gosec // the user asked for it
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, optionError{fmt.Errorf("read --ssl.ca-file: %w", err)}
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, optionError{fmt.Errorf("--ssl.ca-file %s holds no PEM certificate", o.CAFile)}
		}
		tlsConf.RootCAs = pool
	}
	timeout := timeoutOrDay(o.ConnectionTimeout)
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	dial := dialer.DialContext
	proxy := http.ProxyFromEnvironment
	if len(sockets) > 0 {
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				host = addr
			}
			if path, ok := sockets[host]; ok {
				return dialer.DialContext(ctx, "unix", path)
			}
			return dialer.DialContext(ctx, network, addr)
		}
		proxy = func(r *http.Request) (*url.URL, error) {
			if _, ok := sockets[r.URL.Hostname()]; ok {
				return nil, nil // a local socket: never through a proxy
			}
			return http.ProxyFromEnvironment(r)
		}
	}
	return &http.Transport{
		Proxy:                 proxy,
		DialContext:           dial,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   timeout,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: timeoutOrDay(o.RequestTimeout),
		// Bulk data is already compact; compressing it on loopback or a LAN costs more CPU than
		// it saves, and the tools compress their own files.
		DisableCompression: true,
	}, nil
}

// shownEndpoints is eps for messages: the Unix socket hosts as unix:// endpoints again.
func shownEndpoints(eps []string, sockets map[string]string) []string {
	if len(sockets) == 0 {
		return eps
	}
	out := make([]string, len(eps))
	for i, ep := range eps {
		out[i] = ep
		if path, ok := sockets[strings.TrimPrefix(ep, "http://")]; ok {
			out[i] = "unix://" + path
		}
	}
	return out
}

// Version is a server version such as 3.12.4.
type Version struct {
	Major, Minor, Patch int
	Raw                 string
}

// ParseVersion reads "3.12.4", "3.11.0-devel", "3.12.0-rc.1".
func ParseVersion(s string) (Version, error) {
	v := Version{Raw: s}
	parts := strings.SplitN(s, ".", 3)
	if len(parts) < 2 {
		return v, fmt.Errorf("unrecognised server version %q", s)
	}
	var err error
	if v.Major, err = strconv.Atoi(parts[0]); err != nil {
		return v, fmt.Errorf("unrecognised server version %q", s)
	}
	if v.Minor, err = strconv.Atoi(parts[1]); err != nil {
		return v, fmt.Errorf("unrecognised server version %q", s)
	}
	if len(parts) == 3 {
		digits := parts[2]
		if i := strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
			digits = digits[:i]
		}
		v.Patch, _ = strconv.Atoi(digits)
	}
	return v, nil
}

// AtLeast reports whether v >= major.minor.patch.
func (v Version) AtLeast(major, minor, patch int) bool {
	if v.Major != major {
		return v.Major > major
	}
	if v.Minor != minor {
		return v.Minor > minor
	}
	return v.Patch >= patch
}

func (v Version) String() string { return v.Raw }

// Request is a raw request. Path is relative to the database ("/_api/replication/dump"); it is
// sent under /_db/{Database} (Conn.Database when empty).
type Request struct {
	Method   string
	Path     string
	Database string
	Query    url.Values
	Header   map[string]string
	// Body is sent as it is (bulk data: JSON lines); JSON, when Body is nil, is marshalled.
	Body []byte
	JSON any
	// Endpoint pins the request to one of Conn.Endpoints (a Coordinator); empty = round robin.
	Endpoint string
}

// What names the request in errors: "PUT /_db/shop/_api/replication/restore-data?collection=users".
func (r Request) What(defaultDB string) string {
	db := r.Database
	if db == "" {
		db = defaultDB
	}
	s := r.Method + " /_db/" + url.PathEscape(db) + r.Path
	if len(r.Query) > 0 {
		s += "?" + r.Query.Encode()
	}
	return s
}

// Response is the status, headers and (for Do) body of a response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Stream sends one request, without retries, and returns the response with its body open: the
// caller must close it. A status outside 2xx is returned as a *ServerError (body consumed).
func (c *Conn) Stream(ctx context.Context, r Request) (*Response, io.ReadCloser, error) {
	db := r.Database
	if db == "" {
		db = c.Database
	}
	path := "/_db/" + url.PathEscape(db) + r.Path
	if c.bulk != nil && (r.Body != nil || mangledByDriver(path, r.Query)) {
		return c.streamBulk(ctx, r)
	}
	var (
		req connection.Request
		err error
	)
	if r.Endpoint != "" {
		req, err = c.Connection.NewRequestWithEndpoint(r.Endpoint, r.Method, path)
	} else {
		req, err = c.Connection.NewRequest(r.Method, path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", r.What(c.Database), err)
	}
	for k, vs := range r.Query {
		for _, v := range vs {
			req.AddQuery(k, v)
		}
	}
	for k, v := range r.Header {
		// The driver keys headers by the exact string and looks for "content-type".
		if strings.EqualFold(k, "content-type") {
			k = "content-type"
		}
		req.AddHeader(k, v)
	}
	switch {
	case r.Body != nil:
		// Raw bodies go through bulkSender (set by New): the driver would re-encode the bytes
		// under any type but text/plain, which the server does not parse (see streamBulk).
		return nil, nil, fmt.Errorf("%s: raw request body on a connection not made by client.New", r.What(c.Database))
	case r.JSON != nil:
		b, err := jsoniter.ConfigCompatibleWithStandardLibrary.Marshal(r.JSON)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: encode body: %w", r.What(c.Database), err)
		}
		if _, ok := req.GetHeader("content-type"); !ok {
			req.AddHeader("content-type", connection.ApplicationJSON)
		}
		if err := req.SetBody(json.RawMessage(b)); err != nil {
			return nil, nil, err
		}
	}
	resp, body, err := c.Connection.Stream(ctx, req)
	if err != nil {
		return nil, nil, &TransportError{What: r.What(c.Database), Err: err}
	}
	out := &Response{Status: resp.Code()}
	if raw := resp.RawResponse(); raw != nil {
		out.Header = raw.Header
	}
	if body == nil {
		body = io.NopCloser(bytes.NewReader(nil))
	}
	if out.Status < 200 || out.Status > 299 {
		defer body.Close()
		b, _ := io.ReadAll(io.LimitReader(body, 64<<10))
		return out, nil, newServerError(r.What(c.Database), out.Status, out.Header, b)
	}
	return out, body, nil
}

// Do sends a request and reads the whole response body, retrying retryable failures with
// c.Retry. Use Stream for large responses.
//
// Each attempt, sending and reading the whole answer, is bounded by c.RequestTimeout: a server
// that sends half an answer and stalls fails the attempt (a retryable TransportError).
func (c *Conn) Do(ctx context.Context, r Request) (*Response, error) {
	var out *Response
	err := c.Retry.Do(ctx, func(ctx context.Context) error {
		if c.RequestTimeout <= 0 {
			return c.doOnce(ctx, r, &out)
		}
		actx, cancel := context.WithTimeout(ctx, c.RequestTimeout)
		defer cancel()
		err := c.doOnce(actx, r, &out)
		if err != nil && ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
			err = &TransportError{What: r.What(c.Database), Err: fmt.Errorf("no complete answer within --server.request-timeout %s: %w", c.RequestTimeout, err)}
		}
		return err
	})
	return out, err
}

// doOnce is one attempt of Do.
func (c *Conn) doOnce(ctx context.Context, r Request, out **Response) error {
	resp, body, err := c.Stream(ctx, r)
	if err != nil {
		return err
	}
	defer body.Close()
	b, err := io.ReadAll(body)
	if err != nil {
		return &TransportError{What: r.What(c.Database), Err: err}
	}
	resp.Body = b
	*out = resp
	return nil
}

// DoJSON is Do, decoding a JSON response into out (when out is not nil).
func (c *Conn) DoJSON(ctx context.Context, r Request, out any) error {
	resp, err := c.Do(ctx, r)
	if err != nil {
		return err
	}
	if out == nil || len(resp.Body) == 0 {
		return nil
	}
	if err := jsoniter.ConfigCompatibleWithStandardLibrary.Unmarshal(resp.Body, out); err != nil {
		return fmt.Errorf("%s: decode response: %w", r.What(c.Database), err)
	}
	return nil
}

// mangledByDriver reports whether go-driver v2 would change the request's URL on the way:
// its httpRequest.URL() (connection/connection_http_request.go, v2.4.1) unescapes the whole
// encoded URL with url.QueryUnescape before net/http parses it again, so a %XX becomes the
// byte it stands for and a "+" a space. A name holding "+", "%", "&", "#", "?", "/" or a
// space (extended database and collection names) would reach the server as another name,
// or as other parameters. Such requests go out through bulkSender, which sends the URL as
// encoded here (arangod decodes %XX and "+" in the query: HttpRequest::parseUrl).
func mangledByDriver(path string, q url.Values) bool {
	return strings.ContainsAny(path, "%+") || (len(q) > 0 && strings.ContainsAny(q.Encode(), "%+"))
}
