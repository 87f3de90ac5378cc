package arangotest

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// target resolves the write target of a document request (with its stream transaction).
func (s *Server) target(c *call, coll *Collection) (writeTarget, bool) {
	t := s.trxFor(c)
	if t != nil {
		if err := t.usable(); err != nil {
			c.fail(err)
			return writeTarget{}, false
		}
	}
	return writeTarget{c: coll, trx: t}, true
}

// docWriteTarget is what every document write starts with: the server must not be read-only,
// the collection {coll} must exist, and a transaction named in the headers must be usable. It
// has answered the request when ok is false.
func (s *Server) docWriteTarget(c *call) (*Collection, writeTarget, bool) {
	if s.store.readOnly.Load() {
		c.error(403, 1004, "read only")
		return nil, writeTarget{}, false
	}
	return s.collTarget(c)
}

// collTarget returns the collection {coll} and where to read or write it (see target); it has
// answered the request when ok is false.
func (s *Server) collTarget(c *call) (*Collection, writeTarget, bool) {
	coll := c.collection(c.param("coll"))
	if coll == nil {
		return nil, writeTarget{}, false
	}
	w, ok := s.target(c, coll)
	return coll, w, ok
}

func writeStatus(c *call, coll *Collection, o docOpts) int {
	if o.waitForSync {
		return 201
	}
	coll.mu.RLock()
	v, ok := coll.props["waitForSync"]
	coll.mu.RUnlock()
	if ok && string(v) == "true" {
		return 201
	}
	return 202
}

func (s *Server) routeDocuments(r *router) {
	// --- single document ---
	read := func(c *call) {
		coll, w, ok := s.collTarget(c)
		if !ok {
			return
		}
		var d *Doc
		if w.trx != nil {
			d = w.trx.visible(coll, c.param("key"))
		} else {
			d = coll.Lookup(c.param("key"))
		}
		if d == nil {
			c.fail(errDocumentNotFound())
			return
		}
		c.setHeader("Etag", `"`+d.Rev+`"`)
		if inm := c.header("If-None-Match"); inm != "" && strings.Trim(inm, `"`) == d.Rev {
			c.empty(304)
			return
		}
		if im := c.header("If-Match"); im != "" && strings.Trim(im, `"`) != d.Rev {
			c.fail(preconditionFailed(coll, d))
			return
		}
		if c.r.Method == "HEAD" {
			c.empty(200)
			return
		}
		c.raw(200, "application/json; charset=utf-8", d.Raw)
	}
	r.handle("GET", "/_api/document/{coll}/{key}", read)
	r.handle("GET", "/_api/document/{handle...}", func(c *call) {
		// "coll/key" escaped as one segment, or more segments: not found
		parts := strings.SplitN(c.param("handle"), "/", 2)
		if len(parts) != 2 {
			c.error(400, 1205, "illegal document identifier")
			return
		}
		c.params["coll"], c.params["key"] = parts[0], parts[1]
		read(c)
	})

	// RestDocumentHandler::insertDocument: the collection is the one suffix or ?collection=;
	// neither is 400/1204 (ERROR_ARANGO_COLLECTION_PARAMETER_MISSING), more suffixes 400/601
	// (ERROR_HTTP_SUPERFLUOUS_SUFFICES).
	r.handle("POST", "/_api/document/{coll}", func(c *call) { s.docBatchOrSingle(c, "insert") })
	r.handle("POST", "/_api/document/{coll}/{rest...}", func(c *call) {
		c.error(400, 601, "superfluous suffix, expecting /_api/document?collection=<identifier>")
	})
	r.handle("POST", "/_api/document", func(c *call) {
		c.params["coll"] = c.query("collection")
		if c.params["coll"] == "" {
			c.error(400, 1204, "'collection' is missing, expecting /_api/document POST /_api/document/<collection> or query parameter 'collection'")
			return
		}
		s.docBatchOrSingle(c, "insert")
	})
	r.handle("PUT", "/_api/document/{coll}", func(c *call) {
		// RestDocumentHandler::replaceDocument: the presence of onlyget, whatever its value,
		// makes the PUT a read of many documents (readManyDocuments).
		if c.queryHas("onlyget") {
			s.docBatchRead(c)
			return
		}
		s.docBatchOrSingle(c, "replace")
	})
	r.handle("PATCH", "/_api/document/{coll}", func(c *call) { s.docBatchOrSingle(c, "update") })
	r.handle("DELETE", "/_api/document/{coll}", func(c *call) { s.docBatchOrSingle(c, "remove") })

	single := func(op string) func(c *call) {
		return func(c *call) {
			coll, w, ok := s.docWriteTarget(c)
			if !ok {
				return
			}
			o := c.docOpts()
			var res docResult
			switch op {
			case "replace", "update":
				if rawKind(bytes.TrimSpace(c.body)) != 'o' {
					if len(bytes.TrimSpace(c.body)) == 0 || json.Valid(c.body) {
						c.error(400, 1227, "invalid document type")
					} else {
						c.error(400, 600, "VPackError error: Expecting '\"' or '}'")
					}
					return
				}
				res = s.modifyDoc(w, c.param("key"), c.body, o, op == "update")
			case "remove":
				res = s.removeDoc(w, c.param("key"), "", o)
			}
			if res.err != nil {
				if ae, ok := res.err.(*ArangoError); ok && ae.Code == 412 {
					if rev, ok := ae.Extra["_rev"].(string); ok {
						c.setHeader("Etag", `"`+rev+`"`)
					}
				}
				c.fail(res.err)
				return
			}
			status := writeStatus(c, coll, o)
			if op == "remove" && status == 201 {
				status = 200
			}
			c.setHeader("Etag", `"`+res.rev+`"`)
			c.location("/_api/document/" + coll.Name + "/" + res.key)
			if o.silent {
				c.raw(status, "application/json; charset=utf-8", []byte("{}"))
				return
			}
			c.raw(status, "application/json; charset=utf-8", res.render(coll, o))
		}
	}
	r.handle("PUT", "/_api/document/{coll}/{key}", single("replace"))
	r.handle("PATCH", "/_api/document/{coll}/{key}", single("update"))
	r.handle("DELETE", "/_api/document/{coll}/{key}", single("remove"))

	r.handle("POST", "/_api/import", func(c *call) { s.handleImport(c) })
	r.handle("GET", "/_api/edges/{coll}", s.readEdges) // edges_index.go
}

