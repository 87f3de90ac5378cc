package restore

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arangobackup/godump/client"
)

// TestBatchesInFlight: a plain dump's batches go out with inFlight(--threads) requests in
// flight at once (one more than --threads, so the server never waits for the next body),
// never more, and every line arrives exactly once with its bytes unchanged.
func TestBatchesInFlight(t *testing.T) {
	const docs = 3000
	var data strings.Builder
	want := make([]string, 0, docs)
	pad := strings.Repeat("x", 900)
	for i := range docs {
		l := fmt.Sprintf(`{"_key":"k%d","a":%d,"pad":"%s"}`, i, i, pad)
		want = append(want, l)
		data.WriteString(l + "\n")
	}
	for _, threads := range []int{1, 2} {
		t.Run(fmt.Sprint("threads=", threads), func(t *testing.T) {
			dir := t.TempDir()
			writeTestDump(t, dir, map[string]string{"big": `{"name":"big","type":2}`}, map[string]string{"big": data.String()}, nil)
			f := &fakeServer{lines: map[string][]string{}, failData: map[string]int{}}
			var mu sync.Mutex
			cur, peak, batches := 0, 0, 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !strings.HasSuffix(r.URL.Path, "/restore-data") {
					f.serve(w, r)
					return
				}
				mu.Lock()
				cur++
				batches++
				peak = max(peak, cur)
				mu.Unlock()
				time.Sleep(15 * time.Millisecond) // a server busy storing the batch
				f.serve(w, r)
				mu.Lock()
				cur--
				mu.Unlock()
			}))
			defer srv.Close()
			o := client.DefaultOptions()
			o.Endpoints = []string{srv.URL}
			o.Authentication = false
			c, err := client.Connect(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			opts := DefaultOptions()
			opts.InputDirectory = dir
			opts.Threads = threads
			opts.BatchSize = MinBatchSize
			sum, err := Run(context.Background(), c, opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			if batches < 10 {
				t.Fatalf("only %d batches: the test needs many", batches)
			}
			if peak != inFlight(threads) || inFlight(threads) != threads+1 {
				t.Errorf("peak %d restore-data requests in flight, want %d", peak, threads+1)
			}
			got := append([]string(nil), f.lines["big"]...)
			sort.Strings(got)
			sorted := append([]string(nil), want...)
			sort.Strings(sorted)
			if len(got) != len(sorted) || sum.Docs != docs {
				t.Fatalf("%d lines arrived (summary %d docs), want %d", len(got), sum.Docs, docs)
			}
			for i := range got {
				if got[i] != sorted[i] {
					t.Fatalf("line %q arrived, want %q", got[i], sorted[i])
				}
			}
		})
	}
}
