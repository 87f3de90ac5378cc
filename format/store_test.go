package format

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"sort"
	"sync"
	"testing"
)

// memStore is a Store in memory, for the Writer's object-store path (the real one is tested
// against SeaweedFS in objstore and e2e).
type memStore struct {
	mu      sync.Mutex
	files   map[string][]byte
	pending int
}

func (m *memStore) String() string          { return "mem://dump" }
func (m *memStore) Path(name string) string { return "mem://dump/" + name }
func (m *memStore) List() ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for n := range m.files {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}
func (m *memStore) WriteFile(name string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.files[name] = bytes.Clone(data)
	return nil
}
func (m *memStore) Create(name string) (StoreFile, error) {
	m.mu.Lock()
	m.pending++
	m.mu.Unlock()
	return &memFile{m: m, name: name}, nil
}
func (m *memStore) Open(name string) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.files[name]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}
func (m *memStore) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.files, name)
	return nil
}
func (m *memStore) Sync() error { return nil }

type memFile struct {
	m    *memStore
	name string
	buf  bytes.Buffer
}

func (f *memFile) Write(p []byte) (int, error) { return f.buf.Write(p) }
func (f *memFile) Commit() error {
	f.m.mu.Lock()
	f.m.pending--
	f.m.mu.Unlock()
	return f.m.WriteFile(f.name, f.buf.Bytes())
}
func (f *memFile) Abort() error {
	f.m.mu.Lock()
	f.m.pending--
	f.m.mu.Unlock()
	return nil
}

// TestStoreWriter: a dump into a Store: files appear at Commit only, the manifest is last,
// an interrupted dump in a store continues like one in a directory.
func TestStoreWriter(t *testing.T) {
	st := &memStore{files: map[string][]byte{}}
	settings := map[string]string{"compress-output": "true"}
	w, err := NewStoreWriter(st, WriterOptions{Database: "db", Settings: settings})
	if err != nil {
		t.Fatal(err)
	}
	f, err := w.CreateDataFile("a", -1, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("{\"_key\":\"1\"}\n")); err != nil {
		t.Fatal(err)
	}
	name := DataFileName("a", "", -1, true, false)
	if _, ok := st.files[name]; ok {
		t.Fatal("data file visible before Commit")
	}
	if _, err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	open, _ := w.CreateDataFile("b", -1, true) // left open: the run is killed
	_, _ = open.Write([]byte("{\"_key\":\"2\"}\n"))
	m, err := readManifestFrom(st)
	if err != nil || m == nil || m.Complete || len(m.Files) != 1 {
		t.Fatalf("manifest of the interrupted dump: %+v %v", m, err)
	}
	if err := verifyIn(st, m.Files[0]); err != nil {
		t.Fatal(err)
	}
	// continue: a is kept, b written, the manifest completes
	w2, err := NewStoreWriter(st, WriterOptions{Database: "db", Settings: settings, Continue: true})
	if err != nil {
		t.Fatal(err)
	}
	kept, err := w2.Keep(func(ManifestFile) bool { return true })
	if err != nil || len(kept) != 1 || kept[0].Collection != "a" {
		t.Fatalf("kept %+v %v", kept, err)
	}
	fb, _ := w2.CreateDataFile("b", -1, true)
	_, _ = fb.Write([]byte("{\"_key\":\"2\"}\n"))
	if _, err := fb.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := w2.Finish(); err != nil {
		t.Fatal(err)
	}
	m, _ = readManifestFrom(st)
	if !m.Complete || len(m.Files) != 2 || len(m.Runs) != 2 {
		t.Fatalf("final manifest %+v", m)
	}
	for _, mf := range m.Files {
		if err := verifyIn(st, mf); err != nil {
			t.Fatal(err)
		}
	}
	// a non-empty store is refused without overwrite
	if _, err := NewStoreWriter(st, WriterOptions{}); !errors.Is(err, ErrExists) {
		t.Fatalf("non-empty store: %v", err)
	}
}
