package dump

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arangobackup/godump/client"
)

// fakeServer speaks just enough of ArangoDB's dump protocols for the engine's unit tests:
// replication batches, inventory, the classic dump (with a server-side read position, like
// RocksDB) and the parallel dump API (with re-sendable unacknowledged batches).
type fakeServer struct {
	t       *testing.T
	version string
	mu      sync.Mutex
	colls   map[string][]string // collection -> JSON lines (no newline)
	order   []string
	docsPer int // documents per batch the server cuts

	// fault decides, per request, whether to fail it: "503", "cut" (half the body, then
	// the connection drops) or "" (serve normally).
	fault func(r *http.Request) string
	// shardHeader, when set, rewrites the x-arango-dump-shard-id of parallel batches.
	shardHeader func(shard string) string

	contexts map[string]*fakeDump
	starts   [][]string // the shards of every /_api/dump/start, as sent
	nextID   int
	classic  map[string]int // batch/collection -> read position
	requests []string
}

type fakeDump struct {
	shards  []string
	pos     map[string]int
	batches map[uint64]fakeBatch
	turn    int
}

type fakeBatch struct {
	shard string
	body  string
}

func newFakeServer(t *testing.T, version string) *fakeServer {
	return &fakeServer{t: t, version: version, colls: map[string][]string{}, docsPer: 7,
		contexts: map[string]*fakeDump{}, classic: map[string]int{}}
}

func (f *fakeServer) add(name string, n int) {
	f.order = append(f.order, name)
	for i := 0; i < n; i++ {
		f.colls[name] = append(f.colls[name], fmt.Sprintf(`{"_key":"k%d","_id":"%s/k%d","_rev":"_r%d","n":%d,"name":"Name %d","nested":{"email":"u%d@x.org"}}`, i, name, i, i, i, i, i))
	}
}

