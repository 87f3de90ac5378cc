package seed

import (
	"container/heap"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/arangobackup/godump/client"
	"github.com/arangobackup/godump/dump"
)

// Report says what was taken, per collection and why.
type Report struct {
	Database        string              `json:"database"`
	OutputDirectory string              `json:"outputDirectory"`
	Seed            string              `json:"seed"`
	Collections     []*CollectionReport `json:"collections"`
	Documents       int64               `json:"documents"`
	Requests        int64               `json:"requests"`
	Warnings        []string            `json:"warnings"`
	Seconds         float64             `json:"seconds"`
}

// CollectionReport is one collection of the export.
type CollectionReport struct {
	Name      string    `json:"name"`
	Type      string    `json:"type"` // "document" or "edge"
	Documents int64     `json:"documents"`
	Reasons   []*Reason `json:"reasons"`
	Masked    bool      `json:"masked,omitempty"`
	MaskKeys  bool      `json:"maskedKeys,omitempty"`
}

// Reason is why some of a collection's documents were taken: each document counts once, under
// the first reason that took it.
type Reason struct {
	Why       string `json:"why"`
	Documents int64  `json:"documents"`
}

type docID struct{ coll, key string }

// entry is a document taken (where its store holds it) and the reason that took it.
type entry struct {
	ref     docRef
	why     *Reason
	checked bool // its edge ends and references were taken
}

func (d docID) String() string { return d.coll + "/" + d.key }

func parseID(s string) (docID, bool) {
	c, k, ok := strings.Cut(s, "/")
	if !ok || c == "" || k == "" {
		return docID{}, false
	}
	return docID{c, k}, true
}

// exporter holds one export's state. Documents are held as the server sent them, packed in
// one store per collection, until their collection is written: the memory is about that of
// the slice, and each collection's is freed once it is written.
type exporter struct {
	conn     *client.Conn
	db       string
	o        Options
	inv      *inventory
	maskings *dump.Maskings
	requests atomic.Int64
	clientID string // serverId of the replication batch

	docs     map[string]map[string]entry   // collection -> key -> document
	stores   map[string]*store             // collection -> its documents' bytes
	reasonOf map[string]map[string]*Reason // collection -> why -> reason
	order    map[string][]*Reason          // collection -> reasons in the order they appeared
	included map[string]bool               // collections in the export (structure written)
	warnings []string
	mu       sync.Mutex
	held     int64 // bytes counted in the memory limit (account)
}

