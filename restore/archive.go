package restore

// gorestore --archive: restoring a godump archive (format/archive.go, SPEC.md §11) while it
// is read, without unpacking it to disk. Each database's metadata comes first in the stream:
// it is staged in a private temporary directory (small files only) and planned as a
// directory would be; then its collections are created and its data entries are handed, as
// they arrive, to one job per collection, which sends them in batches as from a file. The
// archive's order is arangorestore's: _analyzers' data first (then the arangosearch views),
// every other collection's data (indexes first, or after with --indexes-after-data), the
// search-alias views, and _users' data last. Memory is bounded by a budget of entry bytes
// held (archiveBudget) plus one entry read ahead; every entry's SHA-256 is checked before
// its first document is sent, and at the end of each database every data entry against its
// manifest, at the end of the stream every entry against the end marker. A stream that stops
// early is an error naming what was restored.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/arangobackup/godump/client"
	"github.com/arangobackup/godump/format"
	"github.com/arangobackup/godump/progress"
)

// archiveBudget bounds the bytes of data entries read and not yet restored.
const archiveBudget = 64 << 20

// archiveRun reads an archive database by database.
type archiveRun struct {
	opts    Options
	name    string
	ar      *format.ArchiveReader
	staging string
	next    *format.ArchiveItem // read but not yet used
	layout  int                 // 0 unknown, 1 one database at the top, 2 one per subdirectory
	n       int                 // databases staged
	dirs    map[string]bool     // database directories seen
	// received records every data entry of the current database: name -> entry.
	received map[string]*format.ArchiveItem
}

func openArchiveRun(opts Options) (*archiveRun, error) {
	if opts.Archive == nil {
		return nil, errors.New("no archive given")
	}
	ar, err := format.NewArchiveReader(opts.Archive, opts.ArchiveName)
	if err != nil {
		return nil, err
	}
	staging, err := os.MkdirTemp("", "gorestore-archive-")
	if err != nil {
		return nil, fmt.Errorf("archive %s: staging directory: %w", opts.ArchiveName, err)
	}
	return &archiveRun{opts: opts, name: opts.ArchiveName, ar: ar, staging: staging}, nil
}

func (r *archiveRun) close() { os.RemoveAll(r.staging) }

// read returns the next entry (the one put back first); io.EOF after the end marker.
func (r *archiveRun) read() (*format.ArchiveItem, error) {
	if it := r.next; it != nil {
		r.next = nil
		return it, nil
	}
	return r.ar.Next()
}

