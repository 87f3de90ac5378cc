package arangotest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

// Tests of the bulk ingest fast paths (restore-data, import): the one-block copy of user
// members, the document arena, the word-at-a-time string scan, batch rollback and the
// batched WAL.

// TestParseDocUserBlock checks that copying the user members as one block renders exactly
// what rendering them one by one does, and that the block is refused where it would differ.
func TestParseDocUserBlock(t *testing.T) {
	c := &Collection{Name: "c", Type: 3}
	cases := []struct {
		in    string
		block bool
	}{
		{`{"_key":"a","_rev":"_x","_from":"v/1","_to":"v/2","x":1,"y":[1, 2],"z":{"a" : "b"}}`, true},
		{`{"x":1,"_key":"a","_from":"v/1","_to":"v/2"}`, true},
		{`{"_key":"a","_from":"v/1","_to":"v/2"}`, true},
		{`{}`, true},
		{`{"_key":"a","_from":"v/1","_to":"v/2","x":1,"_id":"c/a","y":2}`, false}, // not contiguous
		{`{"_key":"a","_from":"v/1","_to":"v/2","x":1, "y":2}`, false},            // whitespace before a name
		{`{"_key":"a","_from":"v/1","_to":"v/2","x":1 ,"y":2}`, false},            // whitespace after a value
		{`{"_key":"a","_from":"v/1","_to":"v/2","x" :1}`, false},                  // before ':'
		{`{"_key":"a","_from":"v/1","_to":"v/2","x": 1}`, false},                  // after ':'
		{`{"_key":"a","_from":"v/1","_to":"v/2","\u0078":1}`, false},              // escaped name
		{`{"_key":"a","_from":"v/1","_to":"v/2","ü":1}`, false},                   // non-ASCII name
		{`{"_key":"a","_from":"v/1","_to":"v/2","_other":1,"x":2}`, true},         // unknown _ names are user members
		{` { "_key" : "a" , "_from":"v/1","_to":"v/2","x":1,"y":"s\"q"} `, true},
	}
	for _, tc := range cases {
		var p parsedDoc
		if err := parseDocInto(&p, []byte(tc.in)); err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if got := p.userRaw != nil; got != tc.block {
			t.Errorf("%s: block = %v (%q), want %v", tc.in, got, p.userRaw, tc.block)
		}
		want := c.newDocIn(nil, "a", "_x", 1, p.from, p.to, p.user, nil).Raw
		var a docArena
		got := c.newDocIn(&a, "a", "_x", 1, p.from, p.to, p.user, p.userRaw).Raw
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", tc.in, got, want)
		}
	}
}

// TestParseDocErrors checks that the inlined parser rejects what scanObjectView rejects.
func TestParseDocErrors(t *testing.T) {
	for _, in := range []string{``, `[]`, `"s"`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":1} x`, `{"a":1 "b":2}`,
		`{"a":"x` + "\x01" + `"}`, `{"a":"\q"}`, `{a:1}`, `{"_key":"k","a":tru}`} {
		var p parsedDoc
		err := parseDocInto(&p, []byte(in))
		ref := scanObjectView([]byte(in), func(string, []byte) error { return nil })
		if (err == nil) != (ref == nil) {
			t.Errorf("%q: parseDocInto %v, scanObjectView %v", in, err, ref)
		}
		if err == nil {
			t.Errorf("%q: accepted", in)
		}
	}
}

// TestSkipStringWords compares the word-at-a-time string scan with a byte loop on random
// strings full of quotes, backslashes, control and non-ASCII bytes at every offset.
func TestSkipStringWords(t *testing.T) {
	ref := func(b []byte, i int) (int, bool) {
		for j := i + 1; j < len(b); j++ {
			switch c := b[j]; {
			case c == '"':
				return j + 1, true
			case c == '\\':
				return -1, false // the fast path hands escapes to the same code: compare up to here
			case c < 0x20:
				return j, false
			}
		}
		return len(b), false
	}
	rnd := rand.New(rand.NewSource(1))
	alphabet := []byte("abcdefgh \"\\\x00\x1f\x7f\x80\xffé")
	for n := 0; n < 20000; n++ {
		b := []byte{'"'}
		for k := rnd.Intn(40); k > 0; k-- {
			b = append(b, alphabet[rnd.Intn(len(alphabet))])
		}
		want, ok := ref(b, 0)
		got, err := skipString(b, 0)
		if want < 0 {
			continue // an escape: validated by the byte loop as before
		}
		if ok != (err == nil) || (ok && got != want) {
			t.Fatalf("%q: skipString = %d, %v; want %d, %v", b, got, err, want, ok)
		}
	}
	long := `"` + strings.Repeat("lorem ipsum ", 30) + `"` + `,"next":1`
	if end, err := skipString([]byte(long), 0); err != nil || end != len(long)-len(`,"next":1`) {
		t.Fatalf("long string: %d %v", end, err)
	}
}