// docBatchOrSingle handles POST (insert, single object or array) and array PUT/PATCH/DELETE.
func (s *Server) docBatchOrSingle(c *call, op string) {
	coll, w, ok := s.docWriteTarget(c)
	if !ok {
		return
	}
	o := c.docOpts()
	body := bytes.TrimSpace(c.body)
	status := writeStatus(c, coll, o)
	if op == "remove" && status == 201 {
		status = 200
	}
	if rawKind(body) == 'o' && op == "insert" {
		res := s.insertDoc(w, body, o)
		if res.err != nil {
			c.fail(res.err)
			return
		}
		c.setHeader("Etag", `"`+res.rev+`"`)
		c.location("/_api/document/" + coll.Name + "/" + res.key)
		if o.silent {
			c.raw(status, "application/json; charset=utf-8", []byte("{}"))
			return
		}
		c.raw(status, "application/json; charset=utf-8", res.render(coll, o))
		return
	}
	if rawKind(body) != 'a' {
		if len(body) > 0 && !json.Valid(body) {
			c.error(400, 600, "VPackError error: Expecting '\"' or '}'")
			return
		}
		c.error(400, 1227, "invalid document type")
		return
	}
	var items [][]byte
	if err := scanArray(body, func(_ int, v []byte) error { items = append(items, v); return nil }); err != nil {
		c.error(400, 600, err.Error())
		return
	}
	var out bytes.Buffer
	out.WriteByte('[')
	errCounts := map[int]int{}
	first := true
	o.ifMatch = ""
	for _, it := range items {
		var res docResult
		switch op {
		case "insert":
			if s.cluster != nil && rawKind(it) == 'o' {
				res.err = s.cluster.shardKeyRule(coll, op, "", it) // cluster_routes.go: 1466
			}
			if res.err == nil {
				res = s.insertDoc(w, it, o)
			}
		case "replace", "update":
			if rawKind(it) != 'o' {
				res.err = newError(400, 1227, "invalid document type")
			} else {
				if s.cluster != nil {
					res.err = s.cluster.shardKeyRule(coll, op, "", it) // cluster_routes.go: 1469
				}
				if res.err == nil {
					res = s.modifyDoc(w, "", it, o, op == "update")
				}
			}
		case "remove":
			key, rev := "", ""
			switch rawKind(it) {
			case 's':
				key, _ = rawString(it)
				if i := strings.IndexByte(key, '/'); i >= 0 {
					if key[:i] != coll.Name {
						res.err = newError(400, 1213, "cross collection request not allowed")
					}
					key = key[i+1:]
				}
			case 'o':
				p, err := parseDoc(it)
				if err != nil {
					res.err = err
				} else {
					key, rev = p.key, p.rev
					if !p.hasKey {
						res.err = newError(400, 1226, "missing document key")
					}
				}
			default:
				res.err = newError(400, 1227, "invalid document type")
			}
			if res.err == nil {
				res = s.removeDoc(w, key, rev, o)
			}
		}
		if res.err != nil {
			ae, _ := res.err.(*ArangoError)
			if ae != nil {
				errCounts[ae.Num]++
			}
			if !first {
				out.WriteByte(',')
			}
			first = false
			out.Write(renderItemError(res.err))
			continue
		}
		if o.silent {
			continue
		}
		if !first {
			out.WriteByte(',')
		}
		first = false
		out.Write(res.render(coll, o))
	}
	out.WriteByte(']')
	if len(errCounts) > 0 {
		c.setHeader("X-Arango-Error-Codes", errorCodesHeader(errCounts))
	}
	c.raw(status, "application/json; charset=utf-8", out.Bytes())
}

