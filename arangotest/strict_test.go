package arangotest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// The refusals of the handlers the tools rely on, each as the ArangoDB source answers it
// (status, errorNum and, where given, the message). The source function is named in each
// case; see the handlers' comments and client/WIRE.md.

type strictCase struct {
	name           string
	method, path   string
	body           string
	hdr            []string
	status, errNum int
	msg            string // a part of errorMessage, "" for any
}

func runStrict(t *testing.T, s *Server, cases []strictCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc, _, m, raw := coreDo(t, tc.method, s.Endpoint()+tc.path, tc.body, tc.hdr...)
			wantError(t, tc.name, sc, m, tc.status, tc.errNum)
			if msg, _ := m["errorMessage"].(string); !strings.Contains(msg, tc.msg) {
				t.Fatalf("%s: message %q, want it to contain %q (%s)", tc.name, msg, tc.msg, raw)
			}
		})
	}
}

func strictBatch(t *testing.T, s *Server) string {
	t.Helper()
	sc, _, m, raw := coreDo(t, "POST", s.Endpoint()+"/_api/replication/batch", `{"ttl":30}`)
	id, _ := m["id"].(string)
	if sc != 200 || id == "" {
		t.Fatalf("create batch: %d %s", sc, raw)
	}
	return id
}

// General request handling: GeneralServerFeature / RestHandlerFactory::createHandler, the
// catch-all RestActionHandler (actions.js resultNotFound) and HttpRequest::setHeader/payload.
func TestStrictRequestHandling(t *testing.T) {
	s := startCore(t, Options{})
	runStrict(t, s, []strictCase{
		// resultNotFound(req, res, ERROR_HTTP_NOT_FOUND, "unknown path '" + req.url + "'"),
		// req.url being GeneralRequest::fullUrl: no /_db/<name> prefix, with the query.
		{name: "unknown path names the URL without the database", method: "GET", path: "/_db/_system/_api/no-such?x=1",
			status: 404, errNum: 404, msg: "unknown path '/_api/no-such?x=1'"},
		// A dump Content-Type is recorded by HttpRequest::setHeader, and payload() then returns
		// none: a JSON handler sees no body (here restore-view: not an object, 400 error 10).
		{name: "dump content type hides the body from a JSON handler", method: "PUT", path: "/_api/replication/restore-view",
			body: `{"name":"v1","type":"arangosearch"}`, hdr: []string{"Content-Type", "application/x-arango-dump"},
			status: 400, errNum: 10},
	})
	// Any other type (text/plain) leaves the type unset, and payload() parses JSON.
	sc, _, m, raw := coreDo(t, "PUT", s.Endpoint()+"/_api/replication/restore-view", `{"name":"v2","type":"arangosearch"}`,
		"Content-Type", "text/plain")
	if sc != 200 || m["result"] != true {
		t.Fatalf("JSON body sent as text/plain: %d %s", sc, raw)
	}
}

