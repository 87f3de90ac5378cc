package format

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readAll opens a dump and reads every line of every collection, returning
// the first error.
func readAll(dir string) error {
	d, err := Open(dir)
	if err != nil {
		return err
	}
	for _, db := range d.Databases {
		for _, c := range db.Collections {
			r, err := c.OpenData()
			if err != nil {
				return err
			}
			for r.Next() {
			}
			r.Close()
			if err := r.Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

// readAllBatches is readAll through ReadBatch.
func readAllBatches(dir string, size int) error {
	d, err := Open(dir)
	if err != nil {
		return err
	}
	for _, db := range d.Databases {
		for _, c := range db.Collections {
			r, err := c.OpenData()
			if err != nil {
				return err
			}
			for {
				_, err := r.ReadBatch(size)
				if err == io.EOF {
					break
				}
				if err != nil {
					r.Close()
					return err
				}
			}
			r.Close()
		}
	}
	return nil
}

func TestHostileInput(t *testing.T) {
	c := "c_4a8a08f09d37b73795649038408b5f33"
	cases := []struct {
		dir      string
		sentinel error
		file     string // base name named by the error
		line     int
		text     string
	}{
		// Python's zlib.decompressobj(31) gets 101 complete lines out of the
		// truncated stream: line 102 is the first one not intact.
		{"truncated-gzip", ErrCorrupt, c + ".data.json.gz", 102, "unexpected EOF"},
		{"corrupt-gzip", ErrCorrupt, c + ".data.json.gz", 1, "corrupt"},
		{"invalid-json-line", ErrInvalidJSON, c + ".data.json", 4, "expected string key"},
		{"invalid-json-line-gz", ErrInvalidJSON, c + ".data.json.gz", 3, "unexpected end of line"},
		{"not-an-object-line", ErrInvalidJSON, c + ".data.json", 2, "not a JSON object"},
		{"structure-without-name", ErrNoName, c + ".structure.json", 0, "no collection name"},
		{"dotdot-name", ErrUnsafeName, c + ".structure.json", 0, `"../../etc/passwd"`},
		{"slash-name", ErrUnsafeName, c + ".structure.json", 0, `"a/b"`},
		{"dotdot-id", ErrUnsafeName, "x_9dd4e461268c8034f5c8564e155c67a6.structure.json", 0, `id "../x"`},
		{"encrypted", ErrEncrypted, "ENCRYPTION", 0, "encrypted dumps are not supported"},
		{"invalid-dump-json", ErrInvalidJSON, "dump.json", 3, "invalid character ','"},
		{"invalid-structure", ErrInvalidJSON, c + ".structure.json", 3, "unexpected end of JSON input"},
		{"hostile-manifest", ErrUnsafeName, "godump-manifest.json", 0, "../../etc/passwd"},
	}
	for _, tc := range cases {
		t.Run(tc.dir, func(t *testing.T) {
			dir := filepath.Join("testdata", "hostile", tc.dir)
			for mode, err := range map[string]error{"lines": readAll(dir), "batches": readAllBatches(dir, 64)} {
				if err == nil {
					t.Fatalf("%s: no error", mode)
				}
				msg := err.Error()
				if !errors.Is(err, tc.sentinel) {
					t.Errorf("%s: %q is not %v", mode, msg, tc.sentinel)
				}
				var fe *Error
				if !errors.As(err, &fe) {
					t.Fatalf("%s: %q is not *Error", mode, msg)
				}
				if filepath.Base(fe.File) != tc.file || fe.Line != tc.line {
					t.Errorf("%s: error at %s line %d, want %s line %d (%s)", mode, filepath.Base(fe.File), fe.Line, tc.file, tc.line, msg)
				}
				want := filepath.Join(dir, tc.file)
				if tc.line > 0 {
					want = fmt.Sprintf("%s line %d", want, tc.line)
				}
				if !strings.Contains(msg, want) || !strings.Contains(msg, tc.text) {
					t.Errorf("%s: message %q lacks %q or %q", mode, msg, want, tc.text)
				}
			}
		})
	}
}

func TestSymlinkOutside(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte(`{"_key":"x"}`), 0o644)
	os.WriteFile(filepath.Join(dir, "ENCRYPTION"), []byte("none"), 0o644)
	os.WriteFile(filepath.Join(dir, "c_4a8a08f09d37b73795649038408b5f33.structure.json"), []byte(`{"parameters":{"name":"c","type":2}}`), 0o644)
	link := filepath.Join(dir, "c_4a8a08f09d37b73795649038408b5f33.data.json")
	if err := os.Symlink(filepath.Join(outside, "secret"), link); err != nil {
		t.Skip(err)
	}
	_, err := Open(dir)
	var fe *Error
	if !errors.Is(err, ErrUnsafeName) || !errors.As(err, &fe) || fe.File != link {
		t.Fatalf("got %v", err)
	}
	// A symlink inside the dump is fine.
	os.Remove(link)
	os.WriteFile(filepath.Join(dir, "real"), []byte("{\"_key\":\"x\"}\n"), 0o644)
	os.Symlink("real", link)
	if err := readAll(dir); err != nil {
		t.Fatal(err)
	}
	// An all-databases subdirectory symlinked outside is refused.
	all := t.TempDir()
	os.Symlink(dir, filepath.Join(all, "db1"))
	if _, err := Open(all); !errors.Is(err, ErrUnsafeName) {
		t.Fatalf("symlinked database directory: got %v", err)
	}
}
