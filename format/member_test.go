package format

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"testing"
)

// TestDataFileConcurrentMembers: a data file written by several goroutines at once (as a dump
// context's writers do) holds every batch whole, one gzip member per Write, and its manifest
// entry (size, raw size, lines, SHA-256) matches the bytes on disk. Go's readers (this
// package's LineReader, compress/gzip) and gzip -t read all the members.
func TestDataFileConcurrentMembers(t *testing.T) {
	for _, compress := range []bool{true, false} {
		t.Run(fmt.Sprintf("compress=%v", compress), func(t *testing.T) {
			dir := t.TempDir()
			w, err := NewWriter(dir, WriterOptions{Database: "db"})
			if err != nil {
				t.Fatal(err)
			}
			f, err := w.CreateDataFile("c", -1, compress)
			if err != nil {
				t.Fatal(err)
			}
			const writers, batches, perBatch = 8, 25, 40
			var wg sync.WaitGroup
			for g := 0; g < writers; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for b := 0; b < batches; b++ {
						var buf bytes.Buffer
						for d := 0; d < perBatch; d++ {
							fmt.Fprintf(&buf, `{"_key":"g%d-b%d-d%d","pad":"%0200d"}`+"\n", g, b, d, d)
						}
						if _, err := f.Write(buf.Bytes()); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			mf, err := f.Commit()
			if err != nil {
				t.Fatal(err)
			}
			const total = writers * batches * perBatch
			raw, err := os.ReadFile(filepath.Join(dir, mf.Name))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(raw)
			if mf.Documents != total || mf.Size != int64(len(raw)) || mf.SHA256 != hex.EncodeToString(sum[:]) {
				t.Fatalf("manifest entry %+v; file has %d bytes, sha256 %x", mf, len(raw), sum)
			}
			r, err := OpenDataFiles([]DataFile{{Path: filepath.Join(dir, mf.Name), Name: mf.Name, Compressed: compress, Part: -1}})
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			var plain int64
			for r.Next() {
				keys = append(keys, string(r.Line().Raw[9:bytes.IndexByte(r.Line().Raw[9:], '"')+9]))
				plain += int64(len(r.Line().Raw)) + 1
			}
			if err := r.Err(); err != nil {
				t.Fatal(err)
			}
			r.Close()
			sort.Strings(keys)
			for i := 1; i < len(keys); i++ {
				if keys[i] == keys[i-1] {
					t.Fatalf("line %s twice", keys[i])
				}
			}
			if len(keys) != total || plain != mf.UncompressedSize {
				t.Fatalf("read %d lines, %d bytes; want %d lines, %d bytes", len(keys), plain, total, mf.UncompressedSize)
			}
			if !compress {
				return
			}
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			zr.Multistream(false)
			first, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			if n := bytes.Count(first, []byte{'\n'}); n != perBatch {
				t.Errorf("first gzip member holds %d lines, want one batch (%d)", n, perBatch)
			}
			if gz, err := exec.LookPath("gzip"); err == nil {
				if out, err := exec.Command(gz, "-t", filepath.Join(dir, mf.Name)).CombinedOutput(); err != nil {
					t.Errorf("gzip -t: %v %s", err, out)
				}
			}
		})
	}
}

// TestEmptyCompressedDataFile: a compressed data file without data is a valid gzip file
// holding nothing.
func TestEmptyCompressedDataFile(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter(dir, WriterOptions{Database: "db"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := w.CreateDataFile("c", -1, true)
	if err != nil {
		t.Fatal(err)
	}
	mf, err := f.Commit()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, mf.Name))
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("empty data file is not gzip (%d bytes): %v", len(raw), err)
	}
	if b, err := io.ReadAll(zr); err != nil || len(b) != 0 || mf.Documents != 0 {
		t.Fatalf("empty data file holds %q (%v), manifest %+v", b, err, mf)
	}
}
