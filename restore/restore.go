// Package restore is the restore engine of gorestore: it replays a dump directory (any
// arangodump 1.4 to 3.12 or godump dump, read through package format) into an ArangoDB
// deployment, in arangorestore's order of operations, with collections and the batches of
// one collection sent in parallel, and resumable through continue.json.
//
// It is not a CLI: cmd/gorestore parses the options, prints and exits. It does not parse
// dump files itself; package format does.
package restore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arangobackup/godump/client"
	"github.com/arangobackup/godump/format"
	"github.com/arangobackup/godump/progress"
	"golang.org/x/sync/errgroup"
)

// Summary is what a finished (or failed) restore did.
type Summary struct {
	Databases   int
	Collections int   // collections processed
	Batches     int64 // restore-data requests acknowledged
	Docs        int64 // lines sent (documents and removals)
	ReadBytes   int64 // uncompressed bytes read from data files
	SentBytes   int64 // bytes sent in restore-data bodies
	Skipped     int64 // batches not sent again because an earlier run had them acknowledged
	Warnings    []string
	// MissingData: collections ("db.collection") restored empty because the dump (without
	// godump's manifest) has no data file for them (Plan.MissingData).
	MissingData []string
	// Incomplete: collections missing from or partial in an unfinished godump dump, restored
	// with --force (Plan.Incomplete).
	Incomplete []string
	// Interrupted: the run was cancelled (Ctrl-C) before it ended; continue.json holds what
	// was done.
	Interrupted bool
	Elapsed     time.Duration
}

// engine is one run of Run.
type engine struct {
	conn *client.Conn
	opts Options
	rep  progress.Reporter

	sendSlots chan struct{} // requests in flight at most: see inFlight
	freeBufs  chan []byte   // batch buffers for reuse, at most one per slot and per job

	limits clusterLimits // what the target cluster allows (checkReplicationFactors)

	batches, docs, readBytes, sentBytes, skipped atomic.Int64
	restored                                     atomic.Int64 // collection jobs done
	planned                                      int          // collection jobs of the run (planProgress)
	mu                                           sync.Mutex
	warnings                                     []string
}

// Run restores the dump described by opts through conn. rep may be nil.
func Run(ctx context.Context, conn *client.Conn, opts Options, rep progress.Reporter) (*Summary, error) {
	start := time.Now()
	plan, err := BuildPlan(opts)
	if err != nil {
		return nil, err
	}
	return Execute(ctx, conn, plan, opts, rep, start)
}

// Execute runs a plan made by BuildPlan with the same options.
func Execute(ctx context.Context, conn *client.Conn, plan *Plan, opts Options, rep progress.Reporter, start time.Time) (*Summary, error) {
	if rep == nil {
		rep = progress.Nop{}
	}
	slots := inFlight(opts.Threads)
	// Buffers: one per request in flight and one per collection job's reader (see restoreData).
	e := &engine{conn: conn, opts: opts, rep: rep, sendSlots: make(chan struct{}, slots), freeBufs: make(chan []byte, slots+max(opts.Threads, 1))}
	for _, w := range plan.Warnings {
		e.warn(w)
	}
	sum := &Summary{MissingData: plan.MissingData, Incomplete: plan.Incomplete}
	// Before anything is written: replication factors the target cluster would refuse.
	if err := e.checkReplicationFactors(ctx, plan); err != nil {
		if !opts.Force {
			sum.Elapsed = time.Since(start)
			sum.Warnings = e.warnings
			return sum, err
		}
		e.warn(err.Error())
	}
	e.planProgress(plan)
	var errs []error
	for _, dp := range plan.Databases {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		n, err := e.restoreDatabase(ctx, dp)
		sum.Collections += n
		sum.Databases++
		if err != nil {
			errs = append(errs, err)
			if !opts.Force || ctx.Err() != nil {
				break
			}
		}
	}
	sum.Batches, sum.Docs = e.batches.Load(), e.docs.Load()
	sum.ReadBytes, sum.SentBytes, sum.Skipped = e.readBytes.Load(), e.sentBytes.Load(), e.skipped.Load()
	sum.Warnings = e.warnings
	sum.Elapsed = time.Since(start)
	if ctx.Err() != nil {
		sum.Interrupted = true
		errs = e.interrupted(ctx, errs)
	}
	return sum, errors.Join(errs...)
}