// RestReplicationHandler::executeAsync, RocksDBRestReplicationHandler::handleCommandBatch,
// handleCommandInventory, handleCommandDump.
func TestStrictReplication(t *testing.T) {
	s := startCore(t, Options{})
	coreDo(t, "POST", s.Endpoint()+"/_api/collection", `{"name":"c1"}`)
	coreDo(t, "POST", s.Endpoint()+"/_api/document/c1", `[{"_key":"a"},{"_key":"b"},{"_key":"c"}]`)
	runStrict(t, s, []strictCase{
		{name: "unknown command", method: "GET", path: "/_api/replication/no-such-command",
			status: 400, errNum: 400, msg: "invalid command 'no-such-command'"},
		{name: "no command", method: "GET", path: "/_api/replication",
			status: 400, errNum: 401, msg: "expecting URL /_api/replication/<command>"},
		{name: "wrong method with a suffix", method: "GET", path: "/_api/replication/restore-data/x",
			status: 400, errNum: 401, msg: "expecting URL /_api/replication/<command>"},
		{name: "wrong method", method: "POST", path: "/_api/replication/inventory",
			status: 405, errNum: 405},
		{name: "batch with GET", method: "GET", path: "/_api/replication/batch/1/2",
			status: 405, errNum: 405},
		{name: "batch body not JSON", method: "POST", path: "/_api/replication/batch", body: `{"ttl":`,
			status: 400, errNum: 600, msg: "VPackError error: "},
		{name: "extend an unknown batch", method: "PUT", path: "/_api/replication/batch/123456789", body: `{}`,
			status: 404, errNum: 1600, msg: "cursor not found"},
	})
	// handleCommandBatch returns without an answer when the body is not an object: the
	// response prepared by HttpCommTask, 500 without a body.
	for _, body := range []string{"", "[1]"} {
		sc, _, _, raw := coreDo(t, "POST", s.Endpoint()+"/_api/replication/batch", body)
		if sc != 500 || len(raw) != 0 {
			t.Fatalf("batch with body %q: %d %q, want 500 without a body", body, sc, raw)
		}
	}
	// A negative ttl is the default (RocksDBReplicationContext), not an error.
	if sc, _, m, raw := coreDo(t, "POST", s.Endpoint()+"/_api/replication/batch", `{"ttl":-5}`); sc != 200 || m["id"] == nil {
		t.Fatalf("batch with ttl -5: %d %s", sc, raw)
	}
	id := strictBatch(t, s)
	// POST ignores what follows "batch".
	if sc, _, m, raw := coreDo(t, "POST", s.Endpoint()+"/_api/replication/batch/extra", `{}`); sc != 200 || m["id"] == nil {
		t.Fatalf("POST batch/extra: %d %s", sc, raw)
	}
	// getInventory(vocbase, collection): an unknown collection is an empty list, no error.
	sc, _, m, raw := coreDo(t, "GET", s.Endpoint()+"/_api/replication/inventory?batchId="+id+"&collection=nope", "")
	if colls, ok := m["collections"].([]any); sc != 200 || !ok || len(colls) != 0 {
		t.Fatalf("inventory of an unknown collection: %d %s", sc, raw)
	}
	if _, has := m["properties"]; has {
		t.Fatalf("inventory of one collection has properties: %s", raw)
	}
	// global outside _system: getApplier's 403 is overwritten by the 200.
	coreDo(t, "POST", s.Endpoint()+"/_api/database", `{"name":"other"}`)
	sc, _, m, raw = coreDo(t, "GET", s.Endpoint()+"/_db/other/_api/replication/inventory?global=true&batchId="+id, "")
	if sc != 200 || m["databases"] == nil {
		t.Fatalf("global inventory from another database: %d %s", sc, raw)
	}
	// dumpJson adds documents while the chunk is smaller than chunkSize: 0 is no document.
	sc, hdr, _, raw := coreDo(t, "GET", s.Endpoint()+"/_api/replication/dump?collection=c1&chunkSize=0&batchId="+id, "")
	if sc != 204 || hdr.Get("x-arango-replication-checkmore") != "true" {
		t.Fatalf("dump with chunkSize=0: %d %v %s", sc, hdr, raw)
	}
	// docsPerBatch bounds a chunk; the lastincluded header counts the chunks that had more
	// (CollectionIterator::currentTick, from 1).
	sc, hdr, _, raw = coreDo(t, "GET", s.Endpoint()+"/_api/replication/dump?collection=c1&docsPerBatch=2&useEnvelope=false&batchId="+id, "")
	if sc != 200 || strings.Count(string(raw), "\n") != 2 || hdr.Get("x-arango-replication-lastincluded") != "3" { // the empty chunk above counted too
		t.Fatalf("dump with docsPerBatch=2: %d %v %s", sc, hdr, raw)
	}
	runStrict(t, s, []strictCase{
		{name: "dump of an unknown collection", method: "GET", path: "/_api/replication/dump?collection=nope&batchId=" + id,
			status: 400, errNum: 400, msg: "replication dump - bad parameter"},
		{name: "dump without collection", method: "GET", path: "/_api/replication/dump?batchId=" + id,
			status: 400, errNum: 400, msg: "invalid collection parameter"},
		{name: "dump without batchId", method: "GET", path: "/_api/replication/dump?collection=c1",
			status: 404, errNum: 400, msg: "request misses batchId"},
	})
}

// RestReplicationHandler::handleCommandRestoreIndexes / processRestoreIndexes and
// handleCommandRestoreView.
func TestStrictRestoreIndexesAndViews(t *testing.T) {
	s := startCore(t, Options{})
	runStrict(t, s, []strictCase{
		{name: "restore-indexes body not JSON", method: "PUT", path: "/_api/replication/restore-indexes", body: `[bad`,
			status: 400, errNum: 600, msg: "VPackError error: "},
		{name: "restore-indexes without a body", method: "PUT", path: "/_api/replication/restore-indexes",
			status: 400, errNum: 400, msg: "collection declaration is invalid"},
		{name: "restore-indexes of an unknown collection", method: "PUT", path: "/_api/replication/restore-indexes",
			body:   `{"parameters":{"name":"nope"},"indexes":[{"type":"persistent","fields":["a"]}]}`,
			status: 404, errNum: 1203, msg: "collection or view not found"},
		{name: "restore-view with an array", method: "PUT", path: "/_api/replication/restore-view", body: `[1]`,
			status: 400, errNum: 10, msg: "bad parameter"},
		{name: "restore-view without a body", method: "PUT", path: "/_api/replication/restore-view",
			status: 400, errNum: 10, msg: "bad parameter"},
	})
}

