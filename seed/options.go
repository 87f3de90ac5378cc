// Package seed exports seed data: a small, masked, self-consistent and reproducible slice of
// one database, written as a normal dump directory that gorestore and arangorestore restore.
//
// It chooses start documents per collection (a deterministic sample, a fraction, a key list,
// a filter on attribute values, or the whole collection), closes the choice over edges (per
// edge collection or named graph, direction, depth, fan-out cap) and over references declared
// in ordinary attributes, masks the result with the maskings of package dump under a seed,
// and writes it sorted by key with sorted attributes. It reads keys only to sample and fetches
// documents by key and edges by vertex, so that the cost follows the slice, not the database.
// See SPEC.md for the interface and the guarantees.
//
// It is a library: it takes a context, returns errors and never prints; cmd/godump's `seed`
// subcommand is its command line.
package seed

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
)

// ErrConfig marks a bad configuration (flags, configuration file, or names the database
// does not have): the command exits 2.
var ErrConfig = errors.New("bad seed configuration")

func configErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, a...))
}

// Others says what happens to the collections the configuration does not name.
const (
	OthersNone  = "none"  // left out (no structure, no data)
	OthersWhole = "whole" // taken whole
)

// Options configure a seed export.
type Options struct {
	Database        string
	OutputDirectory string
	Overwrite       bool
	// Collections are the start choices, by collection name.
	Collections map[string]*Start
	Follow      []Follow
	Graphs      []GraphFollow
	// MaxFanout caps the edges followed per document, per edge collection and direction
	// (0: no cap). The edges kept are those of the smallest keyed hash (see SPEC.md).
	MaxFanout  int
	References []Reference
	Others     string // OthersNone (default) or OthersWhole
	// Maskings is the path of a maskings file (arangodump's format); "" for none.
	Maskings string
	// Seed drives the sampling and the maskings; the same data and seed give the same export.
	Seed           string
	StrictMaskings bool
	// Unmasked lists, per collection, attribute paths ("a.b") left as they are in strict
	// mode: they count as covered by a rule.
	Unmasked map[string][]string
	// Reproducible (default true): no times in the manifest, a fixed createdAt in dump.json.
	Reproducible   bool
	CompressOutput bool
	// CreatedAt is dump.json's createdAt in reproducible mode ("" leaves it empty).
	CreatedAt string
	// BatchSize is the number of keys per batch document read (default 1000).
	BatchSize int
	// Parallelism is the number of requests in flight (default 4).
	Parallelism int
	// ToolVersion is recorded in the manifest.
	ToolVersion string
}

// Start is how a collection's start documents are chosen. Sample and Fraction pick among the
// documents the Filter matches (all when there is no filter); Keys and Whole stand alone.
type Start struct {
	Sample   int64       `json:"sample,omitempty"`
	Fraction float64     `json:"fraction,omitempty"`
	Keys     []string    `json:"keys,omitempty"`
	Filter   []Condition `json:"-"`
	Whole    bool        `json:"whole,omitempty"`
}

// Condition is one equality of a filter: the attribute at Path equals Value (JSON).
type Condition struct {
	Path  []string
	Value json.RawMessage
}

func (c Condition) String() string { return strings.Join(c.Path, ".") + "=" + string(c.Value) }

// Follow follows the edges of one edge collection.
type Follow struct {
	Edges     string `json:"edges"`
	Direction string `json:"direction"` // out, in, any
	Depth     int    `json:"depth"`
}

// GraphFollow follows the edge collections of a named graph (its _graphs edge definitions).
type GraphFollow struct {
	Graph     string `json:"graph"`
	Direction string `json:"direction"`
	Depth     int    `json:"depth"`
}

// Reference is an ordinary attribute holding references: the keys of documents of Target, or
// with Target "" _id-style values ("coll/key"). An array value holds one reference per element.
type Reference struct {
	Collection string
	Path       []string
	Target     string
}

func (r Reference) String() string {
	s := r.Collection + "." + strings.Join(r.Path, ".")
	if r.Target != "" {
		s += "=" + r.Target
	}
	return s
}

// DefaultOptions are the defaults of the command line.
func DefaultOptions() Options {
	return Options{Collections: map[string]*Start{}, Others: OthersNone, Reproducible: true, BatchSize: 1000, Parallelism: 4}
}

