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
	"github.com/arangobackup/godump/internal/realdumps"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arangobackup/godump/arangotest"
	"github.com/arangobackup/godump/client"
)

// End-to-end tests of gorestore. Expected server states are computed here from the dump
// files (structure files read with encoding/json, data with dumpDocs), never with restore/
// or format/.

// requireRealDumps: see realdumps.Require.
func requireRealDumps(t *testing.T) string { return realdumps.Require(t) }

// rsStructure is a structure file as the tests read it.
type rsStructure struct {
	Name    string
	Type    int
	Indexes []Doc
	Params  Doc
}

// rsReadStructures reads every *.structure.json of a dump directory.
func rsReadStructures(t testing.TB, dir string) map[string]*rsStructure {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.structure.json"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*rsStructure{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d := decodeDoc(t, b)
		params, _ := d["parameters"].(map[string]any)
		s := &rsStructure{Params: params}
		s.Name, _ = params["name"].(string)
		if n, ok := params["type"].(json.Number); ok {
			s.Type, _ = strconv.Atoi(string(n))
		}
		idx, _ := d["indexes"].([]any)
		if len(idx) == 0 {
			idx, _ = params["indexes"].([]any) // pre-3.x: nested in parameters
		}
		for _, i := range idx {
			ix, _ := i.(map[string]any)
			if ix["type"] == "primary" || ix["type"] == "edge" {
				continue
			}
			s.Indexes = append(s.Indexes, ix)
		}
		out[s.Name] = s
	}
	return out
}

// rsExpectedDocs is a collection's final content described by its data files (empty when
// it has none: structure-only dumps, empty collections).
func rsExpectedDocs(t testing.TB, dir, coll string) map[string]Doc {
	t.Helper()
	if len(dataFilesOf(t, dir, coll)) == 0 {
		return map[string]Doc{}
	}
	return dumpDocs(t, dir, coll)
}

// rsServerCollection reads a collection's properties; ok=false when it does not exist.
func rsServerCollection(t testing.TB, tg *target, db, coll string) (Doc, bool) {
	t.Helper()
	c := tg.conn(t, db)
	resp, err := c.Do(context.Background(), client.Request{Method: "GET", Path: "/_api/collection/" + coll + "/properties"})
	if client.IsStatus(err, 404) {
		return nil, false
	}
	must(t, err, "collection properties of "+coll)
	return decodeDoc(t, resp.Body), true
}

func rsCheckIndexes(t testing.TB, tg *target, db, coll string, want []Doc) {
	t.Helper()
	got := serverIndexes(t, tg, db, coll)
	norm := func(s any) string {
		switch s {
		case "hash", "skiplist", "persistent":
			return "persistent"
		}
		return fmt.Sprint(s)
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			if norm(g["type"]) == norm(w["type"]) && jsonEqual(w["fields"], g["fields"]) {
				found = true
				for _, f := range []string{"unique", "sparse"} {
					if wv, ok := w[f]; ok && !jsonEqual(wv, g[f]) {
						t.Errorf("%s/%s index %v: %s = %v, want %v", db, coll, w["fields"], f, g[f], wv)
					}
				}
			}
		}
		if !found {
			t.Errorf("%s/%s: index %v %v missing (have %v)", db, coll, w["type"], w["fields"], sortedKeys(got))
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s/%s: %d indexes, want %d", db, coll, len(got), len(want))
	}
}

// TestRestoreRealDumps restores every real arangodump directory and compares the server
// with what the files describe.
func TestRestoreRealDumps(t *testing.T) {
	entries, err := os.ReadDir(requireRealDumps(t))
	if err != nil {
		t.Fatal(err)
	}
	tg := newTarget(t, arangotest.Options{})
	n := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		n++
		dir := filepath.Join(realdumps.Path, e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			db := uniqueDB(t, "real")
			tg.dropAtEnd(t, db)
			res := mustRun(t, "gorestore", append(tg.serverArgs(db), "--input-directory", dir, "--create-database", "true",
				"--include-system-collections", "true", "--progress", "false")...)
			if !strings.Contains(res.Stdout, "Processed") {
				t.Errorf("no summary: %s", res)
			}
			if _, err := os.Stat(filepath.Join(dir, "continue.json")); err == nil {
				t.Errorf("continue.json left in %s", dir)
			}
			structs := rsReadStructures(t, dir)
			if len(structs) == 0 {
				t.Fatal("no structure files")
			}
			for name, s := range structs {
				props, ok := rsServerCollection(t, tg, db, name)
				if !ok {
					t.Errorf("collection %s not restored", name)
					continue
				}
				if !jsonEqual(props["type"], json.Number(strconv.Itoa(s.Type))) {
					t.Errorf("collection %s: type %v, want %d", name, props["type"], s.Type)
				}
				want := rsExpectedDocs(t, dir, name)
				compareDocs(t, db+"/"+name, want, serverDocs(t, tg, db, name))
				rsCheckIndexes(t, tg, db, name, s.Indexes)
			}
			views, _ := filepath.Glob(filepath.Join(dir, "*.view.json"))
			for _, v := range views {
				b, _ := os.ReadFile(v)
				vd := decodeDoc(t, b)
				c := tg.conn(t, db)
				var got Doc
				must(t, c.DoJSON(context.Background(), client.Request{Method: "GET", Path: "/_api/view/" + vd["name"].(string) + "/properties"}, &got), "view "+v)
				if got["type"] != vd["type"] {
					t.Errorf("view %v: type %v, want %v", vd["name"], got["type"], vd["type"])
				}
			}
		})
	}
	if n == 0 {
		t.Fatal("no real dump directories")
	}
}

