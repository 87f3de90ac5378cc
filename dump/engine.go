// Package dump is godump's logical dump engine: it reads a database's inventory, plans
// one job per collection (per shard on a cluster with split files), ordered largest first,
// and streams the server's bytes into the data files of the format package, without
// decoding documents (except to apply maskings).
//
// Protocols. With the 3.12 parallel dump API (/_api/dump/start, next, DELETE) it opens one
// dump context per server, as arangodump does (parallel.go): on a single server one for all
// the collections of the database, on a cluster one per DB-Server holding all the leader
// shards on it (dbserver parameter). Each context is one snapshot, so the dump is one point in
// time per server. With the classic replication API (batch + /_api/replication/dump; 3.11
// and older) it runs the jobs on --threads workers, each job reading its collection or shards
// (through the Coordinator from the leader, DBserver parameter, on a cluster).
//
// Retries. A dropped connection, a timeout or a 503 is retried with backoff (the
// connection's RetryPolicy). With the parallel API the same batchId is asked again without
// acknowledging it (lastBatch stays the previous batch), and the server sends the same batch
// again. The classic API keeps the read position on the server and cannot re-send a chunk,
// so there the failed file is discarded and the collection is read again from a new batch
// (also when Go's HTTP transport silently re-sent the request on a new connection). A 4xx is
// never retried; errors name the database, collection, shard and request.
//
// Memory. The batch size asked from the server is capped by Options.MaxBatchMemory (8 MiB
// by default). With the parallel API at most Threads x NetworkThreads batches are being
// fetched and Threads being written (parallel.go), and an open data file between two batches
// holds no compressor (format writes a gzip member per batch), however many files a context
// keeps open. With the classic API a job holds at most two batches (one being written, one
// fetched ahead) and --threads jobs run at once. So the footprint is about
// threads x (network threads + 1) x MaxBatchMemory plus the compressors at work, whatever the
// number or the size of the collections.
//
// It is a library: it never prints or exits; progress goes to a progress.Reporter and
// errors are returned.
package dump

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/arangobackup/godump/client"
	"github.com/arangobackup/godump/format"
	"github.com/arangobackup/godump/progress"
)

// Summary is what a dump did, for the closing line.
type Summary struct {
	Databases     int           // databases dumped
	Collections   int           // collections dumped (structure and data)
	Jobs          int           // data jobs run
	Documents     int64         // documents written
	Batches       int64         // batches received
	BytesReceived int64         // bytes received from the server
	BytesWritten  int64         // bytes written before compression
	Retries       int64         // requests repeated after a retryable failure
	Protocol      string        // "parallel" or "classic"
	Elapsed       time.Duration // wall time
	Warnings      []string      // warnings shown during the run
	// Skipped lists databases that failed and were skipped under --force --all-databases.
	Skipped []string
	// --continue: data files (and their documents) kept from earlier runs, databases whose
	// dump was already complete, and what was removed from the interrupted dump.
	KeptFiles     int
	KeptDocuments int64
	Complete      []string
	Dropped       []string
	// ArchiveBytes is the size of the archive written (--archive).
	ArchiveBytes int64
	// StoredBytes is the size of the dump on an object store (set by the command).
	StoredBytes int64
}

// engine is one run of Run.
type engine struct {
	conn     *client.Conn
	opts     Options
	rep      progress.Reporter
	maskings *Maskings
	parallel bool
	clientID string
	syncerID string

	batches, retries, docs, received, written atomic.Int64

	mu       sync.Mutex
	warnings []string

	// prePlanned are the jobs of each database already announced to the progress display
	// (--all-databases announces every database's jobs before the first starts).
	prePlanned map[string]int

	settings          map[string]string     // what decides the data files' contents (--continue)
	archive           *format.ArchiveWriter // --archive
	keptFiles         atomic.Int64
	keptDocs          atomic.Int64
	complete, dropped []string
}

// ErrInterrupted is returned (wrapped) when ctx was cancelled.
var ErrInterrupted = errors.New("dump interrupted")

func (e *engine) warn(msg string) {
	e.mu.Lock()
	e.warnings = append(e.warnings, msg)
	e.mu.Unlock()
	e.rep.Log("# warning: " + msg)
}

