package restore

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Options mirror arangorestore's options (same names, same defaults), plus ours.
type Options struct {
	InputDirectory string // --input-directory (or the positional argument)
	// Database is the target database (--server.database). Without AllDatabases the dump is
	// restored into it whatever dump.json names, unless ForceSameDatabase.
	Database          string
	CreateDatabase    bool // --create-database
	ForceSameDatabase bool // --force-same-database
	AllDatabases      bool // --all-databases

	Collections              []string          // --collection (repeatable): only these
	IgnoreCollections        []string          // --ignore-collection (ours): all but these
	Views                    []string          // --view (repeatable): only these views
	IncludeSystemCollections bool              // --include-system-collections
	Renames                  map[string]string // --rename-collection old=new (ours)

	CreateCollection bool  // --create-collection (default true)
	ImportData       bool  // --import-data (default true)
	Overwrite        bool  // --overwrite (default true)
	Threads          int   // --threads
	BatchSize        int64 // --batch-size in bytes (default 8 MiB)

	NumberOfShards    Overrides // --number-of-shards [coll=]N
	ReplicationFactor Overrides // --replication-factor [coll=]N|satellite
	WriteConcern      Overrides // --write-concern [coll=]N

	Continue                         bool // --continue
	Force                            bool // --force
	IgnoreDistributeShardsLikeErrors bool // --ignore-distribute-shards-like-errors
	EnableRevisionTrees              bool // --enable-revision-trees (default true)

	// FastClusterRestore creates collections with replication factor 1, spreads the data jobs
	// over all Coordinator endpoints, then raises the replication factor and waits for sync.
	FastClusterRestore bool
	// DryRun connects, checks and returns the plan without writing anything.
	DryRun bool

	// Username and Password are the restoring credentials, given to a database created with
	// CreateDatabase (as arangorestore does, so that the user can access it).
	Username, Password string

	// IndexesAfterData builds secondary indexes after the data instead of before it (see
	// the comment at defaultIndexesAfterData).
	IndexesAfterData bool
	// Log receives warnings (an empty function when nil).
	Log func(msg string)

	// Archive, when set, is read instead of InputDirectory: a godump archive (godump
	// --archive), restored while it is read (RunArchive, ListArchive). ArchiveName names it
	// in messages.
	Archive     io.Reader
	ArchiveName string

	// archive: the plan is built from an archive's staged metadata (no data files on disk).
	archive bool

	// InputStore, when set, holds the dump instead of the local InputDirectory (gorestore
	// --input-directory s3://bucket/prefix; see remote.go).
	InputStore InputStore
}

// DefaultOptions returns arangorestore's defaults.
func DefaultOptions() Options {
	return Options{
		InputDirectory:      "dump",
		Database:            "_system",
		CreateCollection:    true,
		ImportData:          true,
		Overwrite:           true,
		Threads:             2,
		BatchSize:           8 << 20,
		EnableRevisionTrees: true,
		IndexesAfterData:    defaultIndexesAfterData,
	}
}

// MinBatchSize is arangorestore's lower bound of --batch-size.
const MinBatchSize = 128 << 10

// Validate checks option combinations the way arangorestore does.
func (o *Options) Validate() error {
	if !o.CreateCollection && !o.ImportData {
		return fmt.Errorf("must specify either --create-collection or --import-data")
	}
	if o.AllDatabases && o.ForceSameDatabase {
		return fmt.Errorf("--all-databases cannot be combined with --force-same-database")
	}
	if len(o.Collections) > 0 && len(o.IgnoreCollections) > 0 {
		return fmt.Errorf("--collection and --ignore-collection are mutually exclusive")
	}
	if o.Threads < 1 {
		o.Threads = 1
	}
	if o.BatchSize < MinBatchSize {
		o.BatchSize = MinBatchSize
	}
	for old, nw := range o.Renames {
		if old == "" || nw == "" {
			return fmt.Errorf("--rename-collection %q=%q: both names are needed", old, nw)
		}
	}
	return nil
}

// Overrides are the values of --number-of-shards, --replication-factor or --write-concern:
// "N" for every collection and "coll=N" for one (the per-collection value wins).
type Overrides struct {
	All    string            // "" when not given
	ByName map[string]string // collection -> value
}

// ParseOverrides reads the repeated values of one override option. allowSatellite admits
// "satellite" (replication factor only).
func ParseOverrides(flag string, values []string, allowSatellite bool) (Overrides, error) {
	o := Overrides{ByName: map[string]string{}}
	for _, v := range values {
		name, val := "", v
		if i := strings.LastIndexByte(v, '='); i >= 0 {
			name, val = v[:i], v[i+1:]
			if name == "" {
				return o, fmt.Errorf("--%s %q: empty collection name", flag, v)
			}
		}
		if !(allowSatellite && val == "satellite") {
			n, err := strconv.ParseUint(val, 10, 32)
			if err != nil || n == 0 {
				return o, fmt.Errorf("--%s %q: value must be a number greater than 0", flag, v)
			}
		}
		if name == "" {
			o.All = val
		} else {
			o.ByName[name] = val
		}
	}
	return o, nil
}

// For returns the override for a collection: its own, else the global one; ok=false when
// none applies. System collections get none (as in arangorestore).
func (o Overrides) For(coll string) (value any, ok bool) {
	if strings.HasPrefix(coll, "_") {
		return nil, false
	}
	s, ok := o.ByName[coll]
	if !ok {
		if o.All == "" {
			return nil, false
		}
		s = o.All
	}
	if s == "satellite" {
		return s, true
	}
	n, _ := strconv.ParseUint(s, 10, 32)
	return n, true
}

// ParseRenames reads --rename-collection old=new values.
func ParseRenames(values []string) (map[string]string, error) {
	m := map[string]string{}
	for _, v := range values {
		old, nw, ok := strings.Cut(v, "=")
		if !ok || old == "" || nw == "" {
			return nil, fmt.Errorf("--rename-collection %q: want old=new", v)
		}
		if _, dup := m[old]; dup {
			return nil, fmt.Errorf("--rename-collection: %q renamed twice", old)
		}
		m[old] = nw
	}
	return m, nil
}
