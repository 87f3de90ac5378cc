package restore

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/arangobackup/godump/format"
)

// FuzzContinueFile: continue.json sits in the dump directory and may be anything; loading it
// must fail cleanly or give usable states.
func FuzzContinueFile(f *testing.F) {
	f.Add([]byte(`{"c":{"state":2,"bytes-acked":16777216,"file-no":0},"o":{"state":3}}`))
	f.Add([]byte(`{"c":{"state":2,"bytes-acked":1,"file-no":1,"gorestore-acked":[{"file":1,"start":5,"end":9}]}}`))
	f.Add([]byte(`{"c":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, ContinueFileName), data, 0o644); err != nil {
			t.Fatal(err)
		}
		cf, err := loadContinueFile(dir, true)
		if err != nil {
			return
		}
		for name := range cf.entries {
			p := cf.get(name)
			_ = inSpans(p.Acked, p.FileNo, p.BytesAcked, p.BytesAcked+1)
		}
	})
}

// FuzzTransformBatch: the line rewriting of envelope dumps and edge renames never panics,
// and either fails with a *format.Error naming the file or returns one line per input line.
func FuzzTransformBatch(f *testing.F) {
	f.Add([]byte(`{"type":2300,"key":"a","data":{"_key":"a","v":1}}`+"\n"+`{"type":2302,"key":"a"}`+"\n"), true)
	f.Add([]byte(`{"_key":"e","_from":"old/1","_to":"old/2"}`+"\n"), false)
	f.Add([]byte(`{"type":2300,"key":"b","data":{}}`+"\n\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, envelope bool) {
		b := format.Batch{Data: data, File: "f.data.json", FirstLine: 1}
		b.Removes = bytes.Count(data, []byte("2302"))
		out, err := transformBatch(b, envelope, map[string]string{"old": "new"})
		if err != nil {
			if _, ok := err.(*format.Error); !ok {
				t.Fatalf("error without file and line: %v", err)
			}
			return
		}
		in := 0
		for _, l := range bytes.Split(data, []byte("\n")) {
			if len(bytes.TrimSpace(l)) > 0 {
				in++
			}
		}
		if got := bytes.Count(out, []byte("\n")); got != in && (envelope || bytes.Contains(data, []byte(`"old/`))) {
			t.Fatalf("%d lines in, %d out", in, got)
		}
	})
}