// Run dumps the database of conn (or every database with AllDatabases) into
// o.OutputDirectory. It returns the summary even on failure (with what was done).
func Run(ctx context.Context, conn *client.Conn, o Options, rep progress.Reporter) (*Summary, error) {
	started := time.Now()
	if rep == nil {
		rep = progress.Nop{}
	}
	e := &engine{conn: conn, opts: o, rep: rep,
		clientID: strconv.FormatUint(rand.Uint64()>>12, 10), syncerID: strconv.FormatUint(rand.Uint64()>>12, 10)}
	sum := &Summary{}
	defer func() {
		sum.Batches = e.batches.Load()
		sum.Retries = e.retries.Load()
		sum.Documents = e.docs.Load()
		sum.BytesReceived = e.received.Load()
		sum.BytesWritten = e.written.Load()
		sum.Elapsed = time.Since(started)
		sum.Warnings = e.warnings
		sum.KeptFiles, sum.KeptDocuments = int(e.keptFiles.Load()), e.keptDocs.Load()
		sum.Complete, sum.Dropped = e.complete, e.dropped
	}()
	warnings, err := e.opts.Validate()
	if err != nil {
		return sum, err
	}
	for _, w := range warnings {
		e.warn(w)
	}
	if e.opts.RequestTimeout <= 0 {
		e.opts.RequestTimeout = 1200 * time.Second
	}
	if e.opts.Open == nil {
		e.opts.Open = FormatOutput
	}
	if e.opts.Maskings != "" {
		if e.maskings, err = LoadMaskings(e.opts.Maskings); err != nil {
			return sum, fmt.Errorf("%w: %w", ErrUsage, err)
		}
	}
	if e.settings, err = dataSettings(&e.opts); err != nil {
		return sum, err
	}
	if conn.Role == "PRIMARY" {
		e.warn("operations in a cluster should be carried out via a Coordinator. This is an unsupported operation!")
	}
	e.parallel = e.opts.ParallelDump && conn.Version.AtLeast(3, 12, 0)
	sum.Protocol = "classic"
	if e.parallel {
		sum.Protocol = "parallel"
	}
	if conn.IsCluster() && !e.opts.SplitFilesSet {
		e.opts.SplitFiles = true
	}
	if e.opts.SplitFiles && !e.parallel {
		if e.opts.SplitFilesSet {
			return sum, fmt.Errorf("%w: --split-files is only available when using --parallel-dump (server %s)", ErrUsage, conn.Version)
		}
		e.opts.SplitFiles = false
	}

	if e.opts.Archive != nil {
		if e.archive, err = format.NewArchiveWriter(e.opts.Archive, "godump", Version); err != nil {
			return sum, fmt.Errorf("write archive %s: %w", e.opts.ArchiveName, err)
		}
	} else if e.opts.OutputStore != nil {
		if e.parallel && !e.opts.SnapshotPerCollection {
			// Memory: an upload holds its parts in memory, and one context per server keeps
			// every file of the server's shards open at once; a context per collection keeps
			// one open (and lets --continue keep each finished collection).
			e.opts.SnapshotPerCollection = true
			e.rep.Log("# dumping to object storage: one snapshot per collection (--snapshot per-collection), so that memory stays bounded")
		}
	} else if open, mode := format.OpenToOthers(e.opts.OutputDirectory); open {
		// Its files are 0600 whatever the directory, but others can list (or, writable,
		// replace) them; the directory is the user's, so it is named rather than changed.
		e.warn(fmt.Sprintf("output directory %s (mode %04o) can be read or written by other users, and a dump may hold password hashes (_users): \"chmod 700 %s\" makes it private",
			e.opts.OutputDirectory, mode, e.opts.OutputDirectory))
	}
	dbs := []string{conn.Database}
	if e.opts.AllDatabases {
		if dbs, err = e.listDatabases(ctx); err != nil {
			return sum, err
		}
		switch {
		case e.opts.OutputStore != nil:
			if files, err := e.opts.OutputStore.List(); err != nil {
				return sum, fmt.Errorf("output %s: %w", e.opts.OutputStore, err)
			} else if len(files) > 0 && !e.opts.Overwrite && !e.opts.Continue {
				return sum, fmt.Errorf("output %s already holds files; use \"--overwrite true\" to overwrite data in it", e.opts.OutputStore)
			}
		case e.archive == nil:
			if err := checkRoot(e.opts.OutputDirectory, e.opts.Overwrite || e.opts.Continue); err != nil {
				return sum, err
			}
		}
	}
	if len(dbs) > 1 {
		e.planDatabases(ctx, dbs)
	}
	for _, db := range dbs {
		n, err := e.dumpDatabase(ctx, db)
		sum.Collections += n.collections
		sum.Jobs += n.jobs
		if err != nil {
			if ctx.Err() != nil {
				return sum, fmt.Errorf("%w: %w", ErrInterrupted, err)
			}
			if e.opts.AllDatabases && e.opts.Force && e.archive == nil {
				e.warn(fmt.Sprintf("database %s failed, continuing with the next one (--force): %v", db, err))
				sum.Skipped = append(sum.Skipped, db)
				continue
			}
			return sum, err
		}
		sum.Databases++
	}
	if e.archive != nil {
		// the end marker, last: without it the stream reads as cut short
		if err := e.archive.Close(); err != nil {
			return sum, fmt.Errorf("write archive %s: %w", e.opts.ArchiveName, err)
		}
		sum.ArchiveBytes = e.archive.Written()
	}
	return sum, nil
}

