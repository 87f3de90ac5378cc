package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/arangobackup/godump/arangotest"
	"github.com/arangobackup/godump/client"
	"github.com/arangobackup/godump/datadir"
	"github.com/arangobackup/godump/hotbackup/physical"
)

// startOnDataDir starts an in-process arangotest keeping its state in dir; the caller closes it.
func startOnDataDir(t *testing.T, dir string) (*arangotest.Server, *target) {
	t.Helper()
	srv, err := arangotest.NewServer(arangotest.Options{DataDir: dir})
	if err != nil {
		t.Fatalf("start arangotest on %s: %v", dir, err)
	}
	if locked, _, _ := datadir.IsLocked(dir); !locked {
		srv.Close()
		t.Skip("arangotest does not hold a data directory LOCK yet (no --data-dir support)")
	}
	return srv, &target{Endpoint: srv.Endpoint(), Server: srv, Username: "root"}
}

func TestPhysicalBackupAndRestore(t *testing.T) {
	if realEndpoint() != "" {
		t.Skip("a physical backup needs the server's data directory; runs against arangotest only")
	}
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	os.Mkdir(data, 0o700)
	srv, tg := startOnDataDir(t, data)
	closed := false
	defer func() {
		if !closed {
			srv.Close()
		}
	}()
	db := uniqueDB(t, "phys")
	// The servers are private to this test: no drop at the end.
	must(t, tg.conn(t, "_system").DoJSON(context.Background(), client.Request{Method: "POST", Path: "/_api/database", JSON: Doc{"name": db}}, nil), "create database")
	atHot := fillItems(t, tg, db, 500)
	// A hot backup inside the data directory (hard links to the data files): the physical
	// backup must carry it along, still restorable.
	hotID := hotCreate(t, tg, "--label", "beforecold")
	must(t, tg.conn(t, db).DoJSON(context.Background(), client.Request{Method: "DELETE", Path: "/_api/document/items/i0003"}, nil), "remove")
	want := serverDocs(t, tg, db, "items")
	out := filepath.Join(tmp, "backup")

	// Refused while the server runs, and says why.
	res := runTool(t, "godump", "physical", "--data-dir", data, "--output-directory", out)
	if res.Code != 8 || !strings.Contains(res.Stderr, "stop the server first") {
		t.Fatalf("physical backup of a running server: %s (want exit 8)", res)
	}
	if _, err := os.Stat(filepath.Join(out, physical.ManifestName)); err == nil {
		t.Fatal("a refused backup wrote a manifest")
	}

	srv.Close()
	closed = true
	if locked, pid, _ := datadir.IsLocked(data); locked {
		t.Fatalf("the stopped server still holds %s/LOCK (pid %d)", data, pid)
	}
	res = mustRun(t, "godump", "physical", "--data-dir", data, "--output-directory", out)
	if !strings.Contains(res.Stdout, "Physical backup of 1 data directory") {
		t.Errorf("backup output: %s", res)
	}
	m, err := physical.ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.Files == 0 || m.Bytes == 0 {
		t.Fatalf("manifest lists %d files, %d bytes", m.Files, m.Bytes)
	}

	// Restore into a fresh directory and start a server on it: the same data.
	fresh := filepath.Join(tmp, "fresh")
	mustRun(t, "gorestore", "physical", "--input-directory", out, "--data-dir", fresh)
	srv2, tg2 := startOnDataDir(t, fresh)
	defer srv2.Close()
	sameDocs(t, "after physical restore", want, serverDocs(t, tg2, db, "items"))
	hardlinks := 0
	for _, e := range m.DataDirs[0].Entries {
		if e.Type == physical.TypeHardlink {
			hardlinks++
		}
	}
	if hardlinks == 0 {
		t.Error("the hot backup's hard links were not kept as hard links")
	}
	if _, ok := hotList(t, tg2)[hotID]; !ok {
		t.Fatalf("hot backup %s did not survive the physical backup and restore", hotID)
	}

	// Refused into a running server's directory, and into a non-empty one.
	if res := runTool(t, "gorestore", "physical", "--input-directory", out, "--data-dir", fresh, "--overwrite", "true"); res.Code != 8 {
		t.Fatalf("restore into a running server's directory: %s (want exit 8)", res)
	}
	if res := runTool(t, "gorestore", "physical", "--input-directory", out, "--data-dir", data); res.Code != 9 || !strings.Contains(res.Stderr, "--overwrite") {
		t.Fatalf("restore into a non-empty directory: %s (want exit 9)", res)
	}

	// A corrupted file is found before anything is written, and named.
	var victim physical.Entry
	for _, e := range m.DataDirs[0].Entries {
		if e.Type == physical.TypeFile && e.Size > victim.Size {
			victim = e
		}
	}
	bad := filepath.Join(out, m.DataDirs[0].Dir, filepath.FromSlash(victim.Path))
	content, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	content[len(content)/2] ^= 0x20
	os.Chmod(bad, 0o600)
	if err := os.WriteFile(bad, content, 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(tmp, "other")
	res = runTool(t, "gorestore", "physical", "--input-directory", out, "--data-dir", other)
	if res.Code != 3 || !strings.Contains(res.Stderr, bad) {
		t.Fatalf("corrupted backup: %s (want exit 3 naming %s)", res, bad)
	}
	if entries, _ := os.ReadDir(other); len(entries) != 0 {
		t.Fatalf("a failed verification wrote into the target: %v", entries)
	}
	// The carried-along hot backup restores on the restored server.
	mustRun(t, "gorestore", append([]string{"hotbackup", "restore", "--identifier", hotID, "--yes"}, tg2.serverArgs("")...)...)
	sameDocs(t, "hot backup restored after a physical restore", atHot, serverDocs(t, tg2, db, "items"))

	var raw map[string]any
	b, _ := os.ReadFile(filepath.Join(out, physical.ManifestName))
	if json.Unmarshal(b, &raw) != nil || raw["format"] != physical.Format {
		t.Fatalf("manifest format: %v", raw["format"])
	}
}

// clusterProcess is bin/arangotest --cluster running as a process of its own.
type clusterProcess struct {
	cmd  *exec.Cmd
	eps  []string
	done chan error
}

// startClusterProcess runs bin/arangotest --cluster with 2 Coordinators and 3 DB-Servers
// keeping its state under dir (one directory per process).
func startClusterProcess(t *testing.T, dir string) (*clusterProcess, *target) {
	t.Helper()
	cmd := toolCommand(context.Background(), "arangotest", "--cluster", "--coordinators", "2", "--dbservers", "3",
		"--port", "0", "--data-dir", dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start arangotest --cluster: %v", err)
	}
	cp := &clusterProcess{cmd: cmd, done: make(chan error, 1)}
	lines := make(chan string, 2)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		cp.done <- cmd.Wait()
	}()
	for len(cp.eps) == 0 {
		select {
		case l := <-lines:
			if rest, ok := strings.CutPrefix(l, "arangotest coordinators "); ok {
				cp.eps = strings.Split(rest, ",")
			}
		case err := <-cp.done:
			t.Fatalf("arangotest --cluster --data-dir %s ended: %v\n%s", dir, err, stderr.String())
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Fatal("arangotest --cluster does not start")
		}
	}
	t.Cleanup(func() { cp.stop(t) })
	return cp, &target{Endpoint: cp.eps[0], Username: "root"}
}

