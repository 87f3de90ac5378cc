package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arangobackup/godump/arangotest"
)

// TestOutputStreams (issue 12 point 8): both tools write progress and log lines on stderr and
// the closing summary on stdout; --progress false removes the progress lines only, never the
// summary; --json gives the summary (and gorestore's --list and --dry-run) as one JSON object
// on stdout whose figures are the data's.
func TestOutputStreams(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	dir, docs := sfGodumpDump(t, tg)
	total := 0
	for _, n := range sfColls {
		total += n
	}

	// godump: progress on stderr, summary on stdout, with and without progress.
	for _, progressOn := range []string{"true", "false"} {
		src := uniqueDB(t, "streams")
		tg.createDatabase(t, src)
		tg.dropAtEnd(t, src)
		out := filepath.Join(t.TempDir(), "d")
		res := mustRun(t, "godump", append(tg.serverArgs(src), "--output-directory", out, "--progress", progressOn)...)
		if lines := strings.Split(strings.TrimSpace(res.Stdout), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "Processed 0 collection(s) from 1 database(s)") {
			t.Errorf("godump --progress %s: stdout is not the one summary line: %q", progressOn, res.Stdout)
		}
		if progressOn == "true" && !strings.Contains(res.Stderr, "# Connected to ArangoDB") {
			t.Errorf("godump --progress true: no progress on stderr: %q", res.Stderr)
		}
		if progressOn == "false" && res.Stderr != "" {
			t.Errorf("godump --progress false: stderr %q", res.Stderr)
		}
	}

	// godump --json: the figures of the dump made of sfGodumpDump's source.
	src := uniqueDB(t, "json")
	tg.createDatabase(t, src)
	tg.dropAtEnd(t, src)
	jdir := filepath.Join(t.TempDir(), "j")
	res := mustRun(t, "gorestore", append(tg.serverArgs(src), dir, "--progress", "false")...)
	res = mustRun(t, "godump", append(tg.serverArgs(src), "--output-directory", jdir, "--json", "true")...)
	var ds struct {
		Tool                                 string
		OK                                   bool
		ExitCode, Databases, Collections     int
		Documents, BytesWritten, BytesOnDisk int64
		OutputDirectory                      string
		Warnings                             []string
	}
	if err := json.Unmarshal([]byte(res.Stdout), &ds); err != nil {
		t.Fatalf("godump --json stdout is not JSON: %v: %q", err, res.Stdout)
	}
	if ds.Tool != "godump" || !ds.OK || ds.ExitCode != 0 || ds.Databases != 1 || ds.Collections != len(sfColls) ||
		ds.Documents != int64(total) || ds.BytesWritten <= 0 || ds.BytesOnDisk <= 0 || ds.OutputDirectory != jdir || ds.Warnings == nil {
		t.Errorf("godump --json: %+v (want %d collections, %d documents)", ds, len(sfColls), total)
	}
	if !strings.Contains(res.Stderr, "# Connected to ArangoDB") {
		t.Errorf("godump --json: progress not on stderr: %q", res.Stderr)
	}
	// A failure is JSON too, with the exit code; the error is on stderr as well.
	fail := runTool(t, "godump", "--server.endpoint", "tcp://127.0.0.1:1", "--server.max-retries", "0", "--json", "true", filepath.Join(t.TempDir(), "f"))
	var fs struct {
		OK       bool
		ExitCode int
		Error    string
	}
	if err := json.Unmarshal([]byte(fail.Stdout), &fs); err != nil || fail.Code != 1 || fs.OK || fs.ExitCode != 1 ||
		!strings.Contains(fs.Error, "127.0.0.1:1") || !strings.Contains(fail.Stderr, "127.0.0.1:1") {
		t.Errorf("godump --json failure: %v %+v: %s", err, fs, fail)
	}

	// gorestore: the same convention.
	for _, progressOn := range []string{"true", "false"} {
		db := uniqueDB(t, "rs")
		tg.dropAtEnd(t, db)
		res := mustRun(t, "gorestore", append(tg.serverArgs(db), jdir, "--create-database", "true", "--progress", progressOn)...)
		if lines := strings.Split(strings.TrimSpace(res.Stdout), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "Processed 3 collection(s) from 1 database(s)") {
			t.Errorf("gorestore --progress %s: stdout is not the one summary line: %q", progressOn, res.Stdout)
		}
		if progressOn == "false" && res.Stderr != "" {
			t.Errorf("gorestore --progress false: stderr %q", res.Stderr)
		}
		if progressOn == "true" && !strings.Contains(res.Stderr, "# Restoring ") {
			t.Errorf("gorestore --progress true: no progress on stderr: %q", res.Stderr)
		}
		for coll, want := range docs {
			compareDocs(t, db+"/"+coll, want, serverDocs(t, tg, db, coll), "_rev", "_id")
		}
	}
	db := uniqueDB(t, "rj")
	tg.dropAtEnd(t, db)
	res = mustRun(t, "gorestore", append(tg.serverArgs(db), jdir, "--create-database", "true", "--json", "true")...)
	var rs struct {
		Tool, Mode string
		OK         bool
		Restored   struct {
			Databases, Collections int
			Documents              int64
		}
	}
	if err := json.Unmarshal([]byte(res.Stdout), &rs); err != nil || rs.Tool != "gorestore" || rs.Mode != "restore" || !rs.OK ||
		rs.Restored.Databases != 1 || rs.Restored.Collections != len(sfColls) || rs.Restored.Documents != int64(total) {
		t.Errorf("gorestore --json: %v %+v: %s", err, rs, res)
	}

	// gorestore --list --json: every collection with its exact count; no server needed.
	res = mustRun(t, "gorestore", "--list", "true", "--json", "true", jdir)
	var ls struct {
		Mode      string
		Databases []struct {
			Collections []struct {
				Name      string
				Type      string
				Documents int64
			}
		}
	}
	if err := json.Unmarshal([]byte(res.Stdout), &ls); err != nil || ls.Mode != "list" || len(ls.Databases) != 1 {
		t.Fatalf("gorestore --list --json: %v %+v: %s", err, ls, res)
	}
	seen := 0
	for _, c := range ls.Databases[0].Collections {
		if n, ok := sfColls[c.Name]; ok {
			seen++
			if c.Documents != int64(n) || c.Type != "document" {
				t.Errorf("--list --json %s: %d documents of type %s, want %d document", c.Name, c.Documents, c.Type, n)
			}
		}
	}
	if seen != len(sfColls) {
		t.Errorf("--list --json lists %d of the %d collections: %s", seen, len(sfColls), res.Stdout)
	}
	// A damaged dump gives JSON with exit 3.
	bad := runTool(t, "gorestore", "--list", "true", "--json", "true", filepath.Join(t.TempDir(), "none"))
	var bs struct {
		OK       bool
		ExitCode int
		Error    string
	}
	if err := json.Unmarshal([]byte(bad.Stdout), &bs); err != nil || bad.Code == 0 || bs.OK || bs.ExitCode != bad.Code || bs.Error == "" {
		t.Errorf("gorestore --list --json on a missing directory: %v %+v: %s", err, bs, bad)
	}
}
