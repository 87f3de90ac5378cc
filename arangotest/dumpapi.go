package arangotest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/arangodb/go-velocypack"
)

// The 3.12 parallel dump API (RestDumpHandler, RocksDBDumpManager, RocksDBDumpContext):
//
//	POST   /_api/dump/start            body RocksDBDumpContextOptions → 201, x-arango-dump-id: dump-<n>
//	POST   /_api/dump/next/{id}?batchId=N[&lastBatch=M]   → 200 one batch (one shard), or 204
//	DELETE /_api/dump/{id}             → 200 {"error":false,"code":200}
//
// A context takes ONE snapshot of all its shards when it is started (snapshotCollections,
// dumpsnapshot.go), as RocksDBDumpContext's constructor takes one RocksDB snapshot: a write to
// two of its collections is in both or in neither. next(batchId, lastBatch) frees lastBatch,
// returns the batch already handed out under batchId if there is one (the retry path: the same
// bytes again), and otherwise cuts the next batch: documents of one shard until batchSize bytes
// or docsPerBatch documents.
//
// Batches come in the order the real context produces them, modelled cheaply: one work item
// per non-empty shard pushed in the order of "shards", a LIFO stack of items (WorkItems::pop
// takes the back), `parallelism` workers each holding an item, and a worker that filled a
// batch splitting the rest of its range in half when more than 5000 documents remain
// (RocksDBDumpContext::handleWorkItem), the upper half going on top of the stack. The workers
// take turns, so batches of several shards interleave and the last shards listed start first;
// a client can rely on neither the order of shards nor a shard's batches being contiguous.

const (
	dumpDefaultDocsPerBatch = 10000
	dumpDefaultBatchSize    = 16384
	dumpDefaultPrefetch     = 2
	dumpDefaultParallelism  = 2
	dumpDefaultTTL          = 600.0
	// DumpLimits (ddb-old/RestServer/DumpLimitsFeature.h), applied by
	// RocksDBDumpManager::createContext with std::clamp.
	dumpMinDocsPerBatch = 10
	dumpMaxDocsPerBatch = 1000000 // --dump.max-docs-per-batch
	dumpMinBatchSize    = 4 << 10
	dumpMaxBatchSize    = 1 << 30 // --dump.max-batch-size
	dumpMinParallelism  = 1
	dumpMaxParallelism  = 8 // --dump.max-parallelism
	// dumpSplitMin: a work item whose rest spans more than this many documents is split in
	// half after each batch (handleWorkItem compares LocalDocumentIds with 5000; document
	// positions are the closest thing arangotest has).
	dumpSplitMin = 5000
)

// dumpOptions are RocksDBDumpContextOptions (ddb-old/RocksDBEngine/RocksDBDumpContext.h).
type dumpOptions struct {
	DocsPerBatch  uint64
	BatchSize     uint64
	PrefetchCount uint64
	Parallelism   uint64
	TTL           float64
	Shards        []string
	// Projections maps output attribute names to attribute paths (nil: whole documents).
	Projections map[string][]string
	// Filters are the "simple" filter conditions: every one must hold for a document to be
	// dumped (RocksDBDumpContext::applyFilter).
	Filters []dumpFilter
}

type dumpFilter struct {
	path  []string
	value any // decoded with UseNumber
}

// errBodyNotJSON: the start body is not valid JSON (parseVPackBody fails).
var errBodyNotJSON = errors.New("body is not valid JSON")