// stageDatabase stages the metadata of the next database (and, with manifest, reads on to
// its manifest, counting its data) and plans it. io.EOF when the archive has no more.
func (r *archiveRun) stageDatabase(manifest bool) (*DatabasePlan, []string, error) {
	it, err := r.read()
	if err != nil {
		return nil, nil, err
	}
	r.n++
	dir := it.Dir
	switch {
	case r.layout == 0 && dir == "":
		r.layout = 1
	case r.layout == 0:
		r.layout = 2
	case r.layout == 1 || dir == "":
		return nil, nil, r.errorf("entry %s: a second database in an archive of one", it.Name)
	}
	if r.layout == 2 && !r.opts.AllDatabases {
		return nil, nil, fmt.Errorf("archive %s holds a dump of several databases (one per subdirectory): use --all-databases", r.name)
	}
	if r.layout == 1 && r.opts.AllDatabases {
		return nil, nil, fmt.Errorf("--all-databases: archive %s holds the dump of one database", r.name)
	}
	if r.dirs == nil {
		r.dirs = map[string]bool{}
	}
	if r.dirs[dir] {
		return nil, nil, r.errorf("database directory %q twice", dir)
	}
	r.dirs[dir] = true
	root := filepath.Join(r.staging, fmt.Sprint(r.n))
	local := root
	if dir != "" {
		local = filepath.Join(root, dir)
	}
	if err := format.MkdirPrivate(local); err != nil {
		return nil, nil, err
	}
	r.received = map[string]*format.ArchiveItem{}
	for {
		if it.Dir != dir {
			return nil, nil, r.errorf("entry %s comes before the manifest of database directory %q", it.Name, dir)
		}
		if it.IsData {
			if !manifest {
				r.next = it
				break
			}
			r.received[it.Base] = &format.ArchiveItem{Name: it.Name, Base: it.Base, IsData: true, Documents: it.Documents, SHA256: it.SHA256, Uncompressed: it.Uncompressed}
		} else {
			if len(r.received) > 0 && it.Base != format.ManifestFileName {
				return nil, nil, r.errorf("metadata entry %s after the data of its database (the archive is not in godump's order)", it.Name)
			}
			if it.Base == format.ManifestFileName && !manifest {
				r.next = it // the database has no data entries: its restore reads the manifest
				break
			}
			if err := os.WriteFile(filepath.Join(local, it.Base), it.Data, format.FileMode); err != nil {
				return nil, nil, fmt.Errorf("archive %s: stage %s: %w", r.name, it.Name, err)
			}
			if it.Base == format.ManifestFileName {
				break
			}
		}
		if it, err = r.read(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, nil, r.errorf("database directory %q has no %s", dir, format.ManifestFileName)
			}
			return nil, nil, err
		}
	}
	opts := r.opts
	opts.InputDirectory = local
	opts.AllDatabases = false
	opts.archive = true
	if r.opts.AllDatabases {
		opts.Database = dir
		if b, err := os.ReadFile(filepath.Join(local, format.DumpJSONFileName)); err == nil {
			if m, err := format.ParseDumpJSON(b); err == nil && m.Database != "" {
				opts.Database = m.Database
			}
		}
	}
	p, err := BuildPlan(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("archive %s: %w", r.name, err)
	}
	dp := p.Databases[0]
	dp.Source.Dir = r.name + ": " + dir
	if dir == "" {
		dp.Source.Dir = r.name
	}
	if manifest {
		r.attachData(dp)
	}
	return dp, p.Warnings, nil
}

func (r *archiveRun) errorf(format_ string, args ...any) error {
	return &format.Error{File: r.name, Err: fmt.Errorf("%w: %s", format.ErrArchive, fmt.Sprintf(format_, args...))}
}

// collectionOfEntry finds the collection a data entry belongs to.
func collectionOfEntry(byStem map[string]*CollectionPlan, base string) (*CollectionPlan, bool) {
	stem, _, ok := strings.Cut(base, ".")
	if !ok {
		return nil, false
	}
	c, ok := byStem[stem]
	return c, ok
}

// attachData (--list) gives the plan's collections the data entries the archive holds for
// them, with the manifest's sizes, so that the listing shows them.
func (r *archiveRun) attachData(dp *DatabasePlan) {
	byStem := map[string]*CollectionPlan{}
	for _, c := range dp.Collections {
		byStem[format.DataFileStem(c.Source.Name, c.Source.ID)] = c
	}
	for base, it := range r.received {
		c, ok := collectionOfEntry(byStem, base)
		if !ok {
			continue
		}
		c.Source.DataFiles = append(c.Source.DataFiles, format.DataFile{Name: base, Path: r.name + ": " + it.Name})
		if mf := dp.Source.Manifest.File(base); mf != nil {
			c.DataBytes += mf.Size
			if c.Recorded == nil {
				c.Recorded = map[string]int64{}
			}
			c.Recorded[base] = mf.Documents
		}
	}
}

// checkManifest compares the database's data entries with its manifest.
func (r *archiveRun) checkManifest(dir string, data []byte) error {
	m, err := format.ParseManifest(data)
	if err != nil {
		return &format.Error{File: r.name + ": " + filepath.Join(dir, format.ManifestFileName), Err: err}
	}
	if !m.Complete {
		return r.errorf("the manifest of database directory %q is not complete", dir)
	}
	listed := map[string]bool{}
	for _, f := range m.Files {
		listed[f.Name] = true
		it := r.received[f.Name]
		if it == nil {
			return &format.Error{File: r.name, Err: fmt.Errorf("%w: %s lists %s, which the archive does not hold", format.ErrChecksum, format.ManifestFileName, f.Name)}
		}
		if it.SHA256 != f.SHA256 || it.Documents != f.Documents {
			return &format.Error{File: r.name, Err: fmt.Errorf("%w: %s: SHA-256 %s and %d document(s), %s says %s and %d", format.ErrChecksum, it.Name, it.SHA256, it.Documents, format.ManifestFileName, f.SHA256, f.Documents)}
		}
	}
	for name := range r.received {
		if !listed[name] {
			return &format.Error{File: r.name, Err: fmt.Errorf("%w: data entry %s is not in its database's %s", format.ErrChecksum, name, format.ManifestFileName)}
		}
	}
	return nil
}

