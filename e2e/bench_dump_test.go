package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
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
	env := dmBenchSetup(b)
	fetcher := dmBuildFetcher(b)
	// warm the server up (its first dump of a collection is slower) before measuring anything
	if out, err := exec.Command(fetcher, env.tg.Endpoint+"/_db/"+env.db, b.TempDir(), "2", strings.Join(env.colls, ","), "nosync").CombinedOutput(); err != nil {
		b.Fatalf("warm-up fetch: %v\n%s", err, out)
	}
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
					el, hwm, maxrss, cpu, out := dmRunMeasured(b, cmd)
					b.ReportMetric(float64(env.bytes)/1e6/el, "MB/s")
					b.ReportMetric(float64(env.docs)/el, "docs/s")
					b.ReportMetric(hwm, "peakRSS_MiB")
					b.ReportMetric(dmDirBytes(dir)/1e6, "out_MB")
					b.ReportMetric(cpu, "cpu_s")
					if got := dmDirBytes(dir); got < float64(env.bytes)/20 {
						b.Fatalf("dump holds %.0f bytes for %d bytes of data:\n%s", got, env.bytes, out)
					}
					fmt.Fprintf(os.Stderr, "%-34s %8.1f MB/s %10.0f docs/s  peak RSS %6.1f MiB (rusage Maxrss %6.1f MiB)  %.0f MB in %.2fs, cpu %.2fs -> %.0f MB\n",
						name, float64(env.bytes)/1e6/el, float64(env.docs)/el, hwm, maxrss, float64(env.bytes)/1e6, el, cpu, dmDirBytes(dir)/1e6)
				}
			})
		}
	}
	for _, floor := range []struct {
		threads int
		sync    string
	}{{1, "nosync"}, {2, "nosync"}, {1, "sync"}, {2, "sync"}} {
		threads := floor.threads
		name := fmt.Sprintf("floor/http-fetch/threads=%d", threads)
		if floor.sync == "sync" {
			name += "/fsync" // godump fsyncs every file before its manifest marks the dump complete
		}
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				dir := b.TempDir()
				cmd := exec.Command(fetcher, env.tg.Endpoint+"/_db/"+env.db, dir, strconv.Itoa(threads), strings.Join(env.colls, ","), floor.sync)
				el, hwm, _, cpu, out := dmRunMeasured(b, cmd)
				n := int64(dmDirBytes(dir))
				if n < env.bytes*9/10 {
					b.Fatalf("fetched %d bytes, data set has %d:\n%s", n, env.bytes, out)
				}
				b.ReportMetric(float64(n)/1e6/el, "MB/s")
				b.ReportMetric(hwm, "peakRSS_MiB")
				b.ReportMetric(cpu, "cpu_s")
				fmt.Fprintf(os.Stderr, "%-34s %8.1f MB/s  peak RSS %6.1f MiB, cpu %.2fs\n", name, float64(n)/1e6/el, hwm, cpu)
			}
		})
	}
	b.Run("floor/pgzip", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			dir := b.TempDir()
			if out, err := exec.Command(fetcher, env.tg.Endpoint+"/_db/"+env.db, dir, "2", strings.Join(env.colls, ","), "nosync").CombinedOutput(); err != nil {
				b.Fatalf("fetch: %v\n%s", err, out)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "*.raw"))
			var total int64
			var ru0, ru1 syscall.Rusage
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
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
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano()).Seconds()
			b.ReportMetric(float64(total)/1e6/el, "MB/s")
			b.ReportMetric(cpu, "cpu_s")
			fmt.Fprintf(os.Stderr, "%-34s %8.1f MB/s  cpu %.2fs (in-process)\n", "floor/pgzip", float64(total)/1e6/el, cpu)
		}
	})
}

type dmBenchEnv struct {
	tg    *target
	db    string
	colls []string
	bytes int64 // JSON bytes of the documents (one line each)
	docs  int64
}

var (
	dmBenchOnce sync.Once
	dmBenchData *dmBenchEnv
)

