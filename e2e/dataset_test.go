package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/arangobackup/godump/client"
)

// The standard data set: what every round-trip test seeds, dumps, restores and compares.
// Everything is written with explicit keys, so that the expected state is known without
// asking the code under test.

// Doc is a document as the tests compare it: decoded with json.Number for exact numbers.
type Doc = map[string]any

// seededCollection is what a test put into one collection.
type seededCollection struct {
	Name    string
	Type    int            // 2 document, 3 edge
	Docs    map[string]Doc // by _key, as sent (without _id/_rev)
	Indexes []Doc          // index definitions as sent to POST /_api/index
	Props   Doc            // properties as sent to POST /_api/collection
}

// seededDB is what a test put into one database.
type seededDB struct {
	Name        string
	Collections map[string]*seededCollection
	Views       []string
	Analyzers   []string
	Graphs      []string
}

// Names of the standard data set.
const (
	collCustomers = "customers"
	collOrders    = "orders"
	collKnows     = "knows"
	collBlobs     = "blobs"
)

// Keys using every character class ArangoDB allows in a key.
var specialKeys = []string{"a:b", "x@y.z", "p(1)", "q'2'", "r%41", "s+t=u", "v,w;x", "y$z!", "star*", "dash-under_score", "dot.dot"}

// edgeNumbers are numbers at the edges of what JSON and doubles hold.
var edgeNumbers = []json.Number{
	"1.7976931348623157e+308", "-1.7976931348623157e+308", "5e-324", "2.2250738585072014e-308",
	"9007199254740991", "-9007199254740991", "0", "-1", "0.1", "123456789.123456789", "1e+21",
}

