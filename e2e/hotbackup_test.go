package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/arangobackup/godump/arangotest"
	"github.com/arangobackup/godump/client"
)

// Hot backup tests: godump hotbackup / gorestore hotbackup against arangotest's Hot Backup API.
// Restoring a hot backup reverts the WHOLE deployment, so those tests never run against a
// shared ARANGO_ENDPOINT (they need arangotest).

// needHotBackup skips when the server has no Hot Backup API.
func needHotBackup(t *testing.T, tg *target) {
	t.Helper()
	c := tg.conn(t, "_system")
	_, err := c.Do(context.Background(), client.Request{Method: "POST", Path: "/_admin/backup/list", JSON: map[string]any{}})
	if client.IsStatus(err, 404) || client.IsStatus(err, 501) || client.IsStatus(err, 405) {
		t.Skipf("the server has no Hot Backup API yet: %v", err)
	}
	if err != nil {
		t.Fatalf("probe hot backup API: %v", err)
	}
}

var generatedID = regexp.MustCompile(`Generated identifier '([^']+)'`)

// hotCreate runs godump hotbackup create and returns the new id.
func hotCreate(t *testing.T, tg *target, args ...string) string {
	t.Helper()
	res := mustRun(t, "godump", append(append([]string{"hotbackup", "create"}, args...), tg.serverArgs("")...)...)
	m := generatedID.FindStringSubmatch(res.Stdout)
	if m == nil {
		t.Fatalf("no backup id in: %s", res)
	}
	return m[1]
}

// hotList returns the backups by id, as godump hotbackup list --json prints them.
func hotList(t *testing.T, tg *target) map[string]map[string]any {
	t.Helper()
	res := mustRun(t, "godump", append([]string{"hotbackup", "list", "--json"}, tg.serverArgs("")...)...)
	var list []map[string]any
	if err := json.Unmarshal([]byte(res.Stdout), &list); err != nil {
		t.Fatalf("list --json: %v\n%s", err, res)
	}
	out := map[string]map[string]any{}
	for _, b := range list {
		out[b["id"].(string)] = b
	}
	return out
}

// smallSeed creates db with a collection of n documents and returns them as the server has them.
func smallSeed(t *testing.T, tg *target, db string, n int) map[string]Doc {
	t.Helper()
	tg.createDatabase(t, db)
	return fillItems(t, tg, db, n)
}

// fillItems creates collection items in db with n documents.
func fillItems(t *testing.T, tg *target, db string, n int) map[string]Doc {
	t.Helper()
	c := tg.conn(t, db)
	must(t, c.DoJSON(context.Background(), client.Request{Method: "POST", Path: "/_api/collection", JSON: Doc{"name": "items"}}, nil), "create items")
	sc := &seededCollection{Name: "items", Docs: map[string]Doc{}}
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("i%04d", i)
		sc.Docs[k] = Doc{"_key": k, "n": json.Number(fmt.Sprint(i)), "s": strings.Repeat("x", i%50)}
	}
	insertDocs(t, c, sc)
	return serverDocs(t, tg, db, "items")
}

// sameDocs compares documents including their _rev (a hot backup restores the very same state).
func sameDocs(t *testing.T, what string, want, got map[string]Doc) {
	t.Helper()
	compareDocs(t, what, want, got)
	for k, w := range want {
		if g, ok := got[k]; ok && g["_rev"] != w["_rev"] {
			t.Errorf("%s: document %s has _rev %v, want %v", what, k, g["_rev"], w["_rev"])
		}
	}
}

func databases(t *testing.T, tg *target) []string {
	t.Helper()
	var res struct {
		Result []string `json:"result"`
	}
	must(t, tg.conn(t, "_system").DoJSON(context.Background(), client.Request{Method: "GET", Path: "/_api/database"}, &res), "list databases")
	return res.Result
}

