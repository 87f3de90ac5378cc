package dump

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	jsoniter "github.com/json-iterator/go"
)

// Maskings is a parsed arangodump maskings file (--maskings): per collection (or "*" for
// the rest) whether to dump it, its structure only, or its data with masking rules.
//
// The format and every masking function follow arangodump 3.12's documentation
// (docs.arangodb.com/3.12/components/tools/arangodump/maskings/): collection types
// exclude, structure, masked and full; functions randomString, random, xifyFront, zip,
// datetime, integer, decimal (alias float), creditCard, phone and email. A collection not
// listed, with no "*" entry, is excluded, as arangodump does.
type Maskings struct {
	collections map[string]*CollectionMasking
	fallback    *CollectionMasking // "*", nil if absent
	secret      []byte             // per-run secret of the hashes
	// seeded (SetSeed): every function derives its randomness from the secret and the value
	// it masks, so that the same input masks the same way in every run and collection.
	seeded bool
}

// SetSeed makes the maskings deterministic (godump seed --seed): the hashes' secret is
// derived from seed instead of drawn at random, and every masking function that draws random
// values (random, zip, phone, integer, decimal, creditCard, datetime) draws them from a
// generator seeded with HMAC-SHA256(secret, function name, value). The same value then masks
// to the same result wherever it appears, in every run with the same seed. A datetime rule
// without "end" ends at 2025-01-01T00:00:00Z instead of now, which changes every run.
// Without SetSeed the maskings behave as arangodump's: a new random secret every run.
func (m *Maskings) SetSeed(seed string) {
	h := hmac.New(sha256.New, []byte(seed))
	h.Write([]byte("godump maskings secret"))
	m.secret = h.Sum(nil)
	m.seeded = true
}

// seededDatetimeEnd is the end of a datetime rule without "end" under SetSeed.
var seededDatetimeEnd = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// Named reports whether the maskings file has an entry of the collection's own (not "*").
func (m *Maskings) Named(collection string) bool {
	if m == nil {
		return false
	}
	_, ok := m.collections[collection]
	return ok
}

// KeyRule returns the collection's rule on the top-level "_key" path, or nil. arangodump
// never masks system attributes, and neither does godump's dump; godump seed reads such a
// rule as "replace this collection's keys", applied with MaskKey wherever the keys appear.
func (m *Maskings) KeyRule(collection string) *MaskingRule {
	c := m.For(collection)
	if c.Type != MaskMasked {
		return nil
	}
	for _, r := range c.Rules {
		if !r.anyDepth && !r.all && len(r.path) == 1 && r.path[0] == "_key" {
			return r
		}
	}
	return nil
}

// MaskKey returns the masked form of a document key: 16 characters of the base64url
// alphabet (letters, digits, - and _, all allowed in keys) from HMAC-SHA256 of the key with
// the secret. It depends on the key only, not on its collection, so that a key and a
// reference holding it mask alike.
func (m *Maskings) MaskKey(key string) string {
	h := hmac.New(sha256.New, m.secret)
	h.Write([]byte("key\x00"))
	h.Write([]byte(key))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:12])
}

// Masking types of a collection.
const (
	MaskExclude   = "exclude"
	MaskStructure = "structure"
	MaskMasked    = "masked"
	MaskFull      = "full"
)

// CollectionMasking is what to do with one collection.
type CollectionMasking struct {
	Type  string
	Rules []*MaskingRule
}

// MaskingRule is one {"path": ..., "type": ...} entry.
type MaskingRule struct {
	Path     string
	Function string
	path     []string // split path; nil for "*"
	anyDepth bool     // ".name": any leaf called name
	all      bool     // "*": every leaf
	mask     func(mk *masker, r *MaskingRule, v any) any

	// settings of the functions
	unmaskedLength int
	hash           bool
	seed           int64
	def            string
	begin, end     time.Time
	endSet         bool
	format         string
	lower, upper   float64
	ilower, iupper int64
	scale          int
}

var excluded = &CollectionMasking{Type: MaskExclude}

// For returns the masking of a collection.
func (m *Maskings) For(collection string) *CollectionMasking {
	if m == nil {
		return &CollectionMasking{Type: MaskFull}
	}
	if c, ok := m.collections[collection]; ok {
		return c
	}
	if m.fallback != nil {
		return m.fallback
	}
	return excluded
}

// LoadMaskings reads and checks a maskings file.
func LoadMaskings(path string) (*Maskings, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read maskings file: %w", err)
	}
	m, err := ParseMaskings(b)
	if err != nil {
		return nil, fmt.Errorf("maskings file %s: %w", path, err)
	}
	return m, nil
}

