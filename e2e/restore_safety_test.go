package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/arangobackup/godump/arangotest"
	"github.com/arangobackup/godump/client"
)

// End-to-end tests of what gorestore must never do silently: restore an unfinished or
// damaged dump as if it were whole (issue 12, points 1, 2, 3, 5 and 16). Each checks what
// reached the server, not only the exit code.

// sfColls are the collections sfGodumpDump seeds, with their number of documents.
var sfColls = map[string]int{"alpha": 40, "beta": 25, "gamma": 10}

// sfGodumpDump seeds a database with sfColls and dumps it with godump into a new directory,
// returning the directory and the seeded documents by collection.
func sfGodumpDump(t *testing.T, tg *target) (string, map[string]map[string]Doc) {
	t.Helper()
	src := uniqueDB(t, "src")
	tg.createDatabase(t, src)
	c := tg.conn(t, src)
	ctx := context.Background()
	docs := map[string]map[string]Doc{}
	for name, n := range sfColls {
		must(t, c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/collection", JSON: Doc{"name": name}}, nil), "create "+name)
		var batch []Doc
		docs[name] = map[string]Doc{}
		for i := 0; i < n; i++ {
			d := Doc{"_key": fmt.Sprintf("%s%03d", name, i), "i": json.Number(strconv.Itoa(i)), "coll": name}
			batch = append(batch, d)
			docs[name][d["_key"].(string)] = d
		}
		must(t, c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/document/" + name, JSON: batch}, nil), "insert into "+name)
	}
	dir := filepath.Join(t.TempDir(), "dump")
	mustRun(t, "godump", append(tg.serverArgs(src), "--output-directory", dir, "--progress", "false")...)
	return dir, docs
}

// sfManifest reads and rewrites godump-manifest.json as generic JSON (the tests do not use
// format/).
func sfManifest(t *testing.T, dir string, edit func(m Doc)) {
	t.Helper()
	p := filepath.Join(dir, "godump-manifest.json")
	b, err := os.ReadFile(p)
	must(t, err, "read manifest")
	m := decodeDoc(t, b)
	edit(m)
	b, err = json.Marshal(m)
	must(t, err, "encode manifest")
	must(t, os.WriteFile(p, b, 0o600), "write manifest")
}

// sfDropManifestEntries removes the manifest's entries of a collection and returns their
// file names.
func sfDropManifestEntries(m Doc, coll string) []string {
	var keep []any
	var names []string
	for _, f := range m["files"].([]any) {
		e := f.(map[string]any)
		if e["collection"] == coll {
			names = append(names, e["name"].(string))
			continue
		}
		keep = append(keep, f)
	}
	m["files"] = keep
	return names
}

func sfRestore(t *testing.T, tg *target, dir, db string, extra ...string) result {
	t.Helper()
	return runTool(t, "gorestore", append(append(tg.serverArgs(db), dir, "--create-database", "true", "--progress", "false"), extra...)...)
}

// sfCollectionExists reports whether db exists and holds coll.
func sfCollectionExists(t *testing.T, tg *target, db, coll string) bool {
	t.Helper()
	c := tg.conn(t, "_system")
	err := c.DoJSON(context.Background(), client.Request{Method: "GET", Database: db, Path: "/_api/collection/" + coll}, nil)
	return err == nil
}

// TestRestoreIncompleteGodumpDump (issue 12 point 1): an unfinished godump dump (manifest
// not complete) is refused with exit 3 naming what is missing, and nothing is written; with
// --force it is restored and each missing or partial collection is named.
func TestRestoreIncompleteGodumpDump(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	dir, docs := sfGodumpDump(t, tg)
	// As godump leaves a dump stopped after alpha and beta's data files were committed, but
	// before beta was recorded and before gamma was written.
	sfManifest(t, dir, func(m Doc) {
		m["complete"] = false
		sfDropManifestEntries(m, "beta")
		for _, name := range sfDropManifestEntries(m, "gamma") {
			must(t, os.Remove(filepath.Join(dir, name)), "remove gamma's data")
		}
	})

	db := uniqueDB(t, "inc")
	tg.dropAtEnd(t, db)
	res := sfRestore(t, tg, dir, db)
	if res.Code != 3 {
		t.Fatalf("incomplete dump: exit %d, want 3: %s", res.Code, res)
	}
	for _, want := range []string{"godump-manifest.json", "incomplete", `"complete": false`, "not written: gamma",
		"partial: beta", "re-run the dump", "--force true", "nothing was restored"} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("error lacks %q: %s", want, res.Stderr)
		}
	}
	if sfCollectionExists(t, tg, db, "alpha") {
		t.Errorf("collection alpha was created although the dump was refused")
	}

	res = sfRestore(t, tg, dir, db, "--force", "true")
	if res.Code != 0 {
		t.Fatalf("--force: %s", res)
	}
	for _, want := range []string{"collection gamma is missing from the incomplete dump (not written)", "collection beta (data file beta_", "is partial"} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("--force: warnings lack %q: %s", want, res.Stderr)
		}
	}
	compareDocs(t, "alpha", docs["alpha"], serverDocs(t, tg, db, "alpha"), "_id", "_rev")
	compareDocs(t, "beta", docs["beta"], serverDocs(t, tg, db, "beta"), "_id", "_rev")
	if n := len(serverDocs(t, tg, db, "gamma")); n != 0 || !sfCollectionExists(t, tg, db, "gamma") {
		t.Errorf("gamma: exists %v with %d documents, want created empty", sfCollectionExists(t, tg, db, "gamma"), n)
	}

	// Killed so hard that no manifest was written and a temporary is left: refused too.
	dir2, _ := sfGodumpDump(t, tg)
	must(t, os.Remove(filepath.Join(dir2, "godump-manifest.json")), "remove manifest")
	must(t, os.WriteFile(filepath.Join(dir2, ".godump-tmp-12345"), []byte(`{"_key":"x"}`), 0o600), "temporary")
	db2 := uniqueDB(t, "inc2")
	tg.dropAtEnd(t, db2)
	res = sfRestore(t, tg, dir2, db2)
	if res.Code != 3 || !strings.Contains(res.Stderr, "half-written") || !strings.Contains(res.Stderr, "re-run the dump") {
		t.Errorf("dump with godump's temporaries: want exit 3 naming them: %s", res)
	}
	if sfCollectionExists(t, tg, db2, "alpha") {
		t.Errorf("collection alpha was created although the dump was refused")
	}
}