// interrupted reports a cancelled run once: every job stopped by the cancel returns it (and
// the loops add it again), so the cancellations among errs become one error saying what was
// done and how to resume; other errors are kept.
func (e *engine) interrupted(ctx context.Context, errs []error) []error {
	var kept []error
	var leaves func(error)
	leaves = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				leaves(x)
			}
			return
		}
		if !errors.Is(err, ctx.Err()) {
			kept = append(kept, err)
		}
	}
	for _, err := range errs {
		leaves(err)
	}
	hint := "run gorestore again with the same options and --continue true to resume"
	if e.opts.DryRun {
		hint = "nothing was written"
	}
	return append(kept, fmt.Errorf("restore interrupted after %d of %d collection(s) (%s): %w",
		e.restored.Load(), e.planned, hint, ctx.Err()))
}

func (e *engine) warn(msg string) {
	e.mu.Lock()
	e.warnings = append(e.warnings, msg)
	e.mu.Unlock()
	if e.opts.Log != nil {
		e.opts.Log(msg)
	}
}

func (e *engine) boolQ(b bool) string { return strconv.FormatBool(b) }

// restoreDatabase runs arangorestore's order of operations for one database.
func (e *engine) restoreDatabase(ctx context.Context, dp *DatabasePlan) (int, error) {
	db := dp.Target
	if err := e.ensureDatabase(ctx, dp); err != nil {
		return 0, err
	}
	cf, err := loadContinueFile(dp.Source.Dir, e.opts.Continue)
	if err != nil {
		return 0, fmt.Errorf("database %s: %w", db, err)
	}
	if e.opts.InputStore != nil {
		cf.disabled = true // the dump is on an object store: no progress file beside it
	}
	if e.opts.DryRun {
		cf.disabled = true // a dry run neither writes nor removes the progress file
		e.dryRunChecks(ctx, dp)
	}
	e.assignEndpoints(dp)

	// 1. Collections, serially, in creation order.
	if err := e.createCollections(ctx, dp, cf); err != nil {
		return 0, err
	}
	return e.restoreContents(ctx, dp, cf)
}

// createCollections creates the database's collections (or checks that they exist with
// --create-collection false), serially, in creation order.
func (e *engine) createCollections(ctx context.Context, dp *DatabasePlan, cf *continueFile) error {
	db := dp.Target
	if e.opts.CreateCollection {
		for _, c := range dp.Collections {
			if err := ctx.Err(); err != nil {
				return err
			}
			if cf.get(c.Name()).State >= stateCreated {
				continue
			}
			if err := e.createCollection(ctx, db, c); err != nil {
				if !e.opts.Force {
					return err
				}
				e.warn(err.Error())
				continue
			}
			if err := cf.setState(c.Name(), stateCreated); err != nil {
				return err
			}
		}
		return nil
	}
	for _, c := range dp.Collections {
		if err := e.checkCollectionExists(ctx, db, c); err != nil {
			if !e.opts.Force {
				return err
			}
			e.warn(err.Error())
		}
	}
	return nil
}

// restoreContents restores the data, indexes and views of a database whose collections
// exist, in arangorestore's order.
func (e *engine) restoreContents(ctx context.Context, dp *DatabasePlan, cf *continueFile) (int, error) {
	db := dp.Target
	var jobs, users, analyzers []*CollectionPlan
	apps := false
	for _, c := range dp.Collections {
		switch c.Name() {
		case "_users":
			users = append(users, c)
		case "_analyzers":
			analyzers = append(analyzers, c)
		default:
			jobs = append(jobs, c)
			if c.Name() == "_apps" || c.Name() == "_appbundles" {
				apps = true
			}
		}
	}
	var errs []error
	// 2. _analyzers data first, so that views and inverted indexes find their analyzers.
	if err := e.runJobs(ctx, db, analyzers, cf); err != nil {
		if !e.opts.Force {
			return len(analyzers), err
		}
		errs = append(errs, err)
	}
	// 3. arangosearch views.
	if err := e.restoreViews(ctx, dp, "arangosearch", markerArangoSearch, cf); err != nil {
		return len(analyzers), err
	}
	// 4. Collection jobs in parallel: indexes and data.
	if err := e.runJobs(ctx, db, jobs, cf); err != nil {
		errs = append(errs, err)
		if !e.opts.Force {
			return len(analyzers) + len(jobs), errors.Join(errs...)
		}
	}
	// 5. search-alias views (they refer to inverted indexes made in step 4).
	if err := e.restoreViews(ctx, dp, "search-alias", markerSearchAlias, cf); err != nil {
		return len(dp.Collections), errors.Join(append(errs, err)...)
	}
	if e.opts.FastClusterRestore {
		if err := e.raiseReplication(ctx, db, dp.Collections); err != nil {
			return len(dp.Collections), errors.Join(append(errs, err)...)
		}
	}
	if apps && e.opts.ImportData {
		e.healFoxx(ctx, db)
	}
	// 6. _users last: restoring it may change the credentials of the restoring user.
	if err := e.runJobs(ctx, db, users, cf); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return len(dp.Collections), errors.Join(errs...)
	}
	if !e.opts.DryRun {
		if err := cf.remove(); err != nil {
			e.warn(err.Error())
		}
	}
	return len(dp.Collections), nil
}

