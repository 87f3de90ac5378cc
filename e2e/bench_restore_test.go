package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/pgzip"
)

// BenchmarkRestore measures gorestore on a generated data set of BENCH_BYTES bytes
// (default 64 MiB; `make bench` sets 1 GiB) against arangotest:
//   - throughput (MB/s of uncompressed data, MB = 10^6 bytes as in BenchmarkDump, and
//     documents/s) with --threads 1 and 2,
//   - peak RSS of the gorestore process (VmHWM from /proc, in MiB),
//   - the floor: the same 8 MiB batches sent by a minimal HTTP client with as many requests
//     in flight as gorestore --threads 2 keeps (3), collections and indexes created as
//     gorestore does (indexes before the data),
//   - the ratio of restore time (2 threads) to godump time (2 threads, the restored data,
//     same run, same server),
//   - gorestore with indexes built after the data (--indexes-after-data true).
//
// CPU is reported in seconds per GB of documents, for gorestore, the floor and the server.
// It ends with the goals and the measured value of each (restore time at most 1.1x the
// floor's, CPU per GB at most 1.2x the floor's, restore time at most 1.3x dump time, peak RSS
// under 200 MB). Every measurement runs
// against a fresh cmd/arangotest process. 1 GiB takes about 3-5 minutes on 2 cores.
//
// Run: GODUMP_BIN=$PWD/bin BENCH_BYTES=1073741824 go test -run '^$' -bench BenchmarkRestore -benchtime 1x ./e2e/
func BenchmarkRestore(b *testing.B) {
	size := int64(64 << 20)
	if s := os.Getenv("BENCH_BYTES"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			b.Fatalf("BENCH_BYTES=%q: %v", s, err)
		}
		size = n
	}
	dir := filepath.Join(b.TempDir(), "dump")
	docs, raw := rsBenchGenerate(b, dir, size)
	mb := float64(raw) / 1e6
	gb := mb / 1e3 // CPU figures are seconds per GB (10^9 bytes) of uncompressed documents
	rsLogf("data set: %d documents, %.1f MB uncompressed, in %s", docs, mb, dir)

	for i := 0; i < b.N; i++ {
		// The floor: a minimal client sending the same batches.
		fl := rsBenchFloor(b, dir)
		floor := fl.d
		b.ReportMetric(mb/floor.Seconds(), "floor_MB/s")
		b.ReportMetric(float64(docs)/floor.Seconds(), "floor_docs/s")
		b.ReportMetric(fl.cpu/gb, "floor_cpu_s/GB")
		b.ReportMetric(fl.srvCPU/gb, "floor_server_cpu_s/GB")
		rsLogf("floor (minimal client, 3 batches in flight): %s (%.1f MB/s, %.0f docs/s), cpu %.2f s/GB (in-process, gunzip included), server cpu %.2f s/GB",
			floor.Round(time.Millisecond), mb/floor.Seconds(), float64(docs)/floor.Seconds(), fl.cpu/gb, fl.srvCPU/gb)
		var restore2, dump2 time.Duration
		var cpu2 float64      // gorestore --threads 2, CPU seconds per GB
		var floorDump float64 // floor time / dump time
		var rss2 int64

		// Indexes after the data instead of before (our default, arangorestore's order):
		// see defaultIndexesAfterData in restore/data.go.
		{
			tg, stop := rsStartServerProcess(b)
			start := time.Now()
			res, _, _ := rsRunMeasured(b, "gorestore", append(tg.serverArgs("idxafter"), dir, "--create-database", "true", "--threads", "2", "--indexes-after-data", "true", "--progress", "false")...)
			if res.Code != 0 {
				b.Fatalf("gorestore --indexes-after-data true: %s", res)
			}
			d := time.Since(start)
			b.ReportMetric(mb/d.Seconds(), "restore_t2_idxafter_MB/s")
			rsLogf("gorestore --threads 2 --indexes-after-data true: %s (%.1f MB/s)", d.Round(time.Millisecond), mb/d.Seconds())
			stop()
		}
		for _, threads := range []int{1, 2} {
			tg, stop := rsStartServerProcess(b)
			db := fmt.Sprintf("bench%d", threads)
			start := time.Now()
			srv0 := dmProcCPU(tg.PID)
			res, rss, cpu := rsRunMeasuredProfiled(b, fmt.Sprintf("gorestore_threads=%d", threads), "gorestore", append(tg.serverArgs(db), dir, "--create-database", "true", "--threads", strconv.Itoa(threads), "--progress", "false")...)
			d := time.Since(start)
			srvCPU := dmProcCPU(tg.PID) - srv0
			if res.Code != 0 {
				b.Fatalf("gorestore: %s", res)
			}
			b.ReportMetric(mb/d.Seconds(), fmt.Sprintf("restore_t%d_MB/s", threads))
			b.ReportMetric(float64(docs)/d.Seconds(), fmt.Sprintf("restore_t%d_docs/s", threads))
			b.ReportMetric(float64(rss)/(1<<20), fmt.Sprintf("restore_t%d_peakRSS_MB", threads))
			b.ReportMetric(cpu/gb, fmt.Sprintf("restore_t%d_cpu_s/GB", threads))
			b.ReportMetric(srvCPU/gb, fmt.Sprintf("restore_t%d_server_cpu_s/GB", threads))
			rsLogf("gorestore --threads %d: %s (%.1f MB/s, %.0f docs/s), peak RSS %.0f MiB, cpu %.2f s/GB, server cpu %.2f s/GB", threads, d.Round(time.Millisecond), mb/d.Seconds(), float64(docs)/d.Seconds(), float64(rss)/(1<<20), cpu/gb, srvCPU/gb)
			if threads == 2 {
				restore2, rss2, cpu2 = d, rss, cpu/gb
				b.ReportMetric(d.Seconds()/floor.Seconds(), "restore/floor")
				// Dump the restored data with godump: restore time / dump time.
				out := filepath.Join(b.TempDir(), "redump")
				start = time.Now()
				srv0 := dmProcCPU(tg.PID)
				dres, _, dcpu := rsRunMeasured(b, "godump", append(tg.serverArgs(db), "--output-directory", out, "--threads", "2", "--progress", "false")...)
				dd := time.Since(start)
				dsrv := dmProcCPU(tg.PID) - srv0
				if dres.Code != 0 {
					rsLogf("godump failed, no restore/dump ratio: %s", dres)
				} else {
					dump2 = dd
					b.ReportMetric(restore2.Seconds()/dd.Seconds(), "restore/dump")
					rsLogf("godump --threads 2: %s (%.1f MB/s), cpu %.2f s/GB, server cpu %.2f s/GB; restore/dump = %.2f", dd.Round(time.Millisecond), mb/dd.Seconds(), dcpu/gb, dsrv/gb, restore2.Seconds()/dd.Seconds())
					// Both runs keep the two cores busy, so their times follow the CPU they
					// need in total, the server's included.
					rsLogf("CPU seconds, tool + server: restore %.2f + %.2f = %.2f, dump %.2f + %.2f = %.2f (ratio %.2f)",
						cpu, srvCPU, cpu+srvCPU, dcpu, dsrv, dcpu+dsrv, (cpu+srvCPU)/(dcpu+dsrv))
					floorDump = floor.Seconds() / dd.Seconds()
				}
			}
			stop()
		}
		goal := func(name string, got, limit float64, unit string) {
			verdict := "met"
			if got > limit {
				verdict = "MISSED"
			}
			rsLogf("goal %-38s %7.2f%s (limit %.2f%s): %s", name, got, unit, limit, unit, verdict)
		}
		goal("restore time / floor time (threads 2)", restore2.Seconds()/floor.Seconds(), 1.1, "x")
		goal("restore CPU/GB / floor CPU/GB (threads 2)", cpu2/(fl.cpu/gb), 1.2, "x")
		if dump2 > 0 {
			goal("restore time / dump time (threads 2)", restore2.Seconds()/dump2.Seconds(), 1.3, "x")
		}
		goal("peak RSS of gorestore (threads 2)", float64(rss2)/(1<<20), 200, " MiB")
		if floorDump > 0 {
			// Not a goal: what a client that only sends the batches achieves against this
			// server, in the same terms as the ratio goal.
			rsLogf("the floor's own time / dump time: %.2fx", floorDump)
		}
	}
}

