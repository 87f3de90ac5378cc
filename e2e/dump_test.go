package e2e

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arangobackup/godump/arangotest"
	"github.com/arangobackup/godump/client"
)

// End-to-end tests of the built godump against arangotest (3.12 and 3.11 personalities) or
// ARANGO_ENDPOINT: every document of every collection, the structure files against the
// server's properties and indexes, the selection options, maskings and fault injection.

// dmGodumpArgs are the arguments of a quiet dump of db into dir.
func dmGodumpArgs(tg *target, db, dir string, extra ...string) []string {
	args := append(tg.serverArgs(db), "--output-directory", dir, "--progress", "false")
	return append(args, extra...)
}

// dmVersions are the server personalities the tests run against (one run with ARANGO_ENDPOINT).
func dmVersions() []string {
	if realEndpoint() != "" {
		return []string{"real"}
	}
	return []string{"3.12.4", "3.11.9"}
}

func TestDumpStandardDataSet(t *testing.T) {
	for _, v := range dmVersions() {
		t.Run(v, func(t *testing.T) {
			tg := newTarget(t, arangotest.Options{Version: v})
			db := uniqueDB(t, "dump")
			seeded := seedStandard(t, tg, db)
			dir := filepath.Join(t.TempDir(), "dump")
			mustRun(t, "godump", dmGodumpArgs(tg, db, dir, "--threads", "2", "--batch-size", "131072", "--docs-per-batch", "100")...)
			dmVerifyDump(t, tg, db, dir, seeded)
		})
	}
}

// dmVerifyDump checks a finished single-database dump against the seed and the server.
func dmVerifyDump(t *testing.T, tg *target, db, dir string, seeded *seededDB) {
	t.Helper()
	for name, sc := range seeded.Collections {
		got := dumpDocs(t, dir, name)
		compareDocs(t, "dump of "+name+" vs seed", sc.Docs, got, "nameLower")
		dmCheckSystemAttributes(t, name, got)
		dmCheckStructureFile(t, tg, db, dir, sc)
	}
	for _, v := range seeded.Views {
		b, err := os.ReadFile(filepath.Join(dir, v+".view.json"))
		if err != nil {
			t.Errorf("view %s: %v", v, err)
			continue
		}
		var d map[string]any
		if err := json.Unmarshal(b, &d); err != nil || d["name"] != v || (d["type"] != "arangosearch" && d["type"] != "search-alias") {
			t.Errorf("view file of %s: %s (%v)", v, b, err)
		}
	}
	var meta map[string]any
	dmReadJSON(t, filepath.Join(dir, "dump.json"), &meta)
	if meta["database"] != db || meta["useEnvelope"] != false {
		t.Errorf("dump.json: %v", meta)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "ENCRYPTION")); err != nil || string(b) != "none" {
		t.Errorf("ENCRYPTION: %q %v", b, err)
	}
	dmCheckManifest(t, dir, true)
}

// dmCheckSystemAttributes asserts that every dumped document carries _key, _id (collection/key)
// and a _rev, and edges their _from and _to, as arangodump writes them.
func dmCheckSystemAttributes(t *testing.T, coll string, docs map[string]Doc) {
	t.Helper()
	for k, d := range docs {
		if d["_key"] != k || d["_id"] != coll+"/"+k || dmStr(d["_rev"]) == "" {
			t.Errorf("%s/%s: system attributes _key %v _id %v _rev %v", coll, k, d["_key"], d["_id"], d["_rev"])
			return
		}
	}
}

