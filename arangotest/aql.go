package arangotest

import (
	"bytes"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A tiny AQL subset for /_api/cursor:
//
//	FOR x IN coll [FILTER x.a|DISTANCE(a,b,c,d) <op> value [&&|AND ...]]... [SORT x.a [ASC|DESC], ...] [LIMIT [o,] n] RETURN x | x.a
//	FOR i IN a..b [LIMIT ...] RETURN i
//	FOR v, e, p IN min..max OUTBOUND|INBOUND|ANY start GRAPH name RETURN … (aql_traversal.go)
//	RETURN LENGTH(coll) | COUNT(coll) | <literal> | DATE_NOW()
//
// with bind parameters (@v, @@coll). Anything else is rejected with 400 errorNum 1501 and
// a message saying that arangotest only supports this subset.

type aqlQuery struct {
	varName  string
	coll     string // collection name, or "" for a range
	from     int64
	to       int64
	filters  []aqlFilter
	sorts    []aqlSort
	offset   int64
	limit    int64 // -1 = none
	retPath  []string
	retVar   bool
	retExpr  []byte // RETURN <constant>
	lengthOf string
	trav     *aqlTraversal // FOR v, e, p IN … GRAPH … (aql_traversal.go)
	filtered int
	// usedIndex: the candidates came from the edge index (edgeIndexLookup), so that the
	// stats count them as scannedIndex instead of scannedFull.
	usedIndex bool
}

type aqlFilter struct {
	path []string
	op   string
	val  []byte // raw JSON
	// dist, when set, is the left side DISTANCE(lat1, lon1, lat2, lon2) instead of path.
	dist []aqlOperand
}

// aqlOperand is a function argument: a path of the loop variable or a constant.
type aqlOperand struct {
	path  []string
	val   []byte
	isVar bool
}

func (o aqlOperand) value(doc []byte) []byte {
	if !o.isVar {
		return o.val
	}
	v := lookupPath(doc, o.path)
	if v == nil {
		return []byte("null")
	}
	return v
}

// aqlEarthRadius is the radius DISTANCE uses (arangodb geo::kEarthRadiusInMeters).
const aqlEarthRadius = 6378137.0

// aqlDistance is AQL DISTANCE(lat1, lon1, lat2, lon2): the haversine distance in meters, or
// null when an argument is not a number.
func aqlDistance(args [][]byte) []byte {
	var f [4]float64
	for i, a := range args {
		if rawKind(a) != 'd' {
			return []byte("null")
		}
		v, err := strconv.ParseFloat(string(a), 64)
		if err != nil {
			return []byte("null")
		}
		f[i] = v * math.Pi / 180
	}
	dLat, dLon := f[2]-f[0], f[3]-f[1]
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(f[0])*math.Cos(f[2])*math.Sin(dLon/2)*math.Sin(dLon/2)
	d := 2 * aqlEarthRadius * math.Asin(math.Min(1, math.Sqrt(h)))
	return strconv.AppendFloat(nil, d, 'g', -1, 64)
}

// distanceCall parses DISTANCE(a, b, c, d) (the name already peeked); each argument is a path
// of the loop variable or a literal/bind value.
func (l *aqlLexer) distanceCall(varName string, bind map[string]json.RawMessage) ([]aqlOperand, bool) {
	l.next()
	if l.next() != "(" {
		return nil, false
	}
	var args []aqlOperand
	for {
		if p, ok := l.path(varName); ok {
			args = append(args, aqlOperand{path: p, isVar: true})
		} else {
			tok := l.next()
			if tok == "-" { // a negative literal split by the tokenizer
				tok += l.next()
			}
			v, ok := bindValue(tok, bind)
			if !ok {
				return nil, false
			}
			args = append(args, aqlOperand{val: v})
		}
		switch l.next() {
		case ",":
			continue
		case ")":
			return args, len(args) == 4
		}
		return nil, false
	}
}

type aqlSort struct {
	path []string
	desc bool
}

type aqlLexer struct {
	toks []string
	pos  int
}

func aqlTokenize(q string) ([]string, error) {
	var toks []string
	i := 0
	for i < len(q) {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '/' && i+1 < len(q) && q[i+1] == '/':
			for i < len(q) && q[i] != '\n' {
				i++
			}
		case c == '`' || c == '´':
			j := strings.IndexByte(q[i+1:], '`')
			if j < 0 {
				return nil, errBadParameter("unterminated name")
			}
			toks = append(toks, "`"+q[i+1:i+1+j])
			i += j + 2
		case c == '"' || c == '\'':
			j := i + 1
			var sb strings.Builder
			for j < len(q) && q[j] != c {
				if q[j] == '\\' && j+1 < len(q) {
					j++
				}
				sb.WriteByte(q[j])
				j++
			}
			if j >= len(q) {
				return nil, errBadParameter("unterminated string")
			}
			toks = append(toks, "\""+sb.String())
			i = j + 1
		case strings.HasPrefix(q[i:], ".."):
			toks = append(toks, "..")
			i += 2
		case strings.ContainsRune("=!<>&|", rune(c)):
			j := i + 1
			for j < len(q) && strings.ContainsRune("=<>&|", rune(q[j])) {
				j++
			}
			toks = append(toks, q[i:j])
			i = j
		case strings.ContainsRune("(),.[]{}:*", rune(c)):
			toks = append(toks, string(c))
			i++
		default:
			j := i
			for j < len(q) && (isAlnum(q[j]) || q[j] == '_' || q[j] == '@' || q[j] == '-' && j == i ||
				(q[j] == '.' && j > i && q[i] >= '0' && q[i] <= '9' && !(j+1 < len(q) && q[j+1] == '.'))) {
				j++
			}
			if j == i {
				return nil, errBadParameter("unexpected character '" + string(c) + "'")
			}
			toks = append(toks, q[i:j])
			i = j
		}
	}
	return toks, nil
}

