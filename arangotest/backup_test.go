package arangotest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// --- helpers (prefixed hb to stay clear of other test files) --------------------------------

var hbClient = &http.Client{Timeout: 60 * time.Second}

type hbResp struct {
	status int
	body   []byte
}

func (r hbResp) obj(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response %d is not a JSON object: %v: %q", r.status, err, r.body)
	}
	return m
}

func (r hbResp) result(t testing.TB) map[string]any {
	t.Helper()
	m, _ := r.obj(t)["result"].(map[string]any)
	if m == nil {
		t.Fatalf("response %d has no result object: %s", r.status, r.body)
	}
	return m
}

func (r hbResp) errorNum(t testing.TB) int {
	t.Helper()
	n, _ := r.obj(t)["errorNum"].(float64)
	return int(n)
}

func hbDo(t testing.TB, ep, method, path string, body any, hdr ...string) hbResp {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, ep+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := hbClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, path, err)
	}
	return hbResp{res.StatusCode, b}
}

// hbOK accepts any 2xx answer.
func hbOK(t testing.TB, r hbResp, what string) {
	t.Helper()
	if r.status < 200 || r.status > 299 {
		t.Fatalf("%s: status %d; body %s", what, r.status, r.body)
	}
}

func hbMust(t testing.TB, r hbResp, want int, what string) {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s: status %d, want %d; body %s", what, r.status, want, r.body)
	}
}

// hbServer starts a server with fast restart and transfer timings.
func hbServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := NewServer(opts)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	hb := s.store.backups()
	hb.restartDelay.Store(int64(300 * time.Millisecond))
	hb.transferMin.Store(int64(200 * time.Millisecond))
	return s
}

func hbCreateDB(t testing.TB, ep, name string) {
	t.Helper()
	hbMust(t, hbDo(t, ep, "POST", "/_api/database", map[string]any{"name": name}), 201, "create database "+name)
}

func hbCreateColl(t testing.TB, ep, db, name string) {
	t.Helper()
	hbMust(t, hbDo(t, ep, "POST", "/_db/"+db+"/_api/collection", map[string]any{"name": name}), 200, "create collection "+name)
}

func hbInsert(t testing.TB, ep, db, coll string, doc any) {
	t.Helper()
	r := hbDo(t, ep, "POST", "/_db/"+db+"/_api/document/"+coll, doc)
	if r.status != 201 && r.status != 202 {
		t.Fatalf("insert into %s/%s: %d %s", db, coll, r.status, r.body)
	}
}

func hbBackup(t testing.TB, ep string, body any) string {
	t.Helper()
	r := hbDo(t, ep, "POST", "/_admin/backup/create", body)
	hbMust(t, r, 201, "create backup")
	id, _ := r.result(t)["id"].(string)
	if id == "" {
		t.Fatalf("create backup: no id: %s", r.body)
	}
	return id
}

