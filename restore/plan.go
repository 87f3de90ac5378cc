package restore

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/arangobackup/godump/format"
)

// Plan is what a restore will do: per database, the collections (in creation order) and
// views to restore, with the bodies that will be sent. It is built from the dump alone,
// without a connection (--list, --dry-run and Run share it).
type Plan struct {
	Dump      *format.Dump
	Databases []*DatabasePlan
	Warnings  []string
	// MissingData names the collections ("db.collection") of dumps without godump's manifest
	// that have no data file and are restored empty, as arangorestore restores them.
	MissingData []string
	// Incomplete names the collections missing from, or partial in, an unfinished godump
	// dump that --force restores all the same ("db.collection (not written)").
	Incomplete []string

	cleanup func() // removes what the plan staged (an object store's small files)
}

// Close removes what building the plan staged on the local disk (for a dump on an object
// store); the plan must not be executed after.
func (p *Plan) Close() {
	if p != nil && p.cleanup != nil {
		p.cleanup()
		p.cleanup = nil
	}
}

// DatabasePlan is the restore of one database directory of the dump.
type DatabasePlan struct {
	Source *format.Database
	// Target is the database restored into.
	Target      string
	Collections []*CollectionPlan // creation order
	Views       []*ViewPlan
}

// CollectionPlan is one collection job.
type CollectionPlan struct {
	Source *format.Collection
	// Target is the name on the server (after --rename-collection).
	Target string
	// Structure is the body of restore-collection and restore-indexes: the structure file
	// with name, overrides and revision-tree flags applied.
	Structure []byte
	// FinalReplicationFactor / FinalWriteConcern are what a fast cluster restore raises the
	// collection to after loading (nil: leave as created).
	FinalReplicationFactor any
	FinalWriteConcern      any
	// LoadReplicationFactor is the factor a fast cluster restore creates the collection with
	// (0: not lowered). The plan says 1; Execute raises it to the target cluster's
	// --cluster.min-replication-factor (fitMinimum), as no server accepts less.
	LoadReplicationFactor int
	// DataBytes is the size of the data files on disk.
	DataBytes int64
	// Work estimates the uncompressed bytes to send (godump's manifest, else gzip files
	// counted five times their size), for scheduling the largest collections first.
	Work int64
	// Endpoint pins the collection's requests to one Coordinator (fast cluster restore).
	Endpoint string
	// Checksums are godump's manifest entries for the collection's data files, by file name:
	// each file is checked against its SHA-256 before any of its data is sent.
	Checksums map[string]format.ManifestFile
	// Recorded is the number of documents godump's manifest records per data file name: the
	// documents sent from each file must match it.
	Recorded map[string]int64
}

// Name is the collection's name in the dump.
func (c *CollectionPlan) Name() string { return c.Source.Name }

// ViewPlan is one view to restore.
type ViewPlan struct {
	Source     *format.View
	Definition []byte // with renamed collections in links/indexes
}