// ensureDatabase checks that the target database exists and creates it with
// --create-database (with the dump's sharding options and the restoring user, as
// arangorestore does).
func (e *engine) ensureDatabase(ctx context.Context, dp *DatabasePlan) error {
	db := dp.Target
	err := e.conn.DoJSON(ctx, client.Request{Method: http.MethodGet, Path: "/_api/database/current", Database: db}, nil)
	if err == nil {
		return nil
	}
	if !client.IsErrorNum(err, 1228) && !client.IsStatus(err, http.StatusNotFound) {
		return fmt.Errorf("database %s: %w", db, err)
	}
	if !e.opts.CreateDatabase {
		return fmt.Errorf("database %s does not exist (use --create-database true to create it): %w", db, err)
	}
	if e.opts.DryRun {
		return nil
	}
	body := map[string]any{"name": db}
	if o := e.newDatabaseOptions(dp); len(o) > 0 {
		body["options"] = o
	}
	if e.opts.Username != "" {
		body["users"] = []map[string]any{{"username": e.opts.Username, "passwd": e.opts.Password}}
	}
	err = e.conn.DoJSON(ctx, client.Request{Method: http.MethodPost, Path: "/_api/database", Database: "_system", JSON: body}, nil)
	if err != nil && !client.IsErrorNum(err, 1207) {
		return fmt.Errorf("create database %s: %w", db, err)
	}
	return nil
}

// newDatabaseOptions are the options of a database created with --create-database: the
// dump's sharding, replicationFactor and writeConcern (dump.json), as arangorestore sends them.
func (e *engine) newDatabaseOptions(dp *DatabasePlan) map[string]any {
	o := map[string]any{}
	if dp.Source.Meta == nil || len(dp.Source.Meta.Properties) == 0 {
		return o
	}
	var props struct {
		Sharding          *string `json:"sharding"`
		ReplicationFactor any     `json:"replicationFactor"`
		WriteConcern      any     `json:"writeConcern"`
	}
	if jsonUnmarshal(dp.Source.Meta.Properties, &props) != nil {
		return o
	}
	if props.Sharding != nil && *props.Sharding != "" {
		o["sharding"] = *props.Sharding
	}
	if props.ReplicationFactor != nil {
		o["replicationFactor"] = props.ReplicationFactor
	}
	if all := e.opts.ReplicationFactor.All; all != "" {
		// The global --replication-factor applies to the new database too.
		if n, err := strconv.Atoi(all); err == nil {
			o["replicationFactor"] = n
		} else {
			o["replicationFactor"] = all
		}
	}
	if props.WriteConcern != nil {
		o["writeConcern"] = props.WriteConcern
	}
	return o
}

