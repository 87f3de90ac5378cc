package arangotest

import (
	"bytes"
	"math"
	"strconv"
	"strings"
)

// docOpts are the options of a document write.
type docOpts struct {
	waitForSync      bool
	returnNew        bool
	returnOld        bool
	silent           bool
	overwriteMode    string // "", "conflict", "ignore", "replace", "update"
	keepNull         bool
	mergeObjects     bool
	ignoreRevs       bool
	versionAttribute string
	ifMatch          string // single-document If-Match precondition
}

func (c *call) docOpts() docOpts {
	o := docOpts{
		waitForSync: c.qbool("waitForSync", false), returnNew: c.qbool("returnNew", false),
		returnOld: c.qbool("returnOld", false), silent: c.qbool("silent", false),
		overwriteMode: c.query("overwriteMode"), keepNull: c.qbool("keepNull", true),
		mergeObjects: c.qbool("mergeObjects", true), ignoreRevs: c.qbool("ignoreRevs", true),
		versionAttribute: c.query("versionAttribute"),
	}
	if o.overwriteMode == "" && c.qbool("overwrite", false) {
		o.overwriteMode = "replace"
	}
	if im := c.header("If-Match"); im != "" {
		o.ifMatch = strings.Trim(im, `"`)
	}
	return o
}

// docResult is the outcome of one document operation.
type docResult struct {
	key, rev, oldRev string
	newDoc, oldDoc   *Doc
	err              error
}