func errorCodesHeader(m map[int]int) string {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, `"`+strconv.Itoa(k)+`":`+strconv.Itoa(m[k]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// docBatchRead handles PUT /_api/document/{coll}?onlyget=true, as
// RestDocumentHandler::readManyDocuments (arangod/RestHandler/RestDocumentHandler.cpp, 3.12):
// the body is an array of keys, _id strings or objects with _key (and _rev, checked unless
// ignoreRevs=true, the default); the answer is an array in the same order, a document or an
// error object ({"error":true,"errorNum":1202,...}) for each, with X-Arango-Error-Codes.
func (s *Server) docBatchRead(c *call) {
	coll, w, ok := s.collTarget(c)
	if !ok {
		return
	}
	ignoreRevs := c.qbool("ignoreRevs", true)
	body := bytes.TrimSpace(c.body)
	if rawKind(body) != 'a' {
		c.error(400, 1227, "invalid document type")
		return
	}
	var out bytes.Buffer
	out.WriteByte('[')
	errCounts := map[int]int{}
	n := 0
	err := scanArray(body, func(_ int, it []byte) error {
		if n > 0 {
			out.WriteByte(',')
		}
		n++
		key, rev := "", ""
		switch rawKind(it) {
		case 's':
			key, _ = rawString(it)
			if i := strings.IndexByte(key, '/'); i >= 0 {
				key = key[i+1:]
			}
		case 'o':
			p, err := parseDoc(it)
			if err == nil {
				key, rev = p.key, p.rev
			}
		}
		var d *Doc
		if validKey(key) {
			if w.trx != nil {
				d = w.trx.visible(coll, key)
			} else {
				d = coll.Lookup(key)
			}
		}
		if d == nil {
			errCounts[1202]++
			out.Write(renderItemError(errDocumentNotFound()))
			return nil
		}
		if !ignoreRevs && rev != "" && rev != d.Rev {
			errCounts[1200]++
			out.Write(renderItemError(newError(412, 1200, "conflict, _rev values do not match")))
			return nil
		}
		out.Write(d.Raw)
		return nil
	})
	if err != nil {
		c.error(400, 600, err.Error())
		return
	}
	out.WriteByte(']')
	if len(errCounts) > 0 {
		c.setHeader("X-Arango-Error-Codes", errorCodesHeader(errCounts))
	}
	c.raw(200, "application/json; charset=utf-8", out.Bytes())
}