// stop ends the cluster with SIGTERM (it writes its state and releases its LOCKs) and waits.
func (cp *clusterProcess) stop(t *testing.T) {
	t.Helper()
	if cp.done == nil {
		return
	}
	_ = cp.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-cp.done:
		cp.done = nil
		if err != nil {
			t.Errorf("arangotest --cluster after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		cp.cmd.Process.Kill()
		t.Fatal("arangotest --cluster does not stop after SIGTERM")
	}
}

// clusterLayout is the documents of the test's collections and the shard of each, and the
// servers of each shard, as the Coordinators report them.
type clusterLayout struct {
	docs    map[string]map[string]Doc // collection -> key -> document
	shardOf map[string]string         // "collection/key" -> shard id
	servers map[string][]string       // "collection/shard" -> DB-Servers, leader first
}

func readClusterLayout(t *testing.T, tg *target, db string, colls []string) clusterLayout {
	t.Helper()
	c := tg.conn(t, db)
	ctx := context.Background()
	l := clusterLayout{docs: map[string]map[string]Doc{}, shardOf: map[string]string{}, servers: map[string][]string{}}
	for _, coll := range colls {
		l.docs[coll] = serverDocs(t, tg, db, coll)
		var shards struct {
			Shards map[string][]string `json:"shards"`
		}
		must(t, c.DoJSON(ctx, client.Request{Method: "GET", Path: "/_api/collection/" + coll + "/shards", Query: url.Values{"details": {"true"}}}, &shards), "shards of "+coll)
		for id, s := range shards.Shards {
			l.servers[coll+"/"+id] = s
		}
		for key, d := range l.docs[coll] {
			var r struct {
				ShardID string `json:"shardId"`
			}
			must(t, c.DoJSON(ctx, client.Request{Method: "PUT", Path: "/_api/collection/" + coll + "/responsibleShard", JSON: d}, &r), "responsible shard of "+key)
			l.shardOf[coll+"/"+key] = r.ShardID
		}
	}
	return l
}

func sameClusterLayout(t *testing.T, what string, want, got clusterLayout) {
	t.Helper()
	for coll, docs := range want.docs {
		sameDocs(t, what+": "+coll, docs, got.docs[coll])
	}
	if !reflect.DeepEqual(want.servers, got.servers) {
		t.Errorf("%s: shard placement %v, want %v", what, got.servers, want.servers)
	}
	if len(want.shardOf) == 0 || !reflect.DeepEqual(want.shardOf, got.shardOf) {
		for k, s := range want.shardOf {
			if got.shardOf[k] != s {
				t.Errorf("%s: document %s in shard %s, want %s", what, k, got.shardOf[k], s)
			}
		}
		t.Fatalf("%s: documents' shards differ (%d documents)", what, len(want.shardOf))
	}
}

func TestPhysicalClusterBackupAndRestore(t *testing.T) {
	if realEndpoint() != "" {
		t.Skip("a physical backup needs the servers' data directories; runs against arangotest only")
	}
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	cp, tg := startClusterProcess(t, data)
	// One directory per process: the Agency, each Coordinator, each DB-Server, each locked.
	ents, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	if len(names) != 6 || names[0] != "agent-1" || names[1] != "coordinator-1" || names[2] != "coordinator-2" ||
		!strings.HasPrefix(names[3], "dbserver-PRMR-") || !strings.HasPrefix(names[5], "dbserver-PRMR-") {
		t.Fatalf("process directories under %s: %v", data, names)
	}
	for _, n := range names {
		if locked, _, _ := datadir.IsLocked(filepath.Join(data, n)); !locked {
			t.Fatalf("%s is not locked while the cluster runs", n)
		}
	}

	db := uniqueDB(t, "physcl")
	ctx := context.Background()
	must(t, tg.conn(t, "_system").DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/database", JSON: Doc{"name": db}}, nil), "create database")
	c := tg.conn(t, db)
	must(t, c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/collection", JSON: Doc{"name": "items", "numberOfShards": 5}}, nil), "create items")
	must(t, c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/collection", JSON: Doc{"name": "bygroup", "numberOfShards": 3, "shardKeys": []string{"g"}, "replicationFactor": 2}}, nil), "create bygroup")
	items := &seededCollection{Name: "items", Docs: map[string]Doc{}}
	groups := &seededCollection{Name: "bygroup", Docs: map[string]Doc{}}
	for i := 0; i < 400; i++ {
		k := fmt.Sprintf("i%04d", i)
		items.Docs[k] = Doc{"_key": k, "n": json.Number(fmt.Sprint(i)), "s": strings.Repeat("x", i%50)}
		groups.Docs[k] = Doc{"g": fmt.Sprintf("g%d", i%11), "n": json.Number(fmt.Sprint(i))} // custom shard keys: the server picks _key
	}
	insertDocs(t, c, items)
	insertDocs(t, c, groups)
	hotID := hotCreate(t, tg, "--label", "beforecold")
	atHot := serverDocs(t, tg, db, "items")
	// Through the second Coordinator: the state is one cluster's, whichever Coordinator writes.
	tg2nd := &target{Endpoint: cp.eps[1], Username: "root"}
	must(t, tg2nd.conn(t, db).DoJSON(ctx, client.Request{Method: "DELETE", Path: "/_api/document/items/i0003"}, nil), "remove")
	want := readClusterLayout(t, tg, db, []string{"items", "bygroup"})
	if len(want.docs["items"]) != 399 || len(want.docs["bygroup"]) != 400 {
		t.Fatalf("seeded %d and %d documents", len(want.docs["items"]), len(want.docs["bygroup"]))
	}

	var dirArgs []string
	for _, n := range names {
		dirArgs = append(dirArgs, "--data-dir", filepath.Join(data, n))
	}
	out := filepath.Join(tmp, "backup")
	res := runTool(t, "godump", append(append([]string{"physical"}, dirArgs...), "--output-directory", out)...)
	if res.Code != 8 || !strings.Contains(res.Stderr, "stop the server first") {
		t.Fatalf("physical backup of a running cluster: %s (want exit 8)", res)
	}
	if _, err := os.Stat(filepath.Join(out, physical.ManifestName)); err == nil {
		t.Fatal("a refused backup wrote a manifest")
	}

	cp.stop(t)
	for _, n := range names {
		if locked, pid, _ := datadir.IsLocked(filepath.Join(data, n)); locked {
			t.Fatalf("the stopped cluster still holds %s/LOCK (pid %d)", n, pid)
		}
	}
	res = mustRun(t, "godump", append(append([]string{"physical"}, dirArgs...), "--output-directory", out)...)
	if !strings.Contains(res.Stdout, "Physical backup of 6 data directories") {
		t.Errorf("backup output: %s", res)
	}
	m, err := physical.ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.DataDirs) != 6 || m.Files == 0 || m.Bytes == 0 {
		t.Fatalf("manifest lists %d data directories, %d files, %d bytes", len(m.DataDirs), m.Files, m.Bytes)
	}

	// Restore into fresh directories (same names under another root) and start the cluster.
	fresh := filepath.Join(tmp, "fresh")
	var freshArgs []string
	for _, n := range names {
		freshArgs = append(freshArgs, "--data-dir", filepath.Join(fresh, n))
	}
	mustRun(t, "gorestore", append([]string{"physical", "--input-directory", out}, freshArgs...)...)
	cp2, tg2 := startClusterProcess(t, fresh)
	got := readClusterLayout(t, tg2, db, []string{"items", "bygroup"})
	sameClusterLayout(t, "after a physical restore of the cluster", want, got)
	got2 := readClusterLayout(t, &target{Endpoint: cp2.eps[1], Username: "root"}, db, []string{"items"})
	sameDocs(t, "through the second Coordinator", want.docs["items"], got2.docs["items"])
	if _, ok := hotList(t, tg2)[hotID]; !ok {
		t.Fatalf("hot backup %s did not survive the physical backup and restore", hotID)
	}

	// A corrupted shard file is found before anything is written, and named.
	var victim physical.Entry
	var victimDir string
	for _, dd := range m.DataDirs {
		if !strings.Contains(dd.Source, "dbserver-") {
			continue
		}
		for _, e := range dd.Entries {
			if e.Type == physical.TypeFile && strings.HasSuffix(e.Path, ".jsonl") && e.Size > victim.Size {
				victim, victimDir = e, dd.Dir
			}
		}
	}
	if victim.Path == "" {
		t.Fatal("no shard file in the DB-Servers' directories of the backup")
	}
	bad := filepath.Join(out, victimDir, filepath.FromSlash(victim.Path))
	content, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	content[len(content)/2] ^= 0x20
	os.Chmod(bad, 0o600)
	if err := os.WriteFile(bad, content, 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(tmp, "other")
	var otherArgs []string
	for _, n := range names {
		otherArgs = append(otherArgs, "--data-dir", filepath.Join(other, n))
	}
	res = runTool(t, "gorestore", append([]string{"physical", "--input-directory", out}, otherArgs...)...)
	if res.Code != 3 || !strings.Contains(res.Stderr, bad) {
		t.Fatalf("corrupted backup: %s (want exit 3 naming %s)", res, bad)
	}
	for _, n := range names {
		if entries, _ := os.ReadDir(filepath.Join(other, n)); len(entries) != 0 {
			t.Fatalf("a failed verification wrote into %s: %v", n, entries)
		}
	}

	// The carried-along hot backup restores on the restored cluster.
	mustRun(t, "gorestore", append([]string{"hotbackup", "restore", "--identifier", hotID, "--yes"}, tg2.serverArgs("")...)...)
	sameDocs(t, "hot backup restored after a physical restore", atHot, serverDocs(t, tg2, db, "items"))
}
