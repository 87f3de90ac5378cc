package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	jsoniter "github.com/json-iterator/go"
)

// ServerError is a response with a status outside 2xx, with ArangoDB's error body when it sent one.
type ServerError struct {
	Request  string // "PUT /_db/shop/_api/replication/restore-data?collection=users"
	Status   int
	ErrorNum int
	Message  string
	// RetryAfter is the server's Retry-After (seconds or an HTTP date), 0 when absent.
	RetryAfter time.Duration
}

func (e *ServerError) Error() string {
	if e.ErrorNum != 0 {
		return fmt.Sprintf("%s: HTTP %d, error %d: %s", e.Request, e.Status, e.ErrorNum, e.Message)
	}
	return fmt.Sprintf("%s: HTTP %d: %s", e.Request, e.Status, e.Message)
}

func newServerError(what string, status int, header http.Header, body []byte) *ServerError {
	e := &ServerError{Request: what, Status: status, Message: http.StatusText(status), RetryAfter: retryAfter(header)}
	var ae struct {
		ErrorNum     int    `json:"errorNum"`
		ErrorMessage string `json:"errorMessage"`
	}
	if jsoniter.Unmarshal(body, &ae) == nil && (ae.ErrorNum != 0 || ae.ErrorMessage != "") {
		e.ErrorNum, e.Message = ae.ErrorNum, ae.ErrorMessage
	}
	return e
}

// maxRetryAfter bounds a server's Retry-After, so that a hostile or broken value cannot park
// a run for hours.
const maxRetryAfter = 5 * time.Minute

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = time.Until(t)
	}
	return min(max(d, 0), maxRetryAfter)
}

// ErrBadOption marks an error in the options (an endpoint with an unknown scheme, an
// unreadable --ssl.ca-file): the tools exit 2 on it, as on any bad option.
var ErrBadOption = errors.New("bad option")

// TransportError is a request that got no complete response: refused or dropped connection,
// timeout, truncated body.
type TransportError struct {
	What string
	Err  error
}

// Error redacts the userinfo of any URL the wrapped error quotes (the tools' own URLs carry
// none; this keeps it so whatever the driver or net/http builds its message from).
func (e *TransportError) Error() string { return RedactText(e.What + ": " + e.Err.Error()) }
func (e *TransportError) Unwrap() error { return e.Err }

// IsStatus reports whether err is a ServerError with the given HTTP status.
func IsStatus(err error, status int) bool {
	var se *ServerError
	return errors.As(err, &se) && se.Status == status
}

// IsErrorNum reports whether err is a ServerError with the given ArangoDB error number.
func IsErrorNum(err error, num int) bool {
	var se *ServerError
	return errors.As(err, &se) && se.ErrorNum == num
}

// IsUnauthorized reports an authentication failure (fatal: retrying does not help).
func IsUnauthorized(err error) bool { return IsStatus(err, http.StatusUnauthorized) }

// IsRefused reports a connection refused by the host (nothing listens on the port).
func IsRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// IsUnknownHost reports a host name that DNS does not know (not a temporary DNS failure), or
// one that resolved to no usable address ("no suitable address found", as Go answers for
// names it never resolves, such as .onion ones).
func IsUnknownHost(err error) bool {
	var de *net.DNSError
	if errors.As(err, &de) && de.IsNotFound {
		return true
	}
	var ae *net.AddrError
	return errors.As(err, &ae) && ae.Err == "no suitable address found"
}

// unknownHostName is the host name of an IsUnknownHost error.
func unknownHostName(err error) string {
	var de *net.DNSError
	if errors.As(err, &de) {
		return de.Name
	}
	var ae *net.AddrError
	if errors.As(err, &ae) {
		return ae.Addr
	}
	return ""
}

// IsCertificateError reports a TLS failure that sending again cannot heal: the server's
// certificate failed verification, or the endpoint does not speak TLS at all.
func IsCertificateError(err error) bool {
	var (
		cve *tls.CertificateVerificationError
		uae x509.UnknownAuthorityError
		hne x509.HostnameError
		cie x509.CertificateInvalidError
		rhe tls.RecordHeaderError
	)
	return errors.As(err, &cve) || errors.As(err, &uae) || errors.As(err, &hne) ||
		errors.As(err, &cie) || errors.As(err, &rhe)
}