func (l *aqlLexer) peek() string {
	if l.pos < len(l.toks) {
		return l.toks[l.pos]
	}
	return ""
}

func (l *aqlLexer) next() string {
	t := l.peek()
	l.pos++
	return t
}

func (l *aqlLexer) kw(k string) bool {
	if strings.EqualFold(l.peek(), k) {
		l.pos++
		return true
	}
	return false
}

func unsupported(query string) *ArangoError {
	return newError(400, 1501, "AQL: arangotest supports only a small AQL subset (FOR x IN coll [FILTER x.a == v] [SORT x.a] [LIMIT n] RETURN x|x.a; FOR i IN a..b RETURN i; RETURN LENGTH(coll)); cannot run query '"+query+"'")
}

// bindValue resolves a value token to raw JSON.
func bindValue(tok string, bind map[string]json.RawMessage) ([]byte, bool) {
	switch {
	case strings.HasPrefix(tok, "@"):
		v, ok := bind[tok[1:]]
		return v, ok
	case strings.HasPrefix(tok, "\""):
		return jsonString(tok[1:]), true
	case strings.EqualFold(tok, "true"), strings.EqualFold(tok, "false"), strings.EqualFold(tok, "null"):
		return []byte(strings.ToLower(tok)), true
	}
	if _, err := strconv.ParseFloat(tok, 64); err == nil {
		return []byte(tok), true
	}
	return nil, false
}

func (l *aqlLexer) path(varName string) ([]string, bool) {
	if l.peek() != varName {
		return nil, false
	}
	l.next()
	var p []string
	for l.peek() == "." {
		l.next()
		t := l.next()
		if t == "" {
			return nil, false
		}
		p = append(p, strings.TrimPrefix(t, "`"))
	}
	return p, true
}

