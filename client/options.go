// Package client connects the tools to an ArangoDB deployment: the --server.* and --ssl.*
// options with arangodump's names and defaults, endpoint schemes, authentication (basic, JWT
// token, none), TLS, server detection (version, role, license), raw requests for bulk data over
// the go-driver v2 connection, and the one retry policy every tool shares.
//
// It is not an ArangoDB API wrapper: typed calls go through the driver (Conn.Client); this
// package only adds what the driver does not do for a dump/restore tool.
package client

import (
	"crypto/tls"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/arangobackup/godump/cliflag"
	"github.com/spf13/pflag"
)

// Options are the connection options shared by godump, gorestore and the hotbackup commands.
type Options struct {
	Endpoints []string // --server.endpoint (repeatable)
	Database  string   // --server.database
	Username  string   // --server.username
	Password  string   // --server.password (or ARANGO_PASSWORD)
	JWTToken  string   // --server.jwt-token ("-": asked for on the terminal)
	// JWTSecret signs a superuser token when no JWTToken is given: the contents of
	// --server.jwt-secret-keyfile (JWTSecretFile, read by ResolveJWT) or the answer to
	// --server.ask-jwt-secret.
	JWTSecret           string
	JWTSecretFile       string
	AskJWTSecret        bool
	JWTRenewalThreshold float64 // --server.jwt-renewal-threshold: accepted; a superuser token has no expiry to renew
	MaxPacketSize       uint64  // --server.max-packet-size: checked (at least 1 MB) as the tools do; no other effect
	// Authentication is --server.authentication. As in arangodump (ClientFeature::prepare), it
	// only decides whether the tools may ask for a password (cliflag.AskPassword); the client
	// sends the username and password (or the JWT token) either way, as SimpleHttpClient does.
	Authentication bool
	// ConnectionTimeout and RequestTimeout are --server.connection-timeout and
	// --server.request-timeout; 0 means one day (ClientFeature's LONG_TIMEOUT), not "none".
	ConnectionTimeout time.Duration
	RequestTimeout    time.Duration
	VerifyCertificate bool   // --ssl.verify-certificate (ours; the real tools never verify)
	CAFile            string // --ssl.ca-file
	// SSLProtocol is --ssl.protocol: 2 or 9 negotiate (TLS 1.2 or 1.3), 4, 5, 6 accept TLS 1.0,
	// 1.2, 1.3 and later; 0 is 5; 1 (SSLv2) and 3 (SSLv3) are refused (see tlsMinVersion).
	SSLProtocol int
	MaxRetries  int // --server.max-retries (ours): attempts after the first for retryable failures

	// Logger, when set, gets a debug record "request" (topic "requests") for every HTTP request
	// and an info record "retry" for every retried failure; nil logs nothing.
	Logger *slog.Logger

	// OnRetry, when set, becomes Conn.Retry.OnRetry: told about every failure that is retried,
	// before the wait (the tools print it, so that a retry is never silent).
	OnRetry func(attempt int, wait time.Duration, err error)
}

// PasswordEnv is the environment variable read for the password when --server.password is not
// given, so that it stays out of process listings.
const PasswordEnv = "ARANGO_PASSWORD"

// DefaultOptions returns arangodump's defaults.
func DefaultOptions() Options {
	return Options{
		Endpoints:         []string{"http+tcp://127.0.0.1:8529"},
		Database:          "_system",
		Username:          "root",
		Authentication:    true,
		ConnectionTimeout: 5 * time.Second,
		RequestTimeout:    1200 * time.Second,
		VerifyCertificate: true,
		SSLProtocol:       5,
		MaxRetries:        8,
	}
}

