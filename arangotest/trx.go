package arangotest

import (
	"encoding/json"
	"strconv"
	"sync"
	"time"
)

// Stream transactions. Writes inside a transaction are staged (invisible to others) and
// applied on commit; a key written by a running transaction is locked, and any other writer
// of that key fails at once with 409 1200 (write-write conflict).

type trxRegistry struct {
	mu sync.Mutex
	m  map[uint64]*streamTrx
}

func newTrxRegistry() *trxRegistry { return &trxRegistry{m: map[uint64]*streamTrx{}} }

type stagedOp struct {
	coll *Collection
	key  string
	doc  *Doc // nil = remove
	old  *Doc
}

type streamTrx struct {
	id      uint64
	db      *Database
	mu      sync.Mutex
	status  string
	lastUse time.Time
	ttl     time.Duration
	staged  map[*Collection]map[string]*Doc // key -> staged version (nil = removed)
	ops     []stagedOp
	colls   map[string]string // declared collections: name -> read|write|exclusive
}

func (r *trxRegistry) get(id uint64) *streamTrx {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[id]
}

func (r *trxRegistry) expire(s *Server, now time.Time) {
	r.mu.Lock()
	var old []*streamTrx
	for _, t := range r.m {
		t.mu.Lock()
		if t.status == "running" && now.Sub(t.lastUse) > t.ttl {
			old = append(old, t)
		}
		if t.status != "running" && now.Sub(t.lastUse) > 10*time.Minute {
			delete(r.m, t.id)
		}
		t.mu.Unlock()
	}
	r.mu.Unlock()
	for _, t := range old {
		t.abort()
	}
}

func (r *trxRegistry) dropDatabase(name string) {
	r.mu.Lock()
	var list []*streamTrx
	for _, t := range r.m {
		if t.db.Name == name {
			list = append(list, t)
		}
	}
	r.mu.Unlock()
	for _, t := range list {
		t.abort()
	}
}

// trxFor returns the running transaction named by the x-arango-trx-id header (nil if none).
// Unknown or finished transactions produce an error response; check c.written.
func (s *Server) trxFor(c *call) *streamTrx {
	h := c.header("x-arango-trx-id")
	if h == "" {
		return nil
	}
	id, _ := strconv.ParseUint(h, 10, 64)
	t := s.trx.get(id)
	if t == nil || t.db != c.db {
		return &streamTrx{status: "missing", id: id}
	}
	t.mu.Lock()
	t.lastUse = time.Now()
	t.mu.Unlock()
	return t
}

// usable returns an error if the transaction cannot run operations.
func (t *streamTrx) usable() error {
	if t.status == "missing" {
		return newError(404, 1655, "transaction '"+strconv.FormatUint(t.id, 10)+"' not found")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.status != "running" {
		return newError(410, 1654, "transaction '"+strconv.FormatUint(t.id, 10)+"' is "+t.status)
	}
	return nil
}

// visible returns the document version seen inside the transaction.
func (t *streamTrx) visible(c *Collection, key string) *Doc {
	t.mu.Lock()
	if m, ok := t.staged[c]; ok {
		if d, ok := m[key]; ok {
			t.mu.Unlock()
			return d
		}
	}
	t.mu.Unlock()
	return c.Lookup(key)
}

// visibleDocs returns all documents of c seen inside the transaction.
func (t *streamTrx) visibleDocs(c *Collection) []*Doc {
	base := c.Snapshot()
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.staged[c]
	if len(m) == 0 {
		return base
	}
	out := make([]*Doc, 0, len(base)+len(m))
	seen := map[string]bool{}
	for _, d := range base {
		if sd, ok := m[d.Key]; ok {
			seen[d.Key] = true
			if sd != nil {
				out = append(out, sd)
			}
			continue
		}
		out = append(out, d)
	}
	for k, sd := range m {
		if !seen[k] && sd != nil {
			out = append(out, sd)
		}
	}
	return out
}

// lockKey takes the write lock on a key for the transaction (collection lock held).
func (t *streamTrx) lockKeyLocked(c *Collection, key string) error {
	if c.trxLocks == nil {
		c.trxLocks = map[string]uint64{}
	}
	if other, ok := c.trxLocks[key]; ok && other != t.id {
		return newError(409, 1200, "write-write conflict")
	}
	c.trxLocks[key] = t.id
	return nil
}

func (t *streamTrx) stage(c *Collection, key string, d *Doc, old *Doc) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.staged == nil {
		t.staged = map[*Collection]map[string]*Doc{}
	}
	if t.staged[c] == nil {
		t.staged[c] = map[string]*Doc{}
	}
	t.staged[c][key] = d
	t.ops = append(t.ops, stagedOp{coll: c, key: key, doc: d, old: old})
}