// rsLogf prints a line of BenchmarkRestore's report on stderr: the testing package cuts a
// benchmark's b.Logf output after a few lines, and the goals come last.
func rsLogf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

// rsStartServerProcess runs cmd/arangotest as a process of its own, so that every
// measurement starts from an empty server and the servers' memory does not pile up in the
// benchmark process (or slow its garbage collector). stop ends it.
func rsStartServerProcess(b *testing.B) (*target, func()) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(b, err, "find a free port")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := toolCommand(context.Background(), "arangotest", "--port", strconv.Itoa(port))
	must(b, cmd.Start(), "start arangotest")
	stop := func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	ep := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(20 * time.Second); ; {
		resp, err := http.Get(ep + "/_api/version")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			stop()
			b.Fatalf("arangotest on port %d does not answer: %v", port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &target{Endpoint: ep, Username: "root", PID: cmd.Process.Pid}, stop
}

// rsBenchGenerate writes the benchmark data set (benchColls: the documents BenchmarkDump
// loads, until size bytes of them as imported) as a gzipped 3.12-style dump holds it: _key,
// _id, _rev, then the other members, one document per line, each collection with its
// persistent index. It returns the document count and the uncompressed size of the data files.
func rsBenchGenerate(b *testing.B, dir string, size int64) (int64, int64) {
	b.Helper()
	must(b, os.MkdirAll(dir, 0o755), "mkdir")
	os.WriteFile(filepath.Join(dir, "ENCRYPTION"), []byte("none"), 0o644)
	os.WriteFile(filepath.Join(dir, "dump.json"), []byte(`{"database":"bench","lastTickAtDumpStart":"1","useEnvelope":false,"properties":{"id":"1","name":"bench","isSystem":false}}`), 0o644)
	var docs, raw int64
	for ci, bc := range benchColls {
		sum := md5.Sum([]byte(bc.name))
		base := bc.name + "_" + hex.EncodeToString(sum[:])
		st, _ := json.Marshal(Doc{"indexes": []any{benchIndex},
			"parameters": Doc{"name": bc.name, "type": 2, "keyOptions": Doc{"type": "traditional", "allowUserKeys": true}, "numberOfShards": 1, "replicationFactor": 1}})
		must(b, os.WriteFile(filepath.Join(dir, base+".structure.json"), st, 0o644), "structure")
		f, err := os.Create(filepath.Join(dir, base+".data.json.gz"))
		must(b, err, "create")
		zw := pgzip.NewWriter(f)
		w := bufio.NewWriterSize(zw, 1<<20)
		gen := newBenchDocGen(ci)
		target := size * bc.weight / 10
		var line []byte
		for n := int64(0); n < target; {
			key, rest := gen.next()
			n += int64(len(key) + len(rest) + len(`{"_key":""`) + 1) // as imported (importLine)
			line = append(line[:0], `{"_key":"`...)
			line = append(line, key...)
			line = append(line, `","_id":"`...)
			line = append(line, bc.name...)
			line = append(line, '/')
			line = append(line, key...)
			line = append(line, `","_rev":"_h`...)
			line = strconv.AppendInt(line, docs*7919, 36)
			line = append(line, `---"`...)
			line = append(line, rest...)
			line = append(line, '\n')
			w.Write(line)
			raw += int64(len(line))
			docs++
		}
		must(b, w.Flush(), "flush")
		must(b, zw.Close(), "gzip close")
		must(b, f.Close(), "close")
	}
	return docs, raw
}

// rsRunMeasured runs a tool and returns its result and peak RSS in bytes. The peak is the
// kernel's high-water mark VmHWM of the process, polled while it runs: Rusage.Maxrss of a
// child started by this (large) test process can report the parent's size, because the
// child shares the parent's pages between fork and exec.
func rsRunMeasured(b *testing.B, name string, args ...string) (result, int64, float64) {
	b.Helper()
	return rsRunMeasuredProfiled(b, "", name, args...)
}

// rsRunMeasuredProfiled is rsRunMeasured, with a CPU profile named run in BENCH_PROFILE_DIR
// when that is set (benchProfile).
func rsRunMeasuredProfiled(b *testing.B, run, name string, args ...string) (result, int64, float64) {
	b.Helper()
	cmd := toolCommand(context.Background(), name, args...)
	if run != "" {
		benchProfile(cmd, "GORESTORE_CPUPROFILE", run)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	peak, cpu, err := runMeasured(b, cmd)
	res := result{Stdout: stdout.String(), Stderr: stderr.String()}
	if err != nil {
		res.Code = -1
		if cmd.ProcessState != nil {
			res.Code = cmd.ProcessState.ExitCode()
		}
	}
	return res, peak, cpu
}

// rsBenchFloor sends the dump's data to a fresh arangotest as a minimal client would:
// collections created, every file cut into 8 MiB batches at line boundaries and sent to
// restore-data, three requests in flight (as many as gorestore --threads 2 keeps), two
// collections at a time, largest first, each collection's indexes built before its data as
// gorestore does by default. Its time is the floor for gorestore; its CPU (this process's,
// measured while it alone runs here: gunzip, cutting, sending) and its server's are reported.
func rsBenchFloor(b *testing.B, dir string) rsFloor {
	b.Helper()
	tg, stop := rsStartServerProcess(b)
	defer stop()
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	srv0 := dmProcCPU(tg.PID)
	db := "floor"
	{
		req, _ := http.NewRequest(http.MethodPost, tg.Endpoint+"/_db/_system/_api/database", strings.NewReader(`{"name":"floor"}`))
		req.SetBasicAuth(tg.Username, tg.Password)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 201 {
			b.Fatalf("create database floor: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	structs, _ := filepath.Glob(filepath.Join(dir, "*.structure.json"))
	const inFlight = 3
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: inFlight, DisableCompression: true}}
	put := func(path string, body []byte) {
		req, _ := http.NewRequest(http.MethodPut, tg.Endpoint+"/_db/"+db+path, bytes.NewReader(body))
		req.SetBasicAuth(tg.Username, tg.Password)
		if strings.HasPrefix(path, "/_api/replication/restore-data") {
			req.Header.Set("Content-Type", "application/x-arango-dump") // JSON lines, as arangorestore sends them
		} else {
			req.Header.Set("Content-Type", "application/json") // under the dump type a JSON handler sees no body
		}
		resp, err := hc.Do(req)
		if err != nil {
			b.Errorf("floor %s: %v", path, err) // Errorf: put runs on other goroutines, checked below
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Errorf("floor %s: HTTP %d", path, resp.StatusCode)
		}
	}
	start := time.Now()
	type job struct {
		coll string
		data []byte
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	for i := 0; i < inFlight; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				put("/_api/replication/restore-data?collection="+j.coll, j.data)
			}
		}()
	}
	// Collections largest first, two at a time (as gorestore --threads 2 runs its jobs),
	// each read by one goroutine that feeds the shared senders.
	sort.Slice(structs, func(i, j int) bool { return rsDataSize(structs[i]) > rsDataSize(structs[j]) })
	next := make(chan string, len(structs))
	for _, s := range structs {
		next <- s
	}
	close(next)
	var readers sync.WaitGroup
	for i := 0; i < 2; i++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for s := range next {
				rsFloorCollection(b, s, put, func(coll string, data []byte) { jobs <- job{coll, data} })
			}
		}()
	}
	readers.Wait()
	close(jobs)
	wg.Wait()
	if b.Failed() {
		b.FailNow() // a request of the floor failed: its time means nothing
	}
	d := time.Since(start)
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano()).Seconds()
	return rsFloor{d: d, cpu: cpu, srvCPU: dmProcCPU(tg.PID) - srv0}
}