// parseDumpOptions decodes a start body as velocypack::deserializeUnsafe does for
// RocksDBDumpContextOptions: an object with only the known attributes (others are "unexpected
// attributes"), each of its type, absent ones keeping their defaults. A type error is a
// TRI_ERROR_DESERIALIZE exception, which the handler turns into 500 with error 39. An empty
// body is no object (HttpRequest::payload gives a none slice). Invalid JSON returns
// errBodyNotJSON.
func parseDumpOptions(body []byte) (dumpOptions, error) {
	o := dumpOptions{DocsPerBatch: dumpDefaultDocsPerBatch, BatchSize: dumpDefaultBatchSize,
		PrefetchCount: dumpDefaultPrefetch, Parallelism: dumpDefaultParallelism, TTL: dumpDefaultTTL}
	bad := func(path, msg string) error {
		return newError(500, 39, "Error while parsing VelocyPack: "+msg+"\nPath: "+path)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return o, bad("", "Expecting type Object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return o, errBodyNotJSON
	}
	if _, err := dec.Token(); err != io.EOF {
		return o, errBodyNotJSON
	}
	m, ok := v.(map[string]any)
	if !ok {
		return o, bad("", "Expecting type Object")
	}
	known := map[string]bool{"docsPerBatch": true, "batchSize": true, "prefetchCount": true, "parallelism": true,
		"ttl": true, "shards": true, "projections": true, "filters": true}
	var unknown []string
	for k := range m {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return o, bad("", "Found unexpected attribute '"+unknown[0]+"'")
	}
	for _, f := range []struct {
		name string
		dst  *uint64
	}{{"docsPerBatch", &o.DocsPerBatch}, {"batchSize", &o.BatchSize}, {"prefetchCount", &o.PrefetchCount}, {"parallelism", &o.Parallelism}} {
		if raw, ok := m[f.name]; ok {
			n, msg := vpackUint(raw)
			if msg != "" {
				return o, bad(f.name, msg)
			}
			*f.dst = n
		}
	}
	if raw, ok := m["ttl"]; ok {
		num, isNum := raw.(json.Number)
		if !isNum {
			return o, bad("ttl", "Expecting numeric type")
		}
		o.TTL, _ = strconv.ParseFloat(string(num), 64)
	}
	if raw, ok := m["shards"]; ok {
		s, path, msg := stringList(raw, "shards")
		if msg != "" {
			return o, bad(path, msg)
		}
		o.Shards = s
	}
	if raw, ok := m["projections"]; ok && raw != nil {
		pm, isObj := raw.(map[string]any)
		if !isObj {
			return o, bad("projections", "Expecting type Object")
		}
		o.Projections = map[string][]string{}
		for k, p := range pm {
			s, path, msg := stringList(p, "projections."+k)
			if msg != "" {
				return o, bad(path, msg)
			}
			o.Projections[k] = s
		}
	}
	if raw, ok := m["filters"]; ok {
		fm, isObj := raw.(map[string]any)
		if !isObj {
			return o, bad("filters", "Expecting type Object")
		}
		for k := range fm {
			if k != "type" && k != "conditions" {
				return o, bad("filters", "Found unexpected attribute '"+k+"'")
			}
		}
		t, present := fm["type"]
		if !present {
			return o, bad("filters", "Missing required attribute 'type'")
		}
		if ts, isStr := t.(string); !isStr {
			return o, bad("filters.type", "Expecting type String")
		} else if ts != "simple" {
			return o, bad("filters.type", "Field invariant failed")
		}
		if cr, ok := fm["conditions"]; ok {
			list, isArr := cr.([]any)
			if !isArr {
				return o, bad("filters.conditions", "Expecting type Array")
			}
			for i, c := range list {
				at := "filters.conditions[" + strconv.Itoa(i) + "]"
				cm, isObj := c.(map[string]any)
				if !isObj {
					return o, bad(at, "Expecting type Object")
				}
				for k := range cm {
					if k != "attributePath" && k != "value" {
						return o, bad(at, "Found unexpected attribute '"+k+"'")
					}
				}
				ap, present := cm["attributePath"]
				if !present {
					return o, bad(at, "Missing required attribute 'attributePath'")
				}
				path, p, msg := stringList(ap, at+".attributePath")
				if msg != "" {
					return o, bad(p, msg)
				}
				val, present := cm["value"]
				if !present {
					return o, bad(at, "Missing required attribute 'value'")
				}
				o.Filters = append(o.Filters, dumpFilter{path: path, value: val})
			}
		}
	}
	return o, nil
}

// vpackUint converts a JSON value as velocypack's Slice::getNumber<uint64_t> does: integers
// and doubles in range (doubles truncated), "Number out of range" for negative or too large
// ones, a type error for anything else.
func vpackUint(v any) (uint64, string) {
	num, ok := v.(json.Number)
	if !ok {
		return 0, "Expecting type UInt"
	}
	s := string(num)
	if !strings.ContainsAny(s, ".eE") {
		if strings.HasPrefix(s, "-") {
			return 0, "Number out of range"
		}
		if n, err := strconv.ParseUint(s, 10, 64); err == nil {
			return n, ""
		}
		// the JSON parser makes a double of an integer beyond 64 bits
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f >= math.MaxUint64 {
		return 0, "Number out of range"
	}
	return uint64(f), ""
}

// stringList decodes an array of strings (std::vector<std::string>); on failure it returns
// the path of the offending value and the inspector's message.
func stringList(v any, path string) ([]string, string, string) {
	list, ok := v.([]any)
	if !ok {
		return nil, path, "Expecting type Array"
	}
	out := make([]string, 0, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, path + "[" + strconv.Itoa(i) + "]", "Expecting type String"
		}
		out = append(out, s)
	}
	return out, "", ""
}

// clamp applies the server's dump limits, as RocksDBDumpManager::createContext does.
func (o *dumpOptions) clamp() {
	o.DocsPerBatch = min(max(o.DocsPerBatch, dumpMinDocsPerBatch), dumpMaxDocsPerBatch)
	o.BatchSize = min(max(o.BatchSize, dumpMinBatchSize), dumpMaxBatchSize)
	o.Parallelism = min(max(o.Parallelism, dumpMinParallelism), dumpMaxParallelism)
}

// dumpShard is one shard of a context with its snapshot.
type dumpShard struct {
	name string
	docs []*Doc
}

// dumpSource is one shard a context is started on: the collection that holds its documents
// and, on a cluster, pick, which selects the shard's documents from the collection's (nil:
// all of them).
type dumpSource struct {
	name string
	coll *Collection
	pick func(docs []*Doc) []*Doc
}

// dumpBatch is a handed-out batch: documents are immutable, so keeping the slice keeps the
// exact bytes for a re-send.
type dumpBatch struct {
	shard string
	docs  []*Doc
	size  int    // bytes of the JSON lines
	vpack []byte // the VelocyPack array when useVPack
}

// dumpWorkItem is a range of a shard's snapshot still to be dumped (WorkItem).
type dumpWorkItem struct {
	shard  int // index in dumpContext.shards
	lo, hi int // document positions [lo, hi)
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
	batches map[uint64]*dumpBatch

	// the work of the context, set up at the first batch (cluster_routes.go adds shards after
	// dumpStart returns)
	started bool
	stack   []dumpWorkItem  // LIFO, as WorkItems
	workers []*dumpWorkItem // nil: the worker waits for an item
	turn    int             // the worker whose batch comes next
}

func (d *dumpContext) expiresAt() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.expires
}