func (o *Options) start(coll string) *Start {
	if o.Collections == nil {
		o.Collections = map[string]*Start{}
	}
	s := o.Collections[coll]
	if s == nil {
		s = &Start{}
		o.Collections[coll] = s
	}
	return s
}

// AddSample parses a --sample value: "users=100" (a number of documents), "orders=5%" or
// "orders=0.05" (a fraction).
func (o *Options) AddSample(v string) error {
	coll, val, ok := strings.Cut(v, "=")
	if !ok || coll == "" || val == "" {
		return configErr("--sample %q: want collection=count, collection=percent%% or collection=fraction", v)
	}
	s := o.start(coll)
	if strings.HasSuffix(val, "%") || strings.Contains(val, ".") {
		f, err := strconv.ParseFloat(strings.TrimSuffix(val, "%"), 64)
		if err == nil && strings.HasSuffix(val, "%") {
			f /= 100
		}
		if err != nil || !(f > 0 && f <= 1) || math.IsNaN(f) {
			return configErr("--sample %q: the fraction must be above 0 and at most 1 (100%%)", v)
		}
		s.Fraction = f
		return nil
	}
	n, err := strconv.ParseInt(val, 10, 64)
	if err != nil || n <= 0 {
		return configErr("--sample %q: the sample size must be a positive whole number (or a fraction: 0.05, 5%%)", v)
	}
	s.Sample = n
	return nil
}

// AddKeys parses a --keys value: "products=a,b,c".
func (o *Options) AddKeys(v string) error {
	coll, val, ok := strings.Cut(v, "=")
	if !ok || coll == "" || val == "" {
		return configErr("--keys %q: want collection=key1,key2,...", v)
	}
	s := o.start(coll)
	for _, k := range strings.Split(val, ",") {
		if k == "" {
			return configErr("--keys %q: empty key", v)
		}
		s.Keys = append(s.Keys, k)
	}
	return nil
}

// AddFilter parses a --filter value: "users:country=DE" or "users:address.city=Köln". The
// value is JSON when it parses as JSON (42, true, null, "quoted"), else a string.
func (o *Options) AddFilter(v string) error {
	coll, cond, ok := strings.Cut(v, ":")
	if !ok || coll == "" {
		return configErr("--filter %q: want collection:attribute=value", v)
	}
	attr, val, ok := strings.Cut(cond, "=")
	if !ok || attr == "" {
		return configErr("--filter %q: want collection:attribute=value", v)
	}
	c, err := newCondition(attr, jsonOrString(val))
	if err != nil {
		return configErr("--filter %q: %v", v, err)
	}
	s := o.start(coll)
	s.Filter = append(s.Filter, c)
	return nil
}

func jsonOrString(v string) json.RawMessage {
	if json.Valid([]byte(v)) {
		return json.RawMessage(v)
	}
	b, _ := json.Marshal(v)
	return b
}

func newCondition(attr string, val json.RawMessage) (Condition, error) {
	p, err := parsePath(attr)
	if err != nil {
		return Condition{}, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, val); err != nil {
		return Condition{}, fmt.Errorf("value of %s: %w", attr, err)
	}
	return Condition{Path: p, Value: buf.Bytes()}, nil
}

// parsePath splits "a.b" into attribute names; each must be a plain name (letters, digits,
// _ and -) since it is written into an AQL query.
func parsePath(s string) ([]string, error) {
	parts := strings.Split(s, ".")
	for _, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("attribute path %q has an empty component", s)
		}
		for _, ch := range p {
			if !(ch == '_' || ch == '-' || ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z') {
				return nil, fmt.Errorf("attribute path %q: %q holds %q (use letters, digits, _ and -)", s, p, ch)
			}
		}
	}
	return parts, nil
}

// ParseFollow parses a --follow value: "knows", "knows:out", "knows:out:2" (direction out,
// in or any, default any; depth default 1).
func ParseFollow(v string) (Follow, error) {
	name, dir, depth, err := parseDirDepth("--follow", v)
	return Follow{Edges: name, Direction: dir, Depth: depth}, err
}

