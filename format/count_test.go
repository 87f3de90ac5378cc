package format

import (
	"os"
	"path/filepath"
	"testing"

	velocypack "github.com/arangodb/go-velocypack"
)

// TestCountDocuments: the count is what a restore leaves in the collection, for every data
// format: plain lines, split files, VelocyPack, and envelopes with re-inserts and removals
// (an envelope count used to be one too high: keyless inserts were all counted under "").
func TestCountDocuments(t *testing.T) {
	vp := func(docs ...map[string]any) string {
		b, err := velocypack.Marshal(docs)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  int64
	}{
		{"plain", map[string]string{cHash + ".data.json": "{\"_key\":\"a\"}\n\n{\"_key\":\"b\"}\n{\"_key\":\"c\"}"}, 3},
		{"envelope", map[string]string{cHash + ".data.json": `{"type":2300,"data":{"_key":"a"}}` + "\n" + `{"type":2300,"data":{"_key":"b"}}` + "\n"}, 2},
		{"envelope-removals", map[string]string{cHash + ".data.json": `{"type":2300,"data":{"_key":"a","v":1}}
{"type":2300,"data":{"_key":"b"}}
{"type":2302,"key":"a","data":{"_key":"a"}}
{"type":2300,"key":"c","data":{"v":1}}
{"type":2300,"data":{"_key":"b","v":2}}
{"type":2302,"key":"never"}
{"type":2300,"data":{"_key":"a","v":3}}
{"type":2302,"data":{"_key":"c"}}
{"type":2300,"data":{"_key":"d"}}
{"type":2300,"data":{"x":"keyless"}}
`}, 4},
		{"envelope-2x", map[string]string{cHash + ".data.json": `{"type":2300,"key":"1","rev":"9","data":{"_key":"1"}}
{"type":2301,"key":"2","rev":"9","data":{"_key":"2","_from":"a/1","_to":"a/1"}}
{"type":2302,"key":"1","rev":"10"}
`}, 1},
		{"split", map[string]string{cHash + ".0.data.json": "{\"_key\":\"a\"}\n", cHash + ".1.data.json": "{\"_key\":\"b\"}\n{\"_key\":\"c\"}\n", cHash + ".2.data.json": ""}, 3},
		{"vpack", map[string]string{cHash + ".data.vpack": vp(map[string]any{"_key": "a"}, map[string]any{"_key": "b"}) + vp(map[string]any{"_key": "c"})}, 3},
		{"no-data", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := newDumpDir(t)
			for n, content := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, n), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			db, err := OpenDatabase(dir)
			if err != nil {
				t.Fatal(err)
			}
			c := db.Collection("c")
			if len(c.DataFiles) != len(tc.files) {
				t.Fatalf("data files %+v", c.DataFiles)
			}
			n, err := CountDocuments(c.DataFiles)
			if err != nil || n != tc.want {
				t.Errorf("CountDocuments = %d, %v; want %d", n, err, tc.want)
			}
		})
	}
}