// planDatabases announces the jobs of every database to the progress display before the
// first one starts, so that its jobs total does not grow at each database. Each database's
// own run corrects its figure if its collections changed in between (plan), and reports any
// error; here a database that cannot be read is simply not counted yet.
func (e *engine) planDatabases(ctx context.Context, dbs []string) {
	e.prePlanned = map[string]int{}
	total := 0
	for _, db := range dbs {
		var inv *inventory
		var err error
		if e.conn.IsCluster() {
			inv, err = e.clusterInventory(ctx, db)
		} else {
			var batchID string
			if batchID, err = e.createBatch(ctx, db, ""); err != nil {
				continue
			}
			inv, err = e.inventory(ctx, db, batchID)
			e.deleteBatch(ctx, db, batchID, "")
		}
		if err != nil {
			continue
		}
		sel, err := selectCollections(inv, &e.opts, e.maskings)
		if err != nil {
			continue
		}
		n := e.jobsOf(sel.Collections, e.conn.IsCluster())
		e.prePlanned[db] = n
		total += n
	}
	e.rep.Plan(total, 0)
}

// jobsOf is the number of jobs plan makes of colls, without asking the server for counts:
// one per collection, or one per (selected) shard of a cluster collection whose data is
// dumped with --split-files.
func (e *engine) jobsOf(colls []*invCollection, cluster bool) int {
	n := 0
	for _, c := range colls {
		withData := e.opts.DumpData && e.maskings.For(c.info.Name).Type != MaskStructure
		if !cluster || !e.opts.SplitFiles || !withData {
			n++
			continue
		}
		for _, s := range c.shardNames() {
			if len(e.opts.Shards) == 0 || slices.Contains(e.opts.Shards, s) {
				n++
			}
		}
	}
	return n
}

// listDatabases returns the databases the user can access, _system first.
func (e *engine) listDatabases(ctx context.Context) ([]string, error) {
	var res struct {
		Result []string `json:"result"`
	}
	if err := e.conn.DoJSON(ctx, client.Request{Method: http.MethodGet, Database: "_system", Path: "/_api/database/user"}, &res); err != nil {
		return nil, fmt.Errorf("list databases: %w", err)
	}
	sort.Slice(res.Result, func(i, j int) bool {
		a, b := res.Result[i], res.Result[j]
		if (a == "_system") != (b == "_system") {
			return a == "_system"
		}
		return a < b
	})
	return res.Result, nil
}

// checkRoot refuses a non-empty top-level directory without --overwrite (--all-databases;
// a single database's directory is checked by the format writer).
func checkRoot(dir string, overwrite bool) error {
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 || overwrite {
		return nil
	}
	return fmt.Errorf("output directory %s already exists and is not empty; use \"--overwrite true\" to overwrite data in it", dir)
}

// databaseDir is the subdirectory of a database with --all-databases: its name when
// traditional, else its id (as arangodump does for extended names).
func databaseDir(name string, props []byte) string {
	var p struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(props, &p)
	return format.DatabaseDirName(name, p.ID)
}

type dbCounts struct{ collections, jobs int }

