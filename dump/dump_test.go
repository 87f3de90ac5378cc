package dump

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/arangobackup/godump/client"
	"github.com/arangobackup/godump/progress"
)

func testOptions(m *memOutput) Options {
	o := DefaultOptions()
	o.OutputDirectory = "unused"
	o.Threads = 2
	o.Open = m.opener()
	return o
}

func wantKeys(n int) []string {
	var keys []string
	for i := 0; i < n; i++ {
		keys = append(keys, fmt.Sprintf("k%d", i))
	}
	return sortStrings(keys)
}

func sortStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func checkCollection(t *testing.T, m *memOutput, file string, n int) {
	t.Helper()
	data, ok := m.files[file]
	if !ok {
		t.Fatalf("no data file %s (have %v)", file, keysOfMap(m.files))
	}
	got := keysOf(t, data)
	want := wantKeys(n)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("%s: keys %v, want %v", file, got, want)
	}
}

func keysOfMap(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return sortStrings(out)
}

func TestDumpBothProtocols(t *testing.T) {
	for _, ver := range []string{"3.12.4", "3.11.9"} {
		t.Run(ver, func(t *testing.T) {
			f := newFakeServer(t, ver)
			f.add("small", 3)
			f.add("big", 50)
			f.add("empty", 0)
			f.add("_hidden", 5)
			conn := f.start()
			m := newMemOutput()
			counting := progress.NewCounting(nil)
			sum, err := Run(context.Background(), conn, testOptions(m), counting)
			if err != nil {
				t.Fatal(err)
			}
			checkCollection(t, m, "big", 50)
			checkCollection(t, m, "small", 3)
			if d, ok := m.files["empty"]; !ok || d != "" {
				t.Errorf("empty collection: file %v %q, want an empty file", ok, d)
			}
			if _, ok := m.files["_hidden"]; ok {
				t.Error("system collection dumped without --include-system-collections")
			}
			if !m.finished || m.open != 0 {
				t.Errorf("finished %v, %d files open", m.finished, m.open)
			}
			if sum.Documents != 53 || counting.Totals().Docs != 53 {
				t.Errorf("summary documents %d, progress %d, want 53", sum.Documents, counting.Totals().Docs)
			}
			wantProto := map[string]string{"3.12.4": "parallel", "3.11.9": "classic"}[ver]
			if sum.Protocol != wantProto {
				t.Errorf("protocol %s, want %s", sum.Protocol, wantProto)
			}
			if m.dumpJSON == nil || m.dumpJSON.Database != "shop" || m.dumpJSON.LastTickAtDumpStart != "42" || !strings.Contains(string(m.dumpJSON.Properties), `"name":"shop"`) {
				t.Errorf("dump.json %+v", m.dumpJSON)
			}
			if !strings.Contains(m.structures["big"], `"byN"`) || !strings.Contains(m.structures["big"], `"name":"big"`) {
				t.Errorf("structure of big: %s", m.structures["big"])
			}
			if _, ok := m.views["v"]; !ok {
				t.Error("view v not written")
			}
			// The parallel API: one dump context for the database, over every collection with
			// data, the largest last (the server's work stack pops from the back), deleted at
			// the end.
			if ver == "3.12.4" {
				if got := fmt.Sprint(f.starts); got != "[[empty small big]]" {
					t.Errorf("dump contexts started over %s, want one over [empty small big]", got)
				}
				if len(f.contexts) != 0 {
					t.Errorf("%d dump contexts left on the server", len(f.contexts))
				}
			}
		})
	}
}

func TestParallelRetriesResendSameBatch(t *testing.T) {
	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprintf("network-threads=%d", n), func(t *testing.T) { testParallelRetries(t, n) })
	}
}

