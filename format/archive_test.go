package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
)

// buildArchive writes an archive of two databases; collection "big" is written in many
// batches, so that it spans several parts.
func buildArchive(t *testing.T, chunk int64) ([]byte, map[string]int) {
	t.Helper()
	var out bytes.Buffer
	a, err := NewArchiveWriter(&out, "godump", "test")
	if err != nil {
		t.Fatal(err)
	}
	a.chunkTarget = chunk
	docs := map[string]int{}
	for _, db := range []string{"one", "two"} {
		w, err := NewArchiveDatabase(a, db, WriterOptions{Database: db})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteEncryption(); err != nil {
			t.Fatal(err)
		}
		if err := w.WriteDumpJSON(DumpMeta{Database: db}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []string{"big", "small", "empty"} {
			params := json.RawMessage(fmt.Sprintf(`{"name":%q,"type":2,"id":"1"}`, c))
			if _, err := w.WriteStructure(c, params, nil); err != nil {
				t.Fatal(err)
			}
		}
		big, _ := w.CreateDataFile("big", -1, true)
		small, _ := w.CreateDataFile("small", -1, false)
		empty, _ := w.CreateDataFile("empty", -1, true)
		for i := 0; i < 200; i++ {
			var b bytes.Buffer
			for j := 0; j < 50; j++ {
				fmt.Fprintf(&b, `{"_key":"k%d_%d","v":"%s"}`+"\n", i, j, bytes.Repeat([]byte{'x'}, i%40))
			}
			if _, err := big.Write(b.Bytes()); err != nil {
				t.Fatal(err)
			}
			docs[db+"/big"] += 50
			if i%50 == 0 {
				if _, err := small.Write([]byte(fmt.Sprintf(`{"_key":"s%d"}`+"\n", i))); err != nil {
					t.Fatal(err)
				}
				docs[db+"/small"]++
			}
		}
		for _, f := range []*DataFileWriter{big, small, empty} {
			if _, err := f.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Finish(); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), docs
}

// readArchive reads every entry; it returns the documents per db/collection.
func readArchive(b []byte) (map[string]int, map[string][]int, error) {
	r, err := NewArchiveReader(bytes.NewReader(b), "test.tar")
	if err != nil {
		return nil, nil, err
	}
	docs := map[string]int{}
	parts := map[string][]int{}
	for {
		it, err := r.Next()
		if errors.Is(err, io.EOF) {
			return docs, parts, nil
		}
		if err != nil {
			return nil, nil, err
		}
		if !it.IsData {
			continue
		}
		lr, err := OpenDataFiles([]DataFile{it.DataFileOf("test.tar")})
		if err != nil {
			return nil, nil, err
		}
		n := 0
		for {
			b, err := lr.ReadBatch(1 << 20)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, nil, err
			}
			n += b.Lines
		}
		if int64(n) != it.Documents {
			return nil, nil, fmt.Errorf("%s: %d lines, header says %d", it.Name, n, it.Documents)
		}
		var part int
		key := it.Dir + "/" + it.Base[:bytes.IndexByte([]byte(it.Base), '_')]
		fmt.Sscanf(it.Base[bytes.IndexByte([]byte(it.Base), '.')+1:], "%d", &part)
		docs[key] += n
		parts[key] = append(parts[key], part)
	}
}

func TestArchiveRoundTrip(t *testing.T) {
	b, want := buildArchive(t, 8<<10)
	got, parts, err := readArchive(b)
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d documents read, %d written", k, got[k], n)
		}
	}
	if len(parts["one/big"]) < 3 {
		t.Fatalf("big has %d part(s), want several (chunks of 8 KiB)", len(parts["one/big"]))
	}
	for k, ps := range parts {
		for i, p := range ps {
			if p != i {
				t.Fatalf("%s: parts in stream order %v, want 0, 1, 2, ...", k, ps)
			}
		}
	}
	if _, ok := parts["one/empty"]; ok {
		t.Error("an empty collection got a data part")
	}
	// tar -x gives dump directories that the directory reader opens, with the same data
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("no tar")
	}
	dir := t.TempDir()
	cmd := exec.Command("tar", "-x", "-C", dir)
	cmd.Stdin = bytes.NewReader(b)
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Fatalf("tar -x: %v: %s", err, out)
	}
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !d.AllDatabases || len(d.Databases) != 2 {
		t.Fatalf("extracted: %d database(s), all %v", len(d.Databases), d.AllDatabases)
	}
	for _, db := range d.Databases {
		if db.Manifest == nil || !db.Manifest.Complete {
			t.Fatalf("%s: manifest %+v", db.Name, db.Manifest)
		}
		if err := VerifyManifest(db.Dir, db.Manifest); err != nil {
			t.Fatal(err)
		}
		for _, c := range db.Collections {
			n, err := CountDocuments(c.DataFiles)
			if err != nil {
				t.Fatal(err)
			}
			if want := want[filepath.Base(db.Dir)+"/"+c.Name]; int(n) != want {
				t.Errorf("extracted %s/%s: %d documents, want %d", db.Dir, c.Name, n, want)
			}
		}
		st, _ := os.Stat(filepath.Join(db.Dir, ManifestFileName))
		if st.Mode().Perm() != FileMode {
			t.Errorf("extracted file mode %v", st.Mode())
		}
	}
}

// TestArchiveCutOrGarbled: an archive cut at any byte, or with any byte changed, is refused;
// it never reads as a complete archive.
func TestArchiveCutOrGarbled(t *testing.T) {
	b, _ := buildArchive(t, 8<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	// A cut after the end marker's content (in its padding or tar's end-of-archive blocks)
	// lost nothing; any cut before must be refused.
	endHeader := bytes.LastIndex(b, []byte(ArchiveMarkerName))
	endHeader -= endHeader % 512
	limit := endHeader + 512 + 100 // into the end marker's JSON
	cuts := []int{0, 1, 511, 512, 1024, endHeader, endHeader + 1, limit}
	for i := 0; i < 40; i++ {
		cuts = append(cuts, rng.IntN(limit))
	}
	sort.Ints(cuts)
	for _, n := range cuts {
		_, _, err := readArchive(b[:n])
		if err == nil {
			t.Fatalf("archive cut at byte %d of %d read without error", n, len(b))
		}
		if !errors.Is(err, ErrIncomplete) && !errors.Is(err, ErrArchive) {
			t.Fatalf("cut at %d: %v, want ErrIncomplete", n, err)
		}
	}
	for i := 0; i < 40; i++ {
		g := bytes.Clone(b)
		at := rng.IntN(len(g) - 1024) // the last 1024 bytes are tar's zero blocks
		g[at] ^= 0x20
		if _, _, err := readArchive(g); err == nil {
			// a flipped byte in padding changes nothing that is read; anything else must fail
			if !inPadding(b, at) {
				t.Fatalf("archive with byte %d changed read without error", at)
			}
		}
	}
}

// inPadding reports whether offset at lies in a tar entry's zero padding (ignored by readers).
func inPadding(b []byte, at int) bool {
	return b[at] == 0 && bytes.Count(b[at-at%512:at-at%512+512], []byte{0}) > 0 && isZeroTail(b[at-at%512:at-at%512+512], at%512)
}

func isZeroTail(block []byte, i int) bool {
	for _, c := range block[i:] {
		if c != 0 {
			return false
		}
	}
	return true
}