// ListArchive reads the whole archive and returns its plan, with the documents and sizes
// its manifests record (gorestore --list --archive, --dry-run).
func ListArchive(opts Options) (*Plan, error) {
	r, err := openArchiveRun(opts)
	if err != nil {
		return nil, err
	}
	defer r.close()
	plan := &Plan{}
	for {
		dp, warnings, err := r.stageDatabase(true)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		dir := strings.TrimPrefix(strings.TrimPrefix(dp.Source.Dir, r.name), ": ")
		b, err := os.ReadFile(filepath.Join(r.staging, fmt.Sprint(r.n), dir, format.ManifestFileName))
		if err != nil {
			return nil, fmt.Errorf("archive %s: %w", r.name, err)
		}
		if err := r.checkManifest(dir, b); err != nil {
			return nil, err
		}
		plan.Databases = append(plan.Databases, dp)
		plan.Warnings = append(plan.Warnings, warnings...)
	}
	if len(plan.Databases) == 0 {
		return nil, fmt.Errorf("archive %s holds no database", r.name)
	}
	return plan, nil
}

// RunArchive restores the archive of opts while reading it. It returns the plans of the
// databases it got to, and the summary even on failure.
func RunArchive(ctx context.Context, conn *client.Conn, opts Options, rep progress.Reporter) (*Plan, *Summary, error) {
	start := time.Now()
	if rep == nil {
		rep = progress.Nop{}
	}
	opts.Continue = false
	slots := inFlight(opts.Threads)
	e := &engine{conn: conn, opts: opts, rep: rep, sendSlots: make(chan struct{}, slots), freeBufs: make(chan []byte, slots+max(opts.Threads, 1))}
	plan := &Plan{}
	sum := &Summary{}
	current := "" // the database being restored
	finish := func(err error) (*Plan, *Summary, error) {
		if err != nil && current != "" {
			err = fmt.Errorf("%w; database %s is partly restored (%d document(s) sent to it, %d database(s) before it complete): restore it again from a complete archive", err, current, e.docs.Load()-sum.Docs, sum.Databases)
		}
		sum.Batches, sum.Docs = e.batches.Load(), e.docs.Load()
		sum.ReadBytes, sum.SentBytes = e.readBytes.Load(), e.sentBytes.Load()
		sum.Warnings = e.warnings
		sum.Elapsed = time.Since(start)
		if ctx.Err() != nil {
			sum.Interrupted = true
		}
		return plan, sum, err
	}
	r, err := openArchiveRun(opts)
	if err != nil {
		return finish(err)
	}
	defer r.close()
	for {
		if err := ctx.Err(); err != nil {
			return finish(err)
		}
		dp, warnings, err := r.stageDatabase(false)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if sum.Databases == 0 {
				return finish(fmt.Errorf("%w; nothing was restored", err))
			}
			return finish(fmt.Errorf("%w; the %d database(s) before it were restored completely", err, sum.Databases))
		}
		for _, w := range warnings {
			e.warn(w)
		}
		plan.Databases = append(plan.Databases, dp)
		if err := e.checkReplicationFactors(ctx, &Plan{Databases: []*DatabasePlan{dp}}); err != nil {
			if !opts.Force {
				return finish(err)
			}
			e.warn(err.Error())
		}
		rep.Plan(len(dp.Collections), 0)
		current = dp.Target
		docsBefore := e.docs.Load()
		n, err := e.restoreArchiveDatabase(ctx, r, dp)
		sum.Collections += n
		if err != nil {
			sum.Docs = docsBefore // for the message: what this database got
			return finish(err)
		}
		current = ""
		sum.Databases++
	}
	if len(plan.Databases) == 0 {
		return finish(fmt.Errorf("archive %s holds no database", r.name))
	}
	return finish(nil)
}