// BuildPlan opens the dump and decides what to restore.
func BuildPlan(opts Options) (*Plan, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.InputStore != nil {
		return buildRemotePlan(opts)
	}
	if st, err := os.Stat(opts.InputDirectory); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("input directory '%s' does not exist", opts.InputDirectory)
	}
	d, err := format.Open(opts.InputDirectory)
	if err != nil {
		return nil, fmt.Errorf("open dump %s: %w", opts.InputDirectory, err)
	}
	p := &Plan{Dump: d}
	p.Warnings = append(p.Warnings, d.Warnings...)
	switch {
	case opts.AllDatabases && !d.AllDatabases:
		return nil, fmt.Errorf("--all-databases: %s holds the dump of one database, not one subdirectory per database", opts.InputDirectory)
	case !opts.AllDatabases && d.AllDatabases:
		return nil, fmt.Errorf("%s holds a dump of several databases (one per subdirectory): use --all-databases, or point --input-directory at one of them", opts.InputDirectory)
	}
	if len(d.Databases) == 0 {
		return nil, fmt.Errorf("%s: no database found in the dump", opts.InputDirectory)
	}
	wanted := map[string]bool{}
	for _, c := range opts.Collections {
		wanted[c] = true
	}
	ignored := map[string]bool{}
	for _, c := range opts.IgnoreCollections {
		ignored[c] = true
	}
	found := map[string]bool{}
	for _, db := range d.Databases {
		target := db.Name
		if !opts.AllDatabases {
			target = opts.Database
			if opts.ForceSameDatabase && db.Meta != nil && db.Meta.Database != "" && db.Meta.Database != opts.Database {
				return nil, fmt.Errorf("database name in dump.json ('%s') does not match specified database name ('%s')", db.Meta.Database, opts.Database)
			}
		}
		dp := &DatabasePlan{Source: db, Target: target}
		// db.Warnings are in d.Warnings already (format.Open copies them).
		selected := func(name string, system bool) bool {
			if len(wanted) > 0 && !wanted[name] || ignored[name] {
				return false
			}
			// An explicitly requested system collection is restored without
			// --include-system-collections too (arangodump does the same for --collection).
			return !system || opts.IncludeSystemCollections || wanted[name]
		}
		if err := checkStructuresListed(db, func(name string) bool { return selected(name, strings.HasPrefix(name, "_")) }); err != nil {
			return nil, err
		}
		for _, c := range db.Collections {
			if !selected(c.Name, c.IsSystem) {
				continue
			}
			if c.Name == "_users" && target != "_system" {
				p.Warnings = append(p.Warnings, fmt.Sprintf("database %s: _users is skipped: users live in _system only", target))
				continue
			}
			found[c.Name] = true
			cp, err := planCollection(c, opts)
			if err == nil && !opts.archive {
				err = checkAgainstManifest(db, c)
			}
			if err == nil && db.Manifest != nil {
				var work int64
				for _, mf := range db.Manifest.Files {
					if mf.Collection == c.Name {
						work += mf.UncompressedSize
						if cp.Recorded == nil {
							cp.Recorded = map[string]int64{}
						}
						cp.Recorded[mf.Name] = mf.Documents
						if mf.SHA256 != "" {
							if cp.Checksums == nil {
								cp.Checksums = map[string]format.ManifestFile{}
							}
							cp.Checksums[mf.Name] = mf
						}
					}
				}
				if work > 0 {
					cp.Work = work
				}
			}
			if err != nil {
				return nil, fmt.Errorf("database %s: %w", db.Name, err)
			}
			dp.Collections = append(dp.Collections, cp)
		}
		if err := p.checkComplete(dp, opts.Force); err != nil {
			return nil, err
		}
		if opts.ImportData && !opts.archive {
			p.noteMissingData(dp)
		}
		if len(opts.Collections) == 0 || len(opts.Views) > 0 {
			wantView := map[string]bool{}
			for _, v := range opts.Views {
				wantView[v] = true
			}
			for _, v := range db.Views {
				if len(wantView) > 0 && !wantView[v.Name] {
					continue
				}
				def, err := renameInView(v.Definition, opts.Renames)
				if err != nil {
					return nil, &format.Error{File: v.File, Err: fmt.Errorf("%w: %v", format.ErrInvalidJSON, err)}
				}
				dp.Views = append(dp.Views, &ViewPlan{Source: v, Definition: def})
			}
		}
		p.Databases = append(p.Databases, dp)
	}
	if len(wanted) > 0 {
		var missing []string
		for c := range wanted {
			if !found[c] {
				missing = append(missing, c)
			}
		}
		sort.Strings(missing)
		if len(missing) == len(wanted) {
			return nil, fmt.Errorf("none of the requested collections were found in the dump: %s", strings.Join(missing, ", "))
		}
		for _, m := range missing {
			p.Warnings = append(p.Warnings, fmt.Sprintf("requested collection '%s' not found in the dump", m))
		}
	}
	// Two collections restored under one name would overwrite each other.
	for _, dp := range p.Databases {
		seen := map[string]string{}
		for _, c := range dp.Collections {
			if prev, dup := seen[c.Target]; dup {
				return nil, fmt.Errorf("database %s: collections %q and %q would both be restored as %q", dp.Target, prev, c.Name(), c.Target)
			}
			seen[c.Target] = c.Name()
		}
	}
	return p, nil
}