// waitAvailable polls /_admin/server/availability until 200.
func waitAvailable(t testing.TB, ep string) (saw503 bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		r := hbDo(t, ep, "GET", "/_admin/server/availability", nil)
		if r.status == 200 {
			return saw503
		}
		if r.status == 503 {
			saw503 = true
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("server did not become available again")
	return
}

// imageDigest renders what an image holds, minus what legitimately differs between a state
// and its restored copy (document ticks are not part of it): per database, collections with
// properties, key generator, indexes and every document's bytes, and views.
func imageDigest(img *stateImage) string {
	var b strings.Builder
	dbs := append([]*dbImage(nil), img.Databases...)
	sort.Slice(dbs, func(i, j int) bool { return dbs[i].Name < dbs[j].Name })
	for _, db := range dbs {
		fmt.Fprintf(&b, "db %s id=%d system=%v\n", db.Name, db.ID, db.IsSystem)
		for _, c := range db.Collections {
			props, _ := json.Marshal(c.Props)
			idx, _ := json.Marshal(c.Indexes)
			fmt.Fprintf(&b, " coll %s id=%d type=%d guid=%s keygen=%+v props=%s indexes=%s count=%d\n",
				c.Name, c.ID, c.Type, c.GUID, c.KeyGen, props, idx, len(c.docs))
			for _, d := range c.docs {
				fmt.Fprintf(&b, "  %s\n", d.Raw)
			}
		}
		for _, v := range db.Views {
			raw, _ := json.Marshal(v)
			fmt.Fprintf(&b, " view %s\n", raw)
		}
	}
	return b.String()
}

func (s *Server) testDigest() string {
	return imageDigest(s.store.captureImage(s.version, "SINGLE", 1))
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n want %s\n got  %s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("lengths %d vs %d lines", len(al), len(bl))
}

// --- API shape ----------------------------------------------------------------------------

func TestHotBackupCreateListDelete(t *testing.T) {
	s := hbServer(t, Options{})
	ep := s.Endpoint()
	hbCreateColl(t, ep, "_system", "things")
	hbInsert(t, ep, "_system", "things", map[string]any{"_key": "a", "v": 1})

	r := hbDo(t, ep, "POST", "/_admin/backup/create", map[string]any{"label": "first"})
	hbMust(t, r, 201, "create")
	res := r.result(t)
	id := res["id"].(string)
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d\.\d\d\.\d\dZ_first$`).MatchString(id) {
		t.Fatalf("id %q does not have the form <timestamp>_first", id)
	}
	if res["potentiallyInconsistent"] != false || res["nrDBServers"] != 1.0 || res["nrFiles"].(float64) <= 0 || res["sizeInBytes"].(float64) <= 0 {
		t.Fatalf("create result %v", res)
	}
	if _, err := time.Parse(time.RFC3339, res["datetime"].(string)); err != nil {
		t.Fatalf("datetime %v: %v", res["datetime"], err)
	}

	// Without a body the label is a UUID.
	r = hbDo(t, ep, "POST", "/_admin/backup/create", nil)
	hbMust(t, r, 201, "create without body")
	id2 := r.result(t)["id"].(string)
	if !regexp.MustCompile(`_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id2) {
		t.Fatalf("id %q does not end with a UUID", id2)
	}

	r = hbDo(t, ep, "POST", "/_admin/backup/list", nil)
	hbMust(t, r, 200, "list")
	list := r.result(t)["list"].(map[string]any)
	if len(list) != 2 || list[id] == nil || list[id2] == nil {
		t.Fatalf("list %v, want %s and %s", list, id, id2)
	}
	if srv := r.result(t)["server"].(string); !strings.HasPrefix(srv, "SNGL-") {
		t.Fatalf("server %q", srv)
	}
	e := list[id].(map[string]any)
	if e["id"] != id || e["version"] != s.version || e["available"] != true || e["nrPiecesPresent"] != 1.0 || e["nrDBServers"] != 1.0 {
		t.Fatalf("list entry %v", e)
	}

	r = hbDo(t, ep, "POST", "/_admin/backup/list", map[string]any{"id": id})
	hbMust(t, r, 200, "list one")
	if l := r.result(t)["list"].(map[string]any); len(l) != 1 || l[id] == nil {
		t.Fatalf("list with id: %v", l)
	}
	r = hbDo(t, ep, "POST", "/_admin/backup/list", map[string]any{"id": "2020-01-01T00.00.00Z_nope"})
	hbMust(t, r, 404, "list unknown id")

	// Errors of the handler.
	hbMust(t, hbDo(t, ep, "GET", "/_admin/backup/list", nil), 405, "GET")
	r = hbDo(t, ep, "POST", "/_admin/backup/create", "{nope")
	hbMust(t, r, 400, "bad JSON")
	if r.errorNum(t) != 600 {
		t.Fatalf("bad JSON errorNum %d", r.errorNum(t))
	}
	hbMust(t, hbDo(t, ep, "POST", "/_admin/backup/list/extra", nil), 400, "superfluous suffix")
	hbMust(t, hbDo(t, ep, "POST", "/_db/_system/_admin/backup/list", nil), 200, "with database prefix")

	hbMust(t, hbDo(t, ep, "POST", "/_admin/backup/delete", map[string]any{"id": id}), 200, "delete")
	r = hbDo(t, ep, "POST", "/_admin/backup/delete", map[string]any{"id": id})
	hbMust(t, r, 404, "delete again")
	if r.errorNum(t) != 14 {
		t.Fatalf("delete unknown errorNum %d", r.errorNum(t))
	}
	r = hbDo(t, ep, "POST", "/_admin/backup/list", nil)
	if l := r.result(t)["list"].(map[string]any); len(l) != 1 || l[id2] == nil {
		t.Fatalf("list after delete: %v", l)
	}
}

func TestHotBackupEditions(t *testing.T) {
	old := hbServer(t, Options{Version: "3.11.14", License: "community"})
	r := hbDo(t, old.Endpoint(), "POST", "/_admin/backup/list", nil)
	hbMust(t, r, 404, "3.11 community")
	if !strings.Contains(string(r.body), "unknown path") {
		t.Fatalf("3.11 community: %s", r.body)
	}
	hbMust(t, hbDo(t, hbServer(t, Options{Version: "3.11.14", License: "enterprise"}).Endpoint(), "POST", "/_admin/backup/list", nil), 200, "3.11 enterprise")
	hbMust(t, hbDo(t, hbServer(t, Options{Version: "3.12.5", License: "community"}).Endpoint(), "POST", "/_admin/backup/list", nil), 200, "3.12.5 community")
}

// --- the global write transaction lock ------------------------------------------------------

