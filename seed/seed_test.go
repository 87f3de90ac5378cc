package seed

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/arangobackup/godump/arangotest"
	"github.com/arangobackup/godump/client"
	"github.com/arangobackup/godump/dump"
	"github.com/arangobackup/godump/restore"
)

// The test data set ("shop"): 200 users (country DE, FR or US), each knowing three others
// (knows, users -> users, plus one edge to a user that does not exist), 50 products, 400
// orders with customerId (a users key; one dangling, "ghost") and items (_id-style product
// references), and a graph "social" over knows.
const (
	nUsers    = 200
	nProducts = 50
	nOrders   = 400
)

func startServer(t testing.TB) *client.Conn {
	t.Helper()
	s, err := arangotest.NewServer(arangotest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	copts := client.DefaultOptions()
	copts.Endpoints, copts.Authentication = []string{s.Endpoint()}, false
	conn, err := client.Connect(context.Background(), copts)
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

func do(t testing.TB, conn *client.Conn, method, db, path string, body any) {
	t.Helper()
	if err := conn.DoJSON(context.Background(), client.Request{Method: method, Database: db, Path: path, JSON: body}, nil); err != nil {
		t.Fatal(err)
	}
}

func userKey(i int) string { return fmt.Sprintf("u%03d", i) }

func seedShop(t testing.TB, conn *client.Conn) {
	t.Helper()
	do(t, conn, "POST", "_system", "/_api/database", map[string]any{"name": "shop"})
	for _, c := range []struct {
		name string
		typ  int
	}{{"users", 2}, {"products", 2}, {"orders", 2}, {"knows", 3}, {"audit", 2}} {
		do(t, conn, "POST", "shop", "/_api/collection", map[string]any{"name": c.name, "type": c.typ})
	}
	do(t, conn, "POST", "shop", "/_api/index?collection=users", map[string]any{"type": "persistent", "fields": []string{"email"}, "unique": true, "name": "byEmail"})
	countries := []string{"DE", "FR", "US"}
	var users, knows, products, orders, audit []map[string]any
	for i := 0; i < nUsers; i++ {
		users = append(users, map[string]any{"_key": userKey(i), "name": fmt.Sprintf("User <%d> & Co", i), "email": fmt.Sprintf("user%d@example.com", i),
			"country": countries[i%3], "address": map[string]any{"city": "Köln", "zip": fmt.Sprintf("%05d", i)}, "z": i, "a": true})
		for _, j := range []int{(i + 1) % nUsers, (i + 7) % nUsers, (i * 3) % nUsers} {
			knows = append(knows, map[string]any{"_key": fmt.Sprintf("k%d_%d", i, j), "_from": "users/" + userKey(i), "_to": "users/" + userKey(j), "since": 2000 + i%20})
		}
	}
	knows = append(knows, map[string]any{"_key": "kdangling", "_from": "users/" + userKey(5), "_to": "users/nobody"})
	for i := 1; i <= nProducts; i++ {
		products = append(products, map[string]any{"_key": fmt.Sprintf("p%d", i), "name": fmt.Sprintf("Product %d", i), "price": float64(i) * 1.5})
	}
	for i := 0; i < nOrders; i++ {
		cust := userKey((i * 13) % nUsers)
		if i == 17 {
			cust = "ghost"
		}
		orders = append(orders, map[string]any{"_key": fmt.Sprintf("o%04d", i), "customerId": cust, "total": i * 3,
			"items": []string{fmt.Sprintf("products/p%d", 1+i%nProducts), fmt.Sprintf("products/p%d", 1+(i*7)%nProducts)}})
	}
	for i := 0; i < 30; i++ {
		audit = append(audit, map[string]any{"_key": fmt.Sprintf("a%d", i), "what": "login"})
	}
	for name, docs := range map[string][]map[string]any{"users": users, "knows": knows, "products": products, "orders": orders, "audit": audit} {
		do(t, conn, "POST", "shop", "/_api/document/"+name, docs)
	}
	do(t, conn, "POST", "shop", "/_api/gharial", map[string]any{"name": "social",
		"edgeDefinitions": []map[string]any{{"collection": "knows", "from": []string{"users"}, "to": []string{"users"}}}})
}

func baseOptions(t testing.TB) Options {
	o := DefaultOptions()
	o.Database = "shop"
	o.OutputDirectory = filepath.Join(t.TempDir(), "seed")
	o.Seed = "42"
	return o
}

// readExport reads the data files of an uncompressed export: collection -> key -> document.
func readExport(t testing.TB, dir string) map[string]map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]map[string]any{}
	files, _ := filepath.Glob(filepath.Join(dir, "*.data.json"))
	for _, f := range files {
		coll := strings.SplitN(filepath.Base(f), ".", 2)[0]
		if i := strings.LastIndexByte(coll, '_'); i > 0 && len(coll)-i == 33 {
			coll = coll[:i]
		}
		out[coll] = map[string]map[string]any{}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var prev string
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var d map[string]any
			if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if names := topLevelNames(t, sc.Bytes()); !sort.StringsAreSorted(names) {
				t.Fatalf("%s: attributes not sorted: %v", f, names)
			}
			k := d["_key"].(string)
			if k <= prev {
				t.Fatalf("%s: key %q after %q: not sorted by key", f, k, prev)
			}
			prev = k
			out[coll][k] = d
		}
	}
	return out
}

