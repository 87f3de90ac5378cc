package format

import (
	"bufio"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/pgzip"
)

// benchFile writes a gzipped data file of about FORMAT_BENCH_MB (default 128)
// MiB of document lines and returns its path and uncompressed size.
func benchFile(b *testing.B) (string, int64) {
	mb := 128
	if s := os.Getenv("FORMAT_BENCH_MB"); s != "" {
		mb, _ = strconv.Atoi(s)
	}
	path := filepath.Join(b.TempDir(), "bench_0123.data.json.gz")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	zw := pgzip.NewWriter(f)
	bw := bufio.NewWriterSize(zw, 1<<20)
	rng := rand.New(rand.NewSource(1))
	words := []string{"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"}
	var n int64
	for i := 0; n < int64(mb)<<20; i++ {
		line := fmt.Sprintf(`{"_key":"%d","_id":"bench/%d","_rev":"_h%08x---","name":"%s %s","age":%d,"score":%g,"tags":["%s","%s"],"address":{"city":"%s","zip":"%05d"},"active":%v}`+"\n",
			i, i, rng.Uint32(), words[rng.Intn(10)], words[rng.Intn(10)], rng.Intn(100), rng.Float64()*1000,
			words[rng.Intn(10)], words[rng.Intn(10)], words[rng.Intn(10)], rng.Intn(100000), rng.Intn(2) == 1)
		bw.WriteString(line)
		n += int64(len(line))
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path, n
}

// cpuTime is the CPU time (user+system) the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds "cpu-MB/s": uncompressed MB per CPU-second, a figure that
// stays meaningful on a machine shared with other work (wall-clock MB/s do
// not).
func reportCPU(b *testing.B, size int64, start time.Duration) {
	b.StopTimer()
	if used := cpuTime() - start; used > 0 {
		b.ReportMetric(float64(size)*float64(b.N)/1e6/used.Seconds(), "cpu-MB/s")
	}
}

// BenchmarkGzipLines compares streaming lines (validated and classified)
// from a gzipped data file with plain pgzip decompression of the same file
// to io.Discard. MB/s are of uncompressed bytes.
func BenchmarkGzipLines(b *testing.B) {
	path, size := benchFile(b)
	files := []DataFile{{Path: path, Name: filepath.Base(path), Compressed: true, Part: -1}}
	b.Run("pgzip-to-discard", func(b *testing.B) {
		b.SetBytes(size)
		defer reportCPU(b, size, cpuTime())
		for i := 0; i < b.N; i++ {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			zr, err := pgzip.NewReader(f)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, zr); err != nil {
				b.Fatal(err)
			}
			zr.Close()
			f.Close()
		}
	})
	b.Run("LineReader.Next", func(b *testing.B) {
		b.SetBytes(size)
		defer reportCPU(b, size, cpuTime())
		for i := 0; i < b.N; i++ {
			r, _ := OpenDataFiles(files)
			n := 0
			for r.Next() {
				n++
			}
			if err := r.Err(); err != nil || n == 0 {
				b.Fatal(err)
			}
			r.Close()
		}
	})
	b.Run("LineReader.ReadBatch-8MiB", func(b *testing.B) {
		b.SetBytes(size)
		defer reportCPU(b, size, cpuTime())
		for i := 0; i < b.N; i++ {
			r, _ := OpenDataFiles(files)
			var total int64
			for {
				bt, err := r.ReadBatch(8 << 20)
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				total += int64(len(bt.Data))
			}
			if total != size {
				b.Fatalf("read %d bytes, want %d", total, size)
			}
			r.Close()
		}
	})
}

// BenchmarkValidate compares the classifier with encoding/json.Valid on a
// typical line (10000 times per op, so that make bench's -benchtime 3x
// measures something).
func BenchmarkValidate(b *testing.B) {
	line := []byte(`{"_key":"123456","_id":"bench/123456","_rev":"_h0000abcd---","name":"alpha beta","age":42,"score":123.456,"tags":["gamma","delta"],"address":{"city":"theta","zip":"01234"},"active":true,"text":"some \"quoted\" text with unicode \u00e9 and more words to make it realistic"}`)
	b.Run("Classify", func(b *testing.B) {
		const n = 10000
		b.SetBytes(n * int64(len(line)))
		defer reportCPU(b, n*int64(len(line)), cpuTime())
		for i := 0; i < b.N; i++ {
			for j := 0; j < n; j++ {
				if _, err := Classify(line); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		const n = 10000
		b.SetBytes(n * int64(len(line)))
		defer reportCPU(b, n*int64(len(line)), cpuTime())
		for i := 0; i < b.N; i++ {
			for j := 0; j < n; j++ {
				if !jsonValid(line) {
					b.Fatal("invalid")
				}
			}
		}
	})
}
