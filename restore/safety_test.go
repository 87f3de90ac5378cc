package restore

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arangobackup/godump/format"
)

// safetyDump writes a dump of collections a and b with a godump manifest; big makes a's
// data span many batches. It returns the data file name of a collection.
func safetyDump(t *testing.T, dir string, complete bool, docsOfA int, recordedA int) func(string) string {
	t.Helper()
	var a strings.Builder
	for i := 0; i < docsOfA; i++ {
		fmt.Fprintf(&a, `{"_key":"k%d","pad":"%s"}`+"\n", i, strings.Repeat("x", 40))
	}
	b := `{"_key":"1"}` + "\n"
	writeTestDump(t, dir, map[string]string{"a": `{"name":"a","type":2}`, "b": `{"name":"b","type":2}`},
		map[string]string{"a": a.String(), "b": b}, nil)
	name := testDataFileName
	sha := sha256Hex
	man := fmt.Sprintf(`{"format":1,"tool":"godump","database":"src","complete":%v,"files":[
		{"name":%q,"collection":"a","part":-1,"size":%d,"documents":%d,"sha256":%q},
		{"name":%q,"collection":"b","part":-1,"size":%d,"documents":1,"sha256":%q}]}`,
		complete, name("a"), a.Len(), recordedA, sha(a.String()), name("b"), len(b), sha(b))
	if err := os.WriteFile(filepath.Join(dir, format.ManifestFileName), []byte(man), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestIncompleteManifestRefused: an unfinished godump dump is bad input (exit 3) before
// anything is sent; with Force the plan names what is missing.
func TestIncompleteManifestRefused(t *testing.T) {
	dir := t.TempDir()
	safetyDump(t, dir, false, 3, 3)
	// c was not written yet: a structure file, no data file, no manifest entry.
	writeTestDump(t, dir, map[string]string{"c": `{"name":"c","type":2}`}, nil, nil)
	opts := DefaultOptions()
	opts.InputDirectory = dir
	f := newFakeServer(t)
	_, err := Run(context.Background(), f.conn(t), opts, nil)
	if !errors.Is(err, format.ErrIncomplete) || !isBadInput(err) || !strings.Contains(err.Error(), "not written: c") {
		t.Fatalf("want an incomplete-dump error naming c, got %v", err)
	}
	if len(f.calls) != 0 {
		t.Errorf("requests sent for a refused dump: %v", f.calls)
	}
	opts.Force = true
	sum, err := Run(context.Background(), f.conn(t), opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Incomplete) != 1 || sum.Incomplete[0] != "_system.c (not written)" {
		t.Errorf("summary's incomplete collections: %q", sum.Incomplete)
	}
	if len(f.lines["a"]) != 3 || len(f.lines["b"]) != 1 {
		t.Errorf("--force restored a %d, b %d lines", len(f.lines["a"]), len(f.lines["b"]))
	}
}

// TestManifestCountChecked: documents sent per file must match the manifest, also when a
// resumed restore sends only the batches an earlier run had not.
func TestManifestCountChecked(t *testing.T) {
	dir := t.TempDir()
	name := safetyDump(t, dir, true, 20000, 20001)
	opts := DefaultOptions()
	opts.InputDirectory = dir
	opts.BatchSize = MinBatchSize
	f := newFakeServer(t)
	_, err := Run(context.Background(), f.conn(t), opts, nil)
	want := fmt.Sprintf(`collection "a": godump-manifest.json records 20001 document(s) in %s, 20000 were sent`, name("a"))
	if !isBadInput(err) || !strings.Contains(err.Error(), want) {
		t.Fatalf("want %q, got %v", want, err)
	}
	if len(f.lines["a"]) != 20000 || len(f.lines["b"]) != 1 {
		t.Errorf("sent a %d, b %d lines", len(f.lines["a"]), len(f.lines["b"]))
	}

	// A resumed restore counts what the earlier run had acknowledged.
	dir = t.TempDir()
	safetyDump(t, dir, true, 20000, 20000)
	opts.InputDirectory = dir
	f = newFakeServer(t)
	f.failData["a"], f.failAfter["a"] = 409, 3
	opts.Threads = 1
	if _, err := Run(context.Background(), f.conn(t), opts, nil); err == nil {
		t.Fatal("no error from the failing server")
	}
	first := len(f.lines["a"])
	if first == 0 || first >= 20000 {
		t.Fatalf("first run sent %d lines of a", first)
	}
	delete(f.failData, "a")
	opts.Continue = true
	sum, err := Run(context.Background(), f.conn(t), opts, nil)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if len(f.lines["a"]) != 20000 || sum.Skipped == 0 {
		t.Errorf("after resume a has %d lines (%d skipped batches)", len(f.lines["a"]), sum.Skipped)
	}
}

// TestMissingDataWarnedOnce: without a manifest, a collection without a data file is
// restored empty with one warning; a database without any data file gets one line.
func TestMissingDataWarnedOnce(t *testing.T) {
	dir := t.TempDir()
	writeTestDump(t, dir, map[string]string{"a": `{"name":"a","type":2}`, "b": `{"name":"b","type":2}`},
		map[string]string{"a": `{"_key":"1"}` + "\n"}, nil)
	opts := DefaultOptions()
	opts.InputDirectory = dir
	p, err := BuildPlan(opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "collection b has no data file") || len(p.MissingData) != 1 || p.MissingData[0] != "_system.b" {
		t.Errorf("warnings %q, missing %q", p.Warnings, p.MissingData)
	}
	os.Remove(filepath.Join(dir, "a_"+fmt.Sprintf("%x", md5.Sum([]byte("a")))+".data.json"))
	if p, err = BuildPlan(opts); err != nil {
		t.Fatal(err)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "structure-only dump") || len(p.MissingData) != 0 {
		t.Errorf("structure-only: warnings %q, missing %q", p.Warnings, p.MissingData)
	}
}