func reasonCount(rep *Report, coll, prefix string) int64 {
	for _, c := range rep.Collections {
		if c.Name == coll {
			var n int64
			for _, r := range c.Reasons {
				if strings.HasPrefix(r.Why, prefix) {
					n += r.Documents
				}
			}
			return n
		}
	}
	return -1
}

func collReport(rep *Report, coll string) *CollectionReport {
	for _, c := range rep.Collections {
		if c.Name == coll {
			return c
		}
	}
	return nil
}

// checkClosed asserts that every edge's ends and every declared reference are in the export
// (except the dangling ones of the source data, which must be warned about).
func checkClosed(t *testing.T, ex map[string]map[string]map[string]any, rep *Report) {
	t.Helper()
	in := func(id string) bool {
		c, k, _ := strings.Cut(id, "/")
		_, ok := ex[c][k]
		return ok
	}
	for k, e := range ex["knows"] {
		for _, a := range []string{"_from", "_to"} {
			if !in(e[a].(string)) {
				t.Errorf("edge knows/%s: %s %s is not in the export", k, a, e[a])
			}
		}
	}
	for k, o := range ex["orders"] {
		if c := o["customerId"].(string); c != "ghost" && !in("users/"+c) {
			t.Errorf("order %s: customer %s is not in the export", k, c)
		}
		for _, it := range o["items"].([]any) {
			if !in(it.(string)) {
				t.Errorf("order %s: item %s is not in the export", k, it)
			}
		}
	}
	for coll, docs := range ex {
		if c := collReport(rep, coll); c == nil || c.Documents != int64(len(docs)) {
			t.Errorf("collection %s: %d documents in the files, report %+v", coll, len(docs), c)
		}
	}
}