// dmCheckStructureFile compares <coll>_<md5>.structure.json with the server's properties and
// indexes.
func dmCheckStructureFile(t *testing.T, tg *target, db, dir string, sc *seededCollection) {
	t.Helper()
	var st struct {
		Parameters map[string]any   `json:"parameters"`
		Indexes    []map[string]any `json:"indexes"`
	}
	dmReadJSON(t, filepath.Join(dir, sc.Name+"_"+dmMD5(sc.Name)+".structure.json"), &st)
	if st.Parameters["name"] != sc.Name || !jsonEqual(st.Parameters["type"], sc.Type) {
		t.Errorf("structure of %s: name %v type %v", sc.Name, st.Parameters["name"], st.Parameters["type"])
	}
	var props map[string]any
	c := tg.conn(t, db)
	must(t, c.DoJSON(context.Background(), client.Request{Method: "GET", Path: "/_api/collection/" + sc.Name + "/properties"}, &props), "properties of "+sc.Name)
	for _, k := range []string{"waitForSync", "schema", "computedValues", "keyOptions"} {
		want, ok := props[k]
		if !ok {
			continue
		}
		if k == "keyOptions" { // lastValue moves with inserts; compare the type and allowUserKeys
			w, g := want.(map[string]any), st.Parameters[k].(map[string]any)
			if w["type"] != g["type"] || w["allowUserKeys"] != g["allowUserKeys"] {
				t.Errorf("structure of %s: keyOptions %v, server %v", sc.Name, g, w)
			}
			continue
		}
		if !jsonEqual(normalizeJSON(st.Parameters[k]), normalizeJSON(want)) {
			t.Errorf("structure of %s: %s = %s, server says %s", sc.Name, k, short(st.Parameters[k]), short(want))
		}
	}
	server := serverIndexes(t, tg, db, sc.Name)
	if len(st.Indexes) != len(server) {
		t.Errorf("structure of %s: %d indexes, server has %d", sc.Name, len(st.Indexes), len(server))
	}
	for _, idx := range st.Indexes {
		name, _ := idx["name"].(string)
		s, ok := server[name]
		if !ok {
			t.Errorf("structure of %s: index %s not on the server", sc.Name, name)
			continue
		}
		for _, f := range []string{"type", "fields", "unique", "sparse", "expireAfter", "geoJson", "minLength", "storedValues"} {
			if _, has := s[f]; has && !jsonEqual(normalizeJSON(idx[f]), normalizeJSON(s[f])) {
				t.Errorf("structure of %s index %s: %s = %s, server %s", sc.Name, name, f, short(idx[f]), short(s[f]))
			}
		}
	}
}

// dmCheckManifest asserts godump-manifest.json: complete with every file's checksum right, or
// (complete=false) absent or not marked complete.
func dmCheckManifest(t *testing.T, dir string, complete bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "godump-manifest.json"))
	if !complete {
		if err == nil && strings.Contains(string(b), `"complete": true`) {
			t.Errorf("%s: an unfinished dump carries the completion marker", dir)
		}
		if tmp, _ := filepath.Glob(filepath.Join(dir, ".godump-tmp-*")); len(tmp) > 0 {
			t.Errorf("%s: temporary files left: %v", dir, tmp)
		}
		return
	}
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	var m struct {
		Complete bool `json:"complete"`
		Files    []struct {
			Name      string `json:"name"`
			SHA256    string `json:"sha256"`
			Documents int64  `json:"documents"`
		} `json:"files"`
	}
	if err := json.Unmarshal(b, &m); err != nil || !m.Complete {
		t.Fatalf("manifest not complete: %s (%v)", b, err)
	}
	for _, f := range m.Files {
		data, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			t.Errorf("manifest names %s: %v", f.Name, err)
			continue
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != f.SHA256 {
			t.Errorf("%s: checksum does not match the manifest", f.Name)
		}
	}
}

func dmReadJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func dmMD5(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// dmFilesOf lists the base names in dir.
func dmFilesOf(t testing.TB, dir string) map[string]bool {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, e := range entries {
		out[e.Name()] = true
	}
	return out
}

func TestDumpSelectionOptions(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	db := uniqueDB(t, "sel")
	seeded := seedStandard(t, tg, db)
	dump := func(t *testing.T, extra ...string) string {
		dir := filepath.Join(t.TempDir(), "d")
		mustRun(t, "godump", dmGodumpArgs(tg, db, dir, extra...)...)
		return dir
	}
	hasData := func(dir, coll string) bool { return len(dataFilesOf(t, dir, coll)) > 0 }
	hasStructure := func(dir, coll string) bool {
		return dmFilesOf(t, dir)[coll+"_"+dmMD5(coll)+".structure.json"]
	}

	t.Run("collection", func(t *testing.T) {
		dir := dump(t, "--collection", collOrders, "--collection", collKnows)
		for name, sc := range seeded.Collections {
			want := name == collOrders || name == collKnows
			if hasData(dir, name) != want || hasStructure(dir, name) != want {
				t.Errorf("%s: data %v structure %v, want %v", name, hasData(dir, name), hasStructure(dir, name), want)
			}
			if want {
				compareDocs(t, name, sc.Docs, dumpDocs(t, dir, name))
			}
		}
		dmCheckManifest(t, dir, true)
	})
	t.Run("ignore-collection", func(t *testing.T) {
		dir := dump(t, "--ignore-collection", collBlobs)
		for name, sc := range seeded.Collections {
			if name == collBlobs {
				if hasData(dir, name) || hasStructure(dir, name) {
					t.Errorf("ignored collection %s dumped", name)
				}
				continue
			}
			compareDocs(t, name, sc.Docs, dumpDocs(t, dir, name), "nameLower")
		}
	})
	t.Run("include-system-collections", func(t *testing.T) {
		dir := dump(t)
		if hasData(dir, "_graphs") || hasStructure(dir, "_graphs") {
			t.Error("_graphs dumped without --include-system-collections")
		}
		dir = dump(t, "--include-system-collections", "true")
		graphs := dumpDocs(t, dir, "_graphs")
		if g, ok := graphs["social"]; !ok || !strings.Contains(short(g["edgeDefinitions"]), collKnows) {
			t.Errorf("_graphs: %v", graphs)
		}
		found := false
		for k, d := range dumpDocs(t, dir, "_analyzers") {
			if k == "csv" || d["name"] == "csv" || strings.HasSuffix(dmStr(d["name"]), "::csv") {
				found = true
			}
		}
		if !found {
			t.Error("_analyzers has no csv analyzer")
		}
		compareDocs(t, collCustomers, seeded.Collections[collCustomers].Docs, dumpDocs(t, dir, collCustomers), "nameLower")
	})
	t.Run("dump-data-false", func(t *testing.T) {
		dir := dump(t, "--dump-data", "false")
		for name := range seeded.Collections {
			if !hasStructure(dir, name) {
				t.Errorf("%s: no structure file", name)
			}
			if n := len(dumpDocs(t, dir, name)); n != 0 {
				t.Errorf("%s: %d documents with --dump-data false", name, n)
			}
		}
		dmCheckManifest(t, dir, true)
	})
	t.Run("compress-output-false", func(t *testing.T) {
		dir := dump(t, "--compress-output=false", "--collection", collOrders)
		if !dmFilesOf(t, dir)[collOrders+"_"+dmMD5(collOrders)+".data.json"] {
			t.Errorf("no plain data file: %v", dmFilesOf(t, dir))
		}
		compareDocs(t, collOrders, seeded.Collections[collOrders].Docs, dumpDocs(t, dir, collOrders))
	})
	t.Run("maskings", func(t *testing.T) {
		mf := filepath.Join(t.TempDir(), "maskings.json")
		if err := os.WriteFile(mf, []byte(`{
			"customers": {"type": "masked", "maskings": [
				{"path": "email", "type": "email"},
				{"path": ".city", "type": "xifyFront", "unmaskedLength": 1},
				{"path": "age", "type": "integer", "lower": 1, "upper": 3}]},
			"orders": {"type": "structure"},
			"blobs": {"type": "full"}
		}`), 0o644); err != nil {
			t.Fatal(err)
		}
		dir := dump(t, "--maskings", mf)
		got := dumpDocs(t, dir, collCustomers)
		want := seeded.Collections[collCustomers].Docs
		compareDocs(t, "masked customers (other fields)", want, got, "nameLower", "email", "address", "age")
		for k, d := range got {
			if e := dmStr(d["email"]); !strings.HasSuffix(e, ".invalid") || strings.Contains(e, "example.com") {
				t.Fatalf("%s: email not masked: %q", k, e)
			}
			if c := dmStr(d["address"].(map[string]any)["city"]); c != "xxxn" {
				t.Fatalf("%s: city %q, want xxxn", k, c)
			}
			if a := dmStr(d["age"]); a != "1" && a != "2" && a != "3" {
				t.Fatalf("%s: age %q not in 1..3", k, a)
			}
			if !jsonEqual(d["balance"], want[k]["balance"]) {
				t.Fatalf("%s: unmasked number changed", k)
			}
		}
		if !hasStructure(dir, collOrders) || len(dumpDocs(t, dir, collOrders)) != 0 {
			t.Error("orders (structure): want the structure and no documents")
		}
		if hasStructure(dir, collKnows) || hasData(dir, collKnows) {
			t.Error("knows is not in the maskings file (no \"*\"): it must be left out")
		}
		compareDocs(t, collBlobs, seeded.Collections[collBlobs].Docs, dumpDocs(t, dir, collBlobs))
	})
	t.Run("overwrite", func(t *testing.T) {
		dir := dump(t, "--collection", collOrders)
		res := runTool(t, "godump", dmGodumpArgs(tg, db, dir, "--collection", collKnows)...)
		if res.Code != 1 || !strings.Contains(res.Stderr, "overwrite") {
			t.Errorf("dump into a non-empty directory: %s", res)
		}
		compareDocs(t, collOrders, seeded.Collections[collOrders].Docs, dumpDocs(t, dir, collOrders))
		mustRun(t, "godump", dmGodumpArgs(tg, db, dir, "--collection", collKnows, "--overwrite", "true")...)
		compareDocs(t, collKnows, seeded.Collections[collKnows].Docs, dumpDocs(t, dir, collKnows))
		if hasData(dir, collOrders) {
			t.Error("--overwrite kept the old dump's data file")
		}
		dmCheckManifest(t, dir, true)
	})
	t.Run("progress-and-summary", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "p")
		args := append(tg.serverArgs(db), "--output-directory", dir, "--ignore-collection", collBlobs)
		res := mustRun(t, "godump", args...)
		if !strings.Contains(res.Stderr, "# Dumping "+db+"/"+collCustomers+"...") {
			t.Errorf("stderr lacks the progress lines:\n%s", res.Stderr)
		}
		for _, want := range []string{"Processed 3 collection(s) from 1 database(s)", "Retrieved ", "batch(es)", "Size of dump directory on disk (after compression)"} {
			if !strings.Contains(res.Stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, res.Stdout)
			}
		}
		// --progress false: the summary stays, the progress lines go.
		res = mustRun(t, "godump", dmGodumpArgs(tg, db, filepath.Join(t.TempDir(), "q"), "--collection", collOrders)...)
		if !strings.HasPrefix(res.Stdout, "Processed 1 collection(s) from 1 database(s)") || strings.Contains(res.Stdout+res.Stderr, "# Dumping") {
			t.Errorf("--progress false: %s", res)
		}
	})
	t.Run("positional-and-obsolete", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "pos")
		args := append(tg.serverArgs(db), "--progress", "false", "--envelope", "false", "--tick-start", "5", "--collection", collOrders, dir)
		res := mustRun(t, "godump", args...)
		if !strings.Contains(res.Stderr, "obsolete option --envelope") || !strings.Contains(res.Stderr, "--tick-start") {
			t.Errorf("no warning for obsolete options: %s", res)
		}
		compareDocs(t, collOrders, seeded.Collections[collOrders].Docs, dumpDocs(t, dir, collOrders))
	})
}