func (e *engine) createCollection(ctx context.Context, db string, c *CollectionPlan) error {
	if e.opts.DryRun {
		return nil
	}
	q := url.Values{
		"overwrite":                        {e.boolQ(e.opts.Overwrite)},
		"force":                            {e.boolQ(e.opts.Force)},
		"ignoreDistributeShardsLikeErrors": {e.boolQ(e.opts.IgnoreDistributeShardsLikeErrors)},
	}
	for retried := false; ; retried = true {
		_, err := e.conn.Do(ctx, client.Request{Method: http.MethodPut, Path: "/_api/replication/restore-collection",
			Database: db, Query: q, JSON: json.RawMessage(c.Structure), Endpoint: c.Endpoint})
		if err == nil {
			return nil
		}
		if n := minimumInError(err); n > 0 && c.LoadReplicationFactor > 0 && c.LoadReplicationFactor < n && !retried {
			// Fast cluster restore, minimum not known beforehand (GET /_admin/options needs a
			// superuser): load with the server's minimum instead of 1.
			if ferr := c.fitMinimum(n); ferr != nil {
				return ferr
			}
			continue
		}
		what := fmt.Sprintf("create collection %q (db %q, file %s)", c.Target, db, c.Source.StructureFile)
		if client.IsErrorNum(err, 1207) && !e.opts.Overwrite {
			// As arangorestore (RestoreFeature's recreateCollection): the collection exists and
			// is not replaced, so the restore stops before any data is sent; with --force the
			// error is a warning and the dump's data is loaded into the existing collection.
			return fmt.Errorf("%s: %w (the collection exists and --overwrite is false: use --overwrite true to replace it, "+
				"or --force to load the dump's data into it)", what, err)
		}
		if rf := e.explainReplicationError(db, c, err); rf != nil {
			return fmt.Errorf("%s: %w", what, rf)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
}

func (e *engine) checkCollectionExists(ctx context.Context, db string, c *CollectionPlan) error {
	err := e.conn.DoJSON(ctx, client.Request{Method: http.MethodGet, Path: "/_api/collection/" + url.PathEscape(c.Target), Database: db}, nil)
	if err != nil {
		return fmt.Errorf("collection %q (db %q): collection not found (with --create-collection false it must exist): %w", c.Target, db, err)
	}
	return nil
}

func (e *engine) restoreIndexes(ctx context.Context, db string, c *CollectionPlan) error {
	if len(c.Source.Indexes) == 0 || !e.opts.CreateCollection || e.opts.DryRun {
		return nil
	}
	_, err := e.conn.Do(ctx, client.Request{Method: http.MethodPut, Path: "/_api/replication/restore-indexes",
		Database: db, Query: url.Values{"force": {e.boolQ(e.opts.Force)}}, JSON: json.RawMessage(c.Structure), Endpoint: c.Endpoint})
	if err != nil {
		return fmt.Errorf("create indexes of collection %q (db %q, file %s): %w", c.Target, db, c.Source.StructureFile, err)
	}
	return nil
}

func (e *engine) restoreViews(ctx context.Context, dp *DatabasePlan, typ, marker string, cf *continueFile) error {
	if !e.opts.CreateCollection || cf.get(marker).State == stateRestored {
		return nil
	}
	any := false
	for _, v := range dp.Views {
		if v.Source.Type != typ {
			continue
		}
		any = true
		if e.opts.DryRun {
			continue
		}
		q := url.Values{"overwrite": {e.boolQ(e.opts.Overwrite)}, "force": {e.boolQ(e.opts.Force)}}
		_, err := e.conn.Do(ctx, client.Request{Method: http.MethodPut, Path: "/_api/replication/restore-view",
			Database: dp.Target, Query: q, JSON: json.RawMessage(v.Definition)})
		if err != nil {
			if !e.opts.Overwrite && client.IsErrorNum(err, 1207) {
				continue
			}
			err = fmt.Errorf("create view %q (db %q, file %s): %w", v.Source.Name, dp.Target, v.Source.File, err)
			if !e.opts.Force {
				return err
			}
			e.warn(err.Error())
		}
	}
	if any && !e.opts.DryRun {
		return cf.setState(marker, stateRestored)
	}
	return nil
}

// healFoxx asks the server to rebuild Foxx apps after _apps/_appbundles were restored, as
// arangorestore's triggerFoxxHeal (client-tools/Restore/RestoreFeature.cpp) does: first
// POST /_admin/status, and no heal when it answers "foxxApi": false (a server started with
// --foxx.api false); when the status cannot be read or has no foxxApi (older servers), the
// heal is sent all the same. A failure is only a warning, as there.
func (e *engine) healFoxx(ctx context.Context, db string) {
	if e.opts.DryRun {
		return
	}
	var status struct {
		FoxxAPI *bool `json:"foxxApi"`
	}
	if err := e.conn.DoJSON(ctx, client.Request{Method: http.MethodPost, Path: "/_admin/status", Database: db}, &status); err == nil &&
		status.FoxxAPI != nil && !*status.FoxxAPI {
		e.rep.Log(fmt.Sprintf("# db %s: skipping Foxx self-healing because the Foxx API is disabled", db))
		return
	}
	if _, err := e.conn.Do(ctx, client.Request{Method: http.MethodPost, Path: "/_api/foxx/_local/heal", Database: db}); err != nil {
		e.warn(fmt.Sprintf("db %s: reloading Foxx services after restoring _apps failed: %v (on a single server, POST /_api/foxx/_local/heal to the database with an empty body; not needed when the server runs with --foxx.api false)", db, err))
	}
}

// runJobs runs collection jobs (indexes and data), at most --threads at a time, largest
// first. Every job runs to its end even if another fails; the errors are joined.
func (e *engine) runJobs(ctx context.Context, db string, jobs []*CollectionPlan, cf *continueFile) error {
	if len(jobs) == 0 {
		return nil
	}
	order := append([]*CollectionPlan(nil), jobs...)
	sortLargestFirst(order)
	g, gctx := errgroup.WithContext(ctx)
	_ = gctx
	g.SetLimit(max(e.opts.Threads, 1))
	var mu sync.Mutex
	var errs []error
	for _, c := range order {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if err := e.collectionJob(ctx, db, c, cf); err != nil {
				if e.opts.Force && ctx.Err() == nil {
					e.warn(err.Error())
					return nil
				}
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	if ctx.Err() != nil {
		errs = append(errs, ctx.Err())
	}
	return errors.Join(errs...)
}

// collectionJob restores one collection's indexes and data.
func (e *engine) collectionJob(ctx context.Context, db string, c *CollectionPlan, cf *continueFile) error {
	st := cf.get(c.Name())
	if st.State == stateRestored {
		return nil
	}
	tr := e.rep.Start(progress.Job{Database: db, Name: c.Target, Docs: c.expectedDocs()})
	err := func() error {
		if !e.opts.IndexesAfterData {
			if err := e.restoreIndexes(ctx, db, c); err != nil {
				return err
			}
		}
		if e.opts.ImportData {
			if err := e.restoreData(ctx, db, c, cf, st, tr); err != nil {
				return err
			}
		}
		if e.opts.IndexesAfterData {
			if err := e.restoreIndexes(ctx, db, c); err != nil {
				return err
			}
		}
		if e.opts.DryRun {
			return nil
		}
		return cf.setState(c.Name(), stateRestored)
	}()
	tr.Done(err)
	if err == nil {
		e.restored.Add(1)
	}
	return err
}

// errBadInput marks errors caused by the dump files rather than the server.
func isBadInput(err error) bool {
	var fe *format.Error
	return errors.As(err, &fe)
}

// dryRunChecks reports what a restore would change on the server: collections that exist
// and would be replaced (or kept, with --overwrite false).
func (e *engine) dryRunChecks(ctx context.Context, dp *DatabasePlan) {
	for _, c := range dp.Collections {
		err := e.conn.DoJSON(ctx, client.Request{Method: http.MethodGet, Path: "/_api/collection/" + url.PathEscape(c.Target), Database: dp.Target}, nil)
		if err != nil {
			continue
		}
		switch {
		case !e.opts.CreateCollection:
			e.warn(fmt.Sprintf("dry run: db %s: collection %s exists; data would be added to it (--create-collection false)", dp.Target, c.Target))
		case e.opts.Overwrite:
			e.warn(fmt.Sprintf("dry run: db %s: collection %s exists and would be replaced (--overwrite true)", dp.Target, c.Target))
		case strings.HasPrefix(c.Target, "_"):
			e.warn(fmt.Sprintf("dry run: db %s: system collection %s exists and would be kept as it is, its data added (--overwrite false)", dp.Target, c.Target))
		case e.opts.Force:
			e.warn(fmt.Sprintf("dry run: db %s: collection %s exists: creating it would fail with 'duplicate collection name' (--overwrite false); with --force its data would be added to it", dp.Target, c.Target))
		default:
			e.warn(fmt.Sprintf("dry run: db %s: collection %s exists: the restore would stop with 'duplicate collection name' (--overwrite false) before loading any data", dp.Target, c.Target))
		}
	}
}

// planProgress announces every job of the run to the progress display at once, before the
// first database starts, so that its jobs total stays the same for the whole run: one job
// per collection, except those an earlier run finished (--continue), with the documents
// godump's manifest records for them.
func (e *engine) planProgress(plan *Plan) {
	var jobs int
	var docs int64
	for _, dp := range plan.Databases {
		cf, err := loadContinueFile(dp.Source.Dir, e.opts.Continue)
		if err != nil {
			cf = nil // restoreDatabase reports it
		}
		for _, c := range dp.Collections {
			if cf != nil && cf.get(c.Name()).State == stateRestored {
				continue
			}
			jobs++
			docs += c.expectedDocs()
		}
	}
	e.planned = jobs
	e.rep.Plan(jobs, docs)
}

// expectedDocs is the number of lines godump's manifest records for the collection's data
// files (0, unknown, when a file is not recorded: dumps without a manifest). Counting the
// lines of other dumps would read every file once more before the restore.
func (c *CollectionPlan) expectedDocs() int64 {
	var n int64
	for _, f := range c.Source.DataFiles {
		d, ok := c.Recorded[f.Name]
		if !ok {
			return 0
		}
		n += d
	}
	return n
}

// --- replication factors that a target cluster refuses ---------------------------------------

// clusterLimits is what the target cluster allows as a new collection's replication factor, as
// far as gorestore could learn it; 0 is unknown. A 3.12 Coordinator refuses a restore-collection
// whose replicationFactor is above --cluster.max-replication-factor or below
// --cluster.min-replication-factor (400, error 10; ClusteringMutableProperties::
// validateDatabaseConfiguration), or above the number of DB-Servers (500, error 1487;
// EvenDistribution::checkDistributionPossible), and one whose writeConcern is above its
// replicationFactor (400, error 10).
type clusterLimits struct {
	dbServers int // DB-Servers in GET /_admin/cluster/health (every authenticated user may read it)
	minRF     int // GET /_admin/options (superuser only, --server.options-api jwt by default)
	maxRF     int // ditto; 0 also when unrestricted
}

// learnClusterLimits asks a Coordinator for its DB-Servers and replication factor options.
// What it cannot read stays unknown: the server's own refusals are explained instead
// (explainReplicationError).
func (e *engine) learnClusterLimits(ctx context.Context) clusterLimits {
	var l clusterLimits
	if !e.conn.IsCluster() {
		return l
	}
	var health struct {
		Health map[string]struct {
			Role string `json:"Role"`
		} `json:"Health"`
	}
	if e.conn.DoJSON(ctx, client.Request{Method: http.MethodGet, Path: "/_admin/cluster/health"}, &health) == nil {
		for _, m := range health.Health {
			if m.Role == "DBServer" {
				l.dbServers++
			}
		}
	}
	var opts map[string]json.RawMessage
	if e.conn.DoJSON(ctx, client.Request{Method: http.MethodGet, Path: "/_admin/options", Database: "_system"}, &opts) == nil {
		num := func(k string) int {
			n, _ := strconv.Atoi(strings.TrimSpace(string(opts[k])))
			return n
		}
		l.minRF, l.maxRF = num("cluster.min-replication-factor"), num("cluster.max-replication-factor")
	}
	return l
}

// allowed says what the cluster allows, for messages.
func (l clusterLimits) allowed() string {
	var parts []string
	if l.dbServers > 0 {
		parts = append(parts, fmt.Sprintf("has %d DB-Servers", l.dbServers))
	}
	switch {
	case l.minRF > 0 && l.maxRF > 0:
		parts = append(parts, fmt.Sprintf("allows replication factors %d to %d", l.minRF, l.maxRF))
	case l.minRF > 0:
		parts = append(parts, fmt.Sprintf("allows replication factors of at least %d", l.minRF))
	}
	if len(parts) == 0 {
		return "the target cluster refuses it"
	}
	return "the target cluster " + strings.Join(parts, " and ")
}

// highest is the largest factor the cluster takes (0: no limit known).
func (l clusterLimits) highest() int {
	h := l.dbServers
	if l.maxRF > 0 && (h == 0 || l.maxRF < h) {
		h = l.maxRF
	}
	return h
}

// fits reports whether replication factor rf can be created; want is the factor to suggest.
func (l clusterLimits) fits(rf int) (ok bool, want int) {
	if h := l.highest(); h > 0 && rf > h {
		return false, h
	}
	if rf < l.minRF {
		return false, l.minRF
	}
	return true, rf
}

// rfOverrideHint names the --replication-factor values that give collection c factor n.
func rfOverrideHint(c *CollectionPlan, n int) string {
	return fmt.Sprintf("restore with --replication-factor %s=%d (or --replication-factor %d for all collections)", c.Name(), n, n)
}

// targetDatabase is what gorestore knows of a target database before restoring into it.
type targetDatabase struct {
	exists       bool
	rf, wc       int // its replicationFactor and writeConcern (0: unknown or satellite)
	oneShard     bool
	createOption map[string]any // options it will be created with (--create-database)
}

func (e *engine) targetDatabase(ctx context.Context, dp *DatabasePlan) targetDatabase {
	var cur struct {
		Result struct {
			Sharding          string `json:"sharding"`
			ReplicationFactor any    `json:"replicationFactor"`
			WriteConcern      any    `json:"writeConcern"`
		} `json:"result"`
	}
	var td targetDatabase
	if err := e.conn.DoJSON(ctx, client.Request{Method: http.MethodGet, Path: "/_api/database/current", Database: dp.Target}, &cur); err == nil {
		td.exists = true
		td.oneShard = cur.Result.Sharding == "single"
		td.rf, _ = numberOf(cur.Result.ReplicationFactor)
		td.wc, _ = numberOf(cur.Result.WriteConcern)
		return td
	}
	if e.opts.CreateDatabase {
		td.createOption = e.newDatabaseOptions(dp)
		td.oneShard = td.createOption["sharding"] == "single"
		td.rf, _ = numberOf(td.createOption["replicationFactor"])
		td.wc, _ = numberOf(td.createOption["writeConcern"])
	}
	return td
}

// numberOf reads a JSON number (a float64, json.Number, an integer or raw JSON); ok=false
// for anything else ("satellite", absent).
func numberOf(v any) (int, bool) {
	switch x := v.(type) {
	case float64:
		return int(x), true
	case int:
		return x, true
	case uint64:
		return int(x), true
	case json.RawMessage:
		n, err := strconv.Atoi(strings.TrimSpace(string(x)))
		return n, err == nil
	}
	return 0, false
}

// collectionFactors reads the replicationFactor and writeConcern a restore-collection body
// asks for; rf=0 when it gives none, satellite for "satellite" or 0.
func collectionFactors(structure []byte) (rf, wc int, satellite bool, dsl string) {
	var s struct {
		Parameters struct {
			ReplicationFactor    json.RawMessage `json:"replicationFactor"`
			WriteConcern         json.RawMessage `json:"writeConcern"`
			MinReplicationFactor json.RawMessage `json:"minReplicationFactor"`
			DistributeShardsLike string          `json:"distributeShardsLike"`
		} `json:"parameters"`
	}
	_ = json.Unmarshal(structure, &s)
	p := s.Parameters
	if str := strings.TrimSpace(string(p.ReplicationFactor)); str == `"satellite"` || str == "0" {
		satellite = true
	} else {
		rf, _ = numberOf(p.ReplicationFactor)
	}
	if w, ok := numberOf(p.WriteConcern); ok {
		wc = w
	} else {
		wc, _ = numberOf(p.MinReplicationFactor)
	}
	return rf, wc, satellite, p.DistributeShardsLike
}

// checkReplicationFactors runs before anything is written: every collection to create (and
// every database to create) must have a replication factor the target cluster accepts, else
// the restore fails naming them and the --replication-factor values that fix them. A fast
// cluster restore loads with the cluster's minimum instead of 1 when it is known.
func (e *engine) checkReplicationFactors(ctx context.Context, plan *Plan) error {
	if !e.opts.CreateCollection || !e.conn.IsCluster() {
		return nil
	}
	l := e.learnClusterLimits(ctx)
	e.limits = l
	if l.dbServers == 0 && l.minRF == 0 && l.maxRF == 0 {
		return nil
	}
	var errs []error
	for _, dp := range plan.Databases {
		td := e.targetDatabase(ctx, dp)
		if !td.exists && td.createOption != nil && td.rf > 0 {
			if ok, want := l.fits(td.rf); !ok {
				errs = append(errs, fmt.Errorf("database %q: replicationFactor %d (dump.json) cannot be created: %s; restore with --replication-factor %d, which applies to the new database too",
					dp.Target, td.rf, l.allowed(), want))
			}
		}
		for _, c := range dp.Collections {
			if err := e.checkCollectionFactors(dp, td, l, c); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (e *engine) checkCollectionFactors(dp *DatabasePlan, td targetDatabase, l clusterLimits, c *CollectionPlan) error {
	if strings.HasPrefix(c.Target, "_") || td.oneShard {
		// System collections exist on the target and follow its prototype (_graphs or
		// _users); in a OneShard database every collection follows _graphs.
		return nil
	}
	rf, wc, satellite, dsl := collectionFactors(c.Structure)
	if satellite || dsl != "" {
		return nil // "satellite" has no such limits; a follower takes its prototype's factor
	}
	if c.LoadReplicationFactor > 0 {
		// The factor that counts is the one the collection ends with.
		if n, ok := numberOf(c.FinalReplicationFactor); ok {
			rf = n
		}
		if n, ok := numberOf(c.FinalWriteConcern); ok {
			wc = n
		} else {
			wc = 0
		}
		if l.minRF > c.LoadReplicationFactor {
			if err := c.fitMinimum(l.minRF); err != nil {
				return err
			}
		}
	}
	if rf == 0 {
		rf = td.rf // the database's default
	}
	if wc == 0 {
		wc = td.wc
	}
	if rf == 0 {
		return nil
	}
	name := fmt.Sprintf("database %q, collection %q", dp.Target, c.Target)
	if c.Target != c.Name() {
		name += fmt.Sprintf(" (%q in the dump)", c.Name())
	}
	if ok, want := l.fits(rf); !ok {
		if want < l.minRF {
			return fmt.Errorf("%s: replicationFactor %d cannot be created: %s, so no replication factor fits", name, rf, l.allowed())
		}
		hint := rfOverrideHint(c, want)
		if wc > want {
			hint += fmt.Sprintf(" and --write-concern %s=%d", c.Name(), want)
		}
		return fmt.Errorf("%s: replicationFactor %d cannot be created: %s; %s", name, rf, l.allowed(), hint)
	}
	if wc > rf {
		return fmt.Errorf("%s: writeConcern %d is higher than replicationFactor %d, which the server refuses; restore with --write-concern %s=%d",
			name, wc, rf, c.Name(), rf)
	}
	return nil
}

// fitMinimum makes a fast cluster restore load collection c with replication factor n (the
// cluster's minimum) instead of 1; when that is already its final factor, nothing is raised.
func (c *CollectionPlan) fitMinimum(n int) error {
	var s struct {
		Indexes    json.RawMessage            `json:"indexes"`
		Parameters map[string]json.RawMessage `json:"parameters"`
	}
	if err := json.Unmarshal(c.Structure, &s); err != nil || s.Parameters == nil {
		return fmt.Errorf("collection %q: structure: %v", c.Target, err)
	}
	if final, ok := numberOf(c.FinalReplicationFactor); ok && final <= n {
		// Load with the final factor and write concern directly.
		s.Parameters["replicationFactor"] = mustRaw(final)
		if c.FinalWriteConcern != nil {
			s.Parameters["writeConcern"] = mustRaw(c.FinalWriteConcern)
		}
		c.FinalReplicationFactor, c.FinalWriteConcern = nil, nil
		c.LoadReplicationFactor = 0
	} else {
		s.Parameters["replicationFactor"] = mustRaw(n)
		c.LoadReplicationFactor = n
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	c.Structure = b
	return nil
}

func mustRaw(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// Messages of the 3.12 refusals (ClusteringMutableProperties::validateDatabaseConfiguration).
const (
	msgBelowMinimum = "replicationFactor must not be lower than minimum allowed replicationFactor ("
	msgAboveMaximum = "replicationFactor must not be higher than maximum allowed replicationFactor ("
	msgWriteConcern = "writeConcern must not be higher than replicationFactor"
)

// limitInError reads N from the server's "... allowed replicationFactor (N)" refusal.
func limitInError(err error, prefix string) int {
	var se *client.ServerError
	if !errors.As(err, &se) || se.ErrorNum != 10 || !strings.HasPrefix(se.Message, prefix) {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(se.Message, prefix), ")"))
	return n
}

func minimumInError(err error) int { return limitInError(err, msgBelowMinimum) }

// explainReplicationError turns the server's refusal of a collection's replication factor
// (when checkReplicationFactors could not foresee it) into a message naming the override that
// fixes it; nil for other errors.
func (e *engine) explainReplicationError(db string, c *CollectionPlan, err error) error {
	rf, _, _, _ := collectionFactors(c.Structure)
	if n, ok := numberOf(c.FinalReplicationFactor); ok {
		rf = n
	}
	var se *client.ServerError
	errors.As(err, &se)
	minimum, maximum := minimumInError(err), limitInError(err, msgAboveMaximum)
	switch {
	case client.IsErrorNum(err, 1487):
		if n := e.limits.highest(); n > 0 && n < rf && n >= e.limits.minRF {
			return fmt.Errorf("replicationFactor %d is more than the target cluster's DB-Servers (%d); %s: %w", rf, e.limits.dbServers, rfOverrideHint(c, n), err)
		}
		return fmt.Errorf("replicationFactor %d is more than the target cluster's DB-Servers (in service); restore with --replication-factor %s=N "+
			"(or --replication-factor N for all collections), N at most their number: %w", rf, c.Name(), err)
	case minimum > 0:
		return fmt.Errorf("replicationFactor %d is below the target cluster's minimum %d; %s: %w", rf, minimum, rfOverrideHint(c, minimum), err)
	case maximum > 0:
		return fmt.Errorf("replicationFactor %d is above the target cluster's maximum %d; %s: %w", rf, maximum, rfOverrideHint(c, maximum), err)
	case se != nil && se.ErrorNum == 10 && se.Message == msgWriteConcern:
		return fmt.Errorf("writeConcern is higher than replicationFactor %d; restore with --write-concern %s=%d: %w", rf, c.Name(), rf, err)
	}
	return nil
}
