package format

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestManifestAfterConcurrentCommits: data files committed at once (a rewrite of the manifest
// may be skipped when another one already held the file) leave, before Finish, an unfinished
// manifest listing every one of them.
func TestManifestAfterConcurrentCommits(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter(dir, WriterOptions{Database: "db"})
	if err != nil {
		t.Fatal(err)
	}
	const files = 32
	var wg sync.WaitGroup
	errs := make(chan error, files)
	for i := 0; i < files; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := w.CreateDataFile(fmt.Sprintf("c%d", i), -1, i%2 == 0)
			if err == nil {
				_, err = f.Write([]byte(fmt.Sprintf("{\"_key\":\"%d\"}\n", i)))
			}
			if err == nil {
				_, err = f.Commit()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, ManifestFileName))
	if err != nil {
		t.Fatal(err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Complete || len(m.Files) != files {
		t.Fatalf("manifest before Finish: complete %v, %d file(s), want false and %d", m.Complete, len(m.Files), files)
	}
	for _, mf := range m.Files {
		if mf.Documents != 1 {
			t.Fatalf("manifest entry %+v: want 1 document", mf)
		}
	}
}