// AddFlags declares the --server.* and --ssl.* options on fs, with o's current values as
// defaults (start from DefaultOptions).
func AddFlags(fs *pflag.FlagSet, o *Options) {
	fs.StringArrayVar(&o.Endpoints, "server.endpoint", o.Endpoints,
		"endpoint to connect to (repeatable): tcp://HOST[:PORT], ssl://HOST[:PORT] (also http+tcp://, http://, http+ssl://, https://; port 8529 when none is given), unix:///PATH or http+unix:///PATH")
	fs.StringVar(&o.Database, "server.database", o.Database, "database name to use")
	fs.StringVar(&o.Username, "server.username", o.Username, "username to use when connecting")
	fs.StringVar(&o.Password, "server.password", o.Password,
		"password to use when connecting (default: $"+PasswordEnv+", else asked for on a terminal unless --server.authentication false)")
	cliflag.BoolVar(fs, &o.Authentication, "server.authentication", o.Authentication,
		"ask for a password when none is given (false: never ask; the username and password given are sent either way)")
	fs.StringVar(&o.JWTToken, "server.jwt-token", o.JWTToken, "JWT token to authenticate with instead of username and password")
	fs.StringVar(&o.JWTSecretFile, "server.jwt-secret-keyfile", o.JWTSecretFile, "file holding the JWT secret: authenticate with a superuser token signed with it (not with --server.jwt-token)")
	cliflag.BoolVar(fs, &o.AskJWTSecret, "server.ask-jwt-secret", o.AskJWTSecret, "ask for the JWT secret on the terminal and authenticate with a superuser token signed with it")
	fs.Float64Var(&o.JWTRenewalThreshold, "server.jwt-renewal-threshold", 300, "seconds before a JWT's expiry to renew it (accepted; the tokens used here are renewed by the user)")
	cliflag.SizeVar(fs, &o.MaxPacketSize, "server.max-packet-size", 1<<30, "largest packet in bytes (at least 1 MB; accepted, answers are streamed whatever their size)")
	for _, name := range []string{"server.jwt-secret-keyfile", "server.ask-jwt-secret", "server.jwt-renewal-threshold", "server.max-packet-size"} {
		_ = fs.MarkHidden(name)
	}
	fs.Var((*secondsValue)(&o.ConnectionTimeout), "server.connection-timeout", "connection timeout in seconds (0: one day)")
	fs.Var((*secondsValue)(&o.RequestTimeout), "server.request-timeout", "request timeout in seconds (0: one day)")
	fs.IntVar(&o.MaxRetries, "server.max-retries", o.MaxRetries, "retries of a request after a dropped connection, a timeout or a 503")
	cliflag.BoolVar(fs, &o.VerifyCertificate, "ssl.verify-certificate", o.VerifyCertificate, "verify the server's TLS certificate")
	fs.StringVar(&o.CAFile, "ssl.ca-file", o.CAFile, "PEM file of CA certificates to trust in addition to the system's")
	cliflag.Uint64IntVar(fs, &o.SSLProtocol, "ssl.protocol", o.SSLProtocol,
		"lowest TLS version to accept: 4 = TLSv1, 5 = TLSv1.2, 6 = TLSv1.3, 2 or 9 = negotiated (TLS 1.2 or 1.3); 1 (SSLv2) and 3 (SSLv3) are not supported")
}

// tlsMinVersion maps --ssl.protocol to the lowest TLS version Go accepts (0: Go's default,
// TLS 1.2; the highest is always Go's, TLS 1.3). The numbers are
// arangodump's (lib/Ssl/ssl-helper.h SslProtocol; ClientFeature accepts 1, 2, 3, 4, 5, 6, 9).
// In 3.12 SslClientConnection::init creates TLS_client_method() for 4, 5, 6 and 9, so the
// real client negotiates the version with the server whatever the number; ours takes the
// number as the lowest version it accepts and negotiates up to TLS 1.3. 2 ("SSLv2 or SSLv3,
// negotiated", SSLv23_method, which OpenSSL 1.1+ negotiates as TLS) is negotiated TLS too.
func tlsMinVersion(protocol int) (uint16, error) {
	switch protocol {
	case 0, 2, 9: // 0: not set (SSL_UNKNOWN, TLS_method: negotiated)
		return 0, nil
	case 4:
		return tls.VersionTLS10, nil
	case 5:
		return tls.VersionTLS12, nil
	case 6:
		return tls.VersionTLS13, nil
	case 1:
		return 0, optionError{fmt.Errorf("--ssl.protocol 1: SSLv2 is not supported (nor by arangodump); use 5 (TLSv1.2), 6 (TLSv1.3) or 9 (negotiated)")}
	case 3:
		return 0, optionError{fmt.Errorf("--ssl.protocol 3: SSLv3 is not supported (Go's TLS has no SSLv3); use 5 (TLSv1.2), 6 (TLSv1.3) or 9 (negotiated)")}
	}
	return 0, optionError{fmt.Errorf("--ssl.protocol %d: unknown protocol (want 4 = TLSv1, 5 = TLSv1.2, 6 = TLSv1.3, 2 or 9 = negotiated)", protocol)}
}

// ResolvePassword fills Password from ARANGO_PASSWORD when it is empty. (@VAR@ references
// are replaced by cliflag.Parse in every option value, as the ArangoDB tools do, not here.)
func (o *Options) ResolvePassword() {
	if o.Password == "" {
		o.Password = os.Getenv(PasswordEnv)
	}
}

// DefaultPort is the port of an endpoint that names none (tcp://host, ssl://host, http://host,
// https://host): arangod's, as in the ArangoDB tools (Endpoint::unifiedForm, EndpointIp's
// _defaultPortHttp), not HTTP's 80 or 443.
const DefaultPort = "8529"

// NormalizeEndpoint turns an ArangoDB endpoint (tcp://, ssl://, http+tcp://, http+ssl://,
// http://, https://, unix://, http+unix://) into an http(s) URL without a trailing slash and
// without userinfo (credentials in an endpoint never reach a URL, so no error of net/http or
// the driver can show them; Connect uses them when no password was given otherwise), with
// port 8529 when the endpoint names none. A Unix socket becomes http://unix-socket-HASH, a
// name Connect's transport dials as that socket (UnixSocketHost). Its errors show the
// endpoint through RedactEndpoint.
func NormalizeEndpoint(ep string) (string, error) {
	n, _, _, err := splitEndpoint(ep)
	return n, err
}

