package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/arangobackup/godump/arangotest"
	"github.com/arangobackup/godump/client"
)

// rfCluster starts an arangotest cluster of one Coordinator; these tests need a cluster of a
// chosen size and configuration, so they do not run against ARANGO_ENDPOINT.
func rfCluster(t *testing.T, o arangotest.ClusterOptions) (*arangotest.Cluster, *target) {
	t.Helper()
	if realEndpoint() != "" {
		t.Skip("needs an arangotest cluster of a chosen size")
	}
	cl, err := arangotest.NewCluster(o)
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	t.Cleanup(func() { cl.Close() })
	tg := &target{Endpoint: cl.Endpoints()[0], Server: cl.Coordinators()[0], Username: "root"}
	for u, p := range o.Users {
		if u == "root" {
			tg.Password = p
		}
	}
	return cl, tg
}

// rfUserCollections lists the non-system collections of db.
func rfUserCollections(t *testing.T, tg *target, db string) []string {
	t.Helper()
	var res struct {
		Result []struct {
			Name     string `json:"name"`
			IsSystem bool   `json:"isSystem"`
		} `json:"result"`
	}
	must(t, tg.conn(t, db).DoJSON(context.Background(), client.Request{Method: "GET", Path: "/_api/collection"}, &res), "list collections")
	var out []string
	for _, c := range res.Result {
		if !c.IsSystem {
			out = append(out, c.Name)
		}
	}
	return out
}

// A dump whose collections have replicationFactor 3 does not fit a cluster of 2 DB-Servers
// (a 3.12 Coordinator answers restore-collection with 1487): gorestore stops before sending
// anything, naming each collection and the override; with the override everything restores.
func TestRestoreReplicationFactorAboveDBServers(t *testing.T) {
	_, tg := rfCluster(t, arangotest.ClusterOptions{DBServers: 2})
	dir := t.TempDir()
	colls := rsGraphDump(t, dir, 200, 300)
	for i := range colls {
		colls[i].Extra = Doc{"replicationFactor": 3, "numberOfShards": 2, "writeConcern": 2}
	}
	rsWriteDump(t, dir, "rfsrc", colls)
	db := uniqueDB(t, "rf")
	tg.createDatabase(t, db)
	restores := tg.Server.AddFault(arangotest.Fault{PathPrefix: "/_api/replication/restore-", CutAfterBytes: -1})

	// people gets its own override; knows and things do not fit.
	res := runTool(t, "gorestore", append(tg.serverArgs(db), dir, "--replication-factor", "people=2", "--progress", "false")...)
	if res.Code == 0 {
		t.Fatalf("restore of replicationFactor 3 into 2 DB-Servers succeeded:\n%s", res)
	}
	for _, c := range []string{"knows", "things"} {
		for _, want := range []string{`collection "` + c + `": replicationFactor 3`, "has 2 DB-Servers", "--replication-factor " + c + "=2",
			"--replication-factor 2 for all collections"} {
			if !strings.Contains(res.Stderr, want) {
				t.Errorf("message lacks %q:\n%s", want, res.Stderr)
			}
		}
	}
	if strings.Contains(res.Stderr, `collection "people"`) {
		t.Errorf("people has an override that fits, yet it is reported:\n%s", res.Stderr)
	}
	if n := rsFaultMatched(tg.Server, restores); n != 0 {
		t.Errorf("%d restore requests were sent before the refusal", n)
	}
	if cs := rfUserCollections(t, tg, db); len(cs) != 0 {
		t.Errorf("collections created before the refusal: %v", cs)
	}

	mustRun(t, "gorestore", append(tg.serverArgs(db), dir, "--replication-factor", "2", "--progress", "false")...)
	for _, cc := range colls {
		compareDocs(t, cc.Name, rsDocsByKey(cc.Docs), serverDocs(t, tg, db, cc.Name))
		props, _ := rsServerCollection(t, tg, db, cc.Name)
		if !jsonEqual(props["replicationFactor"], json.Number("2")) || !jsonEqual(props["numberOfShards"], json.Number("2")) {
			t.Errorf("%s: replicationFactor %v, numberOfShards %v; want 2 and 2", cc.Name, props["replicationFactor"], props["numberOfShards"])
		}
	}
}

// rfRecorder is a proxy in front of a Coordinator that records the replicationFactor of every
// restore-collection request and the status it got.
type rfRecorder struct {
	mu    sync.Mutex
	asked []rfAsk
}

type rfAsk struct {
	coll   string
	rf     string
	status int
}

type rfStatus struct {
	http.ResponseWriter
	status int
}

func (w *rfStatus) WriteHeader(s int) { w.status = s; w.ResponseWriter.WriteHeader(s) }