func (f *fakeServer) start() *client.Conn {
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	f.t.Cleanup(srv.Close)
	o := client.DefaultOptions()
	o.Endpoints = []string{srv.URL}
	o.Authentication = false
	o.Database = "shop"
	c, err := client.Connect(context.Background(), o)
	if err != nil {
		f.t.Fatal(err)
	}
	c.Retry.Initial = time.Millisecond
	c.Retry.Max = 5 * time.Millisecond
	return c
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	path := r.URL.Path
	if i := strings.Index(path, "/_api/"); i >= 0 && strings.HasPrefix(path, "/_db/") {
		path = path[i:]
	} else if i := strings.Index(path, "/_admin/"); i >= 0 {
		path = path[i:]
	}
	f.requests = append(f.requests, r.Method+" "+path+"?"+r.URL.RawQuery)
	fault := ""
	if f.fault != nil {
		fault = f.fault(r)
	}
	if fault == "503" {
		w.WriteHeader(503)
		io.WriteString(w, `{"error":true,"code":503,"errorNum":503,"errorMessage":"busy"}`)
		return
	}
	q := r.URL.Query()
	send := func(status int, hdr map[string]string, body string) {
		for k, v := range hdr {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		switch {
		case fault == "drop": // the connection drops before any answer
			panic(http.ErrAbortHandler)
		case fault == "cut" && len(body) > 1: // the answer stops halfway
			io.WriteString(w, body[:len(body)/2])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		io.WriteString(w, body)
	}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	switch {
	case path == "/_api/version":
		send(200, nil, js(map[string]string{"server": "arango", "version": f.version, "license": "community"}))
	case path == "/_admin/server/role":
		send(200, nil, `{"role":"SINGLE"}`)
	case path == "/_api/replication/batch" && r.Method == "POST":
		f.nextID++
		send(200, nil, js(map[string]string{"id": strconv.Itoa(f.nextID), "lastTick": "1"}))
	case strings.HasPrefix(path, "/_api/replication/batch/"):
		w.WriteHeader(204)
	case path == "/_api/replication/inventory":
		var colls []any
		for i, name := range f.order {
			colls = append(colls, map[string]any{
				"parameters": map[string]any{"name": name, "type": 2, "isSystem": strings.HasPrefix(name, "_"), "cid": strconv.Itoa(100 + i), "id": strconv.Itoa(100 + i), "shards": map[string]any{}},
				"indexes":    []any{map[string]any{"id": "5", "type": "persistent", "fields": []string{"n"}, "name": "byN"}},
			})
		}
		send(200, nil, js(map[string]any{"collections": colls, "views": []any{map[string]any{"id": "77", "name": "v", "type": "arangosearch", "links": map[string]any{}}},
			"properties": map[string]any{"id": "1", "name": "shop", "isSystem": false}, "tick": "42"}))
	case strings.HasPrefix(path, "/_api/collection/") && strings.HasSuffix(path, "/count"):
		name := strings.TrimSuffix(strings.TrimPrefix(path, "/_api/collection/"), "/count")
		send(200, nil, js(map[string]any{"count": len(f.colls[name])}))
	case path == "/_api/replication/dump":
		coll := q.Get("collection")
		k := q.Get("batchId") + "/" + coll
		pos := f.classic[k]
		docs := f.colls[coll]
		if pos >= len(docs) {
			w.Header().Set("x-arango-replication-checkmore", "false")
			w.WriteHeader(204)
			return
		}
		end := min(pos+f.docsPer, len(docs))
		f.classic[k] = end // the read position moves even if the answer gets lost
		send(200, map[string]string{"Content-Type": "application/x-arango-dump", "x-arango-replication-checkmore": strconv.FormatBool(end < len(docs)),
			"x-arango-replication-lastincluded": strconv.Itoa(end)}, strings.Join(docs[pos:end], "\n")+"\n")
	case path == "/_api/dump/start":
		var body struct {
			Shards []string `json:"shards"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			send(400, nil, `{"error":true}`)
			return
		}
		f.nextID++
		id := "dump-" + strconv.Itoa(f.nextID)
		f.starts = append(f.starts, body.Shards)
		f.contexts[id] = &fakeDump{shards: body.Shards, pos: map[string]int{}, batches: map[uint64]fakeBatch{}}
		send(201, map[string]string{"x-arango-dump-id": id}, "")
	case strings.HasPrefix(path, "/_api/dump/next/"):
		d := f.contexts[strings.TrimPrefix(path, "/_api/dump/next/")]
		if d == nil {
			send(404, nil, `{"error":true,"errorNum":1600,"errorMessage":"no such dump"}`)
			return
		}
		id, _ := strconv.ParseUint(q.Get("batchId"), 10, 64)
		if lb := q.Get("lastBatch"); lb != "" {
			n, _ := strconv.ParseUint(lb, 10, 64)
			delete(d.batches, n)
		}
		b, ok := d.batches[id]
		if !ok {
			// Like RocksDBDumpContext, the last shards listed go first, and batches of several
			// shards interleave (here: the shards with data take turns, back to front).
			for k := 0; k < len(d.shards); k++ {
				s := d.shards[len(d.shards)-1-(d.turn+k)%len(d.shards)]
				docs := f.colls[s]
				if d.pos[s] < len(docs) {
					end := min(d.pos[s]+f.docsPer, len(docs))
					b = fakeBatch{shard: s, body: strings.Join(docs[d.pos[s]:end], "\n") + "\n"}
					d.pos[s] = end
					d.batches[id] = b
					d.turn++
					ok = true
					break
				}
			}
		}
		if !ok {
			w.WriteHeader(204)
			return
		}
		shard := b.shard
		if f.shardHeader != nil {
			shard = f.shardHeader(shard)
		}
		send(200, map[string]string{"Content-Type": "application/x-arango-dump", "x-arango-dump-shard-id": shard}, b.body)
	case strings.HasPrefix(path, "/_api/dump/") && r.Method == "DELETE":
		delete(f.contexts, strings.TrimPrefix(path, "/_api/dump/"))
		send(200, nil, `{"error":false,"code":200}`)
	default:
		send(404, nil, `{"error":true,"errorNum":404,"errorMessage":"unknown path `+path+`"}`)
	}
}

// memOutput records what the engine writes.
type memOutput struct {
	mu         sync.Mutex
	files      map[string]string // committed data files by "collection[.part]"
	structures map[string]string
	views      map[string]string
	dumpJSON   *DumpJSON
	open       int
	aborted    int
	finished   bool
}

func newMemOutput() *memOutput {
	return &memOutput{files: map[string]string{}, structures: map[string]string{}, views: map[string]string{}}
}

func (m *memOutput) opener() OutputOpener {
	return func(context.Context, OutputConfig) (Output, error) { return m, nil }
}

func (m *memOutput) WriteEncryption() error { return nil }
func (m *memOutput) WriteDumpJSON(d DumpJSON) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dumpJSON = &d
	return nil
}
func (m *memOutput) WriteStructure(c string, p json.RawMessage, idx []json.RawMessage) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, _ := json.Marshal(map[string]any{"parameters": p, "indexes": idx})
	m.structures[c] = string(b)
	return nil
}
func (m *memOutput) WriteView(v string, d json.RawMessage) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.views[v] = string(d)
	return nil
}
func (m *memOutput) CreateDataFile(c string, part int, _ string) (DataFile, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.open++
	name := c
	if part >= 0 {
		name += "." + strconv.Itoa(part)
	}
	return &memFile{m: m, name: name}, nil
}
func (m *memOutput) Finish() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.open != 0 {
		return fmt.Errorf("%d files open", m.open)
	}
	m.finished = true
	return nil
}
func (m *memOutput) Abort() error { return nil }

func (m *memOutput) Keep(func(KeptFile) bool) ([]KeptFile, []string, error) { return nil, nil, nil }

type memFile struct {
	m    *memOutput
	name string
	mu   sync.Mutex // WriteLines may be called from several goroutines
	b    strings.Builder
	docs int64
}

func (f *memFile) WriteLines(p []byte, docs int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.b.Write(p)
	f.docs += docs
	return nil
}
func (f *memFile) Commit() error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	f.m.open--
	if _, dup := f.m.files[f.name]; dup {
		return fmt.Errorf("%s committed twice", f.name)
	}
	f.m.files[f.name] = f.b.String()
	return nil
}
func (f *memFile) Abort() error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	f.m.open--
	f.m.aborted++
	return nil
}

// keysOf returns the sorted _key values of a JSONL string, failing on duplicates.
func keysOf(t *testing.T, lines string) []string {
	t.Helper()
	var keys []string
	seen := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSuffix(lines, "\n"), "\n") {
		if l == "" {
			continue
		}
		var d struct {
			Key string `json:"_key"`
		}
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if seen[d.Key] {
			t.Fatalf("document %s written twice", d.Key)
		}
		seen[d.Key] = true
		keys = append(keys, d.Key)
	}
	sort.Strings(keys)
	return keys
}