func dmStr(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return string(x)
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func TestDumpAllDatabases(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	tg.needArangotest(t) // a real server may hold other databases we must not depend on
	dbs := []string{uniqueDB(t, "alla"), uniqueDB(t, "allb")}
	want := map[string]*seededCollection{}
	for i, db := range dbs {
		tg.createDatabase(t, db)
		c := tg.conn(t, db)
		must(t, c.DoJSON(context.Background(), client.Request{Method: "POST", Path: "/_api/collection", JSON: Doc{"name": "items"}}, nil), "create items")
		sc := &seededCollection{Name: "items", Type: 2, Docs: map[string]Doc{}}
		for j := 0; j < 50+i*10; j++ {
			k := "i" + strconv.Itoa(j)
			sc.Docs[k] = Doc{"_key": k, "db": db, "n": json.Number(strconv.Itoa(j))}
		}
		insertDocs(t, c, sc)
		want[db] = sc
	}
	dir := filepath.Join(t.TempDir(), "all")
	args := []string{"--server.endpoint", tg.Endpoint, "--server.username", tg.Username, "--server.password", tg.Password,
		"--all-databases", "true", "--output-directory", dir, "--progress", "false"}
	mustRun(t, "godump", args...)
	for _, db := range dbs {
		sub := filepath.Join(dir, db)
		compareDocs(t, db+"/items", want[db].Docs, dumpDocs(t, sub, "items"))
		var meta map[string]any
		dmReadJSON(t, filepath.Join(sub, "dump.json"), &meta)
		if meta["database"] != db {
			t.Errorf("%s/dump.json: %v", db, meta)
		}
		dmCheckManifest(t, sub, true)
	}
	if !dmFilesOf(t, filepath.Join(dir, "_system"))["dump.json"] {
		t.Error("no _system subdirectory")
	}
	if dmFilesOf(t, dir)["dump.json"] {
		t.Error("--all-databases wrote top-level dump.json")
	}
}

// TestDumpFaults injects faults at several points; every run must end either with an exact,
// complete dump (exit 0) or with a clear error and no completion marker.
func TestDumpFaults(t *testing.T) {
	type scenario struct {
		name    string
		version string
		faults  []arangotest.Fault
		fatal   bool   // the dump must fail
		errText string // ... with this in its message
	}
	cut := func(prefix string, nth, times, bytes int) arangotest.Fault {
		return arangotest.Fault{PathPrefix: prefix, Nth: nth, Times: times, CutAfterBytes: bytes}
	}
	scenarios := []scenario{
		{name: "cut-next-mid-batch", version: "3.12.4", faults: []arangotest.Fault{cut("/_api/dump/next", 2, 1, 5000), cut("/_api/dump/next", 7, 2, 100)}},
		{name: "cut-next-before-body", version: "3.12.4", faults: []arangotest.Fault{cut("/_api/dump/next", 4, 1, 0)}},
		{name: "503-burst-next", version: "3.12.4", faults: []arangotest.Fault{{PathPrefix: "/_api/dump/next", Nth: 3, Times: 4, Status: 503, CutAfterBytes: -1}}},
		{name: "503-start", version: "3.12.4", faults: []arangotest.Fault{{PathPrefix: "/_api/dump/start", Nth: 1, Times: 2, Status: 503, CutAfterBytes: -1}}},
		{name: "slow-next", version: "3.12.4", faults: []arangotest.Fault{{PathPrefix: "/_api/dump/next", Nth: 2, Times: 3, Delay: 300 * time.Millisecond, CutAfterBytes: -1}}},
		{name: "random-cuts-and-503", version: "3.12.4", faults: []arangotest.Fault{
			{PathPrefix: "/_api/dump/next", Probability: 0.15, Times: 6, CutAfterBytes: 700},
			{PathPrefix: "/_api/dump/next", Probability: 0.1, Times: 6, Status: 503, CutAfterBytes: -1}}},
		{name: "classic-cut-mid-chunk", version: "3.11.9", faults: []arangotest.Fault{cut("/_api/replication/dump", 2, 1, 3000)}},
		{name: "classic-cut-before-body", version: "3.11.9", faults: []arangotest.Fault{cut("/_api/replication/dump", 3, 1, 0)}},
		{name: "classic-503-burst", version: "3.11.9", faults: []arangotest.Fault{{PathPrefix: "/_api/replication/dump", Nth: 2, Times: 3, Status: 503, CutAfterBytes: -1}}},
		{name: "classic-slow", version: "3.11.9", faults: []arangotest.Fault{{PathPrefix: "/_api/replication/dump", Nth: 1, Times: 2, Delay: 300 * time.Millisecond, CutAfterBytes: -1}}},
		{name: "forbidden-next", version: "3.12.4", fatal: true, errText: "/_api/dump/next/",
			faults: []arangotest.Fault{{PathPrefix: "/_api/dump/next", Nth: 3, Status: 403, ErrorNum: 11, ErrorMessage: "forbidden", CutAfterBytes: -1}}},
		{name: "503-forever", version: "3.12.4", fatal: true, errText: "gave up",
			faults: []arangotest.Fault{{PathPrefix: "/_api/dump/next", Status: 503, CutAfterBytes: -1}}},
	}
	if realEndpoint() != "" {
		t.Skip("fault injection needs arangotest")
	}
	seeds := map[string]*seededDB{}
	targets := map[string]*target{}
	dbs := map[string]string{}
	for _, v := range []string{"3.12.4", "3.11.9"} {
		tg := newTarget(t, arangotest.Options{Version: v, FaultSeed: 7})
		db := uniqueDB(t, "faults")
		seeds[v], targets[v], dbs[v] = seedStandard(t, tg, db), tg, db
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			tg, db := targets[sc.version], dbs[sc.version]
			tg.Server.ClearFaults()
			for _, f := range sc.faults {
				tg.Server.AddFault(f)
			}
			defer tg.Server.ClearFaults()
			dir := filepath.Join(t.TempDir(), "d")
			res := runTool(t, "godump", dmGodumpArgs(tg, db, dir, "--threads", "2", "--batch-size", "131072", "--docs-per-batch", "50", "--server.max-retries", "4")...)
			fired := 0
			for _, fi := range tg.Server.Faults() {
				fired += fi.Fired
			}
			if fired == 0 {
				t.Errorf("no fault fired: %+v", tg.Server.Faults())
			}
			if sc.fatal {
				if res.Code != 1 || !strings.Contains(res.Stderr, sc.errText) || !strings.Contains(res.Stderr, "database "+db) || !strings.Contains(res.Stderr, "collection ") {
					t.Errorf("want a clear failure mentioning %q, database and collection: %s", sc.errText, res)
				}
				dmCheckManifest(t, dir, false)
				return
			}
			if res.Code != 0 {
				t.Fatalf("dump failed: %s", res)
			}
			tg.Server.ClearFaults()
			dmVerifyDump(t, tg, db, dir, seeds[sc.version])
		})
	}
}

