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
	Elapsed     time.Duration
}

// engine is one run of Run.
type engine struct {
	conn *client.Conn
	opts Options
	rep  progress.Reporter

	sendSlots chan struct{} // requests in flight at most: see inFlight
	freeBufs  chan []byte   // batch buffers for reuse, at most one per slot and per job

	batches, docs, readBytes, sentBytes, skipped atomic.Int64
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
	sum := &Summary{}
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
	return sum, errors.Join(errs...)
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
	if e.opts.DryRun {
		cf.disabled = true // a dry run neither writes nor removes the progress file
		e.dryRunChecks(ctx, dp)
	}
	e.assignEndpoints(dp)
	e.rep.Plan(len(dp.Collections), expectedDocs(dp))

	// 1. Collections, serially, in creation order.
	if e.opts.CreateCollection {
		for _, c := range dp.Collections {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			if cf.get(c.Name()).State >= stateCreated {
				continue
			}
			if err := e.createCollection(ctx, db, c); err != nil {
				if !e.opts.Force {
					return 0, err
				}
				e.warn(err.Error())
				continue
			}
			if err := cf.setState(c.Name(), stateCreated); err != nil {
				return 0, err
			}
		}
	} else {
		for _, c := range dp.Collections {
			if err := e.checkCollectionExists(ctx, db, c); err != nil {
				if !e.opts.Force {
					return 0, err
				}
				e.warn(err.Error())
			}
		}
	}

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
	if dp.Source.Meta != nil && len(dp.Source.Meta.Properties) > 0 {
		var props struct {
			Sharding          *string `json:"sharding"`
			ReplicationFactor any     `json:"replicationFactor"`
			WriteConcern      any     `json:"writeConcern"`
		}
		if jsonUnmarshal(dp.Source.Meta.Properties, &props) == nil {
			o := map[string]any{}
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
			if len(o) > 0 {
				body["options"] = o
			}
		}
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

func (e *engine) createCollection(ctx context.Context, db string, c *CollectionPlan) error {
	if e.opts.DryRun {
		return nil
	}
	q := url.Values{
		"overwrite":                        {e.boolQ(e.opts.Overwrite)},
		"force":                            {e.boolQ(e.opts.Force)},
		"ignoreDistributeShardsLikeErrors": {e.boolQ(e.opts.IgnoreDistributeShardsLikeErrors)},
	}
	_, err := e.conn.Do(ctx, client.Request{Method: http.MethodPut, Path: "/_api/replication/restore-collection",
		Database: db, Query: q, JSON: json.RawMessage(c.Structure), Endpoint: c.Endpoint})
	if err != nil {
		if !e.opts.Overwrite && client.IsErrorNum(err, 1207) {
			// --overwrite false: an existing collection is used as it is.
			return nil
		}
		return fmt.Errorf("create collection %q (db %q, file %s): %w", c.Target, db, c.Source.StructureFile, err)
	}
	return nil
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
	tr := e.rep.Start(progress.Job{Database: db, Name: c.Target})
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
			e.rep.Log(fmt.Sprintf("dry run: db %s: collection %s exists; data would be added to it", dp.Target, c.Target))
		case e.opts.Overwrite:
			e.warn(fmt.Sprintf("dry run: db %s: collection %s exists and would be replaced (--overwrite true)", dp.Target, c.Target))
		default:
			e.warn(fmt.Sprintf("dry run: db %s: collection %s exists and would be kept as it is (--overwrite false)", dp.Target, c.Target))
		}
	}
}

// expectedDocs is the number of documents godump's manifest records for the planned
// collections (0, unknown, for dumps without one).
func expectedDocs(dp *DatabasePlan) int64 {
	m := dp.Source.Manifest
	if m == nil {
		return 0
	}
	planned := map[string]bool{}
	for _, c := range dp.Collections {
		planned[c.Name()] = true
	}
	var n int64
	for _, f := range m.Files {
		if planned[f.Collection] {
			n += f.Documents
		}
	}
	return n
}