// dumpDatabase dumps one database into its directory.
func (e *engine) dumpDatabase(ctx context.Context, db string) (dbCounts, error) {
	var cnt dbCounts
	cluster := e.conn.IsCluster()
	var (
		inv     *inventory
		batchID string
		err     error
	)
	if cluster {
		inv, err = e.clusterInventory(ctx, db)
	} else {
		if batchID, err = e.createBatch(ctx, db, ""); err != nil {
			return cnt, fmt.Errorf("database %s: create replication batch: %w", db, err)
		}
		defer e.deleteBatch(ctx, db, batchID, "")
		inv, err = e.inventory(ctx, db, batchID)
	}
	if err != nil {
		return cnt, err
	}
	sel, err := selectCollections(inv, &e.opts, e.maskings)
	if err != nil {
		return cnt, fmt.Errorf("database %s: %w", db, err)
	}
	for _, w := range sel.Warnings {
		e.warn(fmt.Sprintf("database %s: %s", db, w))
	}
	dir := e.opts.OutputDirectory
	archiveDir := ""
	if e.opts.AllDatabases {
		archiveDir = databaseDir(db, inv.Properties)
		dir = filepath.Join(dir, archiveDir)
	}
	if e.archive != nil {
		dir = e.opts.ArchiveName + ": " + archiveDir
	}
	var store format.Store
	if e.opts.OutputStore != nil {
		store = e.opts.OutputStore
		if archiveDir != "" {
			store = e.opts.OutputStore.Sub(archiveDir)
		}
		dir = store.String()
	}
	out, err := e.opts.Open(ctx, OutputConfig{Dir: dir, Database: db, Overwrite: e.opts.Overwrite,
		Compress: e.opts.CompressOutput, Cluster: cluster, Root: e.opts.OutputDirectory,
		Continue: e.opts.Continue, Settings: e.settings, Archive: e.archive, ArchiveDir: archiveDir, Store: store})
	if e.opts.Continue && errors.Is(err, format.ErrComplete) {
		// an earlier run finished this database (--all-databases stopped at a later one)
		e.mu.Lock()
		e.complete = append(e.complete, db)
		e.mu.Unlock()
		e.rep.Log(fmt.Sprintf("# database %s: the dump in %s is already complete, kept as it is", db, dir))
		return cnt, nil
	}
	if err != nil {
		return cnt, fmt.Errorf("database %s: %w", db, err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = out.Abort()
		}
	}()
	if err := e.writeMetadata(db, inv, sel, out); err != nil {
		return cnt, err
	}
	cnt.collections = len(sel.Collections)
	jobs := e.plan(ctx, db, sel.Collections, cluster, batchID)
	cnt.jobs = len(jobs)
	if e.opts.Continue {
		if jobs, err = e.keepEarlier(db, jobs, out); err != nil {
			return cnt, err
		}
	}
	for _, group := range e.phases(jobs) {
		if e.parallel {
			err = e.runParallel(ctx, db, group, out)
		} else {
			err = e.runJobs(ctx, group, out)
		}
		if err != nil {
			return cnt, err
		}
	}
	if err := out.Finish(); err != nil {
		return cnt, fmt.Errorf("database %s: finish dump directory %s: %w", db, dir, err)
	}
	ok = true
	return cnt, nil
}

func (e *engine) inventory(ctx context.Context, db, batchID string) (*inventory, error) {
	q := url.Values{}
	q.Set("includeSystem", strconv.FormatBool(e.opts.IncludeSystemCollections))
	q.Set("includeFoxxQueues", strconv.FormatBool(e.opts.IncludeSystemCollections))
	q.Set("batchId", batchID)
	req := client.Request{Method: http.MethodGet, Database: db, Path: "/_api/replication/inventory", Query: q}
	resp, err := e.conn.Do(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("database %s: inventory: %w", db, err)
	}
	return parseInventory(resp.Body, req.What(db))
}

func (e *engine) clusterInventory(ctx context.Context, db string) (*inventory, error) {
	q := url.Values{}
	q.Set("includeSystem", strconv.FormatBool(e.opts.IncludeSystemCollections))
	req := client.Request{Method: http.MethodGet, Database: db, Path: "/_api/replication/clusterInventory", Query: q}
	resp, err := e.conn.Do(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("database %s: cluster inventory: %w", db, err)
	}
	return parseInventory(resp.Body, req.What(db))
}