// dmBenchSetup loads the generated data set once per process.
func dmBenchSetup(b *testing.B) *dmBenchEnv {
	dmBenchOnce.Do(func() {
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
		env := &dmBenchEnv{tg: &target{Endpoint: srv.Endpoint(), Server: srv, Username: "root"}, db: "bench"}
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
				n, d, err := dmLoadCollection(ctx, c, env.db, name, target, uint64(i))
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
		dmBenchData = env
	})
	if dmBenchData == nil {
		b.Fatal("bench setup failed")
	}
	return dmBenchData
}

var dmBenchWords = strings.Fields("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua Köln Zürich 東京 naïve café")

// dmLoadCollection imports generated documents (about 1 KB each) until target bytes.
func dmLoadCollection(ctx context.Context, c *client.Conn, db, coll string, target int64, seed uint64) (bytesOut, docs int64, err error) {
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
			buf.WriteString(dmBenchWords[rng.IntN(len(dmBenchWords))])
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

// dmRunMeasured runs cmd and returns its wall time, its peak RSS in MiB (VmHWM of
// /proc/<pid>/status, polled while it runs) and rusage's Maxrss in MiB. Maxrss is reported
// for reference only: it counts the memory of the forking test process (the data set and the
// in-process server), which the child shares until it execs. cpu is its user+system time in
// seconds, a figure that, unlike throughput, does not depend on what else the machine runs.
func dmRunMeasured(b *testing.B, cmd *exec.Cmd) (seconds, hwm, maxrss, cpu float64, output string) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	var peak int64
	go func() {
		status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		for {
			if kb := dmVmHWM(status); kb > peak {
				peak = kb
			}
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	err := cmd.Wait()
	seconds = time.Since(start).Seconds()
	close(done)
	if err != nil {
		b.Fatalf("%s: %v\n%s", cmd.Path, err, out.String())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	maxrss = float64(ru.Maxrss) / 1024
	cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	return seconds, float64(peak) / 1024, maxrss, cpu, out.String()
}

// dmVmHWM reads the VmHWM line (peak resident set, KiB) of a /proc status file; 0 if gone.
func dmVmHWM(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// dmFetcherSource is the network floor: a separate process (like godump) that fetches every
// collection through the same parallel dump API and copies the bodies into files without
// looking at them.
const dmFetcherSource = `package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

func main() {
	base, dir := os.Args[1], os.Args[2]
	threads, _ := strconv.Atoi(os.Args[3])
	colls := strings.Split(os.Args[4], ",")
	doSync := os.Args[5] == "sync"
	sem := make(chan struct{}, threads)
	var wg sync.WaitGroup
	for _, coll := range colls {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fetch(base, dir, coll, doSync); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}()
	}
	wg.Wait()
}

func fetch(base, dir, coll string, doSync bool) error {
	body := fmt.Sprintf("{\"docsPerBatch\":10000,\"batchSize\":8388608,\"prefetchCount\":5,\"parallelism\":5,\"shards\":[%q]}", coll)
	resp, err := http.Post(base+"/_api/dump/start", "application/json", strings.NewReader(body))
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
	for batch := 0; ; batch++ {
		u := base + "/_api/dump/next/" + id + "?batchId=" + strconv.Itoa(batch)
		if batch > 0 {
			u += "&lastBatch=" + strconv.Itoa(batch-1)
		}
		resp, err := http.Post(u, "", nil)
		if err != nil {
			return err
		}
		if resp.StatusCode == http.StatusNoContent {
			resp.Body.Close()
			break
		}
		_, err = io.Copy(f, resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
	}
	if doSync {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	req, _ := http.NewRequest(http.MethodDelete, base+"/_api/dump/"+id, nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	return nil
}
`

// dmBuildFetcher compiles dmFetcherSource (standard library only) into a temporary binary.
func dmBuildFetcher(b *testing.B) string {
	dir := b.TempDir()
	src := filepath.Join(dir, "fetch.go")
	if err := os.WriteFile(src, []byte(dmFetcherSource), 0o644); err != nil {
		b.Fatal(err)
	}
	exe := filepath.Join(dir, "fetch")
	cmd := exec.Command("go", "build", "-o", exe, src)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GO111MODULE=on")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build the fetch floor: %v\n%s", err, out)
	}
	return exe
}

func dmDirBytes(dir string) float64 {
	var n int64
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if info, err := e.Info(); err == nil {
			n += info.Size()
		}
	}
	return float64(n)
}