// Writers keep committing stream transactions that insert the same keys into two collections;
// every hot backup taken meanwhile must hold both halves of a transaction or neither.
func TestHotBackupConsistentWhileWriterBusy(t *testing.T) {
	s := hbServer(t, Options{})
	ep := s.Endpoint()
	hbCreateDB(t, ep, "shop")
	hbCreateColl(t, ep, "shop", "orders")
	hbCreateColl(t, ep, "shop", "payments")
	// A big collection that an image copies between orders and payments (names sort so): it
	// widens the window in which a commit could land between the two halves without the lock.
	hbCreateColl(t, ep, "shop", "pa_big")
	big := s.store.Database("shop").Collection("pa_big")
	for i := 0; i < 10000; i++ {
		if err := big.RestoreDocument([]byte(fmt.Sprintf(`{"_key":"b%d"}`, i))); err != nil {
			t.Fatal(err)
		}
	}

	var stop atomic.Bool
	var commits atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				r := hbDo(t, ep, "POST", "/_db/shop/_api/transaction/begin",
					map[string]any{"collections": map[string]any{"write": []string{"orders", "payments"}}})
				if r.status != 201 {
					t.Errorf("begin: %d %s", r.status, r.body)
					return
				}
				tid := r.result(t)["id"].(string)
				batch := make([]map[string]any, 25)
				for j := range batch {
					batch[j] = map[string]any{"_key": fmt.Sprintf("w%d-%05d-%02d", w, i, j), "pad": strings.Repeat("z", 100)}
				}
				for _, coll := range []string{"orders", "payments"} {
					rr := hbDo(t, ep, "POST", "/_db/shop/_api/document/"+coll, batch, "x-arango-trx-id", tid)
					if rr.status != 201 && rr.status != 202 {
						t.Errorf("insert in trx: %d %s", rr.status, rr.body)
						return
					}
				}
				if rr := hbDo(t, ep, "PUT", "/_db/shop/_api/transaction/"+tid, nil); rr.status != 200 {
					t.Errorf("commit: %d %s", rr.status, rr.body)
					return
				}
				commits.Add(1)
			}
		}(w)
	}
	defer func() { stop.Store(true); wg.Wait() }()

	for commits.Load() < 8 {
		time.Sleep(5 * time.Millisecond)
	}
	var ids []string
	for i := 0; i < 30; i++ {
		t0 := time.Now()
		r := hbDo(t, ep, "POST", "/_admin/backup/create", map[string]any{"label": fmt.Sprintf("busy%d", i), "timeout": 30})
		t.Logf("create %d took %v (commits %d)", i, time.Since(t0), commits.Load())
		hbMust(t, r, 201, "create while busy")
		if r.result(t)["potentiallyInconsistent"] != false {
			t.Fatalf("backup %d potentially inconsistent", i)
		}
		ids = append(ids, r.result(t)["id"].(string))
	}
	stop.Store(true)
	wg.Wait()
	hb := s.store.backups()
	seen := map[int]bool{}
	for _, id := range ids {
		img := hb.entries[id].img
		keys := map[string][]string{}
		for _, db := range img.Databases {
			if db.Name != "shop" {
				continue
			}
			for _, c := range db.Collections {
				for _, d := range c.docs {
					keys[c.Name] = append(keys[c.Name], d.Key)
				}
			}
		}
		o, p := keys["orders"], keys["payments"]
		sort.Strings(o)
		sort.Strings(p)
		if strings.Join(o, ",") != strings.Join(p, ",") {
			t.Fatalf("backup %s is inconsistent: orders %d keys, payments %d keys", id, len(o), len(p))
		}
		if len(o)%25 != 0 {
			t.Fatalf("backup %s holds %d orders: a transaction is half in it", id, len(o))
		}
		seen[len(o)] = true
	}
	if len(seen) < 5 {
		t.Fatalf("the backups hold only %d different states (%v): the writers were not busy", len(seen), seen)
	}
	// And the data really is consistent after a restore of one of them.
	id := ids[len(ids)/2]
	want := imageDigest(hb.entries[id].img)
	hbMust(t, hbDo(t, ep, "POST", "/_admin/backup/restore", map[string]any{"id": id}), 200, "restore")
	waitAvailable(t, ep)
	if got := s.testDigest(); got != want {
		t.Fatalf("state after restore differs from the backup: %s", firstDiff(want, got))
	}
}

func TestHotBackupLockTimeoutAllowInconsistentForce(t *testing.T) {
	s := hbServer(t, Options{})
	ep := s.Endpoint()
	hbCreateColl(t, ep, "_system", "acct")
	hbInsert(t, ep, "_system", "acct", map[string]any{"_key": "base"})

	r := hbDo(t, ep, "POST", "/_api/transaction/begin", map[string]any{"collections": map[string]any{"write": "acct"}})
	hbMust(t, r, 201, "begin")
	tid := r.result(t)["id"].(string)
	hbInsert(t, ep, "_system", "acct", map[string]any{"_key": "staged"}) // outside the trx: fine before the backup
	rr := hbDo(t, ep, "POST", "/_api/document/acct", map[string]any{"_key": "intrx"}, "x-arango-trx-id", tid)
	if rr.status != 201 && rr.status != 202 {
		t.Fatalf("insert in trx: %d %s", rr.status, rr.body)
	}

	start := time.Now()
	r = hbDo(t, ep, "POST", "/_admin/backup/create", map[string]any{"label": "blocked", "timeout": 1})
	took := time.Since(start)
	hbMust(t, r, 408, "create with an open write transaction")
	if r.errorNum(t) != 18 || !strings.Contains(r.obj(t)["errorMessage"].(string), "Could not acquire lock") {
		t.Fatalf("lock timeout body %s", r.body)
	}
	if took < 900*time.Millisecond || took > 5*time.Second {
		t.Fatalf("lock timeout after %v, want about 1 s", took)
	}
	// 100 ms, then 10% longer windows: 1 s holds 7 or 8 of them.
	if n := s.store.backups().lock.attempts; n < 5 || n > 10 {
		t.Fatalf("%d attempt windows in 1 s, want 5..10 (growing by 10%% from 100 ms)", n)
	}
	// Writes were not blocked after the failed attempt.
	hbInsert(t, ep, "_system", "acct", map[string]any{"_key": "after408"})

	r = hbDo(t, ep, "POST", "/_admin/backup/create", map[string]any{"label": "sloppy", "timeout": 0.3, "allowInconsistent": true})
	hbMust(t, r, 201, "allowInconsistent")
	if r.result(t)["potentiallyInconsistent"] != true {
		t.Fatalf("allowInconsistent backup: %s", r.body)
	}
	id := r.result(t)["id"].(string)
	l := hbDo(t, ep, "POST", "/_admin/backup/list", map[string]any{"id": id}).result(t)["list"].(map[string]any)
	if l[id].(map[string]any)["potentiallyInconsistent"] != true {
		t.Fatalf("list does not say potentiallyInconsistent: %v", l)
	}
	// The staged write is not in it (it was never committed).
	for _, db := range s.store.backups().entries[id].img.Databases {
		for _, c := range db.Collections {
			for _, d := range c.docs {
				if d.Key == "intrx" {
					t.Fatal("an uncommitted document is in the backup")
				}
			}
		}
	}

	// force aborts the transaction and gets a consistent backup.
	r = hbDo(t, ep, "POST", "/_admin/backup/create", map[string]any{"label": "forced", "timeout": 0.3, "force": true})
	hbMust(t, r, 201, "force")
	if r.result(t)["potentiallyInconsistent"] != false {
		t.Fatalf("forced backup: %s", r.body)
	}
	rr = hbDo(t, ep, "PUT", "/_api/transaction/"+tid, nil)
	if rr.status != 410 {
		t.Fatalf("commit of the aborted transaction: %d %s", rr.status, rr.body)
	}
	if rr := hbDo(t, ep, "GET", "/_api/document/acct/intrx", nil); rr.status != 404 {
		t.Fatalf("document of the aborted transaction: %d %s", rr.status, rr.body)
	}
}