func planCollection(c *format.Collection, opts Options) (*CollectionPlan, error) {
	cp := &CollectionPlan{Source: c, Target: c.Name}
	if nw, ok := opts.Renames[c.Name]; ok {
		cp.Target = nw
	}
	for _, f := range c.DataFiles {
		if st, err := os.Stat(f.Path); err == nil {
			cp.DataBytes += st.Size()
			if f.Compressed {
				cp.Work += 5 * st.Size()
			} else {
				cp.Work += st.Size()
			}
		}
	}
	var params map[string]json.RawMessage
	if err := json.Unmarshal(c.Parameters, &params); err != nil || params == nil {
		return nil, &format.Error{File: c.StructureFile, Err: fmt.Errorf("%w: parameters are not an object", format.ErrInvalidJSON)}
	}
	set := func(k string, v any) {
		b, _ := json.Marshal(v)
		params[k] = b
	}
	set("name", cp.Target)
	if c.DistributeShardsLike != "" {
		if nw, ok := opts.Renames[c.DistributeShardsLike]; ok {
			set("distributeShardsLike", nw)
		}
	}
	if v, ok := opts.NumberOfShards.For(c.Name); ok {
		set("numberOfShards", v)
	}
	if v, ok := opts.ReplicationFactor.For(c.Name); ok {
		set("replicationFactor", v)
	}
	if v, ok := opts.WriteConcern.For(c.Name); ok {
		set("writeConcern", v)
		delete(params, "minReplicationFactor")
	}
	if opts.EnableRevisionTrees {
		// As arangorestore: missing (pre-3.8 dumps) or true -> both true.
		if !isFalse(params["syncByRevision"]) && !isFalse(params["usesRevisionsAsDocumentIds"]) {
			set("syncByRevision", true)
			set("usesRevisionsAsDocumentIds", true)
		}
	}
	if opts.FastClusterRestore && !c.IsSystem && c.DistributeShardsLike == "" {
		// Load with one copy per shard, raise afterwards (fast cluster restore step 2/5).
		var rf, wc any = json.RawMessage(params["replicationFactor"]), json.RawMessage(params["writeConcern"])
		if params["replicationFactor"] == nil {
			rf = nil
		}
		if params["writeConcern"] == nil {
			wc = nil
		}
		if s := string(params["replicationFactor"]); s != `"satellite"` && rf != nil && s != "1" && s != "0" { // 0 is "satellite" too
			cp.FinalReplicationFactor = rf
			cp.FinalWriteConcern = wc
			cp.LoadReplicationFactor = 1
			set("replicationFactor", 1)
			set("writeConcern", 1)
			delete(params, "minReplicationFactor")
		}
	}
	pb, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	idx := c.Indexes
	if idx == nil {
		idx = []json.RawMessage{}
	}
	cp.Structure, err = json.Marshal(struct {
		Indexes    []json.RawMessage `json:"indexes"`
		Parameters json.RawMessage   `json:"parameters"`
	}{idx, pb})
	return cp, err
}

func isFalse(raw json.RawMessage) bool { return strings.TrimSpace(string(raw)) == "false" }

// renameInView rewrites the collection names a view refers to (arangosearch links,
// search-alias indexes) after --rename-collection.
func renameInView(def []byte, renames map[string]string) ([]byte, error) {
	if len(renames) == 0 {
		return def, nil
	}
	var v map[string]json.RawMessage
	if err := json.Unmarshal(def, &v); err != nil {
		return nil, err
	}
	changed := false
	if raw, ok := v["links"]; ok && string(raw) != "null" {
		var links map[string]json.RawMessage
		if err := json.Unmarshal(raw, &links); err != nil {
			return nil, err
		}
		out := map[string]json.RawMessage{}
		for name, l := range links {
			if nw, ok := renames[name]; ok {
				name, changed = nw, true
			}
			out[name] = l
		}
		v["links"], _ = json.Marshal(out)
	}
	if raw, ok := v["indexes"]; ok && string(raw) != "null" {
		var idx []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &idx); err != nil {
			return nil, err
		}
		for _, ix := range idx {
			var coll string
			if json.Unmarshal(ix["collection"], &coll) == nil {
				if nw, ok := renames[coll]; ok {
					ix["collection"], _ = json.Marshal(nw)
					changed = true
				}
			}
		}
		v["indexes"], _ = json.Marshal(idx)
	}
	if !changed {
		return def, nil
	}
	return json.Marshal(v)
}

