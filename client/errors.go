package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	jsoniter "github.com/json-iterator/go"
)

// ServerError is a response with a status outside 2xx, with ArangoDB's error body when it sent one.
type ServerError struct {
	Request  string // "PUT /_db/shop/_api/replication/restore-data?collection=users"
	Status   int
	ErrorNum int
	Message  string
}

func (e *ServerError) Error() string {
	if e.ErrorNum != 0 {
		return fmt.Sprintf("%s: HTTP %d, error %d: %s", e.Request, e.Status, e.ErrorNum, e.Message)
	}
	return fmt.Sprintf("%s: HTTP %d: %s", e.Request, e.Status, e.Message)
}

func newServerError(what string, status int, body []byte) *ServerError {
	e := &ServerError{Request: what, Status: status, Message: http.StatusText(status)}
	var ae struct {
		ErrorNum     int    `json:"errorNum"`
		ErrorMessage string `json:"errorMessage"`
	}
	if jsoniter.Unmarshal(body, &ae) == nil && (ae.ErrorNum != 0 || ae.ErrorMessage != "") {
		e.ErrorNum, e.Message = ae.ErrorNum, ae.ErrorMessage
	}
	return e
}

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

// Retryable reports whether err may go away when the same request is sent again: a connection
// error or timeout, or a 503/502/504 from the server. A 4xx, a 500 and bad input are not.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var te *TransportError
	if errors.As(err, &te) {
		return true
	}
	var se *ServerError
	if errors.As(err, &se) {
		switch se.Status {
		case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
			return true
		}
	}
	return false
}

// RetryPolicy retries retryable failures with exponential backoff and jitter.
type RetryPolicy struct {
	Attempts int           // total attempts, at least 1
	Initial  time.Duration // first wait
	Max      time.Duration // longest wait
	// OnRetry, when set, is told about every failure that is retried (for logs and progress).
	OnRetry func(attempt int, wait time.Duration, err error)
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
		if !Retryable(err) {
			return err
		}
		if attempt >= attempts {
			if attempts > 1 {
				return fmt.Errorf("gave up after %d attempts: %w", attempts, err)
			}
			return err
		}
		d := wait/2 + rand.N(wait/2+1)
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