func parseAQL(query string, bind map[string]json.RawMessage) (*aqlQuery, error) {
	toks, err := aqlTokenize(query)
	if err != nil {
		return nil, newError(400, 1501, "AQL: syntax error, "+err.Error())
	}
	if len(toks) == 0 {
		return nil, newError(400, 1502, "query is empty")
	}
	l := &aqlLexer{toks: toks}
	q := &aqlQuery{limit: -1}
	if l.kw("RETURN") {
		fn := strings.ToUpper(l.peek())
		if (fn == "LENGTH" || fn == "COUNT") && len(toks) == 5 && toks[2] == "(" && toks[4] == ")" {
			name := toks[3]
			if strings.HasPrefix(name, "@@") {
				v, ok := bind[name[1:]]
				s, _ := rawString(v)
				if !ok {
					return nil, newError(400, 1552, "no value specified for declared bind parameter '"+name[1:]+"'")
				}
				name = s
			}
			q.lengthOf = strings.TrimPrefix(name, "`")
			return q, nil
		}
		if fn == "DATE_NOW" && len(toks) == 4 {
			q.retExpr = []byte(strconv.FormatInt(time.Now().UnixMilli(), 10))
			return q, nil
		}
		if len(toks) == 2 {
			if v, ok := bindValue(toks[1], bind); ok {
				q.retExpr = v
				return q, nil
			}
		}
		return nil, unsupported(query)
	}
	if !l.kw("FOR") {
		return nil, unsupported(query)
	}
	q.varName = l.next()
	vars := []string{q.varName}
	for l.peek() == "," {
		l.next()
		vars = append(vars, l.next())
	}
	if !l.kw("IN") || len(vars) > 3 {
		return nil, unsupported(query)
	}
	if l.looksLikeTraversal() { // aql_traversal.go
		t, err := parseTraversal(query, l, vars, bind, q)
		q.trav = t
		return q, err
	}
	if len(vars) > 1 {
		return nil, unsupported(query)
	}
	src := l.next()
	if l.peek() == ".." {
		l.next()
		a, ok1 := bindValue(src, bind)
		b, ok2 := bindValue(l.next(), bind)
		if !ok1 || !ok2 {
			return nil, unsupported(query)
		}
		fa, err1 := strconv.ParseFloat(string(a), 64)
		fb, err2 := strconv.ParseFloat(string(b), 64)
		if err1 != nil || err2 != nil {
			return nil, unsupported(query)
		}
		q.from, q.to = int64(fa), int64(fb)
	} else {
		switch {
		case strings.HasPrefix(src, "@@"):
			v, ok := bind[src[1:]]
			if !ok {
				return nil, newError(400, 1552, "no value specified for declared bind parameter '"+src[1:]+"'")
			}
			s, _ := rawString(v)
			q.coll = s
		case strings.HasPrefix(src, "`"):
			q.coll = src[1:]
		default:
			q.coll = src
		}
		if q.coll == "" {
			return nil, unsupported(query)
		}
	}
	for l.pos < len(l.toks) {
		switch {
		case l.kw("FILTER"):
			for {
				var dist []aqlOperand
				p, ok := l.path(q.varName)
				if !ok && strings.EqualFold(l.peek(), "DISTANCE") {
					dist, ok = l.distanceCall(q.varName, bind)
				}
				if !ok {
					return nil, unsupported(query)
				}
				op := l.next()
				if strings.EqualFold(op, "IN") {
					op = "in"
				}
				switch op {
				case "==", "!=", "<", "<=", ">", ">=", "in":
				default:
					return nil, unsupported(query)
				}
				vt := l.next()
				v, ok := bindValue(vt, bind)
				if !ok {
					return nil, unsupported(query)
				}
				q.filters = append(q.filters, aqlFilter{path: p, op: op, val: v, dist: dist})
				if l.peek() == "&&" || strings.EqualFold(l.peek(), "AND") {
					l.next()
					continue
				}
				break
			}
		case l.kw("SORT"):
			for {
				p, ok := l.path(q.varName)
				if !ok {
					return nil, unsupported(query)
				}
				s := aqlSort{path: p}
				if l.kw("DESC") {
					s.desc = true
				} else {
					l.kw("ASC")
				}
				q.sorts = append(q.sorts, s)
				if l.peek() == "," {
					l.next()
					continue
				}
				break
			}
		case l.kw("LIMIT"):
			a, ok := bindValue(l.next(), bind)
			if !ok {
				return nil, unsupported(query)
			}
			n, err := strconv.ParseInt(string(a), 10, 64)
			if err != nil {
				return nil, unsupported(query)
			}
			if l.peek() == "," {
				l.next()
				b, ok := bindValue(l.next(), bind)
				if !ok {
					return nil, unsupported(query)
				}
				m, err := strconv.ParseInt(string(b), 10, 64)
				if err != nil {
					return nil, unsupported(query)
				}
				q.offset, q.limit = n, m
			} else {
				q.limit = n
			}
		case l.kw("RETURN"):
			p, ok := l.path(q.varName)
			if !ok || l.pos != len(l.toks) {
				return nil, unsupported(query)
			}
			if len(p) == 0 {
				q.retVar = true
			} else {
				q.retPath = p
			}
			return q, nil
		default:
			return nil, unsupported(query)
		}
	}
	return nil, unsupported(query)
}

