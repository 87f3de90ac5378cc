package seed

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	jsoniter "github.com/json-iterator/go"
	"golang.org/x/sync/errgroup"

	"github.com/arangobackup/godump/dump"
	"github.com/arangobackup/godump/format"
)

// flushBytes is the size of the writes to a data file: fixed, so that a compressed file (a
// gzip member per write) has the same bytes in every run.
const flushBytes = 1 << 20

// writeWindow is how many documents are re-encoded at once (in parallel) before they are
// masked and written in order.
const writeWindow = 2048

// write writes the export: structure files of the collections in it, their documents sorted
// by (output) _key with attributes sorted, masked; then dump.json, ENCRYPTION and the manifest.
func (x *exporter) write(ctx context.Context) (*Report, error) {
	w, err := format.NewWriter(x.o.OutputDirectory, format.WriterOptions{Overwrite: x.o.Overwrite, Database: x.db,
		Tool: "godump", ToolVersion: x.o.ToolVersion, Reproducible: x.o.Reproducible})
	if err != nil {
		return nil, fmt.Errorf("seed export of database %s: %w", x.db, err)
	}
	rep := &Report{Database: x.db, OutputDirectory: x.o.OutputDirectory, Seed: x.o.Seed, Warnings: []string{}}
	maskKeys := map[string]bool{}
	if x.maskings != nil {
		for name := range x.included {
			if x.maskings.KeyRule(name) != nil {
				maskKeys[name] = true
			}
		}
	}
	for _, name := range sortedKeys(x.included) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ci := x.inv.collections[name]
		if err := x.maskingAllows(name); err != nil {
			return nil, err
		}
		if _, err := w.WriteStructure(name, ci.Parameters, ci.Indexes); err != nil {
			return nil, fmt.Errorf("seed export of database %s: %w", x.db, err)
		}
		cr := &CollectionReport{Name: name, Type: "document", MaskKeys: maskKeys[name]}
		if ci.Type == 3 {
			cr.Type = "edge"
		}
		for _, r := range x.order[name] {
			if r.Documents > 0 {
				cr.Reasons = append(cr.Reasons, r)
			}
		}
		if cr.Reasons == nil {
			cr.Reasons = []*Reason{}
		}
		n, masked, err := x.writeCollection(w, name, maskKeys)
		if err != nil {
			return nil, err
		}
		// written: its documents are no longer needed
		delete(x.docs, name)
		delete(x.stores, name)
		x.account(0)
		cr.Documents, cr.Masked = n, masked
		rep.Documents += n
		rep.Collections = append(rep.Collections, cr)
	}
	if err := w.WriteEncryption(); err != nil {
		return nil, err
	}
	createdAt := x.o.CreatedAt
	if !x.o.Reproducible && createdAt == "" {
		createdAt = nowText()
	}
	if err := w.WriteDumpJSON(format.DumpMeta{Database: x.db, CreatedAt: createdAt, LastTickAtDumpStart: "0", Properties: x.inv.properties}); err != nil {
		return nil, err
	}
	if err := w.Finish(); err != nil {
		return nil, err
	}
	rep.Warnings = append(rep.Warnings, x.warnings...)
	return rep, nil
}