// extend mirrors RocksDBDumpContext::extendLifetime.
func (d *dumpContext) extend() {
	d.expires = time.Now().Add(time.Duration(d.opts.TTL * float64(time.Second)))
}

// startLocked pushes one work item per non-empty shard, in the order of the shards option
// (RocksDBDumpContext's constructor).
func (d *dumpContext) startLocked() {
	d.started = true
	for i, sh := range d.shards {
		if len(sh.docs) > 0 {
			d.stack = append(d.stack, dumpWorkItem{shard: i, lo: 0, hi: len(sh.docs)})
		}
	}
	d.workers = make([]*dumpWorkItem, max(d.opts.Parallelism, 1))
}

// workerLocked returns the next worker that has work, taking an item from the top of the stack
// for an idle one (WorkItems::pop), or nil when all work is done.
func (d *dumpContext) workerLocked() *dumpWorkItem {
	n := len(d.workers)
	for k := 0; k < n; k++ {
		i := (d.turn + k) % n
		if d.workers[i] == nil && len(d.stack) > 0 {
			it := d.stack[len(d.stack)-1]
			d.stack = d.stack[:len(d.stack)-1]
			d.workers[i] = &it
		}
		if d.workers[i] != nil {
			d.turn = i + 1
			return d.workers[i]
		}
	}
	return nil
}

// cutLocked produces the next batch, or nil when every shard is exhausted.
func (d *dumpContext) cutLocked() (*dumpBatch, error) {
	if !d.started {
		d.startLocked()
	}
	for {
		it := d.workerLocked()
		if it == nil {
			return nil, nil
		}
		sh := d.shards[it.shard]
		b := &dumpBatch{shard: sh.name}
		full := false
		i := it.lo
		for i < it.hi && !full {
			doc := sh.docs[i]
			i++
			doc, ok := d.project(doc)
			if !ok {
				continue
			}
			b.docs = append(b.docs, doc)
			b.size += len(doc.Raw) + 1
			full = uint64(b.size) >= d.opts.BatchSize || uint64(len(b.docs)) >= d.opts.DocsPerBatch
		}
		it.lo = i
		if full && it.hi-it.lo > dumpSplitMin {
			mid := it.lo + (it.hi-it.lo)/2
			d.stack = append(d.stack, dumpWorkItem{shard: it.shard, lo: mid, hi: it.hi})
			it.hi = mid
		}
		if it.lo >= it.hi {
			for w := range d.workers {
				if d.workers[w] == it {
					d.workers[w] = nil
				}
			}
		}
		if len(b.docs) == 0 {
			continue // everything in the range was filtered out
		}
		if d.useVPack {
			var err error
			if b.vpack, err = jsonLinesToVPackArray(b.docs); err != nil {
				return nil, newError(500, 4, "cannot convert batch to velocypack: "+err.Error())
			}
		}
		return b, nil
	}
}