// writeMetadata writes ENCRYPTION, dump.json, the structure files and the views.
func (e *engine) writeMetadata(db string, inv *inventory, sel *selection, out Output) error {
	if err := out.WriteEncryption(); err != nil {
		return fmt.Errorf("database %s: write ENCRYPTION: %w", db, err)
	}
	meta := DumpJSON{Database: db, CreatedAt: time.Now().UTC().Format("2006-01-02T15:04:05Z"),
		LastTickAtDumpStart: inv.Tick, Properties: inv.Properties}
	if err := out.WriteDumpJSON(meta); err != nil {
		return fmt.Errorf("database %s: write dump.json: %w", db, err)
	}
	for _, c := range sel.Collections {
		params, indexes, err := c.structure()
		if err != nil {
			return fmt.Errorf("database %s: %w", db, err)
		}
		if err := out.WriteStructure(c.info.Name, params, indexes); err != nil {
			return fmt.Errorf("database %s: write structure of collection %s: %w", db, c.info.Name, err)
		}
	}
	if e.opts.DumpViews {
		for i, v := range inv.Views {
			var vi struct {
				Name string `json:"name"`
			}
			if err := json.Unmarshal(v, &vi); err != nil || vi.Name == "" {
				return fmt.Errorf("database %s: inventory view %d has no name", db, i)
			}
			if err := out.WriteView(vi.Name, v); err != nil {
				return fmt.Errorf("database %s: write view %s: %w", db, vi.Name, err)
			}
		}
	}
	return nil
}

// job is one unit of work: the shards that go into one data file.
type job struct {
	db       string
	coll     *invCollection
	shards   []shardRef
	part     int    // split-file number, -1 for the collection's single file
	batchID  string // shared snapshot of the classic API on a single server
	expected int64
	withData bool
}

// shardID is the shard a job's file holds when it holds exactly one (a split file of a
// cluster collection), else "".
func (j *job) shardID() string {
	if j.part >= 0 && len(j.shards) == 1 && j.shards[0].Leader != "" {
		return j.shards[0].ID
	}
	return ""
}

func (j *job) name() string {
	if j.part >= 0 && len(j.shards) == 1 && j.shards[0].Leader != "" {
		return j.coll.info.Name + "/" + j.shards[0].ID
	}
	return j.coll.info.Name
}

// plan makes the jobs of a database, largest first.
func (e *engine) plan(ctx context.Context, db string, colls []*invCollection, cluster bool, batchID string) []*job {
	wantShard := map[string]bool{}
	for _, s := range e.opts.Shards {
		wantShard[s] = true
	}
	var jobs []*job
	for _, c := range colls {
		withData := e.opts.DumpData && e.maskings.For(c.info.Name).Type != MaskStructure
		if !cluster {
			j := &job{db: db, coll: c, part: -1, batchID: batchID, withData: withData}
			if e.opts.SplitFiles {
				j.part = 0
			}
			if withData {
				j.expected, _ = countDocuments(ctx, e.conn, db, c.info.Name, false)
			}
			j.shards = []shardRef{{ID: c.info.Name, Docs: j.expected}}
			jobs = append(jobs, j)
			continue
		}
		var perShard map[string]int64
		var total int64
		if withData {
			total, perShard = countDocuments(ctx, e.conn, db, c.info.Name, true)
		}
		var shards []shardRef
		for _, s := range c.shardNames() {
			if len(wantShard) > 0 && !wantShard[s] {
				continue
			}
			leader := ""
			if servers := c.info.Shards[s]; len(servers) > 0 {
				leader = servers[0]
			}
			shards = append(shards, shardRef{ID: s, Leader: leader, Docs: perShard[s]})
		}
		if e.opts.SplitFiles && withData {
			for i, s := range shards {
				jobs = append(jobs, &job{db: db, coll: c, shards: []shardRef{s}, part: i, expected: perShard[s.ID], withData: true})
			}
			continue
		}
		jobs = append(jobs, &job{db: db, coll: c, shards: shards, part: -1, expected: total, withData: withData})
	}
	sort.SliceStable(jobs, func(a, b int) bool { return jobs[a].expected > jobs[b].expected })
	var docs int64
	for _, j := range jobs {
		docs += j.expected
	}
	e.rep.Plan(len(jobs)-e.prePlanned[db], docs) // planDatabases announced the jobs of --all-databases
	return jobs
}