func testParallelRetries(t *testing.T, networkThreads int) {
	f := newFakeServer(t, "3.12.4")
	f.add("a", 100)
	f.add("b", 40)
	var n atomic.Int64
	f.fault = func(r *http.Request) string {
		if !strings.Contains(r.URL.Path, "/_api/dump/next/") {
			return ""
		}
		switch n.Add(1) % 7 {
		case 2:
			return "cut"
		case 4:
			return "503"
		case 6:
			return "drop"
		}
		return ""
	}
	conn := f.start()
	m := newMemOutput()
	o := testOptions(m)
	o.NetworkThreads = networkThreads
	sum, err := Run(context.Background(), conn, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkCollection(t, m, "a", 100)
	checkCollection(t, m, "b", 40)
	if sum.Retries == 0 {
		t.Error("no retries counted")
	}
	if sum.Documents != 140 {
		t.Errorf("documents %d, want 140", sum.Documents)
	}
}

func TestClassicRestartsCollectionAfterCut(t *testing.T) {
	for _, fault := range []string{"cut", "drop"} {
		t.Run(fault, func(t *testing.T) { testClassicRestart(t, fault) })
	}
}

func testClassicRestart(t *testing.T, fault string) {
	f := newFakeServer(t, "3.11.9")
	f.add("a", 60)
	var n atomic.Int64
	f.fault = func(r *http.Request) string {
		if r.URL.Path == "/_db/shop/_api/replication/dump" && n.Add(1) == 3 {
			return fault // the server's read position has moved: a plain retry would lose a batch
		}
		return ""
	}
	conn := f.start()
	m := newMemOutput()
	sum, err := Run(context.Background(), conn, testOptions(m), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkCollection(t, m, "a", 60)
	if m.aborted != 1 || sum.Retries != 1 || sum.Documents != 60 {
		t.Errorf("aborted %d retries %d documents %d, want 1 1 60", m.aborted, sum.Retries, sum.Documents)
	}
}

func TestNotFoundIsNotRetriedAndNamesTheRequest(t *testing.T) {
	f := newFakeServer(t, "3.12.4")
	f.add("a", 30)
	var next atomic.Int64
	f.fault = func(r *http.Request) string {
		if strings.Contains(r.URL.Path, "/_api/dump/next/") {
			next.Add(1)
			f.contexts = map[string]*fakeDump{} // the context vanished: 404
		}
		return ""
	}
	conn := f.start()
	m := newMemOutput()
	o := testOptions(m)
	o.Threads, o.NetworkThreads = 1, 1 // one request in flight
	_, err := Run(context.Background(), conn, o, nil)
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"collection a", "database shop", "/_api/dump/next/", "404"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if client.Retryable(err) || next.Load() != 1 {
		t.Errorf("404 asked %d times (retryable %v), want once", next.Load(), client.Retryable(err))
	}
	if _, ok := m.files["a"]; m.finished || ok || m.open != 0 {
		t.Errorf("finished %v, file committed %v, %d open: a failed dump must not be finished", m.finished, ok, m.open)
	}
}

func TestGivesUpAfterPersistent503(t *testing.T) {
	f := newFakeServer(t, "3.12.4")
	f.add("a", 10)
	f.fault = func(r *http.Request) string {
		if strings.Contains(r.URL.Path, "/_api/dump/next/") {
			return "503"
		}
		return ""
	}
	conn := f.start()
	conn.Retry.Attempts = 3
	m := newMemOutput()
	_, err := Run(context.Background(), conn, testOptions(m), nil)
	var se *client.ServerError
	if !errors.As(err, &se) || se.Status != 503 || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Fatalf("err = %v", err)
	}
	if m.finished {
		t.Error("finished after failure")
	}
}

func TestSelectionOptions(t *testing.T) {
	inv := &inventory{}
	for _, n := range []string{"a", "b", "c", "_graphs", "_local_x", "d"} {
		c := &invCollection{Parameters: json.RawMessage(`{}`)}
		c.info.Name = n
		c.info.IsSystem = strings.HasPrefix(n, "_")
		if n == "d" {
			c.info.DistributeShardsLike = "a"
		}
		inv.Collections = append(inv.Collections, c)
	}
	names := func(o Options, m *Maskings) (string, error) {
		if _, err := o.Validate(); err != nil {
			return "", err
		}
		sel, err := selectCollections(inv, &o, m)
		if err != nil {
			return "", err
		}
		var out []string
		for _, c := range sel.Collections {
			out = append(out, c.info.Name)
		}
		return strings.Join(out, ","), nil
	}
	o := DefaultOptions()
	cases := []struct {
		mod  func(*Options)
		want string
	}{
		{func(*Options) {}, "a,b,c,d"},
		{func(o *Options) { o.IncludeSystemCollections = true }, "a,b,c,_graphs,d"},
		{func(o *Options) { o.IncludeSystemCollections = true; o.Force = true }, "a,b,c,_graphs,_local_x,d"},
		{func(o *Options) { o.Collections = []string{"b", "missing"} }, "b"},
		{func(o *Options) { o.Collections = []string{"_graphs"} }, "_graphs"},
		{func(o *Options) { o.IgnoreCollections = []string{"a", "c"} }, "b,d"},
		{func(o *Options) { o.Collections = []string{"d"}; o.IgnoreDistributeShardsLikeErrors = true }, "d"},
		{func(o *Options) { o.Collections = []string{"a", "d"} }, "a,d"},
	}
	for i, c := range cases {
		oo := o
		c.mod(&oo)
		got, err := names(oo, nil)
		if err != nil || got != c.want {
			t.Errorf("case %d: %q %v, want %q", i, got, err, c.want)
		}
	}
	oo := o
	oo.Collections = []string{"d"}
	if _, err := names(oo, nil); err == nil || !strings.Contains(err.Error(), "distribut") {
		t.Errorf("distributeShardsLike without prototype: %v", err)
	}
	oo = o
	oo.Collections = []string{"nope"}
	if _, err := names(oo, nil); err == nil || !strings.Contains(err.Error(), "None of the requested collections") {
		t.Errorf("no collection found: %v", err)
	}
	oo = o
	oo.Collections, oo.IgnoreCollections = []string{"a"}, []string{"b"}
	if _, err := names(oo, nil); !errors.Is(err, ErrUsage) {
		t.Errorf("--collection with --ignore-collection: %v", err)
	}
	m, err := ParseMaskings([]byte(`{"a":{"type":"exclude"},"b":{"type":"full"},"c":{"type":"structure"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := names(o, m); got != "b,c" { // not listed and no "*": excluded
		t.Errorf("maskings selection %q, want b,c", got)
	}
}

func TestDumpDataFalseAndStructureMasking(t *testing.T) {
	f := newFakeServer(t, "3.12.4")
	f.add("a", 20)
	f.add("b", 5)
	conn := f.start()
	m := newMemOutput()
	o := testOptions(m)
	o.DumpData = false
	if _, err := Run(context.Background(), conn, o, nil); err != nil {
		t.Fatal(err)
	}
	if m.files["a"] != "" || m.files["b"] != "" || len(m.files) != 2 || len(m.structures) != 2 {
		t.Errorf("--dump-data false wrote %v / structures %d", m.files, len(m.structures))
	}
	for _, r := range f.requests {
		if strings.Contains(r, "/_api/dump/next") {
			t.Errorf("--dump-data false fetched data: %s", r)
		}
	}
}

func TestPlanLargestFirstAndSplit(t *testing.T) {
	f := newFakeServer(t, "3.12.4")
	f.add("small", 2)
	f.add("big", 30)
	f.add("mid", 10)
	conn := f.start()
	e := &engine{conn: conn, opts: DefaultOptions(), rep: progress.Nop{}}
	var colls []*invCollection
	for _, n := range f.order {
		c := &invCollection{}
		c.info.Name = n
		colls = append(colls, c)
	}
	jobs := e.plan(context.Background(), "shop", colls, false, "1")
	var order []string
	for _, j := range jobs {
		order = append(order, fmt.Sprintf("%s:%d", j.name(), j.expected))
	}
	if got := strings.Join(order, ","); got != "big:30,mid:10,small:2" {
		t.Errorf("plan order %s", got)
	}
	// a cluster collection with split files: one job per shard, numbered in shard order
	c := &invCollection{}
	c.info.Name = "sharded"
	c.info.Shards = map[string][]string{"s10": {"PRMR-2"}, "s9": {"PRMR-1"}, "s11": {"PRMR-1", "PRMR-2"}}
	e.opts.SplitFiles = true
	jobs = e.plan(context.Background(), "shop", []*invCollection{c}, true, "")
	order = nil
	for _, j := range jobs {
		order = append(order, fmt.Sprintf("%s@%s#%d", j.name(), j.shards[0].Leader, j.part))
	}
	if got := strings.Join(sortStrings(order), ","); got != "sharded/s10@PRMR-2#1,sharded/s11@PRMR-1#2,sharded/s9@PRMR-1#0" {
		t.Errorf("split plan %s", got)
	}
	e.opts.SplitFiles = false
	e.opts.Shards = []string{"s9", "s11"}
	jobs = e.plan(context.Background(), "shop", []*invCollection{c}, true, "")
	if len(jobs) != 1 || len(jobs[0].shards) != 2 || jobs[0].part != -1 || jobs[0].shards[0].ID != "s9" {
		t.Errorf("non-split plan with --shard: %+v", jobs[0])
	}
}

func TestMaskedDump(t *testing.T) {
	f := newFakeServer(t, "3.12.4")
	f.add("people", 12)
	conn := f.start()
	m := newMemOutput()
	o := testOptions(m)
	dir := t.TempDir()
	o.Maskings = dir + "/maskings.json"
	writeFile(t, o.Maskings, `{"people":{"type":"masked","maskings":[{"path":"name","type":"xifyFront","unmaskedLength":2},{"path":".email","type":"email"}]}}`)
	if _, err := Run(context.Background(), conn, o, nil); err != nil {
		t.Fatal(err)
	}
	data := m.files["people"]
	if got := keysOf(t, data); len(got) != 12 {
		t.Fatalf("%d documents", len(got))
	}
	for _, line := range strings.Split(strings.TrimSpace(data), "\n") {
		var d map[string]any
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatal(err)
		}
		if name := d["name"].(string); !strings.HasPrefix(name, "xxme ") {
			t.Errorf("name not masked: %q", name)
		}
		email := d["nested"].(map[string]any)["email"].(string)
		if !strings.HasSuffix(email, ".invalid") || strings.Contains(email, "x.org") {
			t.Errorf("email not masked: %q", email)
		}
		if _, ok := d["_key"].(string); !ok || d["n"] == nil {
			t.Errorf("unmasked fields lost: %v", d)
		}
	}
}