// seedStandard creates database db on tg and fills it with the standard data set.
func seedStandard(t testing.TB, tg *target, db string) *seededDB {
	t.Helper()
	tg.createDatabase(t, db)
	c := tg.conn(t, db)
	ctx := context.Background()
	s := &seededDB{Name: db, Collections: map[string]*seededCollection{}}
	create := func(name string, typ int, props Doc) *seededCollection {
		body := Doc{"name": name, "type": typ}
		for k, v := range props {
			body[k] = v
		}
		must(t, c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/collection", JSON: body}, nil), "create collection "+name)
		sc := &seededCollection{Name: name, Type: typ, Docs: map[string]Doc{}, Props: props}
		s.Collections[name] = sc
		return sc
	}

	customers := create(collCustomers, 2, Doc{"keyOptions": Doc{"type": "traditional", "allowUserKeys": true}, "waitForSync": false,
		"schema":         Doc{"rule": Doc{"type": "object"}, "level": "moderate", "message": "customers are objects"},
		"computedValues": []Doc{{"name": "nameLower", "expression": "RETURN LOWER(@doc.name)", "overwrite": true, "computeOn": []string{"insert", "update", "replace"}}}})
	names := []string{"Zoë", "Jürgen", "Ŝarlotta", "李小龙", "Αλέξανδρος", "Владимир", "محمد", "😀 Emoji", "O'Brien", `Quote "q" \ backslash`, "tab\there", "new\nline"}
	for i := 0; i < 600; i++ {
		key := fmt.Sprintf("c%04d", i)
		if i < len(specialKeys) {
			key = specialKeys[i]
		}
		d := Doc{
			"_key":     key,
			"name":     names[i%len(names)] + " " + strconv.Itoa(i),
			"email":    fmt.Sprintf("user%d@example.com", i),
			"age":      json.Number(strconv.Itoa(18 + i%70)),
			"balance":  edgeNumbers[i%len(edgeNumbers)],
			"tags":     []any{"t" + strconv.Itoa(i%7), "ü", json.Number("1"), nil, true},
			"address":  Doc{"city": "Köln", "zip": fmt.Sprintf("%05d", i), "geo": []any{json.Number("6.95"), json.Number("50.93")}},
			"location": []any{json.Number(fmt.Sprintf("%d.%d", 40+i%10, i%100)), json.Number(fmt.Sprintf("%d.%d", i%10, i%100))},
			"bio":      "Ein Kunde aus Köln, der gern liest " + strconv.Itoa(i),
			"expireAt": json.Number("4102444800"),
		}
		if i%3 == 0 {
			d["nick"] = "nick" + strconv.Itoa(i)
		}
		customers.Docs[key] = d
	}
	orders := create(collOrders, 2, Doc{"keyOptions": Doc{"type": "padded", "allowUserKeys": true}})
	for i := 0; i < 300; i++ {
		key := fmt.Sprintf("o%05d", i)
		orders.Docs[key] = Doc{"_key": key, "customer": "customers/c" + fmt.Sprintf("%04d", 100+i%400), "total": json.Number(strconv.Itoa(i * 7)), "items": []any{Doc{"sku": "A" + strconv.Itoa(i), "qty": json.Number("2")}}}
	}
	knows := create(collKnows, 3, nil)
	for i := 0; i < 400; i++ {
		key := fmt.Sprintf("k%d", i)
		knows.Docs[key] = Doc{"_key": key, "_from": fmt.Sprintf("customers/c%04d", 100+i%300), "_to": fmt.Sprintf("customers/c%04d", 100+(i*7)%300), "since": json.Number(strconv.Itoa(2000 + i%25))}
	}
	blobs := create(collBlobs, 2, nil)
	for i := 0; i < 3; i++ {
		key := fmt.Sprintf("blob%d", i)
		big := strings.Repeat(fmt.Sprintf("%c-ß-€-%d;", 'a'+i, i), 1<<20/12)
		blobs.Docs[key] = Doc{"_key": key, "data": big, "size": json.Number(strconv.Itoa(len(big)))}
	}
	for _, sc := range s.Collections {
		insertDocs(t, c, sc)
	}

	customers.Indexes = []Doc{
		{"type": "persistent", "fields": []string{"email"}, "unique": true, "name": "byEmail"},
		{"type": "persistent", "fields": []string{"nick"}, "sparse": true, "name": "byNick"},
		{"type": "persistent", "fields": []string{"age", "name"}, "name": "byAgeName", "storedValues": []string{"balance"}, "cacheEnabled": true},
		{"type": "ttl", "fields": []string{"expireAt"}, "expireAfter": 3600, "name": "expiry"},
		{"type": "geo", "fields": []string{"location"}, "geoJson": false, "name": "geoLoc"},
		{"type": "fulltext", "fields": []string{"bio"}, "minLength": 3, "name": "fullBio"},
		{"type": "inverted", "fields": []any{Doc{"name": "name"}, Doc{"name": "bio"}}, "name": "invName"},
	}
	orders.Indexes = []Doc{{"type": "persistent", "fields": []string{"customer"}, "name": "byCustomer"}}
	knows.Indexes = []Doc{{"type": "persistent", "fields": []string{"_from", "since"}, "name": "fromSince"}}
	for _, sc := range s.Collections {
		for _, idx := range sc.Indexes {
			q := map[string][]string{"collection": {sc.Name}}
			must(t, c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/index", Query: q, JSON: idx}, nil), "create index on "+sc.Name)
		}
	}

	must(t, c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/analyzer", JSON: Doc{"name": "csv", "type": "delimiter", "properties": Doc{"delimiter": ","}, "features": []string{"frequency"}}}, nil), "create analyzer")
	s.Analyzers = []string{"csv"}
	must(t, c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/view", JSON: Doc{"name": "customersView", "type": "arangosearch",
		"links": Doc{collCustomers: Doc{"analyzers": []string{"identity", "csv"}, "fields": Doc{"bio": Doc{}, "tags": Doc{}}, "includeAllFields": false}}}}, nil), "create arangosearch view")
	must(t, c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/view", JSON: Doc{"name": "customersAlias", "type": "search-alias",
		"indexes": []Doc{{"collection": collCustomers, "index": "invName"}}}}, nil), "create search-alias view")
	s.Views = []string{"customersView", "customersAlias"}
	must(t, c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/gharial", JSON: Doc{"name": "social",
		"edgeDefinitions": []Doc{{"collection": collKnows, "from": []string{collCustomers}, "to": []string{collCustomers}}}}}, nil), "create graph")
	s.Graphs = []string{"social"}
	return s
}

