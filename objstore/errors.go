package objstore

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
)

// Kinds of failure that callers tell apart with errors.Is. A missing object
// wraps fs.ErrNotExist.
var (
	// ErrCredentials: the store refused the credentials (or they lack the
	// permission asked for).
	ErrCredentials = errors.New("s3 credentials refused")
	// ErrNoBucket: the bucket does not exist.
	ErrNoBucket = errors.New("s3 bucket does not exist")
	// ErrUnreachable: no connection to the endpoint could be made.
	ErrUnreachable = errors.New("cannot reach s3 endpoint")
)

// Error is the error of every operation of a Store, an Upload or an Object.
// It names what was being done and the s3:// URL of the object, and wraps
// both its kind (one of the Err* above, fs.ErrNotExist, or nil) and the cause.
type Error struct {
	Op       string // "upload", "read", "stat", "list", "write", "remove", "open", "complete", "abort"
	URL      string // s3://bucket/key (never a secret)
	Part     int    // multipart part number, 0 if none
	Kind     error
	Err      error
	Attempts int // attempts made, when more than one

	endpoint string
	creds    string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(" ")
	b.WriteString(e.URL)
	if e.Part > 0 {
		fmt.Fprintf(&b, " part %d", e.Part)
	}
	b.WriteString(": ")
	cause := describe(e.Err)
	switch e.Kind {
	case ErrCredentials:
		fmt.Fprintf(&b, "%v (%s) using credentials from %s; they are looked up in %s", ErrCredentials, cause, e.creds, credentialsChecked)
	case ErrNoBucket:
		fmt.Fprintf(&b, "%v at %s (%s)", ErrNoBucket, e.endpoint, cause)
	case ErrUnreachable:
		fmt.Fprintf(&b, "%v %s: %s", ErrUnreachable, e.endpoint, cause)
	case fs.ErrNotExist:
		fmt.Fprintf(&b, "%v (%s)", fs.ErrNotExist, cause)
	default:
		b.WriteString(cause)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

func (e *Error) Unwrap() []error {
	if e.Kind == nil {
		return []error{e.Err}
	}
	return []error{e.Kind, e.Err}
}

// describe renders a cause: an S3 error as "Code: message (HTTP status)".
func describe(err error) string {
	var er minio.ErrorResponse
	if errors.As(err, &er) && er.Code != "" {
		msg := er.Message
		if msg == "" {
			msg = http.StatusText(er.StatusCode)
		}
		if er.StatusCode != 0 {
			return fmt.Sprintf("%s: %s (HTTP %d)", er.Code, msg, er.StatusCode)
		}
		return er.Code + ": " + msg
	}
	if err == nil {
		return "unknown error"
	}
	return err.Error()
}

var credentialCodes = map[string]bool{
	"AccessDenied":                 true,
	"InvalidAccessKeyId":           true,
	"SignatureDoesNotMatch":        true,
	"InvalidToken":                 true,
	"ExpiredToken":                 true,
	"TokenRefreshRequired":         true,
	"InvalidSecurity":              true,
	"AccountProblem":               true,
	"AllAccessDisabled":            true,
	"AuthorizationHeaderMalformed": true,
	"MissingSecurityHeader":        true,
}

var retryableCodes = map[string]bool{
	"RequestTimeout":            true,
	"RequestTimeTooSkewed":      false,
	"InternalError":             true,
	"ServiceUnavailable":        true,
	"SlowDown":                  true,
	"SlowDownRead":              true,
	"SlowDownWrite":             true,
	"Throttling":                true,
	"ThrottlingException":       true,
	"RequestLimitExceeded":      true,
	"RequestThrottled":          true,
	"OperationAborted":          true,
	"IncompleteBody":            true,
	"BadDigest":                 true, // the body was damaged on the way
	"XAmzContentSHA256Mismatch": true,
}

// classify returns the kind of err and whether another attempt may succeed.
func classify(ctx context.Context, err error) (kind error, retryable bool) {
	if err == nil {
		return nil, false
	}
	if ctx.Err() != nil {
		return nil, false
	}
	var er minio.ErrorResponse
	if errors.As(err, &er) && (er.Code != "" || er.StatusCode != 0) {
		switch {
		case credentialCodes[er.Code]:
			return ErrCredentials, false
		case er.Code == "NoSuchBucket":
			return ErrNoBucket, false
		case er.Code == "NoSuchKey" || er.Code == "NotFound":
			return fs.ErrNotExist, false
		case retryableCodes[er.Code]:
			return nil, true
		case er.StatusCode >= 500 || er.StatusCode == http.StatusRequestTimeout || er.StatusCode == http.StatusTooManyRequests:
			return nil, true
		case er.StatusCode == http.StatusForbidden:
			return ErrCredentials, false
		}
		return nil, false
	}
	var uerr x509.UnknownAuthorityError
	var herr x509.HostnameError
	var cerr x509.CertificateInvalidError
	if errors.As(err, &uerr) || errors.As(err, &herr) || errors.As(err, &cerr) {
		return nil, false
	}
	if errors.Is(err, errTransient) {
		return nil, true
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return ErrUnreachable, true
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return ErrUnreachable, !de.IsNotFound
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return ErrUnreachable, true
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, context.DeadlineExceeded) {
		return nil, true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return nil, true
	}
	msg := err.Error()
	if strings.Contains(msg, "Connection closed by foreign host") || strings.Contains(msg, "connection reset") ||
		strings.Contains(msg, "broken pipe") || strings.Contains(msg, "server closed idle connection") {
		return nil, true
	}
	return nil, false
}

// errTransient marks failures that this package knows to be worth another
// attempt (a short read of a body, say).
var errTransient = errors.New("transient")

// retry runs fn up to s.cfg.Retries times while its error is retryable,
// waiting RetryDelay, then twice that, and so on up to 8 s. It is the one
// place where requests are retried. The error returned is an *Error.
func (s *Store) retry(ctx context.Context, op, key string, part int, fn func(ctx context.Context) error) error {
	delay := s.cfg.RetryDelay
	var err error
	attempt := 0
	for attempt = 1; ; attempt++ {
		err = fn(ctx)
		if err == nil {
			return nil
		}
		kind, retryable := classify(ctx, err)
		if !retryable || attempt >= s.cfg.Retries {
			return s.wrap(op, key, part, kind, err, attempt)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return s.wrap(op, key, part, nil, context.Cause(ctx), attempt)
		case <-t.C:
		}
		delay = min(delay*2, maxRetryDelay)
	}
}

// wrap makes the *Error of an operation.
func (s *Store) wrap(op, key string, part int, kind, err error, attempts int) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Op: op, URL: s.objectURL(key), Part: part, Kind: kind, Err: err, Attempts: attempts,
		endpoint: s.endpointShown, creds: s.creds.from}
}
