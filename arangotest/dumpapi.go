package arangotest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/arangodb/go-velocypack"
)

// The 3.12 parallel dump API (RestDumpHandler / RocksDBDumpContext):
//
//	POST   /_api/dump/start            body RocksDBDumpContextOptions → 201, x-arango-dump-id: dump-<n>
//	POST   /_api/dump/next/{id}?batchId=N[&lastBatch=M]   → 200 one batch (one shard), or 204
//	DELETE /_api/dump/{id}             → 200 {"error":false,"code":200}
//
// A context pins a snapshot of its shards (on a single server shard = collection) when it is
// started. next(batchId, lastBatch) frees lastBatch, returns the batch already handed out under
// batchId if there is one (the retry path: the same bytes again), and otherwise cuts the next
// batch: documents of one shard until batchSize bytes or docsPerBatch documents.

const (
	dumpDefaultDocsPerBatch = 10000
	dumpDefaultBatchSize    = 16384
	dumpDefaultPrefetch     = 2
	dumpDefaultParallelism  = 2
	dumpDefaultTTL          = 600.0
	dumpMaxDocsPerBatch     = 1000000 // --dump.max-docs-per-batch
	dumpMaxBatchSize        = 1 << 30 // --dump.max-batch-size
	dumpMaxParallelism      = 8       // --dump.max-parallelism
)

type dumpOptions struct {
	DocsPerBatch  uint64   `json:"docsPerBatch"`
	BatchSize     uint64   `json:"batchSize"`
	PrefetchCount uint64   `json:"prefetchCount"`
	Parallelism   uint64   `json:"parallelism"`
	TTL           float64  `json:"ttl"`
	Shards        []string `json:"shards"`
}

type dumpShard struct {
	name string
	docs []*Doc
}

// dumpBatch is a handed-out batch: documents are immutable, so keeping the slice keeps the
// exact bytes for a re-send.
type dumpBatch struct {
	shard string
	docs  []*Doc
	size  int    // bytes of the JSON lines
	vpack []byte // the VelocyPack array when useVPack
}

type dumpContext struct {
	id       string
	database string
	user     string
	opts     dumpOptions
	useVPack bool

	mu      sync.Mutex
	expires time.Time
	shards  []dumpShard
	cur     int // current shard
	pos     int // position in the current shard
	batches map[uint64]*dumpBatch
	blocks  int
}

func (d *dumpContext) expiresAt() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.expires
}

func (d *dumpContext) extend() {
	d.expires = time.Now().Add(time.Duration(d.opts.TTL * float64(time.Second)))
}

// cutLocked produces the next batch, or nil when every shard is exhausted.
func (d *dumpContext) cutLocked() (*dumpBatch, error) {
	for d.cur < len(d.shards) && d.pos >= len(d.shards[d.cur].docs) {
		d.cur++
		d.pos = 0
	}
	if d.cur >= len(d.shards) {
		return nil, nil
	}
	sh := d.shards[d.cur]
	start := d.pos
	size, i := 0, start
	for i < len(sh.docs) {
		size += len(sh.docs[i].Raw) + 1
		i++
		if uint64(size) >= d.opts.BatchSize || uint64(i-start) >= d.opts.DocsPerBatch {
			break
		}
	}
	d.pos = i
	b := &dumpBatch{shard: sh.name, docs: sh.docs[start:i], size: size}
	if d.useVPack {
		var err error
		if b.vpack, err = jsonLinesToVPackArray(b.docs); err != nil {
			return nil, newError(500, 4, "cannot convert batch to velocypack: "+err.Error())
		}
	}
	return b, nil
}

func (d *dumpContext) next(batchID uint64, lastBatch *uint64) (*dumpBatch, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.extend()
	if lastBatch != nil {
		delete(d.batches, *lastBatch)
	}
	if b, ok := d.batches[batchID]; ok {
		return b, nil
	}
	b, err := d.cutLocked()
	if err != nil || b == nil {
		return nil, err
	}
	d.batches[batchID] = b
	return b, nil
}

// jsonLinesToVPackArray encodes documents as one VelocyPack array (useVPack=true).
func jsonLinesToVPackArray(docs []*Doc) ([]byte, error) {
	var b velocypack.Builder
	if err := b.OpenArray(); err != nil {
		return nil, err
	}
	for _, d := range docs {
		s, err := velocypack.ParseJSON(bytes.NewReader(d.Raw))
		if err != nil {
			return nil, err
		}
		if err := b.AddValue(velocypack.NewSliceValue(s)); err != nil {
			return nil, err
		}
	}
	if err := b.Close(); err != nil {
		return nil, err
	}
	return b.Bytes()
}

// dumpAPIEnabled reports whether the server personality has /_api/dump (3.12 and later).
func (s *Server) dumpAPIEnabled() bool {
	major, minor := versionMajorMinor(s.version)
	return major > 3 || (major == 3 && minor >= 12)
}

