package physical

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arangobackup/godump/datadir"
)

// TestMain lets the test binary hold a data directory's lock as another
// process would (PHYSICAL_TEST_HOLD=<dir>), until stdin closes.
func TestMain(m *testing.M) {
	if dir := os.Getenv("PHYSICAL_TEST_HOLD"); dir != "" {
		l, err := datadir.Lock(dir)
		if err != nil {
			os.Stderr.WriteString(err.Error())
			os.Exit(1)
		}
		os.Stdout.WriteString("ready\n")
		io.Copy(io.Discard, os.Stdin)
		l.Unlock()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func holdLock(t *testing.T, dir string) (pid int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PHYSICAL_TEST_HOLD="+dir)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		cmd.Process.Kill()
		t.Fatalf("lock holder: %q %v", line, err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	return cmd.Process.Pid
}

// makeDataDir builds something shaped like an arangod data directory.
func makeDataDir(t *testing.T, dir string) {
	t.Helper()
	write := func(rel string, data []byte, mode os.FileMode) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
	}
	big := make([]byte, 3<<20+17)
	for i := range big {
		big[i] = byte(i*7 + i/4096)
	}
	write("ENGINE", []byte("rocksdb"), 0o600)
	write("SERVER", []byte(`{"serverId":"123"}`), 0o644)
	write("engine-rocksdb/000012.sst", big, 0o644)
	write("engine-rocksdb/CURRENT", []byte("MANIFEST-000010\n"), 0o644)
	write("engine-rocksdb/empty.log", nil, 0o600)
	write("journals/run.sh", []byte("#!/bin/sh\n"), 0o755)
	// A hot backup inside the data directory: hard links to live files.
	if err := os.MkdirAll(filepath.Join(dir, "backups/2026-11-25T17.00.00Z_x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(dir, "engine-rocksdb/000012.sst"), filepath.Join(dir, "backups/2026-11-25T17.00.00Z_x/000012.sst")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("engine-rocksdb/CURRENT", filepath.Join(dir, "current-link")); err != nil {
		t.Fatal(err)
	}
	// A read-only directory with a file in it.
	write("ro/frozen", []byte("frozen"), 0o400)
	os.Chmod(filepath.Join(dir, "ro"), 0o500)
	t.Cleanup(func() { os.Chmod(filepath.Join(dir, "ro"), 0o700) })
	old := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	os.Chtimes(filepath.Join(dir, "ENGINE"), old, old)
	// A stale LOCK of a crashed server: must not be copied.
	write("LOCK", []byte("999999"), 0o600)
}

type node struct {
	mode    fs.FileMode
	content string // sha256 for files, target for symlinks
	mtime   time.Time
	ino     [2]uint64
}

// tree describes a directory for comparison (without LOCK).
func tree(t *testing.T, root string) map[string]node {
	t.Helper()
	out := map[string]node{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "LOCK" {
			return nil
		}
		fi, _ := os.Lstat(p)
		n := node{mode: fi.Mode()}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			n.content, _ = os.Readlink(p)
		case fi.Mode().IsRegular():
			data, _ := os.ReadFile(p)
			s := sha256.Sum256(data)
			n.content = hex.EncodeToString(s[:])
			n.mtime = fi.ModTime()
		}
		out[filepath.ToSlash(rel)] = n
		return nil
	})
	return out
}

func compareTrees(t *testing.T, want, got map[string]node) {
	t.Helper()
	for p, w := range want {
		g, ok := got[p]
		if !ok {
			t.Errorf("%s missing", p)
			continue
		}
		if g.mode != w.mode || g.content != w.content || !g.mtime.Equal(w.mtime) {
			t.Errorf("%s: got %v %s %v, want %v %s %v", p, g.mode, g.content, g.mtime, w.mode, w.content, w.mtime)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s extra", p)
		}
	}
}

func TestBackupRestoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	src := filepath.Join(tmp, "data")
	makeDataDir(t, src)
	want := tree(t, src)
	out := filepath.Join(tmp, "backup")
	res, err := Backup(ctx, BackupOptions{DataDirs: []string{src}, Output: out})
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 7 || res.Bytes != 3<<20+17+7+18+16+10+6 {
		t.Errorf("backup: %d files, %d bytes", res.Files, res.Bytes)
	}
	// The stale LOCK was replaced by ours during the copy and removed after.
	if _, err := os.Stat(filepath.Join(src, "LOCK")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LOCK left in the data directory: %v", err)
	}
	m, err := ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]Entry{}
	for _, e := range m.DataDirs[0].Entries {
		byPath[e.Path] = e
	}
	if _, ok := byPath["LOCK"]; ok {
		t.Error("LOCK is in the manifest")
	}
	// Lexical order: the name under backups/ comes first and holds the data.
	if e := byPath["engine-rocksdb/000012.sst"]; e.Type != TypeHardlink || e.LinkTo != "backups/2026-11-25T17.00.00Z_x/000012.sst" {
		t.Errorf("hard link entry %+v", e)
	}
	if e := byPath["backups/2026-11-25T17.00.00Z_x/000012.sst"]; e.SHA256 != want["engine-rocksdb/000012.sst"].content || e.Mode != "0644" || e.Size != 3<<20+17 {
		t.Errorf("sst entry %+v", e)
	}
	if e := byPath["current-link"]; e.Type != TypeSymlink || e.Target != "engine-rocksdb/CURRENT" {
		t.Errorf("symlink entry %+v", e)
	}
	// The copy itself is a faithful tree (hard link kept as one inode).
	bdir := filepath.Join(out, "datadir-0")
	compareTrees(t, want, tree(t, bdir))
	a, _ := os.Stat(filepath.Join(bdir, "engine-rocksdb/000012.sst"))
	b, _ := os.Stat(filepath.Join(bdir, "backups/2026-11-25T17.00.00Z_x/000012.sst"))
	if !os.SameFile(a, b) {
		t.Error("hard link became two files in the backup")
	}
	if _, err := Verify(ctx, out, 2, nil); err != nil {
		t.Fatalf("verify: %v", err)
	}

	dst := filepath.Join(tmp, "restored")
	rr, err := Restore(ctx, RestoreOptions{Input: out, DataDirs: []string{dst}})
	if err != nil {
		t.Fatal(err)
	}
	if rr.Files != res.Files {
		t.Errorf("restored %d files, backed up %d", rr.Files, res.Files)
	}
	compareTrees(t, want, tree(t, dst))
	a, _ = os.Stat(filepath.Join(dst, "engine-rocksdb/000012.sst"))
	b, _ = os.Stat(filepath.Join(dst, "backups/2026-11-25T17.00.00Z_x/000012.sst"))
	if !os.SameFile(a, b) {
		t.Error("hard link not restored")
	}
	if _, err := os.Stat(filepath.Join(dst, "LOCK")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("restore left a LOCK: %v", err)
	}
	os.Chmod(filepath.Join(dst, "ro"), 0o700)
	os.Chmod(filepath.Join(bdir, "ro"), 0o700)

	// Non-empty target: refused, then allowed with Overwrite.
	os.WriteFile(filepath.Join(dst, "ENGINE"), []byte("changed"), 0o600)
	if _, err := Restore(ctx, RestoreOptions{Input: out, DataDirs: []string{dst}}); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("restore into non-empty: %v", err)
	}
	if data, _ := os.ReadFile(filepath.Join(dst, "ENGINE")); string(data) != "changed" {
		t.Error("refused restore changed the target")
	}
	os.WriteFile(filepath.Join(dst, "stray"), []byte("x"), 0o600)
	if _, err := Restore(ctx, RestoreOptions{Input: out, DataDirs: []string{dst}, Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	compareTrees(t, want, tree(t, dst))
	os.Chmod(filepath.Join(dst, "ro"), 0o700)

	// Wrong number of data directories.
	if _, err := Restore(ctx, RestoreOptions{Input: out, DataDirs: []string{filepath.Join(tmp, "a"), filepath.Join(tmp, "b")}}); err == nil || !strings.Contains(err.Error(), "holds 1 data directories") {
		t.Fatalf("two targets for one dir: %v", err)
	}
	// Output not empty: refused; Overwrite replaces a previous backup.
	if _, err := Backup(ctx, BackupOptions{DataDirs: []string{src}, Output: out}); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("backup into non-empty: %v", err)
	}
	if _, err := Backup(ctx, BackupOptions{DataDirs: []string{src}, Output: out, Overwrite: true}); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptionDetected(t *testing.T) {
	ctx := context.Background()
	for name, corrupt := range map[string]func(bdir string) string{
		"flipped byte": func(bdir string) string {
			p := filepath.Join(bdir, "journals/run.sh")
			data, _ := os.ReadFile(p)
			data[3] ^= 1
			os.WriteFile(p, data, 0o755)
			return p
		},
		"truncated": func(bdir string) string {
			p := filepath.Join(bdir, "SERVER")
			os.Truncate(p, 3)
			return p
		},
		"missing": func(bdir string) string {
			p := filepath.Join(bdir, "engine-rocksdb/CURRENT")
			os.Remove(p)
			return p
		},
		"added": func(bdir string) string {
			p := filepath.Join(bdir, "engine-rocksdb/000099.sst")
			os.WriteFile(p, []byte("x"), 0o644)
			return p
		},
		"hard link broken and changed": func(bdir string) string {
			p := filepath.Join(bdir, "engine-rocksdb/000012.sst")
			os.Remove(p)
			os.WriteFile(p, bytes.Repeat([]byte{1}, 3<<20+17), 0o644)
			return p
		},
	} {
		t.Run(name, func(t *testing.T) {
			tmp := t.TempDir()
			src := filepath.Join(tmp, "data")
			makeDataDir(t, src)
			out := filepath.Join(tmp, "backup")
			if _, err := Backup(ctx, BackupOptions{DataDirs: []string{src}, Output: out}); err != nil {
				t.Fatal(err)
			}
			bdir := filepath.Join(out, "datadir-0")
			bad := corrupt(bdir)
			dst := filepath.Join(tmp, "restored")
			_, err := Restore(ctx, RestoreOptions{Input: out, DataDirs: []string{dst}})
			var me *MismatchError
			if !errors.Is(err, ErrMismatch) || !errors.As(err, &me) || me.File != bad {
				t.Fatalf("got %v, want a mismatch naming %s", err, bad)
			}
			if names, _ := readDirNames(dst); len(names) != 0 {
				t.Errorf("target changed although verification failed: %v", names)
			}
			os.Chmod(filepath.Join(bdir, "ro"), 0o700)
		})
	}
}

func TestRefusesLockedDirectory(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	src := filepath.Join(tmp, "data")
	makeDataDir(t, src)
	os.Remove(filepath.Join(src, "LOCK"))
	pid := holdLock(t, src) // a "server" in another process
	out := filepath.Join(tmp, "backup")
	_, err := Backup(ctx, BackupOptions{DataDirs: []string{src}, Output: out})
	var le *datadir.LockedError
	if !errors.As(err, &le) || le.PID != pid {
		t.Fatalf("backup of a locked dir: %v, want LockedError with pid %d", err, pid)
	}
	if !strings.Contains(err.Error(), "is a server running on it") {
		t.Errorf("message does not say what to do: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, ManifestName)); !errors.Is(err, fs.ErrNotExist) {
		t.Error("a manifest was written for a refused backup")
	}

	// In-process holder (an in-process test server): refused as well.
	src2 := filepath.Join(tmp, "data2")
	makeDataDir(t, src2)
	os.Remove(filepath.Join(src2, "LOCK"))
	l, err := datadir.Lock(src2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Backup(ctx, BackupOptions{DataDirs: []string{src2}, Output: filepath.Join(tmp, "b2")}); !errors.As(err, &le) {
		t.Fatalf("backup while locked in-process: %v", err)
	}
	// Restore into a locked directory is refused too.
	l.Unlock()
	if _, err := Backup(ctx, BackupOptions{DataDirs: []string{src2}, Output: filepath.Join(tmp, "b3")}); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(tmp, "target")
	os.Mkdir(target, 0o700)
	holdLock(t, target)
	if _, err := Restore(ctx, RestoreOptions{Input: filepath.Join(tmp, "b3"), DataDirs: []string{target}}); !errors.As(err, &le) {
		t.Fatalf("restore into a locked dir: %v", err)
	}
	os.Chmod(filepath.Join(tmp, "b3/datadir-0/ro"), 0o700)
	os.Chmod(filepath.Join(tmp, "b/datadir-0/ro"), 0o700)
}

func TestSeveralDataDirsAndLink(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	var srcs, dsts []string
	var wants []map[string]node
	for _, n := range []string{"agent", "dbserver", "coordinator"} {
		d := filepath.Join(tmp, n)
		makeDataDir(t, d)
		os.WriteFile(filepath.Join(d, "ROLE"), []byte(n), 0o600)
		srcs = append(srcs, d)
		dsts = append(dsts, filepath.Join(tmp, "r-"+n))
		wants = append(wants, tree(t, d))
	}
	out := filepath.Join(tmp, "backup")
	res, err := Backup(ctx, BackupOptions{DataDirs: srcs, Output: out, Link: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Linked != res.Files {
		t.Errorf("linked %d of %d files on one file system", res.Linked, res.Files)
	}
	a, _ := os.Stat(filepath.Join(srcs[1], "ENGINE"))
	b, _ := os.Stat(filepath.Join(out, "datadir-1/ENGINE"))
	if !os.SameFile(a, b) {
		t.Error("--link did not hard-link")
	}
	if _, err := Restore(ctx, RestoreOptions{Input: out, DataDirs: dsts}); err != nil {
		t.Fatal(err)
	}
	for i := range dsts {
		compareTrees(t, wants[i], tree(t, dsts[i]))
		if role, _ := os.ReadFile(filepath.Join(dsts[i], "ROLE")); string(role) != filepath.Base(srcs[i]) {
			t.Errorf("%s got ROLE %q", dsts[i], role)
		}
	}
	// Restore copies, never links: the restored files are independent.
	a, _ = os.Stat(filepath.Join(dsts[1], "ENGINE"))
	b, _ = os.Stat(filepath.Join(out, "datadir-1/ENGINE"))
	if os.SameFile(a, b) {
		t.Error("restore hard-linked the backup into the data directory")
	}
	// A server rewriting a linked file in place changes the backup: caught.
	os.WriteFile(filepath.Join(srcs[0], "SERVER"), []byte(`{"serverId":"456"}`), 0o644)
	if _, err := Verify(ctx, out, 2, nil); !errors.Is(err, ErrMismatch) {
		t.Fatalf("verify after in-place change of a linked file: %v", err)
	}
	for _, d := range append(append(srcs, dsts...), filepath.Join(out, "datadir-0"), filepath.Join(out, "datadir-1"), filepath.Join(out, "datadir-2")) {
		os.Chmod(filepath.Join(d, "ro"), 0o700)
	}
}

func TestHostileManifest(t *testing.T) {
	for name, entries := range map[string][]Entry{
		"escape":        {{Path: ".", Type: TypeDir, Mode: "0700"}, {Path: "../evil", Type: TypeFile, Mode: "0600", SHA256: strings.Repeat("a", 64)}},
		"absolute":      {{Path: ".", Type: TypeDir, Mode: "0700"}, {Path: "/etc/passwd", Type: TypeFile, Mode: "0600", SHA256: strings.Repeat("a", 64)}},
		"dangling link": {{Path: ".", Type: TypeDir, Mode: "0700"}, {Path: "x", Type: TypeHardlink, LinkTo: "nope"}},
		"bad mode":      {{Path: ".", Type: TypeDir, Mode: "99"}},
		"no checksum":   {{Path: ".", Type: TypeDir, Mode: "0700"}, {Path: "f", Type: TypeFile, Mode: "0600"}},
		"through symlink": {{Path: ".", Type: TypeDir, Mode: "0700"}, {Path: "etc", Type: TypeSymlink, Target: "/etc"},
			{Path: "etc/passwd", Type: TypeFile, Mode: "0600", SHA256: strings.Repeat("a", 64)}},
		"parent missing": {{Path: ".", Type: TypeDir, Mode: "0700"}, {Path: "a/b", Type: TypeDir, Mode: "0700"}},
		"twice":          {{Path: ".", Type: TypeDir, Mode: "0700"}, {Path: "a", Type: TypeDir, Mode: "0700"}, {Path: "a", Type: TypeSymlink, Target: "/"}},
		"no root":        {{Path: "a", Type: TypeDir, Mode: "0700"}},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			m := Manifest{Format: Format, FormatVersion: FormatVersion, DataDirs: []DataDir{{Dir: "datadir-0", Entries: entries}}}
			data, _ := json.Marshal(m)
			os.WriteFile(filepath.Join(dir, ManifestName), data, 0o644)
			if _, err := ReadManifest(dir); !errors.Is(err, ErrBadManifest) {
				t.Fatalf("got %v, want ErrBadManifest", err)
			}
		})
	}
	if _, err := ReadManifest(t.TempDir()); !errors.Is(err, ErrBadManifest) || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("no manifest: %v", err)
	}
}

// FuzzReadManifest: whatever a manifest holds, an accepted one only names
// paths inside its data directory, each below a directory listed before it.
func FuzzReadManifest(f *testing.F) {
	good, _ := json.Marshal(Manifest{Format: Format, FormatVersion: FormatVersion, DataDirs: []DataDir{{Dir: "datadir-0", Entries: []Entry{
		{Path: ".", Type: TypeDir, Mode: "0700"}, {Path: "a", Type: TypeDir, Mode: "0755"},
		{Path: "a/f", Type: TypeFile, Mode: "0644", Size: 3, SHA256: strings.Repeat("0", 64)},
		{Path: "a/g", Type: TypeHardlink, LinkTo: "a/f"}, {Path: "l", Type: TypeSymlink, Target: "a/f"}}}}})
	f.Add(good)
	f.Add([]byte(`{"format":"godump-physical-backup","formatVersion":1,"dataDirs":[{"dir":"../x","entries":[]}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest("fuzz.json", data)
		if err != nil {
			return
		}
		for _, d := range m.DataDirs {
			if !filepath.IsLocal(filepath.FromSlash(d.Dir)) {
				t.Fatalf("accepted data directory %q", d.Dir)
			}
			dirs := map[string]bool{}
			for _, e := range d.Entries {
				if e.Path != "." && (!filepath.IsLocal(filepath.FromSlash(e.Path)) || !dirs[path.Dir(e.Path)]) {
					t.Fatalf("accepted entry %q", e.Path)
				}
				if e.Type == TypeDir {
					dirs[e.Path] = true
				}
			}
		}
	})
}
