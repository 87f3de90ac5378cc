package restore

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/arangobackup/godump/client"
	"github.com/arangobackup/godump/format"
)

// fakeServer records the restore requests gorestore makes, in order, and keeps the lines
// restore-data received per collection.
type fakeServer struct {
	mu       sync.Mutex
	calls    []string // "restore-collection users", "restore-data users", ...
	lines    map[string][]string
	failData map[string]int // collection -> HTTP status to answer restore-data with
	// failAfter: collection -> restore-data requests accepted before failData applies
	failAfter map[string]int
	status    string // POST /_admin/status answer ("" = 404)
	srv       *httptest.Server
}

func newFakeServer(t *testing.T) *fakeServer {
	f := &fakeServer{lines: map[string][]string{}, failData: map[string]int{}, failAfter: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	path := r.URL.Path
	if strings.HasPrefix(path, "/_db/") {
		path = path[strings.Index(path[5:], "/")+5:]
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case path == "/_api/version":
		io.WriteString(w, `{"server":"arango","version":"3.12.4","license":"community"}`)
	case path == "/_admin/server/role":
		io.WriteString(w, `{"role":"SINGLE"}`)
	case path == "/_api/database/current":
		io.WriteString(w, `{"result":{"name":"x"}}`)
	case path == "/_admin/status" || path == "/_api/foxx/_local/heal":
		f.mu.Lock()
		f.calls = append(f.calls, r.Method+" "+path)
		f.mu.Unlock()
		if path == "/_admin/status" && f.status == "" {
			w.WriteHeader(404)
			io.WriteString(w, `{"error":true,"code":404,"errorNum":404,"errorMessage":"not found"}`)
			return
		}
		if path == "/_admin/status" {
			io.WriteString(w, f.status)
			return
		}
		w.WriteHeader(204)
	case path == "/_api/replication/restore-data" && r.Header.Get("Content-Type") != "application/x-arango-dump":
		// As 3.12 answers a body not typed as JSON lines (RestReplicationHandler::parseBatch).
		w.WriteHeader(500)
		io.WriteString(w, `{"error":true,"code":500,"errorNum":4,"errorMessage":"invalid request type: application/json; charset=utf-8"}`)
	case strings.HasPrefix(path, "/_api/replication/restore-"):
		op := strings.TrimPrefix(path, "/_api/replication/")
		var name string
		switch op {
		case "restore-collection", "restore-indexes":
			var s struct{ Parameters struct{ Name string } }
			json.Unmarshal(body, &s)
			name = s.Parameters.Name
		case "restore-view":
			var v struct{ Name string }
			json.Unmarshal(body, &v)
			name = v.Name
		case "restore-data":
			name = r.URL.Query().Get("collection")
		}
		f.mu.Lock()
		f.calls = append(f.calls, op+" "+name)
		if op == "restore-data" {
			if st := f.failData[name]; st != 0 && f.failAfter[name] <= 0 {
				f.mu.Unlock()
				w.WriteHeader(st)
				fmt.Fprintf(w, `{"error":true,"code":%d,"errorNum":1210,"errorMessage":"unique constraint violated"}`, st)
				return
			}
			if f.failAfter[name] > 0 {
				f.failAfter[name]--
			}
			for _, l := range bytes.Split(body, []byte("\n")) {
				if len(bytes.TrimSpace(l)) > 0 {
					f.lines[name] = append(f.lines[name], string(l))
				}
			}
		}
		f.mu.Unlock()
		io.WriteString(w, `{"result":true}`)
	default:
		w.WriteHeader(404)
		io.WriteString(w, `{"error":true,"code":404,"errorNum":404,"errorMessage":"not found"}`)
	}
}

func (f *fakeServer) conn(t *testing.T) *client.Conn {
	o := client.DefaultOptions()
	o.Endpoints = []string{f.srv.URL}
	o.Authentication = false
	o.MaxRetries = 0
	c, err := client.Connect(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testDataFileName is the uncompressed data file writeTestDump writes for collection c.
func testDataFileName(c string) string {
	sum := md5.Sum([]byte(c))
	return c + "_" + hex.EncodeToString(sum[:]) + ".data.json"
}

// sha256Hex is the manifest's form of a file's SHA-256.
func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// writeTestDump writes a 3.12-style dump directory (without package format).
func writeTestDump(t *testing.T, dir string, colls map[string]string, data map[string]string, views map[string]string) {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "ENCRYPTION"), []byte("none"), 0o644)
	os.WriteFile(filepath.Join(dir, "dump.json"), []byte(`{"database":"src","useEnvelope":false,"properties":{"name":"src"}}`), 0o644)
	for name, params := range colls {
		sum := md5.Sum([]byte(name))
		base := name + "_" + hex.EncodeToString(sum[:])
		if err := os.WriteFile(filepath.Join(dir, base+".structure.json"), []byte(`{"indexes":[{"type":"persistent","fields":["a"],"name":"ia"}],"parameters":`+params+`}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if d, ok := data[name]; ok {
			os.WriteFile(filepath.Join(dir, base+".data.json"), []byte(d), 0o644)
		}
	}
	for name, def := range views {
		os.WriteFile(filepath.Join(dir, name+".view.json"), []byte(def), 0o644)
	}
}

func indexOf(calls []string, c string) int {
	for i, x := range calls {
		if x == c {
			return i
		}
	}
	return -1
}

func TestOrderOfOperations(t *testing.T) {
	dir := t.TempDir()
	writeTestDump(t, dir, map[string]string{
		"_analyzers": `{"name":"_analyzers","type":2,"isSystem":true}`,
		"_users":     `{"name":"_users","type":2,"isSystem":true}`,
		"users":      `{"name":"users","type":2}`,
		"Alpha":      `{"name":"Alpha","type":2}`,
		"edges":      `{"name":"edges","type":3}`,
		"child":      `{"name":"child","type":2,"distributeShardsLike":"users"}`,
	}, map[string]string{
		"_analyzers": `{"_key":"csv","name":"csv","type":"delimiter"}` + "\n",
		"_users":     `{"user":"bob"}` + "\n",
		"users":      `{"_key":"1"}` + "\n" + `{"_key":"2"}` + "\n",
		"edges":      `{"_key":"e","_from":"users/1","_to":"users/2"}` + "\n",
	}, map[string]string{
		"search": `{"name":"search","type":"arangosearch","links":{"users":{}}}`,
		"alias":  `{"name":"alias","type":"search-alias","indexes":[{"collection":"users","index":"inv"}]}`,
	})
	f := newFakeServer(t)
	opts := DefaultOptions()
	opts.InputDirectory = dir
	opts.IncludeSystemCollections = true
	opts.Threads = 3
	sum, err := Run(context.Background(), f.conn(t), opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	calls := f.calls
	t.Logf("calls: %q", calls)
	// Collections in arangorestore's order, before anything else.
	wantColl := []string{"_analyzers", "_users", "Alpha", "users", "edges", "child"}
	for i, c := range wantColl {
		if calls[i] != "restore-collection "+c {
			t.Fatalf("call %d = %q, want restore-collection %s (calls %q)", i, calls[i], c, calls)
		}
	}
	ana := indexOf(calls, "restore-data _analyzers")
	view := indexOf(calls, "restore-view search")
	alias := indexOf(calls, "restore-view alias")
	users := indexOf(calls, "restore-data _users")
	for _, c := range []string{"restore-data users", "restore-data edges", "restore-indexes users", "restore-indexes edges", "restore-indexes Alpha"} {
		i := indexOf(calls, c)
		if i < 0 {
			t.Fatalf("%s missing", c)
		}
		if !(ana < view && view < i && i < alias && alias < users) {
			t.Errorf("order: analyzers %d, arangosearch view %d, %s %d, search-alias %d, _users %d", ana, view, c, i, alias, users)
		}
	}
	for i, c := range calls {
		if !strings.HasSuffix(c, " _users") && i > users {
			t.Errorf("%s after the _users data: %q", c, calls)
		}
	}
	// Indexes are built before each collection's data (defaultIndexesAfterData).
	if indexOf(calls, "restore-indexes users") > indexOf(calls, "restore-data users") {
		t.Errorf("indexes of users after its data: %q", calls)
	}
	if len(f.lines["users"]) != 2 || sum.Docs != 5 || sum.Collections != 6 {
		t.Errorf("lines %v, summary %+v", f.lines, sum)
	}
	if _, err := os.Stat(filepath.Join(dir, ContinueFileName)); !os.IsNotExist(err) {
		t.Error("continue.json left after success")
	}
}

func TestEnvelopeAndRenameTransforms(t *testing.T) {
	dir := t.TempDir()
	writeTestDump(t, dir, map[string]string{
		"old":   `{"name":"old","type":2}`,
		"links": `{"name":"links","type":3}`,
	}, map[string]string{
		// 2.x envelopes: an insert, a 1.x-style insert without _key in data, a removal.
		"old": `{"type":2300,"key":"a","rev":"1","data":{"_key":"a","_rev":"1","v":1}}` + "\n" +
			`{"type":2300,"key":"b","rev":"2","data":{"v":2}}` + "\n" +
			`{"type":2302,"key":"a","rev":"3"}` + "\n",
		"links": `{"_key":"l1","_from":"old/b","_to":"other/x","n":1.50}` + "\n",
	}, nil)
	f := newFakeServer(t)
	opts := DefaultOptions()
	opts.InputDirectory = dir
	opts.Renames = map[string]string{"old": "new"}
	if _, err := Run(context.Background(), f.conn(t), opts, nil); err != nil {
		t.Fatal(err)
	}
	got := f.lines["new"]
	if len(got) != 3 {
		t.Fatalf("new: %q", got)
	}
	var l1 struct {
		Type int
		Data map[string]any
	}
	json.Unmarshal([]byte(got[1]), &l1)
	if l1.Type != 2300 || l1.Data["_key"] != "b" {
		t.Errorf("1.x insert not given its key: %s", got[1])
	}
	var l2 struct {
		Type int
		Key  string
	}
	json.Unmarshal([]byte(got[2]), &l2)
	if l2.Type != 2302 || l2.Key != "a" {
		t.Errorf("removal: %s", got[2])
	}
	e := f.lines["links"]
	if len(e) != 1 || !strings.Contains(e[0], `"_from":"new/b"`) || !strings.Contains(e[0], `"_to":"other/x"`) || !strings.Contains(e[0], `"n":1.50`) {
		t.Errorf("edge rename: %q", e)
	}
}

func TestDataErrorKeepsProgress(t *testing.T) {
	dir := t.TempDir()
	var big strings.Builder
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&big, `{"_key":"k%d","pad":"%s"}`+"\n", i, strings.Repeat("x", 40))
	}
	writeTestDump(t, dir, map[string]string{"good": `{"name":"good","type":2}`, "bad": `{"name":"bad","type":2}`},
		map[string]string{"good": big.String(), "bad": `{"_key":"1"}` + "\n"}, nil)
	f := newFakeServer(t)
	f.failData["bad"] = 409
	opts := DefaultOptions()
	opts.InputDirectory = dir
	opts.BatchSize = MinBatchSize
	_, err := Run(context.Background(), f.conn(t), opts, nil)
	if err == nil || !strings.Contains(err.Error(), `collection "bad"`) || !strings.Contains(err.Error(), "lines 1-1") {
		t.Fatalf("error %v", err)
	}
	// The other collection is complete, and continue.json says so.
	if len(f.lines["good"]) != 20000 {
		t.Errorf("good: %d lines", len(f.lines["good"]))
	}
	cf, lerr := loadContinueFile(dir, true)
	if lerr != nil {
		t.Fatal(lerr)
	}
	if cf.get("good").State != stateRestored || cf.get("bad").State == stateRestored {
		t.Errorf("continue states: good %+v bad %+v", cf.get("good"), cf.get("bad"))
	}
	// Resuming sends only what is missing.
	delete(f.failData, "bad")
	f.lines = map[string][]string{}
	opts.Continue = true
	sum, err := Run(context.Background(), f.conn(t), opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.lines["good"]) != 0 || len(f.lines["bad"]) != 1 || sum.Docs != 1 {
		t.Errorf("resume sent good %d, bad %d", len(f.lines["good"]), len(f.lines["bad"]))
	}
}

func TestManifestMissingAndTruncatedFiles(t *testing.T) {
	dir := t.TempDir()
	writeTestDump(t, dir, map[string]string{"a": `{"name":"a","type":2}`, "b": `{"name":"b","type":2}`},
		map[string]string{"a": `{"_key":"1"}` + "\n", "b": `{"_key":"1"}` + "\n"}, nil)
	name := testDataFileName
	man := fmt.Sprintf(`{"format":1,"tool":"godump","database":"src","complete":true,"files":[
		{"name":%q,"collection":"a","part":-1,"size":13,"documents":1},
		{"name":%q,"collection":"b","part":-1,"size":13,"documents":1}]}`, name("a"), name("b"))
	if err := os.WriteFile(filepath.Join(dir, "godump-manifest.json"), []byte(man), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := DefaultOptions()
	opts.InputDirectory = dir
	if _, err := BuildPlan(opts); err != nil {
		t.Fatalf("intact dump: %v", err)
	}
	os.Remove(filepath.Join(dir, name("b")))
	_, err := BuildPlan(opts)
	if err == nil || !strings.Contains(err.Error(), name("b")) || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: %v", err)
	}
	os.WriteFile(filepath.Join(dir, name("b")), []byte(`{"_k`), 0o644)
	_, err = BuildPlan(opts)
	if err == nil || !strings.Contains(err.Error(), name("b")) {
		t.Errorf("truncated file: %v", err)
	}
}

func TestDamagedFileStopsBeforeItsDataIsSent(t *testing.T) {
	dir := t.TempDir()
	good, bad := `{"_key":"1","v":"good"}`+"\n", `{"_key":"1","v":"orig"}`+"\n"
	writeTestDump(t, dir, map[string]string{"a": `{"name":"a","type":2}`, "b": `{"name":"b","type":2}`},
		map[string]string{"a": good, "b": bad}, nil)
	name := testDataFileName
	sha := sha256Hex
	man := fmt.Sprintf(`{"format":1,"tool":"godump","database":"src","complete":true,"files":[
		{"name":%q,"collection":"a","part":-1,"size":%d,"documents":1,"sha256":%q},
		{"name":%q,"collection":"b","part":-1,"size":%d,"documents":1,"sha256":%q}]}`,
		name("a"), len(good), sha(good), name("b"), len(bad), sha(bad))
	if err := os.WriteFile(filepath.Join(dir, "godump-manifest.json"), []byte(man), 0o644); err != nil {
		t.Fatal(err)
	}
	// Same size, one byte changed: only the checksum can tell.
	damaged := strings.Replace(bad, "orig", "ORIG", 1)
	if err := os.WriteFile(filepath.Join(dir, name("b")), []byte(damaged), 0o644); err != nil {
		t.Fatal(err)
	}
	f := newFakeServer(t)
	opts := DefaultOptions()
	opts.InputDirectory = dir
	_, err := Run(context.Background(), f.conn(t), opts, nil)
	if !errors.Is(err, format.ErrChecksum) || !strings.Contains(err.Error(), name("b")) {
		t.Fatalf("want a checksum error naming %s, got %v", name("b"), err)
	}
	if len(f.lines["b"]) != 0 {
		t.Errorf("%d lines of the damaged file reached the server", len(f.lines["b"]))
	}
	if got := f.lines["a"]; len(got) != 1 || !strings.Contains(got[0], "good") {
		t.Errorf("intact collection a: %q", got)
	}
}

// TestFoxxHealAsArangorestore: after restoring _apps, gorestore asks POST /_admin/status and
// sends the heal only when the Foxx API is not reported off (triggerFoxxHeal in
// RestoreFeature.cpp); without _apps neither is sent.
func TestFoxxHealAsArangorestore(t *testing.T) {
	for _, tc := range []struct {
		name, status string
		apps, heal   bool
	}{
		{"foxx-api-on", `{"server":"arango","foxxApi":true}`, true, true},
		{"foxx-api-off", `{"server":"arango","foxxApi":false}`, true, false},
		{"no-foxxApi-attribute", `{"server":"arango"}`, true, true},
		{"status-unavailable", "", true, true},
		{"no-apps", `{"server":"arango","foxxApi":true}`, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t)
			f.status = tc.status
			dir := t.TempDir()
			colls := map[string]string{"users": `{"name":"users","type":2}`}
			data := map[string]string{"users": `{"_key":"u1"}` + "\n"}
			if tc.apps {
				colls["_apps"] = `{"name":"_apps","type":2,"isSystem":true}`
				data["_apps"] = `{"_key":"a1","mount":"/x"}` + "\n"
			}
			writeTestDump(t, dir, colls, data, nil)
			opts := DefaultOptions()
			opts.InputDirectory = dir
			opts.IncludeSystemCollections = true
			if _, err := Run(context.Background(), f.conn(t), opts, nil); err != nil {
				t.Fatal(err)
			}
			if got := len(f.lines["users"]); got != 1 {
				t.Fatalf("users got %d lines, want 1", got)
			}
			st, heal := indexOf(f.calls, "POST /_admin/status"), indexOf(f.calls, "POST /_api/foxx/_local/heal")
			if tc.apps != (st >= 0) || tc.heal != (heal >= 0) || (heal >= 0 && heal < st) {
				t.Fatalf("calls %v: status asked %v, heal sent %v; want %v, %v", f.calls, st >= 0, heal >= 0, tc.apps, tc.heal)
			}
		})
	}
}
