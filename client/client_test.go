package client

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
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
		// No port: 8529 for every scheme, as Endpoint::unifiedForm (http:// and https:// are
		// its aliases of tcp:// and ssl://), never HTTP's 80 or 443.
		"tcp://db.example":            "http://db.example:8529",
		"http+tcp://db.example/":      "http://db.example:8529",
		"ssl://db.example":            "https://db.example:8529",
		"http+ssl://db.example":       "https://db.example:8529",
		"http://db.example":           "http://db.example:8529",
		"https://db.example":          "https://db.example:8529",
		"tcp://[::1]":                 "http://[::1]:8529",
		"tcp://[::1]:9000":            "http://[::1]:9000",
		"tcp://h:":                    "http://h:8529",
		"unix:///tmp/a.sock":          "http://" + UnixSocketHost("/tmp/a.sock"),
		"http+unix:///tmp/a.sock":     "http://" + UnixSocketHost("/tmp/a.sock"),
		"HTTP+UNIX:///tmp/Dir/a.sock": "http://" + UnixSocketHost("/tmp/Dir/a.sock"),
	} {
		got, err := NormalizeEndpoint(in)
		if err != nil || got != want {
			t.Errorf("NormalizeEndpoint(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if UnixSocketHost("/tmp/a.sock") == UnixSocketHost("/tmp/b.sock") {
		t.Error("two sockets share a host name")
	}
	for _, bad := range []string{"unix://tmp/a.sock", "srv://db.example", "http+srv://db.example", "ftp://h", "h:8529", "tcp://"} {
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
	if _, err := c.Do(context.Background(), Request{Method: "PUT", Database: "shop", Path: "/_api/replication/restore-data", Body: []byte(lines), Header: map[string]string{"Content-Type": DumpContentType}}); err != nil {
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
	if err := fs.Parse([]string{"--server.request-timeout", "0", "--server.connection-timeout", "0"}); err != nil || o.RequestTimeout != 0 || o.ConnectionTimeout != 0 {
		t.Errorf("0: %v, request %v connection %v", err, o.RequestTimeout, o.ConnectionTimeout)
	}
	if f := fs.Lookup("server.request-timeout"); f.DefValue != "1200" {
		t.Errorf("default shown as %q, want 1200", f.DefValue)
	}
}

// fakeArango answers the connect preamble and records every other request.
type seenRequest struct {
	method, path, query, auth, contentType string
	contentLength                          int64
	body                                   []byte
}

// answerConnect answers the requests of Connect as a single server 3.12.4 does, reporting
// whether r was one of them.
func answerConnect(w http.ResponseWriter, r *http.Request) bool {
	switch r.URL.Path {
	case "/_db/_system/_api/version":
		io.WriteString(w, `{"server":"arango","version":"3.12.4","license":"community"}`)
		return true
	case "/_db/_system/_admin/server/role":
		io.WriteString(w, `{"role":"SINGLE"}`)
		return true
	}
	return false
}

func fakeArango(t *testing.T, seen chan<- seenRequest) string {
	return fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		if answerConnect(w, r) {
			return
		}
		b, _ := io.ReadAll(r.Body)
		seen <- seenRequest{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), r.ContentLength, b}
		if r.URL.Query().Get("fail") != "" {
			w.WriteHeader(409)
			io.WriteString(w, `{"error":true,"code":409,"errorNum":1210,"errorMessage":"unique constraint violated"}`)
			return
		}
		io.WriteString(w, `{"result":true}`)
	})
}

