package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/pgzip"
	"golang.org/x/sync/errgroup"

	"github.com/arangobackup/godump/arangotest"
	"github.com/arangobackup/godump/client"
)

// BenchmarkDump measures godump on a generated data set (BENCH_BYTES of JSON, default 64 MiB;
// `make bench` sets 1 GiB) held by an in-process arangotest: throughput (MB/s of JSON,
// documents/s) and peak RSS of the godump process, with and without compression, 1 and 2
// threads; beside them the floors of the same run: fetching the same data over HTTP into a
// file without processing, and pgzip compressing the same bytes.
func BenchmarkDump(b *testing.B) {
	env := benchSetup(b)
	for _, compress := range []bool{false, true} {
		for _, threads := range []int{1, 2} {
			name := fmt.Sprintf("godump/compress=%v/threads=%d", compress, threads)
			b.Run(name, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					dir := filepath.Join(b.TempDir(), "dump")
					args := []string{"--server.endpoint", env.tg.Endpoint, "--server.username", "root", "--server.password", "",
						"--server.database", env.db, "--output-directory", dir, "--progress", "false",
						"--threads", strconv.Itoa(threads), "--compress-output", strconv.FormatBool(compress)}
					cmd := toolCommand(context.Background(), "godump", args...)
					var stderr bytes.Buffer
					cmd.Stderr = &stderr
					start := time.Now()
					if err := cmd.Run(); err != nil {
						b.Fatalf("godump: %v\n%s", err, stderr.String())
					}
					el := time.Since(start).Seconds()
					rss := float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024 // KiB -> MiB
					b.ReportMetric(float64(env.bytes)/1e6/el, "MB/s")
					b.ReportMetric(float64(env.docs)/el, "docs/s")
					b.ReportMetric(rss, "peakRSS_MiB")
					b.ReportMetric(dirBytes(dir)/1e6, "out_MB")
					fmt.Fprintf(os.Stderr, "%-34s %8.1f MB/s %10.0f docs/s  peak RSS %6.1f MiB  (%.0f MB in %.2fs)\n", name, float64(env.bytes)/1e6/el, float64(env.docs)/el, rss, float64(env.bytes)/1e6, el)
				}
			})
		}
	}
	for _, threads := range []int{1, 2} {
		name := fmt.Sprintf("floor/http-fetch/threads=%d", threads)
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				dir := b.TempDir()
				start := time.Now()
				n := env.fetchRaw(b, dir, threads)
				el := time.Since(start).Seconds()
				if n < env.bytes*9/10 {
					b.Fatalf("fetched %d bytes, data set has %d", n, env.bytes)
				}
				b.ReportMetric(float64(n)/1e6/el, "MB/s")
				fmt.Fprintf(os.Stderr, "%-34s %8.1f MB/s\n", name, float64(n)/1e6/el)
			}
		})
	}
	b.Run("floor/pgzip", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			dir := b.TempDir()
			env.fetchRaw(b, dir, 2)
			files, _ := filepath.Glob(filepath.Join(dir, "*.raw"))
			var total int64
			start := time.Now()
			for _, f := range files {
				in, err := os.Open(f)
				if err != nil {
					b.Fatal(err)
				}
				out, err := os.Create(f + ".gz")
				if err != nil {
					b.Fatal(err)
				}
				zw := pgzip.NewWriter(out)
				n, err := io.Copy(zw, in)
				if err == nil {
					err = zw.Close()
				}
				in.Close()
				out.Close()
				if err != nil {
					b.Fatal(err)
				}
				total += n
			}
			el := time.Since(start).Seconds()
			b.ReportMetric(float64(total)/1e6/el, "MB/s")
			fmt.Fprintf(os.Stderr, "%-34s %8.1f MB/s\n", "floor/pgzip", float64(total)/1e6/el)
		}
	})
}

type benchEnv struct {
	tg    *target
	db    string
	colls []string
	bytes int64 // JSON bytes of the documents (one line each)
	docs  int64
}

var (
	benchOnce sync.Once
	benchData *benchEnv
)

// benchSetup loads the generated data set once per process.
func benchSetup(b *testing.B) *benchEnv {
	benchOnce.Do(func() {
		size := int64(64 << 20)
		if v := os.Getenv("BENCH_BYTES"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatalf("BENCH_BYTES=%q: %v", v, err)
			}
			size = n
		}
		srv, err := arangotest.NewServer(arangotest.Options{})
		if err != nil {
			b.Fatal(err)
		}
		// the server lives for the whole benchmark process
		env := &benchEnv{tg: &target{Endpoint: srv.Endpoint(), Server: srv, Username: "root"}, db: "bench"}
		o := client.DefaultOptions()
		o.Endpoints = []string{srv.Endpoint()}
		c, err := client.Connect(context.Background(), o)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		if err := c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/database", JSON: map[string]any{"name": env.db}}, nil); err != nil {
			b.Fatal(err)
		}
		// four collections of different sizes, so that both threads have work
		weights := []int64{4, 3, 2, 1}
		start := time.Now()
		var g errgroup.Group
		g.SetLimit(2)
		var mu sync.Mutex
		for i, w := range weights {
			name := "coll" + strconv.Itoa(i)
			env.colls = append(env.colls, name)
			if err := c.DoJSON(ctx, client.Request{Method: "POST", Database: env.db, Path: "/_api/collection", JSON: map[string]any{"name": name}}, nil); err != nil {
				b.Fatal(err)
			}
			target := size * w / 10
			g.Go(func() error {
				n, d, err := loadCollection(ctx, c, env.db, name, target, uint64(i))
				mu.Lock()
				env.bytes += n
				env.docs += d
				mu.Unlock()
				return err
			})
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(os.Stderr, "bench data set: %d documents, %.1f MB of JSON in %d collections (loaded in %.1fs)\n",
			env.docs, float64(env.bytes)/1e6, len(env.colls), time.Since(start).Seconds())
		benchData = env
	})
	if benchData == nil {
		b.Fatal("bench setup failed")
	}
	return benchData
}