func (r *rfRecorder) proxy(t *testing.T, endpoint string) string {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !strings.HasSuffix(req.URL.Path, "/_api/replication/restore-collection") {
			rp.ServeHTTP(w, req)
			return
		}
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		var s struct {
			Parameters struct {
				Name string          `json:"name"`
				RF   json.RawMessage `json:"replicationFactor"`
			} `json:"parameters"`
		}
		_ = json.Unmarshal(body, &s)
		sw := &rfStatus{ResponseWriter: w, status: 200}
		rp.ServeHTTP(sw, req)
		r.mu.Lock()
		r.asked = append(r.asked, rfAsk{s.Parameters.Name, string(s.Parameters.RF), sw.status})
		r.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// Fast cluster restore on a cluster whose --cluster.min-replication-factor is 2 loads with
// factor 2, not 1 (which the server refuses), and ends with the dump's factors and every
// document. Without authentication gorestore reads the minimum from GET /_admin/options and
// never asks for less; as a non-superuser it cannot, and takes the minimum from the server's
// refusal of its first request.
func TestRestoreFastClusterMinimumReplicationFactor(t *testing.T) {
	for _, auth := range []bool{false, true} {
		name := "options-readable"
		o := arangotest.ClusterOptions{DBServers: 3, MinReplicationFactor: 2}
		if auth {
			name = "options-forbidden"
			o.Users = map[string]string{"root": "pw"}
		}
		t.Run(name, func(t *testing.T) {
			_, tg := rfCluster(t, o)
			dir := t.TempDir()
			colls := rsGraphDump(t, dir, 300, 400)
			want := map[string]string{"people": "3", "knows": "2", "things": "3"}
			for i := range colls {
				colls[i].Extra = Doc{"replicationFactor": json.Number(want[colls[i].Name]), "numberOfShards": 3, "writeConcern": 1}
			}
			rsWriteDump(t, dir, "fastsrc", colls)
			rec := &rfRecorder{}
			ep := rec.proxy(t, tg.Endpoint)
			db := uniqueDB(t, "fastmin")
			mustRun(t, "gorestore", "--server.endpoint", ep, "--server.username", "root", "--server.password", tg.Password,
				"--server.database", db, dir, "--create-database", "true", "--fast-cluster-restore", "true", "--progress", "false")
			accepted := map[string]bool{}
			for _, a := range rec.asked {
				if a.status == 200 {
					accepted[a.coll] = true
					if a.rf == "1" {
						t.Errorf("%s was created with replicationFactor 1 on a cluster whose minimum is 2", a.coll)
					}
				}
				if a.rf == "1" && !auth {
					t.Errorf("%s: replicationFactor 1 asked for although GET /_admin/options says the minimum is 2", a.coll)
				}
			}
			if auth {
				refused := 0
				for _, a := range rec.asked {
					if a.rf == "1" && a.status == 400 {
						refused++
					}
				}
				if refused == 0 {
					t.Errorf("the minimum was readable although GET /_admin/options needs a superuser (requests %v)", rec.asked)
				}
			}
			for c := range want {
				if !accepted[c] {
					t.Errorf("no accepted restore-collection for %s (requests %v)", c, rec.asked)
				}
			}
			var inv struct {
				Collections []struct {
					Parameters Doc  `json:"parameters"`
					AllInSync  bool `json:"allInSync"`
				} `json:"collections"`
			}
			must(t, tg.conn(t, db).DoJSON(context.Background(), client.Request{Method: "GET", Path: "/_api/replication/clusterInventory"}, &inv), "clusterInventory")
			for _, ci := range inv.Collections {
				n, _ := ci.Parameters["name"].(string)
				if w, ok := want[n]; ok {
					if !jsonEqual(ci.Parameters["replicationFactor"], json.Number(w)) || !ci.AllInSync {
						t.Errorf("%s: replicationFactor %v (in sync %v), want %s", n, ci.Parameters["replicationFactor"], ci.AllInSync, w)
					}
				}
			}
			for _, cc := range colls {
				compareDocs(t, cc.Name, rsDocsByKey(cc.Docs), serverDocs(t, tg, db, cc.Name))
			}
		})
	}
}

// An existing collection without --overwrite: restore-collection answers 409, error 1207, and
// gorestore, as arangorestore, stops before any data is sent; with --force it warns and loads
// the dump's data into the existing collection.
func TestRestoreExistingCollectionWithoutOverwrite(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	dir := t.TempDir()
	colls := rsGraphDump(t, dir, 100, 150)
	db := uniqueDB(t, "dup")
	tg.createDatabase(t, db)
	c := tg.conn(t, db)
	ctx := context.Background()
	must(t, c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/collection", JSON: Doc{"name": "things"}}, nil), "create things")
	mine := []Doc{{"_key": "mine1", "v": 1}, {"_key": "mine2", "v": 2}}
	must(t, c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/document/things", JSON: mine}, nil), "seed things")

	res := runTool(t, "gorestore", append(tg.serverArgs(db), dir, "--overwrite", "false", "--progress", "false")...)
	if res.Code == 0 {
		t.Fatalf("restore into an existing collection without --overwrite succeeded:\n%s", res)
	}
	for _, want := range []string{`"things"`, "duplicate collection name 'things'", "--overwrite true", "--force"} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("message lacks %q:\n%s", want, res.Stderr)
		}
	}
	compareDocs(t, "things after the refusal", rsDocsByKey(mine), serverDocs(t, tg, db, "things"))
	for _, cs := range rfUserCollections(t, tg, db) {
		if cs != "things" && len(serverDocs(t, tg, db, cs)) != 0 {
			t.Errorf("%s got data although the restore stopped at the collections", cs)
		}
	}

	res = mustRun(t, "gorestore", append(tg.serverArgs(db), dir, "--overwrite", "false", "--force", "true", "--progress", "false")...)
	if !strings.Contains(res.Stderr, "duplicate collection name") {
		t.Errorf("--force: no warning about the existing collection:\n%s", res.Stderr)
	}
	for _, cc := range colls {
		want := rsDocsByKey(cc.Docs)
		if cc.Name == "things" {
			for k, d := range rsDocsByKey(mine) {
				want[k] = d
			}
		}
		compareDocs(t, cc.Name, want, serverDocs(t, tg, db, cc.Name))
	}
}