func (r *docResult) render(coll *Collection, o docOpts) []byte {
	var buf bytes.Buffer
	buf.WriteString(`{"_id":`)
	writeJSONString(&buf, coll.Name+"/"+r.key)
	buf.WriteString(`,"_key":`)
	writeJSONString(&buf, r.key)
	buf.WriteString(`,"_rev":"`)
	buf.WriteString(r.rev)
	buf.WriteByte('"')
	if r.oldRev != "" {
		buf.WriteString(`,"_oldRev":"`)
		buf.WriteString(r.oldRev)
		buf.WriteByte('"')
	}
	if o.returnNew && r.newDoc != nil {
		buf.WriteString(`,"new":`)
		buf.Write(r.newDoc.Raw)
	}
	if o.returnOld && r.oldDoc != nil {
		buf.WriteString(`,"old":`)
		buf.Write(r.oldDoc.Raw)
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

func renderItemError(err error) []byte {
	ae, ok := err.(*ArangoError)
	if !ok {
		ae = newError(500, 4, err.Error())
	}
	var buf bytes.Buffer
	buf.WriteString(`{"error":true,"errorNum":`)
	buf.WriteString(strconv.Itoa(ae.Num))
	buf.WriteString(`,"errorMessage":`)
	writeJSONString(&buf, ae.Message)
	if ae.Extra != nil {
		for _, k := range []string{"_id", "_key", "_rev"} {
			if v, ok := ae.Extra[k].(string); ok {
				buf.WriteString(`,"` + k + `":`)
				writeJSONString(&buf, v)
			}
		}
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

// writeTarget abstracts the place a write goes: the collection itself (lock held) or a
// stream transaction's staging area.
type writeTarget struct {
	c   *Collection
	trx *streamTrx
}

// get returns the visible version of key. The collection lock is held.
func (w writeTarget) getLocked(key string) *Doc {
	if w.trx != nil {
		w.trx.mu.Lock()
		if m, ok := w.trx.staged[w.c]; ok {
			if d, ok := m[key]; ok {
				w.trx.mu.Unlock()
				return d
			}
		}
		w.trx.mu.Unlock()
	}
	if p, ok := w.c.docs[key]; ok {
		return w.c.order[p]
	}
	return nil
}

// putLocked installs or stages d (replacing old). The collection lock is held.
func (w writeTarget) putLocked(d, old *Doc) error {
	c := w.c
	if w.trx == nil {
		if id, ok := c.trxLocks[d.Key]; ok && id != 0 {
			return newError(409, 1200, "write-write conflict")
		}
		if err := c.install(d, old); err != nil {
			return err
		}
		c.logDoc(d, 0)
		return nil
	}
	if err := w.trx.lockKeyLocked(c, d.Key); err != nil {
		return err
	}
	// Check unique indexes against committed data (excluding the key itself).
	for _, ix := range c.indexes {
		if ix.Unique && ix.tracked() {
			vals, _ := ix.entries(d.Raw)
			if err := ix.checkUnique(vals, d.Key); err != nil {
				return err
			}
		}
	}
	w.trx.stage(c, d.Key, d, old)
	return nil
}

func (w writeTarget) removeLocked(key string, old *Doc) error {
	c := w.c
	if w.trx == nil {
		if id, ok := c.trxLocks[key]; ok && id != 0 {
			return newError(409, 1200, "write-write conflict")
		}
		c.removeLocked(key)
		tick := c.db.st.NextTick()
		c.revTick = tick
		c.logRemove(key, old.Rev, tick, 0)
		return nil
	}
	if err := w.trx.lockKeyLocked(c, key); err != nil {
		return err
	}
	w.trx.stage(c, key, nil, old)
	return nil
}

func preconditionFailed(coll *Collection, old *Doc) *ArangoError {
	e := newError(412, 1200, "conflict, _rev values do not match")
	e.Extra = map[string]any{"_id": coll.Name + "/" + old.Key, "_key": old.Key, "_rev": old.Rev}
	return e
}

// versionGate reports whether a write guarded by versionAttribute may proceed.
func versionGate(attr string, oldRaw []byte, newMembers []member) bool {
	if attr == "" || oldRaw == nil {
		return true
	}
	ov := lookupPath(oldRaw, []string{attr})
	var nv []byte
	for _, m := range newMembers {
		if m.key == attr {
			nv = m.val
		}
	}
	if rawKind(ov) != 'd' || rawKind(nv) != 'd' {
		return true
	}
	of, err1 := strconv.ParseFloat(string(ov), 64)
	nf, err2 := strconv.ParseFloat(string(nv), 64)
	if err1 != nil || err2 != nil || of < 0 || nf < 0 {
		return true
	}
	return math.Floor(nf) > math.Floor(of)
}

// insertDoc inserts one document (with overwrite modes).
func (s *Server) insertDoc(w writeTarget, raw []byte, o docOpts) docResult {
	c := w.c
	p, err := parseDoc(raw)
	if err != nil {
		return docResult{err: err}
	}
	if p.hasKey {
		if p.badKeyType {
			return docResult{err: newError(400, 1221, "illegal document key")}
		}
	}
	if c.Type == 3 {
		if !p.hasFrom || !p.hasTo || p.badFromTo || !validDocHandle(p.from) || !validDocHandle(p.to) {
			return docResult{err: newError(400, 1233, "edge attribute missing or invalid")}
		}
	}
	user := p.user
	c.mu.Lock()
	defer c.mu.Unlock()
	key := p.key
	var old *Doc
	if p.hasKey {
		if err := c.checkUserKey(key); err != nil {
			return docResult{err: err}
		}
		old = w.getLocked(key)
	}
	if old != nil {
		switch o.overwriteMode {
		case "ignore":
			return docResult{key: key, rev: old.Rev}
		case "replace", "update":
			if !versionGate(o.versionAttribute, old.Raw, user) {
				return docResult{key: key, rev: old.Rev, oldRev: old.Rev, newDoc: old, oldDoc: old}
			}
			if o.overwriteMode == "update" {
				om, _ := orderedObject(old.Raw)
				user = patchMembers(stripSystem(om), user, o.keepNull, o.mergeObjects)
			}
			op := "replace"
			if o.overwriteMode == "update" {
				op = "update"
			}
			user, err = s.applyComputed(c, user, op)
			if err != nil {
				return docResult{err: err}
			}
			if err := s.validateSchema(c, user, op, old); err != nil {
				return docResult{err: err}
			}
			from, to := p.from, p.to
			tick := c.db.st.NextTick()
			rev := encodeRev(tick)
			d := c.newDoc(key, rev, tick, from, to, user)
			if err := w.putLocked(d, old); err != nil {
				return docResult{err: err}
			}
			return docResult{key: key, rev: rev, oldRev: old.Rev, newDoc: d, oldDoc: old}
		default:
			return docResult{err: newError(409, 1210, "unique constraint violated - in index primary of type primary over '_key'; conflicting key: "+key)}
		}
	}
	user, err = s.applyComputed(c, user, "insert")
	if err != nil {
		return docResult{err: err}
	}
	if err := s.validateSchema(c, user, "insert", nil); err != nil {
		return docResult{err: err}
	}
	tick := c.db.st.NextTick()
	if !p.hasKey {
		key, _ = c.nextKey(tick)
	}
	rev := encodeRev(tick)
	d := c.newDoc(key, rev, tick, p.from, p.to, user)
	if err := w.putLocked(d, nil); err != nil {
		return docResult{err: err}
	}
	if p.hasKey {
		c.trackUserKey(key)
	}
	return docResult{key: key, rev: rev, newDoc: d}
}

// modifyDoc replaces or updates one document. key == "" takes the key from the body.
func (s *Server) modifyDoc(w writeTarget, key string, raw []byte, o docOpts, update bool) docResult {
	c := w.c
	p, err := parseDoc(raw)
	if err != nil {
		return docResult{err: err}
	}
	if key == "" {
		if !p.hasKey || p.badKeyType {
			return docResult{err: newError(400, 1226, "missing document key")}
		}
		key = p.key
	}
	if !validKey(key) {
		return docResult{err: newError(400, 1221, "illegal document key")}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := w.getLocked(key)
	if old == nil {
		return docResult{err: errDocumentNotFound()}
	}
	if o.ifMatch != "" && o.ifMatch != old.Rev {
		return docResult{err: preconditionFailed(c, old)}
	}
	if !o.ignoreRevs && p.hasRev && p.rev != "" && p.rev != old.Rev {
		return docResult{err: preconditionFailed(c, old)}
	}
	user := p.user
	if !versionGate(o.versionAttribute, old.Raw, user) {
		return docResult{key: key, rev: old.Rev, oldRev: old.Rev, newDoc: old, oldDoc: old}
	}
	from, to := p.from, p.to
	op := "replace"
	if update {
		op = "update"
		om, _ := orderedObject(old.Raw)
		user = patchMembers(stripSystem(om), user, o.keepNull, o.mergeObjects)
		if c.Type == 3 {
			oldP, _ := parseDoc(old.Raw)
			if !p.hasFrom {
				from = oldP.from
			}
			if !p.hasTo {
				to = oldP.to
			}
		}
	}
	if c.Type == 3 && (from == "" || to == "" || !validDocHandle(from) || !validDocHandle(to) || p.badFromTo) {
		return docResult{err: newError(400, 1233, "edge attribute missing or invalid")}
	}
	user, err = s.applyComputed(c, user, op)
	if err != nil {
		return docResult{err: err}
	}
	if err := s.validateSchema(c, user, op, old); err != nil {
		return docResult{err: err}
	}
	tick := c.db.st.NextTick()
	rev := encodeRev(tick)
	d := c.newDoc(key, rev, tick, from, to, user)
	if err := w.putLocked(d, old); err != nil {
		return docResult{err: err}
	}
	return docResult{key: key, rev: rev, oldRev: old.Rev, newDoc: d, oldDoc: old}
}

// removeDoc removes one document; rev is an optional precondition.
func (s *Server) removeDoc(w writeTarget, key, rev string, o docOpts) docResult {
	c := w.c
	if !validKey(key) {
		return docResult{err: newError(400, 1221, "illegal document key")}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := w.getLocked(key)
	if old == nil {
		return docResult{err: errDocumentNotFound()}
	}
	if o.ifMatch != "" && o.ifMatch != old.Rev {
		return docResult{err: preconditionFailed(c, old)}
	}
	if !o.ignoreRevs && rev != "" && rev != old.Rev {
		return docResult{err: preconditionFailed(c, old)}
	}
	if err := w.removeLocked(key, old); err != nil {
		return docResult{err: err}
	}
	return docResult{key: key, rev: old.Rev, oldDoc: old}
}

func stripSystem(ms []member) []member {
	out := ms[:0:0]
	for _, m := range ms {
		switch m.key {
		case "_key", "_id", "_rev", "_from", "_to":
			continue
		}
		out = append(out, m)
	}
	return out
}

// patchMembers merges patch into base (PATCH semantics).
func patchMembers(base, patch []member, keepNull, mergeObjects bool) []member {
	out := append([]member(nil), base...)
	for _, pm := range patch {
		idx := -1
		for i := range out {
			if out[i].key == pm.key {
				idx = i
				break
			}
		}
		if rawKind(pm.val) == 'n' && !keepNull {
			if idx >= 0 {
				out = append(out[:idx], out[idx+1:]...)
			}
			continue
		}
		val := pm.val
		if mergeObjects && idx >= 0 && rawKind(pm.val) == 'o' && rawKind(out[idx].val) == 'o' {
			bm, _ := orderedObject(out[idx].val)
			sub, _ := orderedObject(pm.val)
			val = encodeObject(patchMembers(bm, sub, keepNull, mergeObjects))
		} else if !keepNull && rawKind(pm.val) == 'o' {
			sub, _ := orderedObject(pm.val)
			val = encodeObject(patchMembers(nil, sub, keepNull, mergeObjects))
		}
		if idx >= 0 {
			out[idx].val = val
		} else {
			out = append(out, member{pm.key, val})
		}
	}
	return out
}