func TestSampleClosureReferences(t *testing.T) {
	conn := startServer(t)
	seedShop(t, conn)
	o := baseOptions(t)
	for _, s := range []string{"users=10", "orders=5%"} {
		if err := o.AddSample(s); err != nil {
			t.Fatal(err)
		}
	}
	f, _ := ParseFollow("knows:out:2")
	o.Follow = []Follow{f}
	for _, r := range []string{"orders.customerId=users", "orders.items"} {
		ref, err := ParseReference(r)
		if err != nil {
			t.Fatal(err)
		}
		o.References = append(o.References, ref)
	}
	rep, err := Run(context.Background(), conn, o)
	if err != nil {
		t.Fatal(err)
	}
	ex := readExport(t, o.OutputDirectory)
	checkClosed(t, ex, rep)
	if n := reasonCount(rep, "users", "sampled 10 of 200"); n != 10 {
		t.Errorf("users sampled: %d, want 10; report %+v", n, collReport(rep, "users").Reasons)
	}
	// 5% of 400 by hash threshold: about 20; exactly what the hash says
	var want int64
	threshold := float64(0.05)
	for i := 0; i < nOrders; i++ {
		if float64(rank("42", "orders", fmt.Sprintf("o%04d", i))) < threshold*(1<<63)*2 {
			want++
		}
	}
	if n := reasonCount(rep, "orders", "sampled 5%"); n != want || len(ex["orders"]) != int(want) {
		t.Errorf("orders: %d sampled, %d in the files, want %d", n, len(ex["orders"]), want)
	}
	if len(ex["knows"]) == 0 || reasonCount(rep, "knows", "followed from users via knows (out, depth 2)") == 0 {
		t.Errorf("knows: %d edges, reasons %+v", len(ex["knows"]), collReport(rep, "knows"))
	}
	if _, ok := ex["audit"]; ok {
		t.Errorf("audit exported with --others none")
	}
	if _, err := os.Stat(filepath.Join(o.OutputDirectory, "audit.structure.json")); err == nil {
		t.Errorf("audit structure written with --others none")
	}
	var dangling bool
	for _, w := range rep.Warnings {
		if strings.Contains(w, "users/ghost") {
			dangling = true
		}
	}
	if want := ex["orders"]["o0017"] != nil; dangling != want {
		t.Errorf("dangling reference to users/ghost warned: %v, order o0017 exported: %v; warnings %q", dangling, want, rep.Warnings)
	}
	// depth 2 without a cap: the out-edges of every sampled user and of the users they know
	sampled := smallestRanks("42", "users", allUsers(func(int) bool { return true }), 10)
	for _, u := range sampled {
		for _, j := range outNeighbours(u) {
			for _, k := range outNeighbours(j) {
				if ex["knows"][fmt.Sprintf("k%d_%d", j, k)] == nil {
					t.Errorf("edge k%d_%d (depth 2 from sampled user %d) missing", j, k, u)
				}
			}
		}
	}
}

func outNeighbours(i int) []int { return []int{(i + 1) % nUsers, (i + 7) % nUsers, (i * 3) % nUsers} }

func allUsers(keep func(int) bool) []int {
	var out []int
	for i := 0; i < nUsers; i++ {
		if keep(i) {
			out = append(out, i)
		}
	}
	return out
}

// smallestRanks returns the n users of the smallest keyed hash.
func smallestRanks(seed, coll string, users []int, n int) []int {
	sort.Slice(users, func(a, b int) bool { return rank(seed, coll, userKey(users[a])) < rank(seed, coll, userKey(users[b])) })
	return users[:n]
}

func TestSampleIsDeterministicAndSeeded(t *testing.T) {
	conn := startServer(t)
	seedShop(t, conn)
	keysOf := func(seed string) []string {
		o := baseOptions(t)
		o.Seed = seed
		_ = o.AddSample("users=15")
		if _, err := Run(context.Background(), conn, o); err != nil {
			t.Fatal(err)
		}
		var keys []string
		for k := range readExport(t, o.OutputDirectory)["users"] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return keys
	}
	a, b, c := keysOf("1"), keysOf("1"), keysOf("2")
	if len(a) != 15 || strings.Join(a, ",") != strings.Join(b, ",") {
		t.Fatalf("same seed, different samples:\n%v\n%v", a, b)
	}
	if strings.Join(a, ",") == strings.Join(c, ",") {
		t.Errorf("seeds 1 and 2 chose the same sample %v", a)
	}
	// the sample is the 15 smallest ranks
	var all []string
	for i := 0; i < nUsers; i++ {
		all = append(all, userKey(i))
	}
	sort.Slice(all, func(i, j int) bool { return rank("1", "users", all[i]) < rank("1", "users", all[j]) })
	want := append([]string(nil), all[:15]...)
	sort.Strings(want)
	if strings.Join(a, ",") != strings.Join(want, ",") {
		t.Errorf("sample %v, want the 15 smallest ranks %v", a, want)
	}
}