// TestRestoreMissingFiles (issue 12 point 2).
func TestRestoreMissingFiles(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})

	t.Run("manifest-structure-missing", func(t *testing.T) {
		dir, _ := sfGodumpDump(t, tg)
		structs, _ := filepath.Glob(filepath.Join(dir, "beta_*.structure.json"))
		if len(structs) != 1 {
			t.Fatalf("beta's structure file: %v", structs)
		}
		must(t, os.Remove(structs[0]), "remove structure")
		db := uniqueDB(t, "nostruct")
		tg.dropAtEnd(t, db)
		res := sfRestore(t, tg, dir, db)
		if res.Code != 3 {
			t.Fatalf("exit %d, want 3: %s", res.Code, res)
		}
		for _, want := range []string{"godump-manifest.json", `"beta"`, filepath.Base(structs[0]), "nothing was restored", "--ignore-collection"} {
			if !strings.Contains(res.Stderr, want) {
				t.Errorf("error lacks %q: %s", want, res.Stderr)
			}
		}
		if strings.Contains(res.Stderr, "belongs to no collection") {
			t.Errorf("the missing structure file is still a warning: %s", res.Stderr)
		}
		if sfCollectionExists(t, tg, db, "alpha") {
			t.Errorf("alpha was created: the restore must stop before anything is sent")
		}
	})

	t.Run("arangodump-data-missing", func(t *testing.T) {
		dir := t.TempDir()
		rsWriteDump(t, dir, "src", []rsColl{{Name: "full", Type: 2, Docs: rsGenDocs(30)}, {Name: "hollow", Type: 2, Docs: rsGenDocs(5)}, {Name: "hollow2", Type: 2, Docs: rsGenDocs(5)}})
		for _, c := range []string{"hollow", "hollow2"} {
			files := dataFilesOf(t, dir, c)
			must(t, os.Remove(files[0]), "remove data file")
		}
		// A data file of no collection: warned about once, not twice.
		must(t, os.WriteFile(filepath.Join(dir, "stray_0123456789abcdef0123456789abcdef.data.json"), []byte(`{"_key":"s"}`+"\n"), 0o644), "stray")
		db := uniqueDB(t, "nodata")
		tg.dropAtEnd(t, db)
		res := sfRestore(t, tg, dir, db)
		if res.Code != 0 {
			t.Fatalf("%s", res)
		}
		for _, c := range []string{"hollow", "hollow2"} {
			if n := strings.Count(res.Stderr, "collection "+c+" has no data file"); n != 1 {
				t.Errorf("%d warnings about %s's missing data file, want 1: %s", n, c, res.Stderr)
			}
			if !sfCollectionExists(t, tg, db, c) || len(serverDocs(t, tg, db, c)) != 0 {
				t.Errorf("%s is not restored empty", c)
			}
		}
		// ... and counted in the closing lines (issue 12 point 2)
		if !strings.Contains(res.Stdout, "2 collection(s) had no data file in the dump and were restored empty: ") {
			t.Errorf("the closing lines do not count the collections without data file:\n%s", res.Stdout)
		}
		if n := strings.Count(res.Stderr, "belongs to no collection"); n != 1 {
			t.Errorf("the stray data file is warned about %d times, want once: %s", n, res.Stderr)
		}
		compareDocs(t, "full", rsDocsByKey(rsGenDocs(30)), serverDocs(t, tg, db, "full"), "_id", "_rev")
	})

	t.Run("structure-only", func(t *testing.T) {
		dir := t.TempDir()
		rsWriteDump(t, dir, "src", []rsColl{{Name: "one", Type: 2, Docs: rsGenDocs(3)}, {Name: "two", Type: 2, Docs: rsGenDocs(3)}})
		for _, c := range []string{"one", "two"} {
			must(t, os.Remove(dataFilesOf(t, dir, c)[0]), "remove data file")
		}
		db := uniqueDB(t, "structonly")
		tg.dropAtEnd(t, db)
		res := sfRestore(t, tg, dir, db)
		if res.Code != 0 {
			t.Fatalf("%s", res)
		}
		if n := strings.Count(res.Stderr, "structure-only dump"); n != 1 {
			t.Errorf("%d structure-only lines, want 1: %s", n, res.Stderr)
		}
		if strings.Contains(res.Stderr, "has no data file") {
			t.Errorf("a structure-only dump warns per collection: %s", res.Stderr)
		}
		for _, c := range []string{"one", "two"} {
			if !sfCollectionExists(t, tg, db, c) {
				t.Errorf("%s not created", c)
			}
		}
	})
}