// TestBulkBodyArrivesUnchangedWithAuth: the raw-body path (bulk.go) sends the exact bytes,
// the query and the same Authorization header the driver sends, for basic auth and JWT, to
// the pinned Coordinator, and maps errors as the driver path does.
func TestBulkBodyArrivesUnchangedWithAuth(t *testing.T) {
	body := []byte("{\"_key\":\"a+b\",\"v\":\"\xff\xfe\r\n\"}\n{\"_key\":\"c\"}\n\n")
	for _, tc := range []struct {
		name     string
		set      func(*Options)
		wantAuth string
	}{
		{"basic", func(o *Options) { o.Username, o.Password = "root", "s3cret" }, "Basic cm9vdDpzM2NyZXQ="},
		{"jwt", func(o *Options) { o.JWTToken = "tok.en" }, "bearer tok.en"},
		// --server.authentication false only keeps the tools from asking for a password: the
		// credentials are sent, as arangodump sends them (root and an empty password here).
		{"authentication false", func(o *Options) { o.Authentication = false }, "Basic cm9vdDo="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seenA, seenB := make(chan seenRequest, 4), make(chan seenRequest, 4)
			a, b := fakeArango(t, seenA), fakeArango(t, seenB)
			o := DefaultOptions()
			o.Endpoints = []string{a, b}
			tc.set(&o)
			c, err := Connect(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if c.bulk == nil {
				t.Fatal("Connect set up no bulk path")
			}
			q := map[string][]string{"collection": {"users"}, "force": {"false"}}
			_, err = c.Do(context.Background(), Request{Method: "PUT", Database: "my db", Path: "/_api/replication/restore-data",
				Query: q, Body: body, Endpoint: b, Header: map[string]string{"Content-Type": DumpContentType}})
			if err != nil {
				t.Fatal(err)
			}
			var got seenRequest
			select {
			case got = <-seenB:
			case got = <-seenA:
				t.Fatal("request went to the first endpoint, not the pinned one")
			}
			if !bytes.Equal(got.body, body) || got.contentLength != int64(len(body)) {
				t.Errorf("body arrived as %q (Content-Length %d), want %q", got.body, got.contentLength, body)
			}
			if got.auth != tc.wantAuth {
				t.Errorf("Authorization = %q, want %q", got.auth, tc.wantAuth)
			}
			if got.method != "PUT" || got.path != "/_db/my db/_api/replication/restore-data" || got.query != "collection=users&force=false" || got.contentType != DumpContentType {
				t.Errorf("request %s %s ? %s (%s)", got.method, got.path, got.query, got.contentType)
			}
			// Errors: a ServerError naming the request, not retried.
			q["fail"] = []string{"1"}
			_, err = c.Do(context.Background(), Request{Method: "PUT", Database: "my db", Path: "/_api/replication/restore-data", Query: q, Body: body, Header: map[string]string{"Content-Type": DumpContentType}})
			if !IsErrorNum(err, 1210) || Retryable(err) || !strings.Contains(err.Error(), "PUT /_db/my%20db/_api/replication/restore-data?collection=users") {
				t.Fatalf("409: got %v", err)
			}
			select {
			case <-seenA:
			case <-seenB:
			}
		})
	}
}

// TestBulkBodyIsNotCopied: sending a 16 MiB body allocates far less than the body (the
// driver's path copied it into a growing bytes.Buffer: 16-32 MiB per request).
func TestBulkBodyIsNotCopied(t *testing.T) {
	seen := make(chan seenRequest, 1)
	url := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/_db/_system/_api/version":
			io.WriteString(w, `{"server":"arango","version":"3.12.4"}`)
		case "/_db/_system/_admin/server/role":
			io.WriteString(w, `{"role":"SINGLE"}`)
		default:
			n, _ := io.Copy(io.Discard, r.Body)
			seen <- seenRequest{contentLength: n}
			io.WriteString(w, `{}`)
		}
	})
	o := DefaultOptions()
	o.Endpoints = []string{url}
	c, err := Connect(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("{\"_key\":\"0123456789\",\"text\":\"lorem ipsum dolor sit amet\"}\n"), (16<<20)/60)
	send := func() {
		if _, err := c.Do(context.Background(), Request{Method: "PUT", Path: "/_api/replication/restore-data", Body: body, Header: map[string]string{"Content-Type": DumpContentType}}); err != nil {
			t.Fatal(err)
		}
		if got := <-seen; got.contentLength != int64(len(body)) {
			t.Fatalf("server read %d bytes, want %d", got.contentLength, len(body))
		}
	}
	send() // warm up the connection
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	send()
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(len(body))/4 {
		t.Errorf("sending a %d-byte body allocated %d bytes: the body is being copied", len(body), alloc)
	}
}

// TestSpecialNamesArriveIntact: database, collection and query values holding "+", "%", "&",
// "#", "?" and spaces (extended names) reach the server as sent. go-driver v2 unescapes the
// encoded URL before sending it (httpRequest.URL), which would turn "a+b" into "a b" and
// "x&y" into two parameters; such requests take the direct path (mangledByDriver).
func TestSpecialNamesArriveIntact(t *testing.T) {
	seen := make(chan seenRequest, 4)
	ep := fakeArango(t, seen)
	o := DefaultOptions()
	o.Endpoints = []string{ep}
	c, err := Connect(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	db, coll, val := "db+1 %x", "c+d&e#f?g%h", "v=1&w=2+3 %25"
	for _, json := range []bool{false, true} {
		r := Request{Method: "GET", Database: db, Path: "/_api/collection/" + url.PathEscape(coll) + "/count",
			Query: url.Values{"collection": {coll}, "other": {val}}}
		if json {
			r.Method, r.JSON = "PUT", map[string]string{"name": coll}
		}
		if _, err := c.Do(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		got := <-seen
		q, _ := url.ParseQuery(got.query)
		if got.path != "/_db/"+db+"/_api/collection/"+coll+"/count" || q.Get("collection") != coll || q.Get("other") != val || len(q) != 2 {
			t.Errorf("sent %s %q ? %q: the server sees path %q, query %v", r.Method, r.Path, r.Query.Encode(), got.path, q)
		}
		if json && (string(got.body) != `{"name":"c+d\u0026e#f?g%h"}` && string(got.body) != `{"name":"c+d&e#f?g%h"}` || got.contentType != "application/json") {
			t.Errorf("JSON body %q (%s)", got.body, got.contentType)
		}
	}
	// ordinary names keep the driver's path
	if mangledByDriver("/_db/shop/_api/collection/users", url.Values{"collection": {"users"}}) {
		t.Error("an ordinary request would leave the driver")
	}
}