// stageRemove stages the removal of a key.
func (t *streamTrx) stageRemove(c *Collection, key string) error {
	old := t.visible(c, key)
	if old == nil {
		return errDocumentNotFound()
	}
	c.mu.Lock()
	err := t.lockKeyLocked(c, key)
	c.mu.Unlock()
	if err != nil {
		return err
	}
	t.stage(c, key, nil, old)
	return nil
}

func (t *streamTrx) releaseLocks() {
	for c := range t.lockedColls() {
		c.mu.Lock()
		for k, id := range c.trxLocks {
			if id == t.id {
				delete(c.trxLocks, k)
			}
		}
		c.mu.Unlock()
	}
}

func (t *streamTrx) lockedColls() map[*Collection]bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[*Collection]bool{}
	for _, op := range t.ops {
		out[op.coll] = true
	}
	return out
}

func (t *streamTrx) commit() error {
	t.mu.Lock()
	if t.status != "running" {
		st := t.status
		t.mu.Unlock()
		if st == "committed" {
			return nil
		}
		return newError(410, 1654, "transaction aborted")
	}
	ops := t.ops
	t.status = "committed"
	t.mu.Unlock()
	st := t.db.st
	// Apply the final version of every touched key once, in first-touch order. WAL markers
	// get their ticks now, at commit (like RocksDB sequence numbers), after the begin marker.
	final := map[*Collection]map[string]*Doc{}
	for _, op := range ops {
		if final[op.coll] == nil {
			final[op.coll] = map[string]*Doc{}
		}
		final[op.coll][op.key] = op.doc
	}
	type applied struct {
		c       *Collection
		key     string
		prev, d *Doc
	}
	var done []applied
	var failure error
	// RocksDB commits the transaction as one write batch: a dump snapshot sees all of it or
	// none (dumpsnapshot.go), the undo of a failed commit included.
	st.writeAtomically(func() {
		seen := map[*Collection]map[string]bool{}
		for _, op := range ops {
			if seen[op.coll] == nil {
				seen[op.coll] = map[string]bool{}
			}
			if seen[op.coll][op.key] {
				continue
			}
			seen[op.coll][op.key] = true
			c := op.coll
			d := final[c][op.key]
			c.mu.Lock()
			var cur *Doc
			if p, ok := c.docs[op.key]; ok {
				cur = c.order[p]
			}
			if d == nil {
				if cur != nil {
					c.removeLocked(op.key)
					done = append(done, applied{c, op.key, cur, nil})
				}
			} else if err := c.install(d, cur); err != nil {
				failure = err
				c.mu.Unlock()
				break
			} else {
				done = append(done, applied{c, op.key, cur, d})
			}
			c.mu.Unlock()
		}
		if failure != nil {
			// Undo in reverse order; nothing reached the WAL.
			for i := len(done) - 1; i >= 0; i-- {
				a := done[i]
				a.c.mu.Lock()
				if a.prev != nil {
					var cur *Doc
					if p, ok := a.c.docs[a.key]; ok {
						cur = a.c.order[p]
					}
					_ = a.c.install(a.prev, cur)
				} else {
					a.c.removeLocked(a.key)
				}
				a.c.mu.Unlock()
			}
		}
	})
	if failure != nil {
		t.mu.Lock()
		t.status = "aborted"
		t.mu.Unlock()
		t.releaseLocks()
		st.hb.lock.leaveTrx(t.id) // backup_lock.go
		return failure
	}
	st.WAL.append(Marker{Tick: st.NextTick(), Type: 2200, DB: t.db.Name, TID: t.id})
	for _, a := range done {
		tick := st.NextTick()
		a.c.mu.Lock()
		if tick > a.c.revTick {
			a.c.revTick = tick
		}
		a.c.mu.Unlock()
		if a.d == nil {
			a.c.logRemove(a.key, a.prev.Rev, tick, t.id)
		} else {
			st.WAL.append(Marker{Tick: tick, Type: 2300, DB: t.db.Name, CID: a.c.ID, CUID: a.c.GUID, TID: t.id, Data: a.d.Raw})
		}
	}
	t.releaseLocks()
	st.WAL.append(Marker{Tick: st.NextTick(), Type: 2201, DB: t.db.Name, TID: t.id})
	st.hb.lock.leaveTrx(t.id) // backup_lock.go
	return nil
}