// Run makes the seed export described by o from the database o.Database of conn.
func Run(ctx context.Context, conn *client.Conn, o Options) (*Report, error) {
	start := time.Now()
	defer tightGC()()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o.Collections = maps.Clone(o.Collections) // --others whole adds to it
	if o.Collections == nil {
		o.Collections = map[string]*Start{}
	}
	db := o.Database
	if db == "" {
		db = conn.Database
	}
	x := &exporter{conn: conn, db: db, o: o, docs: map[string]map[string]entry{}, stores: map[string]*store{},
		reasonOf: map[string]map[string]*Reason{}, order: map[string][]*Reason{}, included: map[string]bool{},
		clientID: strconv.FormatUint(rand.Uint64N(1<<53)+1, 10)}
	if o.Maskings != "" {
		m, err := dump.LoadMaskings(o.Maskings)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		if o.Seed != "" {
			m.SetSeed(o.Seed)
		}
		x.maskings = m
	}
	inv, err := x.readInventory(ctx)
	if err != nil {
		return nil, err
	}
	x.inv = inv
	defer func() { holdMemory(-x.held) }() // gives back what is still counted, whatever happened
	plan, err := x.plan(ctx)
	if err != nil {
		return nil, err
	}
	if err := x.choose(ctx, plan); err != nil {
		return nil, err
	}
	if err := x.close(ctx, plan); err != nil {
		return nil, err
	}
	rep, err := x.write(ctx)
	if err != nil {
		return nil, err
	}
	rep.Requests = x.requests.Load()
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// traversal is one edge collection followed: in a direction, to a depth, from vertices of
// the collections allowed (nil: any).
type traversal struct {
	edges string
	dir   string
	depth int
	from  map[string]bool // vertex collections the traversal starts from (graph definitions)
	via   string          // "graph social" or ""
}

type plan struct {
	starts   []string // start collections, sorted
	trav     []traversal
	maxDepth int
	refs     map[string][]Reference // by collection
}

func (x *exporter) coll(name, what string) (*collInfo, error) {
	c := x.inv.collections[name]
	if c == nil {
		return nil, configErr("%s: collection %s not found in database %s", what, name, x.db)
	}
	return c, nil
}

// plan checks the configuration against the database and resolves graphs and "others".
func (x *exporter) plan(ctx context.Context) (*plan, error) {
	p := &plan{refs: map[string][]Reference{}}
	named := map[string]bool{}
	for name := range x.o.Collections {
		if _, err := x.coll(name, "start"); err != nil {
			return nil, err
		}
		p.starts = append(p.starts, name)
		named[name] = true
	}
	for _, f := range x.o.Follow {
		c, err := x.coll(f.Edges, "follow")
		if err != nil {
			return nil, err
		}
		if c.Type != 3 {
			return nil, configErr("follow: collection %s is not an edge collection", f.Edges)
		}
		p.trav = append(p.trav, traversal{edges: f.Edges, dir: f.Direction, depth: f.Depth})
		named[f.Edges] = true
	}
	for _, g := range x.o.Graphs {
		defs, err := x.graphEdges(ctx, g.Graph)
		if err != nil {
			return nil, err
		}
		for _, d := range defs {
			if _, err := x.coll(d.Collection, "graph "+g.Graph); err != nil {
				return nil, err
			}
			from := map[string]bool{}
			if g.Direction != "in" {
				for _, v := range d.From {
					from[v] = true
				}
			}
			if g.Direction != "out" {
				for _, v := range d.To {
					from[v] = true
				}
			}
			for _, v := range append(slices.Clone(d.From), d.To...) {
				named[v] = true
			}
			p.trav = append(p.trav, traversal{edges: d.Collection, dir: g.Direction, depth: g.Depth, from: from, via: "graph " + g.Graph})
			named[d.Collection] = true
		}
	}
	for _, t := range p.trav {
		p.maxDepth = max(p.maxDepth, t.depth)
	}
	for _, r := range x.o.References {
		if _, err := x.coll(r.Collection, "reference "+r.String()); err != nil {
			return nil, err
		}
		named[r.Collection] = true
		if r.Target != "" {
			if _, err := x.coll(r.Target, "reference "+r.String()); err != nil {
				return nil, err
			}
			named[r.Target] = true
		}
		p.refs[r.Collection] = append(p.refs[r.Collection], r)
	}
	for coll := range x.o.Unmasked {
		if _, err := x.coll(coll, "unmasked"); err != nil {
			return nil, err
		}
	}
	if x.o.Others == OthersWhole {
		for name := range x.inv.collections {
			if !named[name] {
				x.o.Collections[name] = &Start{Whole: true}
				p.starts = append(p.starts, name)
			}
		}
	}
	sort.Strings(p.starts)
	for _, name := range p.starts {
		if err := x.maskingAllows(name); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// maskingAllows refuses a collection the export needs but the maskings exclude or reduce to
// their structure: the slice would not be self-consistent.
func (x *exporter) maskingAllows(coll string) error {
	if x.maskings == nil {
		return nil
	}
	switch t := x.maskings.For(coll).Type; t {
	case dump.MaskExclude, dump.MaskStructure:
		how := "excludes"
		if t == dump.MaskStructure {
			how = "keeps only the structure of"
		}
		if !x.maskings.Named(coll) {
			how = "has no entry (and no \"*\") for"
		}
		return configErr("maskings file %s %s collection %s, which the export needs: give it a \"masked\" or \"full\" entry", x.o.Maskings, how, coll)
	}
	if x.o.StrictMaskings && !x.maskings.Named(coll) {
		return configErr("strict maskings: collection %s is not covered by a rule of its own in %s", coll, x.o.Maskings)
	}
	if r := x.maskings.KeyRule(coll); r != nil && r.Function != "randomString" {
		return configErr("maskings file %s: collection %s: _key can only be masked with randomString (keys are replaced by a keyed hash), not %s", x.o.Maskings, coll, r.Function)
	}
	return nil
}

func (x *exporter) warn(format string, a ...any) {
	x.mu.Lock()
	x.warnings = append(x.warnings, fmt.Sprintf(format, a...))
	x.mu.Unlock()
}

func (x *exporter) has(id docID) bool {
	_, ok := x.docs[id.coll][id.key]
	return ok
}

// storeOf returns the store of a collection's documents.
func (x *exporter) storeOf(coll string) *store {
	s := x.stores[coll]
	if s == nil {
		s = &store{}
		x.stores[coll] = s
	}
	return s
}

// raw returns a document taken as the server sent it.
func (x *exporter) raw(coll string, e entry) []byte { return x.stores[coll].get(e.ref) }

// add takes a document already in the collection's store (first reason wins) and reports
// whether it was new.
func (x *exporter) add(coll, key string, ref docRef, why string) bool {
	m := x.docs[coll]
	if m == nil {
		m = map[string]entry{}
		x.docs[coll] = m
	}
	if _, ok := m[key]; ok {
		return false
	}
	x.included[coll] = true
	rs := x.reasonOf[coll]
	if rs == nil {
		rs = map[string]*Reason{}
		x.reasonOf[coll] = rs
	}
	r := rs[why]
	if r == nil {
		r = &Reason{Why: why}
		rs[why] = r
		x.order[coll] = append(x.order[coll], r)
	}
	r.Documents++
	m[key] = entry{ref: ref, why: r}
	return true
}

// keyHeap is a max-heap of (rank, key): the root is the largest of the smallest N.
type rankedKey struct {
	rank uint64
	key  string
}
type keyHeap []rankedKey

func (h keyHeap) Len() int { return len(h) }
func (h keyHeap) Less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank > h[j].rank
	}
	return h[i].key > h[j].key
}
func (h keyHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *keyHeap) Push(v any)   { *h = append(*h, v.(rankedKey)) }
func (h *keyHeap) Pop() any {
	old := *h
	v := old[len(old)-1]
	*h = old[:len(old)-1]
	return v
}

func filterText(f []Condition) string {
	parts := make([]string, len(f))
	for i, c := range f {
		parts[i] = c.String()
	}
	return strings.Join(parts, " and ")
}

// choose takes the start documents of every start collection.
func (x *exporter) choose(ctx context.Context, p *plan) error {
	for _, name := range p.starts {
		s := x.o.Collections[name]
		x.included[name] = true
		var keys []string
		var why string
		switch {
		case len(s.Keys) > 0:
			keys = slices.Clone(s.Keys)
			why = "by key"
		default:
			var seen int64
			h := &keyHeap{}
			threshold := uint64(math.MaxUint64)
			if s.Fraction > 0 && s.Fraction < 1 {
				threshold = uint64(math.Ldexp(s.Fraction, 64))
			}
			err := x.scanKeys(ctx, name, s.Filter, func(k string) {
				seen++
				r := rank(x.o.Seed, name, k)
				switch {
				case s.Sample > 0:
					if int64(h.Len()) < s.Sample {
						heap.Push(h, rankedKey{r, k})
					} else if top := (*h)[0]; r < top.rank || r == top.rank && k < top.key {
						(*h)[0] = rankedKey{r, k}
						heap.Fix(h, 0)
					}
				case s.Fraction > 0:
					if s.Fraction >= 1 || r < threshold {
						keys = append(keys, k)
					}
				default: // whole, or a filter alone
					keys = append(keys, k)
				}
			})
			if err != nil {
				return err
			}
			for _, rk := range *h {
				keys = append(keys, rk.key)
			}
			of := fmt.Sprintf("of %d", seen)
			if len(s.Filter) > 0 {
				of = fmt.Sprintf("of %d matching %s", seen, filterText(s.Filter))
			}
			switch {
			case s.Sample > 0:
				why = fmt.Sprintf("sampled %d %s", len(keys), of)
			case s.Fraction > 0:
				why = fmt.Sprintf("sampled %g%% (%d %s)", s.Fraction*100, len(keys), of)
			case len(s.Filter) > 0:
				why = "filter " + filterText(s.Filter)
			default:
				why = "whole collection"
			}
		}
		sort.Strings(keys)
		got, err := x.fetch(ctx, name, keys)
		if err != nil {
			return err
		}
		for _, k := range keys {
			ref, ok := got[k]
			if !ok {
				if len(s.Keys) > 0 {
					return configErr("keys %s: document %s/%s not found", name, name, k)
				}
				x.warn("collection %s: document %s was removed while the export ran", name, k)
				continue
			}
			x.add(name, k, ref, why)
		}
	}
	return nil
}

// fetch reads documents by key in batches, BatchSize keys each, Parallelism at once, into the
// collection's store as they arrive, and returns where each one found is.
func (x *exporter) fetch(ctx context.Context, coll string, keys []string) (map[string]docRef, error) {
	out := make(map[string]docRef, len(keys))
	st := x.storeOf(coll)
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(x.o.Parallelism)
	for i := 0; i < len(keys); i += x.o.BatchSize {
		batch := keys[i:min(i+x.o.BatchSize, len(keys))]
		g.Go(func() error {
			m, err := x.readDocuments(gctx, coll, batch)
			if err != nil {
				return err
			}
			mu.Lock()
			for _, k := range batch {
				if v, ok := m[k]; ok {
					if _, dup := out[k]; !dup {
						out[k] = st.add(v)
					}
				}
			}
			mu.Unlock()
			return nil
		})
	}
	err := g.Wait()
	x.account(0)
	return out, err
}

// edgeEnds decodes an edge's _key, _from and _to.
func edgeEnds(raw json.RawMessage) (key string, from, to docID, err error) {
	var e struct {
		Key  string `json:"_key"`
		From string `json:"_from"`
		To   string `json:"_to"`
	}
	if err = fastJSON.Unmarshal(raw, &e); err != nil {
		return
	}
	var ok1, ok2 bool
	from, ok1 = parseID(e.From)
	to, ok2 = parseID(e.To)
	if !ok1 || !ok2 {
		err = fmt.Errorf("edge %s has no valid _from/_to", e.Key)
	}
	return e.Key, from, to, err
}

// close takes the ends of the edges and the referenced documents of the start documents,
// then follows the edges depth by depth: the vertices taken at one depth (edge ends and the
// documents they reference) are where the next depth starts.
func (x *exporter) close(ctx context.Context, p *plan) error {
	var frontier []docID
	for _, coll := range sortedKeys(x.docs) {
		if x.inv.collections[coll].Type == 3 {
			continue
		}
		for _, k := range sortedKeys(x.docs[coll]) {
			frontier = append(frontier, docID{coll, k})
		}
	}
	more, err := x.closeEnds(ctx, p)
	if err != nil {
		return err
	}
	frontier = append(frontier, more...)
	for depth := 1; depth <= p.maxDepth && len(frontier) > 0; depth++ {
		pending := map[docID]string{}
		for _, t := range p.trav {
			if t.depth < depth {
				continue
			}
			var from []docID
			for _, v := range frontier {
				if t.from == nil || t.from[v.coll] {
					from = append(from, v)
				}
			}
			edges, scratch, err := x.edgesOf(ctx, t, from)
			if err != nil {
				return err
			}
			x.account(scratch.bytes + int64(countEdges(edges))*docOverhead)
			st := x.storeOf(t.edges)
			reached := fmt.Sprintf("reached via %s (%s, depth %d)", t.edges, t.dir, depth)
			capped := 0
			for i, v := range from {
				es := edges[i]
				if x.o.MaxFanout > 0 && len(es) > x.o.MaxFanout {
					capped++
					es = es[:x.o.MaxFanout]
				}
				why := fmt.Sprintf("followed from %s via %s (%s, depth %d)", v.coll, t.edges, t.dir, depth)
				if t.via != "" {
					why = fmt.Sprintf("followed from %s via %s of %s (%s, depth %d)", v.coll, t.edges, t.via, t.dir, depth)
				}
				for _, e := range es {
					if x.has(docID{t.edges, e.key}) {
						continue
					}
					x.add(t.edges, e.key, st.add(scratch.get(e.ref)), why)
					for _, end := range []docID{e.from, e.to} {
						if _, ok := pending[end]; !ok && !x.has(end) {
							pending[end] = reached
						}
					}
				}
				edges[i] = nil
			}
			x.account(0)
			if capped > 0 {
				x.warn("edge collection %s: %d document(s) at depth %d have more than %d edges (%s); only %d of each were followed", t.edges, capped, depth, x.o.MaxFanout, t.dir, x.o.MaxFanout)
			}
		}
		absent := map[docID]bool{}
		added, err := x.takePending(ctx, pending, func(id docID) { absent[id] = true })
		if err != nil {
			return err
		}
		x.dropDangling(absent)
		more, err := x.closeEnds(ctx, p)
		if err != nil {
			return err
		}
		frontier = x.vertices(append(added, more...))
	}
	return nil
}

// vertices keeps the documents of document collections, sorted.
func (x *exporter) vertices(ids []docID) []docID {
	out := ids[:0]
	for _, id := range ids {
		if x.inv.collections[id.coll].Type != 3 {
			out = append(out, id)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].coll != out[j].coll {
			return out[i].coll < out[j].coll
		}
		return out[i].key < out[j].key
	})
	return out
}