// ParseGraph parses a --graph value: "social", "social:any:2".
func ParseGraph(v string) (GraphFollow, error) {
	name, dir, depth, err := parseDirDepth("--graph", v)
	return GraphFollow{Graph: name, Direction: dir, Depth: depth}, err
}

func parseDirDepth(flag, v string) (string, string, int, error) {
	parts := strings.Split(v, ":")
	if len(parts) > 3 || parts[0] == "" {
		return "", "", 0, configErr("%s %q: want name[:out|in|any[:depth]]", flag, v)
	}
	dir, depth := "any", 1
	if len(parts) > 1 {
		dir = parts[1]
	}
	if len(parts) > 2 {
		n, err := strconv.Atoi(parts[2])
		if err != nil {
			return "", "", 0, configErr("%s %q: depth %q is not a number", flag, v, parts[2])
		}
		depth = n
	}
	if err := checkDirDepth(flag+" "+strconv.Quote(v), dir, depth); err != nil {
		return "", "", 0, err
	}
	return parts[0], dir, depth, nil
}

func checkDirDepth(what, dir string, depth int) error {
	switch dir {
	case "out", "in", "any":
	default:
		return configErr("%s: direction %q: use out, in or any", what, dir)
	}
	if depth < 1 || depth > 100 {
		return configErr("%s: depth %d: use 1 to 100", what, depth)
	}
	return nil
}

// ParseReference parses a --reference value: "orders.customerId=customers" (the attribute
// holds keys of customers) or "orders.items" (it holds _id-style values, "coll/key").
func ParseReference(v string) (Reference, error) {
	lhs, target, _ := strings.Cut(v, "=")
	coll, attr, ok := strings.Cut(lhs, ".")
	if !ok || coll == "" || attr == "" {
		return Reference{}, configErr("--reference %q: want collection.attribute[=target-collection]", v)
	}
	p, err := parsePath(attr)
	if err != nil {
		return Reference{}, configErr("--reference %q: %v", v, err)
	}
	return Reference{Collection: coll, Path: p, Target: target}, nil
}

// configFile is the JSON configuration file (see SPEC.md).
type configFile struct {
	Database        *string                     `json:"database"`
	OutputDirectory *string                     `json:"outputDirectory"`
	Collections     map[string]configCollection `json:"collections"`
	Follow          []Follow                    `json:"follow"`
	Graphs          []GraphFollow               `json:"graphs"`
	MaxFanout       *int                        `json:"maxFanout"`
	References      []configReference           `json:"references"`
	Others          *string                     `json:"others"`
	Maskings        *string                     `json:"maskings"`
	Seed            *json.RawMessage            `json:"seed"`
	StrictMaskings  *bool                       `json:"strictMaskings"`
	Unmasked        map[string][]string         `json:"unmasked"`
	Reproducible    *bool                       `json:"reproducible"`
	CompressOutput  *bool                       `json:"compressOutput"`
	CreatedAt       *string                     `json:"createdAt"`
}

type configCollection struct {
	Sample   int64                      `json:"sample"`
	Fraction float64                    `json:"fraction"`
	Keys     []string                   `json:"keys"`
	Filter   map[string]json.RawMessage `json:"filter"`
	Whole    bool                       `json:"whole"`
}

type configReference struct {
	From string `json:"from"` // "orders.customerId"
	To   string `json:"to"`   // "customers", or "" for _id-style values
}

// LoadConfigFile reads a JSON configuration file into o. Call it before applying the flags,
// which override it (they add to its lists and replace its single values).
func (o *Options) LoadConfigFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return configErr("read configuration file: %v", err)
	}
	if err := o.ParseConfig(b); err != nil {
		return fmt.Errorf("configuration file %s: %w", path, err)
	}
	return nil
}