// runJobs runs the jobs on --threads workers (classic API); the first failure cancels the rest.
func (e *engine) runJobs(ctx context.Context, jobs []*job, out Output) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.opts.Threads)
	for _, j := range jobs {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error { return e.runJob(gctx, j, out) })
	}
	return g.Wait()
}

// runJob writes one data file with the classic API: a failure restarts the file from a
// fresh batch.
func (e *engine) runJob(ctx context.Context, j *job, out Output) (err error) {
	if !j.withData {
		return e.writeWithoutData(j, out)
	}
	name := j.coll.info.Name
	tr := e.rep.Start(progress.Job{Database: j.db, Name: j.name(), Docs: j.expected})
	defer func() { tr.Done(err) }()
	attempts := max(e.conn.Retry.Attempts, 1)
	wait := max(e.conn.Retry.Initial, 50*time.Millisecond)
	for attempt := 1; ; attempt++ {
		w := &jobWriter{e: e, j: j, out: out, tr: tr}
		if e.maskings != nil {
			w.masker = e.maskings.NewMasker(name)
		}
		err = e.fetchJob(ctx, j, w, attempt)
		if err == nil {
			err = w.commit()
		}
		if err == nil {
			return nil
		}
		w.abort()
		if ctx.Err() != nil || !client.Retryable(err) || attempt >= attempts {
			if ctx.Err() != nil && !errors.Is(err, context.Canceled) {
				err = errors.Join(ctx.Err(), err)
			}
			return err
		}
		e.retries.Add(1)
		e.rep.Log(fmt.Sprintf("# restarting collection %s (database %s) from a new snapshot after: %v", name, j.db, err))
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(wait*2, max(e.conn.Retry.Max, time.Second))
	}
}

// fetchJob streams every shard of a job into w (classic API).
func (e *engine) fetchJob(ctx context.Context, j *job, w *jobWriter, attempt int) error {
	name := j.coll.info.Name
	for _, s := range j.shards {
		batch := j.batchID
		if batch == "" || attempt > 1 || s.Leader != "" {
			b, err := e.createBatch(ctx, j.db, s.Leader)
			if err != nil {
				return fmt.Errorf("dump collection %s (database %s, shard %s): create replication batch: %w", name, j.db, s.ID, err)
			}
			batch = b
			defer e.deleteBatch(ctx, j.db, b, s.Leader)
		} else {
			e.extendBatch(ctx, j.db, batch, "")
		}
		if err := e.classicShard(ctx, j.db, name, batch, s, w.emit); err != nil {
			return err
		}
	}
	return nil
}

// jobWriter takes the batches of a classic job into its data file.
type jobWriter struct {
	e      *engine
	j      *job
	out    Output
	tr     progress.Tracker
	masker *masker
	file   DataFile
	masked bytes.Buffer

	docs, received, written int64
}

func (w *jobWriter) open() error {
	if w.file != nil {
		return nil
	}
	f, err := w.out.CreateDataFile(w.j.coll.info.Name, w.j.part, w.j.shardID())
	if err != nil {
		return fmt.Errorf("database %s: create data file of collection %s: %w", w.j.db, w.j.coll.info.Name, err)
	}
	w.file = f
	return nil
}

// emit writes one batch (whole lines).
func (w *jobWriter) emit(batch []byte) error {
	if len(batch) == 0 {
		return nil
	}
	if err := w.open(); err != nil {
		return err
	}
	docs := int64(bytes.Count(batch, []byte{'\n'}))
	data := batch
	if w.masker != nil {
		w.masked.Reset()
		if err := w.masker.MaskLines(&w.masked, batch); err != nil {
			return fmt.Errorf("database %s collection %s: %w", w.j.db, w.j.coll.info.Name, err)
		}
		data = w.masked.Bytes()
	}
	if err := w.file.WriteLines(data, docs); err != nil {
		return fmt.Errorf("database %s: write data file of collection %s: %w", w.j.db, w.j.coll.info.Name, err)
	}
	w.docs += docs
	w.received += int64(len(batch))
	w.written += int64(len(data))
	w.e.docs.Add(docs)
	w.e.received.Add(int64(len(batch)))
	w.e.written.Add(int64(len(data)))
	w.tr.Add(docs, int64(len(batch)))
	return nil
}