// RestDatabaseHandler::getDatabases, createDatabase, deleteDatabase.
func TestStrictDatabases(t *testing.T) {
	s := startCore(t, Options{})
	runStrict(t, s, []strictCase{
		{name: "create with a body that is not JSON", method: "POST", path: "/_api/database", body: `{"name":`,
			status: 400, errNum: 400},
		{name: "create with a body that is not an object", method: "POST", path: "/_api/database", body: `["x"]`,
			status: 500, errNum: 4, msg: "Expecting Object"},
		{name: "create with a suffix", method: "POST", path: "/_api/database/x", body: `{"name":"x"}`,
			status: 400, errNum: 400},
		{name: "unknown database resource", method: "GET", path: "/_api/database/nope",
			status: 400, errNum: 10},
		{name: "two suffixes", method: "GET", path: "/_api/database/user/x",
			status: 400, errNum: 400},
		{name: "drop without a name", method: "DELETE", path: "/_api/database",
			status: 400, errNum: 400},
	})
	for _, n := range []string{"zeta", "alpha"} {
		coreDo(t, "POST", s.Endpoint()+"/_api/database", `{"name":"`+n+`"}`)
	}
	_, _, m, raw := coreDo(t, "GET", s.Endpoint()+"/_api/database/user", "")
	if got, _ := m["result"].([]any); len(got) != 3 || got[0] != "_system" || got[1] != "alpha" || got[2] != "zeta" {
		t.Fatalf("database/user is not sorted: %s", raw)
	}
}

// RestCollectionHandler::handleCommandGet, handleCommandPut.
func TestStrictCollections(t *testing.T) {
	s := startCore(t, Options{})
	coreDo(t, "POST", s.Endpoint()+"/_api/collection", `{"name":"c1"}`)
	runStrict(t, s, []strictCase{
		{name: "GET with three suffixes", method: "GET", path: "/_api/collection/c1/count/x",
			status: 400, errNum: 400, msg: "expect GET /_api/collection/<collection-name>/<method>"},
		{name: "GET responsibleShard", method: "GET", path: "/_api/collection/c1/responsibleShard",
			status: 404, errNum: 404, msg: "expecting one of the resources"},
		{name: "PUT with one suffix", method: "PUT", path: "/_api/collection/c1", body: `{}`,
			status: 400, errNum: 400, msg: "expected PUT /_api/collection/<collection-name>/<action>"},
		{name: "PUT properties with a body that is not JSON, before the lookup", method: "PUT",
			path: "/_api/collection/nope/properties", body: `{"waitForSync":`, status: 400, errNum: 600},
	})
	// A body that is not an object counts as {}.
	if sc, _, m, raw := coreDo(t, "PUT", s.Endpoint()+"/_api/collection/c1/properties", `[1]`); sc != 200 || m["name"] != "c1" {
		t.Fatalf("properties with an array body: %d %s", sc, raw)
	}
}

// RestImportHandler::executeAsync, createFromJson, createFromKeyValueList.
func TestStrictImport(t *testing.T) {
	s := startCore(t, Options{})
	coreDo(t, "POST", s.Endpoint()+"/_api/collection", `{"name":"imp"}`)
	runStrict(t, s, []strictCase{
		{name: "invalid type", method: "POST", path: "/_api/import?collection=imp&type=tabular", body: "[\"a\"]\n[1]\n",
			status: 400, errNum: 10, msg: "invalid value for 'type'"},
		{name: "no collection", method: "POST", path: "/_api/import?type=documents", body: "{}\n",
			status: 400, errNum: 1204, msg: "'collection' is missing"},
		{name: "unknown collection", method: "POST", path: "/_api/import?collection=nope&type=documents", body: "{}\n",
			status: 404, errNum: 1203, msg: "collection 'nope' not found"},
		{name: "another method", method: "GET", path: "/_api/import?collection=imp",
			status: 501, errNum: 9, msg: "'ILLEGAL /_api/import' not implemented"},
		{name: "a suffix", method: "POST", path: "/_api/import/x?collection=imp&type=documents", body: "{}\n",
			status: 400, errNum: 401, msg: "superfluous suffix"},
		{name: "tabular without a newline", method: "POST", path: "/_api/import?collection=imp", body: `["a"]`,
			status: 400, errNum: 400, msg: "no JSON array found in second line"},
	})
	imp := func(q, body string) map[string]any {
		t.Helper()
		sc, _, m, raw := coreDo(t, "POST", s.Endpoint()+"/_api/import?collection=imp&"+q, body)
		if sc != 201 {
			t.Fatalf("import %s: %d %s", q, sc, raw)
		}
		return m
	}
	// Point 5d: the empty string after the last newline is no line (the server's own
	// tests, tests/js/client/shell/api/multi/import.js, give these counts).
	for _, tc := range []struct {
		q, body        string
		created, empty float64
	}{
		{"type=documents", "{\"_key\":\"j1\"}\n{\"_key\":\"j2\"}\n", 2, 0},
		{"type=documents", "\n\n", 0, 2},
		{"type=documents", "\n\n      { \"name\" : \"John\", \"age\" : 29 }      \n     \n \n \r\n \n { \"rubbish\" : \"data goes in here\" }\n\n", 2, 7},
		{"type=documents", "{\"_key\":\"j3\"}\n   ", 1, 0},
		{"type=auto", "{\"_key\":\"j4\"}\n", 1, 0},
		{"", "[\"_key\",\"v\"]\n[\"t1\",1]\n[\"t2\",2]\n", 2, 0},
		{"", "[ \"name\", \"age\", \"gender\" ]\n\n       [  \"John\", 29, \"male\" ]\n\n\r\n[ \"Jane\", 35, \"female\" ]\n\n", 2, 4},
		{"", "[ \"name\" ]\n\n", 0, 1},
	} {
		if m := imp(tc.q, tc.body); m["created"] != tc.created || m["empty"] != tc.empty || m["errors"] != 0.0 {
			t.Fatalf("import %s %q: %v, want created %v empty %v", tc.q, tc.body, m, tc.created, tc.empty)
		}
	}
	// createVelocyPackObject leaves null values out, with or without ignoreMissing.
	imp("", "[\"_key\",\"n\"]\n[\"t3\",null]\n")
	if d := s.store.Database("_system").Collection("imp").Lookup("t3"); d == nil || strings.Contains(string(d.Raw), `"n"`) {
		t.Fatalf("tabular null value stored: %v", d)
	}
}

