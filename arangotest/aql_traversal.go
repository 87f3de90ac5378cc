package arangotest

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// Graph traversals in the AQL subset (named graphs only):
//
//	FOR v[, e[, p]] IN [min[..max]] OUTBOUND|INBOUND|ANY "coll/key"|@start GRAPH "name"|@graph
//	    [LIMIT [o,] n]
//	    RETURN v|e|p[.attr…] | CONCAT_SEPARATOR(sep, p.vertices[*].attr | p.edges[*].attr)
//
// Depth-first, as arangod's default traversal: edges in storage order of the graph's edge
// collections (in edge definition order), an edge at most once per path (uniqueEdges "path"),
// vertices may repeat (uniqueVertices "none"). Depth defaults to 1..1. A vertex that does not
// exist is null, as arangod yields it (with a warning there).

type aqlTraversal struct {
	vars     []string // v, e, p (1 to 3)
	min, max int
	dir      string // OUTBOUND, INBOUND, ANY
	start    string // vertex id
	graph    string
	// RETURN: a variable with an attribute path, or CONCAT_SEPARATOR over p.vertices/p.edges.
	retVar    string
	retPath   []string
	concatSep string
	concatOf  string // "vertices" or "edges"; "" = not CONCAT_SEPARATOR
}

var aqlDirections = map[string]bool{"OUTBOUND": true, "INBOUND": true, "ANY": true}

// looksLikeTraversal reports whether the tokens after IN start a traversal.
func (l *aqlLexer) looksLikeTraversal() bool {
	at := func(i int) string {
		if l.pos+i < len(l.toks) {
			return strings.ToUpper(l.toks[l.pos+i])
		}
		return ""
	}
	return aqlDirections[at(0)] || aqlDirections[at(1)] || (at(1) == ".." && aqlDirections[at(3)])
}

func aqlTravString(tok string, bind map[string]json.RawMessage) (string, bool) {
	v, ok := bindValue(tok, bind)
	if !ok || rawKind(v) != 's' {
		return "", false
	}
	return rawString(v)
}

// parseTraversal parses from the depth range (after IN) to the end of the query.
func parseTraversal(query string, l *aqlLexer, vars []string, bind map[string]json.RawMessage, q *aqlQuery) (*aqlTraversal, error) {
	t := &aqlTraversal{vars: vars, min: 1, max: 1}
	depth := func(tok string) (int, bool) {
		v, ok := bindValue(tok, bind)
		if !ok {
			return 0, false
		}
		n, err := strconv.Atoi(string(v))
		return n, err == nil && n >= 0
	}
	if !aqlDirections[strings.ToUpper(l.peek())] {
		n, ok := depth(l.next())
		if !ok {
			return nil, unsupported(query)
		}
		t.min, t.max = n, n
		if l.peek() == ".." {
			l.next()
			if t.max, ok = depth(l.next()); !ok || t.max < t.min {
				return nil, unsupported(query)
			}
		}
	}
	t.dir = strings.ToUpper(l.next())
	var ok bool
	if t.start, ok = aqlTravString(l.next(), bind); !ok || !aqlDirections[t.dir] {
		return nil, unsupported(query)
	}
	if !l.kw("GRAPH") {
		return nil, unsupported(query)
	}
	if t.graph, ok = aqlTravString(l.next(), bind); !ok {
		return nil, unsupported(query)
	}
	for l.kw("LIMIT") {
		a, ok := bindValue(l.next(), bind)
		n, err := strconv.ParseInt(string(a), 10, 64)
		if !ok || err != nil {
			return nil, unsupported(query)
		}
		q.limit = n
		if l.peek() == "," {
			l.next()
			b, ok := bindValue(l.next(), bind)
			m, err := strconv.ParseInt(string(b), 10, 64)
			if !ok || err != nil {
				return nil, unsupported(query)
			}
			q.offset, q.limit = n, m
		}
	}
	if !l.kw("RETURN") {
		return nil, unsupported(query)
	}
	if strings.EqualFold(l.peek(), "CONCAT_SEPARATOR") {
		l.next()
		if l.next() != "(" {
			return nil, unsupported(query)
		}
		if t.concatSep, ok = aqlTravString(l.next(), bind); !ok || l.next() != "," || len(vars) < 3 {
			return nil, unsupported(query)
		}
		p, ok := l.path(vars[2])
		if !ok || len(p) != 1 || (p[0] != "vertices" && p[0] != "edges") || l.next() != "[" || l.next() != "*" || l.next() != "]" {
			return nil, unsupported(query)
		}
		t.concatOf = p[0]
		for l.peek() == "." {
			l.next()
			a := l.next()
			if a == "" || a == ")" {
				return nil, unsupported(query)
			}
			t.retPath = append(t.retPath, strings.TrimPrefix(a, "`"))
		}
		if l.next() != ")" || l.pos != len(l.toks) {
			return nil, unsupported(query)
		}
		return t, nil
	}
	for _, v := range vars {
		if p, ok := l.path(v); ok {
			if l.pos != len(l.toks) {
				return nil, unsupported(query)
			}
			t.retVar, t.retPath = v, p
			return t, nil
		}
	}
	return nil, unsupported(query)
}

