package e2e

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arangobackup/godump/arangotest"
	"github.com/arangobackup/godump/client"
)

// pipeTools runs `godump dumpArgs... | gorestore restoreArgs...` and returns both results.
func pipeTools(t *testing.T, dumpArgs, restoreArgs []string) (result, result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d := toolCommand(ctx, "godump", dumpArgs...)
	r := toolCommand(ctx, "gorestore", restoreArgs...)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var dErr, rOut, rErr strings.Builder
	d.Stdout, d.Stderr = pw, &dErr
	r.Stdin, r.Stdout, r.Stderr = pr, &rOut, &rErr
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	pr.Close()
	code := func(err error) int {
		var ee *exec.ExitError
		if dmAsExit(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		return 0
	}
	dc := code(d.Wait())
	rc := code(r.Wait())
	return result{Code: dc, Stderr: dErr.String()}, result{Code: rc, Stdout: rOut.String(), Stderr: rErr.String()}
}

// TestArchivePipe (issue 15 point 1): godump --archive - piped into gorestore --archive -
// gives an exact copy (documents, indexes, properties, views, analyzers, graphs), with the
// system collections; the same archive as a file lists and restores, and tar -x of it gives
// a directory gorestore --input-directory restores exactly.
func TestArchivePipe(t *testing.T) {
	src := newTarget(t, arangotest.Options{})
	srcDB := uniqueDB(t, "arsrc")
	seeded := seedStandard(t, src, srcDB)

	dst := uniqueDB(t, "arpipe")
	src.dropAtEnd(t, dst)
	dres, rres := pipeTools(t,
		append(src.serverArgs(srcDB), "--archive", "-", "--include-system-collections", "true", "--progress", "false", "--json", "true"),
		append(src.serverArgs(dst), "--archive", "-", "--create-database", "true", "--include-system-collections", "true", "--progress", "false"))
	if dres.Code != 0 || rres.Code != 0 {
		t.Fatalf("pipe: godump %s\ngorestore %s", dres, rres)
	}
	// with the archive on stdout, godump's summary goes to stderr
	var sum struct {
		OK           bool  `json:"ok"`
		Documents    int64 `json:"documents"`
		ArchiveBytes int64 `json:"archiveBytes"`
	}
	if err := json.Unmarshal([]byte(dres.Stderr[strings.Index(dres.Stderr, "{"):]), &sum); err != nil || !sum.OK || sum.ArchiveBytes == 0 {
		t.Fatalf("godump --archive - --json summary on stderr: %v: %s", err, dres.Stderr)
	}
	rtCheckRestored(t, src, srcDB, seeded, src, dst)

	// the same as a file: --list names every collection with its document count
	file := filepath.Join(t.TempDir(), "dump.tar")
	mustRun(t, "godump", append(src.serverArgs(srcDB), "--archive", file, "--progress", "false")...)
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("archive file: %v %v", st, err)
	}
	res := mustRun(t, "gorestore", "--archive", file, "--list", "--server.endpoint", "tcp://127.0.0.1:1")
	for name, sc := range seeded.Collections {
		if strings.HasPrefix(name, "_") {
			continue
		}
		found := false
		for _, line := range strings.Split(res.Stdout, "\n") {
			f := strings.Fields(line)
			if len(f) >= 3 && f[0] == name {
				found = f[2] == strconv.Itoa(len(sc.Docs))
			}
		}
		if !found {
			t.Errorf("--list --archive: %s with %d documents not listed:\n%s", name, len(sc.Docs), res.Stdout)
		}
	}
	// godump refuses to replace the file without --overwrite, and leaves it as it was
	before, _ := os.ReadFile(file)
	if res := runTool(t, "godump", append(src.serverArgs(srcDB), "--archive", file, "--progress", "false")...); res.Code == 0 {
		t.Errorf("godump over an existing archive: %s", res)
	}
	if after, _ := os.ReadFile(file); string(after) != string(before) {
		t.Error("the refused godump changed the archive")
	}
	// tar -x: a dump directory (split data files) for --input-directory (and arangorestore)
	dir := filepath.Join(t.TempDir(), "x")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("tar", "-x", "-f", file, "-C", dir).CombinedOutput(); err != nil || len(out) > 0 {
		t.Fatalf("tar -x: %v %s", err, out)
	}
	for _, sc := range seeded.Collections {
		if !strings.HasPrefix(sc.Name, "_") {
			compareDocs(t, "extracted "+sc.Name, sc.Docs, dumpDocs(t, dir, sc.Name), "_rev", "_id")
		}
	}
	dst2 := uniqueDB(t, "arx")
	src.dropAtEnd(t, dst2)
	mustRun(t, "gorestore", append(src.serverArgs(dst2), dir, "--create-database", "true", "--progress", "false")...)
	for _, sc := range seeded.Collections {
		if !strings.HasPrefix(sc.Name, "_") {
			compareDocs(t, "restored from extracted "+sc.Name, sc.Docs, serverDocs(t, src, dst2, sc.Name))
		}
	}
}