var benchWords = strings.Fields("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua Köln Zürich 東京 naïve café")

// loadCollection imports generated documents (about 1 KB each) until target bytes.
func loadCollection(ctx context.Context, c *client.Conn, db, coll string, target int64, seed uint64) (bytesOut, docs int64, err error) {
	rng := rand.New(rand.NewPCG(seed, 42))
	var buf bytes.Buffer
	flush := func() error {
		if buf.Len() == 0 {
			return nil
		}
		q := map[string][]string{"collection": {coll}, "type": {"documents"}}
		var res struct {
			Created int64 `json:"created"`
			Errors  int64 `json:"errors"`
		}
		err := c.DoJSON(ctx, client.Request{Method: "POST", Database: db, Path: "/_api/import", Query: q, Body: buf.Bytes()}, &res)
		lines := int64(bytes.Count(buf.Bytes(), []byte{'\n'}))
		buf.Reset()
		if err == nil && (res.Errors > 0 || res.Created != lines) {
			err = fmt.Errorf("import into %s: %d created, %d errors, want %d created", coll, res.Created, res.Errors, lines)
		}
		return err
	}
	for i := 0; bytesOut < target; i++ {
		start := buf.Len()
		fmt.Fprintf(&buf, `{"_key":"%s%d","n":%d,"f":%g,"active":%v,"name":"user %d","email":"user%d@example.com","tags":["t%d","t%d"],"text":"`,
			coll, i, i, rng.Float64()*1e6, rng.IntN(2) == 0, i, i, rng.IntN(50), rng.IntN(50))
		for w := 0; w < 100+rng.IntN(40); w++ {
			buf.WriteString(benchWords[rng.IntN(len(benchWords))])
			buf.WriteByte(' ')
		}
		buf.WriteString(`","nested":{"a":` + strconv.Itoa(rng.IntN(1000)) + `,"b":"` + strconv.FormatUint(rng.Uint64(), 36) + `"}}` + "\n")
		bytesOut += int64(buf.Len() - start)
		docs++
		if buf.Len() >= 4<<20 {
			if err := flush(); err != nil {
				return bytesOut, docs, err
			}
		}
	}
	return bytesOut, docs, flush()
}

// fetchRaw is the network floor: every collection through the same parallel dump API,
// bodies copied into files without looking at them.
func (env *benchEnv) fetchRaw(b *testing.B, dir string, threads int) int64 {
	var g errgroup.Group
	g.SetLimit(threads)
	var mu sync.Mutex
	var total int64
	hc := &http.Client{}
	base := env.tg.Endpoint + "/_db/" + env.db
	for _, coll := range env.colls {
		g.Go(func() error {
			body := fmt.Sprintf(`{"docsPerBatch":10000,"batchSize":16777216,"prefetchCount":5,"parallelism":5,"shards":[%q]}`, coll)
			resp, err := hc.Post(base+"/_api/dump/start", "application/json", strings.NewReader(body))
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			id := resp.Header.Get("x-arango-dump-id")
			if id == "" {
				return fmt.Errorf("dump start: %s", resp.Status)
			}
			f, err := os.Create(filepath.Join(dir, coll+".raw"))
			if err != nil {
				return err
			}
			defer f.Close()
			var n int64
			for batch := 0; ; batch++ {
				u := base + "/_api/dump/next/" + id + "?batchId=" + strconv.Itoa(batch)
				if batch > 0 {
					u += "&lastBatch=" + strconv.Itoa(batch-1)
				}
				resp, err := hc.Post(u, "", nil)
				if err != nil {
					return err
				}
				if resp.StatusCode == http.StatusNoContent {
					resp.Body.Close()
					break
				}
				m, err := io.Copy(f, resp.Body)
				resp.Body.Close()
				if err != nil {
					return err
				}
				n += m
			}
			req, _ := http.NewRequest(http.MethodDelete, base+"/_api/dump/"+id, nil)
			if resp, err := hc.Do(req); err == nil {
				resp.Body.Close()
			}
			mu.Lock()
			total += n
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	return total
}

func dirBytes(dir string) float64 {
	var n int64
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if info, err := e.Info(); err == nil {
			n += info.Size()
		}
	}
	return float64(n)
}
