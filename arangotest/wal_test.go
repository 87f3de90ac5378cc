package arangotest

import (
	"strconv"
	"testing"
)

func TestWALRangeLastTickTail(t *testing.T) {
	s := rtServer(t, Options{})
	r := rtDo(t, s, "GET", "/_api/wal/lastTick", nil)
	rtStatus(t, r, 200, "lastTick")
	startTick, err := strconv.ParseUint(r.json(t)["tick"].(string), 10, 64)
	if err != nil {
		t.Fatalf("tick: %s", r.body)
	}
	c := rtColl(t, s, "w", 2)
	rtPut(t, c, `{"_key":"a","v":1}`)
	rtPut(t, c, `{"_key":"a","v":2}`)
	if err := c.RemoveKey("a"); err != nil {
		t.Fatal(err)
	}
	// another database's markers are not in this database's tail
	other, err := s.store.createDatabase("other", nil)
	if err != nil {
		t.Fatal(err)
	}
	oc, _ := other.CreateCollection(CollectionSpec{Name: "o"})
	rtPut(t, oc, `{"_key":"z"}`)

	r = rtDo(t, s, "GET", "/_api/wal/range", nil)
	rtStatus(t, r, 200, "range")
	rg := r.json(t)
	tmax, err := strconv.ParseInt(rg["tickMax"].(string), 10, 64)
	if err != nil || uint64(tmax) <= startTick {
		t.Fatalf("range %s", r.body)
	}

	r = rtDo(t, s, "GET", "/_api/wal/tail?from="+strconv.FormatUint(startTick, 10), nil)
	rtStatus(t, r, 200, "tail")
	var types []float64
	var lastTick string
	for _, m := range rtLines(t, r.body) {
		if m["db"] != "_system" {
			t.Fatalf("marker of another database: %v", m)
		}
		types = append(types, m["type"].(float64))
		lastTick = m["tick"].(string)
	}
	// 2000 create collection, 2300, 2300, 2302
	want := []float64{2000, 2300, 2300, 2302}
	if len(types) != len(want) {
		t.Fatalf("tail types %v, want %v", types, want)
	}
	for i := range want {
		if types[i] != want[i] {
			t.Fatalf("tail types %v, want %v", types, want)
		}
	}
	if r.header.Get("x-arango-replication-lastincluded") != lastTick {
		t.Fatalf("lastincluded %q, last marker %s", r.header.Get("x-arango-replication-lastincluded"), lastTick)
	}
	if r.header.Get("x-arango-replication-frompresent") != "true" || r.header.Get("x-arango-replication-active") != "true" {
		t.Fatalf("headers %v", r.header)
	}
	// Tailing from the last included tick gives nothing new.
	r = rtDo(t, s, "GET", "/_api/wal/tail?from="+lastTick, nil)
	rtStatus(t, r, 204, "tail at the end")

	// global tailing sees the other database; chunkSize limits a response.
	r = rtDo(t, s, "GET", "/_api/wal/tail?global=true&chunkSize=1&from="+strconv.FormatUint(startTick, 10), nil)
	rtStatus(t, r, 200, "global tail")
	if n := len(rtLines(t, r.body)); n != 1 || r.header.Get("x-arango-replication-checkmore") != "true" {
		t.Fatalf("chunkSize=1: %d lines, checkmore %q", n, r.header.Get("x-arango-replication-checkmore"))
	}
	seenOther := false
	from := strconv.FormatUint(startTick, 10)
	for i := 0; i < 100; i++ {
		r = rtDo(t, s, "GET", "/_api/wal/tail?global=true&from="+from, nil)
		if r.status == 204 {
			break
		}
		for _, m := range rtLines(t, r.body) {
			if m["db"] == "other" {
				seenOther = true
			}
		}
		from = r.header.Get("x-arango-replication-lastincluded")
		if r.header.Get("x-arango-replication-checkmore") != "true" {
			break
		}
	}
	if !seenOther {
		t.Fatal("global tail misses the other database")
	}
	r = rtDo(t, s, "GET", "/_db/other/_api/wal/tail?global=true", nil)
	rtStatus(t, r, 403, "global tail outside _system")
}