func (t *streamTrx) abort() {
	t.mu.Lock()
	if t.status != "running" {
		t.mu.Unlock()
		return
	}
	t.status = "aborted"
	t.mu.Unlock()
	t.releaseLocks()
	t.db.st.hb.lock.leaveTrx(t.id) // backup_lock.go
}

func (t *streamTrx) info() map[string]any {
	t.mu.Lock()
	defer t.mu.Unlock()
	return map[string]any{"id": strconv.FormatUint(t.id, 10), "status": t.status}
}

func (s *Server) routeTransactions(r *router) {
	r.handle("POST", "/_api/transaction/begin", func(c *call) {
		var in struct {
			Collections map[string]json.RawMessage `json:"collections"`
			LockTimeout *float64                   `json:"lockTimeout"`
		}
		if err := json.Unmarshal(c.body, &in); err != nil {
			c.error(400, 600, "invalid JSON")
			return
		}
		t := &streamTrx{db: c.db, status: "running", lastUse: time.Now(), ttl: 60 * time.Second, colls: map[string]string{}}
		for _, mode := range []string{"read", "write", "exclusive"} {
			raw, ok := in.Collections[mode]
			if !ok {
				continue
			}
			var names []string
			if s, ok := rawString(raw); ok {
				names = []string{s}
			} else {
				_ = json.Unmarshal(raw, &names)
			}
			for _, n := range names {
				if c.db.Collection(n) == nil {
					c.fail(errCollectionNotFound(n))
					return
				}
				t.colls[n] = mode
			}
		}
		t.id = s.store.NextTick()
		if !s.hbTrxBegin(c, t) { // backup_lock.go: write transactions share the hot backup lock
			return
		}
		s.trx.mu.Lock()
		s.trx.m[t.id] = t
		s.trx.mu.Unlock()
		c.okResult(201, t.info())
	})
	r.handle("GET", "/_api/transaction", func(c *call) {
		s.trx.mu.Lock()
		list := []any{}
		for _, t := range s.trx.m {
			if t.db != c.db {
				continue
			}
			t.mu.Lock()
			if t.status == "running" {
				list = append(list, map[string]any{"id": strconv.FormatUint(t.id, 10), "state": t.status})
			}
			t.mu.Unlock()
		}
		s.trx.mu.Unlock()
		c.json(200, map[string]any{"transactions": list})
	})
	lookup := func(c *call) *streamTrx {
		id, _ := strconv.ParseUint(c.param("id"), 10, 64)
		t := s.trx.get(id)
		if t == nil || t.db != c.db {
			c.error(404, 1655, "transaction '"+c.param("id")+"' not found")
			return nil
		}
		return t
	}
	r.handle("GET", "/_api/transaction/{id}", func(c *call) {
		if t := lookup(c); t != nil {
			c.okResult(200, t.info())
		}
	})
	r.handle("PUT", "/_api/transaction/{id}", func(c *call) {
		t := lookup(c)
		if t == nil {
			return
		}
		if err := t.commit(); err != nil {
			c.fail(err)
			return
		}
		c.okResult(200, t.info())
	})
	r.handle("DELETE", "/_api/transaction/{id}", func(c *call) {
		t := lookup(c)
		if t == nil {
			return
		}
		t.mu.Lock()
		st := t.status
		t.mu.Unlock()
		if st == "committed" {
			c.error(409, 1653, "transaction is already committed")
			return
		}
		t.abort()
		c.okResult(200, t.info())
	})
}