func TestFilterKeysFanoutGraph(t *testing.T) {
	conn := startServer(t)
	seedShop(t, conn)
	o := baseOptions(t)
	if err := o.AddFilter("users:country=DE"); err != nil {
		t.Fatal(err)
	}
	_ = o.AddSample("users=5")
	_ = o.AddKeys("products=p1,p2")
	g, _ := ParseGraph("social:out:1")
	o.Graphs = []GraphFollow{g}
	o.MaxFanout = 2
	rep, err := Run(context.Background(), conn, o)
	if err != nil {
		t.Fatal(err)
	}
	ex := readExport(t, o.OutputDirectory)
	checkClosed(t, ex, rep)
	if n := reasonCount(rep, "users", "sampled 5 of 67 matching country=\"DE\""); n != 5 {
		t.Errorf("filtered sample: %d, reasons %+v", n, collReport(rep, "users").Reasons)
	}
	for _, u := range smallestRanks("42", "users", allUsers(func(i int) bool { return i%3 == 0 }), 5) {
		if ex["users"][userKey(u)] == nil {
			t.Errorf("user %s (DE, of the 5 smallest ranks) not taken", userKey(u))
		}
	}
	if n := reasonCount(rep, "users", "reached via knows"); int(n) != len(ex["users"])-5 {
		t.Errorf("users: %d in the files, %d reached, 5 sampled", len(ex["users"]), n)
	}
	if len(ex["products"]) != 2 || ex["products"]["p1"] == nil || ex["products"]["p2"] == nil {
		t.Errorf("products by key: %v", ex["products"])
	}
	// fan-out 2 from 5 users: at most 10 edges, exactly 10 as each has 3
	if len(ex["knows"]) != 10 {
		t.Errorf("knows: %d edges, want 10 (5 users x fan-out 2)", len(ex["knows"]))
	}
	capped := false
	for _, w := range rep.Warnings {
		capped = capped || strings.Contains(w, "more than 2 edges")
	}
	if !capped {
		t.Errorf("no fan-out warning: %q", rep.Warnings)
	}
	if n := reasonCount(rep, "knows", "followed from users via knows of graph social (out, depth 1)"); n != 10 {
		t.Errorf("knows reasons: %+v", collReport(rep, "knows").Reasons)
	}
}

func loadMaskingsText(text, seed string) (*dump.Maskings, error) {
	m, err := dump.ParseMaskings([]byte(text))
	if err == nil {
		m.SetSeed(seed)
	}
	return m, err
}

func TestReproducibleBytes(t *testing.T) {
	conn := startServer(t)
	seedShop(t, conn)
	for _, compress := range []bool{false, true} {
		run := func() string {
			o := baseOptions(t)
			o.CompressOutput = compress
			_ = o.AddSample("users=20")
			f, _ := ParseFollow("knows:any:2")
			o.Follow = []Follow{f}
			o.Others = OthersWhole
			if _, err := Run(context.Background(), conn, o); err != nil {
				t.Fatal(err)
			}
			return o.OutputDirectory
		}
		a, b := run(), run()
		ea, _ := os.ReadDir(a)
		eb, _ := os.ReadDir(b)
		if len(ea) != len(eb) || len(ea) < 5 {
			t.Fatalf("compress=%v: %d files and %d files", compress, len(ea), len(eb))
		}
		for i := range ea {
			if ea[i].Name() != eb[i].Name() {
				t.Fatalf("file names differ: %s %s", ea[i].Name(), eb[i].Name())
			}
			x, _ := os.ReadFile(filepath.Join(a, ea[i].Name()))
			y, _ := os.ReadFile(filepath.Join(b, eb[i].Name()))
			if !bytes.Equal(x, y) {
				t.Errorf("compress=%v: %s differs between two runs", compress, ea[i].Name())
			}
		}
	}
}