// ParseMaskings parses the content of a maskings file.
func ParseMaskings(b []byte) (*Maskings, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	m := &Maskings{collections: map[string]*CollectionMasking{}, secret: make([]byte, 32)}
	if _, err := rand.Read(m.secret); err != nil {
		return nil, err
	}
	for name, def := range raw {
		var c struct {
			Type     string            `json:"type"`
			Maskings []json.RawMessage `json:"maskings"`
		}
		if err := json.Unmarshal(def, &c); err != nil {
			return nil, fmt.Errorf("collection %q: %w", name, err)
		}
		cm := &CollectionMasking{Type: c.Type}
		switch c.Type {
		case MaskExclude, MaskStructure, MaskFull:
		case MaskMasked:
			for i, r := range c.Maskings {
				rule, err := parseRule(r)
				if err != nil {
					return nil, fmt.Errorf("collection %q masking %d: %w", name, i+1, err)
				}
				cm.Rules = append(cm.Rules, rule)
			}
		case "":
			return nil, fmt.Errorf("collection %q: missing \"type\"", name)
		default:
			return nil, fmt.Errorf("collection %q: unknown type %q (want exclude, structure, masked or full)", name, c.Type)
		}
		if name == "*" {
			m.fallback = cm
		} else {
			m.collections[name] = cm
		}
	}
	return m, nil
}