// errNoData marks a collection job that has nothing to load.
var errNoData = errors.New("no data")

// checkAgainstManifest compares a collection's data files with godump's manifest, when the
// dump has one: a file the manifest lists must exist with the recorded size (a missing or
// truncated file is an error before anything is sent, not a silently smaller collection).
func checkAgainstManifest(db *format.Database, c *format.Collection) error {
	if db.Manifest == nil {
		return nil
	}
	have := map[string]format.DataFile{}
	for _, f := range c.DataFiles {
		have[f.Name] = f
	}
	for _, mf := range db.Manifest.Files {
		if mf.Collection != c.Name {
			continue
		}
		path := filepath.Join(db.Dir, mf.Name)
		f, ok := have[mf.Name]
		if !ok {
			return &format.Error{File: path, Err: fmt.Errorf("data file of collection %q listed in %s is missing", c.Name, format.ManifestFileName)}
		}
		st, err := os.Stat(f.Path)
		if err != nil {
			return &format.Error{File: f.Path, Err: err}
		}
		if mf.Size > 0 && st.Size() != mf.Size {
			return &format.Error{File: f.Path, Err: fmt.Errorf("%w: %d bytes, %s says %d", format.ErrChecksum, st.Size(), format.ManifestFileName, mf.Size)}
		}
	}
	return nil
}

// checkStructuresListed stops a restore whose godump manifest lists data files of a
// collection that has no structure file: without it the collection cannot be created and
// its documents would be dropped. Only collections the restore selects count.
func checkStructuresListed(db *format.Database, selected func(string) bool) error {
	if db.Manifest == nil {
		return nil
	}
	var missing []string
	seen := map[string]bool{}
	for _, mf := range db.Manifest.Files {
		if seen[mf.Collection] || db.Collection(mf.Collection) != nil || !selected(mf.Collection) {
			continue
		}
		seen[mf.Collection] = true
		missing = append(missing, fmt.Sprintf("%q (data file %s; structure file %s_%s.structure.json)",
			mf.Collection, mf.Name, format.EscapedName(mf.Collection, ""), format.NameMD5(mf.Collection)))
	}
	if len(missing) == 0 {
		return nil
	}
	return &format.Error{File: filepath.Join(db.Dir, format.ManifestFileName), Err: fmt.Errorf(
		"the structure file of %d collection(s) listed in it is missing, so they cannot be created and their documents would be lost: %s; "+
			"restore the file(s) from the original dump, or leave the collection(s) out with --ignore-collection; nothing was restored",
		len(missing), strings.Join(missing, ", "))}
}