// dropDangling removes the edges taken with an end in absent (documents that do not exist):
// no _from/_to of the export points outside it. Each is reported.
func (x *exporter) dropDangling(absent map[docID]bool) {
	if len(absent) == 0 {
		return
	}
	for _, coll := range sortedKeys(x.docs) {
		if x.inv.collections[coll].Type != 3 {
			continue
		}
		for _, k := range sortedKeys(x.docs[coll]) {
			e := x.docs[coll][k]
			_, from, to, err := edgeEnds(x.raw(coll, e))
			if err != nil {
				continue
			}
			for _, end := range []docID{from, to} {
				if absent[end] {
					e.why.Documents--
					delete(x.docs[coll], k)
					x.warn("edge %s/%s dropped: its end %s does not exist in database %s", coll, k, end, x.db)
					break
				}
			}
		}
	}
}

type edge struct {
	key      string
	from, to docID
	ref      docRef // in the scratch store edgesOf returns
	rank     uint64
}

// edgesOf reads the edges of t at each vertex, in batches of BatchSize vertices (one AQL
// query on _from for out, on _to for in, both for any), and orders each vertex's edges by
// keyed hash (the fan-out order). The edges' bytes are in the store it returns, until the
// caller has copied those it takes.
func (x *exporter) edgesOf(ctx context.Context, t traversal, from []docID) ([][]edge, *store, error) {
	out := make([][]edge, len(from))
	scratch := &store{}
	var attrs []string
	if t.dir != "in" {
		attrs = append(attrs, "_from")
	}
	if t.dir != "out" {
		attrs = append(attrs, "_to")
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(x.o.Parallelism)
	for lo := 0; lo < len(from); lo += x.o.BatchSize {
		hi := min(lo+x.o.BatchSize, len(from))
		ids := make([]string, 0, hi-lo)
		at := make(map[docID]int, hi-lo)
		for i := lo; i < hi; i++ {
			ids = append(ids, from[i].String())
			at[from[i]] = i
		}
		for _, attr := range attrs {
			g.Go(func() error {
				raws, err := x.queryEdges(gctx, t.edges, attr, ids)
				if err != nil {
					return err
				}
				mu.Lock()
				defer mu.Unlock()
				for _, r := range raws {
					k, f, to, err := edgeEnds(r)
					if err != nil {
						return fmt.Errorf("database %s: edge collection %s: %w", x.db, t.edges, err)
					}
					v := f
					if attr == "_to" {
						v = to
					}
					i, ok := at[v]
					if !ok {
						continue
					}
					if attr == "_to" && f == to && len(attrs) == 2 {
						continue // a loop: already had from the _from query
					}
					out[i] = append(out[i], edge{key: k, from: f, to: to, ref: scratch.add(r), rank: rank(x.o.Seed, t.edges, k)})
				}
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	for _, es := range out {
		sort.Slice(es, func(a, b int) bool {
			if es[a].rank != es[b].rank {
				return es[a].rank < es[b].rank
			}
			return es[a].key < es[b].key
		})
	}
	return out, scratch, nil
}

// takePending fetches the pending documents (id -> reason) and takes those that exist; it
// returns the ones taken, sorted. missing, when not nil, is called for each one absent.
func (x *exporter) takePending(ctx context.Context, pending map[docID]string, missing func(docID)) ([]docID, error) {
	byColl := map[string][]string{}
	for id := range pending {
		byColl[id.coll] = append(byColl[id.coll], id.key)
	}
	var added []docID
	for _, coll := range sortedKeys(byColl) {
		keys := byColl[coll]
		sort.Strings(keys)
		if x.inv.collections[coll] == nil {
			for _, k := range keys {
				if missing != nil {
					missing(docID{coll, k})
				}
			}
			continue
		}
		if err := x.maskingAllows(coll); err != nil {
			return nil, err
		}
		got, err := x.fetch(ctx, coll, keys)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			id := docID{coll, k}
			ref, ok := got[k]
			if !ok {
				if missing != nil {
					missing(id)
				}
				continue
			}
			if x.add(coll, k, ref, pending[id]) {
				added = append(added, id)
			}
		}
	}
	return added, nil
}

// closeEnds takes the ends of every edge and the targets of every declared reference, until
// nothing is missing, and returns the documents it took. Edges whose ends do not exist
// (dangling in the source data) are dropped and reported, so that no _from/_to points outside
// the export; a reference whose target does not exist is reported and its document kept.
func (x *exporter) closeEnds(ctx context.Context, p *plan) ([]docID, error) {
	var took []docID
	for {
		pending := map[docID]string{}
		for _, coll := range sortedKeys(x.docs) {
			ci := x.inv.collections[coll]
			endWhy := "end vertex of edges in " + coll
			refWhy := make([]string, len(p.refs[coll]))
			for i, r := range p.refs[coll] {
				refWhy[i] = "referenced by " + r.Collection + "." + strings.Join(r.Path, ".")
			}
			docs := x.docs[coll]
			for _, k := range sortedKeys(docs) {
				e := docs[k]
				if e.checked {
					continue
				}
				e.checked = true
				docs[k] = e
				raw := x.raw(coll, e)
				if ci.Type == 3 {
					_, from, to, err := edgeEnds(raw)
					if err != nil {
						return nil, fmt.Errorf("database %s: edge collection %s: %w", x.db, coll, err)
					}
					for _, end := range []docID{from, to} {
						if _, ok := pending[end]; !ok && !x.has(end) {
							pending[end] = endWhy
						}
					}
				}
				for i, r := range p.refs[coll] {
					for _, id := range refTargets(raw, r) {
						if _, ok := pending[id]; !ok && !x.has(id) {
							pending[id] = refWhy[i]
						}
					}
				}
			}
		}
		if len(pending) == 0 {
			return took, nil
		}
		absent := map[docID]bool{}
		added, err := x.takePending(ctx, pending, func(id docID) { absent[id] = true })
		if err != nil {
			return nil, err
		}
		took = append(took, added...)
		x.dropDangling(absent)
		for _, id := range sortedIDs(absent) {
			if strings.HasPrefix(pending[id], "referenced by ") {
				x.warn("dangling reference: %s %s, which does not exist in database %s", pending[id], id, x.db)
			}
		}
	}
}

func countEdges(edges [][]edge) int {
	n := 0
	for _, es := range edges {
		n += len(es)
	}
	return n
}

func sortedIDs(m map[docID]bool) []docID {
	out := make([]docID, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// refTargets returns the documents a reference attribute of raw points to.
func refTargets(raw json.RawMessage, r Reference) []docID {
	path := make([]any, len(r.Path))
	for i, p := range r.Path {
		path[i] = p
	}
	var v any
	if a := fastJSON.Get(raw, path...); a.LastError() == nil {
		v = a.GetInterface()
	}
	var vals []any
	if a, ok := v.([]any); ok {
		vals = a
	} else {
		vals = []any{v}
	}
	var out []docID
	for _, e := range vals {
		s, ok := e.(string)
		if !ok || s == "" {
			continue
		}
		if r.Target != "" {
			out = append(out, docID{r.Target, s})
		} else if id, ok := parseID(s); ok {
			out = append(out, id)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