const joinMaskings = `{
  "users": {"type": "masked", "maskings": [
    {"path": "_key", "type": "randomString"},
    {"path": "name", "type": "xifyFront"},
    {"path": "email", "type": "email"},
    {"path": "address.zip", "type": "zip"},
    {"path": "z", "type": "integer", "lower": 0, "upper": 1000}
  ]},
  "knows": {"type": "masked", "maskings": [{"path": "since", "type": "integer"}]},
  "orders": {"type": "masked", "maskings": [{"path": "total", "type": "integer"}]},
  "products": {"type": "full"}
}`

func writeFile(t testing.TB, name, content string) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func maskedOptions(t *testing.T, maskings string) Options {
	o := baseOptions(t)
	o.Maskings = writeFile(t, "maskings.json", maskings)
	_ = o.AddSample("orders=30")
	f, _ := ParseFollow("knows:out:1")
	o.Follow = []Follow{f}
	for _, r := range []string{"orders.customerId=users", "orders.items"} {
		ref, _ := ParseReference(r)
		o.References = append(o.References, ref)
	}
	return o
}

func TestMaskedValuesJoinAndRestore(t *testing.T) {
	conn := startServer(t)
	seedShop(t, conn)
	o := maskedOptions(t, joinMaskings)
	rep, err := Run(context.Background(), conn, o)
	if err != nil {
		t.Fatal(err)
	}
	ex := readExport(t, o.OutputDirectory)
	checkClosed(t, ex, rep)
	if len(ex["knows"]) == 0 || len(ex["users"]) == 0 || len(ex["products"]) == 0 {
		t.Fatalf("export: %d knows, %d users, %d products", len(ex["knows"]), len(ex["users"]), len(ex["products"]))
	}
	for k, e := range ex["knows"] {
		if f := e["_from"].(string); len(f) == len("users/u000") {
			t.Errorf("edge %s: _from %s not masked", k, e["_from"])
		}
	}
	m := mustMaskings(t, joinMaskings, "42")
	for k, ord := range ex["orders"] {
		c := ord["customerId"].(string)
		if c == "ghost" {
			continue
		}
		if strings.HasPrefix(c, "u") && len(c) == 4 {
			t.Errorf("order %s: customerId %s not masked", k, c)
		}
		u := ex["users"][c]
		if u == nil {
			t.Errorf("order %s: masked customerId %s joins no masked user", k, c)
			continue
		}
		if strings.Contains(u["name"].(string), "User") || !strings.HasSuffix(u["email"].(string), ".invalid") {
			t.Errorf("user %s not masked: %v", c, u)
		}
	}
	// the mapping is MaskKey of the original key, and the masked user is the one that order's
	// original customer was
	for i := 0; i < nOrders; i++ {
		ord := ex["orders"][fmt.Sprintf("o%04d", i)]
		if ord == nil || i == 17 {
			continue
		}
		orig := userKey((i * 13) % nUsers)
		if got, want := ord["customerId"], m.MaskKey(orig); got != want {
			t.Errorf("order o%04d: customerId %v, want MaskKey(%s) = %s", i, got, orig, want)
		}
		if u := ex["users"][m.MaskKey(orig)]; u == nil || u["country"] != []string{"DE", "FR", "US"}[((i*13)%nUsers)%3] {
			t.Errorf("order o%04d: masked customer %v", i, u)
		}
	}
	// a second run masks the same way
	o2 := maskedOptions(t, joinMaskings)
	if _, err := Run(context.Background(), conn, o2); err != nil {
		t.Fatal(err)
	}
	ex2 := readExport(t, o2.OutputDirectory)
	for k, u := range ex["users"] {
		if u2 := ex2["users"][k]; u2 == nil || fmt.Sprint(u2) != fmt.Sprint(u) {
			t.Errorf("user %s masked differently in a second run: %v / %v", k, u, u2)
		}
	}

	// restore into a fresh database: the counts reported
	do(t, conn, "POST", "_system", "/_api/database", map[string]any{"name": "fresh"})
	ro := restore.DefaultOptions()
	ro.InputDirectory, ro.Database = o.OutputDirectory, "fresh"
	if _, err := restore.Run(context.Background(), conn, ro, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Collections {
		var res struct {
			Count int64 `json:"count"`
		}
		if err := conn.DoJSON(context.Background(), client.Request{Method: "GET", Database: "fresh", Path: "/_api/collection/" + c.Name + "/count"}, &res); err != nil {
			t.Fatal(err)
		}
		if res.Count != c.Documents {
			t.Errorf("restored %s: %d documents, report says %d", c.Name, res.Count, c.Documents)
		}
	}
	// the restored edges still join the restored (masked) users
	for k, e := range ex["knows"] {
		var doc map[string]any
		from := e["_from"].(string)
		if err := conn.DoJSON(context.Background(), client.Request{Method: "GET", Database: "fresh", Path: "/_api/document/" + from}, &doc); err != nil {
			t.Errorf("edge %s: _from %s not restored: %v", k, from, err)
		}
	}
}

func TestStrictMaskings(t *testing.T) {
	conn := startServer(t)
	seedShop(t, conn)
	// users.country, address.city and a are covered by no rule
	o := maskedOptions(t, joinMaskings)
	o.StrictMaskings = true
	_, err := Run(context.Background(), conn, o)
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "collection users: attribute(s) a, address.city, country covered by no masking rule") {
		t.Fatalf("strict: %v", err)
	}
	o = maskedOptions(t, joinMaskings)
	o.StrictMaskings = true
	o.Unmasked = map[string][]string{"users": {"country", "address.city", "a"}}
	if _, err := Run(context.Background(), conn, o); err != nil {
		t.Fatalf("strict with the rest unmasked: %v", err)
	}
	// a collection without an entry of its own
	o = maskedOptions(t, strings.Replace(joinMaskings, `"products": {"type": "full"}`, `"*": {"type": "full"}`, 1))
	o.StrictMaskings = true
	o.Unmasked = map[string][]string{"users": {"country", "address.city", "a"}}
	if _, err := Run(context.Background(), conn, o); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "collection products is not covered") {
		t.Fatalf("strict, products only under *: %v", err)
	}
	// not strict: a collection the maskings exclude but the export needs
	o = maskedOptions(t, strings.Replace(joinMaskings, `"products": {"type": "full"}`, `"products": {"type": "exclude"}`, 1))
	if _, err := Run(context.Background(), conn, o); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "excludes collection products") {
		t.Fatalf("excluded products: %v", err)
	}
}

