// Command fetchfloor is the floor of BenchmarkDump (e2e/bench_dump_test.go): a minimal client
// that fetches collections through the parallel dump API (/_api/dump, as godump does on a
// 3.12 server) and copies the batches into files without looking at them, optionally through
// pgzip (the same compressor and level godump uses) and with an fsync of every file (godump
// syncs every data file before its manifest marks the dump complete). It has no retries, no
// checks, no manifest and no progress: whatever godump does beyond it is godump's overhead.
// With +sha256 after the codec it also computes the SHA-256 of every file's bytes as written,
// the one check of godump's that touches every byte (its manifest records it): the floor of
// the same work, beside the floor of a client that makes no check.
//
//	fetchfloor BASE_URL DIR THREADS COLL[,COLL...] sync|nosync raw|gzip[+sha256]
package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/pgzip"
)

func main() {
	if len(os.Args) != 7 {
		fmt.Fprintln(os.Stderr, "usage: fetchfloor BASE_URL DIR THREADS COLL[,COLL...] sync|nosync raw|gzip[+sha256]")
		os.Exit(2)
	}
	base, dir := os.Args[1], os.Args[2]
	threads, _ := strconv.Atoi(os.Args[3])
	colls := strings.Split(os.Args[4], ",")
	doSync := os.Args[5] == "sync"
	codec, check, _ := strings.Cut(os.Args[6], "+")
	gz, hash := codec == "gzip", check == "sha256"
	sem := make(chan struct{}, max(threads, 1))
	var wg sync.WaitGroup
	for _, coll := range colls {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fetch(base, dir, coll, doSync, gz, hash); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}()
	}
	wg.Wait()
}

func fetch(base, dir, coll string, doSync, gz, hash bool) error {
	body := fmt.Sprintf("{\"docsPerBatch\":10000,\"batchSize\":8388608,\"prefetchCount\":5,\"parallelism\":5,\"shards\":[%q]}", coll)
	resp, err := http.Post(base+"/_api/dump/start", "application/json", strings.NewReader(body))
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	id := resp.Header.Get("x-arango-dump-id")
	if id == "" {
		return fmt.Errorf("dump start: %s", resp.Status)
	}
	name := coll + ".raw"
	if gz {
		name += ".gz"
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	defer f.Close()
	var w io.Writer = f
	if hash {
		h := sha256.New()
		defer func() { _ = h.Sum(nil) }()
		w = io.MultiWriter(f, h)
	}
	var zw *pgzip.Writer
	if gz {
		zw = pgzip.NewWriter(w)
		w = zw
	}
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
		_, err = io.Copy(w, resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
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