// TestDocArenaIsolation checks that documents carved from one chunk never share bytes: an
// append to one document's Raw cannot reach the next.
func TestDocArenaIsolation(t *testing.T) {
	c := &Collection{Name: "c", Type: 2}
	var a docArena
	var docs []*Doc
	for i := 0; i < 2000; i++ {
		user := []member{{"n", []byte(fmt.Sprint(i))}, {"s", []byte(`"` + strings.Repeat("x", i%300) + `"`)}}
		docs = append(docs, c.newDocIn(&a, fmt.Sprint(i), "_r", uint64(i), "", "", user, nil))
	}
	for i, d := range docs {
		_ = append(d.Raw, "garbage"...)
		want := fmt.Sprintf(`{"_key":"%d","_id":"c/%d","_rev":"_r","n":%d,"s":"%s"}`, i, i, i, strings.Repeat("x", i%300))
		if string(d.Raw) != want || d.Key != fmt.Sprint(i) || d.Rev != "_r" {
			t.Fatalf("doc %d = %s (key %q rev %q)", i, d.Raw, d.Key, d.Rev)
		}
	}
	// A document larger than a quarter chunk gets its own allocation.
	big := c.newDocIn(&a, "big", "_r", 1, "", "", []member{{"s", []byte(`"` + strings.Repeat("y", docArenaChunk) + `"`)}}, nil)
	if !bytes.HasSuffix(big.Raw, []byte(`y"}`)) || len(big.Raw) < docArenaChunk {
		t.Fatalf("big doc: %d bytes", len(big.Raw))
	}
}

// TestRestoreDataRollbackBatch checks that a batch failing on a unique index in its middle
// leaves documents, indexes, key generator counts and the WAL as they were.
func TestRestoreDataRollbackBatch(t *testing.T) {
	s := rtServer(t, Options{})
	c := rtColl(t, s, "u", 2)
	if _, _, err := c.EnsureIndex([]byte(`{"type":"persistent","fields":["email"],"unique":true}`)); err != nil {
		t.Fatal(err)
	}
	rtPut(t, c, `{"_key":"1","_rev":"_a","email":"a@x"}`)
	rtPut(t, c, `{"_key":"2","_rev":"_b","email":"b@x"}`)
	before := map[string]string{}
	for _, d := range c.Snapshot() {
		before[d.Key] = string(d.Raw)
	}
	wal := s.store.WAL.Count()
	body := `{"type":2302,"data":{"_key":"1"}}` + "\n" + // removal, undone
		`{"_key":"2","_rev":"_c","email":"c@x"}` + "\n" + // replace, undone
		`{"_key":"3","_rev":"_d","email":"d@x"}` + "\n" + // insert, undone
		`{"_key":"4","_rev":"_e","email":"d@x"}` + "\n" // unique violation
	r := rtDo(t, s, "PUT", "/_api/replication/restore-data?collection=u", []byte(body), "Content-Type", "application/x-arango-dump")
	if r.status != 409 || r.json(t)["errorNum"] != float64(1210) {
		t.Fatalf("restore-data: %d %s", r.status, r.body)
	}
	after := map[string]string{}
	for _, d := range c.Snapshot() {
		after[d.Key] = string(d.Raw)
	}
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("after a failed batch:\n%v\nwant\n%v", after, before)
	}
	if n := s.store.WAL.Count(); n != wal {
		t.Fatalf("WAL grew by %d markers for a failed batch", n-wal)
	}
	// The unique index still holds the old values only: c@x and d@x are free, a@x is taken.
	r = rtDo(t, s, "PUT", "/_api/replication/restore-data?collection=u",
		[]byte(`{"_key":"5","email":"c@x"}`+"\n"+`{"_key":"6","email":"d@x"}`+"\n"), "Content-Type", "application/x-arango-dump")
	if r.status != 200 || c.Count() != 4 {
		t.Fatalf("restore after rollback: %d %s, count %d", r.status, r.body, c.Count())
	}
	r = rtDo(t, s, "PUT", "/_api/replication/restore-data?collection=u", []byte(`{"_key":"7","email":"a@x"}`+"\n"), "Content-Type", "application/x-arango-dump")
	if r.status != 409 {
		t.Fatalf("a@x must still be taken: %d %s", r.status, r.body)
	}
	if n := s.store.WAL.Count(); n != wal+2 {
		t.Fatalf("WAL grew by %d markers for a batch of 2 documents", n-wal)
	}
}

