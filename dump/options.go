package dump

import (
	"errors"
	"fmt"
	"io"

	"github.com/arangobackup/godump/format"
	"runtime"
	"strings"
	"time"
)

// Options are the dump settings, named after arangodump's options. The zero value is not
// useful; start from DefaultOptions.
type Options struct {
	OutputDirectory string // --output-directory (or the positional argument)
	Overwrite       bool   // --overwrite: allow a non-empty output directory
	// Continue (--continue) carries on an interrupted dump in OutputDirectory: the data files
	// its manifest records as complete (size and SHA-256 checked again) are kept, the rest is
	// dumped again.
	Continue bool
	// SnapshotPerCollection (--snapshot per-collection) gives every collection job a dump
	// context (a snapshot) of its own instead of one per server: the dump is no longer one
	// point in time per server, but each collection's file is committed as soon as it is
	// complete, so that --continue after an interruption keeps it. The parallel dump API only;
	// with the classic API every job has its own file anyway.
	SnapshotPerCollection bool

	// Archive, when set, receives the whole dump as one stream (godump --archive): a tar of
	// the directory layout with split data files (format.ArchiveWriter, SPEC.md §11), instead
	// of OutputDirectory. ArchiveName names it in messages ("-" for stdout).
	Archive     io.Writer
	ArchiveName string

	// OutputStore, when set, holds the dump instead of the local OutputDirectory (godump
	// --output-directory s3://bucket/prefix): each database's directory is written through
	// it (format.NewStoreWriter), a subdirectory each with AllDatabases.
	OutputStore format.StoreTree

	AllDatabases             bool     // --all-databases: one subdirectory per database
	Collections              []string // --collection: only these (repeatable)
	IgnoreCollections        []string // --ignore-collection: all but these (repeatable)
	Shards                   []string // --shard: only these shards (cluster)
	IncludeSystemCollections bool     // --include-system-collections

	DumpData  bool // --dump-data: false writes structure only (empty data files)
	DumpViews bool // --dump-views

	Threads          int    // --threads: classic jobs, or parallel dump contexts and writers, run at once
	InitialBatchSize uint64 // --initial-batch-size: first chunkSize of the classic API (bytes)
	BatchSize        uint64 // --batch-size: largest batch asked from the server (bytes)
	DocsPerBatch     uint64 // --docs-per-batch
	ParallelDump     bool   // --parallel-dump: use /_api/dump where the server has it

	// SplitFiles: one data file per shard on a cluster (<coll>_<md5>.<n>.data.json.gz).
	// SplitFilesSet tells whether the user chose; unset means "on for clusters".
	SplitFiles    bool
	SplitFilesSet bool

	CompressOutput bool   // --compress-output: gzip the data files
	Maskings       string // --maskings: path of the maskings file ("" = none)
	Force          bool   // --force: continue after some errors (next database with --all-databases)

	IgnoreDistributeShardsLikeErrors bool // --ignore-distribute-shards-like-errors

	// NetworkThreads is the number of requests in flight per --threads worker with the
	// parallel dump API (--local-network-threads): the running dump contexts (one per server)
	// share Threads x NetworkThreads requests, at least one each. Each holds one batch.
	NetworkThreads int

	DBServerWorkerThreads   uint64 // --dbserver-worker-threads: parallelism of a dump context
	DBServerPrefetchBatches uint64 // --dbserver-prefetch-batches: prefetchCount of a dump context

	// MaxBatchMemory caps the batch size asked from the server, because every request in
	// flight and every writer holds a whole batch in memory (so that a failed transfer can be
	// re-fetched without writing anything twice). Bytes; 0 means 8 MiB.
	MaxBatchMemory uint64

	// RequestTimeout bounds one request including its body (--server.request-timeout);
	// 0 means 1200s. A request that takes longer is retried.
	RequestTimeout time.Duration

	// Open creates the writer of one database's directory. nil means the format package
	// (FormatOutput); tests inject their own.
	Open OutputOpener
}

