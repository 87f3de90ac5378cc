package dump

import (
	"context"
	"encoding/json"

	"github.com/arangobackup/godump/format"
)

// Output writes one database's dump directory. FormatOutput (format.Writer) is the real
// one; the interface lets unit tests capture what the engine writes.
type Output interface {
	// WriteEncryption writes the ENCRYPTION file ("none").
	WriteEncryption() error
	// WriteDumpJSON writes dump.json.
	WriteDumpJSON(meta DumpJSON) error
	// WriteStructure writes <collection>[_<md5>].structure.json from the inventory's
	// parameters and secondary indexes.
	WriteStructure(collection string, parameters json.RawMessage, indexes []json.RawMessage) error
	// WriteView writes <view>.view.json.
	WriteView(view string, definition json.RawMessage) error
	// CreateDataFile starts the data file of a collection; part is the split-file number,
	// or -1 for the single file of a collection; shard the shard it holds when it holds
	// one (recorded in the manifest for --continue), else "".
	CreateDataFile(collection string, part int, shard string) (DataFile, error)
	// Keep (--continue) offers the data files earlier runs committed: those keep returns
	// true for stay and are not written again, the others are removed. It returns the files
	// kept and notes on what was removed and why. A new dump has none.
	Keep(keep func(KeptFile) bool) (kept []KeptFile, notes []string, err error)
	// Finish writes our manifest and its completion marker; nothing may follow.
	Finish() error
	// Abort removes temporary files after a failure; the directory never looks complete.
	Abort() error
}

// DataFile is one data file being written.
type DataFile interface {
	// WriteLines appends whole lines (each ends in '\n') holding docs documents. It may be
	// called from several goroutines at once (the batches of one file are written by any of
	// the writers of a dump context); each call's lines stay together.
	WriteLines(lines []byte, docs int64) error
	// Commit finishes the file under its final name.
	Commit() error
	// Abort removes the file.
	Abort() error
}

// OutputOpener opens the Output of one database directory.
type OutputOpener func(ctx context.Context, cfg OutputConfig) (Output, error)

// OutputConfig describes the directory of one database.
type OutputConfig struct {
	Dir       string // the database's directory
	Database  string // database name
	Overwrite bool   // --overwrite
	Compress  bool   // --compress-output
	Cluster   bool   // structure files without the md5 suffix
	// Root is the top-level output directory; it differs from Dir with --all-databases.
	Root string
	// Continue carries on an interrupted dump (--continue); Settings are the options that
	// decide what the data files hold, which must be the interrupted run's.
	Continue bool
	Settings map[string]string
	// Archive: the database goes into this archive, under ArchiveDir ("" at the top),
	// instead of Dir.
	Archive    *format.ArchiveWriter
	ArchiveDir string
	// Store: the database's directory is this object-store prefix instead of Dir.
	Store format.Store
}

// KeptFile is a data file an earlier, interrupted run committed (--continue).
type KeptFile struct {
	Collection string
	Part       int    // split-file number, -1 for a collection's single file
	Shard      string // the shard it holds, when recorded
	Documents  int64
	Run        int // the run that wrote it (1, 2, ...)
}

// DumpJSON is the content of dump.json.
type DumpJSON struct {
	Database            string          `json:"database"`
	CreatedAt           string          `json:"createdAt"`
	LastTickAtDumpStart string          `json:"lastTickAtDumpStart"`
	UseEnvelope         bool            `json:"useEnvelope"`
	UseVPack            bool            `json:"useVPack"`
	Properties          json.RawMessage `json:"properties,omitempty"`
}