// project applies the filters and projections of the context to a document; ok is false
// when a filter rejects it.
func (d *dumpContext) project(doc *Doc) (*Doc, bool) {
	if len(d.opts.Filters) == 0 && d.opts.Projections == nil {
		return doc, true
	}
	dec := json.NewDecoder(bytes.NewReader(doc.Raw))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return doc, true
	}
	for _, f := range d.opts.Filters {
		v, found := attributeAt(m, f.path)
		if !found || !jsonValuesEqual(v, f.value) {
			return nil, false
		}
	}
	if d.opts.Projections == nil {
		return doc, true
	}
	out := map[string]any{}
	for k, p := range d.opts.Projections {
		if v, found := attributeAt(m, p); found {
			out[k] = v
		}
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return doc, true
	}
	return &Doc{Key: doc.Key, Rev: doc.Rev, Tick: doc.Tick, Raw: raw}, true
}

// attributeAt returns the value at an attribute path (Slice::get with a path).
func attributeAt(m map[string]any, path []string) (any, bool) {
	var cur any = m
	for _, p := range path {
		o, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = o[p]; !ok {
			return nil, false
		}
	}
	return cur, len(path) > 0
}

// jsonValuesEqual compares two decoded JSON values as VelocyPackHelper::equal does for them:
// numbers by value, objects regardless of attribute order.
func jsonValuesEqual(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		fx, err1 := x.Float64()
		fy, err2 := y.Float64()
		return err1 == nil && err2 == nil && fx == fy
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonValuesEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !jsonValuesEqual(v, w) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}

// next mirrors RocksDBDumpContext::next: free lastBatch, re-send an unacknowledged batchId,
// else hand out the next batch under batchId (nil when all batches were handed out).
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

// dumpStart creates a context over the collections named in opts.Shards (on a single
// server a shard is a collection, by name or id).
// mirrors RocksDBDumpManager::createContext and the RocksDBDumpContext constructor
// (ddb-old/RocksDBEngine/RocksDBDumpManager.cpp, RocksDBDumpContext.cpp)
func (rs *replState) dumpStart(db *Database, user string, opts dumpOptions, useVPack bool) (*dumpContext, error) {
	srcs := make([]dumpSource, 0, len(opts.Shards))
	for _, name := range opts.Shards {
		c := db.Collection(name)
		if c == nil {
			// CollectionGuard -> TRI_vocbase_t::useCollection throws
			// TRI_ERROR_ARANGO_DATA_SOURCE_NOT_FOUND without a message of its own
			return nil, newError(404, 1203, "collection or view not found")
		}
		srcs = append(srcs, dumpSource{name: c.Name, coll: c})
	}
	return rs.startDump(db, user, opts, useVPack, srcs), nil
}

// dumpStartOptions parses a start body as the DB-Server's handleCommandDumpStart does
// (parseVPackBody, then the deserialization): invalid JSON is 400 600.
func dumpStartOptions(body []byte) (dumpOptions, error) {
	opts, err := parseDumpOptions(body)
	if errors.Is(err, errBodyNotJSON) {
		return opts, newError(400, 600, "VPackError error: "+err.Error())
	}
	return opts, err
}

// startDump registers a context over srcs, all read from one snapshot of their collections
// (a cluster's Coordinator passes each shard's collection with the shard's filter).
func (rs *replState) startDump(db *Database, user string, opts dumpOptions, useVPack bool, srcs []dumpSource) *dumpContext {
	opts.clamp()
	st := rs.s.store
	d := &dumpContext{id: "dump-" + strconv.FormatUint(st.NextTick(), 10), database: db.Name, user: user,
		opts: opts, useVPack: useVPack, batches: map[uint64]*dumpBatch{}}
	colls := make([]*Collection, len(srcs))
	for i, s := range srcs {
		colls[i] = s.coll
	}
	for i, docs := range st.snapshotCollections(colls) {
		if srcs[i].pick != nil {
			docs = srcs[i].pick(docs)
		}
		d.shards = append(d.shards, dumpShard{name: srcs[i].name, docs: docs})
	}
	d.extend()
	rs.mu.Lock()
	rs.gcLocked(time.Now())
	rs.dumps[d.id] = d
	rs.mu.Unlock()
	return d
}

// findDump mirrors RocksDBDumpManager::lookupContext: 404 1600 for an unknown (or expired)
// context, 403 11 for another database or user.
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

