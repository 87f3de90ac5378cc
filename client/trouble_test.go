package client

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arangobackup/godump/arangotest"
)

// Connection trouble (issue 12, points 10, 11 and 15): what fails at once, what is retried
// and what the message says. Timing bounds are generous on purpose: they tell "at once"
// from "after a quarter of a minute of retries", nothing finer.

// closedEndpoint is an http:// endpoint on 127.0.0.1 where nothing listens.
func closedEndpoint(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// retryLog records the OnRetry calls of a connection.
type retryLog struct {
	mu    sync.Mutex
	waits []time.Duration
	errs  []error
}

func (l *retryLog) onRetry(_ int, wait time.Duration, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waits = append(l.waits, wait)
	l.errs = append(l.errs, err)
}

func (l *retryLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.waits)
}

func troubleOptions(endpoint string, log *retryLog) Options {
	o := DefaultOptions()
	o.Endpoints = []string{endpoint}
	o.Authentication = false
	o.OnRetry = log.onRetry
	return o
}

func TestConnectRefusedFailsAtOnce(t *testing.T) {
	ep := closedEndpoint(t)
	var log retryLog
	start := time.Now()
	_, err := Connect(context.Background(), troubleOptions(ep, &log))
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("a refused first connection failed after %s, want within 5 s", took)
	}
	if err == nil || !IsRefused(err) {
		t.Fatalf("err = %v, want a refused connection", err)
	}
	for _, want := range []string{"connect to " + ep + ": connection refused", "--server.endpoint"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if n := log.count(); n != 0 {
		t.Errorf("a refused first connection was retried %d times", n)
	}
}

// TestConnectUnknownHostFailsAtOnce: a name that does not resolve fails at once. The name is
// an .onion one, which Go's resolver answers "no such host" without sending any query (RFC
// 7686, net.avoidDNS): the test sends nothing to a DNS server.
func TestConnectUnknownHostFailsAtOnce(t *testing.T) {
	var log retryLog
	start := time.Now()
	_, err := Connect(context.Background(), troubleOptions("http+tcp://no-such-host.onion:8529", &log))
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("an unknown host failed after %s, want within 10 s", took)
	}
	if !IsUnknownHost(err) {
		t.Fatalf("err = %v, want an unknown host", err)
	}
	if !strings.Contains(err.Error(), `connect to http://no-such-host.onion:8529: `) ||
		!strings.Contains(err.Error(), `host "no-such-host.onion"`) {
		t.Errorf("error %q does not name the endpoint and the host", err)
	}
	if n := log.count(); n != 0 {
		t.Errorf("an unknown host was retried %d times", n)
	}
}

// TestRefusedMidRunIsRetriedAndReported: once connected, a refused connection may be a
// restarting server: it is retried, and every retry is reported before the wait.
func TestRefusedMidRunIsRetriedAndReported(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/_db/_system/_api/version":
			io.WriteString(w, `{"server":"arango","version":"3.12.4","license":"community"}`)
		default:
			io.WriteString(w, `{"role":"SINGLE"}`)
		}
	}))
	var log retryLog
	o := troubleOptions(srv.URL, &log)
	o.MaxRetries = 2
	c, err := Connect(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	c.Retry.Initial = time.Millisecond
	_, err = c.Do(context.Background(), Request{Method: http.MethodGet, Path: "/_api/collection"})
	if !IsRefused(err) || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Fatalf("err = %v, want a refused connection given up after 3 attempts", err)
	}
	if n := log.count(); n != 2 {
		t.Fatalf("OnRetry called %d times, want 2", n)
	}
	if !strings.Contains(log.errs[0].Error(), "GET /_db/_system/_api/collection") {
		t.Errorf("the retry report %q does not say what is being tried", log.errs[0])
	}
}