// typeRank orders values as AQL does: null < bool < number < string < array < object.
func typeRank(v []byte) int {
	switch rawKind(v) {
	case 0, 'n':
		return 0
	case 'b':
		return 1
	case 'd':
		return 2
	case 's':
		return 3
	case 'a':
		return 4
	}
	return 5
}

func compareRaw(a, b []byte) int {
	ra, rb := typeRank(a), typeRank(b)
	if ra != rb {
		if ra < rb {
			return -1
		}
		return 1
	}
	switch ra {
	case 0:
		return 0
	case 1:
		if string(a) == string(b) {
			return 0
		}
		if string(a) == "false" {
			return -1
		}
		return 1
	case 2:
		fa, _ := strconv.ParseFloat(string(a), 64)
		fb, _ := strconv.ParseFloat(string(b), 64)
		switch {
		case fa < fb:
			return -1
		case fa > fb:
			return 1
		}
		return 0
	case 3:
		sa, _ := rawString(a)
		sb, _ := rawString(b)
		return strings.Compare(sa, sb)
	}
	return strings.Compare(canonicalValue(a), canonicalValue(b))
}

func (f aqlFilter) match(doc []byte) bool {
	var v []byte
	if f.dist != nil {
		args := make([][]byte, len(f.dist))
		for i, a := range f.dist {
			args[i] = a.value(doc)
		}
		v = aqlDistance(args)
	} else {
		v = lookupPath(doc, f.path)
	}
	if v == nil {
		v = []byte("null")
	}
	switch f.op {
	case "==":
		return compareRaw(v, f.val) == 0
	case "!=":
		return compareRaw(v, f.val) != 0
	case "<":
		return compareRaw(v, f.val) < 0
	case "<=":
		return compareRaw(v, f.val) <= 0
	case ">":
		return compareRaw(v, f.val) > 0
	case ">=":
		return compareRaw(v, f.val) >= 0
	case "in":
		found := false
		_ = scanArray(f.val, func(_ int, e []byte) error {
			if compareRaw(v, e) == 0 {
				found = true
			}
			return nil
		})
		return found
	}
	return false
}

