package format

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestWriterModesIgnoreUmask: a dump may hold _users' password hashes, so every directory
// the Writer creates is 0700 and every file it writes 0600, whatever the umask: 0 would have
// left the old 0644/0755 as they were asked for, 0277 would have made the directory
// unwritable.
func TestWriterModesIgnoreUmask(t *testing.T) {
	for _, umask := range []int{0, 0o022, 0o277} {
		t.Run(fmt.Sprintf("umask%04o", umask), func(t *testing.T) {
			old := syscall.Umask(umask)
			defer syscall.Umask(old)
			root := filepath.Join(t.TempDir(), "out")
			dir := filepath.Join(root, "db") // two levels created, as --all-databases does
			w, err := NewWriter(dir, WriterOptions{Database: "_system"})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.WriteEncryption(); err != nil {
				t.Fatal(err)
			}
			if err := w.WriteDumpJSON(DumpMeta{Database: "_system"}); err != nil {
				t.Fatal(err)
			}
			if _, err := w.WriteStructure("_users", json.RawMessage(`{"name":"_users","type":2,"id":"7"}`), nil); err != nil {
				t.Fatal(err)
			}
			if _, err := w.WriteView("v", json.RawMessage(`{"name":"v","type":"arangosearch"}`)); err != nil {
				t.Fatal(err)
			}
			for _, compress := range []bool{true, false} {
				name := "_users"
				if !compress {
					name = "plain"
					if _, err := w.WriteStructure(name, json.RawMessage(`{"name":"plain","type":2,"id":"8"}`), nil); err != nil {
						t.Fatal(err)
					}
				}
				f, err := w.CreateDataFile(name, -1, compress)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.Write([]byte(`{"_key":"root","authData":{"simple":{"hash":"secret"}}}` + "\n")); err != nil {
					t.Fatal(err)
				}
				// the temporary, before it is renamed
				checkTreeModes(t, root, true)
				if _, err := f.Commit(); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Finish(); err != nil {
				t.Fatal(err)
			}
			n := checkTreeModes(t, root, false)
			if n < 7 { // ENCRYPTION, dump.json, 2 structures, view, 2 data files, manifest
				t.Errorf("only %d files written", n)
			}
		})
	}
}

// checkTreeModes fails on any directory under root (root included) that is not 0700 and
// any file that is not 0600; it returns the number of files. With temps, a temporary file
// must be among them.
func checkTreeModes(t *testing.T, root string, temps bool) int {
	t.Helper()
	files, sawTemp := 0, false
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		} else {
			files++
			sawTemp = sawTemp || strings.HasPrefix(d.Name(), tmpPrefix)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", p, fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if temps && !sawTemp {
		t.Errorf("no temporary file under %s", root)
	}
	return files
}

// TestOpenToOthers: a pre-created directory keeps its mode (it is the user's), and is
// reported when its group or other users can read or write it.
func TestOpenToOthers(t *testing.T) {
	for mode, want := range map[os.FileMode]bool{0o700: false, 0o711: false, 0o750: true, 0o755: true, 0o777: true, 0o703: true} {
		dir := filepath.Join(t.TempDir(), "d")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := NewWriter(dir, WriterOptions{}); err != nil {
			t.Fatal(err)
		}
		got, m := OpenToOthers(dir)
		if got != want || m != mode {
			t.Errorf("mode %04o: OpenToOthers = %v, %04o; want %v, %04o (and the mode unchanged)", mode, got, m, want, mode)
		}
	}
	if open, _ := OpenToOthers(filepath.Join(t.TempDir(), "missing")); open {
		t.Error("a missing directory is reported as open")
	}
}
