package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/pgzip"
	"golang.org/x/sync/errgroup"

	"github.com/arangobackup/godump/client"
)

// BenchmarkDump measures godump on a generated data set (BENCH_BYTES of JSON, default 64 MiB;
// `make bench` sets 1 GiB) held by a cmd/arangotest process: throughput (MB/s of JSON,
// documents/s), peak RSS and CPU time of the godump process and the CPU time the server
// spent serving it (both in CPU seconds per GB of documents, the figure that carries over to a
// machine where the server runs elsewhere), with and without compression, 1 and 2 threads.
// Beside them the floors of the same run:
//   - fetching the same data over HTTP into files without processing (e2e/internal/fetchfloor),
//     with and without the fsync godump does, and with the SHA-256 of every byte written that
//     godump's manifest records (the same work as an uncompressed dump, its one check that
//     touches every byte),
//   - pgzip compressing the same bytes (in this process, from files in the page cache),
//   - both at once: the minimal client fetching through pgzip into synced files. On a machine
//     where the server shares the cores with the client, this is the floor a compressed dump
//     can reach: the compressor, the client's reads and the server's work all take CPU from the
//     same cores, which the two separate floors do not show.
//
// It ends with the goals and the measured value of each.
func BenchmarkDump(b *testing.B) {
	env := dmBenchSetup(b)
	fetcher := dmBuildFetcher(b)
	colls := strings.Join(env.colls, ",")
	// warm the server up (its first dump of a collection is slower) before measuring anything
	if out, err := exec.Command(fetcher, env.tg.Endpoint+"/_db/"+env.db, b.TempDir(), "2", colls, "nosync", "raw").CombinedOutput(); err != nil {
		b.Fatalf("warm-up fetch: %v\n%s", err, out)
	}
	gb := float64(env.bytes) / 1e9 // CPU figures are seconds per GB (10^9 bytes) of documents
	mbps := map[string]float64{}   // MB/s of each measurement, for the goals
	cpuGB := map[string]float64{}  // the tool's (or floor client's) CPU seconds per GB
	var rss []float64
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
					benchProfile(cmd, "GODUMP_CPUPROFILE", name)
					srv0 := dmProcCPU(env.serverPID)
					el, hwm, _, cpu, out := dmRunMeasured(b, cmd)
					srvCPU := dmProcCPU(env.serverPID) - srv0
					b.ReportMetric(float64(env.bytes)/1e6/el, "MB/s")
					b.ReportMetric(float64(env.docs)/el, "docs/s")
					b.ReportMetric(hwm, "peakRSS_MiB")
					b.ReportMetric(dmDirBytes(dir)/1e6, "out_MB")
					b.ReportMetric(cpu/gb, "cpu_s/GB")
					b.ReportMetric(srvCPU/gb, "server_cpu_s/GB")
					if got := dmDirBytes(dir); got < float64(env.bytes)/20 {
						b.Fatalf("dump holds %.0f bytes for %d bytes of data:\n%s", got, env.bytes, out)
					}
					mbps[name] = float64(env.bytes) / 1e6 / el
					cpuGB[name] = cpu / gb
					rss = append(rss, hwm)
					fmt.Fprintf(os.Stderr, "%-42s %7.1f MB/s %8.0f docs/s  peak RSS %6.1f MiB  %.0f MB in %.2fs, cpu %.2f s/GB (server %.2f s/GB) -> %.0f MB\n",
						name, float64(env.bytes)/1e6/el, float64(env.docs)/el, hwm, float64(env.bytes)/1e6, el, cpu/gb, srvCPU/gb, dmDirBytes(dir)/1e6)
				}
			})
		}
	}
	for _, floor := range []struct {
		threads     int
		sync, codec string
	}{{1, "nosync", "raw"}, {2, "nosync", "raw"}, {1, "sync", "raw"}, {2, "sync", "raw"},
		{1, "sync", "raw+sha256"}, {2, "sync", "raw+sha256"}, {1, "sync", "gzip"}, {2, "sync", "gzip"}} {
		threads := floor.threads
		name := fmt.Sprintf("floor/http-fetch/threads=%d", threads)
		if floor.sync == "sync" {
			name += "/fsync" // godump fsyncs every file before its manifest marks the dump complete
		}
		switch floor.codec {
		case "raw+sha256": // the same work as godump's uncompressed dump: its SHA-256 of every byte
			name = fmt.Sprintf("floor/http-fetch+sha256/threads=%d/fsync", threads)
		case "gzip":
			name = fmt.Sprintf("floor/http-fetch+pgzip/threads=%d/fsync", threads)
		}
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				dir := b.TempDir()
				cmd := exec.Command(fetcher, env.tg.Endpoint+"/_db/"+env.db, dir, strconv.Itoa(threads), colls, floor.sync, floor.codec)
				srv0 := dmProcCPU(env.serverPID)
				el, hwm, _, cpu, out := dmRunMeasured(b, cmd)
				srvCPU := dmProcCPU(env.serverPID) - srv0
				n := int64(dmDirBytes(dir))
				if floor.codec != "gzip" && n < env.bytes*9/10 || n < env.bytes/20 {
					b.Fatalf("fetched %d bytes, data set has %d:\n%s", n, env.bytes, out)
				}
				b.ReportMetric(float64(env.bytes)/1e6/el, "MB/s")
				b.ReportMetric(hwm, "peakRSS_MiB")
				b.ReportMetric(cpu/gb, "cpu_s/GB")
				b.ReportMetric(srvCPU/gb, "server_cpu_s/GB")
				mbps[name] = float64(env.bytes) / 1e6 / el
				cpuGB[name] = cpu / gb
				fmt.Fprintf(os.Stderr, "%-42s %7.1f MB/s  peak RSS %6.1f MiB, cpu %.2f s/GB (server %.2f s/GB)\n", name, float64(env.bytes)/1e6/el, hwm, cpu/gb, srvCPU/gb)
			}
		})
	}
	b.Run("floor/pgzip", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			dir := b.TempDir()
			if out, err := exec.Command(fetcher, env.tg.Endpoint+"/_db/"+env.db, dir, "2", colls, "nosync", "raw").CombinedOutput(); err != nil {
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
			b.ReportMetric(cpu/(float64(total)/1e9), "cpu_s/GB")
			mbps["floor/pgzip"] = float64(total) / 1e6 / el
			fmt.Fprintf(os.Stderr, "%-42s %7.1f MB/s  cpu %.2f s/GB (in-process)\n", "floor/pgzip", float64(total)/1e6/el, cpu/(float64(total)/1e9))
		}
	})
	// The goals (issues 4 and 16), each against the floor of the same run.
	atLeast := func(what string, got, floor float64) {
		if got == 0 || floor == 0 {
			return
		}
		verdict := "met"
		if got/floor < 0.85 {
			verdict = "MISSED"
		}
		fmt.Fprintf(os.Stderr, "goal %-70s %5.1f %% of the floor (at least 85 %%): %s\n", what, 100*got/floor, verdict)
	}
	cpuGoal := func(what string, got, floor float64) {
		if got == 0 || floor == 0 {
			return
		}
		verdict := "met"
		if got/floor > 1.2 {
			verdict = "MISSED"
		}
		fmt.Fprintf(os.Stderr, "goal %-70s %5.2f x the floor's (at most 1.2): %s\n", what, got/floor, verdict)
	}
	for _, threads := range []int{1, 2} {
		t := strconv.Itoa(threads)
		plain, gz := "godump/compress=false/threads="+t, "godump/compress=true/threads="+t
		fetch := "floor/http-fetch/threads=" + t + "/fsync"
		hashed := "floor/http-fetch+sha256/threads=" + t + "/fsync"
		fetchGz := "floor/http-fetch+pgzip/threads=" + t + "/fsync"
		cpuGoal("CPU/GB godump --compress-output false --threads "+t+" / fetch+fsync floor", cpuGB[plain], cpuGB[fetch])
		cpuGoal("CPU/GB godump --compress-output false --threads "+t+" / fetch+sha256+fsync", cpuGB[plain], cpuGB[hashed])
		cpuGoal("CPU/GB godump --threads "+t+" (gzip) / fetch+pgzip+fsync floor", cpuGB[gz], cpuGB[fetchGz])
		atLeast("MB/s godump --compress-output false --threads "+t+" / fetch+fsync floor", mbps[plain], mbps[fetch])
		atLeast("MB/s godump --compress-output false --threads "+t+" / fetch+sha256+fsync", mbps[plain], mbps[hashed])
		atLeast("MB/s godump --threads "+t+" (gzip) / slower of fetch+fsync and pgzip", mbps[gz], min(mbps[fetch], mbps["floor/pgzip"]))
		atLeast("MB/s godump --threads "+t+" (gzip) / fetch+pgzip+fsync floor", mbps[gz], mbps[fetchGz])
	}
	if len(rss) > 0 {
		peak := slices.Max(rss)
		verdict := "met"
		if peak >= 200*1e6/(1<<20) {
			verdict = "MISSED"
		}
		fmt.Fprintf(os.Stderr, "goal %-70s %5.1f MiB (under 200 MB): %s\n", "peak RSS of godump (all runs)", peak, verdict)
	}
}

