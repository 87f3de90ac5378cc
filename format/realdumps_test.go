package format

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"github.com/arangobackup/godump/internal/realdumps"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// requireRealDumps: see realdumps.Require.
func requireRealDumps(t *testing.T) string { return realdumps.Require(t) }

// independentCollection is what the test reads from a real dump on its own,
// with encoding/json and compress/gzip only.
type independentCollection struct {
	name    string
	typ     int
	indexes []any
	docs    int // after applying removals
}

// readIndependent reads a structure file and its data file the simplest
// way: the data file is <stem-without-hash>_<md5>.data.json[.gz].
func readIndependent(t *testing.T, dir, structFile string) independentCollection {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, structFile))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Indexes    []map[string]any `json:"indexes"`
		Parameters map[string]any   `json:"parameters"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	ic := independentCollection{name: s.Parameters["name"].(string), typ: 2}
	if tv, ok := s.Parameters["type"].(float64); ok {
		ic.typ = int(tv)
	}
	idx := s.Indexes
	if len(idx) == 0 {
		if old, ok := s.Parameters["indexes"].([]any); ok {
			for _, o := range old {
				idx = append(idx, o.(map[string]any))
			}
		}
	}
	for _, i := range idx {
		if i["type"] == "primary" || i["type"] == "edge" {
			continue
		}
		ic.indexes = append(ic.indexes, any(i))
	}
	base := ic.name + "_" + NameMD5(ic.name) + ".data.json"
	var r io.Reader
	if f, err := os.Open(filepath.Join(dir, base)); err == nil {
		defer f.Close()
		r = f
	} else if f, err := os.Open(filepath.Join(dir, base+".gz")); err == nil {
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	} else {
		return ic // structure-only
	}
	keys := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		// Only the members that matter; encoding/json still checks the
		// whole line.
		var m struct {
			Type   json.RawMessage `json:"type"`
			DocKey *string         `json:"_key"`
			EnvKey string          `json:"key"`
			Data   json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		if m.DocKey == nil {
			var data struct {
				Key string `json:"_key"`
			}
			if len(m.Data) > 0 {
				if err := json.Unmarshal(m.Data, &data); err != nil {
					t.Fatalf("%s: %v", base, err)
				}
			}
			switch string(m.Type) {
			case "2300", "2301":
				keys[data.Key] = true
				continue
			case "2302":
				k := m.EnvKey
				if k == "" {
					k = data.Key
				}
				delete(keys, k)
				continue
			}
			t.Fatalf("%s: line without _key: %s", base, sc.Bytes())
		}
		keys[*m.DocKey] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	ic.docs = len(keys)
	return ic
}

// countWithReader counts the documents the format package reads, applying
// removals.
func countWithReader(t *testing.T, c *Collection) int {
	t.Helper()
	countCache.Lock()
	n, ok := countCache.m[c.StructureFile]
	countCache.Unlock()
	if ok {
		return n
	}
	n = countWithReaderUncached(t, c)
	countCache.Lock()
	countCache.m[c.StructureFile] = n
	countCache.Unlock()
	return n
}

// countCache shares the counts of the two real-dump tests (the data are
// read-only), which keeps the race-detector run short.
var countCache = struct {
	sync.Mutex
	m map[string]int
}{m: map[string]int{}}

func countWithReaderUncached(t *testing.T, c *Collection) int {
	r, err := c.OpenData()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	keys := map[string]bool{}
	for r.Next() {
		l := r.Line()
		switch l.Kind {
		case KindRemove:
			if l.Key == "" {
				t.Fatalf("%s line %d: removal without key", l.File, l.Number)
			}
			delete(keys, l.Key)
		case KindDocument, KindInsert:
			var d struct {
				Key string `json:"_key"`
			}
			if err := json.Unmarshal(l.Doc, &d); err != nil || d.Key == "" {
				t.Fatalf("%s line %d: document without _key: %v", l.File, l.Number, err)
			}
			keys[d.Key] = true
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return len(keys)
}

func decodeAll(t *testing.T, raws []json.RawMessage) []any {
	var out []any
	for _, r := range raws {
		var v any
		if err := json.Unmarshal(r, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func TestRealDumps(t *testing.T) {
	entries, err := os.ReadDir(requireRealDumps(t))
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		seen++
		dir := filepath.Join(realdumps.Path, e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			t.Parallel() // read-only data; uses both cores
			d, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			if d.AllDatabases || len(d.Databases) != 1 {
				t.Fatalf("want one database, got %d (all=%v)", len(d.Databases), d.AllDatabases)
			}
			if len(d.Warnings) > 0 {
				t.Errorf("warnings: %q", d.Warnings)
			}
			db := d.Databases[0]
			files, _ := os.ReadDir(dir)
			want := map[string]independentCollection{}
			for _, f := range files {
				if strings.HasSuffix(f.Name(), ".structure.json") {
					ic := readIndependent(t, dir, f.Name())
					want[ic.name] = ic
				}
			}
			if len(db.Collections) != len(want) {
				t.Fatalf("collections: got %d, want %d", len(db.Collections), len(want))
			}
			for _, c := range db.Collections {
				w, ok := want[c.Name]
				if !ok {
					t.Errorf("unexpected collection %q", c.Name)
					continue
				}
				if c.Type != w.typ {
					t.Errorf("%s: type %d, want %d", c.Name, c.Type, w.typ)
				}
				if got := decodeAll(t, c.Indexes); !reflect.DeepEqual(got, w.indexes) {
					t.Errorf("%s: indexes\n got %v\nwant %v", c.Name, got, w.indexes)
				}
				if got := countWithReader(t, c); got != w.docs {
					t.Errorf("%s: %d documents, want %d", c.Name, got, w.docs)
				}
				if c.IsSystem != strings.HasPrefix(c.Name, "_") {
					t.Errorf("%s: IsSystem %v", c.Name, c.IsSystem)
				}
			}
		})
	}
	if seen < 11 {
		t.Errorf("only %d real dumps found", seen)
	}
}

// TestRealDumpsByHand checks per-dump figures counted by hand with Python
// one-liners (json + gzip modules) while writing this test: collections, edge
// collections, secondary indexes, documents after applying removals, views.
func TestRealDumpsByHand(t *testing.T) {
	type figures struct{ colls, edges, indexes, docs, views int }
	want := map[string]figures{
		"brightid-2019-schema": {11, 5, 4, 0, 0},
		"docman":               {4, 1, 0, 16, 0},
		"foxx-geo-s2":          {2, 0, 0, 25554, 0},
		"gottrivia-view":       {3, 1, 0, 740, 1},
		"hcmc-transport-312":   {8, 3, 0, 77, 0},
		"it-entity-resolution": {24, 7, 3, 4015, 0},
		"it-imdb-with-ratings": {3, 1, 0, 68124, 0},
		"it-instacart":         {6, 0, 6, 316052, 0},
		"it-retail-eonb1":      {20, 11, 0, 14, 0},
		"ktracsdl-fitness":     {18, 9, 9, 178, 0},
		// 435 envelope lines of which 10 are removals; many keys are
		// inserted more than once.
		"nkc2-forum-2x": {10, 0, 0, 264, 0},
	}
	requireRealDumps(t)
	for name, w := range want {
		t.Run(name, func(t *testing.T) {
			d, err := Open(filepath.Join(realdumps.Path, name))
			if err != nil {
				t.Fatal(err)
			}
			db := d.Databases[0]
			var got figures
			got.colls = len(db.Collections)
			got.views = len(db.Views)
			for _, c := range db.Collections {
				if c.Type == TypeEdge {
					got.edges++
				}
				got.indexes += len(c.Indexes)
				got.docs += countWithReader(t, c)
			}
			if got != w {
				t.Errorf("got %+v, want %+v", got, w)
			}
		})
	}
	// Details checked by hand.
	d, err := Open(filepath.Join(realdumps.Path, "gottrivia-view"))
	if err != nil {
		t.Fatal(err)
	}
	db := d.Databases[0]
	if db.Name != "familyTree" || db.Meta == nil || db.Meta.UseEnvelope || !db.Meta.HasUseEnvelope {
		t.Errorf("gottrivia-view meta: %q %+v", db.Name, db.Meta)
	}
	if v := db.Views[0]; v.Name != "test" || v.Type != "arangosearch" {
		t.Errorf("gottrivia-view view: %q %q", v.Name, v.Type)
	}
	d, err = Open(filepath.Join(realdumps.Path, "it-imdb-with-ratings"))
	if err != nil {
		t.Fatal(err)
	}
	movies := d.Databases[0].Collection("Movies")
	if movies == nil || movies.DistributeShardsLike != "_graphs" || movies.ReplicationFactor != "3" || movies.NumberOfShards != 1 ||
		movies.WriteConcern != 1 || !reflect.DeepEqual(movies.ShardKeys, []string{"_key"}) || movies.ID != "2730595280" {
		t.Errorf("imdb Movies: %+v", movies)
	}
	if len(movies.DataFiles) != 1 || !movies.DataFiles[0].Compressed || movies.DataFiles[0].Part != -1 ||
		movies.DataFiles[0].Name != "Movies_80662e1f485e79d07ef4973f6b1b9f88.data.json.gz" {
		t.Errorf("imdb Movies data files: %+v", movies.DataFiles)
	}
	d, err = Open(filepath.Join(realdumps.Path, "nkc2-forum-2x"))
	if err != nil {
		t.Fatal(err)
	}
	if db := d.Databases[0]; db.Encryption != "" || db.Meta.HasUseEnvelope || db.Name != "nkc" || db.Meta.LastTickAtDumpStart != "525748939043" {
		t.Errorf("nkc2 meta: %q %q %+v", db.Name, db.Encryption, db.Meta)
	}
}