// Limits of arangodump, applied by Validate.
const (
	minChunkSize        = 128 << 10
	maxChunkSize        = 96 << 20
	minDocsPerBatch     = 100
	maxDocsPerBatch     = 100000
	defaultBatchMemory  = 8 << 20
	defaultInitialBatch = 8 << 20
	defaultBatchSize    = 64 << 20
)

// DefaultOptions returns arangodump 3.12's defaults.
func DefaultOptions() Options {
	return Options{
		OutputDirectory:         "dump",
		DumpData:                true,
		DumpViews:               true,
		Threads:                 max(2, runtime.NumCPU()),
		InitialBatchSize:        defaultInitialBatch,
		BatchSize:               defaultBatchSize,
		DocsPerBatch:            10000,
		ParallelDump:            true,
		CompressOutput:          true,
		NetworkThreads:          2,
		DBServerWorkerThreads:   5,
		DBServerPrefetchBatches: 5,
	}
}

// ErrUsage marks option errors (cmd maps it to the usage exit code).
var ErrUsage = errors.New("invalid options")

// Validate checks and clamps the options the way arangodump does; warnings are returned
// for the caller to show.
func (o *Options) Validate() (warnings []string, err error) {
	usage := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrUsage, fmt.Sprintf(format, args...))
	}
	o.OutputDirectory = strings.TrimRight(o.OutputDirectory, "/")
	if o.OutputDirectory == "" && o.Archive == nil {
		return nil, usage("no output directory given")
	}
	if len(o.Collections) > 0 && len(o.IgnoreCollections) > 0 {
		return nil, usage("--collection and --ignore-collection cannot be used together")
	}
	if o.Archive != nil && o.Continue {
		return nil, usage("--continue cannot be used with --archive: a stream cannot be carried on (dump into a directory or object store for that)")
	}
	if o.Continue && o.Overwrite {
		return nil, usage("use either --continue or --overwrite, not both (--overwrite starts the dump again)")
	}
	if o.Maskings != "" && !o.DumpData {
		return nil, usage("use either --maskings or --dump-data false, not both")
	}
	for _, c := range o.Collections {
		if strings.HasPrefix(c, "_") && !o.IncludeSystemCollections {
			o.IncludeSystemCollections = true
		}
	}
	if o.Threads < 1 {
		warnings = append(warnings, fmt.Sprintf("raising --threads value to 1 (was %d)", o.Threads))
		o.Threads = 1
	}
	if limit := 4 * runtime.NumCPU(); o.Threads > limit {
		warnings = append(warnings, fmt.Sprintf("capping --threads value to %d", limit))
		o.Threads = limit
	}
	o.InitialBatchSize = clamp(o.InitialBatchSize, minChunkSize, maxChunkSize)
	o.BatchSize = clamp(o.BatchSize, o.InitialBatchSize, maxChunkSize)
	o.DocsPerBatch = clamp(o.DocsPerBatch, minDocsPerBatch, maxDocsPerBatch)
	if o.MaxBatchMemory == 0 {
		o.MaxBatchMemory = defaultBatchMemory
	}
	if o.NetworkThreads < 1 {
		o.NetworkThreads = 1
	}
	if o.DBServerWorkerThreads == 0 {
		o.DBServerWorkerThreads = 1
	}
	if o.DBServerPrefetchBatches == 0 {
		o.DBServerPrefetchBatches = 1
	}
	if o.SplitFilesSet && o.SplitFiles && !o.ParallelDump {
		return nil, usage("--split-files is only available when using --parallel-dump")
	}
	return warnings, nil
}

func clamp(v, lo, hi uint64) uint64 {
	return min(max(v, lo), hi)
}

// requestBatchSize is the batchSize/chunkSize asked from the server: --batch-size, but no
// more than the memory a job may hold.
func (o *Options) requestBatchSize() uint64 {
	return min(o.BatchSize, max(o.MaxBatchMemory, minChunkSize))
}