type dmBenchEnv struct {
	tg        *target
	serverPID int // the arangotest process
	db        string
	colls     []string
	bytes     int64 // JSON bytes of the documents (one line each)
	docs      int64
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
		// A server process of its own, as for a real dump (and as BenchmarkRestore does): its
		// memory and garbage collector stay out of this process, where the pgzip floor runs,
		// and its CPU time is measured apart from godump's. It lives until the benchmarks end.
		tg, stop := rsStartServerProcess(b)
		atExit(stop)
		env := &dmBenchEnv{tg: tg, serverPID: tg.PID, db: "bench"}
		o := client.DefaultOptions()
		o.Endpoints = []string{tg.Endpoint}
		c, err := client.Connect(context.Background(), o)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		if err := c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/database", JSON: map[string]any{"name": env.db}}, nil); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		var g errgroup.Group
		g.SetLimit(2)
		var mu sync.Mutex
		for i, bc := range benchColls {
			name := bc.name
			env.colls = append(env.colls, name)
			if err := c.DoJSON(ctx, client.Request{Method: "POST", Database: env.db, Path: "/_api/collection", JSON: map[string]any{"name": name}}, nil); err != nil {
				b.Fatal(err)
			}
			if err := c.DoJSON(ctx, client.Request{Method: "POST", Database: env.db, Path: "/_api/index", Query: map[string][]string{"collection": {name}}, JSON: benchIndex}, nil); err != nil {
				b.Fatal(err)
			}
			target := size * bc.weight / 10
			g.Go(func() error {
				n, d, err := dmLoadCollection(ctx, c, env.db, i, target)
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

// dmLoadCollection imports the documents of benchmark collection collIndex (see benchColls)
// until target bytes of them.
func dmLoadCollection(ctx context.Context, c *client.Conn, db string, collIndex int, target int64) (bytesOut, docs int64, err error) {
	coll := benchColls[collIndex].name
	gen := newBenchDocGen(collIndex)
	var buf []byte
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		q := map[string][]string{"collection": {coll}, "type": {"documents"}}
		var res struct {
			Created int64 `json:"created"`
			Errors  int64 `json:"errors"`
		}
		err := c.DoJSON(ctx, client.Request{Method: "POST", Database: db, Path: "/_api/import", Query: q, Body: buf,
			Header: map[string]string{"Content-Type": "application/json"}}, &res)
		lines := int64(bytes.Count(buf, []byte{'\n'}))
		buf = buf[:0]
		if err == nil && (res.Errors > 0 || res.Created != lines) {
			err = fmt.Errorf("import into %s: %d created, %d errors, want %d created", coll, res.Created, res.Errors, lines)
		}
		return err
	}
	for bytesOut < target {
		n := len(buf)
		key, rest := gen.next()
		buf = importLine(buf, key, rest)
		bytesOut += int64(len(buf) - n)
		docs++
		if len(buf) >= 4<<20 {
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
	peak, cpu, err := runMeasured(b, cmd)
	seconds = time.Since(start).Seconds()
	if err != nil {
		b.Fatalf("%s: %v\n%s", cmd.Path, err, out.String())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	maxrss = float64(ru.Maxrss) / 1024
	return seconds, float64(peak) / (1 << 20), maxrss, cpu, out.String()
}

// runMeasured runs cmd to its end and returns its peak RSS in bytes (VmHWM of
// /proc/<pid>/status, polled every 10 ms while it runs; rusage's Maxrss where there is no
// /proc), its user+system CPU time in seconds and what Wait returned. It fails the benchmark
// if cmd cannot start.
func runMeasured(b *testing.B, cmd *exec.Cmd) (peak int64, cpu float64, err error) {
	b.Helper()
	if err := cmd.Start(); err != nil {
		b.Fatalf("start %s: %v", cmd.Path, err)
	}
	done := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		for {
			if kb := dmVmHWM(status); kb*1024 > peak {
				peak = kb * 1024
			}
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	err = cmd.Wait()
	close(done)
	<-polled
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
		if peak == 0 {
			peak = ru.Maxrss * 1024
		}
	}
	return peak, cpu, err
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

// benchProfile has a tool write a CPU profile of its run (its hidden GODUMP_CPUPROFILE or
// GORESTORE_CPUPROFILE hook) into BENCH_PROFILE_DIR, named after the run, when that is set.
func benchProfile(cmd *exec.Cmd, env, name string) {
	if dir := os.Getenv("BENCH_PROFILE_DIR"); dir != "" {
		cmd.Env = append(cmd.Env, env+"="+filepath.Join(dir, strings.ReplaceAll(name, "/", "_")+".prof"))
	}
}

// dmBuildFetcher builds the floor client e2e/internal/fetchfloor into a temporary binary.
func dmBuildFetcher(b *testing.B) string {
	exe := filepath.Join(b.TempDir(), "fetchfloor")
	cmd := exec.Command("go", "build", "-o", exe, "./internal/fetchfloor")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build the fetch floor: %v\n%s", err, out)
	}
	return exe
}

// dmProcCPU is the user+system CPU time of process pid so far, in seconds (0 if unknown).
func dmProcCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// the fields after the command name, which is in parentheses and may hold spaces
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
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
