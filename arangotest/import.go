package arangotest

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unsafe"
)

type importStats struct {
	created, errors, empty, updated, ignored int
	details                                  []string
}

// importItem is one input item of an import: its position, and its raw object or a message.
type importItem struct {
	pos   int
	raw   []byte
	empty bool
	bad   string
}

// importItems and importDocs hold the slices of a batch's items and written documents.
var (
	importItems = newBufList[importItem](4, 1<<17)
	importDocs  = newBufList[*Doc](4, 1<<17)
)

type importUndo struct {
	key string
	old *Doc // nil = the key did not exist
}

// routeImportFallback answers /_api/import requests no import route takes, as
// RestImportHandler::executeAsync does: any method but POST is 501, error 9 "'ILLEGAL
// /_api/import' not implemented"; a POST with a suffix is 400, error 401 (createFromJson,
// createFromKeyValueList: "superfluous suffix, ...") once the type is valid.
func (s *Server) routeImportFallback(r *router) {
	illegal := func(c *call) { c.error(501, 9, "'ILLEGAL /_api/import' not implemented") }
	for _, m := range []string{"GET", "PUT", "PATCH", "DELETE"} {
		r.handle(m, "/_api/import", illegal)
		r.handle(m, "/_api/import/{rest...}", illegal)
	}
	r.handle("POST", "/_api/import/{rest...}", func(c *call) {
		switch c.query("type") {
		case "", "documents", "array", "list", "auto":
			c.error(400, 401, "superfluous suffix, expecting /_api/import?collection=<identifier>")
		default:
			c.error(400, 10, "invalid value for 'type'")
		}
	})
}

// importWhitespace is what RestImportHandler::createFromJson skips at the start of a line.
func importWhitespace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\r' || b == '\b' || b == '\f'
}

