package format

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"testing"

	velocypack "github.com/arangodb/go-velocypack"
)

func TestVPackData(t *testing.T) {
	dir := newDumpDir(t)
	var raw bytes.Buffer
	batches := [][]map[string]any{
		{{"_key": "a", "n": 1.5, "s": "é\"x"}, {"_key": "b", "arr": []any{1, true, nil}}},
		{{"_key": "c", "o": map[string]any{"x": "y"}}},
	}
	for _, b := range batches {
		s, err := velocypack.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		raw.Write(s)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw.Bytes())
	zw.Close()
	os.WriteFile(filepath.Join(dir, cHash+".data.vpack.gz"), gz.Bytes(), 0o644)
	db, err := OpenDatabase(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := db.Collection("c")
	if len(c.DataFiles) != 1 || !c.DataFiles[0].VPack || !c.DataFiles[0].Compressed {
		t.Fatalf("%+v", c.DataFiles)
	}
	r, _ := c.OpenData()
	var keys []string
	for r.Next() {
		l := r.Line()
		if l.Kind != KindDocument {
			t.Errorf("kind %v", l.Kind)
		}
		keys = append(keys, string(l.Raw))
	}
	if r.Err() != nil || len(keys) != 3 {
		t.Fatalf("%q %v", keys, r.Err())
	}
	if keys[0] != `{"_key":"a","n":1.5,"s":"é\"x"}` || keys[2] != `{"_key":"c","o":{"x":"y"}}` {
		t.Errorf("lines %q", keys)
	}
	// A truncated VelocyPack file is an error naming the file.
	os.Remove(filepath.Join(dir, cHash+".data.vpack.gz"))
	os.WriteFile(filepath.Join(dir, cHash+".data.vpack"), raw.Bytes()[:raw.Len()-3], 0o644)
	err = readAll(dir)
	var fe *Error
	if !errors.Is(err, ErrCorrupt) || !errors.As(err, &fe) || filepath.Base(fe.File) != cHash+".data.vpack" {
		t.Fatalf("truncated vpack: %v", err)
	}
}