// ParseConfig parses the content of a configuration file into o.
func (o *Options) ParseConfig(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c configFile
	if err := dec.Decode(&c); err != nil {
		return configErr("%v", err)
	}
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&o.Database, c.Database)
	set(&o.OutputDirectory, c.OutputDirectory)
	set(&o.Others, c.Others)
	set(&o.Maskings, c.Maskings)
	set(&o.CreatedAt, c.CreatedAt)
	if c.MaxFanout != nil {
		o.MaxFanout = *c.MaxFanout
	}
	if c.StrictMaskings != nil {
		o.StrictMaskings = *c.StrictMaskings
	}
	if c.Reproducible != nil {
		o.Reproducible = *c.Reproducible
	}
	if c.CompressOutput != nil {
		o.CompressOutput = *c.CompressOutput
	}
	if c.Seed != nil {
		var s string
		if json.Unmarshal(*c.Seed, &s) != nil {
			s = string(*c.Seed) // a number: its text
		}
		o.Seed = s
	}
	names := make([]string, 0, len(c.Collections))
	for n := range c.Collections {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		cc := c.Collections[name]
		s := o.start(name)
		s.Sample, s.Fraction, s.Keys, s.Whole = cc.Sample, cc.Fraction, cc.Keys, cc.Whole
		if cc.Sample < 0 {
			return configErr("collections.%s.sample %d: must be positive", name, cc.Sample)
		}
		if cc.Fraction != 0 && !(cc.Fraction > 0 && cc.Fraction <= 1) {
			return configErr("collections.%s.fraction %v: must be above 0 and at most 1", name, cc.Fraction)
		}
		attrs := make([]string, 0, len(cc.Filter))
		for a := range cc.Filter {
			attrs = append(attrs, a)
		}
		sort.Strings(attrs)
		for _, a := range attrs {
			cond, err := newCondition(a, cc.Filter[a])
			if err != nil {
				return configErr("collections.%s.filter: %v", name, err)
			}
			s.Filter = append(s.Filter, cond)
		}
	}
	for i, f := range c.Follow {
		if f.Direction == "" {
			f.Direction = "any"
		}
		if f.Depth == 0 {
			f.Depth = 1
		}
		if f.Edges == "" {
			return configErr("follow[%d]: missing \"edges\"", i)
		}
		if err := checkDirDepth(fmt.Sprintf("follow[%d]", i), f.Direction, f.Depth); err != nil {
			return err
		}
		o.Follow = append(o.Follow, f)
	}
	for i, g := range c.Graphs {
		if g.Direction == "" {
			g.Direction = "any"
		}
		if g.Depth == 0 {
			g.Depth = 1
		}
		if g.Graph == "" {
			return configErr("graphs[%d]: missing \"graph\"", i)
		}
		if err := checkDirDepth(fmt.Sprintf("graphs[%d]", i), g.Direction, g.Depth); err != nil {
			return err
		}
		o.Graphs = append(o.Graphs, g)
	}
	for i, r := range c.References {
		v := r.From
		if r.To != "" {
			v += "=" + r.To
		}
		ref, err := ParseReference(v)
		if err != nil {
			return fmt.Errorf("references[%d]: %w", i, err)
		}
		o.References = append(o.References, ref)
	}
	if len(c.Unmasked) > 0 && o.Unmasked == nil {
		o.Unmasked = map[string][]string{}
	}
	for coll, attrs := range c.Unmasked {
		o.Unmasked[coll] = append(o.Unmasked[coll], attrs...)
	}
	return nil
}

// Validate checks what can be checked without the server.
func (o *Options) Validate() error {
	if o.OutputDirectory == "" {
		return configErr("no output directory (--output-directory)")
	}
	switch o.Others {
	case OthersNone, OthersWhole:
	default:
		return configErr("others %q: use none or whole", o.Others)
	}
	if o.MaxFanout < 0 {
		return configErr("max-fanout %d: must not be negative", o.MaxFanout)
	}
	for name, s := range o.Collections {
		n := 0
		for _, on := range []bool{s.Sample > 0, s.Fraction > 0, len(s.Keys) > 0, s.Whole} {
			if on {
				n++
			}
		}
		if n > 1 {
			return configErr("collection %s: choose one of sample, fraction, keys and whole", name)
		}
		if (len(s.Keys) > 0 || s.Whole) && len(s.Filter) > 0 {
			return configErr("collection %s: a filter goes with sample or fraction, not with keys or whole", name)
		}
	}
	if o.StrictMaskings && o.Maskings == "" {
		return configErr("strict maskings need a maskings file (--maskings)")
	}
	for coll, attrs := range o.Unmasked {
		for _, a := range attrs {
			if _, err := parsePath(a); err != nil {
				return configErr("unmasked %s: %v", coll, err)
			}
		}
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.Parallelism <= 0 {
		o.Parallelism = 4
	}
	return nil
}
