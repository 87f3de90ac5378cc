package objstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arangobackup/godump/objstore"
	"github.com/arangobackup/godump/objstore/s3test"
)

// config is the Config of srv, with small parts and short retry delays.
func config(srv *s3test.Server) objstore.Config {
	return objstore.Config{
		Endpoint:        srv.Endpoint,
		Region:          srv.Region,
		AccessKeyID:     srv.AccessKey,
		SecretAccessKey: srv.SecretKey,
		PartSize:        objstore.MinPartSize,
		Retries:         4,
		RetryDelay:      10 * time.Millisecond,
	}
}

func open(t testing.TB, srv *s3test.Server, prefix string, cfg objstore.Config) *objstore.Store {
	t.Helper()
	loc, err := objstore.ParseURL(srv.URL() + "/" + prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("SeaweedFS log tail:\n%s", srv.Log())
		}
	})
	st, err := objstore.Open(context.Background(), loc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// gen is a deterministic stream of pseudo-random bytes.
type gen struct {
	r *rand.ChaCha8
	n int64 // bytes left
}

func newGen(seed byte, n int64) *gen {
	var s [32]byte
	s[0] = seed
	return &gen{r: rand.NewChaCha8(s), n: n}
}

func (g *gen) Read(p []byte) (int, error) {
	if g.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.n {
		p = p[:g.n]
	}
	g.r.Read(p)
	g.n -= int64(len(p))
	return len(p), nil
}

func genBytes(seed byte, n int) []byte {
	b := make([]byte, n)
	io.ReadFull(newGen(seed, int64(n)), b)
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func shaReader(t testing.TB, r io.Reader) (int64, string) {
	t.Helper()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return n, hex.EncodeToString(h.Sum(nil))
}

// faultProxy is an HTTP proxy between the client and SeaweedFS that can
// break chosen requests: fault fault decides, per request, what to do.
type faultProxy struct {
	*httptest.Server
	mu    sync.Mutex
	fault func(r *http.Request, seen int) action // seen: earlier requests with the same method and query
	seen  map[string]int
	log   []string

	inflight, maxInflight atomic.Int32  // part uploads being served
	release               chan struct{} // closed at the end of the test: stalled requests end
}

type action int

const (
	pass      action = iota
	drop             // close the connection without an answer
	fail503          // answer 503 SlowDown
	cutBody          // pass the request, cut the response body after cutAfter bytes
	corrupt          // pass the request with one byte of its body changed
	stallReq         // read a little of the request body, then wait until the client gives up
	stallBody        // pass the request, stop the response body after cutAfter bytes until the client gives up
	cutAfter  = 1 << 20
)

func newFaultProxy(t testing.TB, target string, fault func(r *http.Request, seen int) action) *faultProxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	fp := &faultProxy{fault: fault, seen: map[string]int{}, release: make(chan struct{})}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host // the signature covers the Host header
		},
		ModifyResponse: func(resp *http.Response) error {
			if resp.Request.Header.Get("X-Fault-Cut") != "" {
				resp.Body = &cutReader{r: resp.Body, left: cutAfter}
			}
			if resp.Request.Header.Get("X-Fault-Stall") != "" {
				resp.Body = &cutReader{r: resp.Body, left: cutAfter, stall: resp.Request.Context()}
			}
			return nil
		},
		ErrorLog: nil,
	}
	fp.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Method + " " + r.URL.RawQuery
		fp.mu.Lock()
		n := fp.seen[key]
		fp.seen[key]++
		a := fp.fault(r, n)
		fp.log = append(fp.log, key)
		fp.mu.Unlock()
		switch a {
		case drop:
			io.CopyN(io.Discard, r.Body, 64<<10) // part of the body, as a real drop would
			hj, ok := w.(http.Hijacker)
			if !ok {
				panic("no hijacker")
			}
			c, _, err := hj.Hijack()
			if err == nil {
				c.Close()
			}
			return
		case fail503:
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>injected</Message></Error>`)
			return
		case cutBody:
			r.Header.Set("X-Fault-Cut", "1")
		case corrupt:
			r.Body = &flipReader{r: r.Body, at: 1000}
		case stallReq:
			// The server notices no hang-up while a body is unread: wait
			// for the end of the test, then drop the connection.
			io.CopyN(io.Discard, r.Body, 64<<10)
			select {
			case <-fp.release:
			case <-time.After(30 * time.Second):
			}
			if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
				c.Close()
			}
			return
		case stallBody:
			r.Header.Set("X-Fault-Stall", "1")
		}
		if r.Method == http.MethodPut && r.URL.Query().Has("partNumber") {
			n := fp.inflight.Add(1)
			defer fp.inflight.Add(-1)
			for m := fp.maxInflight.Load(); n > m && !fp.maxInflight.CompareAndSwap(m, n); m = fp.maxInflight.Load() {
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(fp.Close)
	t.Cleanup(func() { close(fp.release) }) // runs before Close
	return fp
}

func (fp *faultProxy) count(key string) int {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	return fp.seen[key]
}

type cutReader struct {
	r     io.ReadCloser
	left  int
	stall context.Context // if set, wait at the cut until it is done rather than fail at once
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		if c.stall != nil {
			select {
			case <-c.stall.Done():
			case <-time.After(30 * time.Second):
			}
		}
		return 0, io.ErrUnexpectedEOF
	}
	if len(p) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= n
	return n, err
}

func (c *cutReader) Close() error { return c.r.Close() }

// flipReader changes the byte at offset at.
type flipReader struct {
	r   io.ReadCloser
	off int
	at  int
}

func (f *flipReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if f.at >= f.off && f.at < f.off+n {
		p[f.at-f.off] ^= 0x55
	}
	f.off += n
	return n, err
}

func (f *flipReader) Close() error { return f.r.Close() }