// checkComplete refuses an unfinished godump dump (its manifest not complete, or godump's
// temporaries left in the directory): collections not written yet would come back empty.
// With force the restore goes on, and each missing or partial collection is named in a
// warning and in p.Incomplete.
func (p *Plan) checkComplete(dp *DatabasePlan, force bool) error {
	db := dp.Source
	m := db.Manifest
	if m != nil && m.Complete && len(m.Runs) > 1 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("database %s: the dump was written by %d godump runs (continued after an interruption), so its collections are not one point in time; gorestore --list shows which run wrote each", dp.Target, len(m.Runs)))
	}
	if (m == nil || m.Complete) && len(db.Temporaries) == 0 {
		return nil
	}
	recorded := map[string]bool{}
	if m != nil {
		for _, mf := range m.Files {
			recorded[mf.Name] = true
		}
	}
	var notWritten, partial []string
	var entries []string // for p.Incomplete
	for _, c := range dp.Collections {
		if m == nil {
			break // without a manifest nothing says which collections were done
		}
		var n int
		var unrecorded []string
		for _, f := range c.Source.DataFiles {
			if recorded[f.Name] {
				n++
			} else {
				unrecorded = append(unrecorded, f.Name)
			}
		}
		switch {
		case n == 0 && len(unrecorded) == 0:
			notWritten = append(notWritten, c.Name())
			entries = append(entries, fmt.Sprintf("%s.%s (not written)", dp.Target, c.Target))
		case len(unrecorded) > 0:
			partial = append(partial, fmt.Sprintf("%s (data file %s not recorded in %s)", c.Name(), strings.Join(unrecorded, ", "), format.ManifestFileName))
			entries = append(entries, fmt.Sprintf("%s.%s (partial)", dp.Target, c.Target))
		}
	}
	var what []string
	file := filepath.Join(db.Dir, format.ManifestFileName)
	switch {
	case m == nil:
		file = db.Dir
		what = append(what, fmt.Sprintf("godump stopped while writing it (%d half-written file(s) %s*, and no %s)",
			len(db.Temporaries), filepath.Join(db.Dir, ".godump-tmp-"), format.ManifestFileName))
	case !m.Complete:
		what = append(what, fmt.Sprintf("godump did not finish it (%s says \"complete\": false)", format.ManifestFileName))
	default:
		what = append(what, fmt.Sprintf("godump left %d half-written file(s) %s*", len(db.Temporaries), filepath.Join(db.Dir, ".godump-tmp-")))
	}
	if len(notWritten) > 0 {
		what = append(what, fmt.Sprintf("collection(s) not written: %s", strings.Join(notWritten, ", ")))
	}
	if len(partial) > 0 {
		what = append(what, fmt.Sprintf("partial: %s", strings.Join(partial, "; ")))
	}
	if m != nil && len(notWritten) == 0 && len(partial) == 0 {
		what = append(what, "every collection's data is recorded, but what godump writes after it (views) may be missing")
	}
	if !force {
		return &format.Error{File: file, Err: fmt.Errorf("%w: %s; re-run the dump into this directory (godump with --overwrite true) to finish it, "+
			"or restore what it holds with --force true; nothing was restored", format.ErrIncomplete, strings.Join(what, "; "))}
	}
	p.Warnings = append(p.Warnings, fmt.Sprintf("database %s: %s: %s; restoring what it holds (--force)", dp.Target, format.ErrIncomplete, what[0]))
	for _, c := range notWritten {
		p.Warnings = append(p.Warnings, fmt.Sprintf("database %s: collection %s is missing from the incomplete dump (not written): it is restored empty", dp.Target, c))
	}
	for _, c := range partial {
		p.Warnings = append(p.Warnings, fmt.Sprintf("database %s: collection %s is partial in the incomplete dump: its data may be incomplete", dp.Target, c))
	}
	if m == nil {
		entries = append(entries, fmt.Sprintf("%s (every collection: unknown which godump finished)", dp.Target))
	}
	p.Incomplete = append(p.Incomplete, entries...)
	return nil
}

// noteMissingData warns about collections restored empty because the dump (one without
// godump's manifest, which records what godump wrote) has no data file for them, as
// arangorestore restores them: once per collection, or in one line when the database has no
// data file at all (a structure-only dump).
func (p *Plan) noteMissingData(dp *DatabasePlan) {
	if dp.Source.Manifest != nil || len(dp.Collections) == 0 {
		return
	}
	var empty []*CollectionPlan
	for _, c := range dp.Collections {
		if len(c.Source.DataFiles) == 0 {
			empty = append(empty, c)
		}
	}
	if len(empty) == 0 {
		return
	}
	if len(empty) == len(dp.Collections) {
		p.Warnings = append(p.Warnings, fmt.Sprintf("database %s: the dump holds no data files (a structure-only dump, as arangodump --dump-data false writes): "+
			"its %d collection(s) are created empty", dp.Target, len(empty)))
		return
	}
	for _, c := range empty {
		p.Warnings = append(p.Warnings, fmt.Sprintf("database %s: collection %s has no data file in the dump (looked for %s_%s.data.json[.gz] and the other names arangorestore reads): "+
			"it is restored empty, as arangorestore does (arangodump --split-files writes none for an empty collection)", dp.Target, c.Name(), format.EscapedName(c.Name(), c.Source.ID), format.NameMD5(c.Name())))
		p.MissingData = append(p.MissingData, dp.Target+"."+c.Target)
	}
}
