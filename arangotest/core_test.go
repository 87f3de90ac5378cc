package arangotest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arangodb/go-driver/v2/arangodb"
	"github.com/arangodb/go-driver/v2/arangodb/shared"
	"github.com/arangodb/go-driver/v2/connection"
)

func startCore(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func driverClient(t testing.TB, s *Server, auth connection.Authentication) arangodb.Client {
	t.Helper()
	cfg := connection.DefaultHTTPConfigurationWrapper(connection.NewRoundRobinEndpoints([]string{s.Endpoint()}), true)
	cfg.Authentication = auth
	return arangodb.NewClient(connection.NewHttpConnection(cfg))
}

// do sends a raw request and returns status, headers and the decoded JSON body (if any).
func coreDo(t testing.TB, method, url string, body string, hdr ...string) (int, http.Header, map[string]any, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, resp.Header, m, raw
}

func wantError(t *testing.T, what string, status int, m map[string]any, code, num int) {
	t.Helper()
	if status != code || m["error"] != true || m["errorNum"] != float64(num) || m["code"] != float64(code) {
		t.Fatalf("%s: got status %d body %v, want %d errorNum %d", what, status, m, code, num)
	}
	if _, ok := m["errorMessage"].(string); !ok {
		t.Fatalf("%s: no errorMessage in %v", what, m)
	}
}

func arangoErrNum(err error) int {
	var ae shared.ArangoError
	if errors.As(err, &ae) {
		return ae.ErrorNum
	}
	return -1
}

func TestUniqueIndexEnforcedOnEveryWritePath(t *testing.T) {
	s := startCore(t, Options{})
	ctx := context.Background()
	cl := driverClient(t, s, nil)
	db, err := cl.CreateDatabase(ctx, "uniq", nil)
	if err != nil {
		t.Fatal(err)
	}
	col, err := db.CreateCollectionV2(ctx, "people", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, created, err := col.EnsurePersistentIndex(ctx, []string{"email"}, &arangodb.CreatePersistentIndexOptions{Unique: ptr(true), Name: "byEmail"}); err != nil || !created {
		t.Fatalf("ensure index: created=%v err=%v", created, err)
	}
	// Same definition again: existing index, not created.
	if _, created, err := col.EnsurePersistentIndex(ctx, []string{"email"}, &arangodb.CreatePersistentIndexOptions{Unique: ptr(true)}); err != nil || created {
		t.Fatalf("second ensure: created=%v err=%v", created, err)
	}
	if _, err := col.CreateDocument(ctx, map[string]any{"_key": "a", "email": "x@example.com"}); err != nil {
		t.Fatal(err)
	}
	// Single insert.
	_, err = col.CreateDocument(ctx, map[string]any{"_key": "b", "email": "x@example.com"})
	if !shared.IsConflict(err) || arangoErrNum(err) != 1210 || !strings.Contains(err.Error(), "conflicting key: a") {
		t.Fatalf("single insert duplicate: %v", err)
	}
	// Update of another document into the taken value.
	if _, err := col.CreateDocument(ctx, map[string]any{"_key": "c", "email": "c@example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := col.UpdateDocument(ctx, "c", map[string]any{"email": "x@example.com"}); arangoErrNum(err) != 1210 {
		t.Fatalf("update into duplicate: %v", err)
	}
	// Batch insert: per-item error, the other item is written.
	sc, hdr, _, raw := coreDo(t, "POST", s.Endpoint()+"/_db/uniq/_api/document/people",
		`[{"_key":"d","email":"x@example.com"},{"_key":"e","email":"e@example.com"}]`)
	if sc != 202 || hdr.Get("X-Arango-Error-Codes") != `{"1210":1}` || !bytes.Contains(raw, []byte(`"errorNum":1210`)) {
		t.Fatalf("batch: %d %q %s", sc, hdr.Get("X-Arango-Error-Codes"), raw)
	}
	// Import.
	sc, _, m, _ := coreDo(t, "POST", s.Endpoint()+"/_db/uniq/_api/import?collection=people&type=documents&details=true",
		"{\"_key\":\"f\",\"email\":\"x@example.com\"}\n{\"_key\":\"g\",\"email\":\"g@example.com\"}\n")
	// The final newline ends the last line and is no empty line (RestImportHandler::createFromJson).
	if sc != 201 || m["created"] != 1.0 || m["errors"] != 1.0 || m["empty"] != 0.0 {
		t.Fatalf("import: %d %v", sc, m)
	}
	// Restore path (restore-data uses RestoreDocument).
	c := s.store.Database("uniq").Collection("people")
	if err := c.RestoreDocument([]byte(`{"_key":"h","_rev":"_abc-----_","email":"x@example.com"}`)); err == nil {
		t.Fatal("restore of a duplicate unique value succeeded")
	}
	// Restoring the owner of the value itself (same key) is a replace, not a conflict.
	if err := c.RestoreDocument([]byte(`{"_key":"a","_rev":"_abc-----_","email":"x@example.com","v":2}`)); err != nil {
		t.Fatal(err)
	}
	if got := c.Count(); got != 4 { // a, c, e, g
		t.Fatalf("count = %d, want 4", got)
	}
	// Removing the owner frees the value.
	if _, err := col.DeleteDocument(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := col.CreateDocument(ctx, map[string]any{"_key": "i", "email": "x@example.com"}); err != nil {
		t.Fatalf("insert after removing owner: %v", err)
	}
	// A unique index over existing duplicates (all documents lack "dup": null values) fails.
	if _, _, err := col.EnsurePersistentIndex(ctx, []string{"dup"}, &arangodb.CreatePersistentIndexOptions{Unique: ptr(true)}); arangoErrNum(err) != 1210 {
		t.Fatalf("unique index over duplicate data: %v", err)
	}
	// Non-sparse: missing counts as null, so a second document without the attribute conflicts.
	col2, err := db.CreateCollectionV2(ctx, "nonsparse", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := col2.EnsurePersistentIndex(ctx, []string{"dup"}, &arangodb.CreatePersistentIndexOptions{Unique: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := col2.CreateDocument(ctx, map[string]any{"_key": "s1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := col2.CreateDocument(ctx, map[string]any{"_key": "s2"}); arangoErrNum(err) != 1210 {
		t.Fatalf("non-sparse missing value: %v", err)
	}
}

func TestSparseAndDeduplicate(t *testing.T) {
	s := startCore(t, Options{})
	ctx := context.Background()
	db, _ := driverClient(t, s, nil).GetDatabase(ctx, "_system", nil)
	col, err := db.CreateCollectionV2(ctx, "c", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = col.EnsurePersistentIndex(ctx, []string{"nick"}, &arangodb.CreatePersistentIndexOptions{Unique: ptr(true), Sparse: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ { // sparse: missing and null never conflict
		if _, err := col.CreateDocument(ctx, map[string]any{"nick": nil}); err != nil {
			t.Fatal(err)
		}
	}
	no := false
	_, _, err = col.EnsurePersistentIndex(ctx, []string{"tags[*]"}, &arangodb.CreatePersistentIndexOptions{Unique: ptr(true), Deduplicate: &no, Sparse: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := col.CreateDocument(ctx, map[string]any{"tags": []string{"a", "a", "b"}}); !shared.IsConflict(err) {
		t.Fatalf("deduplicate=false with repeated array value: %v", err)
	}
	if _, err := col.CreateDocument(ctx, map[string]any{"tags": []string{"x", "y"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := col.CreateDocument(ctx, map[string]any{"tags": []string{"z", "y"}}); !shared.IsConflict(err) {
		t.Fatalf("shared array element: %v", err)
	}
}

func TestKeyGeneratorLastValue(t *testing.T) {
	s := startCore(t, Options{})
	ep := s.Endpoint()
	sc, _, m, _ := coreDo(t, "POST", ep+"/_api/collection", `{"name":"auto","keyOptions":{"type":"autoincrement","increment":5,"offset":10}}`)
	if sc != 200 {
		t.Fatalf("create: %d %v", sc, m)
	}
	ko := m["keyOptions"].(map[string]any)
	if ko["type"] != "autoincrement" || ko["increment"] != 5.0 || ko["offset"] != 10.0 || ko["lastValue"] != 0.0 || ko["allowUserKeys"] != true {
		t.Fatalf("keyOptions: %v", ko)
	}
	var keys []string
	for i := 0; i < 3; i++ {
		_, _, d, _ := coreDo(t, "POST", ep+"/_api/document/auto", `{}`)
		keys = append(keys, d["_key"].(string))
	}
	if strings.Join(keys, ",") != "10,15,20" {
		t.Fatalf("autoincrement keys: %v", keys)
	}
	// A user key bumps lastValue; the next generated key continues after it.
	coreDo(t, "POST", ep+"/_api/document/auto", `{"_key":"42"}`)
	_, _, d, _ := coreDo(t, "POST", ep+"/_api/document/auto", `{}`)
	if d["_key"] != "45" {
		t.Fatalf("after user key 42: %v", d["_key"])
	}
	// Non-numeric user keys are rejected by autoincrement.
	sc, _, m, _ = coreDo(t, "POST", ep+"/_api/document/auto", `{"_key":"abc"}`)
	wantError(t, "non-numeric autoincrement key", sc, m, 400, 1221)
	// Restored documents advance lastValue too.
	c := s.store.Database("_system").Collection("auto")
	if err := c.RestoreDocument([]byte(`{"_key":"1000","_rev":"_hXyz12---_","a":1}`)); err != nil {
		t.Fatal(err)
	}
	_, _, m, _ = coreDo(t, "GET", ep+"/_api/collection/auto/properties", "")
	if lv := m["keyOptions"].(map[string]any)["lastValue"]; lv != 1000.0 {
		t.Fatalf("lastValue after restore = %v", lv)
	}
	if _, _, d, _ := coreDo(t, "POST", ep+"/_api/document/auto", `{}`); d["_key"] != "1005" {
		t.Fatalf("key after restore: %v", d["_key"])
	}
	// The restored _rev is kept verbatim.
	_, _, d, _ = coreDo(t, "GET", ep+"/_api/document/auto/1000", "")
	if d["_rev"] != "_hXyz12---_" || d["a"] != 1.0 || d["_id"] != "auto/1000" {
		t.Fatalf("restored doc: %v", d)
	}
	// padded: 16 hex digits, increasing; uuid: v4 uuids.
	coreDo(t, "POST", ep+"/_api/collection", `{"name":"pad","keyOptions":{"type":"padded"}}`)
	_, _, p1, _ := coreDo(t, "POST", ep+"/_api/document/pad", `{}`)
	_, _, p2, _ := coreDo(t, "POST", ep+"/_api/document/pad", `{}`)
	k1, k2 := p1["_key"].(string), p2["_key"].(string)
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(k1) || k2 <= k1 {
		t.Fatalf("padded keys %q %q", k1, k2)
	}
	coreDo(t, "POST", ep+"/_api/collection", `{"name":"uu","keyOptions":{"type":"uuid"}}`)
	_, _, u, _ := coreDo(t, "POST", ep+"/_api/document/uu", `{}`)
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(u["_key"].(string)) {
		t.Fatalf("uuid key %v", u["_key"])
	}
	sc, _, m, _ = coreDo(t, "POST", ep+"/_api/collection", `{"name":"bad","keyOptions":{"type":"nope"}}`)
	wantError(t, "unknown key generator", sc, m, 400, 1232)
	// allowUserKeys=false
	coreDo(t, "POST", ep+"/_api/collection", `{"name":"nouser","keyOptions":{"allowUserKeys":false}}`)
	sc, _, m, _ = coreDo(t, "POST", ep+"/_api/document/nouser", `{"_key":"x"}`)
	wantError(t, "user key with allowUserKeys=false", sc, m, 400, 1222)
}

func TestRevisionFormat(t *testing.T) {
	// A real revision from the ArangoDB docs: 3.12.0-devel, Sept 2023.
	tick := decodeRev("_gkzeIsW--_")
	ms := int64(tick >> 20)
	if got := time.UnixMilli(ms).UTC(); got.Year() != 2023 || got.Month() != time.September {
		t.Fatalf("decoded _gkzeIsW--_ to %v", got)
	}
	if encodeRev(tick) != "_gkzeIsW--_" {
		t.Fatalf("round trip: %s", encodeRev(tick))
	}
	s := startCore(t, Options{})
	ep := s.Endpoint()
	coreDo(t, "POST", ep+"/_api/collection", `{"name":"r"}`)
	re := regexp.MustCompile(`^_[-_A-Za-z0-9]{10}$`)
	var last uint64
	for i := 0; i < 50; i++ {
		_, hdr, d, _ := coreDo(t, "POST", ep+"/_api/document/r", `{"i":1}`)
		rev := d["_rev"].(string)
		if !re.MatchString(rev) || hdr.Get("Etag") != `"`+rev+`"` {
			t.Fatalf("rev %q etag %q", rev, hdr.Get("Etag"))
		}
		v := decodeRev(rev)
		if v <= last {
			t.Fatalf("revisions not increasing: %d after %d", v, last)
		}
		if d := time.Since(time.UnixMilli(int64(v >> 20))); d < 0 || d > time.Minute {
			t.Fatalf("rev %s is not a current hybrid logical clock value (%v)", rev, d)
		}
		last = v
	}
	// Stored documents begin with _key, _id, _rev, as the server returns them.
	_, _, d, _ := coreDo(t, "POST", ep+"/_api/document/r", `{"_key":"k","b":true,"_id":"ignored/x"}`)
	_, _, _, raw := coreDo(t, "GET", ep+"/_api/document/r/k", "")
	want := `{"_key":"k","_id":"r/k","_rev":"` + d["_rev"].(string) + `","b":true}`
	if string(raw) != want {
		t.Fatalf("stored form %s, want %s", raw, want)
	}
}

func TestErrorBodies(t *testing.T) {
	s := startCore(t, Options{})
	ep := s.Endpoint()
	cases := []struct {
		what, method, path, body string
		code, num                int
	}{
		{"unknown database", "GET", "/_db/nope/_api/collection", "", 404, 1228},
		{"unknown collection", "GET", "/_api/collection/nope/properties", "", 404, 1203},
		{"unknown path", "GET", "/_api/non-such-endpoint", "", 404, 404},
		{"wrong method", "PATCH", "/_api/database", "", 405, 405},
		{"document not found", "GET", "/_api/document/_graphs/nope", "", 404, 1202},
		{"bad JSON", "POST", "/_api/document/_graphs", `{"a":`, 400, 600},
		{"not an object", "POST", "/_api/document/_graphs", `[1]`, 202, 0},
		{"illegal key", "POST", "/_api/document/_graphs", `{"_key":"a b"}`, 400, 1221},
		{"duplicate collection", "POST", "/_api/collection", `{"name":"_graphs","isSystem":true}`, 409, 1207},
		{"illegal collection name", "POST", "/_api/collection", `{"name":"1abc"}`, 400, 1208},
		{"database name not NFC", "POST", "/_api/database", `{"name":"e\u0301"}`, 400, 1229},
		{"cursor not found", "POST", "/_api/cursor/12345", "", 404, 1600},
		{"AQL outside the subset", "POST", "/_api/cursor", `{"query":"FOR x IN _graphs COLLECT a = x.a RETURN a"}`, 400, 1501},
		{"index not found", "GET", "/_api/index/_graphs/999", "", 404, 1212},
		{"transaction not found", "GET", "/_api/transaction/777", "", 404, 1655},
		{"user not found", "GET", "/_api/user/nobody", "", 404, 1703},
		{"graph not found", "GET", "/_api/gharial/nograph", "", 404, 1924},
		{"analyzer not found", "GET", "/_api/analyzer/nope", "", 404, 1202},
		{"shards on a single server", "GET", "/_api/collection/_graphs/shards", "", 501, 9},
	}
	for _, tc := range cases {
		sc, _, m, raw := coreDo(t, tc.method, ep+tc.path, tc.body)
		if tc.num == 0 { // batch answer with a per-item error
			if sc != tc.code || !bytes.Contains(raw, []byte(`"errorNum":1227`)) {
				t.Fatalf("%s: %d %s", tc.what, sc, raw)
			}
			continue
		}
		wantError(t, tc.what, sc, m, tc.code, tc.num)
	}
	_, _, m, _ := coreDo(t, "GET", ep+"/_api/collection/nope", "")
	if m["errorMessage"] != "collection or view not found: nope" {
		t.Fatalf("message %q", m["errorMessage"])
	}
	// If-Match precondition: 412 with errorNum 1200 and the current revision.
	coreDo(t, "POST", ep+"/_api/collection", `{"name":"p"}`)
	// Collections and views share one namespace.
	sc0, _, m0, _ := coreDo(t, "POST", ep+"/_api/view", `{"name":"p","type":"arangosearch"}`)
	wantError(t, "view named like a collection", sc0, m0, 409, 1207)
	_, _, d, _ := coreDo(t, "POST", ep+"/_api/document/p", `{"_key":"k"}`)
	sc, hdr, m, _ := coreDo(t, "PUT", ep+"/_api/document/p/k", `{"x":1}`, "If-Match", `"_bogus----_"`)
	wantError(t, "If-Match", sc, m, 412, 1200)
	if m["_rev"] != d["_rev"] || hdr.Get("Etag") != `"`+d["_rev"].(string)+`"` {
		t.Fatalf("412 body/etag: %v %q", m, hdr.Get("Etag"))
	}
}

func TestAuthentication(t *testing.T) {
	s := startCore(t, Options{Users: map[string]string{"root": "secret", "alice": "pw"}, JWTSecret: "s3cr3t"})
	ep := s.Endpoint()
	sc, hdr, m, _ := coreDo(t, "GET", ep+"/_api/version", "")
	wantError(t, "no credentials", sc, m, 401, 11)
	if hdr.Get("Www-Authenticate") == "" {
		t.Fatal("no Www-Authenticate header")
	}
	if sc, _, _, _ := coreDo(t, "GET", ep+"/_admin/server/availability", ""); sc != 200 {
		t.Fatalf("availability needs no auth: %d", sc)
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("root:secret"))
	if sc, _, m, _ := coreDo(t, "GET", ep+"/_api/version", "", "Authorization", basic); sc != 200 || m["server"] != "arango" {
		t.Fatalf("basic: %d %v", sc, m)
	}
	bad := "Basic " + base64.StdEncoding.EncodeToString([]byte("root:wrong"))
	if sc, _, _, _ := coreDo(t, "GET", ep+"/_api/version", "", "Authorization", bad); sc != 401 {
		t.Fatalf("wrong password: %d", sc)
	}
	sc, _, m, _ = coreDo(t, "POST", ep+"/_open/auth", `{"username":"root","password":"nope"}`)
	wantError(t, "wrong credentials", sc, m, 401, 401)
	sc, _, m, _ = coreDo(t, "POST", ep+"/_open/auth", `{"username":"alice","password":"pw"}`)
	tok, _ := m["jwt"].(string)
	if sc != 200 || strings.Count(tok, ".") != 2 {
		t.Fatalf("open/auth: %d %v", sc, m)
	}
	if sc, _, _, _ := coreDo(t, "GET", ep+"/_api/version", "", "Authorization", "bearer "+tok); sc != 200 {
		t.Fatalf("bearer: %d", sc)
	}
	// alice has no access to _system's collections API (no grant), root has.
	if sc, _, _, _ := coreDo(t, "GET", ep+"/_api/collection", "", "Authorization", "bearer "+tok); sc != 401 {
		t.Fatalf("alice without grant: %d", sc)
	}
	// The official driver with JWT (first request unauthenticated, 401, then /_open/auth).
	ctx := context.Background()
	cl := driverClient(t, s, nil)
	cfg := connection.DefaultHTTPConfigurationWrapper(connection.NewRoundRobinEndpoints([]string{ep}), true)
	conn := connection.NewJWTAuthWrapper("root", "secret")(connection.NewHttpConnection(cfg))
	cl = arangodb.NewClient(conn)
	if _, err := cl.CreateDatabase(ctx, "authdb", nil); err != nil {
		t.Fatalf("driver with JWT: %v", err)
	}
	// Users are documents in _system/_users.
	users := s.store.Database("_system").Collection("_users")
	found := 0
	for _, d := range users.Snapshot() {
		if bytes.Contains(d.Raw, []byte(`"user":"alice"`)) && bytes.Contains(d.Raw, []byte(`"method":"sha256"`)) {
			found++
		}
	}
	if found != 1 {
		t.Fatalf("alice stored %d times in _users", found)
	}
}

func TestCursorBatchesAndRetry(t *testing.T) {
	s := startCore(t, Options{})
	ep := s.Endpoint()
	coreDo(t, "POST", ep+"/_api/collection", `{"name":"q"}`)
	for i := 0; i < 5; i++ {
		coreDo(t, "POST", ep+"/_api/document/q", fmt.Sprintf(`{"_key":"k%d","n":%d,"grp":%q}`, i, 4-i, []string{"a", "b"}[i%2]))
	}
	sc, _, m, _ := coreDo(t, "POST", ep+"/_api/cursor",
		`{"query":"FOR d IN @@c FILTER d.grp == @g SORT d.n RETURN d._key","bindVars":{"@c":"q","g":"a"},"count":true,"batchSize":2}`)
	if sc != 201 || m["count"] != 3.0 || m["hasMore"] != true || m["nextBatchId"] != "2" {
		t.Fatalf("first batch: %d %v", sc, m)
	}
	if got := fmt.Sprint(m["result"]); got != "[k4 k2]" {
		t.Fatalf("first batch result %s", got)
	}
	id := m["id"].(string)
	sc, _, m2, _ := coreDo(t, "POST", ep+"/_api/cursor/"+id+"/2", "")
	if sc != 200 || fmt.Sprint(m2["result"]) != "[k0]" || m2["hasMore"] != false {
		t.Fatalf("second batch: %d %v", sc, m2)
	}
	// Retrying the last batch returns it again.
	sc, _, m3, _ := coreDo(t, "POST", ep+"/_api/cursor/"+id+"/2", "")
	if sc != 200 || fmt.Sprint(m3["result"]) != "[k0]" {
		t.Fatalf("retry: %d %v", sc, m3)
	}
	if sc, _, _, _ := coreDo(t, "DELETE", ep+"/_api/cursor/"+id, ""); sc != 202 {
		t.Fatalf("delete cursor: %d", sc)
	}
	// Ranges, LIMIT, LENGTH.
	_, _, m, _ = coreDo(t, "POST", ep+"/_api/cursor", `{"query":"FOR i IN 1..10 LIMIT 2, 3 RETURN i"}`)
	if fmt.Sprint(m["result"]) != "[3 4 5]" {
		t.Fatalf("range: %v", m["result"])
	}
	_, _, m, _ = coreDo(t, "POST", ep+"/_api/cursor", `{"query":"RETURN LENGTH(q)"}`)
	if fmt.Sprint(m["result"]) != "[5]" {
		t.Fatalf("length: %v", m["result"])
	}
	sc, _, m, _ = coreDo(t, "POST", ep+"/_api/cursor", `{"query":"FOR d IN missing RETURN d"}`)
	wantError(t, "unknown collection in AQL", sc, m, 404, 1203)
}

func TestStreamTransactionIsolation(t *testing.T) {
	s := startCore(t, Options{})
	ep := s.Endpoint()
	coreDo(t, "POST", ep+"/_api/collection", `{"name":"t"}`)
	_, _, m, _ := coreDo(t, "POST", ep+"/_api/transaction/begin", `{"collections":{"write":["t"]}}`)
	id := m["result"].(map[string]any)["id"].(string)
	if sc, _, _, _ := coreDo(t, "POST", ep+"/_api/document/t", `{"_key":"x"}`, "x-arango-trx-id", id); sc != 202 {
		t.Fatalf("insert in trx: %d", sc)
	}
	if sc, _, _, _ := coreDo(t, "GET", ep+"/_api/document/t/x", ""); sc != 404 {
		t.Fatalf("uncommitted document visible outside: %d", sc)
	}
	if sc, _, _, _ := coreDo(t, "GET", ep+"/_api/document/t/x", "", "x-arango-trx-id", id); sc != 200 {
		t.Fatalf("document invisible inside: %d", sc)
	}
	// A write to the same key outside the transaction conflicts at once.
	sc, _, m, _ := coreDo(t, "POST", ep+"/_api/document/t?overwriteMode=replace", `{"_key":"x"}`)
	wantError(t, "write-write conflict", sc, m, 409, 1200)
	walBefore := s.store.WAL.Count()
	if sc, _, m, _ := coreDo(t, "PUT", ep+"/_api/transaction/"+id, ""); sc != 200 || m["result"].(map[string]any)["status"] != "committed" {
		t.Fatalf("commit: %d %v", sc, m)
	}
	if sc, _, _, _ := coreDo(t, "GET", ep+"/_api/document/t/x", ""); sc != 200 {
		t.Fatalf("committed document not visible: %d", sc)
	}
	// begin marker, document, commit marker
	if got := s.store.WAL.Count() - walBefore; got != 3 {
		t.Fatalf("WAL grew by %d markers on commit, want 3", got)
	}
}

// BenchmarkImportIngest measures /_api/import ingest throughput (type=documents) through HTTP.
func BenchmarkImportIngest(b *testing.B) {
	s := startCore(b, Options{})
	ep := s.Endpoint()
	var buf bytes.Buffer
	for i := 0; buf.Len() < 8<<20; i++ {
		fmt.Fprintf(&buf, `{"name":"user %d","email":"user%d@example.com","age":%d,"tags":["a","b","c"],"address":{"city":"Köln","zip":"50667"},"active":true}`+"\n", i, i, i%90)
	}
	body := buf.Bytes()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	cpu0 := cpuSeconds()
	defer func() { reportCPUThroughput(b, cpu0, int64(len(body))) }()
	for i := 0; i < b.N; i++ {
		// A fresh collection each time: pure ingest, no replaced documents.
		b.StopTimer()
		coreDo(b, "POST", ep+"/_api/collection", fmt.Sprintf(`{"name":"bench%d"}`, i))
		b.StartTimer()
		req, _ := http.NewRequest("POST", ep+fmt.Sprintf("/_api/import?collection=bench%d&type=documents", i), bytes.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 || !bytes.Contains(raw, []byte(`"errors":0`)) {
			b.Fatalf("%d %s", resp.StatusCode, raw)
		}
	}
}

// BenchmarkImportHandler measures the server side of /_api/import alone (no HTTP transport,
// no client): parse, key generation, store, WAL.
func BenchmarkImportHandler(b *testing.B) {
	s := startCore(b, Options{})
	var buf bytes.Buffer
	for i := 0; buf.Len() < 8<<20; i++ {
		fmt.Fprintf(&buf, `{"name":"user %d","email":"user%d@example.com","age":%d,"tags":["a","b","c"],"address":{"city":"Köln","zip":"50667"},"active":true}`+"\n", i, i, i%90)
	}
	body := buf.Bytes()
	db := s.store.Database("_system")
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	cpu0 := cpuSeconds()
	defer func() { reportCPUThroughput(b, cpu0, int64(len(body))) }()
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("bench%d", i)
		if _, err := db.CreateCollection(CollectionSpec{Name: name}); err != nil {
			b.Fatal(err)
		}
		req := httptest.NewRequest("POST", "/_api/import?collection="+name+"&type=documents", nil)
		rec := httptest.NewRecorder()
		c := &call{s: s, w: rec, r: req, db: db, dbName: "_system", q: req.URL.Query(), body: body, user: "root"}
		s.handleImport(c)
		if rec.Code != 201 || !bytes.Contains(rec.Body.Bytes(), []byte(`"errors":0`)) {
			b.Fatalf("%d %s", rec.Code, rec.Body.Bytes())
		}
	}
}

// BenchmarkRestoreDocument measures the raw ingest path (restore-data, import) without HTTP.
func BenchmarkRestoreDocument(b *testing.B) {
	s := startCore(b, Options{})
	c, err := s.store.Database("_system").CreateCollection(CollectionSpec{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	var docs [][]byte
	size := 0
	for i := 0; i < 20000; i++ {
		d := []byte(fmt.Sprintf(`{"_key":"%d","_rev":"_hXyz12---_","name":"user %d","email":"user%d@example.com","age":%d,"tags":["a","b","c"],"address":{"city":"Köln","zip":"50667"}}`, i, i, i, i%90))
		docs = append(docs, d)
		size += len(d)
	}
	b.SetBytes(int64(size))
	b.ResetTimer()
	cpu0 := cpuSeconds()
	defer func() { reportCPUThroughput(b, cpu0, int64(size)) }()
	for i := 0; i < b.N; i++ {
		for _, d := range docs {
			if err := c.RestoreDocument(d); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }

// cpuSeconds returns the process's user+system CPU time. The machine running the benchmarks
// is shared, so wall-clock MB/s understates what one core does; cpu-MB/s (bytes per CPU
// second of the whole process, client included) is the per-core figure.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

func reportCPUThroughput(b *testing.B, cpu0 float64, bytesPerOp int64) {
	if d := cpuSeconds() - cpu0; d > 0 {
		b.ReportMetric(float64(bytesPerOp)*float64(b.N)/d/1e6, "cpu-MB/s")
	}
}

func TestSeedDemo(t *testing.T) {
	s := startCore(t, Options{})
	if err := s.SeedDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	ep := s.Endpoint() + "/_db/demo"
	counts := map[string]float64{"customers": demoCustomers, "products": demoProducts, "purchases": demoPurchases, "sessions": demoSessions}
	for name, want := range counts {
		_, _, m, _ := coreDo(t, "GET", ep+"/_api/collection/"+name+"/count", "")
		if m["count"] != want {
			t.Fatalf("%s count = %v, want %v", name, m["count"], want)
		}
	}
	_, _, m, _ := coreDo(t, "GET", ep+"/_api/collection/purchases", "")
	if m["type"] != 3.0 {
		t.Fatalf("purchases is not an edge collection: %v", m)
	}
	types := map[string]bool{}
	for _, c := range []string{"customers", "products", "sessions"} {
		_, _, m, _ := coreDo(t, "GET", ep+"/_api/index?collection="+c, "")
		for _, ix := range m["indexes"].([]any) {
			d := ix.(map[string]any)
			key := d["type"].(string)
			if d["unique"] == true {
				key += "+unique"
			}
			if d["sparse"] == true {
				key += "+sparse"
			}
			types[key] = true
		}
	}
	for _, want := range []string{"persistent+unique", "persistent+sparse", "ttl+sparse", "geo+sparse", "fulltext+sparse", "inverted+sparse"} {
		if !types[want] {
			t.Fatalf("demo lacks an index %s (have %v)", want, types)
		}
	}
	_, _, m, _ = coreDo(t, "GET", ep+"/_api/view", "")
	views := map[string]string{}
	for _, v := range m["result"].([]any) {
		views[v.(map[string]any)["name"].(string)] = v.(map[string]any)["type"].(string)
	}
	if views["productsView"] != "arangosearch" || views["productsAlias"] != "search-alias" {
		t.Fatalf("views %v", views)
	}
	_, _, m, _ = coreDo(t, "GET", ep+"/_api/view/productsView/properties", "")
	if _, ok := m["links"].(map[string]any)["products"]; !ok {
		t.Fatalf("productsView has no link to products: %v", m["links"])
	}
	sc, _, m, _ := coreDo(t, "GET", ep+"/_api/analyzer/demo_delimiter", "")
	if sc != 200 || m["name"] != "demo::demo_delimiter" || m["type"] != "delimiter" {
		t.Fatalf("analyzer: %d %v", sc, m)
	}
	sc, _, m, _ = coreDo(t, "GET", ep+"/_api/gharial/shop", "")
	g, _ := m["graph"].(map[string]any)
	if sc != 200 || g == nil || len(g["edgeDefinitions"].([]any)) != 1 {
		t.Fatalf("graph: %d %v", sc, m)
	}
	// Unicode values survive byte for byte.
	_, _, d, raw := coreDo(t, "GET", ep+"/_api/document/products/3", "")
	if !strings.Contains(d["name"].(string), "минимум") || !bytes.Contains(raw, []byte("минимум")) {
		t.Fatalf("product 3: %s", raw)
	}
}

func TestImportVariants(t *testing.T) {
	s := startCore(t, Options{})
	ep := s.Endpoint()
	coreDo(t, "POST", ep+"/_api/collection", `{"name":"imp"}`)
	coreDo(t, "POST", ep+"/_api/collection", `{"name":"edg","type":3}`)
	imp := func(q, body string) (int, map[string]any) {
		sc, _, m, _ := coreDo(t, "POST", ep+"/_api/import?"+q, body)
		return sc, m
	}
	// Tabular with a trailing newline: created 2, empty 0 (RestImportHandler::createFromKeyValueList:
	// the final newline ends the last row and is no empty line).
	sc, m := imp("collection=imp", "[\"_key\",\"value1\",\"value2\"]\n[\"abc\",25,\"test\"]\n[\"foo\",\"bar\",\"baz\"]\n")
	if sc != 201 || m["created"] != 2.0 || m["empty"] != 0.0 || m["errors"] != 0.0 {
		t.Fatalf("tabular: %d %v", sc, m)
	}
	_, _, d, _ := coreDo(t, "GET", ep+"/_api/document/imp/abc", "")
	if d["value1"] != 25.0 || d["value2"] != "test" {
		t.Fatalf("tabular document: %v", d)
	}
	// Array type; onDuplicate modes.
	sc, m = imp("collection=imp&type=array&onDuplicate=update", `[{"_key":"abc","extra":1},{"_key":"new1"}]`)
	if sc != 201 || m["created"] != 1.0 || m["updated"] != 1.0 {
		t.Fatalf("array/update: %d %v", sc, m)
	}
	_, _, d, _ = coreDo(t, "GET", ep+"/_api/document/imp/abc", "")
	if d["value1"] != 25.0 || d["extra"] != 1.0 {
		t.Fatalf("update merged wrongly: %v", d)
	}
	sc, m = imp("collection=imp&type=list&onDuplicate=replace", `[{"_key":"abc","only":true}]`)
	if m["updated"] != 1.0 {
		t.Fatalf("replace: %d %v", sc, m)
	}
	_, _, d, _ = coreDo(t, "GET", ep+"/_api/document/imp/abc", "")
	if _, ok := d["value1"]; ok || d["only"] != true {
		t.Fatalf("replace kept old attributes: %v", d)
	}
	sc, m = imp("collection=imp&type=documents&onDuplicate=ignore", "{\"_key\":\"abc\",\"x\":1}")
	if m["ignored"] != 1.0 || m["created"] != 0.0 {
		t.Fatalf("ignore: %d %v", sc, m)
	}
	sc, m = imp("collection=imp&type=list", `{"not":"an array"}`)
	wantError(t, "type=list with an object", sc, m, 400, 400)
	// complete=true: one error rolls everything back.
	before := s.store.Database("_system").Collection("imp").Count()
	sc, m = imp("collection=imp&type=documents&complete=true", "{\"_key\":\"c1\"}\n{\"_key\":\"abc\"}\n")
	wantError(t, "complete with a duplicate", sc, m, 409, 1210)
	if after := s.store.Database("_system").Collection("imp").Count(); after != before {
		t.Fatalf("complete=true left %d documents, want %d", after, before)
	}
	// Edges: prefixes and missing _from.
	sc, m = imp("collection=edg&type=documents&fromPrefix=v&toPrefix=w&details=true",
		"{\"_from\":\"a\",\"_to\":\"w/b\"}\n{\"_to\":\"c\"}\n")
	if m["created"] != 1.0 || m["errors"] != 1.0 {
		t.Fatalf("edges: %d %v", sc, m)
	}
	det := fmt.Sprint(m["details"])
	if !strings.Contains(det, "at position 2: missing '_from' or '_to' attribute") {
		t.Fatalf("edge details: %s", det)
	}
	for _, d := range s.store.Database("_system").Collection("edg").Snapshot() {
		if !bytes.Contains(d.Raw, []byte(`"_from":"v/a","_to":"w/b"`)) {
			t.Fatalf("edge stored as %s", d.Raw)
		}
	}
	sc, m = imp("collection=nope&type=documents", "{}")
	wantError(t, "unknown collection", sc, m, 404, 1203)
}

func TestTTLExpiry(t *testing.T) {
	s := startCore(t, Options{})
	ep := s.Endpoint()
	coreDo(t, "POST", ep+"/_api/collection", `{"name":"ttl"}`)
	sc, _, m, _ := coreDo(t, "POST", ep+"/_api/index?collection=ttl", `{"type":"ttl","fields":["at"],"expireAfter":10}`)
	if sc != 201 || m["type"] != "ttl" || m["sparse"] != true || m["expireAfter"] != 10.0 || m["estimates"] != false {
		t.Fatalf("create ttl index: %d %v", sc, m)
	}
	now := time.Now()
	docs := fmt.Sprintf(`[{"_key":"old","at":%d},{"_key":"fresh","at":%d},{"_key":"oldiso","at":%q},{"_key":"none"},{"_key":"str","at":"not a date"}]`,
		now.Unix()-100, now.Unix()+1000, now.Add(-time.Hour).UTC().Format(time.RFC3339))
	coreDo(t, "POST", ep+"/_api/document/ttl", docs)
	c := s.store.Database("_system").Collection("ttl")
	if n := c.ttlExpire(now); n != 2 {
		t.Fatalf("expired %d documents, want 2", n)
	}
	for key, want := range map[string]bool{"old": false, "oldiso": false, "fresh": true, "none": true, "str": true} {
		if got := c.Lookup(key) != nil; got != want {
			t.Fatalf("document %s present=%v, want %v", key, got, want)
		}
	}
	// A second TTL index on another attribute is refused.
	sc, _, m, _ = coreDo(t, "POST", ep+"/_api/index?collection=ttl", `{"type":"ttl","fields":["other"],"expireAfter":5}`)
	wantError(t, "second ttl index", sc, m, 400, 10)
}

func TestStreamTransactionCommitConflictRollsBack(t *testing.T) {
	s := startCore(t, Options{})
	ep := s.Endpoint()
	coreDo(t, "POST", ep+"/_api/collection", `{"name":"u"}`)
	coreDo(t, "POST", ep+"/_api/index?collection=u", `{"type":"persistent","fields":["email"],"unique":true}`)
	begin := func() string {
		_, _, m, _ := coreDo(t, "POST", ep+"/_api/transaction/begin", `{"collections":{"write":["u"]}}`)
		return m["result"].(map[string]any)["id"].(string)
	}
	a, b := begin(), begin()
	coreDo(t, "POST", ep+"/_api/document/u", `{"_key":"a1","email":"same"}`, "x-arango-trx-id", a)
	coreDo(t, "POST", ep+"/_api/document/u", `{"_key":"b0","email":"other"}`, "x-arango-trx-id", b)
	coreDo(t, "POST", ep+"/_api/document/u", `{"_key":"b1","email":"same"}`, "x-arango-trx-id", b)
	if sc, _, _, _ := coreDo(t, "PUT", ep+"/_api/transaction/"+a, ""); sc != 200 {
		t.Fatalf("commit a: %d", sc)
	}
	wal := s.store.WAL.Count()
	sc, _, m, _ := coreDo(t, "PUT", ep+"/_api/transaction/"+b, "")
	wantError(t, "commit with a unique conflict", sc, m, 409, 1210)
	c := s.store.Database("_system").Collection("u")
	if c.Lookup("b0") != nil || c.Lookup("b1") != nil || c.Lookup("a1") == nil || c.Count() != 1 {
		t.Fatalf("after failed commit: count %d", c.Count())
	}
	if s.store.WAL.Count() != wal {
		t.Fatalf("failed commit wrote %d WAL markers", s.store.WAL.Count()-wal)
	}
	_, _, m, _ = coreDo(t, "GET", ep+"/_api/transaction/"+b, "")
	if m["result"].(map[string]any)["status"] != "aborted" {
		t.Fatalf("status after failed commit: %v", m)
	}
	// The freed keys are writable again outside any transaction.
	if sc, _, _, _ := coreDo(t, "POST", ep+"/_api/document/u", `{"_key":"b0","email":"other"}`); sc != 202 {
		t.Fatalf("key still locked after failed commit: %d", sc)
	}
}

func TestVersionPersonality(t *testing.T) {
	for _, tc := range []struct {
		version       string
		mdi, topK     bool
		newTierPolicy bool
	}{
		{"3.11.14", false, false, false},
		{"3.12.4", true, true, false},
		{"3.12.7", true, true, true},
	} {
		s := startCore(t, Options{Version: tc.version, License: "community"})
		ep := s.Endpoint()
		_, _, m, _ := coreDo(t, "GET", ep+"/_api/version?details=true", "")
		if m["version"] != tc.version || m["license"] != "community" || m["details"].(map[string]any)["v8-version"] != "none" {
			t.Fatalf("%s: version %v", tc.version, m)
		}
		_, _, m, _ = coreDo(t, "GET", ep+"/_api/engine", "")
		if got := strings.Contains(fmt.Sprint(m["supports"]), "mdi"); got != tc.mdi || m["name"] != "rocksdb" {
			t.Fatalf("%s: engine %v", tc.version, m)
		}
		sc, _, m, _ := coreDo(t, "POST", ep+"/_api/view", `{"name":"v","type":"arangosearch"}`)
		if sc != 201 {
			t.Fatalf("%s: create view %d %v", tc.version, sc, m)
		}
		if _, ok := m["optimizeTopK"]; ok != tc.topK {
			t.Fatalf("%s: optimizeTopK present=%v", tc.version, ok)
		}
		_, hasSkew := m["consolidationPolicy"].(map[string]any)["maxSkewThreshold"]
		if hasSkew != tc.newTierPolicy {
			t.Fatalf("%s: consolidationPolicy %v", tc.version, m["consolidationPolicy"])
		}
	}
}