type travEdge struct {
	raw      []byte
	from, to string
}

// runTraversal executes t in db.
func (s *Server) runTraversal(db *Database, t *aqlTraversal) ([][]byte, int, error) {
	g, _ := s.loadGraph(db, t.graph)
	if g == nil {
		return nil, 0, newError(404, 1924, "graph '"+t.graph+"' not found")
	}
	var edges []travEdge
	seen := map[string]bool{}
	for _, e := range g.EdgeDefinitions {
		coll := db.Collection(e.Collection)
		if coll == nil || seen[e.Collection] {
			continue
		}
		seen[e.Collection] = true
		for _, d := range coll.Snapshot() {
			if p, err := parseDoc(d.Raw); err == nil {
				edges = append(edges, travEdge{raw: d.Raw, from: p.from, to: p.to})
			}
		}
	}
	vertex := func(id string) []byte {
		i := strings.IndexByte(id, '/')
		if i < 0 {
			return []byte("null")
		}
		if coll := db.Collection(id[:i]); coll != nil {
			if d := coll.Lookup(id[i+1:]); d != nil {
				return d.Raw
			}
		}
		return []byte("null")
	}
	var out [][]byte
	var pathV, pathE [][]byte
	onPath := map[int]bool{}
	var walk func(id string, depth int)
	walk = func(id string, depth int) {
		if depth >= t.min {
			out = append(out, t.result(pathV, pathE))
		}
		if depth == t.max || len(out) > 1_000_000 {
			return
		}
		for i, e := range edges {
			if onPath[i] {
				continue
			}
			next := ""
			switch {
			case (t.dir == "OUTBOUND" || t.dir == "ANY") && e.from == id:
				next = e.to
			case (t.dir == "INBOUND" || t.dir == "ANY") && e.to == id:
				next = e.from
			default:
				continue
			}
			onPath[i] = true
			pathV, pathE = append(pathV, vertex(next)), append(pathE, e.raw)
			walk(next, depth+1)
			pathV, pathE = pathV[:len(pathV)-1], pathE[:len(pathE)-1]
			delete(onPath, i)
		}
	}
	start := vertex(t.start)
	if string(start) == "null" {
		return nil, len(edges), nil // arangod: a start vertex that does not exist gives no paths
	}
	pathV = append(pathV, start)
	walk(t.start, 0)
	return out, len(edges), nil
}

// result is the RETURN value for the current path.
func (t *aqlTraversal) result(pathV, pathE [][]byte) []byte {
	if t.concatOf != "" {
		list := pathV
		if t.concatOf == "edges" {
			list = pathE
		}
		var parts []string
		for _, d := range list {
			v := lookupPath(d, t.retPath)
			if v == nil || rawKind(v) == 'n' || rawKind(v) == 0 {
				continue // CONCAT_SEPARATOR skips null
			}
			if rawKind(v) == 's' {
				s, _ := rawString(v)
				parts = append(parts, s)
			} else {
				var b bytes.Buffer
				_ = json.Compact(&b, v)
				parts = append(parts, b.String())
			}
		}
		return mustJSON(strings.Join(parts, t.concatSep))
	}
	var v []byte
	switch t.retVar {
	case t.vars[0]:
		v = pathV[len(pathV)-1]
	case varAt(t.vars, 1):
		if len(pathE) == 0 {
			v = []byte("null")
		} else {
			v = pathE[len(pathE)-1]
		}
	default:
		var b bytes.Buffer
		b.WriteString(`{"edges":[`)
		b.Write(bytes.Join(pathE, []byte(",")))
		b.WriteString(`],"vertices":[`)
		b.Write(bytes.Join(pathV, []byte(",")))
		b.WriteString(`]}`)
		v = b.Bytes()
	}
	if len(t.retPath) > 0 {
		if v = lookupPath(v, t.retPath); v == nil {
			v = []byte("null")
		}
	}
	return v
}

func varAt(vars []string, i int) string {
	if i < len(vars) {
		return vars[i]
	}
	return "\x00"
}