// TestRestoreManifestCountMismatch (issue 12 point 16): documents sent per file must match
// the manifest's count.
func TestRestoreManifestCountMismatch(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	dir, docs := sfGodumpDump(t, tg)
	var file string
	sfManifest(t, dir, func(m Doc) {
		for _, f := range m["files"].([]any) {
			e := f.(map[string]any)
			if e["collection"] == "alpha" {
				e["documents"] = json.Number(strconv.Itoa(sfColls["alpha"] + 2))
				file = e["name"].(string)
			}
		}
	})
	db := uniqueDB(t, "count")
	tg.dropAtEnd(t, db)
	res := sfRestore(t, tg, dir, db)
	if res.Code != 3 {
		t.Fatalf("exit %d, want 3: %s", res.Code, res)
	}
	want := fmt.Sprintf(`collection "alpha": godump-manifest.json records %d document(s) in %s, %d were sent`, sfColls["alpha"]+2, file, sfColls["alpha"])
	if !strings.Contains(res.Stderr, want) {
		t.Errorf("error lacks %q: %s", want, res.Stderr)
	}
	// What was sent is what the file holds; the other collections are complete.
	compareDocs(t, "alpha", docs["alpha"], serverDocs(t, tg, db, "alpha"), "_id", "_rev")
	compareDocs(t, "beta", docs["beta"], serverDocs(t, tg, db, "beta"), "_id", "_rev")

	// The count as dumped passes.
	sfManifest(t, dir, func(m Doc) {
		for _, f := range m["files"].([]any) {
			if e := f.(map[string]any); e["collection"] == "alpha" {
				e["documents"] = json.Number(strconv.Itoa(sfColls["alpha"]))
			}
		}
	})
	db2 := uniqueDB(t, "count2")
	tg.dropAtEnd(t, db2)
	if res := sfRestore(t, tg, dir, db2); res.Code != 0 {
		t.Fatalf("matching counts: %s", res)
	}
}

// sfListCounts parses the DOCUMENTS column of gorestore --list.
func sfListCounts(t *testing.T, out string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	row := regexp.MustCompile(`^  (\S+)\s+(document|edge)\s+(\d+)\s`)
	for _, line := range strings.Split(out, "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[3])
			counts[m[1]] = n
		}
	}
	return counts
}

// TestRestoreListCountsRealDumps (issue 12 point 5): the document count --list shows for
// every collection of every real dump is what a restore puts into the server.
func TestRestoreListCountsRealDumps(t *testing.T) {
	root := requireRealDumps(t)
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	tg := newTarget(t, arangotest.Options{})
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(root, e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			res := mustRun(t, "gorestore", dir, "--list", "--include-system-collections", "true", "--server.endpoint", "tcp://127.0.0.1:1")
			listed := sfListCounts(t, res.Stdout)
			if len(listed) == 0 {
				t.Fatalf("no collections listed: %s", res)
			}
			db := uniqueDB(t, "list")
			tg.dropAtEnd(t, db)
			mustRun(t, "gorestore", append(tg.serverArgs(db), dir, "--create-database", "true", "--include-system-collections", "true", "--progress", "false")...)
			for name, n := range listed {
				if got := len(serverDocs(t, tg, db, name)); got != n {
					t.Errorf("%s: --list says %d documents, the restore put %d into the server", name, n, got)
				}
			}
		})
	}
}