// TestDumpInterrupted sends SIGINT in the middle of a (slowed down) dump: exit code 130, no
// completion marker, no temporary files.
func TestDumpInterrupted(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	tg.needArangotest(t)
	db := uniqueDB(t, "intr")
	seedStandard(t, tg, db)
	tg.Server.AddFault(arangotest.Fault{PathPrefix: "/_api/dump/next", Nth: 3, Times: 1000, Delay: 500 * time.Millisecond, CutAfterBytes: -1})
	dir := filepath.Join(t.TempDir(), "d")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := toolCommand(ctx, "godump", dmGodumpArgs(tg, db, dir, "--docs-per-batch", "100", "--batch-size", "131072")...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// interrupt once the dump is under way (its metadata is written), whatever the load
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(dir, "dump.json")); err == nil {
			break
		}
	}
	time.Sleep(300 * time.Millisecond)
	_ = cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !dmAsExit(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130; output:\n%s\n%s", err, out.String(), errOut.String())
	}
	// One line each: the interrupt on stderr, what was done and what to do on stdout; no
	// "context canceled" of the requests cut short.
	if !strings.HasPrefix(out.String(), "Interrupted after ") || !strings.Contains(out.String(), "run the dump again with --continue true") ||
		strings.Count(errOut.String(), "godump: interrupted; temporary files removed, the dump is incomplete") != 1 ||
		strings.Contains(out.String()+errOut.String(), "context canceled") {
		t.Errorf("interrupt messages:\nstdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	}
	dmCheckManifest(t, dir, false)

	// gorestore refuses the unfinished dump (exit 3) and creates nothing: the manifest it
	// left says "complete": false (issue 12 point 1).
	dst := uniqueDB(t, "intr_dst")
	tg.dropAtEnd(t, dst)
	res := runTool(t, "gorestore", append(tg.serverArgs(dst), dir, "--create-database", "true", "--progress", "false")...)
	if res.Code != 3 || !strings.Contains(res.Stderr, "the dump is incomplete") || !strings.Contains(res.Stderr, "--force") {
		t.Fatalf("restore of an interrupted dump: %s", res)
	}
	req, _ := http.NewRequest(http.MethodGet, tg.Endpoint+"/_db/"+dst+"/_api/collection", nil)
	req.SetBasicAuth(tg.Username, tg.Password)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the refused restore created database %s (%v %v)", dst, err, resp)
	} else {
		resp.Body.Close()
	}
	// With --force it restores what there is and names what is missing.
	res = runTool(t, "gorestore", append(tg.serverArgs(dst), dir, "--create-database", "true", "--progress", "false", "--force", "true")...)
	if res.Code != 0 || !strings.Contains(res.Stderr, "the dump is incomplete") || !strings.Contains(res.Stderr, "is missing from the incomplete dump") ||
		!strings.Contains(res.Stdout, "Incomplete dump restored with --force; missing or partial: ") {
		t.Fatalf("restore of an interrupted dump with --force: %s", res)
	}
}