// run executes the query and returns the result values as raw JSON.
func (q *aqlQuery) run(s *Server, c *call) ([][]byte, int, error) {
	if q.retExpr != nil {
		return [][]byte{q.retExpr}, 0, nil
	}
	if q.lengthOf != "" {
		coll := c.db.Collection(q.lengthOf)
		if coll == nil {
			return nil, 0, newError(404, 1203, "AQL: collection or view not found: "+q.lengthOf+" (while parsing)")
		}
		return [][]byte{[]byte(strconv.Itoa(s.countFor(c, coll)))}, 0, nil
	}
	if q.trav != nil {
		out, scanned, err := s.runTraversal(c.db, q.trav)
		return q.window(out), scanned, err
	}
	var out [][]byte
	if q.coll == "" {
		step := int64(1)
		if q.to < q.from {
			step = -1
		}
		for i := q.from; ; i += step {
			out = append(out, []byte(strconv.FormatInt(i, 10)))
			if i == q.to || len(out) > 10_000_000 {
				break
			}
		}
		return q.window(out), 0, nil
	}
	coll := c.db.Collection(q.coll)
	if coll == nil {
		if c.db.View(q.coll) != nil {
			return nil, 0, unsupported("FOR over a view")
		}
		return nil, 0, newError(404, 1203, "AQL: collection or view not found: "+q.coll+" (while parsing)")
	}
	var docs []*Doc
	skip := -1 // the filter the edge index answered
	if t := s.trxFor(c); t != nil {
		if err := t.usable(); err != nil {
			return nil, 0, err
		}
		docs = t.visibleDocs(coll)
	} else if d, fi, ok := q.edgeIndexLookup(coll); ok {
		docs = d
		skip = fi
	} else {
		docs = coll.Snapshot()
	}
	scanned := len(docs)
	sel := make([]*Doc, 0, len(docs))
	for _, d := range docs {
		ok := true
		for i, f := range q.filters {
			if i != skip && !f.match(d.Raw) {
				ok = false
				break
			}
		}
		if ok {
			sel = append(sel, d)
		}
	}
	q.filtered = len(docs) - len(sel)
	if len(q.sorts) > 0 {
		sort.SliceStable(sel, func(i, j int) bool {
			for _, s := range q.sorts {
				a := lookupPath(sel[i].Raw, s.path)
				b := lookupPath(sel[j].Raw, s.path)
				cmp := compareRaw(a, b)
				if cmp != 0 {
					if s.desc {
						return cmp > 0
					}
					return cmp < 0
				}
			}
			return false
		})
	}
	for _, d := range sel {
		if q.retVar {
			out = append(out, d.Raw)
			continue
		}
		if len(q.retPath) == 1 && q.retPath[0] == "_key" {
			// RETURN d._key comes from the primary index without reading the document, as
			// arangod's optimizer does (rule reduce-extraction-to-projection).
			k, _ := json.Marshal(d.Key)
			out = append(out, k)
			continue
		}
		v := lookupPath(d.Raw, q.retPath)
		if v == nil {
			v = []byte("null")
		}
		out = append(out, v)
	}
	return q.window(out), scanned, nil
}

// edgeIndexLookup is the optimizer's use of the edge index (arangod's "use-indexes" rule
// with RocksDBEdgeIndex::supportsFilterCondition): on an edge collection, a filter
// e._from == v, e._to == v, e._from IN [...] or e._to IN [...] reads the candidates from the
// edge index (edges_index.go) instead of scanning the collection; the other filters are
// applied to them as usual. The candidates are in the order of the values, each edge once.
func (q *aqlQuery) edgeIndexLookup(coll *Collection) ([]*Doc, int, bool) {
	if coll.Type != 3 {
		return nil, -1, false
	}
	for fi, f := range q.filters {
		if f.dist != nil || len(f.path) != 1 || (f.path[0] != "_from" && f.path[0] != "_to") || (f.op != "==" && f.op != "in") {
			continue
		}
		var vals []string
		if f.op == "==" {
			if v, ok := rawString(f.val); ok {
				vals = append(vals, v)
			}
		} else if rawKind(f.val) == 'a' {
			_ = scanArray(f.val, func(_ int, e []byte) error {
				if v, ok := rawString(e); ok {
					vals = append(vals, v)
				}
				return nil
			})
		} else {
			continue
		}
		ix := edgeIndexOf(coll)
		by := ix.from
		if f.path[0] == "_to" {
			by = ix.to
		}
		seen := map[*Doc]bool{}
		var docs []*Doc
		for _, v := range vals {
			for _, d := range by[v] {
				if !seen[d] {
					seen[d] = true
					docs = append(docs, d)
				}
			}
		}
		q.usedIndex = true
		return docs, fi, true
	}
	return nil, -1, false
}

func (q *aqlQuery) window(out [][]byte) [][]byte {
	if q.offset > 0 {
		if q.offset >= int64(len(out)) {
			return nil
		}
		out = out[q.offset:]
	}
	if q.limit >= 0 && q.limit < int64(len(out)) {
		out = out[:q.limit]
	}
	return out
}

// --- cursors ----------------------------------------------------------------------------