// TestRestoreListCountsEnvelopeRemovals: an envelope dump whose collection changed during
// the dump (a key inserted, removed and inserted again; a removal of a key never inserted):
// --list counts what the restore leaves.
func TestRestoreListCountsEnvelopeRemovals(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	dir := t.TempDir()
	lines := strings.Join([]string{
		`{"type":2300,"data":{"_key":"a","v":1}}`,
		`{"type":2300,"data":{"_key":"b","v":1}}`,
		`{"type":2302,"key":"a","data":{"_key":"a"}}`,
		`{"type":2300,"key":"c","data":{"v":1}}`,
		`{"type":2300,"data":{"_key":"b","v":2}}`,
		`{"type":2302,"key":"never"}`,
		`{"type":2300,"data":{"_key":"a","v":3}}`,
		`{"type":2302,"key":"c"}`,
		`{"type":2300,"data":{"_key":"d","v":1}}`,
	}, "\n") + "\n"
	rsWriteDump(t, dir, "src", []rsColl{{Name: "env", Type: 2, Lines: []byte(lines), Gzip: true}, {Name: "plain", Type: 2, Docs: rsGenDocs(7)}})
	res := mustRun(t, "gorestore", dir, "--list", "--server.endpoint", "tcp://127.0.0.1:1")
	listed := sfListCounts(t, res.Stdout)
	if listed["env"] != 3 || listed["plain"] != 7 {
		t.Errorf("--list counts env %d (want 3: a, b, d), plain %d (want 7): %s", listed["env"], listed["plain"], res.Stdout)
	}
	db := uniqueDB(t, "env")
	tg.dropAtEnd(t, db)
	mustRun(t, "gorestore", append(tg.serverArgs(db), dir, "--create-database", "true", "--progress", "false")...)
	got := serverDocs(t, tg, db, "env")
	if len(got) != listed["env"] {
		t.Errorf("restored %d documents (%v), --list says %d", len(got), sortedKeys(got), listed["env"])
	}
}

// TestRestoreDryRunExisting (issue 12 point 3): the dry run says what a real run does to a
// collection that exists, for --overwrite false and true, and the real run does it.
func TestRestoreDryRunExisting(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	dir := t.TempDir()
	rsGraphDump(t, dir, 20, 20)
	db := uniqueDB(t, "dryex")
	tg.createDatabase(t, db)
	c := tg.conn(t, db)
	ctx := context.Background()
	must(t, c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/collection", JSON: Doc{"name": "people"}}, nil), "create people")
	must(t, c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/document/people", JSON: Doc{"_key": "mine", "v": "kept"}}, nil), "insert")

	res := mustRun(t, "gorestore", append(tg.serverArgs(db), dir, "--dry-run", "--overwrite", "false", "--progress", "false")...)
	if !strings.Contains(res.Stderr, "collection people exists: the restore would stop with 'duplicate collection name' (--overwrite false) before loading any data") {
		t.Errorf("dry run --overwrite false does not say the restore would stop: %s", res)
	}
	if strings.Contains(res.Stderr+res.Stdout, "kept as it is") {
		t.Errorf("dry run still says the collection is kept as it is: %s", res)
	}
	res = mustRun(t, "gorestore", append(tg.serverArgs(db), dir, "--dry-run", "--overwrite", "false", "--force", "true", "--progress", "false")...)
	if !strings.Contains(res.Stderr, "with --force its data would be added to it") {
		t.Errorf("dry run --force does not say the data would be added: %s", res)
	}
	res = mustRun(t, "gorestore", append(tg.serverArgs(db), dir, "--dry-run", "--progress", "false")...)
	if !strings.Contains(res.Stderr, "collection people exists and would be replaced (--overwrite true)") {
		t.Errorf("dry run --overwrite true does not say people would be replaced: %s", res)
	}
	for _, name := range []string{"knows", "things"} {
		if strings.Contains(res.Stderr, "collection "+name+" exists") {
			t.Errorf("dry run says %s exists: %s", name, res.Stderr)
		}
	}
	// Nothing changed, and a real run does what the first dry run said.
	if got := serverDocs(t, tg, db, "people"); len(got) != 1 || got["mine"] == nil {
		t.Fatalf("dry runs changed people: %v", sortedKeys(got))
	}
	res = runTool(t, "gorestore", append(tg.serverArgs(db), dir, "--overwrite", "false", "--progress", "false")...)
	if res.Code == 0 || !strings.Contains(res.Stderr, "duplicate collection name") {
		t.Errorf("real run with --overwrite false: %s", res)
	}
	if got := serverDocs(t, tg, db, "people"); len(got) != 1 || got["mine"] == nil {
		t.Errorf("real run with --overwrite false changed people: %v", sortedKeys(got))
	}
}