func (w *jobWriter) commit() error {
	if w.file == nil {
		if w.j.part >= 0 {
			return nil // split mode: an empty shard gets no file
		}
		if err := w.open(); err != nil {
			return err
		}
	}
	if err := w.file.Commit(); err != nil {
		return fmt.Errorf("database %s: write data file of collection %s: %w", w.j.db, w.j.coll.info.Name, err)
	}
	return nil
}

// abort removes the job's file and takes back what it counted (a classic restart writes
// the whole file again).
func (w *jobWriter) abort() {
	if w.file != nil {
		_ = w.file.Abort()
	}
	w.e.docs.Add(-w.docs)
	w.e.received.Add(-w.received)
	w.e.written.Add(-w.written)
	w.tr.Add(-w.docs, -w.received)
}

// dataSettings are the options that decide what the data files hold: a run continuing a
// dump must have the interrupted run's (format.ErrSettingsDiffer otherwise), or its files
// would mix two kinds.
func dataSettings(o *Options) (map[string]string, error) {
	s := map[string]string{
		"compress-output": strconv.FormatBool(o.CompressOutput),
		"dump-data":       strconv.FormatBool(o.DumpData),
	}
	if o.SplitFilesSet {
		s["split-files"] = strconv.FormatBool(o.SplitFiles)
	}
	if o.Maskings != "" {
		b, err := os.ReadFile(o.Maskings)
		if err != nil {
			return nil, fmt.Errorf("%w: read maskings file %s: %w", ErrUsage, o.Maskings, err)
		}
		sum := sha256.Sum256(b)
		s["maskings"] = "sha256:" + hex.EncodeToString(sum[:])
	}
	return s, nil
}

// keepEarlier (--continue) keeps the data files earlier runs committed for the jobs of this
// run that would write the same file (same collection and part, and the same shard when one
// was recorded), reports them done, and returns the jobs left to run.
func (e *engine) keepEarlier(db string, jobs []*job, out Output) ([]*job, error) {
	type id struct {
		coll string
		part int
	}
	byID := map[id]*job{}
	for _, j := range jobs {
		byID[id{j.coll.info.Name, j.part}] = j
	}
	kept, notes, err := out.Keep(func(f KeptFile) bool {
		j := byID[id{f.Collection, f.Part}]
		return j != nil && (f.Shard == "" || f.Shard == j.shardID())
	})
	for _, n := range notes {
		e.mu.Lock()
		e.dropped = append(e.dropped, "database "+db+": "+n)
		e.mu.Unlock()
		e.rep.Log("# continue: database " + db + ": " + n)
	}
	if err != nil {
		return nil, fmt.Errorf("database %s: continue: %w", db, err)
	}
	done := map[*job]bool{}
	for _, f := range kept {
		j := byID[id{f.Collection, f.Part}]
		done[j] = true
		tr := e.rep.Start(progress.Job{Database: db, Name: j.name(), Docs: j.expected})
		tr.Add(f.Documents, 0)
		tr.Done(nil)
		e.keptFiles.Add(1)
		e.keptDocs.Add(f.Documents)
	}
	left := jobs[:0:0]
	for _, j := range jobs {
		if !done[j] {
			left = append(left, j)
		}
	}
	return left, nil
}

// phases groups the jobs that run one after the other. A directory has one group. An
// archive is restored while it is read, in arangorestore's order, so its data comes in that
// order (SPEC.md §11): _analyzers' first (views and inverted indexes need the analyzers),
// _users' last (restoring it may change the restoring user's credentials), each group with
// dump contexts of its own.
func (e *engine) phases(jobs []*job) [][]*job {
	if e.archive == nil {
		return [][]*job{jobs}
	}
	var first, middle, last []*job
	for _, j := range jobs {
		switch j.coll.info.Name {
		case "_analyzers":
			first = append(first, j)
		case "_users":
			last = append(last, j)
		default:
			middle = append(middle, j)
		}
	}
	var out [][]*job
	for _, g := range [][]*job{first, middle, last} {
		if len(g) > 0 {
			out = append(out, g)
		}
	}
	return out
}