// insertDocs sends sc.Docs in batches through the document API.
func insertDocs(t testing.TB, c *client.Conn, sc *seededCollection) {
	t.Helper()
	keys := sortedKeys(sc.Docs)
	for len(keys) > 0 {
		n := min(len(keys), 200)
		batch := make([]Doc, 0, n)
		for _, k := range keys[:n] {
			batch = append(batch, sc.Docs[k])
		}
		keys = keys[n:]
		var res []Doc
		must(t, c.DoJSON(context.Background(), client.Request{Method: "POST", Path: "/_api/document/" + url.PathEscape(sc.Name), JSON: batch}, &res), "insert into "+sc.Name)
		for _, r := range res {
			if r["error"] == true {
				t.Fatalf("insert into %s: %v", sc.Name, r)
			}
		}
	}
}

func must(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// serverDocs reads every document of a collection through an AQL cursor.
func serverDocs(t testing.TB, tg *target, db, coll string) map[string]Doc {
	t.Helper()
	return docsOver(t, tg.conn(t, db), db, coll)
}

func decodeDoc(t testing.TB, raw []byte) Doc {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var d Doc
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("decode %q: %v", truncate(raw), err)
	}
	return d
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

// dumpDocs reads a collection's documents from a dump directory with code of its own (not
// format/): every data file of the collection (plain, gzip, split), envelopes and removals.
func dumpDocs(t testing.TB, dir, coll string) map[string]Doc {
	t.Helper()
	files := dataFilesOf(t, dir, coll)
	if len(files) == 0 {
		t.Fatalf("no data file for collection %s in %s", coll, dir)
	}
	out := map[string]Doc{}
	for _, f := range files {
		readLines(t, f, func(line []byte) {
			d := decodeDoc(t, line)
			if typ, ok := d["type"].(json.Number); ok {
				if _, hasData := d["data"]; hasData || typ == "2302" {
					switch typ {
					case "2300", "2301":
						doc := d["data"].(map[string]any)
						out[doc["_key"].(string)] = doc
					case "2302":
						key, _ := d["key"].(string)
						if key == "" {
							if data, ok := d["data"].(map[string]any); ok {
								key, _ = data["_key"].(string)
							}
						}
						delete(out, key)
					}
					return
				}
			}
			out[d["_key"].(string)] = d
		})
	}
	return out
}

// dataFilesOf lists a collection's data files in a dump directory, split parts in order.
func dataFilesOf(t testing.TB, dir, coll string) []string {
	t.Helper()
	sum := md5.Sum([]byte(coll))
	hash := hex.EncodeToString(sum[:])
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	// An extended name (3.12) names the files by the collection's id instead: the structure
	// file whose parameters.name is coll says which stem.
	stem := coll
	for _, e := range entries {
		n := e.Name()
		if !strings.HasSuffix(n, ".structure.json") {
			continue
		}
		var st struct {
			Parameters struct {
				Name string `json:"name"`
			} `json:"parameters"`
		}
		if b, err := os.ReadFile(filepath.Join(dir, n)); err == nil && json.Unmarshal(b, &st) == nil && st.Parameters.Name == coll {
			stem = strings.TrimSuffix(strings.TrimSuffix(n, ".structure.json"), "_"+hash)
		}
	}
	pat := regexp.MustCompile(`^` + regexp.QuoteMeta(stem) + `(_` + hash + `)?(\.(\d+))?\.data\.json(\.gz)?$`)
	type part struct {
		n    int
		path string
	}
	var parts []part
	for _, e := range entries {
		m := pat.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		n := -1
		if m[3] != "" {
			n, _ = strconv.Atoi(m[3])
		}
		parts = append(parts, part{n, filepath.Join(dir, e.Name())})
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].n < parts[j].n })
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = p.path
	}
	return out
}