// rsColl is a collection of a dump written by the tests themselves.
type rsColl struct {
	Name    string
	Type    int
	Docs    []Doc
	Indexes []Doc
	Extra   Doc    // more parameters
	Lines   []byte // raw data file content instead of Docs (bad input tests)
	Gzip    bool
}

// rsWriteDump writes a dump directory as arangodump 3.12 does (dump.json, ENCRYPTION,
// <name>_<md5>.structure.json, <name>_<md5>.data.json[.gz]), without format/.
func rsWriteDump(t testing.TB, dir, dbName string, colls []rsColl) {
	t.Helper()
	must(t, os.MkdirAll(dir, 0o755), "mkdir")
	must(t, os.WriteFile(filepath.Join(dir, "ENCRYPTION"), []byte("none"), 0o644), "ENCRYPTION")
	meta := Doc{"database": dbName, "lastTickAtDumpStart": "1", "useEnvelope": false, "properties": Doc{"id": "1", "name": dbName, "isSystem": false}}
	b, _ := json.Marshal(meta)
	must(t, os.WriteFile(filepath.Join(dir, "dump.json"), b, 0o644), "dump.json")
	for _, c := range colls {
		sum := md5.Sum([]byte(c.Name))
		base := c.Name + "_" + hex.EncodeToString(sum[:])
		params := Doc{"name": c.Name, "type": c.Type, "keyOptions": Doc{"type": "traditional", "allowUserKeys": true}, "waitForSync": false, "numberOfShards": 1, "replicationFactor": 1}
		for k, v := range c.Extra {
			params[k] = v
		}
		idx := c.Indexes
		if idx == nil {
			idx = []Doc{}
		}
		b, _ := json.Marshal(Doc{"parameters": params, "indexes": idx})
		must(t, os.WriteFile(filepath.Join(dir, base+".structure.json"), b, 0o644), "structure")
		data := c.Lines
		if data == nil {
			var buf bytes.Buffer
			for _, d := range c.Docs {
				line, _ := json.Marshal(d)
				buf.Write(line)
				buf.WriteByte('\n')
			}
			data = buf.Bytes()
		}
		name := base + ".data.json"
		if c.Gzip {
			var gz bytes.Buffer
			zw := gzip.NewWriter(&gz)
			zw.Write(data)
			zw.Close()
			data, name = gz.Bytes(), name+".gz"
		}
		must(t, os.WriteFile(filepath.Join(dir, name), data, 0o644), "data file")
	}
}

// rsGraphDump is a small graph: people (documents), knows (edges between people), things.
func rsGraphDump(t testing.TB, dir string, people, edges int) []rsColl {
	t.Helper()
	var ps, ks, th []Doc
	for i := 0; i < people; i++ {
		ps = append(ps, Doc{"_key": strconv.Itoa(i + 1), "name": fmt.Sprintf("person %d", i), "n": i})
	}
	for i := 0; i < edges; i++ {
		ks = append(ks, Doc{"_key": fmt.Sprintf("e%d", i), "_from": fmt.Sprintf("people/%d", i%people+1), "_to": fmt.Sprintf("people/%d", (i*7)%people+1), "w": i})
	}
	for i := 0; i < 50; i++ {
		th = append(th, Doc{"_key": fmt.Sprintf("t%d", i), "what": strings.Repeat("x", i)})
	}
	colls := []rsColl{
		{Name: "people", Type: 2, Docs: ps, Gzip: true, Indexes: []Doc{{"type": "persistent", "fields": []string{"name"}, "unique": true, "sparse": false, "name": "byName", "id": "people/100"}}},
		{Name: "knows", Type: 3, Docs: ks},
		{Name: "things", Type: 2, Docs: th, Gzip: true},
	}
	rsWriteDump(t, dir, "graphsrc", colls)
	return colls
}

func rsDocsByKey(docs []Doc) map[string]Doc {
	out := map[string]Doc{}
	for _, d := range docs {
		b, _ := json.Marshal(d)
		var n Doc
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		_ = dec.Decode(&n)
		out[n["_key"].(string)] = n
	}
	return out
}

