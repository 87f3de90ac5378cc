package arangotest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Benchmarks of the data path over real HTTP on loopback. Run with
//
//	go test ./arangotest/ -run '^$' -bench 'Repl|RestoreData' -benchtime 5x
//
// and read the MB/s column (bytes of JSON lines served or ingested per second).

const rtBenchDocs = 20000

func rtBenchDoc(i int) string {
	return fmt.Sprintf(`{"_key":"k%07d","name":"document number %d","tags":["alpha","beta","gamma"],"n":%d,"f":%d.25,`+
		`"nested":{"a":{"b":{"c":"%s"}}},"text":"%s"}`, i, i, i, i, strings.Repeat("n", 40), strings.Repeat("lorem ipsum ", 25))
}

func rtBenchSource(b *testing.B) (*Server, int64) {
	b.Helper()
	s := rtServer(b, Options{})
	c := rtColl(b, s, "bench", 2)
	var total int64
	for i := 0; i < rtBenchDocs; i++ {
		rtPut(b, c, rtBenchDoc(i))
	}
	for _, d := range c.Snapshot() {
		total += int64(len(d.Raw) + 1)
	}
	return s, total
}

// rtCPUMeter reports MB per CPU-second of the whole process (server and in-process client), a
// per-core figure that stays meaningful when other processes compete for the cores.
type rtCPUMeter struct{ start time.Duration }

func rtProcessCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func rtStartCPU() *rtCPUMeter { return &rtCPUMeter{start: rtProcessCPU()} }

func (m *rtCPUMeter) report(b *testing.B, bytesPerOp int64) {
	cpu := rtProcessCPU() - m.start
	if cpu > 0 {
		b.ReportMetric(float64(bytesPerOp)*float64(b.N)/cpu.Seconds()/1e6, "MB/cpu-s")
	}
}

var rtBenchClient = &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 8}}

func rtBenchDo(b *testing.B, method, url string, body []byte) (int, int64) {
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if strings.Contains(url, "/_api/replication/restore-data") {
		req.Header.Set("Content-Type", "application/x-arango-dump")
	}
	res, err := rtBenchClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	n, err := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err != nil {
		b.Fatal(err)
	}
	return res.StatusCode, n
}

// BenchmarkReplDumpNext serves a whole collection through /_api/dump/next (4 MiB batches).
func BenchmarkReplDumpNext(b *testing.B) {
	s, total := rtBenchSource(b)
	b.SetBytes(total)
	b.ResetTimer()
	m := rtStartCPU()
	defer func() { m.report(b, total) }()
	for i := 0; i < b.N; i++ {
		r := rtDo(b, s, "POST", "/_api/dump/start", []byte(`{"shards":["bench"],"batchSize":4194304,"docsPerBatch":1000000}`))
		id := r.header.Get("x-arango-dump-id")
		var got int64
		for batch := 1; ; batch++ {
			st, n := rtBenchDo(b, "POST", fmt.Sprintf("%s/_api/dump/next/%s?batchId=%d&lastBatch=%d", s.Endpoint(), id, batch, batch-1), nil)
			if st == 204 {
				break
			}
			got += n
		}
		if got != total {
			b.Fatalf("served %d bytes, want %d", got, total)
		}
		rtBenchDo(b, "DELETE", s.Endpoint()+"/_api/dump/"+id, nil)
	}
}

// BenchmarkReplClassicDump serves a whole collection through /_api/replication/dump.
func BenchmarkReplClassicDump(b *testing.B) {
	s, total := rtBenchSource(b)
	b.SetBytes(total)
	b.ResetTimer()
	m := rtStartCPU()
	defer func() { m.report(b, total) }()
	for i := 0; i < b.N; i++ {
		batch := rtBatch(b, s)
		var got int64
		for {
			st, n := rtBenchDo(b, "GET", s.Endpoint()+"/_api/replication/dump?collection=bench&useEnvelope=false&chunkSize=8388608&batchId="+batch, nil)
			if st == 204 {
				break
			}
			got += n
		}
		if got != total {
			b.Fatalf("served %d bytes, want %d", got, total)
		}
		rtBenchDo(b, "DELETE", s.Endpoint()+"/_api/replication/batch/"+batch, nil)
	}
}

// BenchmarkRestoreData ingests the documents with restore-data in 4 MiB batches. The lines
// carry only _key (the server adds _id and _rev).
func BenchmarkRestoreData(b *testing.B) {
	benchRestoreData(b, func(i int) string { return rtBenchDoc(i) })
}

// BenchmarkRestoreDataDumpLines is BenchmarkRestoreData with lines as a dump holds them:
// _key, _id, _rev, then the user attributes (what arangodump and godump write).
func BenchmarkRestoreDataDumpLines(b *testing.B) {
	benchRestoreData(b, func(i int) string {
		return strings.Replace(rtBenchDoc(i), `",`, fmt.Sprintf(`","_id":"COLL/k%07d","_rev":"%s",`, i, encodeRev(uint64(1000+i))), 1)
	})
}

func benchRestoreData(b *testing.B, line func(i int) string) {
	var lines bytes.Buffer
	for i := 0; i < rtBenchDocs; i++ {
		lines.WriteString(line(i))
		lines.WriteByte('\n')
	}
	s := rtServer(b, Options{})
	b.SetBytes(int64(lines.Len()))
	b.ResetTimer()
	var cpu time.Duration
	defer func() {
		if cpu > 0 {
			b.ReportMetric(float64(lines.Len())*float64(b.N)/cpu.Seconds()/1e6, "MB/cpu-s")
		}
	}()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		name := fmt.Sprintf("r%d", i)
		rtColl(b, s, name, 2)
		all := bytes.ReplaceAll(lines.Bytes(), []byte(`"COLL/`), []byte(`"`+name+`/`))
		var batches [][]byte
		for len(all) > 0 {
			n := min(4<<20, len(all))
			if n < len(all) {
				n = bytes.LastIndexByte(all[:n], '\n') + 1
			}
			batches = append(batches, all[:n])
			all = all[n:]
		}
		b.StartTimer()
		t0 := rtProcessCPU()
		for _, body := range batches {
			st, _ := rtBenchDo(b, "PUT", s.Endpoint()+"/_api/replication/restore-data?collection="+name+"", body)
			if st != 200 {
				b.Fatalf("restore-data status %d", st)
			}
		}
		cpu += rtProcessCPU() - t0
		b.StopTimer()
		if n := s.store.Database("_system").Collection(name).Count(); n != rtBenchDocs {
			b.Fatalf("restored %d documents", n)
		}
		b.StartTimer()
	}
}