type cursor struct {
	mu        sync.Mutex
	id        uint64
	db        *Database
	results   [][]byte
	pos       int
	batchSize int
	count     int
	hasCount  bool
	extra     []byte
	batchID   int    // id of the last batch delivered
	lastBatch []byte // last batch body (for retries)
	ttl       time.Duration
	expires   time.Time
}

type cursorRegistry struct {
	mu sync.Mutex
	m  map[uint64]*cursor
}

func newCursorRegistry() *cursorRegistry { return &cursorRegistry{m: map[uint64]*cursor{}} }

func (r *cursorRegistry) expire(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, cur := range r.m {
		cur.mu.Lock()
		expired := now.After(cur.expires)
		cur.mu.Unlock()
		if expired {
			delete(r.m, id)
		}
	}
}

// batch renders the next batch (lock held).
func (cur *cursor) nextBatch(status int) []byte {
	end := cur.pos + cur.batchSize
	if end > len(cur.results) {
		end = len(cur.results)
	}
	part := cur.results[cur.pos:end]
	cur.pos = end
	cur.batchID++
	hasMore := cur.pos < len(cur.results)
	var buf bytes.Buffer
	buf.WriteString(`{"result":[`)
	for i, v := range part {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(v)
	}
	buf.WriteString(`],"hasMore":`)
	buf.WriteString(strconv.FormatBool(hasMore))
	if hasMore || cur.id != 0 {
		buf.WriteString(`,"id":"` + strconv.FormatUint(cur.id, 10) + `"`)
	}
	if cur.hasCount {
		buf.WriteString(`,"count":` + strconv.Itoa(cur.count))
	}
	buf.WriteString(`,"extra":`)
	buf.Write(cur.extra)
	buf.WriteString(`,"cached":false`)
	if hasMore {
		buf.WriteString(`,"nextBatchId":"` + strconv.Itoa(cur.batchID+1) + `"`)
	}
	buf.WriteString(`,"error":false,"code":` + strconv.Itoa(status) + `}`)
	cur.lastBatch = buf.Bytes()
	return cur.lastBatch
}

func optimizerRules(rules []string) []string {
	on := true
	for _, r := range rules {
		switch r {
		case "-all", "-use-indexes":
			on = false
		case "+all", "+use-indexes":
			on = true
		}
	}
	out := []string{"move-calculations-up", "move-filters-up"}
	if on {
		out = append(out, "use-indexes", "remove-filter-covered-by-index", "remove-unnecessary-calculations-2")
	}
	return out
}