func TestRestoreSelectionRenameAndOverrides(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	dir := t.TempDir()
	colls := rsGraphDump(t, dir, 200, 300)
	people, knows := rsDocsByKey(colls[0].Docs), rsDocsByKey(colls[1].Docs)

	t.Run("collection", func(t *testing.T) {
		db := uniqueDB(t, "sel")
		tg.dropAtEnd(t, db)
		mustRun(t, "gorestore", append(tg.serverArgs(db), dir, "--create-database", "true", "--collection", "people", "--progress", "false")...)
		compareDocs(t, "people", people, serverDocs(t, tg, db, "people"))
		for _, c := range []string{"knows", "things"} {
			if _, ok := rsServerCollection(t, tg, db, c); ok {
				t.Errorf("%s restored although not selected", c)
			}
		}
	})
	t.Run("ignore-collection", func(t *testing.T) {
		db := uniqueDB(t, "ign")
		tg.dropAtEnd(t, db)
		mustRun(t, "gorestore", append(tg.serverArgs(db), dir, "--create-database", "true", "--ignore-collection", "things", "--progress", "false")...)
		compareDocs(t, "knows", knows, serverDocs(t, tg, db, "knows"))
		if _, ok := rsServerCollection(t, tg, db, "things"); ok {
			t.Error("things restored although ignored")
		}
	})
	t.Run("rename", func(t *testing.T) {
		db := uniqueDB(t, "ren")
		tg.dropAtEnd(t, db)
		mustRun(t, "gorestore", append(tg.serverArgs(db), dir, "--create-database", "true", "--rename-collection", "people=persons",
			"--rename-collection", "knows=friends", "--progress", "false")...)
		compareDocs(t, "persons", people, serverDocs(t, tg, db, "persons"))
		want := map[string]Doc{}
		for k, d := range knows {
			n := Doc{}
			for f, v := range d {
				n[f] = v
			}
			n["_from"] = strings.Replace(d["_from"].(string), "people/", "persons/", 1)
			n["_to"] = strings.Replace(d["_to"].(string), "people/", "persons/", 1)
			want[k] = n
		}
		compareDocs(t, "friends", want, serverDocs(t, tg, db, "friends"))
		for _, c := range []string{"people", "knows"} {
			if _, ok := rsServerCollection(t, tg, db, c); ok {
				t.Errorf("%s exists under its old name", c)
			}
		}
		props, _ := rsServerCollection(t, tg, db, "friends")
		if !jsonEqual(props["type"], json.Number("3")) {
			t.Errorf("friends type %v", props["type"])
		}
		rsCheckIndexes(t, tg, db, "persons", []Doc{{"type": "persistent", "fields": []any{"name"}, "unique": true}})
	})
	t.Run("create-collection-false", func(t *testing.T) {
		db := uniqueDB(t, "nocreate")
		tg.createDatabase(t, db)
		c := tg.conn(t, db)
		must(t, c.DoJSON(context.Background(), client.Request{Method: "POST", Path: "/_api/collection", JSON: Doc{"name": "things", "waitForSync": true}}, nil), "create things")
		must(t, c.DoJSON(context.Background(), client.Request{Method: "POST", Path: "/_api/document/things", JSON: Doc{"_key": "mine", "v": 1}}, nil), "insert")
		mustRun(t, "gorestore", append(tg.serverArgs(db), dir, "--create-collection", "false", "--collection", "things", "--progress", "false")...)
		want := rsDocsByKey(colls[2].Docs)
		want["mine"] = Doc{"_key": "mine", "v": json.Number("1")}
		compareDocs(t, "things", want, serverDocs(t, tg, db, "things"))
		props, _ := rsServerCollection(t, tg, db, "things")
		if props["waitForSync"] != true {
			t.Errorf("existing collection was recreated: waitForSync %v", props["waitForSync"])
		}
		// A collection that does not exist is an error with --create-collection false.
		res := runTool(t, "gorestore", append(tg.serverArgs(db), dir, "--create-collection", "false", "--collection", "people", "--progress", "false")...)
		if res.Code == 0 || !strings.Contains(res.Stderr, "people") {
			t.Errorf("missing collection accepted: %s", res)
		}
	})
	t.Run("import-data-false", func(t *testing.T) {
		db := uniqueDB(t, "nodata")
		tg.dropAtEnd(t, db)
		mustRun(t, "gorestore", append(tg.serverArgs(db), dir, "--create-database", "true", "--import-data", "false", "--progress", "false")...)
		for _, c := range []string{"people", "knows", "things"} {
			if _, ok := rsServerCollection(t, tg, db, c); !ok {
				t.Errorf("%s not created", c)
			}
			if n := len(serverDocs(t, tg, db, c)); n != 0 {
				t.Errorf("%s holds %d documents with --import-data false", c, n)
			}
		}
		rsCheckIndexes(t, tg, db, "people", []Doc{{"type": "persistent", "fields": []any{"name"}, "unique": true}})
	})
	t.Run("overrides", func(t *testing.T) {
		db := uniqueDB(t, "ovr")
		tg.dropAtEnd(t, db)
		mustRun(t, "gorestore", append(tg.serverArgs(db), dir, "--create-database", "true", "--number-of-shards", "3", "--number-of-shards", "knows=5",
			"--replication-factor", "2", "--replication-factor", "things=1", "--progress", "false")...)
		for c, want := range map[string][2]string{"people": {"3", "2"}, "knows": {"5", "2"}, "things": {"3", "1"}} {
			props, ok := rsServerCollection(t, tg, db, c)
			if !ok {
				t.Fatalf("%s missing", c)
			}
			if tg.Server != nil || props["numberOfShards"] != nil {
				if !jsonEqual(props["numberOfShards"], json.Number(want[0])) {
					t.Errorf("%s: numberOfShards %v, want %s", c, props["numberOfShards"], want[0])
				}
				if !jsonEqual(props["replicationFactor"], json.Number(want[1])) {
					t.Errorf("%s: replicationFactor %v, want %s", c, props["replicationFactor"], want[1])
				}
			}
		}
	})
}

