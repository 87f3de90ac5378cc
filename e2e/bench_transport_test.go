package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arangobackup/godump/client"
)

// transportPath is one way a dump travels (issue 15): how godump writes it and gorestore
// reads it back.
type transportPath struct {
	name     string
	dumpTo   func(b *testing.B) []string // godump's output options
	readFrom func(dump []string) []string
	pipe     bool // godump's stdout into gorestore's stdin, both running at once
	size     func(dump []string) float64
	env      []string // for both tools (an object store's credentials)
}

// BenchmarkTransport measures, on BenchmarkDump's data set and in one run, a compressed dump
// (2 threads) and its restore into a new database by each path: a directory, an archive file,
// an archive piped from godump into gorestore, and (transportS3, when a SeaweedFS binary is
// there) an s3:// prefix. For each: elapsed time, MB/s of documents, peak RSS and CPU of each
// tool. Every restore is checked: each collection holds the source's document count.
func BenchmarkTransport(b *testing.B) {
	env := dmBenchSetup(b)
	paths := []transportPath{
		{name: "directory",
			dumpTo:   func(b *testing.B) []string { return []string{"--output-directory", filepath.Join(b.TempDir(), "dump")} },
			readFrom: func(d []string) []string { return []string{"--input-directory", d[1]} },
			size:     func(d []string) float64 { return dmDirBytes(d[1]) }},
		{name: "archive-file",
			dumpTo:   func(b *testing.B) []string { return []string{"--archive", filepath.Join(b.TempDir(), "dump.tar")} },
			readFrom: func(d []string) []string { return d },
			size: func(d []string) float64 {
				st, _ := os.Stat(d[1])
				return float64(st.Size())
			}},
		{name: "archive-pipe", pipe: true,
			dumpTo:   func(*testing.B) []string { return []string{"--archive", "-"} },
			readFrom: func(d []string) []string { return d }},
	}
	paths = append(paths, transportS3(b)...)
	for _, p := range paths {
		b.Run(p.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				dst := fmt.Sprintf("t_%s_%d", p.name, time.Now().UnixNano())
				out := p.dumpTo(b)
				dumpArgs := append([]string{"--server.endpoint", env.tg.Endpoint, "--server.username", "root", "--server.password", "",
					"--server.database", env.db, "--progress", "false", "--threads", "2"}, out...)
				restoreArgs := append([]string{"--server.endpoint", env.tg.Endpoint, "--server.username", "root", "--server.password", "",
					"--server.database", dst, "--create-database", "true", "--progress", "false", "--threads", "2"}, p.readFrom(out)...)
				var dump, rest measured
				start := time.Now()
				if p.pipe {
					dump, rest = measurePipe(b, dumpArgs, restoreArgs)
				} else {
					dc := toolCommand(context.Background(), "godump", dumpArgs...)
					dc.Env = append(dc.Env, p.env...)
					dump = measure(b, dc)
					rc := toolCommand(context.Background(), "gorestore", restoreArgs...)
					rc.Env = append(rc.Env, p.env...)
					rest = measure(b, rc)
				}
				total := time.Since(start).Seconds()
				checkCounts(b, env, dst)
				mb := float64(env.bytes) / 1e6
				size := 0.0
				if p.size != nil {
					size = p.size(out) / 1e6
				}
				b.ReportMetric(mb/total, "MB/s")
				b.ReportMetric(dump.peakMiB, "godump_peakRSS_MiB")
				b.ReportMetric(rest.peakMiB, "gorestore_peakRSS_MiB")
				fmt.Fprintf(os.Stderr, "%-14s dump %6.2fs %7.1f MB/s peak %6.1f MiB cpu %5.2fs | restore %6.2fs %7.1f MB/s peak %6.1f MiB cpu %5.2fs | total %6.2fs %7.1f MB/s, %.0f MB stored\n",
					p.name, dump.seconds, mb/dump.seconds, dump.peakMiB, dump.cpu, rest.seconds, mb/rest.seconds, rest.peakMiB, rest.cpu, total, mb/total, size)
				dropDatabase(b, env, dst)
			}
		})
	}
}

type measured struct {
	seconds, peakMiB, cpu float64
}

func measure(b *testing.B, cmd *exec.Cmd) measured {
	b.Helper()
	sec, hwm, _, cpu, _ := dmRunMeasured(b, cmd)
	return measured{sec, hwm, cpu}
}

// measurePipe runs godump | gorestore, measuring both.
func measurePipe(b *testing.B, dumpArgs, restoreArgs []string) (measured, measured) {
	b.Helper()
	d := toolCommand(context.Background(), "godump", dumpArgs...)
	r := toolCommand(context.Background(), "gorestore", restoreArgs...)
	pr, pw, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	// (os/exec writes a command's output from one goroutine at a time, and with Stdout and
	// Stderr the same writer through one: plain builders, read after Wait)
	var dErr, rOut strings.Builder
	d.Stdout, d.Stderr = pw, &dErr
	r.Stdin, r.Stdout, r.Stderr = pr, &rOut, &rOut
	var wg sync.WaitGroup
	var dm, rm measured
	var derr, rerr error
	wg.Add(2)
	start := time.Now()
	go func() {
		defer wg.Done()
		peak, cpu, err := runMeasured(b, d)
		pw.Close()
		dm, derr = measured{time.Since(start).Seconds(), float64(peak) / (1 << 20), cpu}, err
	}()
	go func() {
		defer wg.Done()
		peak, cpu, err := runMeasured(b, r)
		pr.Close()
		rm, rerr = measured{time.Since(start).Seconds(), float64(peak) / (1 << 20), cpu}, err
	}()
	wg.Wait()
	if derr != nil || rerr != nil {
		b.Fatalf("pipe: godump %v %s; gorestore %v %s", derr, dErr.String(), rerr, rOut.String())
	}
	return dm, rm
}

// checkCounts fails the benchmark unless every collection of db holds the source's count.
func checkCounts(b *testing.B, env *dmBenchEnv, db string) {
	b.Helper()
	o := client.DefaultOptions()
	o.Endpoints = []string{env.tg.Endpoint}
	c, err := client.Connect(context.Background(), o)
	if err != nil {
		b.Fatal(err)
	}
	var total int64
	for _, coll := range env.colls {
		var res struct {
			Count int64 `json:"count"`
		}
		if err := c.DoJSON(context.Background(), client.Request{Method: "GET", Database: db, Path: "/_api/collection/" + coll + "/count"}, &res); err != nil {
			b.Fatalf("count %s/%s: %v", db, coll, err)
		}
		total += res.Count
	}
	if total != env.docs {
		b.Fatalf("restored %d documents into %s, the source holds %d", total, db, env.docs)
	}
}

func dropDatabase(b *testing.B, env *dmBenchEnv, db string) {
	o := client.DefaultOptions()
	o.Endpoints = []string{env.tg.Endpoint}
	c, err := client.Connect(context.Background(), o)
	if err == nil {
		_, _ = c.Do(context.Background(), client.Request{Method: "DELETE", Path: "/_api/database/" + db})
	}
}
