package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arangobackup/godump/client"
)

// BenchmarkSeed compares a seed export with a full dump of the same data, in one run: the
// data set of BenchmarkDump (BENCH_BYTES of JSON in coll0..coll3, default 64 MiB; `make
// bench` sets 1 GiB) plus an edge collection "links" over the largest collection, coll0
// (three out-edges per document, to documents chosen by a fixed formula), held by a
// cmd/arangotest process (its edge index of links built before measuring). It measures, as separate godump processes (wall time, peak RSS by
// VmHWM, CPU time; BENCH_SEED_OUT=dir keeps the seed export there):
//   - godump seed --sample coll0=1% --follow links:out:2 (uncompressed, the seed default),
//   - the full godump of the database (uncompressed and compressed, 2 threads).
func BenchmarkSeed(b *testing.B) {
	size := int64(64 << 20)
	if v := os.Getenv("BENCH_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			b.Fatalf("BENCH_BYTES=%q: %v", v, err)
		}
		size = n
	}
	tg, stop := rsStartServerProcess(b)
	defer stop()
	o := client.DefaultOptions()
	o.Endpoints = []string{tg.Endpoint}
	c, err := client.Connect(context.Background(), o)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	db := "seedbench"
	do := func(method, dbName, path string, q map[string][]string, body any) {
		b.Helper()
		if err := c.DoJSON(ctx, client.Request{Method: method, Database: dbName, Path: path, Query: q, JSON: body}, nil); err != nil {
			b.Fatal(err)
		}
	}
	do("POST", "_system", "/_api/database", nil, map[string]any{"name": db})
	start := time.Now()
	var total, docs0 int64
	for i, bc := range benchColls {
		do("POST", db, "/_api/collection", nil, map[string]any{"name": bc.name})
		do("POST", db, "/_api/index", map[string][]string{"collection": {bc.name}}, benchIndex)
		n, d, err := dmLoadCollection(ctx, c, db, i, size*bc.weight/10)
		if err != nil {
			b.Fatal(err)
		}
		total += n
		if i == 0 {
			docs0 = d
		}
	}
	do("POST", db, "/_api/collection", nil, map[string]any{"name": "links", "type": 3})
	var buf []byte
	edges := int64(0)
	flush := func() {
		if len(buf) == 0 {
			return
		}
		var res struct {
			Created int64 `json:"created"`
		}
		if err := c.DoJSON(ctx, client.Request{Method: "POST", Database: db, Path: "/_api/import", Query: map[string][]string{"collection": {"links"}, "type": {"documents"}},
			Body: buf, Header: map[string]string{"Content-Type": "application/json"}}, &res); err != nil {
			b.Fatal(err)
		}
		buf = buf[:0]
	}
	for i := int64(0); i < docs0; i++ {
		for j, t := range []int64{(i*7919 + 1) % docs0, (i*104729 + 3) % docs0, (i*31 + 17) % docs0} {
			buf = fmt.Appendf(buf, `{"_key":"l%d_%d","_from":"coll0/coll0%d","_to":"coll0/coll0%d","w":%d}`+"\n", i, j, i, t, (i+int64(j))%100)
			edges++
		}
		if len(buf) > 4<<20 {
			flush()
		}
	}
	flush()
	fmt.Fprintf(os.Stderr, "seed bench data set: %.1f MB of JSON in coll0..coll3 (%d documents in coll0), %d edges in links (loaded in %.1fs)\n",
		float64(total)/1e6, docs0, edges, time.Since(start).Seconds())

	// arangod keeps its edge index current on every write; arangotest builds it on the first
	// lookup after a change. Build it before measuring, as the real server would have it.
	if err := c.DoJSON(ctx, client.Request{Method: "POST", Database: db, Path: "/_api/cursor",
		JSON: map[string]any{"query": "FOR e IN links FILTER e._from == @v RETURN e", "bindVars": map[string]any{"v": "coll0/coll00"}}}, nil); err != nil {
		b.Fatal(err)
	}
	base := []string{"--server.endpoint", tg.Endpoint, "--server.username", "root", "--server.password", "", "--server.database", db}
	measure := func(name string, args []string) {
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				dir := filepath.Join(b.TempDir(), "out")
				if d := os.Getenv("BENCH_SEED_OUT"); d != "" && i == 0 && strings.HasPrefix(name, "seed/") {
					dir = d // kept, to compare the exports of two builds
				}
				cmd := toolCommand(context.Background(), "godump", append(append(args, base...), "--output-directory", dir)...)
				el, hwm, _, cpu, out := dmRunMeasured(b, cmd)
				b.ReportMetric(el, "wall_s")
				b.ReportMetric(hwm, "peakRSS_MiB")
				b.ReportMetric(cpu, "cpu_s")
				b.ReportMetric(dmDirBytes(dir)/1e6, "out_MB")
				fmt.Fprintf(os.Stderr, "%-40s %7.2fs  peak RSS %6.1f MiB  cpu %.2fs  -> %.1f MB\n", name, el, hwm, cpu, dmDirBytes(dir)/1e6)
				if name == "seed/coll0=1%/links:out:2" && i == 0 {
					fmt.Fprint(os.Stderr, out)
				}
			}
		})
	}
	measure("seed/coll0=1%/links:out:2", []string{"seed", "--sample", "coll0=1%", "--follow", "links:out:2", "--seed", "bench"})
	measure("dump/full/compress=false/threads=2", []string{"--threads", "2", "--compress-output", "false", "--progress", "false"})
	measure("dump/full/compress=true/threads=2", []string{"--threads", "2", "--compress-output", "true", "--progress", "false"})
}