// TestRestoreKeyGenerator: inserts after a restore get keys past the restored ones.
func TestRestoreKeyGenerator(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	dir := t.TempDir()
	rsGraphDump(t, dir, 500, 10)
	db := uniqueDB(t, "keys")
	tg.dropAtEnd(t, db)
	mustRun(t, "gorestore", append(tg.serverArgs(db), dir, "--create-database", "true", "--progress", "false")...)
	c := tg.conn(t, db)
	for i := 0; i < 5; i++ {
		var res Doc
		must(t, c.DoJSON(context.Background(), client.Request{Method: "POST", Path: "/_api/document/people", JSON: Doc{"name": fmt.Sprintf("new %d", i)}}, &res), "insert after restore")
		k, err := strconv.Atoi(fmt.Sprint(res["_key"]))
		if err != nil || k <= 500 {
			t.Errorf("new key %v not past the restored keys (1..500)", res["_key"])
		}
	}
	if n := len(serverDocs(t, tg, db, "people")); n != 505 {
		t.Errorf("%d people, want 505", n)
	}
}

// TestRestoreBadInput: damaged dumps fail naming the file and line, non-zero exit, and the
// collections before the damage are restored.
func TestRestoreBadInput(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	good := []Doc{{"_key": "a", "v": 1}, {"_key": "b", "v": 2}}
	for _, tc := range []struct {
		name  string
		coll  rsColl
		after func(dir string) // damages the written dump
		want  []string         // in stderr
	}{
		{name: "invalid-line", coll: rsColl{Name: "bad", Type: 2, Lines: []byte("{\"_key\":\"x\"}\n{\"_key\":\"y\"}\n{\"_key\": broken\n{\"_key\":\"z\"}\n")},
			want: []string{"bad_", ".data.json", "line 3"}},
		{name: "corrupt-gzip", coll: rsColl{Name: "bad", Type: 2, Docs: rsGenDocs(5000), Gzip: true}, after: func(dir string) {
			f, _ := filepath.Glob(filepath.Join(dir, "bad_*.data.json.gz"))
			b, _ := os.ReadFile(f[0])
			must(t, os.WriteFile(f[0], b[:len(b)/2], 0o644), "truncate")
		}, want: []string{"bad_", ".data.json.gz"}},
		{name: "not-an-object", coll: rsColl{Name: "bad", Type: 2, Lines: []byte("{\"_key\":\"x\"}\n[1,2]\n")},
			want: []string{"bad_", "line 2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			rsWriteDump(t, dir, "src", []rsColl{{Name: "good", Type: 2, Docs: good}, tc.coll})
			if tc.after != nil {
				tc.after(dir)
			}
			db := uniqueDB(t, "bad")
			tg.dropAtEnd(t, db)
			res := runTool(t, "gorestore", append(tg.serverArgs(db), dir, "--create-database", "true", "--progress", "false")...)
			if res.Code == 0 {
				t.Fatalf("damaged dump restored without error: %s", res)
			}
			for _, w := range tc.want {
				if !strings.Contains(res.Stderr, w) {
					t.Errorf("error does not mention %q: %s", w, res.Stderr)
				}
			}
			compareDocs(t, "good", rsDocsByKey(good), serverDocs(t, tg, db, "good"))
		})
	}
}

func rsGenDocs(n int) []Doc {
	out := make([]Doc, n)
	for i := range out {
		out[i] = Doc{"_key": fmt.Sprintf("k%07d", i), "i": i, "text": fmt.Sprintf("document %d with some text to make it longer %x", i, i*7919)}
	}
	return out
}

// TestRestoreList: --list describes the dump without a server.
func TestRestoreList(t *testing.T) {
	dir := t.TempDir()
	rsGraphDump(t, dir, 120, 80)
	res := mustRun(t, "gorestore", dir, "--list", "--server.endpoint", "tcp://127.0.0.1:1")
	for _, w := range []string{"people", "knows", "things", "edge", "120", "80", "50", "byName"} {
		if !strings.Contains(res.Stdout, w) {
			t.Errorf("--list output lacks %q:\n%s", w, res.Stdout)
		}
	}
}

// TestRestoreDryRun writes nothing.
func TestRestoreDryRun(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	dir := t.TempDir()
	rsGraphDump(t, dir, 20, 20)
	db := uniqueDB(t, "dry")
	tg.createDatabase(t, db)
	res := mustRun(t, "gorestore", append(tg.serverArgs(db), dir, "--dry-run", "--progress", "false")...)
	if !strings.Contains(res.Stdout, "people") {
		t.Errorf("dry run prints no plan: %s", res)
	}
	for _, c := range []string{"people", "knows", "things"} {
		if _, ok := rsServerCollection(t, tg, db, c); ok {
			t.Errorf("dry run created %s", c)
		}
	}
}

// rsRestoreDataCounter counts restore-data requests on arangotest, optionally slowing them.
func rsRestoreDataCounter(srv *arangotest.Server, delay time.Duration) int {
	return srv.AddFault(arangotest.Fault{Method: "PUT", PathPrefix: "/_api/replication/restore-data", Delay: delay, CutAfterBytes: -1})
}

func rsFaultMatched(srv *arangotest.Server, id int) int {
	for _, f := range srv.Faults() {
		if f.ID == id {
			return f.Matched
		}
	}
	return -1
}

