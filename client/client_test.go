package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func fakeServer(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestNormalizeEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"tcp://127.0.0.1:8529":       "http://127.0.0.1:8529",
		"http+tcp://h:1":             "http://h:1",
		"ssl://h:1/":                 "https://h:1",
		"http+ssl://h:1":             "https://h:1",
		"HTTP://h:1":                 "http://h:1",
		"https://db.example.com:443": "https://db.example.com:443",
	} {
		got, err := NormalizeEndpoint(in)
		if err != nil || got != want {
			t.Errorf("NormalizeEndpoint(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"unix:///tmp/a.sock", "ftp://h", "h:8529", "tcp://"} {
		if _, err := NormalizeEndpoint(bad); err == nil {
			t.Errorf("NormalizeEndpoint(%q): want an error", bad)
		}
	}
}

func TestConnectDetectsServerAndRetries503(t *testing.T) {
	var dumpCalls atomic.Int32
	var gotAuth, gotBody atomic.Value
	url := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		gotAuth.Store(r.Header.Get("Authorization"))
		switch r.URL.Path {
		case "/_db/_system/_api/version":
			io.WriteString(w, `{"server":"arango","version":"3.12.4","license":"enterprise"}`)
		case "/_db/_system/_admin/server/role":
			io.WriteString(w, `{"role":"COORDINATOR","mode":"default"}`)
		case "/_db/shop/_api/replication/restore-data":
			if dumpCalls.Add(1) < 3 {
				w.WriteHeader(503)
				io.WriteString(w, `{"error":true,"code":503,"errorNum":503,"errorMessage":"service unavailable"}`)
				return
			}
			b, _ := io.ReadAll(r.Body)
			gotBody.Store(string(b))
			io.WriteString(w, `{"result":true}`)
		case "/_db/shop/_api/collection/missing":
			w.WriteHeader(404)
			io.WriteString(w, `{"error":true,"code":404,"errorNum":1203,"errorMessage":"collection or view not found"}`)
		default:
			w.WriteHeader(404)
		}
	})
	o := DefaultOptions()
	o.Endpoints = []string{strings.Replace(url, "http://", "tcp://", 1)}
	o.Password = "secret"
	c, err := Connect(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	c.Retry.Initial = time.Millisecond
	if c.Version.Major != 3 || c.Version.Minor != 12 || c.Version.Patch != 4 || !c.IsCluster() || c.License != "enterprise" {
		t.Fatalf("detected %+v role %s license %s", c.Version, c.Role, c.License)
	}
	if a, _ := gotAuth.Load().(string); !strings.HasPrefix(a, "Basic ") {
		t.Errorf("Authorization = %q, want basic auth", a)
	}
	lines := "{\"_key\":\"a\"}\n{\"_key\":\"b\"}\n"
	if _, err := c.Do(context.Background(), Request{Method: "PUT", Database: "shop", Path: "/_api/replication/restore-data", Body: []byte(lines)}); err != nil {
		t.Fatal(err)
	}
	if n := dumpCalls.Load(); n != 3 {
		t.Errorf("restore-data sent %d times, want 3 (two 503s retried)", n)
	}
	if b, _ := gotBody.Load().(string); b != lines {
		t.Errorf("body arrived as %q, want the bytes unchanged", b)
	}
	_, err = c.Do(context.Background(), Request{Method: "GET", Database: "shop", Path: "/_api/collection/missing"})
	var se *ServerError
	if !errors.As(err, &se) || se.ErrorNum != 1203 || Retryable(err) || !strings.Contains(err.Error(), "GET /_db/shop/_api/collection/missing") {
		t.Fatalf("404: got %v", err)
	}
}

func TestRetryGivesUpAndStopsOnFatal(t *testing.T) {
	p := RetryPolicy{Attempts: 3, Initial: time.Millisecond}
	n := 0
	err := p.Do(context.Background(), func(context.Context) error {
		n++
		return &TransportError{What: "GET /x", Err: io.ErrUnexpectedEOF}
	})
	if n != 3 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("attempts %d err %v", n, err)
	}
	n = 0
	err = p.Do(context.Background(), func(context.Context) error {
		n++
		return &ServerError{Request: "GET /x", Status: 409, ErrorNum: 1210}
	})
	if n != 1 || !IsErrorNum(err, 1210) {
		t.Fatalf("attempts %d err %v", n, err)
	}
}

func TestParseVersion(t *testing.T) {
	v, err := ParseVersion("3.11.0-devel")
	if err != nil || v.Major != 3 || v.Minor != 11 || v.Patch != 0 || !v.AtLeast(3, 11, 0) || v.AtLeast(3, 12, 0) {
		t.Fatalf("%+v %v", v, err)
	}
	if _, err := ParseVersion("garbage"); err == nil {
		t.Fatal("want error")
	}
}

func TestTimeoutFlagsTakeSeconds(t *testing.T) {
	for in, want := range map[string]time.Duration{"1200": 1200 * time.Second, "0.5": 500 * time.Millisecond, "20m": 20 * time.Minute} {
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		o := DefaultOptions()
		AddFlags(fs, &o)
		if err := fs.Parse([]string{"--server.request-timeout", in, "--server.connection-timeout=" + in}); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if o.RequestTimeout != want || o.ConnectionTimeout != want {
			t.Errorf("%s: request %v connection %v, want %v", in, o.RequestTimeout, o.ConnectionTimeout, want)
		}
	}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	o := DefaultOptions()
	AddFlags(fs, &o)
	if err := fs.Parse([]string{"--server.request-timeout", "-3"}); err == nil {
		t.Error("negative timeout accepted")
	}
	if f := fs.Lookup("server.request-timeout"); f.DefValue != "1200" {
		t.Errorf("default shown as %q, want 1200", f.DefValue)
	}
}