func versionMajorMinor(v string) (int, int) {
	parts := bytes.SplitN([]byte(v), []byte("."), 3)
	if len(parts) < 2 {
		return 0, 0
	}
	major, _ := strconv.Atoi(string(parts[0]))
	minorDigits := parts[1]
	n := 0
	for n < len(minorDigits) && minorDigits[n] >= '0' && minorDigits[n] <= '9' {
		n++
	}
	minor, _ := strconv.Atoi(string(minorDigits[:n]))
	return major, minor
}

func (rs *replState) dumpStart(db *Database, user string, body []byte, useVPack bool) (*dumpContext, error) {
	opts := dumpOptions{DocsPerBatch: dumpDefaultDocsPerBatch, BatchSize: dumpDefaultBatchSize,
		PrefetchCount: dumpDefaultPrefetch, Parallelism: dumpDefaultParallelism, TTL: dumpDefaultTTL}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &opts); err != nil {
			return nil, newError(400, 600, "VPackError error: "+err.Error())
		}
	}
	if opts.DocsPerBatch == 0 {
		opts.DocsPerBatch = dumpDefaultDocsPerBatch
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = dumpDefaultBatchSize
	}
	if opts.TTL <= 0 {
		opts.TTL = dumpDefaultTTL
	}
	opts.DocsPerBatch = min(opts.DocsPerBatch, dumpMaxDocsPerBatch)
	opts.BatchSize = min(opts.BatchSize, dumpMaxBatchSize)
	opts.Parallelism = max(min(opts.Parallelism, dumpMaxParallelism), 1)

	st := rs.s.store
	d := &dumpContext{id: "dump-" + strconv.FormatUint(st.NextTick(), 10), database: db.Name, user: user,
		opts: opts, useVPack: useVPack, batches: map[uint64]*dumpBatch{}}
	for _, name := range opts.Shards {
		c := db.Collection(name)
		if c == nil {
			return nil, errCollectionNotFound(name)
		}
		d.shards = append(d.shards, dumpShard{name: c.Name, docs: c.Snapshot()})
	}
	d.extend()
	rs.mu.Lock()
	rs.gcLocked(time.Now())
	rs.dumps[d.id] = d
	rs.mu.Unlock()
	return d, nil
}

func (rs *replState) findDump(id, database, user string) (*dumpContext, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.gcLocked(time.Now())
	d := rs.dumps[id]
	if d == nil {
		return nil, newError(404, 1600, "requested dump context not found")
	}
	if d.database != database || d.user != user {
		return nil, newError(403, 11, "insufficient permissions")
	}
	return d, nil
}

// handleDumpAPI serves every /_api/dump request; suffix is the path after /_api/dump/.
func (rs *replState) handleDumpAPI(c *call) {
	db, user, body := c.db, c.user, c.body
	var suffix []string
	if p := c.param("rest"); p != "" {
		suffix = strings.Split(p, "/")
	}
	switch c.r.Method {
	case http.MethodDelete:
		if len(suffix) != 1 {
			c.fail(newError(400, 10, "expecting DELETE /_api/dump/<id>"))
			return
		}
		if _, err := rs.findDump(suffix[0], db.Name, user); err != nil {
			c.fail(err)
			return
		}
		rs.mu.Lock()
		delete(rs.dumps, suffix[0])
		rs.mu.Unlock()
		c.raw(http.StatusOK, "application/json; charset=utf-8", []byte(`{"error":false,"code":200}`))
	case http.MethodPost:
		if (len(suffix) == 1 && suffix[0] != "start") || (len(suffix) == 2 && suffix[0] != "next") || len(suffix) < 1 || len(suffix) > 2 {
			c.fail(newError(400, 10, "expecting POST /_api/dump/start or /_api/dump/next/<id>"))
			return
		}
		if suffix[0] == "start" {
			d, err := rs.dumpStart(db, user, body, replBool(c.r, "useVPack", false))
			if err != nil {
				c.fail(err)
				return
			}
			c.setHeader("x-arango-dump-id", d.id)
			c.empty(http.StatusCreated)
			return
		}
		q := c.q
		batchID, err := strconv.ParseUint(q.Get("batchId"), 10, 64)
		if err != nil {
			c.fail(newError(400, 10, "expecting 'batchId'"))
			return
		}
		var lastBatch *uint64
		if v := q.Get("lastBatch"); v != "" {
			if n, err := strconv.ParseUint(v, 10, 64); err == nil {
				lastBatch = &n
			}
		}
		d, err := rs.findDump(suffix[1], db.Name, user)
		if err != nil {
			c.fail(err)
			return
		}
		b, err := d.next(batchID, lastBatch)
		if err != nil {
			c.fail(err)
			return
		}
		if b == nil {
			c.empty(http.StatusNoContent)
			return
		}
		h := c.w.Header()
		h.Set("x-arango-dump-shard-id", b.shard)
		h.Set("x-arango-dump-block-counts", "0")
		if d.useVPack {
			writeUncompressed(c, http.StatusOK, "application/x-velocypack", b.vpack)
			return
		}
		writeDocLines(c, dumpContentType, b.docs, b.size, false)
	default:
		c.fail(newError(405, 405, "method not supported"))
	}
}