// readLines calls fn for every non-empty line of a (possibly gzipped) file.
func readLines(t testing.TB, path string, fn func([]byte)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r = zr
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			fn(sc.Bytes())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// compareDocs checks that got holds exactly the documents of want, field by field. System
// attributes the server assigns (_id, _rev) and fields listed in ignore are not compared.
func compareDocs(t testing.TB, what string, want, got map[string]Doc, ignore ...string) {
	t.Helper()
	skip := map[string]bool{"_id": true, "_rev": true}
	for _, f := range ignore {
		skip[f] = true
	}
	if len(want) != len(got) {
		t.Errorf("%s: %d documents, want %d", what, len(got), len(want))
	}
	bad := 0
	for _, k := range sortedKeys(want) {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: document %q missing", what, k)
			if bad++; bad > 10 {
				t.Fatalf("%s: too many differences", what)
			}
			continue
		}
		w := want[k]
		for f, wv := range w {
			if skip[f] {
				continue
			}
			if !jsonEqual(wv, g[f]) {
				t.Errorf("%s: document %q field %q = %s, want %s", what, k, f, short(g[f]), short(wv))
				bad++
			}
		}
		for f := range g {
			if _, ok := w[f]; !ok && !skip[f] && f != "_key" && !strings.HasPrefix(f, "_") && f != "nameLower" {
				t.Errorf("%s: document %q has extra field %q", what, k, f)
				bad++
			}
		}
		if bad > 10 {
			t.Fatalf("%s: too many differences", what)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected document %q", what, k)
			if bad++; bad > 10 {
				t.Fatalf("%s: too many differences", what)
			}
		}
	}
}

func short(v any) string {
	b, _ := json.Marshal(v)
	return truncate(b)
}

// jsonEqual compares two decoded JSON values; numbers compare by value (exact for integers).
func jsonEqual(a, b any) bool {
	a, b = normalizeJSON(a), normalizeJSON(b)
	return reflect.DeepEqual(a, b)
}

func normalizeJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return float64(i) // exact below 2^53, which is what the data set uses
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil && !math.IsInf(f, 0) {
			return string(x)
		}
		return f
	case float64:
		return x
	case int:
		return float64(x)
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeJSON(e)
		}
		return out
	case []Doc:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeJSON(map[string]any(e))
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalizeJSON(e)
		}
		return out
	}
	return v
}

// serverIndexes lists a collection's indexes by name (primary and edge indexes left out).
func serverIndexes(t testing.TB, tg *target, db, coll string) map[string]Doc {
	t.Helper()
	c := tg.conn(t, db)
	var res struct {
		Indexes []json.RawMessage `json:"indexes"`
	}
	must(t, c.DoJSON(context.Background(), client.Request{Method: "GET", Path: "/_api/index", Query: map[string][]string{"collection": {coll}}}, &res), "list indexes of "+coll)
	out := map[string]Doc{}
	for _, raw := range res.Indexes {
		d := decodeDoc(t, raw)
		if d["type"] == "primary" || d["type"] == "edge" {
			continue
		}
		out[fmt.Sprint(d["name"])] = d
	}
	return out
}

// checkIndexes asserts that the server holds every index of sc with the fields, type and the
// options it was created with.
func checkIndexes(t testing.TB, tg *target, db string, sc *seededCollection) {
	t.Helper()
	got := serverIndexes(t, tg, db, sc.Name)
	if len(got) != len(sc.Indexes) {
		t.Errorf("collection %s: %d indexes, want %d (%v)", sc.Name, len(got), len(sc.Indexes), sortedKeys(got))
	}
	for _, want := range sc.Indexes {
		name := want["name"].(string)
		g, ok := got[name]
		if !ok {
			t.Errorf("collection %s: index %s missing", sc.Name, name)
			continue
		}
		for _, f := range []string{"type", "unique", "sparse", "expireAfter", "geoJson", "minLength", "storedValues", "cacheEnabled"} {
			if wv, ok := want[f]; ok && !jsonEqual(wv, g[f]) {
				t.Errorf("collection %s index %s: %s = %v, want %v", sc.Name, name, f, g[f], wv)
			}
		}
		if want["type"] != "inverted" && !jsonEqual(want["fields"], g["fields"]) {
			t.Errorf("collection %s index %s: fields = %v, want %v", sc.Name, name, g["fields"], want["fields"])
		}
	}
}