// IsTLSVersionError reports a TLS handshake that failed over the protocol version (the server
// does not speak the lowest version --ssl.protocol accepts, or the reverse): permanent.
func IsTLSVersionError(err error) bool {
	// crypto/tls reports a received alert as an unexported type (tls.AlertError is for QUIC
	// only), so its text is what there is to go by.
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "tls: protocol version not supported") ||
		strings.Contains(msg, "tls: server selected unsupported protocol version") ||
		strings.Contains(msg, "tls: insufficient security level")
}

// Retryable reports whether err may go away when the same request is sent again: a connection
// error or timeout, a 503/502/504 from the server, or a 429 (too many requests). A 4xx, a 500,
// bad input, an unknown host and a certificate that fails verification are not.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var te *TransportError
	if errors.As(err, &te) {
		return !IsUnknownHost(err) && !IsCertificateError(err) && !IsTLSVersionError(err)
	}
	var se *ServerError
	if errors.As(err, &se) {
		switch se.Status {
		case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout,
			http.StatusTooManyRequests:
			return true
		}
	}
	return false
}

// retryableLater is Retryable for the first contact with a server (client.Connect): a refused
// connection, a missing Unix socket or a failed name lookup there means a wrong endpoint or a
// server that is not running, which retrying for a quarter of a minute would only hide.
func retryableLater(err error) bool {
	var de *net.DNSError
	return Retryable(err) && !IsRefused(err) && !IsMissingSocket(err) && !errors.As(err, &de)
}

// IsMissingSocket reports a unix:// endpoint whose socket file does not exist (no server
// listens there, or the path is wrong).
func IsMissingSocket(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Net == "unix" && errors.Is(err, syscall.ENOENT)
}

// RetryReporter is an OnRetry for the tools: it says at once, on w, what failed and is being
// tried again (attempts as of --server.max-retries maxRetries).
func RetryReporter(w io.Writer, tool string, maxRetries int) func(attempt int, wait time.Duration, err error) {
	return func(attempt int, wait time.Duration, err error) {
		fmt.Fprintf(w, "%s: %v; trying again in %s (attempt %d of %d)\n", tool, err, wait.Round(time.Millisecond), attempt+1, maxRetries+1)
	}
}

// RetryPolicy retries retryable failures with exponential backoff and jitter.
type RetryPolicy struct {
	Attempts int           // total attempts, at least 1
	Initial  time.Duration // first wait
	Max      time.Duration // longest wait
	// OnRetry, when set, is told about every failure that is retried (for logs and progress).
	// The wait is the backoff, or the server's Retry-After when that is longer.
	OnRetry func(attempt int, wait time.Duration, err error)

	retryable func(error) bool // nil: Retryable
}

// Do runs fn until it succeeds, fails with a non-retryable error, the attempts are used up, or
// ctx ends. The last error is returned, saying how many attempts were made.
func (p RetryPolicy) Do(ctx context.Context, fn func(ctx context.Context) error) error {
	attempts := max(p.Attempts, 1)
	wait := p.Initial
	if wait <= 0 {
		wait = 100 * time.Millisecond
	}
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return errors.Join(ctx.Err(), err)
		}
		retryable := p.retryable
		if retryable == nil {
			retryable = Retryable
		}
		if !retryable(err) {
			return err
		}
		if attempt >= attempts {
			if attempts > 1 {
				return fmt.Errorf("gave up after %d attempts: %w", attempts, err)
			}
			return err
		}
		d := wait/2 + rand.N(wait/2+1)
		var se *ServerError
		if errors.As(err, &se) && se.RetryAfter > d {
			d = se.RetryAfter
		}
		if p.OnRetry != nil {
			p.OnRetry(attempt, d, err)
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-time.After(d):
		}
		wait *= 2
		if p.Max > 0 && wait > p.Max {
			wait = p.Max
		}
	}
}