// writeCollection writes one collection's data file and returns its document count.
func (x *exporter) writeCollection(w *format.Writer, name string, maskKeys map[string]bool) (int64, bool, error) {
	what := fmt.Sprintf("seed export of database %s: collection %s", x.db, name)
	var keep [][]string
	for _, r := range x.o.References {
		if r.Collection == name {
			keep = append(keep, r.Path)
		}
	}
	for _, a := range x.o.Unmasked[name] {
		p, _ := parsePath(a)
		keep = append(keep, p)
	}
	var mk interface {
		MaskLines(dst *bytes.Buffer, lines []byte) error
		Uncovered() []string
	}
	if x.maskings != nil {
		if m := x.maskings.NewMaskerWith(name, dump.MaskerOptions{Keep: keep, Strict: x.o.StrictMaskings}); m != nil {
			mk = m
		}
	}
	// sort (output key, place in the store) pairs, then re-encode (keys masked, attributes
	// sorted) and write a window of documents at a time: the canonical lines of a whole
	// collection are never held, only those of one window
	type item struct {
		key string // output _key
		ref docRef
	}
	docs, st := x.docs[name], x.stores[name]
	items := make([]item, 0, len(docs))
	for k, e := range docs {
		items = append(items, item{k, e.ref})
	}
	workers := runtime.GOMAXPROCS(0)
	if maskKeys[name] {
		var g errgroup.Group
		for w := 0; w < workers; w++ {
			g.Go(func() error {
				for i := w; i < len(items); i += workers {
					items[i].key = x.maskings.MaskKey(items[i].key)
				}
				return nil
			})
		}
		_ = g.Wait()
	}
	slices.SortFunc(items, func(a, b item) int { return strings.Compare(a.key, b.key) })
	f, err := w.CreateDataFile(name, -1, x.o.CompressOutput)
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", what, err)
	}
	var buf bytes.Buffer
	flush := func() error {
		if buf.Len() == 0 {
			return nil
		}
		_, err := f.Write(buf.Bytes())
		buf.Reset()
		return err
	}
	// each worker appends its lines of a window to a buffer of its own, reused for the next
	type span struct{ w, lo, hi int }
	spans := make([]span, min(writeWindow, len(items)))
	streams := make([]*jsoniter.Stream, workers)
	for w := range streams {
		streams[w] = jsoniter.NewStream(canonicalJSON, nil, 64<<10)
	}
	for lo := 0; lo < len(items); lo += writeWindow {
		win := items[lo:min(lo+writeWindow, len(items))]
		var g errgroup.Group
		for w := 0; w < workers; w++ {
			g.Go(func() error {
				s := streams[w]
				s.SetBuffer(s.Buffer()[:0])
				for i := w; i < len(win); i += workers {
					start := s.Buffered()
					if err := x.canonical(s, st.get(win[i].ref), name, win[i].key, maskKeys); err != nil {
						return fmt.Errorf("%s: %w", what, err)
					}
					spans[i] = span{w, start, s.Buffered()}
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			_ = f.Abort()
			return 0, false, err
		}
		for i, sp := range spans[:len(win)] {
			l := streams[sp.w].Buffer()[sp.lo:sp.hi]
			if mk != nil {
				if err := mk.MaskLines(&buf, l); err != nil {
					_ = f.Abort()
					return 0, false, fmt.Errorf("%s: document %s: %w", what, win[i].key, err)
				}
			} else {
				buf.Write(l)
			}
			if buf.Len() >= flushBytes {
				if err := flush(); err != nil {
					_ = f.Abort()
					return 0, false, fmt.Errorf("%s: %w", what, err)
				}
			}
		}
	}
	if err := flush(); err != nil {
		_ = f.Abort()
		return 0, false, fmt.Errorf("%s: %w", what, err)
	}
	if mk != nil && x.o.StrictMaskings {
		if u := mk.Uncovered(); len(u) > 0 {
			_ = f.Abort()
			return 0, false, configErr("strict maskings: collection %s: attribute(s) %s covered by no masking rule in %s (add rules, list them under \"unmasked\" in the configuration file, or make the collection \"full\")",
				name, strings.Join(u, ", "), x.o.Maskings)
		}
	}
	if _, err := f.Commit(); err != nil {
		return 0, false, fmt.Errorf("%s: %w", what, err)
	}
	return int64(len(items)), mk != nil || maskKeys[name], nil
}

// canonicalJSON decodes numbers as their text (json.Number) and encodes objects with sorted
// keys, without HTML escaping.
var canonicalJSON = jsoniter.Config{SortMapKeys: true, EscapeHTML: false, UseNumber: true}.Froze()

// canonical re-encodes a document with its attributes sorted (at every level), without HTML
// escaping, numbers as the server wrote them; keys of collections in maskKeys are replaced
// by Maskings.MaskKey in _key, _id, _from, _to and the declared references; outKey is the
// document's output _key (Maskings.MaskKey of its key when its collection is in maskKeys).
// It appends the line, ending in a newline, to s.
func (x *exporter) canonical(s *jsoniter.Stream, raw []byte, coll, outKey string, maskKeys map[string]bool) error {
	var doc map[string]any
	if err := canonicalJSON.Unmarshal(raw, &doc); err != nil {
		return err
	}
	// _rev changes with every write and every restore of the source (a restore always gives
	// new revisions), which would make a seed set in git differ where its data does not.
	delete(doc, "_rev")
	if len(maskKeys) > 0 {
		mask := func(id string) string {
			if c, k, ok := strings.Cut(id, "/"); ok && maskKeys[c] {
				return c + "/" + x.maskings.MaskKey(k)
			}
			return id
		}
		if maskKeys[coll] {
			doc["_key"] = outKey
			if _, ok := doc["_id"]; ok {
				doc["_id"] = coll + "/" + outKey
			}
		}
		for _, a := range []string{"_from", "_to"} {
			if s, ok := doc[a].(string); ok {
				doc[a] = mask(s)
			}
		}
		for _, r := range x.o.References {
			if r.Collection != coll {
				continue
			}
			rewriteRef(doc, r.Path, func(s string) string {
				if r.Target == "" {
					return mask(s)
				}
				if maskKeys[r.Target] {
					return x.maskings.MaskKey(s)
				}
				return s
			})
		}
	}
	encodeCanonical(s, doc)
	s.WriteRaw("\n")
	return s.Error
}

// encodeCanonical writes a decoded value as canonicalJSON.Marshal does (objects with their
// keys sorted, numbers as their text, strings escaped without HTML escaping), without the
// intermediate buffers of its sorted-keys encoder.
func encodeCanonical(s *jsoniter.Stream, v any) {
	switch v := v.(type) {
	case nil:
		s.WriteNil()
	case bool:
		s.WriteBool(v)
	case string:
		s.WriteString(v)
	case json.Number:
		if v == "" {
			s.WriteRaw("0")
		} else {
			s.WriteRaw(string(v))
		}
	case map[string]any:
		if v == nil {
			s.WriteNil()
			return
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		s.WriteRaw("{")
		for i, k := range keys {
			if i > 0 {
				s.WriteRaw(",")
			}
			s.WriteString(k)
			s.WriteRaw(":")
			encodeCanonical(s, v[k])
		}
		s.WriteRaw("}")
	case []any:
		if v == nil {
			s.WriteNil()
			return
		}
		s.WriteRaw("[")
		for i, e := range v {
			if i > 0 {
				s.WriteRaw(",")
			}
			encodeCanonical(s, e)
		}
		s.WriteRaw("]")
	default:
		s.WriteVal(v)
	}
}

// rewriteRef applies fn to the string (or the strings of the array) at path.
func rewriteRef(doc map[string]any, path []string, fn func(string) string) {
	m := doc
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			return
		}
		m = next
	}
	last := path[len(path)-1]
	switch v := m[last].(type) {
	case string:
		m[last] = fn(v)
	case []any:
		for i, e := range v {
			if s, ok := e.(string); ok {
				v[i] = fn(s)
			}
		}
	}
}

func nowText() string { return time.Now().UTC().Format("2006-01-02T15:04:05Z") }
