package format

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// writeInterrupted writes a dump with the given collections' files committed and one more
// left open (a run killed in the middle), plus a data file the manifest does not record.
func writeInterrupted(t *testing.T, dir string, settings map[string]string, colls ...string) {
	t.Helper()
	w, err := NewWriter(dir, WriterOptions{Database: "db", Settings: settings})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range colls {
		f, err := w.CreateDataFile(c, -1, true)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(`{"_key":"` + c + `"}` + "\n")); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	open, err := w.CreateDataFile("open", -1, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := open.Write([]byte(`{"_key":"x"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	// killed: neither Commit nor Abort; and a data file under a final name that no manifest
	// records (as a crash between rename and manifest rewrite would leave)
	if err := os.WriteFile(filepath.Join(dir, DataFileName("stray", "", -1, true, false)), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func collectionsOf(fs []ManifestFile) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Collection)
	}
	sort.Strings(out)
	return out
}

func TestContinueKeepsRecordedFiles(t *testing.T) {
	dir := t.TempDir()
	settings := map[string]string{"compress-output": "true"}
	writeInterrupted(t, dir, settings, "a", "b", "c")
	// damage b: it must be written again
	bName := DataFileName("b", "", -1, true, false)
	if err := os.WriteFile(filepath.Join(dir, bName), []byte("damaged"), 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(dir, WriterOptions{Database: "db", Settings: settings, Continue: true})
	if err != nil {
		t.Fatal(err)
	}
	r := w.Resumed()
	if r == nil || r.Runs != 1 {
		t.Fatalf("Resumed = %+v, want 1 earlier run", r)
	}
	if got := collectionsOf(r.Earlier); len(got) != 2 || got[0] != "a" || got[1] != "c" {
		t.Fatalf("earlier files kept: %v, want [a c]", got)
	}
	if len(r.Dropped) != 2 {
		t.Fatalf("dropped: %q, want the damaged b and the stray file", r.Dropped)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() == bName || e.Name() == DataFileName("stray", "", -1, true, false) || len(e.Name()) > len(tmpPrefix) && e.Name()[:len(tmpPrefix)] == tmpPrefix {
			t.Fatalf("%s left in the directory", e.Name())
		}
	}
	// the new run keeps a only (c is no longer dumped, say), writes b and open again
	kept, err := w.Keep(func(f ManifestFile) bool { return f.Collection == "a" })
	if err != nil {
		t.Fatal(err)
	}
	if got := collectionsOf(kept); len(got) != 1 || got[0] != "a" {
		t.Fatalf("kept %v, want [a]", got)
	}
	if _, err := os.Stat(filepath.Join(dir, DataFileName("c", "", -1, true, false))); !os.IsNotExist(err) {
		t.Fatalf("c's file not removed: %v", err)
	}
	if _, err := w.CreateDataFile("a", -1, true); err == nil {
		t.Fatal("a kept file could be created again")
	}
	for _, c := range []string{"b", "open"} {
		f, err := w.CreateDataFile(c, -1, true)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(`{"_key":"` + c + `2"}` + "\n")); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	m, _ := ReadManifest(dir)
	if m.Complete {
		t.Fatal("manifest complete before Finish")
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	m, err = ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Complete || len(m.Runs) != 2 || m.Runs[0].Run != 1 || m.Runs[1].Run != 2 {
		t.Fatalf("manifest: complete %v runs %+v", m.Complete, m.Runs)
	}
	runOf := map[string]int{}
	for i := range m.Files {
		runOf[m.Files[i].Collection] = m.RunOf(&m.Files[i])
	}
	if len(runOf) != 3 || runOf["a"] != 1 || runOf["b"] != 2 || runOf["open"] != 2 {
		t.Fatalf("files by run: %v, want a:1 b:2 open:2", runOf)
	}
	if err := VerifyManifest(dir, m); err != nil {
		t.Fatal(err)
	}
	if m.Settings["compress-output"] != "true" {
		t.Fatalf("settings %v", m.Settings)
	}
	// continuing a finished dump is refused
	if _, err := NewWriter(dir, WriterOptions{Settings: settings, Continue: true}); !errors.Is(err, ErrComplete) {
		t.Fatalf("continue a complete dump: %v, want ErrComplete", err)
	}
}

func TestContinueRefusals(t *testing.T) {
	dir := t.TempDir()
	writeInterrupted(t, dir, map[string]string{"compress-output": "true"}, "a")
	_, err := NewWriter(dir, WriterOptions{Settings: map[string]string{"compress-output": "false"}, Continue: true})
	if !errors.Is(err, ErrSettingsDiffer) {
		t.Fatalf("other settings: %v, want ErrSettingsDiffer", err)
	}
	if _, err := os.Stat(filepath.Join(dir, DataFileName("a", "", -1, true, false))); err != nil {
		t.Fatalf("a refused continue removed files: %v", err)
	}
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "x.structure.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewWriter(other, WriterOptions{Continue: true}); !errors.Is(err, ErrNothingToContinue) {
		t.Fatalf("no manifest: %v, want ErrNothingToContinue", err)
	}
	// an empty (or missing) directory starts a new dump
	fresh := filepath.Join(t.TempDir(), "new")
	w, err := NewWriter(fresh, WriterOptions{Continue: true})
	if err != nil || w.Resumed() != nil {
		t.Fatalf("empty directory: %v, resumed %+v", err, w.Resumed())
	}
}
