package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
