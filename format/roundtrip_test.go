package format

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
)

// genLines returns n document lines (each with '\n') with varied content.
func genLines(rng *rand.Rand, coll string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		pad := strings.Repeat("x", rng.Intn(300))
		out[i] = []byte(fmt.Sprintf(`{"_key":"k%d","_id":"%s/k%d","_rev":"_r%d","n":%d,"f":%g,"s":"é\"\\\u0001%s","a":[1,{"b":null}],"t":true}`+"\n",
			i, coll, i, i, rng.Int63(), rng.NormFloat64(), pad))
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	for _, cluster := range []bool{false, true} {
		t.Run(fmt.Sprintf("cluster=%v", cluster), func(t *testing.T) { testRoundTrip(t, cluster) })
	}
}

func testRoundTrip(t *testing.T, cluster bool) {
	dir := t.TempDir()
	w, err := NewWriter(dir, WriterOptions{Cluster: cluster, ToolVersion: "test-1", Database: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteEncryption(); err != nil {
		t.Fatal(err)
	}
	meta := DumpMeta{Database: "shop", CreatedAt: "2026-01-02T03:04:05Z", LastTickAtDumpStart: "99",
		Properties: json.RawMessage(`{"id":"91","name":"shop","isSystem":false}`)}
	if err := w.WriteDumpJSON(meta); err != nil {
		t.Fatal(err)
	}
	type spec struct {
		name     string
		typ      int
		params   string
		indexes  []string
		parts    []int // -1: not split
		compress bool
		lines    int
	}
	specs := []spec{
		{"customers", 2, `{"name":"customers","type":2,"cid":"100","numberOfShards":3,"replicationFactor":2,"writeConcern":1,"shardKeys":["_key"],"isSystem":false}`,
			[]string{`{"id":"7","type":"persistent","name":"byName","fields":["name"],"unique":false,"sparse":true}`,
				`{"id":"8","type":"geo","fields":["loc"],"geoJson":true}`}, []int{-1}, true, 3000},
		{"orders", 2, `{"name":"orders","type":2,"cid":"101","distributeShardsLike":"customers"}`, nil, []int{0, 1, 2}, true, 500},
		{"knows", 3, `{"name":"knows","type":3,"cid":"102","replicationFactor":"satellite"}`, []string{`{"id":"9","type":"ttl","fields":["at"],"expireAfter":60}`}, []int{-1}, false, 700},
		{"_graphs", 2, `{"name":"_graphs","type":2,"cid":"103","isSystem":true}`, nil, []int{0, 1}, false, 3},
		{"Ünïcode名", 2, `{"name":"Ünïcode名","type":2,"cid":"104"}`, nil, []int{-1}, true, 10},
		{"empty", 2, `{"name":"empty","type":2,"cid":"105"}`, nil, nil, true, 0},
	}
	rng := rand.New(rand.NewSource(1))
	wantLines := map[string][]byte{}
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for _, s := range specs {
		var idx []json.RawMessage
		for _, i := range s.indexes {
			idx = append(idx, json.RawMessage(i))
		}
		if _, err := w.WriteStructure(s.name, json.RawMessage(s.params), idx); err != nil {
			t.Fatal(err)
		}
		lines := genLines(rng, s.name, s.lines)
		wantLines[s.name] = bytes.Join(lines, nil)
		// Split the lines over the parts, each part written concurrently in
		// batches of many lines.
		for pi, part := range s.parts {
			var mine []byte
			for i := pi; i < len(lines); i += len(s.parts) {
				mine = append(mine, lines[i]...)
			}
			wg.Add(1)
			go func(name string, part int, compress bool, data []byte) {
				defer wg.Done()
				f, err := w.CreateDataFile(name, part, compress)
				if err != nil {
					errs <- err
					return
				}
				for len(data) > 0 {
					n := bytes.LastIndexByte(data[:min(len(data), 70000)], '\n') + 1
					if n == 0 {
						n = bytes.IndexByte(data, '\n') + 1
					}
					if _, err := f.Write(data[:n]); err != nil {
						errs <- err
						return
					}
					data = data[n:]
				}
				if _, err := f.Commit(); err != nil {
					errs <- err
				}
			}(s.name, part, s.compress, mine)
		}
	}
	// An aborted file leaves nothing behind.
	ab, err := w.CreateDataFile("customers", 7, true)
	if err != nil {
		t.Fatal(err)
	}
	ab.Write([]byte("{\"_key\":\"never\"}\n"))
	if err := ab.Abort(); err != nil {
		t.Fatal(err)
	}
	view := `{"id":"200","name":"search","type":"arangosearch","links":{"customers":{"fields":{"name":{"analyzers":["text_en"]}}}}}`
	if _, err := w.WriteView("search", json.RawMessage(view)); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Before Finish the manifest says the dump is unfinished and lists every data file
	// committed so far: an interrupted dump is recognisable, and what it holds is named.
	if m, err := ReadManifest(dir); err != nil || m == nil || m.Complete || len(m.Files) != len(w.Files()) || len(m.Files) == 0 {
		t.Fatalf("manifest before Finish: %+v %v (want complete=false with the %d committed files)", m, err, len(w.Files()))
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}

	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Warnings) > 0 {
		t.Errorf("warnings: %q", d.Warnings)
	}
	db := d.Databases[0]
	if db.Name != "shop" || db.Encryption != "none" || db.Meta.CreatedAt != meta.CreatedAt || db.Meta.LastTickAtDumpStart != "99" ||
		!db.Meta.HasUseEnvelope || db.Meta.UseEnvelope || db.Meta.UseVPack {
		t.Errorf("meta: %q %q %+v", db.Name, db.Encryption, db.Meta)
	}
	// dump.json has exactly arangodump 3.12's keys, in its order.
	raw, _ := os.ReadFile(filepath.Join(dir, "dump.json"))
	if want := `{"database":"shop","createdAt":"2026-01-02T03:04:05Z","lastTickAtDumpStart":"99","useEnvelope":false,"useVPack":false,"properties":{"id":"91","name":"shop","isSystem":false}}`; string(raw) != want {
		t.Errorf("dump.json:\n got %s\nwant %s", raw, want)
	}
	if len(db.Views) != 1 || db.Views[0].Name != "search" || string(db.Views[0].Definition) != view || filepath.Base(db.Views[0].File) != "search.view.json" {
		t.Errorf("views: %+v", db.Views)
	}
	if len(db.Collections) != len(specs) {
		t.Fatalf("%d collections, want %d", len(db.Collections), len(specs))
	}
	for _, s := range specs {
		c := db.Collection(s.name)
		if c == nil {
			t.Fatalf("collection %q missing", s.name)
		}
		if c.Type != s.typ || string(c.Parameters) != s.params {
			t.Errorf("%s: type %d params %s", s.name, c.Type, c.Parameters)
		}
		wantStruct := StructureFileName(s.name, c.ID, cluster)
		if filepath.Base(c.StructureFile) != wantStruct {
			t.Errorf("%s: structure file %s, want %s", s.name, c.StructureFile, wantStruct)
		}
		var gotIdx []string
		for _, i := range c.Indexes {
			gotIdx = append(gotIdx, string(i))
		}
		if !reflect.DeepEqual(gotIdx, s.indexes) {
			t.Errorf("%s: indexes %v, want %v", s.name, gotIdx, s.indexes)
		}
		if len(c.DataFiles) != len(s.parts) {
			t.Fatalf("%s: %d data files, want %d", s.name, len(c.DataFiles), len(s.parts))
		}
		for i, df := range c.DataFiles {
			if df.Part != s.parts[i] || df.Compressed != s.compress {
				t.Errorf("%s: data file %+v", s.name, df)
			}
		}
		// Every byte of every line survives (order within a split
		// collection is per part; compare sorted).
		r, err := c.OpenData()
		if err != nil {
			t.Fatal(err)
		}
		var got [][]byte
		for r.Next() {
			l := r.Line()
			if l.Kind != KindDocument || !bytes.Equal(l.Doc, l.Raw) {
				t.Fatalf("%s line %d: kind %v", l.File, l.Number, l.Kind)
			}
			got = append(got, append(append([]byte(nil), l.Raw...), '\n'))
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		r.Close()
		want := bytes.SplitAfter(wantLines[s.name], []byte("\n"))
		want = want[:len(want)-1]
		sortBytes(got)
		sortBytes(want)
		if !equalLines(got, want) {
			t.Errorf("%s: lines differ (%d vs %d)", s.name, len(got), len(want))
		}
		// Batches carry the same bytes.
		r, _ = c.OpenData()
		var all []byte
		nLines := 0
		for {
			b, err := r.ReadBatch(10000)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Data) > 10000 && b.Lines > 1 {
				t.Errorf("%s: batch of %d bytes with %d lines", s.name, len(b.Data), b.Lines)
			}
			nLines += b.Lines
			all = append(all, b.Data...)
		}
		r.Close()
		gotB := bytes.SplitAfter(all, []byte("\n"))
		gotB = gotB[:len(gotB)-1]
		sortBytes(gotB)
		if nLines != len(want) || !equalLines(gotB, want) {
			t.Errorf("%s: batch lines differ (%d vs %d)", s.name, nLines, len(want))
		}
	}
	// The manifest: complete, one entry per data file, SHA-256, sizes and
	// counts recomputed independently.
	m := db.Manifest
	if m == nil || !m.Complete || m.Database != "shop" || m.ToolVersion != "test-1" || m.Tool != "godump" || m.FinishedAt.Before(m.StartedAt) {
		t.Fatalf("manifest: %+v", m)
	}
	nfiles := 0
	for _, s := range specs {
		nfiles += len(s.parts)
	}
	if len(m.Files) != nfiles {
		t.Fatalf("manifest has %d files, want %d", len(m.Files), nfiles)
	}
	for _, mf := range m.Files {
		b, err := os.ReadFile(filepath.Join(dir, mf.Name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != mf.SHA256 || int64(len(b)) != mf.Size {
			t.Errorf("%s: manifest sha/size mismatch", mf.Name)
		}
		plain := b
		if mf.Compressed {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			plain, err = io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
		}
		if int64(len(plain)) != mf.UncompressedSize || int64(bytes.Count(plain, []byte("\n"))) != mf.Documents {
			t.Errorf("%s: manifest sizes %+v, file has %d bytes %d lines", mf.Name, mf, len(plain), bytes.Count(plain, []byte("\n")))
		}
		if mf.Name != DataFileName(mf.Collection, db.Collection(mf.Collection).ID, mf.Part, mf.Compressed, false) {
			t.Errorf("manifest entry %+v", mf)
		}
	}
	if err := VerifyManifest(dir, m); err != nil {
		t.Fatal(err)
	}
	// gzip -d reads our files.
	if gz, err := exec.LookPath("gzip"); err == nil {
		for _, mf := range m.Files {
			if mf.Compressed {
				out, err := exec.Command(gz, "-t", filepath.Join(dir, mf.Name)).CombinedOutput()
				if err != nil {
					t.Errorf("gzip -t %s: %v %s", mf.Name, err, out)
				}
			}
		}
	}
	// Tampering is detected.
	p := filepath.Join(dir, m.Files[0].Name)
	b, _ := os.ReadFile(p)
	b[len(b)/2] ^= 1
	os.WriteFile(p, b, 0o644)
	if err := VerifyManifest(dir, m); !errors.Is(err, ErrChecksum) {
		t.Errorf("tampered file: got %v", err)
	}
	// A second writer refuses the directory unless told to overwrite, and
	// overwriting removes the old manifest first.
	if _, err := NewWriter(dir, WriterOptions{}); !errors.Is(err, ErrExists) {
		t.Errorf("existing dump: got %v", err)
	}
	os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("x"), 0o644)
	if _, err := NewWriter(dir, WriterOptions{Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	// Left: the user's file and the new dump's manifest, which says it is unfinished.
	left, _ := os.ReadDir(dir)
	if len(left) != 2 || left[0].Name() != ManifestFileName || left[1].Name() != "keep.txt" {
		t.Errorf("after overwrite: %v", left)
	}
	if m, err := ReadManifest(dir); err != nil || m == nil || m.Complete || len(m.Files) != 0 {
		t.Errorf("manifest after overwrite: %+v %v, want an empty unfinished one", m, err)
	}
}

func equalLines(a, b [][]byte) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b))
}

func sortBytes(b [][]byte) {
	sort.Slice(b, func(i, j int) bool { return bytes.Compare(b[i], b[j]) < 0 })
}

func TestFinishRefusesOpenFiles(t *testing.T) {
	w, err := NewWriter(t.TempDir(), WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := w.CreateDataFile("c", -1, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(); err == nil {
		t.Fatal("Finish with an open data file succeeded")
	}
	if _, err := w.CreateDataFile("c", -1, false); err == nil {
		t.Fatal("same data file created twice")
	}
	f.Write([]byte(`{"_key":"a"}`)) // no final newline: still one document
	mf, err := f.Commit()
	if err != nil || mf.Documents != 1 {
		t.Fatalf("%+v %v", mf, err)
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
}

// TestDataFileHashLargeWrites: writes large enough to be hashed beside the file write
// (hashingWriter), mixed with small ones, give the SHA-256 of the bytes on disk.
func TestDataFileHashLargeWrites(t *testing.T) {
	for _, compress := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "d")
		w, err := NewWriter(dir, WriterOptions{Database: "db"})
		if err != nil {
			t.Fatal(err)
		}
		f, err := w.CreateDataFile("c", 0, compress)
		if err != nil {
			t.Fatal(err)
		}
		var all []byte
		for i, size := range []int{100, hashAsideMin, 3 << 20, 7, hashAsideMin + 1, 1 << 20} {
			line := bytes.Repeat([]byte{byte('a' + i)}, size-1)
			batch := append([]byte(`"`), line[:len(line)-1]...)
			batch = append(batch, '"', '\n')
			if _, err := f.Write(batch); err != nil {
				t.Fatal(err)
			}
			all = append(all, batch...)
		}
		mf, err := f.Commit()
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, mf.Name))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != mf.SHA256 || int64(len(b)) != mf.Size {
			t.Fatalf("compress=%v: manifest SHA-256 %s size %d, file has %x size %d", compress, mf.SHA256, mf.Size, sum, len(b))
		}
		plain := b
		if compress {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if plain, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(plain, all) || mf.Documents != 6 {
			t.Fatalf("compress=%v: content differs (%d bytes, want %d) or %d documents", compress, len(plain), len(all), mf.Documents)
		}
	}
}