func TestHotBackupLockMakesWritesWait(t *testing.T) {
	s := hbServer(t, Options{})
	ep := s.Endpoint()
	hbCreateColl(t, ep, "_system", "w")
	hb := s.store.backups()
	if got, _ := hb.lock.acquire(t.Context(), time.Second); !got {
		t.Fatal("lock not acquired on an idle server")
	}
	done := make(chan hbResp, 1)
	go func() { done <- hbDo(t, ep, "POST", "/_api/document/w", map[string]any{"_key": "x"}) }()
	// Reads go on.
	hbMust(t, hbDo(t, ep, "GET", "/_api/collection/w/count", nil), 200, "read while locked")
	select {
	case r := <-done:
		t.Fatalf("write finished while the lock was held: %d %s", r.status, r.body)
	case <-time.After(300 * time.Millisecond):
	}
	if s.store.Database("_system").Collection("w").Count() != 0 {
		t.Fatal("document written while the lock was held")
	}
	hb.lock.release()
	select {
	case r := <-done:
		if r.status != 201 && r.status != 202 {
			t.Fatalf("write after release: %d %s", r.status, r.body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("write still blocked after release")
	}

	// A second create while one is running fails with 7011.
	r := hbDo(t, ep, "POST", "/_api/transaction/begin", map[string]any{"collections": map[string]any{"write": "w"}})
	tid := r.result(t)["id"].(string)
	first := make(chan hbResp, 1)
	go func() {
		first <- hbDo(t, ep, "POST", "/_admin/backup/create", map[string]any{"label": "one", "timeout": 1.5})
	}()
	time.Sleep(200 * time.Millisecond)
	r = hbDo(t, ep, "POST", "/_admin/backup/create", map[string]any{"label": "two", "timeout": 0.2})
	hbMust(t, r, 400, "concurrent create")
	if r.errorNum(t) != 7011 {
		t.Fatalf("concurrent create errorNum %d", r.errorNum(t))
	}
	hbMust(t, hbDo(t, ep, "PUT", "/_api/transaction/"+tid, nil), 200, "commit")
	hbMust(t, <-first, 201, "first create after the commit")
}

// --- restore ----------------------------------------------------------------------------------

func TestHotBackupRestoreEverything(t *testing.T) {
	s := hbServer(t, Options{})
	ep := s.Endpoint()
	hbCreateDB(t, ep, "alpha")
	hbCreateDB(t, ep, "beta")
	hbCreateColl(t, ep, "alpha", "people")
	hbCreateColl(t, ep, "beta", "items")
	hbMust(t, hbDo(t, ep, "POST", "/_db/beta/_api/collection", map[string]any{"name": "links", "type": 3}), 200, "edge collection")
	for i := 0; i < 50; i++ {
		hbInsert(t, ep, "alpha", "people", map[string]any{"_key": fmt.Sprintf("p%d", i), "age": i})
		hbInsert(t, ep, "beta", "items", map[string]any{"name": fmt.Sprintf("item %d", i)}) // generated keys
	}
	hbInsert(t, ep, "beta", "links", map[string]any{"_from": "items/x", "_to": "items/y"})
	r := hbDo(t, ep, "POST", "/_db/alpha/_api/index?collection=people", map[string]any{"type": "persistent", "fields": []string{"age"}, "unique": true, "name": "byAge"})
	if r.status != 201 && r.status != 200 {
		t.Fatalf("index: %d %s", r.status, r.body)
	}
	hbMust(t, hbDo(t, ep, "POST", "/_db/alpha/_api/view", map[string]any{"name": "search", "type": "arangosearch",
		"links": map[string]any{"people": map[string]any{"includeAllFields": true}}}), 201, "view")
	hbMust(t, hbDo(t, ep, "POST", "/_api/user", map[string]any{"user": "alice", "passwd": "secret"}), 201, "user")
	hbCreateColl(t, ep, "_system", "settings")
	hbInsert(t, ep, "_system", "settings", map[string]any{"_key": "mode", "v": "old"})

	want := s.testDigest()
	id := hbBackup(t, ep, map[string]any{"label": "before"})

	// Change everything.
	hbOK(t, hbDo(t, ep, "DELETE", "/_api/database/beta", nil), "drop beta")
	hbCreateDB(t, ep, "gamma")
	for i := 50; i < 60; i++ {
		hbInsert(t, ep, "alpha", "people", map[string]any{"_key": fmt.Sprintf("p%d", i), "age": i})
	}
	hbOK(t, hbDo(t, ep, "DELETE", "/_db/alpha/_api/document/people/p0", nil), "remove p0")
	hbOK(t, hbDo(t, ep, "DELETE", "/_db/alpha/_api/view/search", nil), "drop view")
	hbOK(t, hbDo(t, ep, "DELETE", "/_api/user/alice", nil), "drop user")
	hbOK(t, hbDo(t, ep, "PATCH", "/_api/document/settings/mode", map[string]any{"v": "new"}), "update _system document")
	if s.testDigest() == want {
		t.Fatal("the changes did not change the digest")
	}
	// An open transaction dies with the restore.
	r = hbDo(t, ep, "POST", "/_db/alpha/_api/transaction/begin", map[string]any{"collections": map[string]any{"write": "people"}})
	hbMust(t, r, 201, "begin")
	tid := r.result(t)["id"].(string)

	s.store.backups().restartDelay.Store(int64(2 * time.Second)) // long enough to be seen on a slow machine
	r = hbDo(t, ep, "POST", "/_admin/backup/restore", map[string]any{"id": id})
	hbMust(t, r, 200, "restore")
	if res := r.result(t); res["previous"] != "FAILSAFE" || res["isCluster"] != false {
		t.Fatalf("restore result %v", res)
	}
	// The server "restarts": unavailable for a moment.
	if av := hbDo(t, ep, "GET", "/_admin/server/availability", nil); av.status != 503 {
		t.Fatalf("availability right after restore: %d %s", av.status, av.body)
	}
	waitAvailable(t, ep)
	s.store.backups().restartDelay.Store(int64(300 * time.Millisecond))
	if got := s.testDigest(); got != want {
		t.Fatalf("state after restore differs: %s", firstDiff(want, got))
	}
	// Through the API as well.
	r = hbDo(t, ep, "GET", "/_api/database", nil)
	dbs, _ := r.obj(t)["result"].([]any)
	names := fmt.Sprint(dbs)
	if !strings.Contains(names, "alpha") || !strings.Contains(names, "beta") || strings.Contains(names, "gamma") {
		t.Fatalf("databases after restore: %v", dbs)
	}
	hbMust(t, hbDo(t, ep, "GET", "/_db/alpha/_api/document/people/p0", nil), 200, "p0 is back")
	hbMust(t, hbDo(t, ep, "GET", "/_db/alpha/_api/document/people/p55", nil), 404, "p55 is gone")
	hbMust(t, hbDo(t, ep, "GET", "/_db/alpha/_api/view/search", nil), 200, "view is back")
	hbMust(t, hbDo(t, ep, "GET", "/_api/user/alice", nil), 200, "user is back")
	if v := hbDo(t, ep, "GET", "/_api/document/settings/mode", nil).obj(t)["v"]; v != "old" {
		t.Fatalf("_system document after restore: v=%v", v)
	}
	// Unique index enforced again, key generator continues after the restored keys.
	r = hbDo(t, ep, "POST", "/_db/alpha/_api/document/people", map[string]any{"_key": "dup", "age": 3})
	hbMust(t, r, 409, "unique index after restore")
	r = hbDo(t, ep, "POST", "/_db/beta/_api/document/items", map[string]any{"name": "new"})
	if r.status != 202 && r.status != 201 {
		t.Fatalf("insert after restore: %d %s", r.status, r.body)
	}
	hbMust(t, hbDo(t, ep, "GET", "/_db/beta/_api/collection/items/count", nil), 200, "count")
	if n := hbDo(t, ep, "GET", "/_db/beta/_api/collection/items/count", nil).obj(t)["count"]; n != 51.0 {
		t.Fatalf("items count %v, want 51", n)
	}
	// The transaction is gone.
	if rr := hbDo(t, ep, "PUT", "/_db/alpha/_api/transaction/"+tid, nil); rr.status == 200 {
		t.Fatalf("a transaction survived the restore: %s", rr.body)
	}
	// saveCurrent keeps the state before the restore as a backup.
	r = hbDo(t, ep, "POST", "/_admin/backup/restore", map[string]any{"id": id, "saveCurrent": true})
	hbMust(t, r, 200, "restore with saveCurrent")
	prev := r.result(t)["previous"].(string)
	if !strings.HasSuffix(prev, "_before_restore") {
		t.Fatalf("previous %q", prev)
	}
	waitAvailable(t, ep)
	hbMust(t, hbDo(t, ep, "POST", "/_admin/backup/list", map[string]any{"id": prev}), 200, "before_restore backup listed")
}

func TestHotBackupRestoreRefused(t *testing.T) {
	s := hbServer(t, Options{})
	ep := s.Endpoint()
	id := hbBackup(t, ep, map[string]any{"label": "x"})
	hb := s.store.backups()
	hb.mu.Lock()
	e := hb.entries[id]
	three := &backupEntry{img: e.img, meta: e.meta}
	three.meta.ID = "2020-01-01T00.00.00Z_cluster"
	three.meta.NrDBServers = 3
	three.meta.Role = "COORDINATOR"
	hb.entries[three.meta.ID] = three
	newer := &backupEntry{img: e.img, meta: e.meta}
	newer.meta.ID = "2020-01-01T00.00.00Z_newer"
	newer.meta.Version = "3.13.0"
	hb.entries[newer.meta.ID] = newer
	hb.mu.Unlock()

	r := hbDo(t, ep, "POST", "/_admin/backup/restore", map[string]any{"id": three.meta.ID})
	hbMust(t, r, 400, "restore from another topology")
	if r.errorNum(t) != 7003 {
		t.Fatalf("topology errorNum %d: %s", r.errorNum(t), r.body)
	}
	r = hbDo(t, ep, "POST", "/_admin/backup/restore", map[string]any{"id": newer.meta.ID})
	hbMust(t, r, 400, "restore from a newer minor version")
	hbMust(t, hbDo(t, ep, "POST", "/_admin/backup/restore", map[string]any{"id": newer.meta.ID, "ignoreVersion": true}), 200, "ignoreVersion")
	waitAvailable(t, ep)
	r = hbDo(t, ep, "POST", "/_admin/backup/restore", map[string]any{"id": "2020-01-01T00.00.00Z_missing"})
	hbMust(t, r, 404, "restore unknown id")
	hbMust(t, hbDo(t, ep, "POST", "/_admin/backup/restore", map[string]any{}), 400, "restore without id")
}

// --- upload and download ------------------------------------------------------------------------

func hbTransferWait(t testing.TB, ep, op, job string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		r := hbDo(t, ep, "POST", "/_admin/backup/"+op, map[string]any{op + "Id": job})
		hbMust(t, r, 200, op+" progress")
		res := r.result(t)
		srv := res["DBServers"].(map[string]any)["SNGL"].(map[string]any)
		switch srv["Status"] {
		case "COMPLETED", "FAILED", "CANCELLED":
			return res
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s %s did not finish", op, job)
	return nil
}

func hbStatus(res map[string]any) map[string]any {
	return res["DBServers"].(map[string]any)["SNGL"].(map[string]any)
}

func TestHotBackupUploadDeleteDownloadRestore(t *testing.T) {
	t.Run("memory", func(t *testing.T) { hbRoundTrip(t, Options{}) })
	t.Run("data directory", func(t *testing.T) { hbRoundTrip(t, Options{DataDir: t.TempDir()}) })
}

func hbRoundTrip(t *testing.T, opts Options) {
	s := hbServer(t, opts)
	ep := s.Endpoint()
	remote := t.TempDir()
	hbCreateDB(t, ep, "app")
	hbCreateColl(t, ep, "app", "docs")
	for i := 0; i < 200; i++ {
		hbInsert(t, ep, "app", "docs", map[string]any{"_key": fmt.Sprintf("d%03d", i), "text": strings.Repeat("x", i)})
	}
	want := s.testDigest()
	id := hbBackup(t, ep, map[string]any{"label": "trip"})
	repo := "local:/" + remote // like the driver's "local://tmp/backups"
	cfg := map[string]any{"local": map[string]any{"type": "local"}}

	r := hbDo(t, ep, "POST", "/_admin/backup/upload", map[string]any{"id": id, "remoteRepository": repo, "config": cfg})
	hbMust(t, r, 202, "upload")
	job := r.result(t)["uploadId"].(string)
	start := time.Now()
	res := hbTransferWait(t, ep, "upload", job)
	if st := hbStatus(res); st["Status"] != "COMPLETED" {
		t.Fatalf("upload: %v", res)
	}
	if took := time.Since(start); took < 150*time.Millisecond {
		t.Fatalf("upload took %v, transfers must take measurable time", took)
	}
	if res["BackupId"] != id || res["UploadId"] != job || res["Cancelled"] != false {
		t.Fatalf("upload progress %v", res)
	}
	prog := hbStatus(res)["Progress"].(map[string]any)
	if prog["Total"].(float64) < 3 || prog["Done"] != prog["Total"] {
		t.Fatalf("upload progress counts %v", prog)
	}
	if _, err := os.Stat(filepath.Join(remote, id, "META")); err != nil {
		t.Fatalf("remote has no META: %v", err)
	}
	if _, err := os.Stat(filepath.Join(remote, id, manifestName)); err != nil {
		t.Fatalf("remote has no manifest: %v", err)
	}

	hbMust(t, hbDo(t, ep, "POST", "/_admin/backup/delete", map[string]any{"id": id}), 200, "delete")
	hbMust(t, hbDo(t, ep, "POST", "/_admin/backup/list", map[string]any{"id": id}), 404, "deleted")
	hbOK(t, hbDo(t, ep, "DELETE", "/_api/database/app", nil), "drop app")
	if s.testDigest() == want {
		t.Fatal("state unchanged")
	}

	r = hbDo(t, ep, "POST", "/_admin/backup/download", map[string]any{"id": id, "remoteRepository": repo, "config": cfg})
	hbMust(t, r, 202, "download")
	djob := r.result(t)["downloadId"].(string)
	res = hbTransferWait(t, ep, "download", djob)
	if st := hbStatus(res); st["Status"] != "COMPLETED" || res["DownloadId"] != djob {
		t.Fatalf("download: %v", res)
	}
	l := hbDo(t, ep, "POST", "/_admin/backup/list", map[string]any{"id": id})
	hbMust(t, l, 200, "listed after download")
	if opts.DataDir != "" {
		if _, err := readMeta(filepath.Join(opts.DataDir, "backups", id)); err != nil {
			t.Fatalf("downloaded backup not in the data directory: %v", err)
		}
	}
	hbMust(t, hbDo(t, ep, "POST", "/_admin/backup/restore", map[string]any{"id": id}), 200, "restore downloaded")
	waitAvailable(t, ep)
	if got := s.testDigest(); got != want {
		t.Fatalf("state after download+restore differs: %s", firstDiff(want, got))
	}
}

func TestHotBackupTransferAbortAndFailures(t *testing.T) {
	s := hbServer(t, Options{})
	ep := s.Endpoint()
	hb := s.store.backups()
	hb.transferMin.Store(int64(3 * time.Second))
	hb.transferRate.Store(int64(64 << 10))
	hbCreateColl(t, ep, "_system", "big")
	for i := 0; i < 100; i++ {
		hbInsert(t, ep, "_system", "big", map[string]any{"_key": fmt.Sprintf("b%d", i), "pad": strings.Repeat("y", 2000)})
	}
	id := hbBackup(t, ep, map[string]any{"label": "abortme"})
	remote := t.TempDir()
	cfg := map[string]any{"local": map[string]any{"type": "local"}}

	r := hbDo(t, ep, "POST", "/_admin/backup/upload", map[string]any{"id": id, "remoteRepository": "local:" + remote, "config": cfg})
	hbMust(t, r, 202, "upload")
	job := r.result(t)["uploadId"].(string)
	time.Sleep(100 * time.Millisecond)
	r = hbDo(t, ep, "POST", "/_admin/backup/upload", map[string]any{"uploadId": job, "abort": true})
	hbMust(t, r, 202, "abort")
	res := hbTransferWait(t, ep, "upload", job)
	if hbStatus(res)["Status"] != "CANCELLED" || res["Cancelled"] != true {
		t.Fatalf("aborted upload: %v", res)
	}
	if _, err := os.Stat(filepath.Join(remote, id)); !os.IsNotExist(err) {
		t.Fatalf("an aborted upload left %s behind (%v)", filepath.Join(remote, id), err)
	}

	hb.transferMin.Store(int64(100 * time.Millisecond))
	// An unknown backup is accepted and then fails (go-driver Test_UploadBackupFailAndAbort).
	r = hbDo(t, ep, "POST", "/_admin/backup/upload", map[string]any{"id": "not_there", "remoteRepository": "local:" + remote, "config": cfg})
	hbMust(t, r, 202, "upload of an unknown backup")
	res = hbTransferWait(t, ep, "upload", r.result(t)["uploadId"].(string))
	if st := hbStatus(res); st["Status"] != "FAILED" || st["Error"] != 7007.0 {
		t.Fatalf("upload of unknown backup: %v", res)
	}
	// A remote type other than local fails as a failed rclone run does.
	r = hbDo(t, ep, "POST", "/_admin/backup/upload", map[string]any{"id": id, "remoteRepository": "S3:bucket/dir",
		"config": map[string]any{"S3": map[string]any{"type": "s3", "provider": "AWS"}}})
	hbMust(t, r, 202, "upload to s3")
	res = hbTransferWait(t, ep, "upload", r.result(t)["uploadId"].(string))
	if st := hbStatus(res); st["Status"] != "FAILED" || st["Error"] != 7005.0 || !strings.Contains(st["ErrorMessage"].(string), "rclone") {
		t.Fatalf("upload to s3: %v", res)
	}
	r = hbDo(t, ep, "POST", "/_admin/backup/download", map[string]any{"id": id, "remoteRepository": "S3:bucket/dir",
		"config": map[string]any{"S3": map[string]any{"type": "s3"}}})
	res = hbTransferWait(t, ep, "download", r.result(t)["downloadId"].(string))
	if st := hbStatus(res); st["Status"] != "FAILED" || st["Error"] != 7006.0 {
		t.Fatalf("download from s3: %v", res)
	}
	// Bad repository configuration is refused at once.
	r = hbDo(t, ep, "POST", "/_admin/backup/upload", map[string]any{"id": id, "remoteRepository": "other:/x", "config": cfg})
	hbMust(t, r, 400, "remote not in config")
	if r.errorNum(t) != 7008 {
		t.Fatalf("errorNum %d", r.errorNum(t))
	}
	hbMust(t, hbDo(t, ep, "POST", "/_admin/backup/upload", map[string]any{"uploadId": "12345"}), 404, "unknown upload id")
	hbMust(t, hbDo(t, ep, "POST", "/_admin/backup/download", map[string]any{"id": "../escape", "remoteRepository": "local:" + remote, "config": cfg}), 400, "id with a path")
	// Download of something the remote does not have fails.
	r = hbDo(t, ep, "POST", "/_admin/backup/download", map[string]any{"id": "2020-01-01T00.00.00Z_none", "remoteRepository": "local:" + remote, "config": cfg})
	hbMust(t, r, 202, "download of a missing backup")
	res = hbTransferWait(t, ep, "download", r.result(t)["downloadId"].(string))
	if hbStatus(res)["Status"] != "FAILED" {
		t.Fatalf("download of missing backup: %v", res)
	}
}

// --- cluster mode -------------------------------------------------------------------------------

func TestHotBackupCluster(t *testing.T) {
	cl, err := NewCluster(ClusterOptions{Coordinators: 2, DBServers: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	eps := cl.Endpoints()
	for _, s := range cl.Coordinators() {
		s.store.backups().restartDelay.Store(int64(200 * time.Millisecond))
	}
	hbMust(t, hbDo(t, eps[0], "POST", "/_api/collection", map[string]any{"name": "sharded", "numberOfShards": 3}), 200, "collection")
	for i := 0; i < 30; i++ {
		hbInsert(t, eps[i%2], "_system", "sharded", map[string]any{"_key": fmt.Sprintf("s%d", i)})
	}
	r := hbDo(t, eps[0], "POST", "/_admin/backup/create", map[string]any{"label": "cl"})
	hbMust(t, r, 201, "create on Coordinator 1")
	id := r.result(t)["id"].(string)
	if n := r.result(t)["nrDBServers"]; n != 3.0 {
		t.Fatalf("nrDBServers %v, want 3", n)
	}
	// Every Coordinator sees it.
	l := hbDo(t, eps[1], "POST", "/_admin/backup/list", map[string]any{"id": id})
	hbMust(t, l, 200, "list on Coordinator 2")
	if e := l.result(t)["list"].(map[string]any)[id].(map[string]any); e["nrDBServers"] != 3.0 || e["nrPiecesPresent"] != 3.0 {
		t.Fatalf("list entry %v", e)
	}

	// The lock covers every DB-Server at once: a write through the other Coordinator waits.
	hb := cl.Coordinators()[0].store.backups()
	if got, _ := hb.lock.acquire(t.Context(), time.Second); !got {
		t.Fatal("lock")
	}
	done := make(chan hbResp, 1)
	go func() { done <- hbDo(t, eps[1], "POST", "/_api/document/sharded", map[string]any{"_key": "late"}) }()
	select {
	case r := <-done:
		t.Fatalf("write through Coordinator 2 went through while the lock was held: %d", r.status)
	case <-time.After(200 * time.Millisecond):
	}
	hb.lock.release()
	hbOK(t, <-done, "write after release")

	r = hbDo(t, eps[1], "POST", "/_admin/backup/restore", map[string]any{"id": id})
	hbMust(t, r, 200, "restore through Coordinator 2")
	if r.result(t)["isCluster"] != true {
		t.Fatalf("restore result %s", r.body)
	}
	waitAvailable(t, eps[0])
	hbMust(t, hbDo(t, eps[0], "GET", "/_api/document/sharded/late", nil), 404, "late document gone")
	if n := hbDo(t, eps[0], "GET", "/_api/collection/sharded/count", nil).obj(t)["count"]; n != 30.0 {
		t.Fatalf("count after restore %v, want 30", n)
	}
	// Transfers report every DB-Server.
	remote := t.TempDir()
	for _, s := range cl.Coordinators() {
		s.store.backups().transferMin.Store(int64(50 * time.Millisecond))
	}
	r = hbDo(t, eps[0], "POST", "/_admin/backup/upload", map[string]any{"id": id, "remoteRepository": "local:" + remote,
		"config": map[string]any{"local": map[string]any{"type": "local"}}})
	hbMust(t, r, 202, "upload")
	job := r.result(t)["uploadId"].(string)
	deadline := time.Now().Add(20 * time.Second)
	for {
		res := hbDo(t, eps[1], "POST", "/_admin/backup/upload", map[string]any{"uploadId": job}).result(t)
		servers := res["DBServers"].(map[string]any)
		if len(servers) != 3 {
			t.Fatalf("DBServers %v, want the 3 DB-Servers", servers)
		}
		all := true
		for k, v := range servers {
			if !strings.HasPrefix(k, "PRMR-") {
				t.Fatalf("DBServers key %q", k)
			}
			if v.(map[string]any)["Status"] != "COMPLETED" {
				all = false
			}
		}
		if all {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("upload did not complete: %v", res)
		}
		time.Sleep(30 * time.Millisecond)
	}
	// A single server refuses the cluster's backup (other topology).
	single := hbServer(t, Options{})
	single.store.backups().transferMin.Store(int64(50 * time.Millisecond))
	r = hbDo(t, single.Endpoint(), "POST", "/_admin/backup/download", map[string]any{"id": id, "remoteRepository": "local:" + remote,
		"config": map[string]any{"local": map[string]any{"type": "local"}}})
	hbMust(t, r, 202, "download to a single server")
	res := hbTransferWait(t, single.Endpoint(), "download", r.result(t)["downloadId"].(string))
	if hbStatus(res)["Status"] != "COMPLETED" {
		t.Fatalf("download: %v", res)
	}
	r = hbDo(t, single.Endpoint(), "POST", "/_admin/backup/restore", map[string]any{"id": id})
	hbMust(t, r, 400, "restore of a cluster backup on a single server")
	if r.errorNum(t) != 7003 {
		t.Fatalf("errorNum %d", r.errorNum(t))
	}
}

// --- benchmarks (make bench; keep them short) ----------------------------------------------------

func hbBenchServer(b *testing.B, opts Options, docs int) *Server {
	b.Helper()
	s, err := NewServer(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	s.store.backups().restartDelay.Store(1)
	db := s.store.Database("_system")
	c, err := db.CreateCollection(CollectionSpec{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	pad := strings.Repeat("p", 80)
	for i := 0; i < docs; i++ {
		if err := c.RestoreDocument([]byte(fmt.Sprintf(`{"_key":"k%d","n":%d,"pad":%q}`, i, i, pad))); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// The part of a hot backup done under the global write lock: copying the image (100k documents).
func BenchmarkHotBackupCapture(b *testing.B) {
	s := hbBenchServer(b, Options{}, 100000)
	for b.Loop() {
		s.store.captureImage(s.version, "SINGLE", 1)
	}
}

// A whole create on a data directory whose state did not change since the last save: the data
// files are hard-linked, not written.
func BenchmarkHotBackupCreateDataDir(b *testing.B) {
	s := hbBenchServer(b, Options{DataDir: b.TempDir()}, 100000)
	ctx := b.Context()
	for b.Loop() {
		if _, err := s.backupCreate(ctx, map[string]json.RawMessage{}); err != nil {
			b.Fatal(err)
		}
	}
}

// Restoring an in-memory backup of 100k documents (rebuilding collections and indexes).
func BenchmarkHotBackupRestore(b *testing.B) {
	s := hbBenchServer(b, Options{}, 100000)
	ctx := b.Context()
	res, err := s.backupCreate(ctx, map[string]json.RawMessage{})
	if err != nil {
		b.Fatal(err)
	}
	id, _ := json.Marshal(res.(map[string]any)["id"])
	for b.Loop() {
		if _, err := s.backupRestore(ctx, map[string]json.RawMessage{"id": id}); err != nil {
			b.Fatal(err)
		}
	}
}
