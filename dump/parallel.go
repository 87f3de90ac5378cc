package dump

// The 3.12 parallel dump: one dump context per server, as arangodump makes them
// (client-tools/Dump/DumpFeature.cpp, DumpFeature::runDump and ParallelDumpServer).
//
// runDump puts every shard of the dump into shardsByServer: on a single server all collections
// under "" (the server itself), on a cluster each shard under the DB-Server of its leader
// (parameters.shards[shard][0]), and queues one ParallelDumpServer job per entry.
// ParallelDumpServer::run creates the context (createDumpContext: POST /_api/dump/start with
// all the server's shards, &dbserver= on a cluster), starts its network threads
// (runNetworkThread: batch ids from one shared counter, each thread acknowledging its own
// previous batch with lastBatch, stopping at the first 204) and its writer threads
// (runWriterThread: the x-arango-dump-shard-id header picks the shard's file, an unknown shard
// is fatal), and deletes the context when the threads are done (finishDumpContext). The files
// stay open for the whole dump: DumpFileProvider opens every collection's file up front (or,
// with split files, one per shard and writer thread), because the server sends the batches of
// all shards in any order.
//
// Each context takes ONE RocksDB snapshot (RocksDBDumpContext's constructor), so a dump is one
// point in time per server.
//
// Here: contextDump is a ParallelDumpServer. A database's contexts run at most --threads at a
// time (arangodump's task queue of --threads workers runs its ParallelDumpServer jobs); the
// Threads x NetworkThreads requests a job-per-collection dump had in flight are shared among
// the running contexts (at least one each). Batches go through one unbuffered channel to
// --threads writer goroutines (masking, compression, append to the job's data file), shared by
// the database's contexts. Differences from arangodump, on purpose:
//   - collections whose data is not dumped (--dump-data false, maskings "structure") are not
//     put in a context: their (empty) files are written without asking the server for data;
//   - with --split-files a shard has one file (part numbers in shard order, as the classic
//     path writes them), not one per writer thread;
//   - a failed request is retried (same batchId and lastBatch: the server re-sends a batch it
//     has not seen acknowledged), and a batch of a shard the context does not hold, or without
//     the header, is an error of this dump, not an exit of the process.
//
// Memory, by construction: every fetcher holds at most one batch (the one it fetches or hands
// over), every writer one batch plus its masking buffer and one gzip member being compressed
// (format.DataFileWriter compresses each batch as a gzip member of its own, so an open file
// between two batches holds no compressor). So the batches in memory are at most
// Threads x NetworkThreads + Threads, each capped by MaxBatchMemory, whatever the number of
// collections or open files.
//
// Order: largest first. The server's WorkItems is a LIFO (push_back, pop takes back()): the
// constructor pushes one item per shard in the order of the "shards" option, its `parallelism`
// workers pop from the back, and a worker that filled a batch pushes the upper half of its key
// range on top (RocksDBDumpContext::handleWorkItem), which the next free worker takes before any
// untouched shard. So the shards are sent smallest first: the server starts with the largest
// ones and keeps splitting them while the small ones wait at the bottom of the stack.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/arangobackup/godump/client"
	"github.com/arangobackup/godump/progress"
)

// jobFile is the state of a job during a parallel dump: its data file, opened at its first
// batch, its progress tracker, started then, and its maskers.
type jobFile struct {
	e   *engine
	j   *job
	out Output

	mu        sync.Mutex
	file      DataFile
	tr        progress.Tracker
	maskers   []*masker // idle maskers (one per writer using it at most)
	masked    bool      // the collection's documents are masked
	committed bool
	contexts  int // dump contexts holding shards of the job that have not ended (under mu)
}

// tracker starts the job's progress tracker at its first use.
func (jf *jobFile) tracker() progress.Tracker {
	jf.mu.Lock()
	defer jf.mu.Unlock()
	if jf.tr == nil {
		jf.tr = jf.e.rep.Start(progress.Job{Database: jf.j.db, Name: jf.j.name(), Docs: jf.j.expected})
	}
	return jf.tr
}

