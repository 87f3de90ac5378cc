package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arangobackup/godump/arangotest"
)

// TestStalledAnswerTimesOut (issue 12 point 15): a server that sends part of an answer and
// then hangs without closing the connection holds neither tool past --server.request-timeout
// (each try is bounded, the retries are counted), and once it answers again the interrupted
// work completes: the dump and the resumed restore hold every document.
func TestStalledAnswerTimesOut(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	tg.needArangotest(t)
	dir, docs := sfGodumpDump(t, tg)

	// gorestore: every restore-data answer stops after 5 bytes.
	db := uniqueDB(t, "stall")
	tg.dropAtEnd(t, db)
	id := tg.Server.AddFault(arangotest.Fault{PathPrefix: "/_api/replication/restore-data", CutAfterBytes: 5, Stall: true})
	start := time.Now()
	res := runTool(t, "gorestore", append(tg.serverArgs(db), dir, "--create-database", "true", "--progress", "false",
		"--server.request-timeout", "1.5", "--server.max-retries", "1", "--threads", "1")...)
	took := time.Since(start)
	if res.Code == 0 || took > 20*time.Second {
		t.Fatalf("gorestore against a stalling server: exit %d after %s (want a failure within a few request timeouts): %s", res.Code, took, res)
	}
	t.Logf("gorestore gave up after %s: %s", took, strings.TrimSpace(res.Stderr))
	if !strings.Contains(res.Stderr, "restore-data") {
		t.Errorf("the error does not name the request: %s", res.Stderr)
	}
	tg.Server.RemoveFault(id)
	mustRun(t, "gorestore", append(tg.serverArgs(db), dir, "--progress", "false", "--continue", "true")...)
	for coll, want := range docs {
		compareDocs(t, db+"/"+coll, want, serverDocs(t, tg, db, coll), "_rev", "_id")
	}

	// godump: the answer of a dump batch stops after 5 bytes, the same way.
	src := uniqueDB(t, "stallsrc")
	tg.createDatabase(t, src)
	tg.dropAtEnd(t, src)
	mustRun(t, "gorestore", append(tg.serverArgs(src), dir, "--progress", "false")...)
	for _, prefix := range []string{"/_api/dump/next", "/_api/replication/dump"} {
		id = tg.Server.AddFault(arangotest.Fault{PathPrefix: prefix, CutAfterBytes: 5, Stall: true})
	}
	start = time.Now()
	out := filepath.Join(t.TempDir(), "d")
	res = runTool(t, "godump", append(tg.serverArgs(src), "--output-directory", out, "--progress", "false",
		"--server.request-timeout", "1.5", "--server.max-retries", "1")...)
	took = time.Since(start)
	if res.Code == 0 || took > 20*time.Second {
		t.Fatalf("godump against a stalling server: exit %d after %s: %s", res.Code, took, res)
	}
	t.Logf("godump gave up after %s: %s", took, strings.TrimSpace(res.Stderr))
	tg.Server.ClearFaults()
	out = filepath.Join(t.TempDir(), "d2")
	mustRun(t, "godump", append(tg.serverArgs(src), "--output-directory", out, "--progress", "false")...)
	for coll, want := range docs {
		compareDocs(t, "dump of "+coll, want, dumpDocs(t, out, coll), "_rev", "_id")
	}
}