// parsedUint reads a query value as GeneralRequest::parsedValue<uint64_t> does: present or
// not, and if present its leading decimal digits (StringUtils::uint64, std::from_chars: no
// digits, or a value beyond 64 bits, gives 0).
func parsedUint(c *call, name string) (uint64, bool) {
	vs, ok := c.q[name]
	if !ok || len(vs) == 0 {
		return 0, false
	}
	s := vs[0]
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	v, err := strconv.ParseUint(s[:n], 10, 64)
	if err != nil {
		return 0, true
	}
	return v, true
}

// canReadCollection mirrors ExecContext::canUseCollection(db, coll, RO) under the
// ExecContextSuperuserScope that RestDumpHandler sets up for admin users.
func (c *call) canReadCollection(coll string) bool {
	if c.isAdmin() {
		return true
	}
	u := c.s.findUser(c.user)
	if u == nil {
		return false
	}
	l, _ := u.collLevel(c.db.Name, coll)
	return l == "ro" || l == "rw"
}

// handleDumpAPI serves every /_api/dump request on a single server (and, through
// cluster_routes.go, next and DELETE on a Coordinator).
// mirrors RestDumpHandler::execute and RestDumpHandler::validateRequest
// (ddb-old/RestHandler/RestDumpHandler.cpp)
func (rs *replState) handleDumpAPI(c *call) {
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
		rs.dumpFinished(c, suffix[0])
	case http.MethodPost:
		if (len(suffix) == 1 && suffix[0] != "start") || (len(suffix) == 2 && suffix[0] != "next") || len(suffix) < 1 || len(suffix) > 2 {
			c.fail(newError(400, 10, "expecting POST /_api/dump/start or /_api/dump/next/<id>"))
			return
		}
		if suffix[0] == "start" {
			rs.dumpStartRequest(c)
			return
		}
		rs.dumpNext(c, suffix[1])
	default:
		c.fail(newError(405, 405, "method not supported"))
	}
}

// dumpStartRequest serves POST /_api/dump/start.
// mirrors RestDumpHandler::handleCommandDumpStart, with validateRequest's body and permission
// checks before it (ddb-old/RestHandler/RestDumpHandler.cpp)
func (rs *replState) dumpStartRequest(c *call) {
	opts, err := parseDumpOptions(c.body)
	if errors.Is(err, errBodyNotJSON) {
		// parseVPackBody fails; validateRequest returns a bare TRI_ERROR_BAD_PARAMETER, whose
		// response replaces the one parseVPackBody wrote
		c.fail(newError(400, 10, "bad parameter"))
		return
	}
	if err != nil {
		c.fail(err) // deserializeUnsafe's TRI_ERROR_DESERIALIZE exception: 500, 39
		return
	}
	for _, shard := range opts.Shards {
		if !c.canReadCollection(shard) {
			c.fail(newError(403, 11, "insufficient permissions to access shard "+shard+" of collection "+shard))
			return
		}
	}
	d, err := rs.dumpStart(c.db, c.user, opts, replBool(c.r, "useVPack", false))
	if err != nil {
		c.fail(err)
		return
	}
	c.setHeader("x-arango-dump-id", d.id)
	c.empty(http.StatusCreated)
}

// dumpNext serves POST /_api/dump/next/<id>?batchId=N[&lastBatch=M].
// mirrors RestDumpHandler::handleCommandDumpNext (ddb-old/RestHandler/RestDumpHandler.cpp)
func (rs *replState) dumpNext(c *call, id string) {
	batchID, ok := parsedUint(c, "batchId")
	if !ok {
		c.fail(newError(400, 10, "expecting 'batchId'"))
		return
	}
	var lastBatch *uint64
	if n, ok := parsedUint(c, "lastBatch"); ok {
		lastBatch = &n
	}
	d, err := rs.findDump(id, c.db.Name, c.user)
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
	// The handler sets ContentType::DUMP whatever the batch holds (JSON lines or, with
	// useVPack, one VelocyPack array).
	if d.useVPack {
		writeUncompressed(c, http.StatusOK, dumpContentType, b.vpack)
		return
	}
	writeDocLines(c, dumpContentType, b.docs, b.size, false)
}

// dumpFinished serves DELETE /_api/dump/<id>.
// mirrors RestDumpHandler::handleCommandDumpFinished and RocksDBDumpManager::remove
// (ddb-old/RestHandler/RestDumpHandler.cpp, ddb-old/RocksDBEngine/RocksDBDumpManager.cpp)
func (rs *replState) dumpFinished(c *call, id string) {
	if _, err := rs.findDump(id, c.db.Name, c.user); err != nil {
		c.fail(err)
		return
	}
	rs.mu.Lock()
	delete(rs.dumps, id)
	rs.mu.Unlock()
	c.raw(http.StatusOK, "application/json; charset=utf-8", []byte(`{"error":false,"code":200}`))
}