// TestRestoreResumeAfterKill kills gorestore with SIGKILL at several points and resumes
// with --continue: the final state is exact and acknowledged batches are not sent again.
func TestRestoreResumeAfterKill(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	tg.needArangotest(t)
	dir := t.TempDir()
	big := rsGenDocs(60000) // ~6 MB in batches of 128 KiB: ~50 batches
	mid := rsGenDocs(20000)
	rsWriteDump(t, dir, "src", []rsColl{
		{Name: "big", Type: 2, Docs: big, Gzip: true},
		{Name: "mid", Type: 2, Docs: mid},
		{Name: "small", Type: 2, Docs: rsGenDocs(10)},
	})
	// A clean restore: how many batches a full run sends.
	clean := uniqueDB(t, "clean")
	tg.dropAtEnd(t, clean)
	counter := rsRestoreDataCounter(tg.Server, 0)
	mustRun(t, "gorestore", append(tg.serverArgs(clean), dir, "--create-database", "true", "--batch-size", "131072", "--threads", "2", "--progress", "false")...)
	fullBatches := rsFaultMatched(tg.Server, counter)
	tg.Server.RemoveFault(counter)
	if fullBatches < 40 {
		t.Fatalf("only %d batches in a full run; the test needs more", fullBatches)
	}

	db := uniqueDB(t, "resume")
	tg.dropAtEnd(t, db)
	counter = rsRestoreDataCounter(tg.Server, 15*time.Millisecond)
	defer tg.Server.RemoveFault(counter)
	args := append(tg.serverArgs(db), dir, "--create-database", "true", "--batch-size", "131072", "--threads", "2", "--progress", "false")
	contFile := filepath.Join(dir, "continue.json")
	kills := 0
	for _, killAt := range []int{3, 20, 45} {
		cmd := toolCommand(context.Background(), "gorestore", append(args, "--continue", "true")...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		must(t, cmd.Start(), "start gorestore")
		deadline := time.Now().Add(60 * time.Second)
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		killed := false
	wait:
		for time.Now().Before(deadline) {
			select {
			case <-exited:
				break wait
			case <-time.After(5 * time.Millisecond):
			}
			if rsFaultMatched(tg.Server, counter) >= killAt {
				_ = cmd.Process.Signal(syscall.SIGKILL)
				<-exited
				killed = true
				kills++
				break
			}
		}
		if !killed {
			t.Fatalf("gorestore ended before batch %d: %s", killAt, stderr.String())
		}
		cont, err := os.ReadFile(contFile)
		if err != nil {
			t.Fatalf("no continue.json after the kill at batch %d", killAt)
		}
		t.Logf("killed at batch %d: continue.json %s", killAt, cont)
	}
	res := mustRun(t, "gorestore", append(args, "--continue", "true")...)
	if _, err := os.Stat(contFile); err == nil {
		t.Error("continue.json left after a finished restore")
	}
	sent := rsFaultMatched(tg.Server, counter)
	t.Logf("clean run: %d batches; killed %d times and resumed: %d batches in all; %s", fullBatches, kills, sent, strings.TrimSpace(res.Stdout))
	// Each kill may lose the batches in flight (at most --threads) plus one being acknowledged.
	if sent > fullBatches+kills*3 {
		t.Errorf("resumed restore sent %d batches, a clean one %d: acknowledged batches were sent again", sent, fullBatches)
	}
	for _, c := range []struct {
		name string
		docs []Doc
	}{{"big", big}, {"mid", mid}, {"small", rsGenDocs(10)}} {
		compareDocs(t, c.name, rsDocsByKey(c.docs), serverDocs(t, tg, db, c.name))
	}
	// Re-running without --continue over the restored database gives the same state.
	mustRun(t, "gorestore", args...)
	compareDocs(t, "big (again)", rsDocsByKey(big), serverDocs(t, tg, db, "big"))
}

// TestRestoreRoundTrip: seed -> godump -> gorestore into another database and into a fresh
// server, comparing every document, property and index.
func TestRestoreRoundTrip(t *testing.T) {
	src := newTarget(t, arangotest.Options{})
	srcDB := uniqueDB(t, "src")
	seeded := seedStandard(t, src, srcDB)
	dir := filepath.Join(t.TempDir(), "dump")
	mustRun(t, "godump", append(src.serverArgs(srcDB), "--output-directory", dir, "--include-system-collections", "true", "--progress", "false")...)

	check := func(t *testing.T, tg *target, db string) { rtCheckRestored(t, src, srcDB, seeded, tg, db) }
	t.Run("other-database", func(t *testing.T) {
		db := uniqueDB(t, "dst")
		src.dropAtEnd(t, db)
		mustRun(t, "gorestore", append(src.serverArgs(db), dir, "--create-database", "true", "--include-system-collections", "true", "--progress", "false")...)
		check(t, src, db)
	})
	t.Run("fresh-server", func(t *testing.T) {
		dst := newTarget(t, arangotest.Options{})
		dst.needArangotest(t)
		mustRun(t, "gorestore", append(dst.serverArgs(srcDB), dir, "--create-database", "true", "--include-system-collections", "true", "--threads", "3", "--progress", "false")...)
		check(t, dst, srcDB)
	})
}

// rtCheckRestored compares database db on tg with the seeded source database srcDB on src:
// every document (with a new _rev), index, collection property, view, analyzer and graph.
func rtCheckRestored(t *testing.T, src *target, srcDB string, seeded *seededDB, tg *target, db string) {
	t.Helper()
	for _, sc := range seeded.Collections {
		got := serverDocs(t, tg, db, sc.Name)
		compareDocs(t, db+"/"+sc.Name, sc.Docs, got)
		// A restore gives every document a new _rev (the server drops the dumped one,
		// RestReplicationHandler::parseBatchDump): nothing may rely on kept revisions.
		for k, before := range serverDocs(t, src, srcDB, sc.Name) {
			if after, ok := got[k]; ok && (after["_rev"] == before["_rev"] || after["_rev"] == "" || after["_rev"] == nil) {
				t.Errorf("%s/%s/%s: _rev %v after restore, %v before: a restore must give a new revision", db, sc.Name, k, after["_rev"], before["_rev"])
				break
			}
		}
		checkIndexes(t, tg, db, sc)
		props, ok := rsServerCollection(t, tg, db, sc.Name)
		if !ok {
			continue
		}
		srcProps, _ := rsServerCollection(t, src, srcDB, sc.Name)
		for _, f := range []string{"type", "waitForSync", "keyOptions", "schema", "computedValues", "cacheEnabled"} {
			if f == "keyOptions" {
				a, _ := props[f].(map[string]any)
				b, _ := srcProps[f].(map[string]any)
				// The key generator's state round-trips exactly (restore-collection keeps
				// keyOptions.lastValue, and the restored keys do not move it further).
				if a["type"] != b["type"] || a["allowUserKeys"] != b["allowUserKeys"] || !jsonEqual(a["lastValue"], b["lastValue"]) {
					t.Errorf("%s/%s: keyOptions %v, want %v", db, sc.Name, a, b)
				}
				continue
			}
			if !jsonEqual(props[f], srcProps[f]) {
				t.Errorf("%s/%s: %s = %s, want %s", db, sc.Name, f, short(props[f]), short(srcProps[f]))
			}
		}
	}
	c := tg.conn(t, db)
	for _, v := range seeded.Views {
		var got Doc
		must(t, c.DoJSON(context.Background(), client.Request{Method: "GET", Path: "/_api/view/" + v + "/properties"}, &got), "view "+v)
		var want Doc
		must(t, src.conn(t, srcDB).DoJSON(context.Background(), client.Request{Method: "GET", Path: "/_api/view/" + v + "/properties"}, &want), "source view "+v)
		for _, f := range []string{"type", "links", "indexes"} {
			if !jsonEqual(normalizeJSON(got[f]), normalizeJSON(want[f])) {
				t.Errorf("view %s: %s = %s, want %s", v, f, short(got[f]), short(want[f]))
			}
		}
	}
	var an struct{ Result []Doc }
	must(t, c.DoJSON(context.Background(), client.Request{Method: "GET", Path: "/_api/analyzer"}, &an), "analyzers")
	for _, a := range seeded.Analyzers {
		found := false
		for _, r := range an.Result {
			if strings.HasSuffix(fmt.Sprint(r["name"]), "::"+a) || r["name"] == a {
				found = true
			}
		}
		if !found {
			t.Errorf("analyzer %s missing", a)
		}
	}
	for _, g := range seeded.Graphs {
		must(t, c.DoJSON(context.Background(), client.Request{Method: "GET", Path: "/_api/gharial/" + g}, nil), "graph "+g)
	}
}

var _ = bufio.NewReader
var _ = sort.Strings

// rsClusterTarget starts an arangotest cluster with n Coordinators.
func rsClusterTarget(t *testing.T, n int) (*arangotest.Cluster, *target) {
	t.Helper()
	if realEndpoint() != "" {
		t.Skip("needs an arangotest cluster")
	}
	cl, err := arangotest.NewCluster(arangotest.ClusterOptions{Coordinators: n, DBServers: 3})
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl, &target{Endpoint: cl.Endpoints()[0], Server: cl.Coordinators()[0], Username: "root"}
}

// TestRestoreFastCluster: --fast-cluster-restore over three Coordinators loads with
// replication factor 1, spreads the collections over the Coordinators, and ends with the
// target replication factor and every shard in sync.
func TestRestoreFastCluster(t *testing.T) {
	cl, tg := rsClusterTarget(t, 3)
	dir := t.TempDir()
	colls := rsGraphDump(t, dir, 300, 400)
	// The dump says replicationFactor 2 and 3 shards for every collection.
	for i := range colls {
		colls[i].Extra = Doc{"replicationFactor": 2, "numberOfShards": 3, "writeConcern": 1}
	}
	rsWriteDump(t, dir, "graphsrc", colls)
	var counters []int
	for _, s := range cl.Coordinators() {
		counters = append(counters, rsRestoreDataCounter(s, 0))
	}
	db := uniqueDB(t, "fast")
	args := []string{"--server.username", "root", "--server.password", "", "--server.database", db}
	for _, ep := range cl.Endpoints() {
		args = append(args, "--server.endpoint", ep)
	}
	mustRun(t, "gorestore", append(args, dir, "--create-database", "true", "--fast-cluster-restore", "true",
		"--replication-factor", "things=3", "--progress", "false")...)
	for i, s := range cl.Coordinators() {
		if n := rsFaultMatched(s, counters[i]); n == 0 {
			t.Errorf("Coordinator %d got no restore-data request: data jobs not spread", i)
		}
	}
	wantRF := map[string]string{"people": "2", "knows": "2", "things": "3"}
	c := tg.conn(t, db)
	var inv struct {
		Collections []struct {
			Parameters Doc  `json:"parameters"`
			AllInSync  bool `json:"allInSync"`
		} `json:"collections"`
	}
	must(t, c.DoJSON(context.Background(), client.Request{Method: "GET", Path: "/_api/replication/clusterInventory"}, &inv), "clusterInventory")
	seen := 0
	for _, ci := range inv.Collections {
		name, _ := ci.Parameters["name"].(string)
		want, ok := wantRF[name]
		if !ok {
			continue
		}
		seen++
		if !ci.AllInSync {
			t.Errorf("%s: shards not in sync after the restore", name)
		}
		if !jsonEqual(ci.Parameters["replicationFactor"], json.Number(want)) {
			t.Errorf("%s: replicationFactor %v, want %s", name, ci.Parameters["replicationFactor"], want)
		}
		if !jsonEqual(ci.Parameters["numberOfShards"], json.Number("3")) {
			t.Errorf("%s: numberOfShards %v, want 3", name, ci.Parameters["numberOfShards"])
		}
	}
	if seen != 3 {
		t.Errorf("clusterInventory lists %d of the 3 collections", seen)
	}
	for _, cc := range colls {
		compareDocs(t, cc.Name, rsDocsByKey(cc.Docs), serverDocs(t, tg, db, cc.Name))
	}
}

// TestRestoreClusterShardOverrides: --number-of-shards and --replication-factor on a
// cluster, checked through the shards the Coordinator reports.
func TestRestoreClusterShardOverrides(t *testing.T) {
	_, tg := rsClusterTarget(t, 1)
	dir := t.TempDir()
	rsGraphDump(t, dir, 100, 100)
	db := uniqueDB(t, "shards")
	mustRun(t, "gorestore", append(tg.serverArgs(db), dir, "--create-database", "true", "--number-of-shards", "4",
		"--number-of-shards", "knows=2", "--replication-factor", "2", "--progress", "false")...)
	c := tg.conn(t, db)
	for coll, want := range map[string]int{"people": 4, "knows": 2, "things": 4} {
		var res struct {
			Shards []any `json:"shards"`
		}
		must(t, c.DoJSON(context.Background(), client.Request{Method: "GET", Path: "/_api/collection/" + coll + "/shards"}, &res), "shards of "+coll)
		if len(res.Shards) != want {
			t.Errorf("%s: %d shards, want %d", coll, len(res.Shards), want)
		}
		props, _ := rsServerCollection(t, tg, db, coll)
		if !jsonEqual(props["replicationFactor"], json.Number("2")) {
			t.Errorf("%s: replicationFactor %v, want 2", coll, props["replicationFactor"])
		}
		if n := len(serverDocs(t, tg, db, coll)); n == 0 {
			t.Errorf("%s: no documents", coll)
		}
	}
}

// TestRestoreAllDatabasesAndEnvelopes: an --all-databases dump (one subdirectory per
// database) with an envelope dump holding removals; and --force-same-database.
func TestRestoreAllDatabasesAndEnvelopes(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	root := t.TempDir()
	dbA, dbB := uniqueDB(t, "alla"), uniqueDB(t, "allb")
	tg.dropAtEnd(t, dbA)
	tg.dropAtEnd(t, dbB)
	var env bytes.Buffer
	pad := strings.Repeat("p", 100)
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&env, `{"type":2300,"key":"k%d","rev":"%d","data":{"_key":"k%d","_rev":"%d","v":%d,"pad":"%s"}}`+"\n", i, i, i, i, i, pad)
	}
	for i := 0; i < 3000; i += 3 {
		fmt.Fprintf(&env, `{"type":2302,"key":"k%d","rev":"x%d"}`+"\n", i, i)
	}
	for i := 0; i < 3000; i += 9 { // re-inserted after removal, several batches later
		fmt.Fprintf(&env, `{"type":2300,"key":"k%d","rev":"y%d","data":{"_key":"k%d","v":"again"}}`+"\n", i, i, i)
	}
	rsWriteDump(t, filepath.Join(root, dbA), dbA, []rsColl{{Name: "log", Type: 2, Lines: env.Bytes()}})
	rsGraphDump(t, filepath.Join(root, dbB), 50, 50)
	// rsGraphDump names the database graphsrc in dump.json; the subdirectory name is used
	// only when dump.json has none, so point dump.json at dbB.
	meta, _ := json.Marshal(Doc{"database": dbB, "properties": Doc{"name": dbB}})
	must(t, os.WriteFile(filepath.Join(root, dbB, "dump.json"), meta, 0o644), "dump.json")

	args := []string{"--server.endpoint", tg.Endpoint, "--server.username", tg.Username, "--server.password", tg.Password}
	mustRun(t, "gorestore", append(args, root, "--all-databases", "true", "--create-database", "true", "--batch-size", "131072", "--progress", "false")...)
	compareDocs(t, dbA+"/log", dumpDocs(t, filepath.Join(root, dbA), "log"), serverDocs(t, tg, dbA, "log"))
	if n := len(serverDocs(t, tg, dbA, "log")); n != 2000+334 {
		t.Errorf("log: %d documents, want %d", n, 2334)
	}
	compareDocs(t, dbB+"/knows", dumpDocs(t, filepath.Join(root, dbB), "knows"), serverDocs(t, tg, dbB, "knows"))

	// --force-same-database refuses a database of another name.
	res := runTool(t, "gorestore", append(tg.serverArgs(dbA), filepath.Join(root, dbB), "--force-same-database", "true", "--progress", "false")...)
	if res.Code == 0 || !strings.Contains(res.Stderr, "does not match") {
		t.Errorf("--force-same-database: %s", res)
	}
	// --all-databases with --server.database is a usage error.
	res = runTool(t, "gorestore", append(tg.serverArgs(dbA), root, "--all-databases", "true", "--progress", "false")...)
	if res.Code != 2 {
		t.Errorf("--all-databases --server.database: %s", res)
	}
}

