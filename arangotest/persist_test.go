package arangotest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arangobackup/godump/datadir"
)

func TestDataDirSurvivesRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, err := NewServer(Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			s.Close()
		}
	}()
	ep := s.Endpoint()
	if s.DataDir() == "" {
		t.Fatal("DataDir() is empty")
	}
	locked, pid, err := datadir.IsLocked(dir)
	if err != nil || !locked || pid != os.Getpid() {
		t.Fatalf("LOCK while running: locked=%v pid=%d err=%v", locked, pid, err)
	}
	// A second server on the same directory is refused.
	if s2, err := NewServer(Options{DataDir: dir}); err == nil {
		s2.Close()
		t.Fatal("a second server opened a locked data directory")
	} else if !errors.Is(err, datadir.ErrLocked) {
		t.Fatalf("second server: %v, want datadir.ErrLocked", err)
	}

	hbCreateDB(t, ep, "keep")
	hbMust(t, hbDo(t, ep, "POST", "/_db/keep/_api/collection", map[string]any{"name": "ai",
		"keyOptions": map[string]any{"type": "autoincrement", "increment": 5, "offset": 1}}), 200, "autoincrement collection")
	for i := 0; i < 20; i++ {
		hbInsert(t, ep, "keep", "ai", map[string]any{"n": i})
	}
	hbCreateColl(t, ep, "keep", "plain")
	for i := 0; i < 100; i++ {
		hbInsert(t, ep, "keep", "plain", map[string]any{"_key": fmt.Sprintf("k%d", i), "v": strings.Repeat("v", i)})
	}
	r := hbDo(t, ep, "POST", "/_db/keep/_api/index?collection=plain", map[string]any{"type": "persistent", "fields": []string{"v"}, "name": "byV"})
	hbOK(t, r, "index")
	hbMust(t, hbDo(t, ep, "POST", "/_api/user", map[string]any{"user": "bob", "passwd": "pw"}), 201, "user")
	// A hot backup, then more changes after it.
	id := hbBackup(t, ep, map[string]any{"label": "ondisk"})
	atBackup := s.testDigest()
	hbInsert(t, ep, "keep", "plain", map[string]any{"_key": "late", "v": "after the backup"})
	hbOK(t, hbDo(t, ep, "DELETE", "/_db/keep/_api/document/plain/k0", nil), "remove k0")
	want := s.testDigest()
	sid := s.singleID()

	// The backup is on disk, with META, and hard links where the data did not change.
	bdir := filepath.Join(dir, "backups", id)
	if _, err := readMeta(bdir); err != nil {
		t.Fatalf("backup directory %s: %v", bdir, err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	closed = true
	if locked, _, err := datadir.IsLocked(dir); err != nil || locked {
		t.Fatalf("LOCK after Close: locked=%v err=%v", locked, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "LOCK")); !os.IsNotExist(err) {
		t.Fatalf("LOCK file after Close: %v", err)
	}
	links := 0
	ents, _ := os.ReadDir(bdir)
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".jsonl") {
			continue
		}
		a, err1 := os.Stat(filepath.Join(bdir, e.Name()))
		b, err2 := os.Stat(filepath.Join(dir, engineDirName, e.Name()))
		if err1 == nil && err2 == nil && os.SameFile(a, b) {
			links++
		}
	}
	if links == 0 {
		t.Fatal("no data file of the backup is a hard link of the live data directory")
	}

	// Restart: everything is back.
	s, err = NewServer(Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	closed = false
	ep = s.Endpoint()
	s.store.backups().restartDelay.Store(int64(200 * time.Millisecond))
	if got := s.testDigest(); got != want {
		t.Fatalf("state after restart differs: %s", firstDiff(want, got))
	}
	if s.singleID() != sid {
		t.Fatalf("server id changed over the restart: %s -> %s", sid, s.singleID())
	}
	if l := hbDo(t, ep, "POST", "/_admin/backup/list", nil).result(t)["list"].(map[string]any); l[id] == nil {
		t.Fatalf("backup %s not listed after restart: %v", id, l)
	}
	// The key generator continues: autoincrement keys go on from 1+5*19.
	r = hbDo(t, ep, "POST", "/_db/keep/_api/document/ai", map[string]any{"n": 20})
	hbOK(t, r, "insert after restart")
	if k := r.obj(t)["_key"]; k != "101" {
		t.Fatalf("autoincrement key after restart %v, want 101", k)
	}
	hbMust(t, hbDo(t, ep, "GET", "/_api/user/bob", nil), 200, "user after restart")
	hbMust(t, hbDo(t, ep, "GET", "/_db/keep/_api/index/plain/byV", nil), 200, "index after restart")

	// Restore the on-disk backup, restart again: the restored state is what comes back.
	hbMust(t, hbDo(t, ep, "POST", "/_admin/backup/restore", map[string]any{"id": id}), 200, "restore")
	waitAvailable(t, ep)
	if got := s.testDigest(); got != atBackup {
		t.Fatalf("state after restoring the on-disk backup differs: %s", firstDiff(atBackup, got))
	}
	if _, err := os.Stat(filepath.Join(dir, "backups", failsafeName, manifestName)); err != nil {
		t.Fatalf("no FAILSAFE after restore: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	s, err = NewServer(Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	closed = false
	if got := s.testDigest(); got != atBackup {
		t.Fatalf("state after restore and restart differs: %s", firstDiff(atBackup, got))
	}
}

func TestDataDirDamaged(t *testing.T) {
	dir := t.TempDir()
	s, err := NewServer(Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	hbCreateColl(t, s.Endpoint(), "_system", "c")
	hbInsert(t, s.Endpoint(), "_system", "c", map[string]any{"_key": "a"})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Truncate the data file of collection c: the server refuses to start, naming the file.
	img, err := readImage(filepath.Join(dir, engineDirName))
	if err != nil {
		t.Fatal(err)
	}
	var file string
	for _, db := range img.Databases {
		for _, c := range db.Collections {
			if c.Name == "c" {
				file = c.File
			}
		}
	}
	p := filepath.Join(dir, engineDirName, file)
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(p, b[:len(b)-3], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = NewServer(Options{DataDir: dir})
	if err == nil || !strings.Contains(err.Error(), file) {
		t.Fatalf("damaged data file: err %v, want one naming %s", err, file)
	}
	// The failed start released the lock.
	if locked, _, _ := datadir.IsLocked(dir); locked {
		t.Fatal("a failed start left the data directory locked")
	}
}

func TestDataDirNotWithoutOption(t *testing.T) {
	s := hbServer(t, Options{})
	if s.DataDir() != "" {
		t.Fatalf("DataDir() = %q without the option", s.DataDir())
	}
}

// What a SIGKILL leaves behind: the state of the last flush. Copy the directory of a running
// server (as a crash would leave it, LOCK aside) after the flush interval and start on the copy.
func TestDataDirFlushSurvivesCrash(t *testing.T) {
	dir := t.TempDir()
	s := hbServer(t, Options{DataDir: dir})
	ep := s.Endpoint()
	hbCreateDB(t, ep, "crash")
	hbCreateColl(t, ep, "crash", "c")
	for i := 0; i < 30; i++ {
		hbInsert(t, ep, "crash", "c", map[string]any{"_key": fmt.Sprintf("k%d", i)})
	}
	want := s.testDigest()
	time.Sleep(flushInterval + time.Second)
	crashed := t.TempDir()
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if e.IsDir() {
			return os.MkdirAll(filepath.Join(crashed, rel), 0o755)
		}
		if rel == "LOCK" {
			return nil
		}
		return copyFile(p, filepath.Join(crashed, rel))
	})
	if err != nil {
		t.Fatal(err)
	}
	s2 := hbServer(t, Options{DataDir: crashed})
	if got := s2.testDigest(); got != want {
		t.Fatalf("state from the flushed directory differs: %s", firstDiff(want, got))
	}
}

func TestDataDirReleasedWhenListenFails(t *testing.T) {
	s := hbServer(t, Options{})
	dir := t.TempDir()
	addr := strings.TrimPrefix(s.Endpoint(), "http://")
	if _, err := NewServer(Options{DataDir: dir, Addr: addr}); err == nil {
		t.Fatal("NewServer on a busy port succeeded")
	}
	if locked, _, _ := datadir.IsLocked(dir); locked {
		t.Fatal("a failed start left the data directory locked")
	}
}