// UnixSocketHost is the host name NormalizeEndpoint gives the Unix socket at path: stable, a
// valid URL host, and telling one socket from another in a list of endpoints.
func UnixSocketHost(path string) string {
	h := fnv.New64a()
	h.Write([]byte(path))
	return "unix-socket-" + strconv.FormatUint(h.Sum64(), 16)
}

// splitEndpoint is NormalizeEndpoint, also returning the userinfo's user and password (nil:
// the endpoint had no userinfo) and, for unix:// endpoints, the socket's path.
func splitEndpoint(ep string) (normalized string, user *url.Userinfo, socket string, err error) {
	e := strings.TrimSpace(ep)
	shown := RedactEndpoint(e)
	lower := strings.ToLower(e)
	for _, p := range []string{"unix://", "http+unix://"} {
		if strings.HasPrefix(lower, p) {
			// Endpoint::factory: everything after the scheme is the path (no userinfo, no port).
			path := e[len(p):]
			if !filepath.IsAbs(path) {
				return "", nil, "", optionError{fmt.Errorf("endpoint %q: want an absolute socket path, as in unix:///tmp/arangod.sock", shown)}
			}
			return "http://" + UnixSocketHost(path), nil, path, nil
		}
	}
	for _, p := range []string{"srv://", "http+srv://"} {
		if strings.HasPrefix(lower, p) {
			return "", nil, "", optionError{fmt.Errorf("endpoint %q: DNS SRV endpoints are not supported; give host:port with tcp:// or ssl://", shown)}
		}
	}
	for _, m := range []struct{ from, to string }{
		{"http+tcp://", "http://"}, {"http+ssl://", "https://"},
		{"tcp://", "http://"}, {"ssl://", "https://"},
		{"http://", "http://"}, {"https://", "https://"},
	} {
		if !strings.HasPrefix(lower, m.from) {
			continue
		}
		rest := strings.TrimRight(e[len(m.from):], "/")
		if i := strings.LastIndex(rest, "@"); i >= 0 {
			// userinfo: everything up to the last '@' (a password may hold '@', ':', '/')
			info := rest[:i]
			rest = rest[i+1:]
			name, pw, hasPW := strings.Cut(info, ":")
			if un, err := url.PathUnescape(name); err == nil {
				name = un
			}
			if up, err := url.PathUnescape(pw); err == nil {
				pw = up
			}
			if hasPW {
				user = url.UserPassword(name, pw)
			} else {
				user = url.User(name)
			}
		}
		if rest == "" {
			return "", nil, "", optionError{fmt.Errorf("endpoint %q has no host", shown)}
		}
		return m.to + withDefaultPort(rest), user, "", nil
	}
	return "", nil, "", optionError{fmt.Errorf("endpoint %q: unknown scheme (want tcp://, ssl://, http+tcp://, http+ssl://, http://, https://, unix:// or http+unix://)", shown)}
}

// withDefaultPort adds :8529 to host[:port][/path] when it names no port (an IPv6 address
// in brackets included), as Endpoint::unifiedForm does.
func withDefaultPort(hostPort string) string {
	hp, tail, _ := strings.Cut(hostPort, "/")
	if tail != "" {
		tail = "/" + tail
	}
	if strings.HasPrefix(hp, "[") {
		if strings.HasSuffix(hp, "]") {
			return hp + ":" + DefaultPort + tail
		}
		return hostPort
	}
	if _, port, err := net.SplitHostPort(hp); err == nil && port != "" {
		return hostPort
	}
	if strings.Contains(hp, ":") && !strings.HasSuffix(hp, ":") {
		return hostPort // not host:port (an IPv6 address without brackets?): left to net/http
	}
	return strings.TrimSuffix(hp, ":") + ":" + DefaultPort + tail
}

// optionError is an error in the options: errors.Is(err, ErrBadOption) holds.
type optionError struct{ error }

func (e optionError) Unwrap() error        { return e.error }
func (e optionError) Is(target error) bool { return target == ErrBadOption }

// RedactEndpoint returns ep for messages: userinfo (everything up to the last '@' after the
// scheme) becomes "user:xxxxx", or "xxxxx" when it has no ':' (it may be a token). Anything
// that shows an endpoint as the user typed it must go through it.
func RedactEndpoint(ep string) string {
	i := strings.LastIndex(ep, "@")
	if i < 0 {
		return ep
	}
	start := 0
	if j := strings.Index(ep, "://"); j >= 0 && j < i {
		start = j + 3
	}
	info := ep[start:i]
	if name, _, ok := strings.Cut(info, ":"); ok {
		info = name + ":xxxxx"
	} else {
		info = "xxxxx"
	}
	return ep[:start] + info + ep[i:]
}

// urlUserinfo finds userinfo in URLs inside free text (errors of other libraries).
var urlUserinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)([^\s/?#"'<>]*)@`)

// RedactText replaces the userinfo of every URL in s as RedactEndpoint does: for errors of
// net/http, the driver or the operating system, which may quote a URL.
func RedactText(s string) string {
	return urlUserinfo.ReplaceAllStringFunc(s, RedactEndpoint)
}