// dataFile returns the job's file, creating it at the first batch.
func (jf *jobFile) dataFile() (DataFile, error) {
	jf.mu.Lock()
	defer jf.mu.Unlock()
	if jf.file == nil {
		f, err := jf.out.CreateDataFile(jf.j.coll.info.Name, jf.j.part, jf.j.shardID())
		if err != nil {
			return nil, fmt.Errorf("database %s: create data file of collection %s: %w", jf.j.db, jf.j.coll.info.Name, err)
		}
		jf.file = f
	}
	return jf.file, nil
}

func (jf *jobFile) getMasker() *masker {
	jf.mu.Lock()
	defer jf.mu.Unlock()
	if n := len(jf.maskers); n > 0 {
		m := jf.maskers[n-1]
		jf.maskers = jf.maskers[:n-1]
		return m
	}
	return jf.e.maskings.NewMasker(jf.j.coll.info.Name)
}

func (jf *jobFile) putMasker(m *masker) {
	jf.mu.Lock()
	jf.maskers = append(jf.maskers, m)
	jf.mu.Unlock()
}

// commit finishes the job's file: a collection's single file always exists (arangorestore
// wants one, even empty), a split file only if the shard had data.
func (jf *jobFile) commit() error {
	f := jf.file
	if f == nil {
		if jf.j.part >= 0 {
			return nil
		}
		var err error
		if f, err = jf.dataFile(); err != nil {
			return err
		}
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("database %s: write data file of collection %s: %w", jf.j.db, jf.j.coll.info.Name, err)
	}
	jf.mu.Lock()
	jf.committed = true
	jf.mu.Unlock()
	return nil
}

// contextDump is one dump context: a server ("" on a single server) and its shards, in the
// order they are sent.
type contextDump struct {
	db     string
	server string
	shards []shardRef
	jobs   map[string]*jobFile // shard id -> its job
	id     string              // the context id, once started

	// written counts the context's batches handed to the writers and not yet written;
	// failed is set when one of them was not written (an error, or a cancel).
	written sync.WaitGroup
	failed  atomic.Bool
}

// holds reports whether one of the context's shards belongs to jf.
func (cd *contextDump) holds(jf *jobFile) bool {
	for _, j := range cd.jobs {
		if j == jf {
			return true
		}
	}
	return false
}

// describe names what a context dumps, for errors: its first shard's collection and how many
// more.
func (cd *contextDump) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "database %s", cd.db)
	if cd.server != "" {
		fmt.Fprintf(&b, ", DB-Server %s", cd.server)
	}
	if cd.id != "" {
		fmt.Fprintf(&b, ", dump context %s", cd.id)
	}
	if len(cd.shards) > 0 {
		// the last shard is the one the server starts with
		s := cd.shards[len(cd.shards)-1]
		if cd.server != "" {
			fmt.Fprintf(&b, ", shard %s of", s.ID)
		}
		fmt.Fprintf(&b, " collection %s", cd.jobs[s.ID].j.coll.info.Name)
		if n := len(cd.shards) - 1; n > 0 {
			what := "collections"
			if cd.server != "" {
				what = "shards"
			}
			fmt.Fprintf(&b, " and %d more %s", n, what)
		}
	}
	return b.String()
}

// fetchedBatch is a batch on its way to a writer.
type fetchedBatch struct {
	buf *bytes.Buffer
	jf  *jobFile
	cd  *contextDump
}