// rsFloor is a measurement of the restore floor: wall time, the client's CPU seconds and the
// server's.
type rsFloor struct {
	d           time.Duration
	cpu, srvCPU float64
}

func rsDataSize(structure string) int64 {
	st, err := os.Stat(strings.TrimSuffix(structure, ".structure.json") + ".data.json.gz")
	if err != nil {
		return 0
	}
	return st.Size()
}

// rsFloorCollection creates one collection with its indexes and cuts its data file into
// 8 MiB batches at line boundaries, handing each to send.
func rsFloorCollection(b *testing.B, structure string, put func(string, []byte), send func(string, []byte)) {
	st, _ := os.ReadFile(structure)
	put("/_api/replication/restore-collection?overwrite=true", st)
	put("/_api/replication/restore-indexes", st)
	base := strings.TrimSuffix(filepath.Base(structure), ".structure.json")
	coll := base[:strings.LastIndexByte(base, '_')]
	f, err := os.Open(strings.TrimSuffix(structure, ".structure.json") + ".data.json.gz")
	if err != nil {
		return
	}
	defer f.Close()
	zr, err := pgzip.NewReader(f)
	must(b, err, "gunzip")
	defer zr.Close()
	var rest []byte
	buf := make([]byte, 1<<20)
	batch := make([]byte, 0, 9<<20)
	for {
		n, err := zr.Read(buf)
		batch = append(batch, buf[:n]...)
		if len(batch) >= 8<<20 || err != nil {
			cut := bytes.LastIndexByte(batch, '\n') + 1
			if err != nil {
				cut = len(batch)
			}
			if cut > 0 {
				data := make([]byte, cut)
				copy(data, batch[:cut])
				send(coll, data)
			}
			rest = append(rest[:0], batch[cut:]...)
			batch = append(batch[:0], rest...)
		}
		if err != nil {
			return
		}
	}
}