func TestCertificateErrorIsNotRetried(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"server":"arango","version":"3.12.4","license":"community","role":"SINGLE"}`)
	}))
	t.Cleanup(srv.Close)
	ep := "ssl://" + strings.TrimPrefix(srv.URL, "https://")
	var log retryLog
	o := troubleOptions(ep, &log)
	start := time.Now()
	_, err := Connect(context.Background(), o)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("a certificate that fails verification failed after %s, want within 5 s", took)
	}
	if !IsCertificateError(err) || Retryable(err) {
		t.Fatalf("err = %v, want a certificate error that is not retryable", err)
	}
	for _, want := range []string{"connect to " + srv.URL + ": the server's TLS certificate failed verification", "--ssl.ca-file", "--ssl.verify-certificate false"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if n := log.count(); n != 0 {
		t.Errorf("a certificate error was retried %d times", n)
	}
	// The user's way out works.
	o.VerifyCertificate = false
	if _, err := Connect(context.Background(), o); err != nil {
		t.Fatalf("--ssl.verify-certificate false: %v", err)
	}
}

func TestTooManyRequestsHonoursRetryAfter(t *testing.T) {
	var versions atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/_db/_system/_api/version":
			if versions.Add(1) == 1 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				io.WriteString(w, `{"error":true,"code":429,"errorNum":0,"errorMessage":"slow down"}`)
				return
			}
			io.WriteString(w, `{"server":"arango","version":"3.12.4","license":"community"}`)
		default:
			io.WriteString(w, `{"role":"SINGLE"}`)
		}
	}))
	t.Cleanup(srv.Close)
	var log retryLog
	start := time.Now()
	c, err := Connect(context.Background(), troubleOptions(srv.URL, &log))
	if err != nil {
		t.Fatalf("a 429 then 200: %v", err)
	}
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Errorf("retried after %s, before the server's Retry-After of 1 s", took)
	}
	if c.Version.Raw != "3.12.4" || versions.Load() != 2 {
		t.Errorf("version %q after %d requests", c.Version.Raw, versions.Load())
	}
	if log.count() != 1 || log.waits[0] < time.Second || !IsStatus(log.errs[0], http.StatusTooManyRequests) {
		t.Errorf("retries reported: waits %v, errors %v; want one 429 with a wait of 1 s", log.waits, log.errs)
	}
}

// TestBulkTimeoutCoversTheBody: a server that sends the status, half a restore-data answer
// and then stalls (never closing) fails the request after --server.request-timeout.
func TestBulkTimeoutCoversTheBody(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if answerConnect(w, r) {
			return
		}
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"error":false,`)
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	var log retryLog
	o := troubleOptions(srv.URL, &log)
	o.RequestTimeout = time.Second
	o.MaxRetries = 0
	c, err := Connect(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.Do(context.Background(), Request{Method: http.MethodPut, Path: "/_api/replication/restore-data",
		Query: map[string][]string{"collection": {"users"}}, Header: map[string]string{"Content-Type": DumpContentType},
		Body: []byte(`{"_key":"a"}` + "\n")})
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("a stalled answer held the request %s with a 1 s timeout", took)
	}
	var te *TransportError
	if !errors.As(err, &te) || !Retryable(err) {
		t.Fatalf("err = %v, want a retryable transport error", err)
	}
	for _, want := range []string{"PUT /_db/_system/_api/replication/restore-data?collection=users", "no complete answer within --server.request-timeout 1s"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func authServer(t *testing.T) string {
	t.Helper()
	srv, err := arangotest.NewServer(arangotest.Options{Users: map[string]string{"root": "right-pw"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.Endpoint()
}

func TestAuthFailureNamesUserAndEndpoint(t *testing.T) {
	ep := authServer(t)
	t.Setenv(PasswordEnv, "")
	for _, tc := range []struct {
		name, password, jwt string
		want                []string
	}{
		{"wrong password", "Wr0ngSecret", "", []string{`connect to ` + ep + `: authentication failed for user "root": wrong password`, "HTTP 401"}},
		{"no password", "", "", []string{`connect to ` + ep + `: authentication failed for user "root": no password was given`, "--server.password", PasswordEnv}},
		{"jwt", "", "eyJhbGciOiJIUzI1NiJ9.e30.WrongSig", []string{`connect to ` + ep + `: the server refused the JWT token given with --server.jwt-token`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log retryLog
			o := troubleOptions(ep, &log)
			o.Authentication = true
			o.Password, o.JWTToken = tc.password, tc.jwt
			_, err := Connect(context.Background(), o)
			if !IsUnauthorized(err) {
				t.Fatalf("err = %v, want a 401", err)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			for _, secret := range []string{"Wr0ngSecret", "WrongSig", "right-pw"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q shows a secret", err)
				}
			}
			if n := log.count(); n != 0 {
				t.Errorf("an authentication failure was retried %d times", n)
			}
		})
	}
}

func TestMissingDatabaseIsNamed(t *testing.T) {
	ep := authServer(t)
	var log retryLog
	o := troubleOptions(ep, &log)
	o.Authentication, o.Password, o.Database = true, "right-pw", "nosuchdb"
	_, err := Connect(context.Background(), o)
	if !IsErrorNum(err, 1228) {
		t.Fatalf("err = %v, want error 1228", err)
	}
	if want := `connect to ` + ep + `: database "nosuchdb" does not exist`; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
}

func TestBadEndpointIsABadOption(t *testing.T) {
	for ep, want := range map[string]string{
		"htp://127.0.0.1:8529":    "unknown scheme",
		"unix://tmp/arangod.sock": "want an absolute socket path",
		"tcp://":                  "has no host",
		"srv://db.example":        "DNS SRV endpoints are not supported; give host:port with tcp:// or ssl://",
		"http+srv://db.example":   "DNS SRV endpoints are not supported; give host:port with tcp:// or ssl://",
	} {
		_, err := Connect(context.Background(), troubleOptions(ep, &retryLog{}))
		if !errors.Is(err, ErrBadOption) || !strings.Contains(err.Error(), want) {
			t.Errorf("endpoint %q: err = %v, want ErrBadOption saying %q", ep, err, want)
		}
	}
	for protocol, want := range map[int]string{1: "SSLv2 is not supported", 3: "SSLv3 is not supported", 7: "unknown protocol", 10: "unknown protocol"} {
		o := troubleOptions("ssl://127.0.0.1:1", &retryLog{})
		o.SSLProtocol = protocol
		if _, err := Connect(context.Background(), o); !errors.Is(err, ErrBadOption) || !strings.Contains(err.Error(), want) {
			t.Errorf("--ssl.protocol %d: err = %v, want ErrBadOption saying %q", protocol, err, want)
		}
	}
	o := troubleOptions("tcp://127.0.0.1:1", &retryLog{})
	o.CAFile = "/nonexistent/ca.pem"
	if _, err := Connect(context.Background(), o); !errors.Is(err, ErrBadOption) {
		t.Errorf("missing --ssl.ca-file: err = %v, want ErrBadOption", err)
	}
}

// TestUnknownHostIsPermanent: a DNS "no such host" (as a resolver answers it) and Go's "no
// suitable address found" are unknown hosts and never retried; a temporary DNS failure is.
func TestUnknownHostIsPermanent(t *testing.T) {
	notFound := &TransportError{What: "GET /_api/version", Err: &net.DNSError{Err: "no such host", Name: "db.example", IsNotFound: true}}
	noAddr := &TransportError{What: "GET /_api/version", Err: &net.AddrError{Err: "no suitable address found", Addr: "db.onion"}}
	temporary := &TransportError{What: "GET /_api/version", Err: &net.DNSError{Err: "server misbehaving", Name: "db.example", IsTemporary: true}}
	for _, err := range []error{notFound, noAddr} {
		if !IsUnknownHost(err) || Retryable(err) {
			t.Errorf("%v: unknown host %v, retryable %v; want true, false", err, IsUnknownHost(err), Retryable(err))
		}
	}
	if IsUnknownHost(temporary) {
		t.Errorf("%v counted as an unknown host", temporary)
	}
	if got := unknownHostName(notFound); got != "db.example" {
		t.Errorf("host name %q", got)
	}
}