func dmAsExit(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*ee = e
	}
	return ok
}

// TestDumpCluster dumps through a Coordinator: one job per shard (via its leader DB-Server),
// split files by default, one file per collection with --split-files false, and structure
// files without the md5 suffix, for the parallel (3.12) and classic (3.11) protocols.
func TestDumpCluster(t *testing.T) {
	if realEndpoint() != "" {
		t.Skip("needs an arangotest cluster")
	}
	for _, v := range []string{"3.12.4", "3.11.9"} {
		t.Run(v, func(t *testing.T) {
			cl, err := arangotest.NewCluster(arangotest.ClusterOptions{Options: arangotest.Options{Version: v}, DBServers: 2})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cl.Close() })
			tg := &target{Endpoint: cl.Endpoints()[0], Server: cl.Coordinators()[0], Username: "root"}
			db := uniqueDB(t, "cluster")
			tg.createDatabase(t, db)
			c := tg.conn(t, db)
			must(t, c.DoJSON(context.Background(), client.Request{Method: "POST", Path: "/_api/collection", JSON: Doc{"name": "items", "numberOfShards": 3}}, nil), "create items")
			sc := &seededCollection{Name: "items", Type: 2, Docs: map[string]Doc{}}
			for j := 0; j < 500; j++ {
				k := "i" + strconv.Itoa(j)
				sc.Docs[k] = Doc{"_key": k, "n": json.Number(strconv.Itoa(j)), "name": "Zoë " + strconv.Itoa(j)}
			}
			insertDocs(t, c, sc)

			split := v == "3.12.4" // split files need the parallel dump API
			dir := filepath.Join(t.TempDir(), "d")
			mustRun(t, "godump", dmGodumpArgs(tg, db, dir, "--threads", "2", "--docs-per-batch", "100")...)
			files := dataFilesOf(t, dir, "items")
			if split && len(files) != 3 {
				t.Errorf("split dump: %d data files, want one per shard (3): %v", len(files), files)
			}
			if !split && len(files) != 1 {
				t.Errorf("classic cluster dump: %d data files, want 1: %v", len(files), files)
			}
			compareDocs(t, "cluster dump of items", sc.Docs, dumpDocs(t, dir, "items"))
			var st struct {
				Parameters map[string]any `json:"parameters"`
			}
			dmReadJSON(t, filepath.Join(dir, "items.structure.json"), &st)
			if st.Parameters["name"] != "items" || !jsonEqual(st.Parameters["numberOfShards"], 3) {
				t.Errorf("cluster structure file: %v", st.Parameters)
			}
			dmCheckManifest(t, dir, true)

			dir = filepath.Join(t.TempDir(), "nosplit")
			mustRun(t, "godump", dmGodumpArgs(tg, db, dir, "--split-files", "false")...)
			if files := dataFilesOf(t, dir, "items"); len(files) != 1 || strings.Contains(filepath.Base(files[0]), ".0.") {
				t.Errorf("--split-files false: %v", files)
			}
			compareDocs(t, "unsplit cluster dump of items", sc.Docs, dumpDocs(t, dir, "items"))
		})
	}
}