func TestHotbackupCreateListRestoreDelete(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	tg.needArangotest(t)
	needHotBackup(t, tg)
	db := uniqueDB(t, "hb")
	want := smallSeed(t, tg, db, 300)

	id := hotCreate(t, tg, "--label", "e2e")
	if !strings.HasSuffix(id, "_e2e") {
		t.Errorf("id %q does not end with the label", id)
	}
	list := hotList(t, tg)
	b, ok := list[id]
	if !ok || b["available"] != true || b["potentiallyInconsistent"] != false || b["nrFiles"].(float64) <= 0 || b["sizeInBytes"].(float64) <= 0 {
		t.Fatalf("list: %v", list)
	}
	table := mustRun(t, "godump", append([]string{"hotbackup", "list"}, tg.serverArgs("")...)...)
	if !strings.Contains(table.Stdout, "CONSISTENT") || !strings.Contains(table.Stdout, id) {
		t.Fatalf("list table: %s", table)
	}

	// Change everything after the backup: documents, a new database, a dropped collection.
	c := tg.conn(t, db)
	ctx := context.Background()
	must(t, c.DoJSON(ctx, client.Request{Method: "DELETE", Path: "/_api/document/items/i0001"}, nil), "remove")
	must(t, c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/document/items", JSON: Doc{"_key": "late"}}, nil), "insert")
	must(t, c.DoJSON(ctx, client.Request{Method: "PATCH", Path: "/_api/document/items/i0002", JSON: Doc{"n": 42}}, nil), "update")
	late := uniqueDB(t, "late")
	tg.createDatabase(t, late)

	// Without a terminal, restore refuses unless --yes true is given (it reverts the whole deployment).
	res := mustRun(t, "gorestore", append([]string{"hotbackup", "restore", "--identifier", id, "--yes", "--max-wait-for-restart", "120"}, tg.serverArgs("")...)...)
	if !strings.Contains(res.Stdout, "Successfully restored") {
		t.Errorf("restore output: %s", res)
	}
	sameDocs(t, "after restore", want, serverDocs(t, tg, db, "items"))
	for _, d := range databases(t, tg) {
		if d == late {
			t.Errorf("database %s, created after the backup, survived the restore", late)
		}
	}

	mustRun(t, "godump", append([]string{"hotbackup", "delete", "--identifier", id}, tg.serverArgs("")...)...)
	if _, ok := hotList(t, tg)[id]; ok {
		t.Fatal("deleted backup still listed")
	}
	if res := runTool(t, "godump", append([]string{"hotbackup", "delete", "--identifier", id}, tg.serverArgs("")...)...); res.Code != 6 {
		t.Fatalf("delete of a deleted backup: %s (want exit 6)", res)
	}
	if res := runTool(t, "gorestore", append([]string{"hotbackup", "restore", "--identifier", id, "--yes"}, tg.serverArgs("")...)...); res.Code != 6 {
		t.Fatalf("restore of a deleted backup: %s (want exit 6)", res)
	}
}

func TestHotbackupLockTimeout(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	tg.needArangotest(t)
	needHotBackup(t, tg)
	db := uniqueDB(t, "hblock")
	smallSeed(t, tg, db, 10)
	c := tg.conn(t, db)
	ctx := context.Background()
	// A stream transaction that has written and stays open keeps the global write lock away.
	var trx struct {
		Result struct {
			ID string `json:"id"`
		} `json:"result"`
	}
	must(t, c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/transaction/begin", JSON: Doc{"collections": Doc{"write": []string{"items"}}}}, &trx), "begin transaction")
	must(t, c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/document/items", Header: map[string]string{"x-arango-trx-id": trx.Result.ID}, JSON: Doc{"_key": "intrx"}}, nil), "write in transaction")
	defer c.Do(ctx, client.Request{Method: "DELETE", Path: "/_api/transaction/" + trx.Result.ID})

	start := time.Now()
	res := runTool(t, "godump", append([]string{"hotbackup", "create", "--max-wait-for-lock", "1"}, tg.serverArgs("")...)...)
	if res.Code != 5 || !strings.Contains(res.Stderr, "--max-wait-for-lock") || !strings.Contains(res.Stderr, "--allow-inconsistent") {
		t.Fatalf("create while a transaction holds the lock: %s (want exit 5 and advice)", res)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("gave up after %v, before the 1 s lock wait", d)
	}
	id := hotCreate(t, tg, "--max-wait-for-lock", "1", "--allow-inconsistent", "true")
	if b := hotList(t, tg)[id]; b["potentiallyInconsistent"] != true {
		t.Fatalf("allow-inconsistent backup listed as %v", b)
	}
	table := mustRun(t, "godump", append([]string{"hotbackup", "list"}, tg.serverArgs("")...)...)
	for _, line := range strings.Split(table.Stdout, "\n") {
		if strings.HasPrefix(line, id) && !strings.HasSuffix(strings.TrimSpace(line), "no") {
			t.Errorf("inconsistent backup not flagged in the table: %q", line)
		}
	}
}

// rcloneLocal writes an rclone config with a local remote and returns its path and a remote path.
func rcloneLocal(t *testing.T) (cfg, remote, dir string) {
	dir = t.TempDir()
	cfg = filepath.Join(t.TempDir(), "rclone.json")
	if err := os.WriteFile(cfg, []byte(`{"local":{"type":"local"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, "local:" + dir, dir
}

func TestHotbackupUploadDeleteDownloadRestore(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	tg.needArangotest(t)
	needHotBackup(t, tg)
	db := uniqueDB(t, "hbup")
	want := smallSeed(t, tg, db, 200)
	id := hotCreate(t, tg, "--label", "remote")
	cfg, remote, rdir := rcloneLocal(t)

	res := mustRun(t, "godump", append([]string{"hotbackup", "upload", "--identifier", id, "--remote-path", remote, "--rclone-config-file", cfg}, tg.serverArgs("")...)...)
	if !strings.Contains(res.Stderr, "COMPLETED") || !strings.Contains(res.Stdout, "completed") ||
		!regexp.MustCompile(`(?m)^Backup initiated, use\n    godump hotbackup upload --status-id=\S+\n to query progress\.$`).MatchString(res.Stderr) {
		t.Fatalf("upload: %s", res)
	}
	var files int
	filepath.WalkDir(rdir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files++
		}
		return nil
	})
	if files == 0 {
		t.Fatalf("upload finished but %s is empty", rdir)
	}
	mustRun(t, "godump", append([]string{"hotbackup", "delete", "--identifier", id}, tg.serverArgs("")...)...)
	if _, ok := hotList(t, tg)[id]; ok {
		t.Fatal("backup still listed after delete")
	}
	// Change the data, then get the backup back and restore it.
	c := tg.conn(t, db)
	must(t, c.DoJSON(context.Background(), client.Request{Method: "DELETE", Path: "/_api/document/items/i0005"}, nil), "remove")
	mustRun(t, "godump", append([]string{"hotbackup", "download", "--identifier", id, "--remote-path", remote, "--rclone-config-file", cfg}, tg.serverArgs("")...)...)
	if b, ok := hotList(t, tg)[id]; !ok || b["available"] != true {
		t.Fatalf("downloaded backup: %v", b)
	}
	mustRun(t, "gorestore", append([]string{"hotbackup", "restore", "--identifier", id, "--yes", "--max-wait-for-restart", "120"}, tg.serverArgs("")...)...)
	sameDocs(t, "after download and restore", want, serverDocs(t, tg, db, "items"))

	// A bad remote is refused before anything is sent.
	if res := runTool(t, "godump", append([]string{"hotbackup", "upload", "--identifier", id, "--remote-path", "nowhere:x", "--rclone-config-file", cfg}, tg.serverArgs("")...)...); res.Code != 2 {
		t.Fatalf("unknown remote: %s (want exit 2)", res)
	}
}

func TestHotbackupAbortTransfer(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	tg.needArangotest(t)
	needHotBackup(t, tg)
	smallSeed(t, tg, uniqueDB(t, "hbabort"), 500)
	id := hotCreate(t, tg)
	cfg, remote, _ := rcloneLocal(t)

	// Ctrl-C without a terminal: the transfer is left running and its status id printed.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := toolCommand(ctx, "godump", append([]string{"hotbackup", "upload", "--identifier", id, "--remote-path", remote, "--rclone-config-file", cfg}, tg.serverArgs("")...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	sc := bufio.NewScanner(stderr)
	statusID := ""
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if i := strings.Index(sc.Text(), "status id "); i >= 0 && statusID == "" {
			statusID = strings.TrimSpace(sc.Text()[i+len("status id "):])
			cmd.Process.Signal(os.Interrupt)
		}
	}
	err = cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if statusID == "" || code != 130 || !strings.Contains(log.String(), "--status-id "+statusID) {
		t.Fatalf("interrupted upload: exit %d (want 130), err %v, status id %q\n%s", code, err, statusID, log.String())
	}
	// Abort it by status id; it must end CANCELLED, not COMPLETED.
	res := runTool(t, "godump", append([]string{"hotbackup", "upload", "--status-id", statusID, "--abort", "true"}, tg.serverArgs("")...)...)
	deadline := time.Now().Add(30 * time.Second)
	for res.Code == 0 && !strings.Contains(res.Stdout, "CANCELLED") && time.Now().Before(deadline) {
		time.Sleep(300 * time.Millisecond)
		res = runTool(t, "godump", append([]string{"hotbackup", "upload", "--status-id", statusID}, tg.serverArgs("")...)...)
	}
	if res.Code != 7 || !strings.Contains(res.Stdout, "CANCELLED") {
		t.Fatalf("aborted upload: %s (want exit 7, CANCELLED)", res)
	}
}

func TestHotbackupCluster(t *testing.T) {
	if realEndpoint() != "" {
		t.Skip("restoring a hot backup reverts the whole deployment; runs against arangotest only")
	}
	cl, err := arangotest.NewCluster(arangotest.ClusterOptions{Coordinators: 2, DBServers: 3})
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	t.Cleanup(func() { cl.Close() }) // after the databases are dropped
	coord := func(i int) *target {
		return &target{Endpoint: cl.Endpoints()[i], Server: cl.Coordinators()[i], Username: "root"}
	}
	tg := coord(0)
	needHotBackup(t, tg)
	db := uniqueDB(t, "hbcl")
	tg.createDatabase(t, db)
	c := tg.conn(t, db)
	must(t, c.DoJSON(context.Background(), client.Request{Method: "POST", Path: "/_api/collection", JSON: Doc{"name": "items", "numberOfShards": 6}}, nil), "create items")
	sc := &seededCollection{Name: "items", Docs: map[string]Doc{}}
	for i := 0; i < 400; i++ {
		k := fmt.Sprintf("k%d", i)
		sc.Docs[k] = Doc{"_key": k, "n": json.Number(fmt.Sprint(i))}
	}
	insertDocs(t, c, sc)
	want := serverDocs(t, tg, db, "items")

	id := hotCreate(t, tg, "--label", "cluster")
	b := hotList(t, tg)[id]
	if b == nil || b["nrDBServers"] != 3.0 || b["available"] != true {
		t.Fatalf("cluster backup listed as %v, want 3 DB-Servers, available", b)
	}
	// Progress per DB-Server.
	cfg, remote, _ := rcloneLocal(t)
	res := mustRun(t, "godump", append([]string{"hotbackup", "upload", "--identifier", id, "--remote-path", remote, "--rclone-config-file", cfg}, tg.serverArgs("")...)...)
	for _, srv := range cl.DBServers() {
		if !strings.Contains(res.Stderr, "upload "+srv+": COMPLETED") {
			t.Errorf("no completion reported for DB-Server %s:\n%s", srv, res.Stderr)
		}
	}
	must(t, c.DoJSON(context.Background(), client.Request{Method: "DELETE", Path: "/_api/document/items/k7"}, nil), "remove")
	// Restore through the other Coordinator: it is one deployment.
	mustRun(t, "gorestore", append([]string{"hotbackup", "restore", "--identifier", id, "--yes", "--max-wait-for-restart", "120"}, coord(1).serverArgs("")...)...)
	sameDocs(t, "cluster after restore", want, serverDocs(t, coord(1), db, "items"))
}

// TestHotbackupCreateDelete is the part that is safe against a shared real server too
// (ARANGO_ENDPOINT): it creates a backup, finds it, and deletes it; nothing is restored.
func TestHotbackupCreateDelete(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	needHotBackup(t, tg)
	res := mustRun(t, "godump", append([]string{"hotbackup", "create", "--label", "godump-e2e", "--json"}, tg.serverArgs("")...)...)
	var created struct {
		ID      string  `json:"id"`
		Files   int     `json:"nrFiles"`
		Size    int64   `json:"sizeInBytes"`
		Seconds float64 `json:"seconds"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &created); err != nil || !strings.HasSuffix(created.ID, "_godump-e2e") || created.Files <= 0 || created.Size <= 0 {
		t.Fatalf("create --json: %v\n%s", err, res)
	}
	one := mustRun(t, "godump", append([]string{"hotbackup", "list", "--identifier", created.ID}, tg.serverArgs("")...)...)
	if lines := strings.Split(strings.TrimSpace(one.Stdout), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[1], created.ID) {
		t.Fatalf("list --identifier: %s", one)
	}
	mustRun(t, "godump", append([]string{"hotbackup", "delete", "--identifier", created.ID}, tg.serverArgs("")...)...)
	if res := runTool(t, "godump", append([]string{"hotbackup", "list", "--identifier", created.ID}, tg.serverArgs("")...)...); res.Code != 6 {
		t.Fatalf("list of a deleted backup: %s (want exit 6)", res)
	}
	// Hot backups are global: another database is refused before anything is sent.
	if res := runTool(t, "godump", append([]string{"hotbackup", "list"}, tg.serverArgs("shop")...)...); res.Code != 2 || !strings.Contains(res.Stderr, "_system") {
		t.Fatalf("--server.database shop: %s (want exit 2)", res)
	}
}

// The backup subcommands answer help and the other informational options on stdout.
func TestHotbackupPhysicalInfoOptions(t *testing.T) {
	for _, cmd := range [][]string{{"godump", "hotbackup"}, {"gorestore", "hotbackup"}, {"godump", "physical"}, {"gorestore", "physical"}} {
		for _, opt := range []string{"--help", "--help-all", "--dump-options", "--version-json", "--man"} {
			res := runTool(t, cmd[0], cmd[1], opt)
			if res.Code != 0 || res.Stdout == "" || res.Stderr != "" {
				t.Errorf("%v %s: %s", cmd, opt, res)
			}
			if opt == "--dump-options" {
				var all map[string]map[string]any
				if err := json.Unmarshal([]byte(res.Stdout), &all); err != nil {
					t.Errorf("%v --dump-options: %v", cmd, err)
				} else if cmd[1] == "hotbackup" && all["max-wait-for-restart"]["default"] != 0.0 {
					t.Errorf("%v: --max-wait-for-restart default %v, want arangobackup's 0", cmd, all["max-wait-for-restart"]["default"])
				}
			}
		}
	}
	if res := runTool(t, "godump", "hotbackup", "--help"); !strings.Contains(res.Stdout, "create|list|restore|delete|upload|download") || !strings.Contains(res.Stdout, "Exit codes:") {
		t.Errorf("godump hotbackup --help: %s", res)
	}
	if res := runTool(t, "godump", "hotbackup", "--help-server"); res.Code != 0 || !strings.Contains(res.Stdout, "--server.endpoint") {
		t.Errorf("godump hotbackup --help-server: %s", res)
	}
}

// A configuration file, the request log, and options of other operations (accepted with a notice).
func TestHotbackupConfigLogAndIgnoredOptions(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	tg.needArangotest(t)
	needHotBackup(t, tg)
	args := tg.serverArgs("")
	var endpoint string
	for i, a := range args {
		if a == "--server.endpoint" && i+1 < len(args) {
			endpoint = args[i+1]
		} else if strings.HasPrefix(a, "--server.endpoint=") {
			endpoint = strings.TrimPrefix(a, "--server.endpoint=")
		}
	}
	if endpoint == "" {
		t.Skipf("no --server.endpoint in %v", args)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "hb.conf")
	rest := []string{}
	for i := 0; i < len(args); i++ {
		if args[i] == "--server.endpoint" {
			i++
			continue
		}
		if !strings.HasPrefix(args[i], "--server.endpoint=") {
			rest = append(rest, args[i])
		}
	}
	os.WriteFile(conf, []byte("[server]\nendpoint = "+endpoint+"\n"), 0o600)
	id := hotCreate(t, tg, "--label", "conf")
	logFile := filepath.Join(dir, "requests.log")
	res := mustRun(t, "godump", append([]string{"hotbackup", "list", "-c", conf, "--log.level", "requests=debug", "--log.file", logFile}, rest...)...)
	if !strings.Contains(res.Stdout, id) {
		t.Fatalf("list with -c: %s", res)
	}
	b, err := os.ReadFile(logFile)
	if err != nil || !strings.Contains(string(b), "/_admin/backup/list") {
		t.Fatalf("request log (%v):\n%s", err, b)
	}
	for i, a := range rest {
		if a == "--server.password" && i+1 < len(rest) && rest[i+1] != "" && strings.Contains(string(b), rest[i+1]) {
			t.Fatalf("the password is in the request log:\n%s", b)
		}
	}
	for _, c := range [][]string{{"list", "--max-wait-for-lock", "60"}, {"list", "--force"}, {"list", "--yes"},
		{"restore", "--identifier", id, "--yes", "--max-wait-for-lock", "10"}, {"create", "--identifier", "x"}} {
		res := runTool(t, "godump", append(append([]string{"hotbackup"}, c...), args...)...)
		opt := c[len(c)-1]
		if !strings.HasPrefix(opt, "--") {
			opt = c[len(c)-2]
		}
		want := "godump hotbackup: " + opt + " has no effect with " + c[0] + " (it is for "
		if res.Code != 0 || !strings.Contains(res.Stderr, want) {
			t.Errorf("%v: %s\nwant exit 0 and %q", c, res, want)
		}
	}
	res = runTool(t, "godump", append([]string{"hotbackup", "delete", "--identifier", id, "--max-wait-for-restart", "10"}, args...)...)
	if res.Code != 0 || !strings.Contains(res.Stderr, "--max-wait-for-restart has no effect with delete (it is for restore)") {
		t.Errorf("delete --max-wait-for-restart: %s", res)
	}
}
