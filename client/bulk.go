package client

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/arangodb/go-driver/v2/connection"
	jsoniter "github.com/json-iterator/go"
)

// bulkSender sends requests with a raw body (Request.Body: restore-data batches of several
// MiB) straight through net/http, on the driver's own *http.Transport (same connection pool,
// TLS, timeouts) and with the same Authorization header.
//
// Why not the driver: go-driver v2 (connection/connection_http_internal.go, bodyReadFunc)
// encodes every request body into a bytes.Buffer grown from empty, once per attempt and again
// in GetBody, even for a []byte under text/plain. For gorestore that copy was about a quarter
// of its CPU and up to twice the batch size of garbage per request in flight. Here the body
// goes out of the caller's slice (bytes.Reader, which also gives net/http a Content-Length and
// a GetBody that re-reads the same bytes). Everything else (JSON requests, responses the
// driver decodes, the typed API) stays on the driver.
type bulkSender struct {
	http *http.Client
	auth string // Authorization header value, "" without authentication
	next atomic.Uint64
}

// endpoint picks the Coordinator: the pinned one, or round robin over eps as the driver does.
func (s *bulkSender) endpoint(eps []string, pinned string) (string, error) {
	if pinned != "" {
		return strings.TrimRight(pinned, "/"), nil
	}
	if len(eps) == 0 {
		return "", fmt.Errorf("no endpoint")
	}
	return eps[int((s.next.Add(1)-1)%uint64(len(eps)))], nil
}

// DumpContentType is the type of a body of JSON lines (restore-data), as arangorestore sends
// it (StaticStrings::MimeTypeDump).
const DumpContentType = "application/x-arango-dump"

// streamBulk is Stream for a request with a raw Body: same URL, query, headers, status and
// error handling as the driver path.
func (c *Conn) streamBulk(ctx context.Context, r Request) (*Response, io.ReadCloser, error) {
	what := r.What(c.Database)
	db := r.Database
	if db == "" {
		db = c.Database
	}
	ep, err := c.bulk.endpoint(c.Endpoints, r.Endpoint)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	u := ep + "/_db/" + url.PathEscape(db) + r.Path
	if len(r.Query) > 0 {
		u += "?" + r.Query.Encode()
	}
	reqBody := r.Body
	if reqBody == nil && r.JSON != nil {
		// a JSON request whose URL the driver would change (mangledByDriver)
		if reqBody, err = jsoniter.ConfigCompatibleWithStandardLibrary.Marshal(r.JSON); err != nil {
			return nil, nil, fmt.Errorf("%s: encode body: %w", what, err)
		}
	}
	var rd io.Reader = http.NoBody
	if reqBody != nil {
		rd = bytes.NewReader(reqBody)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, u, rd)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	if r.Body == nil && r.JSON != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", connection.ApplicationJSON)
	}
	if reqBody != nil && req.Header.Get("Content-Type") == "" {
		// arangod parses a body only under a JSON, VPack or dump type (HttpRequest::setHeader
		// records no other): a raw body without one would be refused, so the caller says.
		return nil, nil, fmt.Errorf("%s: raw request body without a Content-Type", what)
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", connection.ApplicationJSON)
	}
	if c.bulk.auth != "" {
		req.Header.Set("Authorization", c.bulk.auth)
	}
	resp, err := c.bulk.http.Do(req)
	if err != nil {
		return nil, nil, &TransportError{What: what, Err: err}
	}
	out := &Response{Status: resp.StatusCode, Header: resp.Header}
	var body io.ReadCloser = resp.Body
	switch resp.Header.Get("Content-Encoding") {
	case "gzip":
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			resp.Body.Close()
			return nil, nil, &TransportError{What: what, Err: err}
		}
		body = readCloser{zr, resp.Body}
	case "deflate":
		zr, err := zlib.NewReader(resp.Body)
		if err != nil {
			resp.Body.Close()
			return nil, nil, &TransportError{What: what, Err: err}
		}
		body = readCloser{zr, resp.Body}
	}
	if out.Status < 200 || out.Status > 299 {
		defer body.Close()
		b, _ := io.ReadAll(io.LimitReader(body, 64<<10))
		return out, nil, newServerError(what, out.Status, resp.Header, b)
	}
	return out, body, nil
}

// readCloser reads a decompressed body and closes the response body under it.
type readCloser struct {
	io.Reader
	c io.Closer
}

func (r readCloser) Close() error { return r.c.Close() }