// archiveJob is a collection's job during an archive restore: its entries arrive on ch.
type archiveJob struct {
	c  *CollectionPlan
	ch chan *format.ArchiveItem
}

// restoreArchiveDatabase restores one database from the entries that follow its metadata,
// up to and including its manifest.
func (e *engine) restoreArchiveDatabase(ctx context.Context, r *archiveRun, dp *DatabasePlan) (int, error) {
	db := dp.Target
	if err := e.ensureDatabase(ctx, dp); err != nil {
		return 0, err
	}
	cf := &continueFile{disabled: true, entries: map[string]*collProgress{}}
	e.assignEndpoints(dp)
	if err := e.createCollections(ctx, dp, cf); err != nil {
		return 0, err
	}
	byStem := map[string]*CollectionPlan{}
	var analyzers, users *CollectionPlan
	for _, c := range dp.Collections {
		byStem[format.DataFileStem(c.Source.Name, c.Source.ID)] = c
		switch c.Name() {
		case "_analyzers":
			analyzers = c
		case "_users":
			users = c
		}
	}
	dir := strings.TrimPrefix(strings.TrimPrefix(dp.Source.Dir, r.name), ": ")
	budget := semaphore.NewWeighted(archiveBudget)
	trackers := map[*CollectionPlan]progress.Tracker{}
	var trMu sync.Mutex
	tracker := func(c *CollectionPlan) progress.Tracker {
		trMu.Lock()
		defer trMu.Unlock()
		if trackers[c] == nil {
			trackers[c] = e.rep.Start(progress.Job{Database: db, Name: c.Target})
		}
		return trackers[c]
	}
	// restoreEntry sends one data entry of c.
	restoreEntry := func(ctx context.Context, c *CollectionPlan, it *format.ArchiveItem) error {
		cc := *c
		src := *c.Source
		src.DataFiles = []format.DataFile{it.DataFileOf(r.name)}
		cc.Source = &src
		cc.Checksums = nil // checked as it was read
		cc.Recorded = map[string]int64{it.Base: it.Documents}
		return e.restoreData(ctx, db, &cc, cf, collProgress{}, tracker(c))
	}
	// next reads the next entry of this database: a data entry (its collection; nil when not
	// restored) or the manifest (done).
	var manifest []byte
	next := func() (*format.ArchiveItem, *CollectionPlan, error) {
		it, err := r.read()
		if errors.Is(err, io.EOF) {
			return nil, nil, r.errorf("the archive ends before the manifest of database directory %q", dir)
		}
		if err != nil {
			return nil, nil, err
		}
		if it.Dir != dir {
			return nil, nil, r.errorf("entry %s before the manifest of database directory %q", it.Name, dir)
		}
		if !it.IsData {
			if it.Base != format.ManifestFileName {
				return nil, nil, r.errorf("metadata entry %s after the data of its database (the archive is not in godump's order)", it.Name)
			}
			manifest = it.Data
			return nil, nil, nil
		}
		if r.received[it.Base] != nil {
			return nil, nil, r.errorf("data entry %s twice", it.Name)
		}
		r.received[it.Base] = &format.ArchiveItem{Name: it.Name, Base: it.Base, IsData: true, Documents: it.Documents, SHA256: it.SHA256}
		c, ok := collectionOfEntry(byStem, it.Base)
		if !ok {
			c = nil // a collection left out (--collection, --ignore-collection, _users elsewhere)
		}
		return it, c, nil
	}
	done := func(c *CollectionPlan, err error) {
		tr := tracker(c)
		tr.Done(err)
		if err == nil {
			e.restored.Add(1)
		}
	}

	it, c, err := next()
	if err != nil {
		return 0, err
	}
	// 1. _analyzers' data, then the arangosearch views.
	for it != nil && (c == nil || c == analyzers) {
		if c != nil && e.opts.ImportData {
			if err := restoreEntry(ctx, c, it); err != nil {
				return 0, err
			}
		}
		if it, c, err = next(); err != nil {
			return 0, err
		}
	}
	if analyzers != nil {
		done(analyzers, nil)
	}
	if err := e.restoreViews(ctx, dp, "arangosearch", markerArangoSearch, cf); err != nil {
		return 0, err
	}
	// 2. Every other collection: a job each, fed as the entries come.
	jobs := map[*CollectionPlan]*archiveJob{}
	g, gctx := errgroup.WithContext(ctx)
	indexSlots := make(chan struct{}, max(e.opts.Threads, 1))
	withIndexes := func(ctx context.Context, c *CollectionPlan) error {
		select {
		case indexSlots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-indexSlots }()
		return e.restoreIndexes(ctx, db, c)
	}
	for _, cp := range dp.Collections {
		if cp == analyzers || cp == users {
			continue
		}
		j := &archiveJob{c: cp, ch: make(chan *format.ArchiveItem, 4)}
		jobs[cp] = j
		g.Go(func() (err error) {
			defer func() {
				for range j.ch { // drain after a failure, so that the reader never blocks
					budget.Release(1)
				}
				done(j.c, err)
			}()
			if !e.opts.IndexesAfterData {
				if err := withIndexes(gctx, j.c); err != nil {
					return err
				}
			}
			for item := range j.ch {
				n := weight(item)
				var err error
				if e.opts.ImportData {
					err = restoreEntry(gctx, j.c, item)
				}
				budget.Release(n)
				if err != nil {
					return err
				}
			}
			if e.opts.IndexesAfterData {
				return withIndexes(gctx, j.c)
			}
			return nil
		})
	}
	feedErr := func() error {
		for it != nil && c != users {
			if c == analyzers && c != nil {
				return r.errorf("data entry %s of _analyzers after the data of other collections (the archive is not in godump's order)", it.Name)
			}
			if j := jobs[c]; j != nil {
				if err := budget.Acquire(gctx, weight(it)); err != nil {
					return err
				}
				select {
				case j.ch <- it:
				case <-gctx.Done():
					budget.Release(weight(it))
					return gctx.Err()
				}
			}
			var err error
			if it, c, err = next(); err != nil {
				return err
			}
		}
		return nil
	}()
	for _, j := range jobs {
		close(j.ch)
	}
	jobsErr := g.Wait()
	if err := errors.Join(feedErr, jobsErr); err != nil {
		return len(jobs), err
	}
	// 3. search-alias views, replication, Foxx.
	if err := e.restoreViews(ctx, dp, "search-alias", markerSearchAlias, cf); err != nil {
		return len(jobs), err
	}
	if e.opts.FastClusterRestore {
		if err := e.raiseReplication(ctx, db, dp.Collections); err != nil {
			return len(jobs), err
		}
	}
	for _, cp := range dp.Collections {
		if (cp.Name() == "_apps" || cp.Name() == "_appbundles") && e.opts.ImportData {
			e.healFoxx(ctx, db)
			break
		}
	}
	// 4. _users' data last.
	for it != nil {
		if c != users && c != nil {
			return len(jobs), r.errorf("data entry %s after the data of _users (the archive is not in godump's order)", it.Name)
		}
		if c != nil && e.opts.ImportData {
			if err := restoreEntry(ctx, c, it); err != nil {
				return len(jobs), err
			}
		}
		if it, c, err = next(); err != nil {
			return len(jobs), err
		}
	}
	if users != nil {
		done(users, nil)
	}
	if err := r.checkManifest(dir, manifest); err != nil {
		return len(dp.Collections), err
	}
	return len(dp.Collections), nil
}

// weight is what an entry counts against the budget (at most all of it, so that an entry
// larger than the budget still goes, alone).
func weight(it *format.ArchiveItem) int64 {
	return min(max(int64(len(it.Data)), 1), archiveBudget)
}