func mustMaskings(t *testing.T, text, seed string) interface{ MaskKey(string) string } {
	t.Helper()
	m, err := loadMaskingsText(text, seed)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBadConfiguration(t *testing.T) {
	conn := startServer(t)
	seedShop(t, conn)
	for _, c := range []struct {
		name string
		set  func(o *Options) error
		want string
	}{
		{"unknown collection", func(o *Options) error { return o.AddSample("nosuch=10") }, "collection nosuch not found in database shop"},
		{"bad fraction", func(o *Options) error { return o.AddSample("users=150%") }, "fraction must be above 0 and at most 1"},
		{"zero sample", func(o *Options) error { return o.AddSample("users=0") }, "positive whole number"},
		{"unknown graph", func(o *Options) error {
			g, err := ParseGraph("nograph:any:2")
			o.Graphs = append(o.Graphs, g)
			return err
		}, "graph nograph: not found"},
		{"follow a document collection", func(o *Options) error {
			f, err := ParseFollow("users:out")
			o.Follow = append(o.Follow, f)
			return err
		}, "users is not an edge collection"},
		{"bad direction", func(o *Options) error { _, err := ParseFollow("knows:up:2"); return err }, `direction "up"`},
		{"missing key", func(o *Options) error { return o.AddKeys("products=p1,nope") }, "document products/nope not found"},
		{"config file", func(o *Options) error { return o.ParseConfig([]byte(`{"collections":{"users":{"sampel":3}}}`)) }, `unknown field "sampel"`},
		{"two starts", func(o *Options) error {
			_ = o.AddSample("users=3")
			return o.AddKeys("users=u001")
		}, "choose one of sample, fraction, keys and whole"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := baseOptions(t)
			err := c.set(&o)
			if err == nil {
				_, err = Run(context.Background(), conn, o)
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a configuration error with %q", err, c.want)
			}
		})
	}
}

