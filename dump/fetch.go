package dump

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/arangobackup/godump/client"
)

// shardRef is one shard to fetch: on a single server the collection itself (no leader).
type shardRef struct {
	ID     string // shard id, or the collection name on a single server
	Leader string // DB-Server holding the shard's leader ("" on a single server)
	Docs   int64  // expected documents (the count the plan got; 0 when unknown)
}

// freeBufs recycles batch buffers. Unlike a sync.Pool it survives garbage collections, so
// batches of several MiB are not allocated (and zeroed) again after every GC; it never holds
// more buffers than were in use at once (the fetchers' and writers' batches, parallel.go).
var freeBufs = make(chan *bytes.Buffer, 32)

func getBuf() *bytes.Buffer {
	select {
	case b := <-freeBufs:
		b.Reset()
		return b
	default:
		return new(bytes.Buffer)
	}
}

func putBuf(b *bytes.Buffer) {
	if b.Cap() > 128<<20 {
		return // an outsized batch (one huge document): let it go
	}
	select {
	case freeBufs <- b:
	default:
	}
}

// errTruncated: a batch did not end at a line boundary, so the transfer was cut.
var errTruncated = errors.New("batch does not end with a newline (transfer cut short)")

// errResent: the transport repeated a request whose first answer was lost.
var errResent = errors.New("connection dropped and the request was sent again; the server's read position may have moved")

// fetchFunc returns the next batch (nil when the shard is exhausted).
type fetchFunc func(ctx context.Context) (*bytes.Buffer, error)

// pipeline fetches batches and hands them to emit in order, fetching the next batch while
// the previous one is compressed and written. The channel is unbuffered: a job holds at
// most two batches (one being written, one fetched ahead).
func pipeline(ctx context.Context, fetch fetchFunc, emit func([]byte) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan *bytes.Buffer)
	errc := make(chan error, 1)
	go func() {
		defer close(ch)
		for {
			b, err := fetch(ctx)
			if err != nil {
				errc <- err
				return
			}
			if b == nil {
				return
			}
			select {
			case ch <- b:
			case <-ctx.Done():
				putBuf(b)
				errc <- ctx.Err()
				return
			}
		}
	}()
	var emitErr error
	for b := range ch {
		if emitErr == nil {
			emitErr = emit(b.Bytes())
			if emitErr != nil {
				cancel()
			}
		}
		putBuf(b)
	}
	if emitErr != nil {
		return emitErr
	}
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// readBody reads a streamed response body into a pooled buffer, sized from
// Content-Length when the server sends one (no growth by doubling, no garbage). A failure
// while reading is a transport error (retryable): the response was cut.
func readBody(body io.ReadCloser, what string, header http.Header) (*bytes.Buffer, error) {
	defer body.Close()
	b := getBuf()
	cl, err := strconv.ParseInt(header.Get("Content-Length"), 10, 64)
	if err == nil && cl >= 0 && cl < 1<<31 {
		b.Grow(int(cl))
		dst := b.AvailableBuffer()[:cl]
		n, err := io.ReadFull(body, dst)
		if err != nil {
			putBuf(b)
			return nil, &client.TransportError{What: what, Err: fmt.Errorf("read %d of %d bytes: %w", n, cl, err)}
		}
		b.Write(dst)
	} else if _, err := b.ReadFrom(body); err != nil {
		putBuf(b)
		return nil, &client.TransportError{What: what, Err: err}
	}
	if n := b.Len(); n > 0 && b.Bytes()[n-1] != '\n' {
		putBuf(b)
		return nil, &client.TransportError{What: what, Err: errTruncated}
	}
	return b, nil
}

// attempt runs one try of a request with the per-request timeout; a timeout of the
// attempt (not of the whole dump) is reported as a retryable transport error.
func (e *engine) attempt(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	actx, cancel := context.WithTimeout(ctx, e.opts.RequestTimeout)
	defer cancel()
	err := fn(actx)
	if err != nil && ctx.Err() == nil && actx.Err() != nil {
		var te *client.TransportError
		if !errors.As(err, &te) {
			err = &client.TransportError{What: what, Err: fmt.Errorf("no complete answer within %s: %w", e.opts.RequestTimeout, err)}
		}
	}
	return err
}

// retry runs fn under the connection's retry policy, counting retries.
func (e *engine) retry(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	p := e.conn.Retry
	p.OnRetry = func(n int, wait time.Duration, err error) {
		e.retries.Add(1)
		e.rep.Log(fmt.Sprintf("# retrying (%d) in %s: %v", n, wait.Round(time.Millisecond), err))
	}
	return p.Do(ctx, func(ctx context.Context) error { return e.attempt(ctx, what, fn) })
}

// The parallel dump API (3.12) is in parallel.go.

