package arangotest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"github.com/arangobackup/godump/internal/realdumps"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRestoreRealDumps replays the structure and data files of the real arangodump outputs in
// ../../shared/testdata/real-dumps (2.8 to 3.12, plain and envelope lines) through
// restore-collection, restore-indexes and restore-data, and checks the document counts.
// requireRealDumps: see realdumps.Require.
func requireRealDumps(t *testing.T) string { return realdumps.Require(t) }

func TestRestoreRealDumps(t *testing.T) {
	root := requireRealDumps(t)
	dirs, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		dir := filepath.Join(root, d.Name())
		t.Run(d.Name(), func(t *testing.T) {
			s := rtServer(t, Options{})
			structures, _ := filepath.Glob(filepath.Join(dir, "*.structure.json"))
			restored := 0
			for _, sf := range structures {
				raw, err := os.ReadFile(sf)
				if err != nil {
					t.Fatal(err)
				}
				var st struct {
					Parameters map[string]any `json:"parameters"`
				}
				if err := json.Unmarshal(raw, &st); err != nil {
					t.Fatalf("%s: %v", sf, err)
				}
				name, _ := st.Parameters["name"].(string)
				if name == "" || strings.HasPrefix(name, "_") {
					continue
				}
				r := rtDo(t, s, "PUT", "/_api/replication/restore-collection?overwrite=true", raw)
				rtStatus(t, r, 200, "restore-collection "+sf)
				r = rtDo(t, s, "PUT", "/_api/replication/restore-indexes", raw)
				rtStatus(t, r, 200, "restore-indexes "+sf)
				data, ok := readDumpData(t, dir, name)
				if !ok || (testing.Short() && len(data) > 8<<20) {
					continue
				}
				r = rtDo(t, s, "PUT", "/_api/replication/restore-data?collection="+name+"", data,
					"Content-Type", "application/x-arango-dump")
				rtStatus(t, r, 200, "restore-data "+name)
				want := expectedCount(data)
				c := s.store.Database("_system").Collection(name)
				if c.Count() != want {
					t.Fatalf("%s: %d documents restored, want %d", name, c.Count(), want)
				}
				restored += want
			}
			t.Logf("%s: %d collections, %d documents", d.Name(), len(structures), restored)
		})
	}
}

// readDumpData reads the (non-split) data file of a collection, plain or gzipped, with or
// without the md5 part in its name.
func readDumpData(t *testing.T, dir, name string) ([]byte, bool) {
	var files []string
	for _, pat := range []string{name + ".data.json*", name + "_*.data.json*"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		files = append(files, m...)
	}
	for _, f := range files {
		rest := strings.TrimPrefix(filepath.Base(f), name)
		if strings.Count(rest, "_") > 1 || strings.Count(rest, ".") > 3 { // another collection or a split file
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if strings.HasSuffix(f, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if raw, err = io.ReadAll(zr); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
		}
		return raw, true
	}
	return nil, false
}

// expectedCount computes the number of documents a data file leaves behind (last marker per
// key wins).
func expectedCount(data []byte) int {
	alive := map[string]bool{}
	for _, l := range bytes.Split(data, []byte{'\n'}) {
		if len(bytes.TrimSpace(l)) <= 1 {
			continue
		}
		var m map[string]any
		if json.Unmarshal(l, &m) != nil {
			continue
		}
		if k, ok := m["_key"].(string); ok {
			alive[k] = true
			continue
		}
		typ, _ := m["type"].(float64)
		dm, _ := m["data"].(map[string]any)
		switch typ {
		case 2300, 2301:
			if k, ok := dm["_key"].(string); ok {
				alive[k] = true
			}
		case 2302:
			k, ok := dm["_key"].(string)
			if !ok {
				k, _ = m["key"].(string)
			}
			delete(alive, k)
		}
	}
	return len(alive)
}