// TestRestoreDataParallelBatches sends batches of one collection concurrently (as gorestore
// does) and checks every document, the key generator and the WAL's tick order.
func TestRestoreDataParallelBatches(t *testing.T) {
	s := rtServer(t, Options{})
	c := rtColl(t, s, "p", 2)
	const batches, per = 8, 500
	var wg sync.WaitGroup
	errs := make(chan string, batches)
	for b := 0; b < batches; b++ {
		var body bytes.Buffer
		for i := 0; i < per; i++ {
			fmt.Fprintf(&body, `{"_key":"%d","b":%d,"pad":"%s"}`+"\n", 1+b*per+i, b, strings.Repeat("p", i%50))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := rtDo(t, s, "PUT", "/_api/replication/restore-data?collection=p", body.Bytes(), "Content-Type", "application/x-arango-dump"); r.status != 200 {
				errs <- fmt.Sprintf("%d %s", r.status, r.body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	if c.Count() != batches*per {
		t.Fatalf("count %d", c.Count())
	}
	for _, d := range c.Snapshot() {
		var n int
		fmt.Sscan(d.Key, &n)
		want := fmt.Sprintf(`{"_key":"%d","_id":"p/%d","_rev":"%s","b":%d,"pad":"%s"}`, n, n, d.Rev, (n-1)/per, strings.Repeat("p", (n-1)%per%50))
		if string(d.Raw) != want {
			t.Fatalf("stored %s, want %s", d.Raw, want)
		}
	}
	if kg := c.KeyGenerator(); kg.LastValue != batches*per {
		t.Fatalf("key generator lastValue %d, want %d", kg.LastValue, batches*per)
	}
	first, _ := s.store.WAL.Range()
	ms, _ := s.store.WAL.Since(first, 1<<30)
	for i := 1; i < len(ms); i++ {
		if ms[i].Tick < ms[i-1].Tick {
			t.Fatalf("WAL out of tick order at %d: %d after %d", i, ms[i].Tick, ms[i-1].Tick)
		}
	}
}

// TestImportBatchWAL checks that /_api/import logs one marker per stored document, and none
// when complete=true fails.
func TestImportBatchWAL(t *testing.T) {
	s := rtServer(t, Options{})
	c := rtColl(t, s, "imp", 2)
	wal := s.store.WAL.Count()
	body := `{"_key":"a","v":1}` + "\n" + `{"v":2}` + "\n" + `{"_key":"c", "v" : 3}` + "\n"
	r := rtDo(t, s, "POST", "/_api/import?collection=imp&type=documents", []byte(body))
	if r.status != 201 || r.json(t)["created"] != float64(3) {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	if got := s.store.WAL.Count() - wal; got != 3 {
		t.Fatalf("WAL grew by %d, want 3", got)
	}
	if d := c.Lookup("c"); d == nil || !strings.HasSuffix(string(d.Raw), `,"v":3}`) {
		t.Fatalf("c stored as %v", d)
	}
	wal = s.store.WAL.Count()
	r = rtDo(t, s, "POST", "/_api/import?collection=imp&type=documents&complete=true", []byte(`{"_key":"d"}`+"\n"+`{"_key":"a"}`+"\n"))
	if r.status != 409 || c.Count() != 3 || c.Lookup("d") != nil {
		t.Fatalf("complete import with a duplicate: %d %s, count %d", r.status, r.body, c.Count())
	}
	if got := s.store.WAL.Count() - wal; got != 0 {
		t.Fatalf("WAL grew by %d for a failed complete import", got)
	}
	// onDuplicate=update merges: the member block of the input must not be used.
	r = rtDo(t, s, "POST", "/_api/import?collection=imp&type=documents&onDuplicate=update", []byte(`{"_key":"a","w":9}`+"\n"))
	if r.status != 201 {
		t.Fatalf("update import: %d %s", r.status, r.body)
	}
	if d := c.Lookup("a"); d == nil || !strings.HasSuffix(string(d.Raw), `,"v":1,"w":9}`) {
		t.Fatalf("a after update: %s", d.Raw)
	}
}

// TestRestoreDataStoredForm checks the stored form of restored edges: lines already in it
// read back as they are, others (another collection's _id, whitespace, no user members, no
// _rev) are rendered with the right _id and _rev, and none of them keeps bytes of the body.
func TestRestoreDataStoredForm(t *testing.T) {
	s := rtServer(t, Options{})
	e := rtColl(t, s, "e", 3)
	body := []byte(`{"_key":"1","_id":"e/1","_from":"v/a","_to":"v/b","_rev":"_fMI8cLW---","w":1}` + "\n" +
		`{"_key":"2","_id":"old/2","_from":"v/a","_to":"v/b","_rev":"_fMI8cLW--_","w":2}` + "\n" + // renamed collection
		`{"_key":"3","_id":"e/3","_from":"v/a","_to":"v/b","_rev":"_fMI8cLW--A", "w":3}` + "\n" + // whitespace
		`{"_key":"4","_id":"e/4","_from":"v/a","_to":"v/b","_rev":"_fMI8cLW--B"}` + "\n" + // no user members
		`{"_key":"5","_id":"e/5","_from":"v/a","_to":"v/b","w":5}` + "\n") // no _rev
	if err := restoreData(e, body); err != nil {
		t.Fatal(err)
	}
	inBody := func(d *Doc) bool {
		p := uintptr(unsafe.Pointer(unsafe.SliceData(d.Raw)))
		b0 := uintptr(unsafe.Pointer(&body[0]))
		return p >= b0 && p < b0+uintptr(len(body))
	}
	want := map[string]string{
		"1": `{"_key":"1","_id":"e/1","_from":"v/a","_to":"v/b","_rev":"_fMI8cLW---","w":1}`,
		"2": `{"_key":"2","_id":"e/2","_from":"v/a","_to":"v/b","_rev":"_fMI8cLW--_","w":2}`,
		"3": `{"_key":"3","_id":"e/3","_from":"v/a","_to":"v/b","_rev":"_fMI8cLW--A","w":3}`,
		"4": `{"_key":"4","_id":"e/4","_from":"v/a","_to":"v/b","_rev":"_fMI8cLW--B"}`,
	}
	for k, w := range want {
		d := e.Lookup(k)
		if !revRenewed(d, w) || inBody(d) || d.Key != k {
			t.Fatalf("%s: %+v, want %s (not in the body)", k, d, w)
		}
		if d.Rev != string(d.Raw[strings.Index(string(d.Raw), `"_rev":"`)+8:][:11]) {
			t.Fatalf("%s: Rev %q", k, d.Rev)
		}
	}
	if d := e.Lookup("5"); d == nil || inBody(d) || !strings.HasSuffix(string(d.Raw), `","w":5}`) || d.Rev == "" {
		t.Fatalf("5: %+v", d)
	}
	// Without preserveRevisionIds every document gets a new _rev.
	body2 := append([]byte(nil), body[:bytes.IndexByte(body, '\n')+1]...)
	if err := restoreData(e, body2); err != nil {
		t.Fatal(err)
	}
	if d := e.Lookup("1"); d.Rev == "_fMI8cLW---" || !strings.HasPrefix(string(d.Raw), `{"_key":"1","_id":"e/1","_from":"v/a","_to":"v/b","_rev":"`+d.Rev+`","w":1}`) {
		t.Fatalf("1 without preserveRevisionIds: %s", d.Raw)
	}
	// restoreData writes nothing into a body.
	if got := string(body[:len(want["1"])]); got != want["1"] {
		t.Fatalf("first body changed: %s", got)
	}
}

// TestWALAppendBatchMerges appends a batch whose ticks interleave with markers already
// logged (across segment boundaries) and checks that the WAL holds all of them in tick order.
func TestWALAppendBatchMerges(t *testing.T) {
	w := newWAL(1 << 40)
	want := map[uint64]bool{}
	for i := 0; i < 10000; i++ {
		tick := uint64(20001 + 2*i) // odd
		w.append(Marker{Tick: tick, Data: []byte("x")})
		want[tick] = true
	}
	batch := make([]Marker, 0, 10000)
	for i := 0; i < 10000; i++ {
		tick := uint64(i*3+1) * 2 // even, 2 .. 59996: before, among and after the logged ones
		batch = append(batch, Marker{Tick: tick, Data: []byte("y")})
		want[tick] = true
	}
	w.appendBatch(batch)
	w.appendBatch([]Marker{{Tick: 5}, {Tick: 3}}) // unsorted: sorted first
	want[5], want[3] = true, true
	ms, _ := w.Since(0, 1<<40)
	if len(ms) != len(want) || w.Count() != len(want) {
		t.Fatalf("%d markers (count %d), want %d", len(ms), w.Count(), len(want))
	}
	for i, m := range ms {
		if !want[m.Tick] || (i > 0 && m.Tick < ms[i-1].Tick) {
			t.Fatalf("marker %d tick %d (previous %d)", i, m.Tick, ms[i-1].Tick)
		}
	}
}

// TestRestoreDataErrorOrder checks what the one-pass restore reports: a syntax error on any
// line wins over an invalid document before it; an invalid document whose key a later
// removal marker removes is not reported; nothing is stored when the batch fails.
func TestRestoreDataErrorOrder(t *testing.T) {
	s := rtServer(t, Options{})
	e := rtColl(t, s, "eo", 3)
	bad := `{"_key":"x","_from":"v/1"}` // no _to
	body := `{"_key":"a","_from":"v/1","_to":"v/2"}` + "\n" + bad + "\n" + `{"_key":"b",` + "\n"
	err := restoreData(e, []byte(body))
	if ae, ok := err.(*ArangoError); !ok || ae.Num != 600 || !strings.Contains(ae.Message, "on line 3") {
		t.Fatalf("want the syntax error of line 3, got %v", err)
	}
	body = `{"_key":"a","_from":"v/1","_to":"v/2"}` + "\n" + bad + "\n"
	if err := restoreData(e, []byte(body)); err == nil || err.(*ArangoError).Num != 1233 {
		t.Fatalf("want 1233 for the edge without _to, got %v", err)
	}
	if e.Count() != 0 {
		t.Fatalf("%d documents stored by failed batches", e.Count())
	}
	body = `{"_key":"a","_from":"v/1","_to":"v/2"}` + "\n" + bad + "\n" + `{"type":2302,"data":{"_key":"x"}}` + "\n"
	if err := restoreData(e, []byte(body)); err != nil {
		t.Fatalf("an invalid document removed later in the batch: %v", err)
	}
	if e.Count() != 1 || e.Lookup("a") == nil {
		t.Fatalf("count %d", e.Count())
	}
}

// TestRestoreDataRendersStoredOrder checks documents whose lines are not in stored form:
// system attributes out of order (as some dumps write edges), an envelope line, a key with
// escapes in a user member name; each reads back exactly in stored form, in its own bytes.
func TestRestoreDataRendersStoredOrder(t *testing.T) {
	s := rtServer(t, Options{})
	e := rtColl(t, s, "e", 3)
	lines := []string{
		`{"_key":"1","_id":"e/1","_rev":"_fMI8cLW---","_from":"v/a","_to":"v/b","w":1,"t":"x y"}`,
		`{"type":2300,"data":{"_key":"2","_rev":"_fMI8cLW--_","_id":"e/2","_to":"v/d","_from":"v/c","w":[1, 2]}}`,
		`{"_rev":"_fMI8cLW--A","_key":"3","_from":"v/a","_to":"v/b","_id":"e/3","a\u0062":3}`,
	}
	body := []byte(strings.Join(lines, "\n") + "\n")
	if err := restoreData(e, body); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"1": `{"_key":"1","_id":"e/1","_from":"v/a","_to":"v/b","_rev":"_fMI8cLW---","w":1,"t":"x y"}`,
		"2": `{"_key":"2","_id":"e/2","_from":"v/c","_to":"v/d","_rev":"_fMI8cLW--_","w":[1, 2]}`,
		"3": `{"_key":"3","_id":"e/3","_from":"v/a","_to":"v/b","_rev":"_fMI8cLW--A","ab":3}`,
	}
	b0 := uintptr(unsafe.Pointer(&body[0]))
	var spans [][2]uintptr
	for k, w := range want {
		d := e.Lookup(k)
		if !revRenewed(d, w) || d.Key != k {
			t.Fatalf("%s: %+v, want %s", k, d, w)
		}
		p := uintptr(unsafe.Pointer(unsafe.SliceData(d.Raw)))
		if p < b0+uintptr(len(body)) && b0 < p+uintptr(len(d.Raw)) {
			t.Fatalf("%s: stored in the body", k)
		}
		for _, sp := range spans {
			if p < sp[1] && sp[0] < p+uintptr(len(d.Raw)) {
				t.Fatalf("%s: overlaps another document", k)
			}
		}
		spans = append(spans, [2]uintptr{p, p + uintptr(len(d.Raw))})
	}
	// Dumped back, they are what was restored.
	var got []string
	for i, d := range e.Snapshot() {
		got = append(got, string(d.Raw))
		if !revRenewed(d, want[strconv.Itoa(i+1)]) {
			t.Fatalf("snapshot:\n%s", strings.Join(got, "\n"))
		}
	}
	if len(got) != 3 {
		t.Fatalf("snapshot has %d documents", len(got))
	}
}

// TestWALReusesTrimmedSegments fills a small WAL many times over, with batches that must be
// merged with markers already logged, and checks that the segments it trims and reuses hold
// exactly the markers that belong there (no stale entries from an earlier use).
func TestWALReusesTrimmedSegments(t *testing.T) {
	const per = 64 + 8 // entrySize of a marker with 8 bytes of data
	w := newWAL(3 * walSegment * per)
	data := func(tick uint64) []byte { return []byte(fmt.Sprintf("%08d", tick%100000000)) }
	tick := uint64(1)
	for round := 0; round < 6; round++ {
		// Two batches with interleaved ticks; the later one is logged first, so the earlier
		// one takes the later one's markers off the tail and merges them back.
		var a, b []Marker
		for i := 0; i < walSegment; i++ {
			a = append(a, Marker{Tick: tick, Data: data(tick)})
			b = append(b, Marker{Tick: tick + 1, Data: data(tick + 1)})
			tick += 2
		}
		w.appendBatch(b)
		w.appendBatch(a)
		for i := 0; i < walSegment/2; i++ {
			w.append(Marker{Tick: tick, Data: data(tick)})
			tick++
		}
	}
	if !w.Trimmed() || len(w.segs) > 4 {
		t.Fatalf("trimmed %v, %d segments", w.Trimmed(), len(w.segs))
	}
	if len(w.free) > maxFreeSegments {
		t.Fatalf("%d free segments kept", len(w.free))
	}
	first, last := w.Range()
	ms, more := w.Since(0, 1<<40)
	if more || len(ms) != w.Count() || int(last-first+1) != len(ms) || last != tick-1 {
		t.Fatalf("%d markers (count %d, more %v), range %d..%d, last tick %d", len(ms), w.Count(), more, first, last, tick-1)
	}
	for i, m := range ms {
		if m.Tick != first+uint64(i) || string(m.Data) != string(data(m.Tick)) {
			t.Fatalf("marker %d: tick %d data %s, want tick %d", i, m.Tick, m.Data, first+uint64(i))
		}
	}
	if w.bytes > w.max || w.bytes != len(ms)*per {
		t.Fatalf("bytes %d for %d markers (max %d)", w.bytes, len(ms), w.max)
	}
}

// TestRestoreDataBatchesReuseScratch sends batches of falling size to one collection (the
// working slices of a batch are kept for the next one) and checks that no document, removal
// or failure of an earlier batch leaks into a later one.
func TestRestoreDataBatchesReuseScratch(t *testing.T) {
	s := rtServer(t, Options{})
	c := rtColl(t, s, "r", 2)
	var body bytes.Buffer
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&body, `{"_key":"k%d","_rev":"_fMI8cLW---","v":%d}`+"\n", i, i)
	}
	if err := restoreData(c, body.Bytes()); err != nil {
		t.Fatal(err)
	}
	// A failing batch (bad key on its last line) changes nothing.
	bad := []byte(`{"_key":"n1","v":1}` + "\n" + `{"type":2302,"data":{"_key":"k0"}}` + "\n" + `{"_key":"bad key","v":2}` + "\n")
	if err := restoreData(c, bad); err == nil {
		t.Fatal("bad key accepted")
	}
	// A small batch: removals and a replacement.
	small := []byte(`{"type":2302,"data":{"_key":"k1"}}` + "\n" + `{"_key":"k2","v":"new"}` + "\n")
	if err := restoreData(c, small); err != nil {
		t.Fatal(err)
	}
	if n := c.Count(); n != 2999 {
		t.Fatalf("count %d, want 2999", n)
	}
	if c.Lookup("n1") != nil || c.Lookup("k1") != nil || c.Lookup("k0") == nil {
		t.Fatalf("n1 %v, k1 %v, k0 %v", c.Lookup("n1"), c.Lookup("k1"), c.Lookup("k0"))
	}
	if d := c.Lookup("k2"); d == nil || !strings.HasSuffix(string(d.Raw), `,"v":"new"}`) {
		t.Fatalf("k2: %v", d)
	}
	if d := c.Lookup("k2999"); !revRenewed(d, `{"_key":"k2999","_id":"r/k2999","_rev":"_fMI8cLW---","v":2999}`) {
		t.Fatalf("k2999: %v", d)
	}
}

// TestRestoreDataRebuildsKeyMap sends batches that outgrow the key map made for the first
// one (presizeLocked rebuilds it from the storage order), with removed documents (holes in
// the storage order) and replaced ones in between, and checks every key against its document.
func TestRestoreDataRebuildsKeyMap(t *testing.T) {
	s := rtServer(t, Options{})
	c := rtColl(t, s, "m", 2)
	batch := func(from, to int, tag string) []byte {
		var b bytes.Buffer
		for i := from; i < to; i++ {
			fmt.Fprintf(&b, `{"_key":"k%d","_id":"m/k%d","_rev":"_fMI8cLW---","t":"%s"}`+"\n", i, i, tag)
		}
		return b.Bytes()
	}
	if err := restoreData(c, batch(0, 2000, "a")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2000; i += 3 {
		if err := c.RemoveKey(fmt.Sprintf("k%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	room := c.docsRoom
	if err := restoreData(c, batch(1000, 6000, "b")); err != nil {
		t.Fatal(err)
	}
	if c.docsRoom <= room {
		t.Fatalf("key map not rebuilt: room %d, then %d", room, c.docsRoom)
	}
	if err := restoreData(c, batch(5000, 9000, "c")); err != nil {
		t.Fatal(err)
	}
	want := 0
	for i := 0; i < 9000; i++ {
		tag := "c"
		switch {
		case i < 1000 && i%3 == 0:
			tag = ""
		case i < 1000:
			tag = "a"
		case i < 5000:
			tag = "b"
		}
		d := c.Lookup(fmt.Sprintf("k%d", i))
		if tag == "" {
			if d != nil {
				t.Fatalf("k%d was removed: %s", i, d.Raw)
			}
			continue
		}
		want++
		if d == nil || !strings.HasSuffix(string(d.Raw), `"t":"`+tag+`"}`) {
			t.Fatalf("k%d: %v, want tag %s", i, d, tag)
		}
	}
	if c.Count() != want || len(c.docs) != want {
		t.Fatalf("count %d, %d keys, want %d", c.Count(), len(c.docs), want)
	}
	for k, i := range c.docs {
		if c.order[i] == nil || c.order[i].Key != k {
			t.Fatalf("key %s points at %d", k, i)
		}
	}
}

// TestRestoreDataRenderedAndRemovals restores documents not in stored form (the key comes
// last) in a batch that also removes and re-adds keys: the removal markers must still find
// the documents they cancel and be cancelled by later documents.
func TestRestoreDataRenderedAndRemovals(t *testing.T) {
	s := rtServer(t, Options{})
	c := rtColl(t, s, "x", 2)
	body := []byte(`{"_rev":"_fMI8cLW---","_id":"old/a","v":1,"_key":"a"}` + "\n" + // the key comes last
		`{"_rev":"_fMI8cLW--_","_id":"old/b","v":2,"_key":"b"}` + "\n" +
		`{"type":2302,"data":{"_key":"a"}}` + "\n" + // removes a (its last marker)
		`{"type":2302,"data":{"_key":"b"}}` + "\n" +
		`{"_rev":"_fMI8cLW--A","_id":"old/b","v":3,"_key":"b"}` + "\n") // b comes back
	b0 := uintptr(unsafe.Pointer(&body[0]))
	if err := restoreData(c, body); err != nil {
		t.Fatal(err)
	}
	if d := c.Lookup("a"); d != nil {
		t.Fatalf("a was removed by a later marker: %s", d.Raw)
	}
	d := c.Lookup("b")
	if !revRenewed(d, `{"_key":"b","_id":"x/b","_rev":"_fMI8cLW--A","v":3}`) {
		t.Fatalf("b: %v", d)
	}
	if p := uintptr(unsafe.Pointer(&d.Raw[0])); p >= b0 && p < b0+uintptr(len(body)) {
		t.Fatal("b is stored in the body")
	}
	if c.Count() != 1 {
		t.Fatalf("count %d", c.Count())
	}
}

// TestRestoreDataPooledBodies: restore-data bodies are read into pooled buffers that the next
// requests reuse (bodyReusable), so documents must not keep bytes of them. Several bodies in
// turn, plain and envelope lines, an edge collection, removals: afterwards every document,
// every WAL marker and _users hold what was sent, not what a later body wrote over it.
func TestRestoreDataPooledBodies(t *testing.T) {
	s := rtServer(t, Options{})
	d := rtColl(t, s, "pd", 2)
	e := rtColl(t, s, "pe", 3)
	put := func(coll, body string) {
		t.Helper()
		r := rtDo(t, s, "PUT", "/_api/replication/restore-data?collection="+coll+"", []byte(body), "Content-Type", "application/x-arango-dump")
		if r.status != 200 {
			t.Fatalf("restore-data %s: %d %s", coll, r.status, r.body)
		}
	}
	line := func(i int, round string) string {
		return fmt.Sprintf(`{"_key":"k%d","_id":"pd/k%d","_rev":"_fMI8cLW--%c","round":%q,"v":%d}`, i, i, 'A'+i%20, round, i) + "\n"
	}
	var b strings.Builder
	for i := 0; i < 300; i++ {
		b.WriteString(line(i, "one"))
	}
	put("pd", b.String())
	// Envelope lines: 100 new documents, 50 removals of the first body's documents.
	b.Reset()
	for i := 300; i < 400; i++ {
		fmt.Fprintf(&b, `{"type":2300,"data":%s}`+"\n", strings.TrimSuffix(line(i, "two"), "\n"))
	}
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&b, `{"type":2302,"data":{"_key":"k%d"}}`+"\n", i)
	}
	put("pd", b.String())
	// Edges, _rev before _from/_to (not the stored order).
	b.Reset()
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&b, `{"_key":"e%d","_id":"pe/e%d","_rev":"_fMI8cLW--B","_from":"pd/k%d","_to":"pd/k%d","w":%d}`+"\n", i, i, i, i+1, i)
	}
	put("pe", b.String())
	put("_users", `{"_key":"u1","user":"pooluser","active":true,"extra":{"note":"kept as sent"}}`+"\n")
	// Bodies of other bytes, written into the same pooled buffers.
	for r := 0; r < 4; r++ {
		b.Reset()
		for i := 1000; i < 1300; i++ {
			b.WriteString(strings.Repeat(" ", 40) + line(i, "zzzz"))
		}
		put("pd", b.String())
	}
	if got := d.Count(); got != 300-50+100+300 {
		t.Fatalf("pd holds %d documents, want 650", got)
	}
	for i := 0; i < 400; i++ {
		doc := d.Lookup(fmt.Sprintf("k%d", i))
		if i < 50 {
			if doc != nil {
				t.Fatalf("k%d was removed, is %s", i, doc.Raw)
			}
			continue
		}
		round := "one"
		if i >= 300 {
			round = "two"
		}
		if !revRenewed(doc, strings.TrimSuffix(line(i, round), "\n")) || doc.Key != fmt.Sprintf("k%d", i) {
			t.Fatalf("k%d: %+v", i, doc)
		}
	}
	for i := 0; i < 200; i++ {
		doc := e.Lookup(fmt.Sprintf("e%d", i))
		want := fmt.Sprintf(`{"_key":"e%d","_id":"pe/e%d","_from":"pd/k%d","_to":"pd/k%d","_rev":"_fMI8cLW--B","w":%d}`, i, i, i, i+1, i)
		if !revRenewed(doc, want) {
			t.Fatalf("e%d: %+v, want %s", i, doc, want)
		}
	}
	users := 0
	for _, u := range s.store.Database("_system").Collection("_users").Snapshot() {
		var doc map[string]any
		if err := json.Unmarshal(u.Raw, &doc); err != nil {
			t.Fatalf("_users %s: %v: %q", u.Key, err, u.Raw)
		}
		if doc["user"] == "pooluser" {
			users++
			if extra, _ := doc["extra"].(map[string]any); extra["note"] != "kept as sent" || doc["active"] != true {
				t.Fatalf("_users row of pooluser: %s", u.Raw)
			}
		}
	}
	if users != 1 {
		t.Fatalf("%d _users rows of pooluser, want 1", users)
	}
	ms, _ := s.store.WAL.Since(0, 0)
	removed := map[string]bool{}
	for _, mk := range ms {
		if mk.CUID != d.GUID && mk.CUID != e.GUID {
			continue
		}
		var doc map[string]any
		if err := json.Unmarshal(mk.Data, &doc); err != nil {
			t.Fatalf("WAL marker %d: %v: %q", mk.Tick, err, mk.Data)
		}
		key, _ := doc["_key"].(string)
		if mk.Type == 2302 {
			removed[key] = true
		} else if v, ok := doc["v"].(float64); ok && key != fmt.Sprintf("k%d", int(v)) {
			t.Fatalf("WAL marker %d: key %q with v %v", mk.Tick, key, v)
		}
	}
	for i := 0; i < 50; i++ {
		if !removed[fmt.Sprintf("k%d", i)] {
			t.Fatalf("no WAL removal marker for k%d (have %d)", i, len(removed))
		}
	}
}