func (s *Server) routeCursor(r *router) {
	r.handle("POST", "/_api/cursor", func(c *call) {
		var in struct {
			Query     string                     `json:"query"`
			BindVars  map[string]json.RawMessage `json:"bindVars"`
			Count     bool                       `json:"count"`
			BatchSize int                        `json:"batchSize"`
			TTL       float64                    `json:"ttl"`
			Options   struct {
				FullCount  bool `json:"fullCount"`
				Profile    any  `json:"profile"`
				AllowRetry bool `json:"allowRetry"`
				Optimizer  struct {
					Rules []string `json:"rules"`
				} `json:"optimizer"`
			} `json:"options"`
		}
		if len(bytes.TrimSpace(c.body)) == 0 {
			c.error(400, 600, "request body is empty")
			return
		}
		if err := json.Unmarshal(c.body, &in); err != nil {
			c.error(400, 600, "VPackError error: "+err.Error())
			return
		}
		if strings.TrimSpace(in.Query) == "" {
			c.error(400, 1502, "query is empty")
			return
		}
		q, err := parseAQL(in.Query, in.BindVars)
		if err != nil {
			c.fail(err)
			return
		}
		start := time.Now()
		results, scanned, err := q.run(s, c)
		if err != nil {
			c.fail(err)
			return
		}
		scannedFull, scannedIndex := scanned, 0
		if q.usedIndex {
			scannedFull, scannedIndex = 0, scanned
		}
		stats := map[string]any{"writesExecuted": 0, "writesIgnored": 0, "documentLookups": 0, "seeks": 0,
			"scannedFull": scannedFull, "scannedIndex": scannedIndex, "cursorsCreated": 0, "cursorsRearmed": 0, "cacheHits": 0,
			"cacheMisses": 0, "filtered": q.filtered, "httpRequests": 0,
			"executionTime": time.Since(start).Seconds(), "peakMemoryUsage": 0, "intermediateCommits": 0}
		if in.Options.FullCount {
			stats["fullCount"] = len(results)
		}
		extra := map[string]any{"warnings": []any{}, "stats": stats}
		profile := 0
		switch p := in.Options.Profile.(type) {
		case bool:
			if p {
				profile = 1
			}
		case float64:
			profile = int(p)
		}
		if profile >= 1 {
			extra["profile"] = map[string]any{"initializing": 0, "parsing": 0, "optimizing ast": 0, "loading collections": 0,
				"instantiating plan": 0, "optimizing plan": 0, "instantiating executors": 0, "executing": time.Since(start).Seconds(), "finalizing": 0}
		}
		if profile >= 2 {
			extra["plan"] = map[string]any{"nodes": []any{}, "rules": optimizerRules(in.Options.Optimizer.Rules),
				"collections": []any{}, "variables": []any{}, "estimatedCost": float64(len(results)), "estimatedNrItems": len(results),
				"isModificationQuery": false}
		}
		bs := in.BatchSize
		if bs <= 0 {
			bs = 1000
		}
		ttl := time.Duration(in.TTL * float64(time.Second))
		if ttl <= 0 {
			ttl = 30 * time.Second
		}
		cur := &cursor{db: c.db, results: results, batchSize: bs, count: len(results), hasCount: in.Count,
			extra: mustJSON(extra), ttl: ttl, expires: time.Now().Add(ttl)}
		if len(results) > bs || in.Options.AllowRetry {
			cur.id = s.store.NextTick()
			s.cursors.mu.Lock()
			s.cursors.m[cur.id] = cur
			s.cursors.mu.Unlock()
		}
		cur.mu.Lock()
		body := cur.nextBatch(201)
		done := cur.pos >= len(cur.results)
		cur.mu.Unlock()
		if done && !in.Options.AllowRetry && cur.id != 0 {
			s.cursors.mu.Lock()
			delete(s.cursors.m, cur.id)
			s.cursors.mu.Unlock()
		}
		c.raw(201, "application/json; charset=utf-8", body)
	})
	next := func(c *call) {
		id, _ := strconv.ParseUint(c.param("id"), 10, 64)
		s.cursors.mu.Lock()
		cur := s.cursors.m[id]
		s.cursors.mu.Unlock()
		if cur == nil || cur.db != c.db {
			c.error(404, 1600, "cursor not found")
			return
		}
		cur.mu.Lock()
		defer cur.mu.Unlock()
		cur.expires = time.Now().Add(cur.ttl)
		if b := c.param("batch"); b != "" {
			n, _ := strconv.Atoi(b)
			if n == cur.batchID && cur.lastBatch != nil {
				c.raw(200, "application/json; charset=utf-8", bytes.Replace(cur.lastBatch, []byte(`"code":201`), []byte(`"code":200`), 1))
				return
			}
			if n != cur.batchID+1 {
				c.error(400, 400, "batchId "+b+" is not the current or next batch")
				return
			}
		}
		if cur.pos >= len(cur.results) && cur.batchID > 0 && c.param("batch") == "" {
			c.error(404, 1600, "cursor not found")
			return
		}
		c.raw(200, "application/json; charset=utf-8", cur.nextBatch(200))
	}
	r.handle("POST", "/_api/cursor/{id}", next)
	r.handle("PUT", "/_api/cursor/{id}", next)
	r.handle("POST", "/_api/cursor/{id}/{batch}", next)
	r.handle("DELETE", "/_api/cursor/{id}", func(c *call) {
		id, _ := strconv.ParseUint(c.param("id"), 10, 64)
		s.cursors.mu.Lock()
		cur := s.cursors.m[id]
		delete(s.cursors.m, id)
		s.cursors.mu.Unlock()
		if cur == nil {
			c.error(404, 1600, "cursor not found")
			return
		}
		c.ok(202, map[string]any{"id": c.param("id")})
	})
}