// csvTrim trims a line as createFromKeyValueList does (newlines included).
func csvTrim(b []byte) []byte {
	isWS := func(c byte) bool { return importWhitespace(c) || c == '\n' }
	for len(b) > 0 && isWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// handleImport implements POST /_api/import. It mirrors RestImportHandler::executeAsync,
// createFromJson and createFromKeyValueList (arangod/RestHandler/RestImportHandler.cpp):
//   - type other than documents, array, list, auto or none/empty (the tabular format):
//     400, error 10 "invalid value for 'type'";
//   - no collection parameter: 400, error 1204 "'collection' is missing, expecting
//     /_api/import?collection=<identifier>"; an unknown collection: 404, error 1203
//     "collection '<name>' not found" (generateTransactionError);
//   - line-wise input (documents, auto without '['): a line is counted as empty when only
//     spaces, tabs, CR, BS or FF stand before its newline; the end of the body after the
//     last newline is no line (so a body ending in a newline has no extra empty line), nor
//     is trailing whitespace without a newline;
//   - tabular input: the header is the first line; after it, every line up to the last
//     newline counts, a blank one as empty, and again nothing after the last newline.
func (s *Server) handleImport(c *call) {
	typ := c.query("type")
	switch typ {
	case "", "documents", "array", "list", "auto":
	default:
		c.error(400, 10, "invalid value for 'type'")
		return
	}
	name := c.query("collection")
	if name == "" {
		c.error(400, 1204, "'collection' is missing, expecting /_api/import?collection=<identifier>")
		return
	}
	body := c.body
	if typ == "" {
		// createFromKeyValueList checks the header before it opens the collection.
		nl := bytes.IndexByte(body, '\n')
		if nl < 0 {
			c.error(400, 400, "no JSON array found in second line")
			return
		}
		if len(csvTrim(body[:nl])) == 0 {
			c.error(400, 400, "no JSON string array found in first line")
			return
		}
	}
	coll := c.db.Collection(name)
	if coll == nil {
		c.error(404, 1203, "collection '"+name+"' not found")
		return
	}
	if s.store.readOnly.Load() {
		c.error(403, 1004, "read only")
		return
	}
	if typ == "auto" {
		// createFromJson peeks at the first character that is not \r \n \t \b \f or space
		typ = "documents"
		for _, b := range body {
			if importWhitespace(b) || b == '\n' {
				continue
			}
			if b == '[' {
				typ = "array"
			}
			break
		}
	}
	if typ == "array" && requestContentType(c.r) == ctDump {
		body = nil // parseVPackBody: no payload under the dump type
	}
	onDup := c.query("onDuplicate")
	if onDup == "" {
		onDup = "error"
	}
	complete := c.qbool("complete", false)
	details := c.qbool("details", false)
	fromPrefix, toPrefix := c.query("fromPrefix"), c.query("toPrefix")
	overwritePrefix := c.qbool("overwriteCollectionPrefix", false)

	// Collect the input items: (position, raw object or nil with message), in a pooled
	// slice (a fresh one per request is mostly the kernel's first touch of its pages).
	ip := importItems.get()
	defer importItems.put(ip)
	items := (*ip)[:0]
	defer func() { *ip = items }()
	switch typ {
	case "documents":
		if want := len(body)/128 + 16; cap(items) < want { // a guess: counting lines reads the body once more
			items = make([]importItem, 0, want)
		}
		pos := 0
		for len(body) > 0 {
			pos++
			for len(body) > 0 && importWhitespace(body[0]) {
				body = body[1:]
			}
			if len(body) == 0 || body[0] == 0 {
				break // only whitespace after the last newline: no line
			}
			if body[0] == '\n' {
				body = body[1:]
				items = append(items, importItem{pos: pos, empty: true})
				continue
			}
			i := bytes.IndexByte(body, '\n')
			var line []byte
			if i < 0 {
				line, body = body, nil
			} else {
				line, body = body[:i], body[i+1:]
			}
			items = append(items, importItem{pos: pos, raw: bytes.TrimRight(line, " \t\r\b\f")})
		}
	case "array", "list":
		t := bytes.TrimSpace(body)
		if err := errInvalidBody(t); err != nil {
			c.fail(err)
			return
		}
		if rawKind(t) != 'a' {
			c.error(400, 400, "expecting a JSON array in the request")
			return
		}
		err := scanArray(t, func(i int, v []byte) error {
			items = append(items, importItem{pos: i + 1, raw: v})
			return nil
		})
		if err != nil {
			c.error(400, 600, err.Error())
			return
		}
	case "":
		// createFromKeyValueList: the header is the first line (checked above to exist).
		nl := bytes.IndexByte(body, '\n')
		var header []string
		var hdr []json.RawMessage
		if json.Unmarshal(csvTrim(body[:nl]), &hdr) != nil || len(hdr) == 0 {
			c.error(400, 400, "no JSON string array found in first line")
			return
		}
		for _, h := range hdr {
			var name string
			if json.Unmarshal(h, &name) != nil {
				c.error(400, 400, "no JSON string array found in first line")
				return
			}
			header = append(header, name)
		}
		ignoreMissing := c.qbool("ignoreMissing", false)
		pos := int(replUint(c.query("line")))
		rest := body[nl+1:]
		for len(rest) > 0 { // nothing after the last newline is a line
			var line []byte
			if i := bytes.IndexByte(rest, '\n'); i < 0 {
				line, rest = rest, nil
			} else {
				line, rest = rest[:i], rest[i+1:]
			}
			pos++
			t := csvTrim(line)
			if len(t) == 0 {
				items = append(items, importItem{pos: pos, empty: true})
				continue
			}
			var vals []json.RawMessage
			if err := json.Unmarshal(t, &vals); err != nil {
				items = append(items, importItem{pos: pos, bad: "no valid JSON array data, offending document: " + string(t)})
				continue
			}
			if !ignoreMissing && len(vals) != len(header) {
				items = append(items, importItem{pos: pos, bad: "wrong number of JSON values (got " + strconv.Itoa(len(vals)) +
					", expected " + strconv.Itoa(len(header)) + "), offending document: " + string(t)})
				continue
			}
			ms := make([]member, 0, len(header))
			for i, h := range header {
				if i >= len(vals) {
					break
				}
				if string(bytes.TrimSpace(vals[i])) == "null" {
					continue // createVelocyPackObject leaves out null values
				}
				ms = append(ms, member{h, vals[i]})
			}
			items = append(items, importItem{pos: pos, raw: encodeObject(ms)})
		}
	}

	var st importStats
	var undo []importUndo
	// The batch is logged at once, after it (removals, then documents, in tick order); with
	// complete=true only when it succeeds.
	var removed []Marker // overwrite=true: the truncation's markers
	wp := importDocs.get()
	defer importDocs.put(wp)
	written := (*wp)[:0]
	defer func() { *wp = written }()
	var arena docArena
	coll.mu.Lock()
	if c.qbool("overwrite", false) {
		// Truncate first (inside the same lock).
		for _, d := range coll.order {
			if d != nil {
				undo = append(undo, importUndo{key: d.Key, old: d})
				removed = append(removed, coll.removeMarker(d.Key, d.Rev, s.store.NextTick()))
			}
		}
		coll.docs = map[string]int{}
		coll.order = nil
		coll.holes = 0
		for _, ix := range coll.indexes {
			ix.reset()
		}
	}
	fail := func(pos int, raw []byte, err error) {
		st.errors++
		if details {
			msg := err.Error()
			if ae, ok := err.(*ArangoError); ok {
				msg = ae.Message
				if ae.Num == 1210 {
					msg = "unique constraint violated"
				}
			}
			st.details = append(st.details, "at position "+strconv.Itoa(pos)+": creating document failed with error '"+
				msg+"', offending document: "+string(raw))
		}
	}
	coll.presizeLocked(len(items))
	// The batch's ticks, reserved at once (one per item at most).
	nextTick := s.store.NextTicks(len(items) + 1)
	var pd parsedDoc // reused for every line: newDoc copies what it keeps
	var keyBuf, revBuf []byte
	hasComputed := coll.hasComputed()
	hasSchema := coll.hasSchema()
	for _, it := range items {
		if it.empty {
			st.empty++
			continue
		}
		if it.bad != "" {
			st.errors++
			if details {
				st.details = append(st.details, "at position "+strconv.Itoa(it.pos)+": "+it.bad)
			}
			continue
		}
		p := &pd
		err := parseDocInto(p, it.raw)
		if err != nil {
			st.errors++
			if details {
				st.details = append(st.details, "at position "+strconv.Itoa(it.pos)+": invalid JSON type (expecting object, probably parse error), offending document: "+string(it.raw))
			}
			continue
		}
		if coll.Type == 3 {
			if p.hasFrom && fromPrefix != "" && (overwritePrefix || !strings.Contains(p.from, "/")) {
				p.from = applyPrefix(fromPrefix, p.from)
			}
			if p.hasTo && toPrefix != "" && (overwritePrefix || !strings.Contains(p.to, "/")) {
				p.to = applyPrefix(toPrefix, p.to)
			}
			if !p.hasFrom || !p.hasTo || p.badFromTo {
				st.errors++
				if details {
					st.details = append(st.details, "at position "+strconv.Itoa(it.pos)+": missing '_from' or '_to' attribute, offending document: "+string(it.raw))
				}
				continue
			}
			if !validDocHandle(p.from) || !validDocHandle(p.to) {
				fail(it.pos, it.raw, newError(400, 1233, "edge attribute missing or invalid"))
				continue
			}
		}
		var old *Doc
		if p.hasKey {
			if p.badKeyType {
				fail(it.pos, it.raw, newError(400, 1221, "illegal document key"))
				continue
			}
			if err := coll.checkUserKey(p.key); err != nil {
				fail(it.pos, it.raw, err)
				continue
			}
			if pos, ok := coll.docs[p.key]; ok {
				old = coll.order[pos]
			}
		}
		user := p.user
		op := "insert"
		if old != nil {
			switch onDup {
			case "ignore":
				st.ignored++
				continue
			case "update":
				om, _ := orderedObject(old.Raw)
				user = patchMembers(stripSystem(om), user, true, true)
				op = "update"
			case "replace":
				op = "replace"
			default:
				fail(it.pos, it.raw, newError(409, 1210, "unique constraint violated"))
				continue
			}
			if coll.Type == 3 && op == "update" {
				oldP, _ := parseDoc(old.Raw)
				if !p.hasFrom {
					p.from = oldP.from
				}
				if !p.hasTo {
					p.to = oldP.to
				}
			}
		}
		if hasComputed {
			if user, err = s.applyComputed(coll, user, op); err != nil {
				fail(it.pos, it.raw, err)
				continue
			}
		}
		if hasSchema {
			if err := s.validateSchema(coll, user, op, old); err != nil {
				fail(it.pos, it.raw, err)
				continue
			}
		}
		tick := nextTick
		nextTick++
		// key and rev may be views of scratch buffers, valid for this item only: newDocIn
		// copies them, and what is kept afterwards uses d.Key.
		key := p.key
		if !p.hasKey {
			if kb, ok := coll.appendNextKey(keyBuf[:0], tick); ok {
				keyBuf = kb
				key = unsafe.String(unsafe.SliceData(kb), len(kb))
			} else {
				key, _ = coll.nextKey(tick)
			}
		}
		revBuf = appendRev(revBuf[:0], tick)
		rev := unsafe.String(unsafe.SliceData(revBuf), len(revBuf))
		userRaw := p.userRaw
		if len(user) != len(p.user) || (len(user) > 0 && &user[0] != &p.user[0]) {
			userRaw = nil // changed by onDuplicate=update or computed values
		}
		d := coll.newDocIn(&arena, key, rev, tick, p.from, p.to, user, userRaw)
		if id, ok := coll.trxLocks[key]; ok && id != 0 {
			fail(it.pos, it.raw, newError(409, 1200, "write-write conflict"))
			continue
		}
		if err := coll.install(d, old); err != nil {
			fail(it.pos, it.raw, err)
			continue
		}
		if p.hasKey {
			coll.trackUserKey(d.Key)
		}
		if complete {
			undo = append(undo, importUndo{key: d.Key, old: old})
		}
		written = append(written, d)
		if old != nil {
			st.updated++
		} else {
			st.created++
		}
	}
	if complete && st.errors > 0 {
		// Roll back everything in reverse order.
		for i := len(undo) - 1; i >= 0; i-- {
			u := undo[i]
			if p, ok := coll.docs[u.key]; ok {
				cur := coll.order[p]
				if u.old != nil {
					_ = coll.install(u.old, cur)
				} else {
					coll.removeLocked(u.key)
				}
			} else if u.old != nil {
				_ = coll.install(u.old, nil)
			}
		}
		coll.mu.Unlock()
		c.error(409, 1210, "unique constraint violated")
		return
	}
	coll.mu.Unlock()
	s.store.WAL.appendWrites(coll, removed, written, nil)
	out := map[string]any{"error": false, "created": st.created, "errors": st.errors, "empty": st.empty,
		"updated": st.updated, "ignored": st.ignored}
	if details {
		if st.details == nil {
			st.details = []string{}
		}
		out["details"] = st.details
	}
	c.json(201, out)
}

func applyPrefix(prefix, v string) string {
	if i := strings.IndexByte(v, '/'); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimSuffix(prefix, "/") + "/" + v
}
