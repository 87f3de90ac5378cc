package format

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func writeFile(t *testing.T, dir, name string, content string) {
	t.Helper()
	if strings.HasSuffix(name, ".gz") {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(content))
		zw.Close()
		content = b.String()
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const cHash = "c_4a8a08f09d37b73795649038408b5f33"

func newDumpDir(t *testing.T) string {
	dir := t.TempDir()
	writeFile(t, dir, "ENCRYPTION", "none")
	writeFile(t, dir, cHash+".structure.json", `{"parameters":{"name":"c","type":2,"cid":"9"},"indexes":[]}`)
	return dir
}

func names(c *Collection) []string {
	var out []string
	for _, f := range c.DataFiles {
		out = append(out, f.Name)
	}
	return out
}

func TestLookupOrder(t *testing.T) {
	// Candidates in arangorestore's order; with several present, the first
	// wins and a warning names both.
	order := []string{
		cHash + ".data.json",
		cHash + ".data.json.gz",
		"c.data.json.gz",
		cHash + ".0.data.json.gz",
		"c.data.json",
	}
	for i := range order {
		dir := newDumpDir(t)
		for _, n := range order[i:] {
			writeFile(t, dir, n, "{\"_key\":\"a\"}\n")
		}
		db, err := OpenDatabase(dir)
		if err != nil {
			t.Fatal(err)
		}
		c := db.Collection("c")
		if got := names(c); len(got) != 1 || got[0] != order[i] {
			t.Errorf("with %v: chose %v", order[i:], got)
		}
		if want := len(order[i:]) - 1; len(db.Warnings) != want {
			t.Errorf("with %v: warnings %q", order[i:], db.Warnings)
		}
		if len(order[i:]) > 1 && (!strings.Contains(db.Warnings[0], order[i]) || !strings.Contains(db.Warnings[0], order[i+1])) {
			t.Errorf("warning %q does not name both files", db.Warnings[0])
		}
	}
}

func TestSplitFiles(t *testing.T) {
	dir := newDumpDir(t)
	// Parts in numeric order (10 after 9, not after 1), mixed compression.
	for i := 0; i <= 10; i++ {
		name := cHash + "." + itoa(i) + ".data.json"
		if i%2 == 0 {
			name += ".gz"
		}
		writeFile(t, dir, name, "{\"_key\":\"k"+itoa(i)+"\"}\n")
	}
	writeFile(t, dir, cHash+".12.data.json.gz", "{\"_key\":\"lost\"}\n") // after a gap
	writeFile(t, dir, "other_0123.data.json", "{}\n")                    // no collection
	db, err := OpenDatabase(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := db.Collection("c")
	if len(c.DataFiles) != 11 {
		t.Fatalf("files %v", names(c))
	}
	r, _ := c.OpenData()
	i := 0
	for r.Next() {
		l := r.Line()
		if string(l.Doc) != `{"_key":"k`+itoa(i)+`"}` || l.Number != 1 || c.DataFiles[i].Part != i {
			t.Errorf("line %d: %s (%s line %d)", i, l.Doc, l.File, l.Number)
		}
		i++
	}
	if r.Err() != nil || i != 11 {
		t.Fatalf("read %d lines, err %v", i, r.Err())
	}
	if len(db.Warnings) != 2 || !strings.Contains(strings.Join(db.Warnings, "\n"), ".12.data.json.gz") || !strings.Contains(strings.Join(db.Warnings, "\n"), "other_0123.data.json") {
		t.Errorf("warnings %q", db.Warnings)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestPre3Structure(t *testing.T) {
	dir := t.TempDir()
	// 2.x: no ENCRYPTION, dump.json without properties, indexes inside
	// parameters (with the primary and edge index).
	writeFile(t, dir, "dump.json", `{"database":"old","lastTickAtDumpStart":"5"}`)
	e := "e_e1671797c52e15f763380b45e841ec32"
	writeFile(t, dir, e+".structure.json", `{"parameters":{"version":5,"type":3,"cid":"1","name":"e","indexes":[{"id":"0","type":"primary","fields":["_key"]},{"id":"1","type":"edge","fields":["_from","_to"]},{"id":"2","type":"hash","fields":["x"],"unique":true}]},"indexes":[]}`)
	writeFile(t, dir, e+".data.json", "{\"type\":2301,\"key\":\"a\",\"rev\":\"1\",\"data\":{\"_key\":\"a\",\"_from\":\"v/1\",\"_to\":\"v/2\"}}\r\n\n   \n{\"type\":2302,\"key\":\"a\",\"rev\":\"2\"}")
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	db := d.Databases[0]
	c := db.Collection("e")
	if db.Name != "old" || db.Encryption != "" || c.Type != TypeEdge || len(c.Indexes) != 1 || !strings.Contains(string(c.Indexes[0]), `"hash"`) {
		t.Fatalf("%q %+v", db.Name, c)
	}
	if s := string(c.StructureJSON()); !strings.HasPrefix(s, `{"indexes":[{"id":"2","type":"hash"`) {
		t.Errorf("StructureJSON %s", s)
	}
	r, _ := c.OpenData()
	var kinds []LineKind
	var nums []int
	for r.Next() {
		kinds = append(kinds, r.Line().Kind)
		nums = append(nums, r.Line().Number)
	}
	if r.Err() != nil || len(kinds) != 2 || kinds[0] != KindInsert || kinds[1] != KindRemove || nums[0] != 1 || nums[1] != 4 {
		t.Fatalf("kinds %v lines %v err %v", kinds, nums, r.Err())
	}
	// Batches: the final line gets its newline; blank lines are not counted.
	r, _ = c.OpenData()
	b, err := r.ReadBatch(1 << 20)
	if err != nil || b.Lines != 2 || b.Inserts != 1 || b.Removes != 1 || b.FirstLine != 1 || !bytes.HasSuffix(b.Data, []byte("\"2\"}\n")) {
		t.Fatalf("batch %+v %q err %v", b, b.Data, err)
	}
	if _, err := r.ReadBatch(1 << 20); err != io.EOF {
		t.Fatalf("want EOF, got %v", err)
	}
}

func TestAllDatabases(t *testing.T) {
	root := t.TempDir()
	for _, db := range []string{"_system", "zeta", "alpha"} {
		dir := filepath.Join(root, db)
		os.Mkdir(dir, 0o755)
		writeFile(t, dir, "ENCRYPTION", "none")
		writeFile(t, dir, "dump.json", `{"database":"`+db+`","properties":{"name":"`+db+`"}}`)
	}
	os.Mkdir(filepath.Join(root, "not-a-db"), 0o755)
	writeFile(t, root, "ENCRYPTION", "none") // arangodump may write one at the top
	d, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, db := range d.Databases {
		got = append(got, db.Name)
	}
	if !d.AllDatabases || strings.Join(got, ",") != "alpha,zeta,_system" {
		t.Fatalf("all=%v databases %v", d.AllDatabases, got)
	}
	if _, err := Open(t.TempDir()); err == nil {
		t.Fatal("empty directory accepted")
	}
	// A dump of an empty database holding only ENCRYPTION is one database.
	only := t.TempDir()
	writeFile(t, only, "ENCRYPTION", "none")
	if d, err := Open(only); err != nil || d.AllDatabases || len(d.Databases) != 1 {
		t.Fatalf("ENCRYPTION-only dump: %+v %v", d, err)
	}
	// An encrypted top level is refused too.
	writeFile(t, root, "ENCRYPTION", "aes-256-ctr")
	if _, err := Open(root); !errors.Is(err, ErrEncrypted) {
		t.Fatalf("encrypted top level: %v", err)
	}
}

func TestBatchLongLines(t *testing.T) {
	dir := newDumpDir(t)
	long := `{"_key":"long","v":"` + strings.Repeat("y", 3<<20) + `"}`
	content := "{\"_key\":\"a\"}\n" + long + "\n{\"_key\":\"b\"}\n{\"_key\":\"c\"}\n"
	writeFile(t, dir, cHash+".data.json.gz", content)
	db, _ := OpenDatabase(dir)
	r, _ := db.Collection("c").OpenData()
	var got []Batch
	var data []byte
	for {
		b, err := r.ReadBatch(100)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, b.Data...)
		b.Data = nil
		got = append(got, b)
	}
	if string(data) != content {
		t.Fatalf("batches changed the bytes")
	}
	// The long line is a batch of its own; the two short ones share one.
	wantFirst, wantLines := []int{1, 2, 3}, []int{1, 1, 2}
	if len(got) != 3 {
		t.Fatalf("batches %+v", got)
	}
	for i, b := range got {
		if b.FirstLine != wantFirst[i] || b.Lines != wantLines[i] {
			t.Errorf("batch %d: %+v", i, b)
		}
	}
	if got[2].Offset != int64(len("{\"_key\":\"a\"}\n")+len(long)+1) {
		t.Errorf("offset %d", got[2].Offset)
	}
	// Next handles the same file.
	r, _ = db.Collection("c").OpenData()
	n := 0
	for r.Next() {
		n++
		if n == 2 && len(r.Line().Raw) != len(long) {
			t.Errorf("long line: %d bytes", len(r.Line().Raw))
		}
	}
	if n != 4 || r.Err() != nil {
		t.Fatalf("%d lines, %v", n, r.Err())
	}
}

// TestBatchBoundariesStable: the same content gives the same batches whether
// read from a plain or a gzipped file (different read sizes underneath), and
// Next sees the same lines.
func TestBatchBoundariesStable(t *testing.T) {
	var content strings.Builder
	for i := 0; i < 20000; i++ {
		content.WriteString(`{"_key":"` + itoa(i) + `","pad":"` + strings.Repeat("z", i%500) + "\"}\n")
		if i%1000 == 0 {
			content.WriteString("\n")
		}
	}
	plainDir, gzDir := newDumpDir(t), newDumpDir(t)
	writeFile(t, plainDir, cHash+".data.json", content.String())
	writeFile(t, gzDir, cHash+".data.json.gz", content.String())
	type cut struct {
		first, lines int
		off          int64
		size         int
	}
	read := func(dir string, size int) ([]cut, string) {
		db, err := OpenDatabase(dir)
		if err != nil {
			t.Fatal(err)
		}
		r, _ := db.Collection("c").OpenData()
		defer r.Close()
		var cuts []cut
		var all strings.Builder
		for {
			b, err := r.ReadBatch(size)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			cuts = append(cuts, cut{b.FirstLine, b.Lines, b.Offset, len(b.Data)})
			all.Write(b.Data)
		}
		return cuts, all.String()
	}
	for _, size := range []int{1000, 64 << 10, 3 << 20} {
		a, da := read(plainDir, size)
		b, db := read(gzDir, size)
		if da != content.String() || db != content.String() {
			t.Fatalf("size %d: content differs", size)
		}
		if len(a) != len(b) {
			t.Fatalf("size %d: %d vs %d batches", size, len(a), len(b))
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("size %d batch %d: %+v vs %+v", size, i, a[i], b[i])
			}
			if i > 0 && a[i].off != a[i-1].off+int64(a[i-1].size) {
				t.Fatalf("size %d batch %d: offsets not contiguous", size, i)
			}
		}
	}
}

func TestMissingDataFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "gone.data.json")
	r, _ := OpenDataFiles([]DataFile{{Path: p, Name: "gone.data.json", Part: -1}})
	if r.Next() {
		t.Fatal("line from a missing file")
	}
	var fe *Error
	if !errors.As(r.Err(), &fe) || fe.File != p || !errors.Is(r.Err(), os.ErrNotExist) {
		t.Fatalf("got %v", r.Err())
	}
	r.Close()
	r.Close()
}

// TestBatchDetach: batches whose buffers the reader handed over (Detach) keep their bytes
// while the reader goes on in recycled buffers, for plain and gzipped files of many batches
// and a long line that makes the reader grow its buffer.
func TestBatchDetach(t *testing.T) {
	var content strings.Builder
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&content, "{\"_key\":\"k%d\",\"v\":\"%s\"}\n", i, strings.Repeat("x", i%300))
		if i == 7000 {
			content.WriteString(`{"_key":"long","v":"` + strings.Repeat("y", 3<<20) + "\"}\n")
		}
	}
	for _, name := range []string{cHash + ".data.json", cHash + ".data.json.gz"} {
		dir := newDumpDir(t)
		writeFile(t, dir, name, content.String())
		db, _ := OpenDatabase(dir)
		for _, size := range []int{1, 4096, 256 << 10, 1 << 20} {
			if got := readDetached(t, db.Collection("c").DataFiles, size); string(got) != content.String() {
				t.Fatalf("%s, batches of %d: detached batches hold %d bytes that differ from the %d written", name, size, len(got), content.Len())
			}
		}
	}
}