// planContexts groups the shards of the data jobs by server, each server's shards ordered
// smallest first (see "Order" above).
//
// perJob gives every job contexts of its own (one per server it has shards on) instead:
// --snapshot per-collection.
func planContexts(db string, jobs []*jobFile, perJob bool) []*contextDump {
	byServer := map[string]*contextDump{}
	var servers []string
	for i, jf := range jobs {
		for _, s := range jf.j.shards {
			key := s.Leader
			if perJob {
				key = fmt.Sprintf("%s\x00%08d", s.Leader, i)
			}
			cd := byServer[key]
			if cd == nil {
				cd = &contextDump{db: db, server: s.Leader, jobs: map[string]*jobFile{}}
				byServer[key] = cd
				servers = append(servers, key)
			}
			if !cd.holds(jf) {
				jf.contexts++
			}
			cd.shards = append(cd.shards, s)
			cd.jobs[s.ID] = jf
		}
	}
	sort.Strings(servers)
	out := make([]*contextDump, 0, len(servers))
	for _, srv := range servers {
		cd := byServer[srv]
		// jobs come largest first; sort the shards the same way (stable: ties keep the plan's
		// order), then reverse, so that the largest is last and the server's stack pops it first
		sort.SliceStable(cd.shards, func(a, b int) bool { return cd.shards[a].Docs > cd.shards[b].Docs })
		for i, j := 0, len(cd.shards)-1; i < j; i, j = i+1, j-1 {
			cd.shards[i], cd.shards[j] = cd.shards[j], cd.shards[i]
		}
		out = append(out, cd)
	}
	return out
}

