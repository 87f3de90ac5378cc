package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// unixServer serves h on a Unix socket in a temporary directory and returns the socket's path.
func unixServer(t *testing.T, h http.Handler) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "arangod.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return path
}

// TestUnixSocketEndpoints: unix:// and http+unix:// endpoints reach the server over the socket,
// on the driver's path and the raw bulk path; a missing socket fails at once, naming it.
func TestUnixSocketEndpoints(t *testing.T) {
	seen := make(chan seenRequest, 4)
	path := unixServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if answerConnect(w, r) {
			return
		}
		b, _ := io.ReadAll(r.Body)
		seen <- seenRequest{method: r.Method, path: r.URL.Path, body: b}
		io.WriteString(w, `{"result":true}`)
	}))
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1") // a socket never goes through a proxy
	for _, ep := range []string{"unix://" + path, "http+unix://" + path} {
		o := DefaultOptions()
		o.Endpoints = []string{ep}
		c, err := Connect(context.Background(), o)
		if err != nil {
			t.Fatalf("%s: %v", ep, err)
		}
		if c.Version.Raw != "3.12.4" || c.Role != "SINGLE" {
			t.Errorf("%s: version %q role %q", ep, c.Version.Raw, c.Role)
		}
		body := []byte("{\"_key\":\"a\"}\n")
		if _, err := c.Do(context.Background(), Request{Method: "PUT", Path: "/_api/replication/restore-data", Body: body,
			Header: map[string]string{"Content-Type": DumpContentType}}); err != nil {
			t.Fatalf("%s: bulk request: %v", ep, err)
		}
		if got := <-seen; got.path != "/_db/_system/_api/replication/restore-data" || !bytes.Equal(got.body, body) {
			t.Errorf("%s: bulk request arrived as %s %q", ep, got.path, got.body)
		}
	}

	var log retryLog
	missing := filepath.Join(t.TempDir(), "nobody.sock")
	start := time.Now()
	_, err := Connect(context.Background(), troubleOptions("unix://"+missing, &log))
	if took := time.Since(start); took > 5*time.Second || log.count() != 0 {
		t.Errorf("a missing socket took %s and %d retries, want at once", took, log.count())
	}
	if !IsMissingSocket(err) {
		t.Fatalf("err = %v, want a missing socket", err)
	}
	for _, want := range []string{"connect to unix://" + missing + ": no such Unix socket", "check --server.endpoint"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// TestZeroTimeoutsMeanOneDay: --server.connection-timeout 0 and --server.request-timeout 0 are
// one day (ClientFeature's LONG_TIMEOUT), for the dial, the TLS handshake, the response header
// and each attempt of Conn.Do; other values are kept.
func TestZeroTimeoutsMeanOneDay(t *testing.T) {
	url := fakeServer(t, func(w http.ResponseWriter, r *http.Request) { answerConnect(w, r) })
	for _, tc := range []struct{ connect, request, wantConnect, wantRequest time.Duration }{
		{0, 0, 24 * time.Hour, 24 * time.Hour},
		{3 * time.Second, 1200 * time.Second, 3 * time.Second, 1200 * time.Second},
	} {
		o := DefaultOptions()
		o.Endpoints = []string{url}
		o.ConnectionTimeout, o.RequestTimeout = tc.connect, tc.request
		tr, err := newTransport(o, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tr.TLSHandshakeTimeout != tc.wantConnect || tr.ResponseHeaderTimeout != tc.wantRequest {
			t.Errorf("%v/%v: handshake %v header %v, want %v/%v", tc.connect, tc.request, tr.TLSHandshakeTimeout, tr.ResponseHeaderTimeout, tc.wantConnect, tc.wantRequest)
		}
		c, err := Connect(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if c.RequestTimeout != tc.wantRequest {
			t.Errorf("%v: Conn.RequestTimeout %v, want %v", tc.request, c.RequestTimeout, tc.wantRequest)
		}
	}
}

// TestSSLProtocolSetsTheLowestVersion: against a server that speaks TLS 1.2 at most,
// --ssl.protocol 6 (TLSv1.3) fails and 2, 4, 5 and 9 connect.
func TestSSLProtocolSetsTheLowestVersion(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { answerConnect(w, r) }))
	srv.TLS = &tls.Config{MaxVersion: tls.VersionTLS12}
	srv.Config.ErrorLog = nil
	srv.StartTLS()
	t.Cleanup(srv.Close)
	for _, protocol := range []int{2, 4, 5, 6, 9} {
		o := troubleOptions(srv.URL, &retryLog{})
		o.VerifyCertificate = false
		o.SSLProtocol = protocol
		_, err := Connect(context.Background(), o)
		if protocol == 6 {
			if !IsTLSVersionError(err) || Retryable(err) || !strings.Contains(err.Error(), "agree on no TLS version") {
				t.Errorf("--ssl.protocol 6 against a TLS 1.2 server: %v, want a TLS version error, not retried", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("--ssl.protocol %d: %v", protocol, err)
		}
	}
}

// TestResolvePasswordLeavesAtSigns: the password comes from ARANGO_PASSWORD only when none
// was given; @VAR@ is cliflag's business and stays as it is here.
func TestResolvePasswordLeavesAtSigns(t *testing.T) {
	t.Setenv(PasswordEnv, "from-env")
	t.Setenv("MYPW", "expanded")
	o := Options{}
	o.ResolvePassword()
	if o.Password != "from-env" {
		t.Errorf("empty password: %q, want $%s", o.Password, PasswordEnv)
	}
	o.Password = "@MYPW@"
	o.ResolvePassword()
	if o.Password != "@MYPW@" {
		t.Errorf("password %q, want @MYPW@ unchanged", o.Password)
	}
}

// syncBuffer is a bytes.Buffer for a slog handler written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRequestLogNeverShowsSecrets: with Options.Logger every request of the driver path and
// the bulk path is a debug record "request" (topic, method, url, status, duration, error on
// failure), every retry an info record, and neither a password (given, from the endpoint's
// userinfo, or base64 in a Basic header) nor a JWT ever appears in them.
func TestRequestLogNeverShowsSecrets(t *testing.T) {
	const pw, jwt = "s3cr3t-Pw", "eyJhbGciOiJIUzI1NiJ9.eyJzZWNyZXQiOnRydWV9.T0kenSig"
	var calls atomic.Int32
	host := strings.TrimPrefix(fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		if answerConnect(w, r) {
			return
		}
		if r.URL.Path == "/_db/_system/_api/collection/users/count" && calls.Add(1) == 1 {
			w.WriteHeader(503)
			return
		}
		io.WriteString(w, `{"result":true}`)
	}), "http://")
	for _, tc := range []struct {
		name string
		set  func(*Options)
	}{
		{"basic", func(o *Options) { o.Password = pw }},
		{"endpoint userinfo", func(o *Options) { o.Endpoints = []string{"tcp://root:" + pw + "@" + host} }},
		{"jwt", func(o *Options) { o.JWTToken = jwt }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls.Store(0)
			var out syncBuffer
			o := DefaultOptions()
			o.Endpoints = []string{"http://" + host}
			o.Logger = slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
			tc.set(&o)
			c, err := Connect(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Do(context.Background(), Request{Method: "GET", Path: "/_api/collection/users/count"}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Do(context.Background(), Request{Method: "PUT", Path: "/_api/replication/restore-data", Body: []byte("{}\n"),
				Header: map[string]string{"Content-Type": DumpContentType}}); err != nil {
				t.Fatal(err)
			}
			log := out.String()
			for _, want := range []string{
				`"level":"DEBUG","msg":"request","topic":"requests","method":"GET","url":"http://` + host + `/_db/_system/_api/version","status":200,"duration":`,
				`"msg":"request","topic":"requests","method":"GET","url":"http://` + host + `/_db/_system/_api/collection/users/count","status":503`,
				`"level":"INFO","msg":"retry","topic":"requests","attempt":1`,
				`"msg":"request","topic":"requests","method":"PUT","url":"http://` + host + `/_db/_system/_api/replication/restore-data","status":200`,
			} {
				if !strings.Contains(log, want) {
					t.Errorf("log does not hold %s\n%s", want, log)
				}
			}
			basic := base64.StdEncoding.EncodeToString([]byte("root:" + pw))
			for _, secret := range []string{pw, basic, jwt, "T0kenSig", "Authorization", "Basic "} {
				if strings.Contains(log, secret) {
					t.Errorf("log shows %q\n%s", secret, log)
				}
			}
		})
	}

	// A request without a response logs its error, still without the password.
	var out syncBuffer
	o := troubleOptions("tcp://root:"+pw+"@"+strings.TrimPrefix(closedEndpoint(t), "http://"), &retryLog{})
	o.Logger = slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if _, err := Connect(context.Background(), o); err == nil {
		t.Fatal("connected to a closed port")
	}
	if log := out.String(); !strings.Contains(log, "msg=request topic=requests method=GET") || !strings.Contains(log, "error=") || strings.Contains(log, pw) {
		t.Errorf("failed request logged as %s", log)
	}
}