func parseRule(b json.RawMessage) (*MaskingRule, error) {
	var s struct {
		Path           *string          `json:"path"`
		Type           string           `json:"type"`
		UnmaskedLength *int             `json:"unmaskedLength"`
		Hash           bool             `json:"hash"`
		Seed           int64            `json:"seed"`
		Default        *json.RawMessage `json:"default"`
		Begin          string           `json:"begin"`
		End            string           `json:"end"`
		Format         *string          `json:"format"`
		Output         *string          `json:"output"`
		Lower          *float64         `json:"lower"`
		Upper          *float64         `json:"upper"`
		Scale          *int             `json:"scale"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&s); err != nil {
		return nil, err
	}
	if s.Path == nil || *s.Path == "" {
		return nil, fmt.Errorf("missing \"path\"")
	}
	r := &MaskingRule{Path: *s.Path, Function: s.Type}
	if err := r.parsePath(); err != nil {
		return nil, err
	}
	def := func(d string) string {
		if s.Default == nil {
			return d
		}
		var str string
		if json.Unmarshal(*s.Default, &str) == nil {
			return str
		}
		return string(*s.Default)
	}
	switch s.Type {
	case "randomString":
		r.mask = (*masker).randomString
	case "random":
		r.mask = (*masker).random
	case "xifyFront":
		r.unmaskedLength = 2
		if s.UnmaskedLength != nil {
			if *s.UnmaskedLength < 0 {
				return nil, fmt.Errorf("unmaskedLength must not be negative")
			}
			r.unmaskedLength = *s.UnmaskedLength
		}
		r.hash, r.seed = s.Hash, s.Seed
		r.mask = (*masker).xifyFront
	case "zip":
		r.def = def("12345")
		r.mask = (*masker).zip
	case "phone":
		r.def = def("+1234567890")
		r.mask = (*masker).phone
	case "datetime":
		r.begin = time.Unix(0, 0).UTC()
		r.end = time.Now().UTC()
		var err error
		if s.Begin != "" {
			if r.begin, err = parseISODate(s.Begin); err != nil {
				return nil, fmt.Errorf("begin: %w", err)
			}
		}
		if s.End != "" {
			if r.end, err = parseISODate(s.End); err != nil {
				return nil, fmt.Errorf("end: %w", err)
			}
			r.endSet = true
		}
		if r.end.Before(r.begin) {
			return nil, fmt.Errorf("end %s is before begin %s", s.End, s.Begin)
		}
		if s.Format != nil {
			r.format = *s.Format
		} else if s.Output != nil {
			r.format = *s.Output
		}
		r.mask = (*masker).datetime
	case "integer":
		r.ilower, r.iupper = -100, 100
		if s.Lower != nil {
			r.ilower = int64(*s.Lower)
		}
		if s.Upper != nil {
			r.iupper = int64(*s.Upper)
		}
		if r.iupper < r.ilower {
			return nil, fmt.Errorf("upper %d is below lower %d", r.iupper, r.ilower)
		}
		r.mask = (*masker).integer
	case "decimal", "float":
		r.lower, r.upper, r.scale = -1, 1, 2
		if s.Lower != nil {
			r.lower = *s.Lower
		}
		if s.Upper != nil {
			r.upper = *s.Upper
		}
		if s.Scale != nil {
			r.scale = *s.Scale
		}
		if r.upper < r.lower {
			return nil, fmt.Errorf("upper %v is below lower %v", r.upper, r.lower)
		}
		if r.scale < 0 || r.scale > 15 {
			return nil, fmt.Errorf("scale %d out of range 0..15", r.scale)
		}
		r.mask = (*masker).decimal
	case "creditCard":
		r.mask = (*masker).creditCard
	case "email":
		r.mask = (*masker).email
	case "":
		return nil, fmt.Errorf("missing \"type\"")
	default:
		return nil, fmt.Errorf("unknown masking function %q", s.Type)
	}
	return r, nil
}

// parsePath splits a rule path: "*" (all leaves), ".name" (any depth), "a.b" (exact),
// with ` or ´ quoting a component that contains dots (or is a literal "*").
func (r *MaskingRule) parsePath() error {
	p := r.Path
	if p == "*" {
		r.all = true
		return nil
	}
	if strings.HasPrefix(p, ".") {
		r.anyDepth = true
		p = p[1:]
	}
	var parts []string
	var cur strings.Builder
	quote := rune(0)
	for _, ch := range p {
		switch {
		case quote != 0 && ch == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(ch)
		case ch == '`' || ch == '´':
			quote = ch
		case ch == '.':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteRune(ch)
		}
	}
	if quote != 0 {
		return fmt.Errorf("path %q: unterminated quote", r.Path)
	}
	parts = append(parts, cur.String())
	for _, s := range parts {
		if s == "" {
			return fmt.Errorf("path %q has an empty component", r.Path)
		}
	}
	if r.anyDepth && len(parts) != 1 {
		return fmt.Errorf("path %q: a leading dot takes a single attribute name", r.Path)
	}
	r.path = parts
	return nil
}

func (r *MaskingRule) matches(path []string) bool {
	switch {
	case r.all:
		return true
	case r.anyDepth:
		return len(path) > 0 && path[len(path)-1] == r.path[0]
	}
	if len(path) != len(r.path) {
		return false
	}
	for i := range path {
		if path[i] != r.path[i] {
			return false
		}
	}
	return true
}

func parseISODate(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z", "2006-01-02T15:04:05.000",
		"2006-01-02T15:04:05Z", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02", "2006-01", "2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 date", s)
}

// masker applies the rules of one collection to documents; one per job (not shared
// between goroutines).
type masker struct {
	rules  []*MaskingRule
	secret []byte
	rng    *mrand.Rand
	src    *mrand.ChaCha8 // rng's source, reseeded per value when seeded
	seeded bool
	cfg    jsoniter.API
	out    *jsoniter.Stream
	path   []string

	keep      [][]string      // MaskerOptions.Keep
	strict    bool            // MaskerOptions.Strict
	uncovered map[string]bool // leaves no rule covers (strict), dotted paths
}

// MaskerOptions are the options of NewMaskerWith.
type MaskerOptions struct {
	// Keep are attribute paths whose values (and everything under them) pass unchanged:
	// godump seed's references, which it rewrites itself so that they keep joining.
	Keep [][]string
	// Strict records every leaf no rule and no Keep path covers (Uncovered).
	Strict bool
}

// NewMasker returns the masker of a collection, or nil when its documents pass unchanged.
func (m *Maskings) NewMasker(collection string) *masker {
	c := m.For(collection)
	if c.Type != MaskMasked || len(c.Rules) == 0 {
		return nil
	}
	return m.newMasker(c)
}

// NewMaskerWith returns a masker of a collection of type "masked" even without rules (to
// find the uncovered leaves in strict mode), or nil for the other types.
func (m *Maskings) NewMaskerWith(collection string, o MaskerOptions) *masker {
	c := m.For(collection)
	if c.Type != MaskMasked {
		return nil
	}
	mk := m.newMasker(c)
	mk.keep, mk.strict = o.Keep, o.Strict
	if o.Strict {
		mk.uncovered = map[string]bool{}
	}
	return mk
}

func (m *Maskings) newMasker(c *CollectionMasking) *masker {
	var seed [32]byte
	_, _ = rand.Read(seed[:])
	src := mrand.NewChaCha8(seed)
	cfg := jsoniter.Config{EscapeHTML: false, UseNumber: true}.Froze()
	return &masker{rules: c.Rules, secret: m.secret, rng: mrand.New(src), src: src, seeded: m.seeded, cfg: cfg,
		out: jsoniter.NewStream(cfg, nil, 64<<10)}
}

// Uncovered returns the dotted paths of the leaves no rule covered (with Strict), sorted.
func (mk *masker) Uncovered() []string {
	out := make([]string, 0, len(mk.uncovered))
	for p := range mk.uncovered {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// kept reports whether the current path is under a Keep path.
func (mk *masker) kept() bool {
	for _, k := range mk.keep {
		if len(mk.path) >= len(k) && slices.Equal(mk.path[:len(k)], k) {
			return true
		}
	}
	return false
}

// reseed seeds the generator from the value being masked (SetSeed).
func (mk *masker) reseed(r *MaskingRule, v any) {
	h := hmac.New(sha256.New, mk.secret)
	h.Write([]byte(r.Function))
	h.Write([]byte{0})
	switch x := v.(type) {
	case string:
		h.Write([]byte("s"))
		h.Write([]byte(x))
	case json.Number:
		h.Write([]byte("n"))
		h.Write([]byte(x))
	default:
		fmt.Fprintf(h, "o%v", x)
	}
	var seed [32]byte
	copy(seed[:], h.Sum(nil))
	mk.src.Seed(seed)
}

// MaskLines masks every document of lines (JSONL) and appends the result to dst.
func (mk *masker) MaskLines(dst *bytes.Buffer, lines []byte) error {
	n := 0
	for len(lines) > 0 {
		i := bytes.IndexByte(lines, '\n')
		var line []byte
		if i < 0 {
			line, lines = lines, nil
		} else {
			line, lines = lines[:i], lines[i+1:]
		}
		n++
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if err := mk.maskDocument(dst, line); err != nil {
			return fmt.Errorf("masking document %d of the batch: %w", n, err)
		}
		dst.WriteByte('\n')
	}
	return nil
}

// maskDocument re-writes one document with its masked leaves; everything else is copied
// byte for byte, in the original order.
func (mk *masker) maskDocument(dst *bytes.Buffer, doc []byte) error {
	it := mk.cfg.BorrowIterator(doc)
	defer mk.cfg.ReturnIterator(it)
	mk.out.Reset(nil)
	mk.out.Buffer()
	mk.path = mk.path[:0]
	if it.WhatIsNext() != jsoniter.ObjectValue {
		return fmt.Errorf("document is not a JSON object")
	}
	mk.object(it, true)
	if it.Error != nil {
		return it.Error
	}
	dst.Write(mk.out.Buffer())
	mk.out.SetBuffer(mk.out.Buffer()[:0])
	return nil
}

var systemAttributes = map[string]bool{"_key": true, "_id": true, "_rev": true, "_from": true, "_to": true}

func (mk *masker) object(it *jsoniter.Iterator, top bool) {
	s := mk.out
	s.WriteObjectStart()
	first := true
	it.ReadMapCB(func(it *jsoniter.Iterator, key string) bool {
		if !first {
			s.WriteMore()
		}
		first = false
		s.WriteObjectField(key)
		if top && systemAttributes[key] {
			s.WriteRaw(string(it.SkipAndReturnBytes()))
			return true
		}
		mk.path = append(mk.path, key)
		mk.value(it)
		mk.path = mk.path[:len(mk.path)-1]
		return true
	})
	s.WriteObjectEnd()
}

// value handles the value at mk.path: objects are walked, arrays masked element by
// element, other leaves masked by the first matching rule.
func (mk *masker) value(it *jsoniter.Iterator) {
	if len(mk.keep) > 0 && mk.kept() {
		mk.out.WriteRaw(string(it.SkipAndReturnBytes()))
		return
	}
	switch it.WhatIsNext() {
	case jsoniter.ObjectValue:
		mk.object(it, false)
	case jsoniter.ArrayValue:
		s := mk.out
		s.WriteArrayStart()
		first := true
		it.ReadArrayCB(func(it *jsoniter.Iterator) bool {
			if !first {
				s.WriteMore()
			}
			first = false
			mk.value(it)
			return true
		})
		s.WriteArrayEnd()
	default:
		rule := mk.rule()
		if rule == nil {
			if mk.strict {
				mk.uncovered[strings.Join(mk.path, ".")] = true
			}
			mk.out.WriteRaw(string(it.SkipAndReturnBytes()))
			return
		}
		v := it.Read()
		if mk.seeded {
			mk.reseed(rule, v)
		}
		mk.out.WriteVal(rule.mask(mk, rule, v))
	}
}

func (mk *masker) rule() *MaskingRule {
	for _, r := range mk.rules {
		if r.matches(mk.path) {
			return r
		}
	}
	return nil
}