func TestConfigFile(t *testing.T) {
	o := DefaultOptions()
	err := o.ParseConfig([]byte(`{"database":"shop","outputDirectory":"out","seed":42,
	  "collections":{"users":{"sample":100,"filter":{"country":"DE","address.city":"Köln"}},"orders":{"fraction":0.05},"products":{"keys":["a","b"]}},
	  "follow":[{"edges":"knows","direction":"out","depth":2}],"graphs":[{"graph":"social"}],"maxFanout":50,
	  "references":[{"from":"orders.customerId","to":"customers"},{"from":"orders.items"}],
	  "others":"whole","maskings":"m.json","strictMaskings":true,"unmasked":{"users":["country"]},"compressOutput":true}`))
	if err != nil {
		t.Fatal(err)
	}
	u := o.Collections["users"]
	if o.Seed != "42" || u.Sample != 100 || len(u.Filter) != 2 || u.Filter[0].String() != `address.city="Köln"` ||
		o.Collections["orders"].Fraction != 0.05 || len(o.Collections["products"].Keys) != 2 ||
		o.Follow[0] != (Follow{"knows", "out", 2}) || o.Graphs[0] != (GraphFollow{"social", "any", 1}) || o.MaxFanout != 50 ||
		o.References[0].String() != "orders.customerId=customers" || o.References[1].Target != "" ||
		o.Others != "whole" || !o.StrictMaskings || !o.CompressOutput || o.Unmasked["users"][0] != "country" {
		t.Errorf("parsed %+v", o)
	}
}

// topLevelNames returns the attribute names of a JSON object line, in their order.
func topLevelNames(t testing.TB, line []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(line))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var names []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return names
}

// Keys with characters that URL query strings mangle (+, %41, =, &) are only ever sent in
// request bodies (batch reads, AQL bind parameters), so they are exported like any other.
func TestKeysWithSpecialCharacters(t *testing.T) {
	conn := startServer(t)
	do(t, conn, "POST", "_system", "/_api/database", map[string]any{"name": "odd"})
	do(t, conn, "POST", "odd", "/_api/collection", map[string]any{"name": "v"})
	do(t, conn, "POST", "odd", "/_api/collection", map[string]any{"name": "e", "type": 3})
	keys := []string{"a+1", "b%41", "c=eq", "d@home", "e:x", "f(a)", "g$", "h!", "i'q"}
	var vs, es []map[string]any
	for i, k := range keys {
		vs = append(vs, map[string]any{"_key": k, "n": i})
		es = append(es, map[string]any{"_key": fmt.Sprintf("e%d", i), "_from": "v/" + k, "_to": "v/" + keys[(i+1)%len(keys)]})
	}
	do(t, conn, "POST", "odd", "/_api/document/v", vs)
	do(t, conn, "POST", "odd", "/_api/document/e", es)
	o := baseOptions(t)
	o.Database = "odd"
	_ = o.AddKeys("v=a+1,b%41")
	f, _ := ParseFollow("e:out:" + fmt.Sprint(len(keys)))
	o.Follow = []Follow{f}
	rep, err := Run(context.Background(), conn, o)
	if err != nil {
		t.Fatal(err)
	}
	ex := readExport(t, o.OutputDirectory)
	if len(ex["v"]) != len(keys) || len(ex["e"]) != len(keys) {
		t.Fatalf("exported %d vertices and %d edges, want %d each; report %+v", len(ex["v"]), len(ex["e"]), len(keys), rep.Collections)
	}
	for _, k := range keys {
		if ex["v"][k] == nil {
			t.Errorf("vertex %q missing", k)
		}
	}
}