// TestRestoreInterrupt: SIGINT stops the restore with exit code 130, keeps continue.json, and
// --continue finishes it.
func TestRestoreInterrupt(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	tg.needArangotest(t)
	dir := t.TempDir()
	docs := rsGenDocs(30000)
	rsWriteDump(t, dir, "src", []rsColl{{Name: "big", Type: 2, Docs: docs, Gzip: true}})
	db := uniqueDB(t, "sigint")
	tg.dropAtEnd(t, db)
	counter := rsRestoreDataCounter(tg.Server, 20*time.Millisecond)
	defer tg.Server.RemoveFault(counter)
	args := append(tg.serverArgs(db), dir, "--create-database", "true", "--batch-size", "131072", "--progress", "false")
	cmd := toolCommand(context.Background(), "gorestore", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	must(t, cmd.Start(), "start gorestore")
	for deadline := time.Now().Add(30 * time.Second); rsFaultMatched(tg.Server, counter) < 5 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	must(t, cmd.Process.Signal(os.Interrupt), "SIGINT")
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("exit code %d after SIGINT (%v), want 130: %s", code, err, stderr.String())
	}
	// An interrupted run says so and how to resume, once; no success-style summary.
	if strings.Contains(stdout.String(), "Processed ") || !strings.Contains(stdout.String(), "Interrupted after ") ||
		!strings.Contains(stdout.String()+stderr.String(), "--continue true") || strings.Count(stderr.String(), "context canceled") > 1 {
		t.Errorf("after SIGINT:\nstdout: %s\nstderr: %s", stdout.String(), stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "continue.json")); err != nil {
		t.Fatal("continue.json not kept after SIGINT")
	}
	res := mustRun(t, "gorestore", append(args, "--continue", "true")...)
	if !strings.Contains(res.Stdout, "not sent again") {
		t.Errorf("resume re-sent everything: %s", res.Stdout)
	}
	compareDocs(t, "big", rsDocsByKey(docs), serverDocs(t, tg, db, "big"))
}

