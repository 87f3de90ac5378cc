// Package client connects the tools to an ArangoDB deployment: the --server.* and --ssl.*
// options with arangodump's names and defaults, endpoint schemes, authentication (basic, JWT
// token, none), TLS, server detection (version, role, license), raw requests for bulk data over
// the go-driver v2 connection, and the one retry policy every tool shares.
//
// It is not an ArangoDB API wrapper: typed calls go through the driver (Conn.Client); this
// package only adds what the driver does not do for a dump/restore tool.
package client

import (
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/arangobackup/godump/cliflag"
	"github.com/spf13/pflag"
)

// Options are the connection options shared by godump, gorestore and the hotbackup commands.
type Options struct {
	Endpoints         []string      // --server.endpoint (repeatable)
	Database          string        // --server.database
	Username          string        // --server.username
	Password          string        // --server.password (or ARANGO_PASSWORD)
	Authentication    bool          // --server.authentication
	JWTToken          string        // --server.jwt-token
	ConnectionTimeout time.Duration // --server.connection-timeout
	RequestTimeout    time.Duration // --server.request-timeout
	VerifyCertificate bool          // --ssl.verify-certificate
	CAFile            string        // --ssl.ca-file
	MaxRetries        int           // --server.max-retries (ours): attempts after the first for retryable failures

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
		MaxRetries:        8,
	}
}

// AddFlags declares the --server.* and --ssl.* options on fs, with o's current values as
// defaults (start from DefaultOptions).
func AddFlags(fs *pflag.FlagSet, o *Options) {
	fs.StringArrayVar(&o.Endpoints, "server.endpoint", o.Endpoints,
		"endpoint to connect to (repeatable): http+tcp://, http+ssl://, tcp://, ssl://, http://, https://")
	fs.StringVar(&o.Database, "server.database", o.Database, "database name to use")
	fs.StringVar(&o.Username, "server.username", o.Username, "username to use when connecting")
	fs.StringVar(&o.Password, "server.password", o.Password,
		"password to use when connecting (default: $"+PasswordEnv+"; @VAR@ is replaced by environment variable VAR)")
	cliflag.BoolVar(fs, &o.Authentication, "server.authentication", o.Authentication, "require authentication credentials when connecting")
	fs.StringVar(&o.JWTToken, "server.jwt-token", o.JWTToken, "JWT token to authenticate with instead of username and password")
	fs.Var((*secondsValue)(&o.ConnectionTimeout), "server.connection-timeout", "connection timeout in seconds")
	fs.Var((*secondsValue)(&o.RequestTimeout), "server.request-timeout", "request timeout in seconds")
	fs.IntVar(&o.MaxRetries, "server.max-retries", o.MaxRetries, "retries of a request after a dropped connection, a timeout or a 503")
	cliflag.BoolVar(fs, &o.VerifyCertificate, "ssl.verify-certificate", o.VerifyCertificate, "verify the server's TLS certificate")
	fs.StringVar(&o.CAFile, "ssl.ca-file", o.CAFile, "PEM file of CA certificates to trust in addition to the system's")
}

var envRef = regexp.MustCompile(`@([A-Za-z_][A-Za-z0-9_]*)@`)

// ResolvePassword fills Password from ARANGO_PASSWORD when it is empty and replaces @VAR@
// references by environment variables, as the ArangoDB tools do.
func (o *Options) ResolvePassword() {
	if o.Password == "" {
		o.Password = os.Getenv(PasswordEnv)
	}
	o.Password = envRef.ReplaceAllStringFunc(o.Password, func(m string) string {
		return os.Getenv(strings.Trim(m, "@"))
	})
}

// NormalizeEndpoint turns an ArangoDB endpoint (tcp://, ssl://, http+tcp://, http+ssl://,
// http://, https://) into an http(s) URL without a trailing slash and without userinfo
// (credentials in an endpoint never reach a URL, so no error of net/http or the driver can
// show them; Connect uses them when no password was given otherwise). Its errors show the
// endpoint through RedactEndpoint.
func NormalizeEndpoint(ep string) (string, error) {
	n, _, err := splitEndpoint(ep)
	return n, err
}

// splitEndpoint is NormalizeEndpoint, also returning the userinfo's user and password (nil:
// the endpoint had no userinfo).
func splitEndpoint(ep string) (normalized string, user *url.Userinfo, err error) {
	e := strings.TrimSpace(ep)
	shown := RedactEndpoint(e)
	lower := strings.ToLower(e)
	for _, m := range []struct{ from, to string }{
		{"http+tcp://", "http://"}, {"http+ssl://", "https://"},
		{"tcp://", "http://"}, {"ssl://", "https://"},
		{"http://", "http://"}, {"https://", "https://"},
	} {
		if strings.HasPrefix(lower, m.from) {
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
				return "", nil, optionError{fmt.Errorf("endpoint %q has no host", shown)}
			}
			return m.to + rest, user, nil
		}
	}
	if strings.HasPrefix(lower, "unix://") || strings.HasPrefix(lower, "http+unix://") {
		return "", nil, optionError{fmt.Errorf("endpoint %q: unix domain sockets are not supported; use tcp:// or ssl://", shown)}
	}
	return "", nil, optionError{fmt.Errorf("endpoint %q: unknown scheme (want tcp://, ssl://, http+tcp://, http+ssl://, http:// or https://)", shown)}
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