// runParallel dumps the data of a database's jobs through one dump context per server.
func (e *engine) runParallel(ctx context.Context, db string, jobs []*job, out Output) (err error) {
	var files []*jobFile
	for _, j := range jobs {
		if !j.withData {
			if err := e.writeWithoutData(j, out); err != nil {
				return err
			}
			continue
		}
		jf := &jobFile{e: e, j: j, out: out}
		if e.maskings != nil {
			if m := e.maskings.NewMasker(j.coll.info.Name); m != nil {
				jf.masked, jf.maskers = true, []*masker{m}
			}
		}
		files = append(files, jf)
	}
	if len(files) == 0 {
		return nil
	}
	defer func() {
		if err != nil {
			for _, jf := range files { // every goroutine has ended
				if jf.file != nil && !jf.committed {
					_ = jf.file.Abort()
				}
				if jf.tr != nil {
					jf.tr.Done(err) // no-op for a job already done
				}
			}
		}
	}()

	contexts := planContexts(db, files, e.opts.SnapshotPerCollection)
	running := max(1, min(len(contexts), e.opts.Threads))
	fetchers := max(1, e.opts.Threads*e.opts.NetworkThreads/running)
	g, gctx := errgroup.WithContext(ctx)
	batches := make(chan fetchedBatch)
	slots := make(chan struct{}, running)
	var producers sync.WaitGroup
	producers.Add(len(contexts))
	for _, cd := range contexts {
		g.Go(func() error {
			defer producers.Done()
			select {
			case slots <- struct{}{}:
			case <-gctx.Done():
				return gctx.Err()
			}
			defer func() { <-slots }()
			if err := e.runContext(gctx, cd, fetchers, batches); err != nil {
				return err
			}
			return e.contextEnded(gctx, cd)
		})
	}
	go func() {
		producers.Wait()
		close(batches)
	}()
	for i := 0; i < e.opts.Threads; i++ {
		g.Go(func() error {
			var masked bytes.Buffer
			var werr error
			for b := range batches { // drained to the end, so that no fetcher waits forever
				written := false
				if werr == nil && gctx.Err() == nil {
					werr = e.writeBatch(b.jf, b.buf.Bytes(), &masked)
					written = werr == nil
				}
				putBuf(b.buf)
				if !written {
					b.cd.failed.Store(true)
				}
				b.cd.written.Done()
				if werr != nil {
					return werr // cancels gctx; the other writers drain the channel
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil && !errors.Is(err, context.Canceled) {
			err = errors.Join(ctx.Err(), err)
		}
		return err
	}
	// every context has ended and committed its jobs' files; a job without shards (none
	// selected) was in no context and gets its (empty) file now
	for _, jf := range files {
		if len(jf.j.shards) == 0 {
			if err := jf.commit(); err != nil {
				return err
			}
			jf.tracker().Done(nil)
		}
	}
	return nil
}

// contextEnded runs when every fetcher of a context got its 204: once the writers have
// written its last batches, the files of the jobs whose every context has ended are complete
// and committed at once (so that --continue keeps them if a later context fails), not at
// the end of the database.
func (e *engine) contextEnded(ctx context.Context, cd *contextDump) error {
	cd.written.Wait()
	if cd.failed.Load() || ctx.Err() != nil {
		return ctx.Err() // the failure itself is returned by the writer that had it
	}
	seen := map[*jobFile]bool{}
	for _, s := range cd.shards {
		jf := cd.jobs[s.ID]
		if seen[jf] {
			continue
		}
		seen[jf] = true
		jf.mu.Lock()
		jf.contexts--
		last := jf.contexts == 0
		jf.mu.Unlock()
		if !last {
			continue
		}
		if err := jf.commit(); err != nil {
			return err
		}
		jf.tracker().Done(nil)
	}
	return nil
}

// writeWithoutData writes the empty file of a collection whose data is not dumped (a split
// dump writes nothing for it).
func (e *engine) writeWithoutData(j *job, out Output) (err error) {
	tr := e.rep.Start(progress.Job{Database: j.db, Name: j.name(), Docs: j.expected})
	defer func() { tr.Done(err) }()
	if j.part >= 0 {
		return nil
	}
	name := j.coll.info.Name
	f, err := out.CreateDataFile(name, -1, "")
	if err != nil {
		return fmt.Errorf("database %s: create data file of collection %s: %w", j.db, name, err)
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("database %s: write data file of collection %s: %w", j.db, name, err)
	}
	return nil
}

// writeBatch masks a batch if its collection is masked and appends it to the job's file.
func (e *engine) writeBatch(jf *jobFile, batch []byte, masked *bytes.Buffer) error {
	if len(batch) == 0 {
		return nil
	}
	j := jf.j
	docs := int64(bytes.Count(batch, []byte{'\n'}))
	data := batch
	if jf.masked {
		m := jf.getMasker()
		masked.Reset()
		err := m.MaskLines(masked, batch)
		jf.putMasker(m)
		if err != nil {
			return fmt.Errorf("database %s collection %s: %w", j.db, j.coll.info.Name, err)
		}
		data = masked.Bytes()
	}
	f, err := jf.dataFile()
	if err != nil {
		return err
	}
	if err := f.WriteLines(data, docs); err != nil {
		return fmt.Errorf("database %s: write data file of collection %s: %w", j.db, j.coll.info.Name, err)
	}
	e.docs.Add(docs)
	e.received.Add(int64(len(batch)))
	e.written.Add(int64(len(data)))
	jf.tracker().Add(docs, int64(len(batch)))
	return nil
}

// runContext creates a dump context, runs n fetchers on it until the server has sent every
// batch, and deletes it (also after a failure or a cancel).
// mirrors DumpFeature::ParallelDumpServer::run (client-tools/Dump/DumpFeature.cpp)
func (e *engine) runContext(ctx context.Context, cd *contextDump, n int, batches chan<- fetchedBatch) error {
	if err := e.startContext(ctx, cd); err != nil {
		return err
	}
	defer e.finishContext(ctx, cd)
	g, gctx := errgroup.WithContext(ctx)
	var counter atomic.Uint64
	for i := 0; i < n; i++ {
		g.Go(func() error { return e.runFetcher(gctx, cd, &counter, batches) })
	}
	return g.Wait()
}

// startContext asks the server for a context over cd's shards.
// mirrors DumpFeature::ParallelDumpServer::createDumpContext
func (e *engine) startContext(ctx context.Context, cd *contextDump) error {
	q := url.Values{}
	q.Set("useVPack", "false")
	if cd.server != "" {
		q.Set("dbserver", cd.server)
	}
	ids := make([]string, len(cd.shards))
	for i, s := range cd.shards {
		ids[i] = s.ID
	}
	start := client.Request{Method: http.MethodPost, Database: cd.db, Path: "/_api/dump/start", Query: q,
		JSON: map[string]any{
			"docsPerBatch":  e.opts.DocsPerBatch,
			"batchSize":     e.opts.requestBatchSize(),
			"prefetchCount": e.opts.DBServerPrefetchBatches,
			"parallelism":   e.opts.DBServerWorkerThreads,
			"shards":        ids,
		}}
	err := e.retry(ctx, start.What(cd.db), func(ctx context.Context) error {
		resp, body, err := e.conn.Stream(ctx, start)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, body)
		body.Close()
		cd.id = resp.Header.Get("x-arango-dump-id")
		if cd.id == "" {
			return fmt.Errorf("%s: answer has no x-arango-dump-id header", start.What(cd.db))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("start dump context (%s): %w", cd.describe(), err)
	}
	return nil
}

// finishContext deletes the context, even when ctx is cancelled; failure is only a warning.
// mirrors DumpFeature::ParallelDumpServer::finishDumpContext
func (e *engine) finishContext(ctx context.Context, cd *contextDump) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	q := url.Values{}
	if cd.server != "" {
		q.Set("dbserver", cd.server)
	}
	if _, err := e.conn.Do(dctx, client.Request{Method: http.MethodDelete, Database: cd.db,
		Path: "/_api/dump/" + url.PathEscape(cd.id), Query: q}); err != nil && ctx.Err() == nil {
		e.rep.Log(fmt.Sprintf("# warning: could not remove dump context %s (%s): %v", cd.id, cd.describe(), err))
	}
}

// runFetcher asks the context for batches until it answers 204, handing each to the writers.
// mirrors DumpFeature::ParallelDumpServer::runNetworkThread
func (e *engine) runFetcher(ctx context.Context, cd *contextDump, counter *atomic.Uint64, batches chan<- fetchedBatch) error {
	last := int64(-1)
	for {
		id := counter.Add(1) - 1
		b, jf, err := e.fetchBatch(ctx, cd, id, last)
		if err != nil || b == nil {
			return err // nil: the context is exhausted
		}
		cd.written.Add(1)
		select {
		case batches <- fetchedBatch{buf: b, jf: jf, cd: cd}:
		case <-ctx.Done():
			cd.written.Done()
			putBuf(b)
			return ctx.Err()
		}
		last = int64(id)
	}
}

// fetchBatch gets batch id (acknowledging last) and the job its shard belongs to; nil at the
// end. A failed or cut request is asked again with the same batchId and lastBatch: the server
// keeps an unacknowledged batch and sends it again, so nothing is lost or written twice.
// mirrors DumpFeature::ParallelDumpServer::receiveNextBatch and the shard lookup of
// runWriterThread
func (e *engine) fetchBatch(ctx context.Context, cd *contextDump, id uint64, last int64) (*bytes.Buffer, *jobFile, error) {
	q := url.Values{}
	q.Set("batchId", strconv.FormatUint(id, 10))
	if last >= 0 {
		q.Set("lastBatch", strconv.FormatInt(last, 10))
	}
	if cd.server != "" {
		q.Set("dbserver", cd.server)
	}
	req := client.Request{Method: http.MethodPost, Database: cd.db, Path: "/_api/dump/next/" + url.PathEscape(cd.id), Query: q}
	what := req.What(cd.db)
	var (
		out *bytes.Buffer
		jf  *jobFile
	)
	err := e.retry(ctx, what, func(ctx context.Context) error {
		resp, body, err := e.conn.Stream(ctx, req)
		if err != nil {
			return err
		}
		if resp.Status == http.StatusNoContent {
			body.Close()
			out = nil
			return nil
		}
		if resp.Status != http.StatusOK {
			body.Close()
			return fmt.Errorf("%s: unexpected status %d", what, resp.Status)
		}
		shard := resp.Header.Get("x-arango-dump-shard-id")
		if jf = cd.jobs[shard]; jf == nil {
			body.Close()
			if shard == "" {
				return fmt.Errorf("%s: answer has no x-arango-dump-shard-id header", what)
			}
			return fmt.Errorf("%s: server sent a batch of shard %s, which is not in the dump context", what, shard)
		}
		b, err := readBody(body, what, resp.Header)
		if err != nil {
			return err
		}
		out = b
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("dump (%s, batch %d): %w", cd.describe(), id, err)
	}
	if out != nil {
		e.batches.Add(1)
	}
	return out, jf, nil
}