// TestRestoreUniqueViolation: data that violates a unique index fails the restore (in
// either index order), naming the collection.
func TestRestoreUniqueViolation(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	dir := t.TempDir()
	rsWriteDump(t, dir, "src", []rsColl{{Name: "dups", Type: 2, Docs: []Doc{{"_key": "a", "email": "x@y"}, {"_key": "b", "email": "x@y"}},
		Indexes: []Doc{{"type": "persistent", "fields": []string{"email"}, "unique": true, "sparse": false, "name": "byEmail"}}}})
	for _, after := range []string{"true", "false"} {
		db := uniqueDB(t, "dups")
		tg.dropAtEnd(t, db)
		res := runTool(t, "gorestore", append(tg.serverArgs(db), dir, "--create-database", "true", "--indexes-after-data", after, "--progress", "false")...)
		if res.Code == 0 || !strings.Contains(res.Stderr, `"dups"`) {
			t.Errorf("--indexes-after-data %s: duplicate under a unique index accepted: %s", after, res)
		}
	}
}

// TestRestoreRetries: 503 answers and dropped connections on restore-data are retried, and
// the restored data is exact.
func TestRestoreRetries(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	tg.needArangotest(t)
	dir := t.TempDir()
	docs := rsGenDocs(8000)
	rsWriteDump(t, dir, "src", []rsColl{{Name: "r", Type: 2, Docs: docs, Gzip: true}})
	db := uniqueDB(t, "retry")
	tg.dropAtEnd(t, db)
	f1 := tg.Server.AddFault(arangotest.Fault{Method: "PUT", PathPrefix: "/_api/replication/restore-data", Nth: 2, Times: 2, Status: 503, CutAfterBytes: -1})
	f2 := tg.Server.AddFault(arangotest.Fault{Method: "PUT", PathPrefix: "/_api/replication/restore-data", Nth: 6, Times: 1, CutAfterBytes: 0})
	defer tg.Server.ClearFaults()
	mustRun(t, "gorestore", append(tg.serverArgs(db), dir, "--create-database", "true", "--batch-size", "131072", "--progress", "false")...)
	for _, id := range []int{f1, f2} {
		for _, fi := range tg.Server.Faults() {
			if fi.ID == id && fi.Fired == 0 {
				t.Errorf("fault %d never fired: the test proves nothing", id)
			}
		}
	}
	compareDocs(t, "r", rsDocsByKey(docs), serverDocs(t, tg, db, "r"))
}