// ---- the classic replication API (3.11 and older): batch + /_api/replication/dump ----

// createBatch makes a replication batch (a snapshot), on leader's DB-Server in a cluster.
func (e *engine) createBatch(ctx context.Context, db, leader string) (string, error) {
	q := url.Values{}
	q.Set("serverId", e.clientID)
	q.Set("syncerId", e.syncerID)
	if leader != "" {
		q.Set("DBserver", leader)
	}
	var res struct {
		ID string `json:"id"`
	}
	req := client.Request{Method: http.MethodPost, Database: db, Path: "/_api/replication/batch", Query: q, JSON: map[string]int{"ttl": 600}}
	if err := e.conn.DoJSON(ctx, req, &res); err != nil {
		return "", err
	}
	if res.ID == "" {
		return "", fmt.Errorf("%s: answer has no batch id", req.What(db))
	}
	return res.ID, nil
}

// extendBatch keeps a batch alive (arangodump does it before each collection).
func (e *engine) extendBatch(ctx context.Context, db, id, leader string) {
	q := url.Values{}
	q.Set("serverId", e.clientID)
	q.Set("syncerId", e.syncerID)
	if leader != "" {
		q.Set("DBserver", leader)
	}
	_, _ = e.conn.Do(ctx, client.Request{Method: http.MethodPut, Database: db, Path: "/_api/replication/batch/" + url.PathEscape(id), Query: q, JSON: map[string]int{"ttl": 600}})
}

// deleteBatch frees a batch; errors are ignored, as arangodump does (it expires anyway).
func (e *engine) deleteBatch(ctx context.Context, db, id, leader string) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	q := url.Values{}
	q.Set("serverId", e.clientID)
	if leader != "" {
		q.Set("DBserver", leader)
	}
	_, _ = e.conn.Do(dctx, client.Request{Method: http.MethodDelete, Database: db, Path: "/_api/replication/batch/" + url.PathEscape(id), Query: q})
}

// classicShard streams one collection (or shard) with /_api/replication/dump. The server
// keeps the read position in the batch, so a request cannot be repeated safely: a failure
// is returned as is, and the caller restarts the whole file with a fresh batch.
func (e *engine) classicShard(ctx context.Context, db, coll, batchID string, s shardRef, emit func([]byte) error) error {
	chunk := e.opts.InitialBatchSize
	from := "0"
	done := false
	fetch := func(ctx context.Context) (*bytes.Buffer, error) {
		if done {
			return nil, nil
		}
		q := url.Values{}
		q.Set("collection", s.ID)
		q.Set("batchId", batchID)
		q.Set("useEnvelope", "false")
		q.Set("docsPerBatch", strconv.FormatUint(e.opts.DocsPerBatch, 10))
		q.Set("chunkSize", strconv.FormatUint(chunk, 10))
		q.Set("ticks", "false")
		q.Set("flush", "false")
		q.Set("from", from)
		q.Set("array", "false")
		if s.Leader != "" {
			q.Set("DBserver", s.Leader)
		}
		req := client.Request{Method: http.MethodGet, Database: db, Path: "/_api/replication/dump", Query: q,
			Header: map[string]string{"Accept": "application/x-arango-dump"}}
		what := req.What(db)
		var out *bytes.Buffer
		err := e.attempt(ctx, what, func(ctx context.Context) error {
			// Go's HTTP transport silently sends a GET again when a reused connection
			// drops before the answer; here that would skip a chunk (the server's read
			// position has moved). Count the connections used and treat a resend as a
			// failure, so that the caller restarts the collection.
			var conns atomic.Int32
			ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { conns.Add(1) }})
			resp, body, err := e.conn.Stream(ctx, req)
			if err == nil && conns.Load() > 1 {
				body.Close()
				err = &client.TransportError{What: what, Err: errResent}
			}
			if err != nil {
				return err
			}
			if resp.Status == http.StatusNoContent {
				body.Close()
				done = true
				return nil
			}
			if ct := resp.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/x-arango-dump") {
				body.Close()
				return fmt.Errorf("%s: unexpected content type %q", what, ct)
			}
			b, err := readBody(body, what, resp.Header)
			if err != nil {
				return err
			}
			out = b
			if resp.Header.Get("x-arango-replication-checkmore") != "true" {
				done = true
			}
			if li := resp.Header.Get("x-arango-replication-lastincluded"); li != "" && li != "0" {
				from = li
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("dump collection %s (database %s, shard %s): %w", coll, db, s.ID, err)
		}
		if out != nil {
			e.batches.Add(1)
		}
		chunk = min(chunk*3/2, e.opts.requestBatchSize())
		if out == nil && !done {
			out = getBuf() // an empty 200 with checkmore: keep asking
		}
		return out, nil
	}
	return pipeline(ctx, fetch, emit)
}