// RestStatusHandler::executeStandard, the Foxx API's heal route, RestVersionHandler,
// RestAdminStatisticsHandler::getStatistics.
func TestStrictAdmin(t *testing.T) {
	s := startCore(t, Options{})
	// arangorestore POSTs /_admin/status and reads the top-level "foxxApi".
	sc, _, m, raw := coreDo(t, "POST", s.Endpoint()+"/_admin/status", "")
	if sc != 200 || m["foxxApi"] != true {
		t.Fatalf("POST /_admin/status: %d %s", sc, raw)
	}
	if si, _ := m["serverInfo"].(map[string]any); si == nil || si["role"] != "SINGLE" || si["serverId"] != nil || si["persistedId"] != nil {
		t.Fatalf("single server serverInfo: %s", raw)
	}
	// RestVersionHandler answers every method.
	if sc, _, m, raw := coreDo(t, "PUT", s.Endpoint()+"/_api/version", ""); sc != 200 || m["version"] == nil {
		t.Fatalf("PUT /_api/version: %d %s", sc, raw)
	}
	runStrict(t, s, []strictCase{
		{name: "memory profile", method: "GET", path: "/_admin/status?memory=true",
			status: 501, errNum: 9, msg: "memory profiles not enabled"},
		{name: "availability with POST", method: "POST", path: "/_admin/server/availability",
			status: 405, errNum: 405},
		{name: "statistics with POST", method: "POST", path: "/_admin/statistics",
			status: 405, errNum: 405},
	})

	off := startCore(t, Options{FoxxAPIDisabled: true, StatisticsDisabled: true})
	sc, _, m, raw = coreDo(t, "POST", off.Endpoint()+"/_admin/status", "")
	if sc != 200 || m["foxxApi"] != false {
		t.Fatalf("status with the Foxx API disabled: %d %s", sc, raw)
	}
	runStrict(t, off, []strictCase{
		{name: "heal with the Foxx API disabled", method: "POST", path: "/_api/foxx/_local/heal",
			status: 403, errNum: 3099, msg: "service api disabled"},
		{name: "statistics disabled", method: "GET", path: "/_admin/statistics",
			status: 404, errNum: 36, msg: "statistics not enabled"},
	})
}

// POST /_api/document refuses what RestDocumentHandler::insertDocument refuses: no
// collection (400/1204) and more than one suffix (400/601).
func TestInsertDocumentRefusals(t *testing.T) {
	s, err := NewServer(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []struct {
		path        string
		status, num int
	}{{"/_api/document", 400, 1204}, {"/_api/document/c/k", 400, 601}} {
		resp, err := http.Post(s.Endpoint()+c.path, "application/json", strings.NewReader(`{"_key":"k"}`))
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			ErrorNum int `json:"errorNum"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != c.status || body.ErrorNum != c.num {
			t.Errorf("POST %s: %d/%d, want %d/%d", c.path, resp.StatusCode, body.ErrorNum, c.status, c.num)
		}
	}
}