// TestArchiveAllDatabasesPipe: --all-databases through one stream, restored database by
// database.
func TestArchiveAllDatabasesPipe(t *testing.T) {
	src := newTarget(t, arangotest.Options{})
	src.needArangotest(t) // --all-databases restores every database of the server
	seeded := map[string]*seededDB{}
	for _, p := range []string{"ara", "arb"} {
		db := uniqueDB(t, p)
		seeded[db] = seedStandard(t, src, db)
	}
	dst := newTarget(t, arangotest.Options{})
	dst.needArangotest(t)
	args := func(tg *target) []string {
		return []string{"--server.endpoint", tg.Endpoint, "--server.username", tg.Username, "--server.password", tg.Password,
			"--all-databases", "true", "--archive", "-", "--progress", "false"}
	}
	dres, rres := pipeTools(t, args(src), append(args(dst), "--create-database", "true"))
	if dres.Code != 0 || rres.Code != 0 {
		t.Fatalf("pipe: godump %s\ngorestore %s", dres, rres)
	}
	for db, s := range seeded {
		for _, sc := range s.Collections {
			if !strings.HasPrefix(sc.Name, "_") {
				compareDocs(t, db+"/"+sc.Name, sc.Docs, serverDocs(t, dst, db, sc.Name))
			}
		}
	}
}

// TestArchiveCutOrDamaged (issue 15 points 1 and 4): an archive cut at a random byte, or with
// a byte changed, is refused with a clear error and a non-zero exit, by --list and by the
// restore, which says what it had restored.
func TestArchiveCutOrDamaged(t *testing.T) {
	src := newTarget(t, arangotest.Options{})
	srcDB := uniqueDB(t, "arcut")
	seedStandard(t, src, srcDB)
	file := filepath.Join(t.TempDir(), "a.tar")
	mustRun(t, "godump", append(src.serverArgs(srcDB), "--archive", file, "--progress", "false")...)
	whole, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 3))
	t.Logf("cut points from seed %d, archive of %d bytes", seed, len(whole))
	// the end marker's content ends in the last 2 KiB (its padding and tar's two end blocks
	// follow); any cut before it loses something
	for i := 0; i < 4; i++ {
		n := rng.IntN(len(whole) - 2048)
		cut := filepath.Join(t.TempDir(), "cut.tar")
		if err := os.WriteFile(cut, whole[:n], 0o600); err != nil {
			t.Fatal(err)
		}
		res := runTool(t, "gorestore", "--archive", cut, "--list", "--server.endpoint", "tcp://127.0.0.1:1")
		if res.Code == 0 || !strings.Contains(res.Stderr, "incomplete") && !strings.Contains(res.Stderr, "not a valid godump archive") {
			t.Errorf("--list of an archive cut at byte %d: %s", n, res)
		}
		db := uniqueDB(t, "arcutdst")
		src.dropAtEnd(t, db)
		res = runTool(t, "gorestore", append(src.serverArgs(db), "--archive", cut, "--create-database", "true", "--progress", "false")...)
		if res.Code == 0 || !strings.Contains(res.Stderr, "incomplete") && !strings.Contains(res.Stderr, "not a valid godump archive") {
			t.Errorf("restore of an archive cut at byte %d: %s", n, res)
		}
		if !strings.Contains(res.Stderr, "partly restored") && !strings.Contains(res.Stderr, "nothing was restored") && !strings.Contains(res.Stderr, "restored completely") {
			t.Errorf("restore of an archive cut at byte %d does not say what was restored: %s", n, res.Stderr)
		}
	}
	// a changed byte inside a data entry: its SHA-256 no longer matches
	idx := strings.Index(string(whole), ".data.json.gz")
	at := idx + 2048 // in the first data entry's content (header and pax records before)
	bad := append([]byte(nil), whole...)
	bad[at] ^= 0x55
	file2 := filepath.Join(t.TempDir(), "bad.tar")
	if err := os.WriteFile(file2, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	res := runTool(t, "gorestore", "--archive", file2, "--list", "--server.endpoint", "tcp://127.0.0.1:1")
	if res.Code != 3 {
		t.Errorf("--list of a damaged archive: %s", res)
	}
	// not an archive at all
	res = runTool(t, "gorestore", "--archive", "/dev/null", "--list", "--server.endpoint", "tcp://127.0.0.1:1")
	if res.Code == 0 || !strings.Contains(res.Stderr, "empty") {
		t.Errorf("--archive /dev/null: %s", res)
	}
}

// TestArchiveClusterToSingle: a cluster's dump (a part per shard, from one dump context per
// DB-Server) through one stream into a single server.
func TestArchiveClusterToSingle(t *testing.T) {
	_, cl := rsClusterTarget(t, 1)
	db := uniqueDB(t, "arcl")
	cl.createDatabase(t, db)
	c := cl.conn(t, db)
	must(t, c.DoJSON(context.Background(), client.Request{Method: "POST", Path: "/_api/collection", JSON: Doc{"name": "items", "numberOfShards": 5}}, nil), "create items")
	sc := &seededCollection{Name: "items", Type: 2, Docs: map[string]Doc{}}
	for j := 0; j < 3000; j++ {
		k := "i" + strconv.Itoa(j)
		sc.Docs[k] = Doc{"_key": k, "n": json.Number(strconv.Itoa(j))}
	}
	insertDocs(t, c, sc)
	single := newTarget(t, arangotest.Options{})
	dst := uniqueDB(t, "arcldst")
	single.dropAtEnd(t, dst)
	dres, rres := pipeTools(t, append(cl.serverArgs(db), "--archive", "-", "--progress", "false", "--docs-per-batch", "500"),
		append(single.serverArgs(dst), "--archive", "-", "--create-database", "true", "--progress", "false", "--number-of-shards", "1"))
	if dres.Code != 0 || rres.Code != 0 {
		t.Fatalf("pipe: godump %s\ngorestore %s", dres, rres)
	}
	compareDocs(t, "items", sc.Docs, serverDocs(t, single, dst, "items"))
}
