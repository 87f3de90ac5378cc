// Package format is the single place that knows the on-disk layout of an
// ArangoDB logical dump directory, for every version arangodump has written
// (1.4 to 3.12), plus godump's own manifest.
//
// Reading: Open inspects a dump directory (one database, or one subdirectory
// per database for --all-databases) and lists its collections, views and data
// files in arangorestore's lookup order. LineReader streams and classifies the
// lines of a collection's data files without decoding documents.
//
// Writing: Writer produces exactly what arangodump 3.12 writes (so that
// arangorestore 3.12 restores it) plus godump-manifest.json, which
// arangorestore ignores.
//
// The package does no network I/O and knows nothing about servers; the dump
// and restore engines build on it. SPEC.md next to this file describes the
// format.
package format

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// File names fixed by the format.
const (
	EncryptionFileName = "ENCRYPTION"
	DumpJSONFileName   = "dump.json"
	ManifestFileName   = "godump-manifest.json"
	// ContinueFileName is written by arangorestore --continue (not by dumps).
	ContinueFileName = "continue.json"
)

// Collection types as stored in parameters.type.
const (
	TypeDocument = 2
	TypeEdge     = 3
)

// Line types of the envelope format (replication marker types).
const (
	MarkerDocument = 2300 // insert or replace a document
	MarkerEdge     = 2301 // pre-3.0 edge marker, treated as a document
	MarkerRemove   = 2302 // remove a document
)

// Sentinel errors, matched with errors.Is. Hostile-input errors are wrapped in
// *Error which names the file and line.
var (
	// ErrEncrypted: the ENCRYPTION file names a cipher; encrypted dumps are
	// not supported.
	ErrEncrypted = errors.New("encrypted dumps are not supported")
	// ErrInvalidJSON: a line or metadata file is not valid JSON, or not the
	// JSON shape the format requires.
	ErrInvalidJSON = errors.New("invalid JSON")
	// ErrUnsafeName: a name or path would leave the dump directory.
	ErrUnsafeName = errors.New("name leaves the dump directory")
	// ErrNoName: a structure file has no collection name.
	ErrNoName = errors.New("structure file has no collection name")
	// ErrCorrupt: a compressed data file is truncated or corrupt.
	ErrCorrupt = errors.New("corrupt or truncated compressed data")
	// ErrLineTooLong: a line is longer than MaxLineSize.
	ErrLineTooLong = errors.New("line too long")
	// ErrNotDump: the directory holds no dump.
	ErrNotDump = errors.New("not a dump directory")
	// ErrChecksum: a data file does not match godump-manifest.json.
	ErrChecksum = errors.New("file does not match manifest")
	// ErrIncomplete: godump did not finish the dump (its manifest is not
	// complete, or its temporaries are left).
	ErrIncomplete = errors.New("the dump is incomplete")
	// ErrExists: the output directory already holds a dump and overwriting was
	// not requested.
	ErrExists = errors.New("output directory is not empty")
	// ErrComplete: --continue on a dump godump already finished.
	ErrComplete = errors.New("the dump is already complete")
	// ErrNothingToContinue: --continue on a directory that holds no interrupted godump dump.
	ErrNothingToContinue = errors.New("no interrupted godump dump to continue")
	// ErrSettingsDiffer: --continue with options that write other files than the
	// interrupted run did.
	ErrSettingsDiffer = errors.New("the interrupted dump was made with other options")
)

// MaxLineSize bounds the memory one line may take (a single document). ArangoDB
// documents are limited far below this.
const MaxLineSize = 512 << 20

// Error is returned for every problem with the input files: it names the file
// (path as opened) and, where it applies, the 1-based line number (0: the
// whole file).
type Error struct {
	File string
	Line int
	Err  error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("file %s line %d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("file %s: %v", e.File, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Dump is an opened dump directory.
type Dump struct {
	Dir string
	// Encryption is the content of the top-level ENCRYPTION file ("none", or
	// "" when absent). For --all-databases dumps see Database.Encryption.
	Encryption string
	// AllDatabases is true when Dir holds one subdirectory per database.
	AllDatabases bool
	// Databases: one for a plain dump (Dir = the dump root); for
	// --all-databases one per subdirectory, sorted by name with _system last
	// (arangorestore's order).
	Databases []*Database
	// Warnings about the layout (e.g. two candidate data files for one
	// collection), from all databases.
	Warnings []string
	// Manifest is godump-manifest.json of the root directory (plain dumps),
	// nil if absent.
	Manifest *Manifest
}

// Database is one database's directory in a dump.
type Database struct {
	// Name: dump.json properties.name, else dump.json database, else the
	// directory name.
	Name       string
	Dir        string
	Encryption string    // ENCRYPTION content, "" when absent (old dumps)
	Meta       *DumpMeta // nil when there is no dump.json (very old dumps)
	// Collections sorted in arangorestore's creation order (see
	// SortForCreation).
	Collections []*Collection
	Views       []*View
	Manifest    *Manifest // godump-manifest.json, nil if absent
	Warnings    []string
	// Temporaries are godump's files left half-written (".godump-tmp-*"): a dump that was
	// stopped without cleaning up, manifest or not.
	Temporaries []string
}

// Collection returns the collection with this name, or nil.
func (d *Database) Collection(name string) *Collection {
	for _, c := range d.Collections {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// DumpMeta holds dump.json. Fields missing from the file are zero.
type DumpMeta struct {
	Database            string          `json:"database"`
	CreatedAt           string          `json:"createdAt,omitempty"`
	LastTickAtDumpStart string          `json:"lastTickAtDumpStart"`
	UseEnvelope         bool            `json:"useEnvelope"`
	UseVPack            bool            `json:"useVPack"`
	Properties          json.RawMessage `json:"properties,omitempty"`
	// HasUseEnvelope tells whether useEnvelope was present (arangorestore
	// falls back to its --envelope option otherwise).
	HasUseEnvelope bool `json:"-"`
	// Raw is the file as read (nil when written by us).
	Raw json.RawMessage `json:"-"`
}

// PropertyName returns properties.name, or "".
func (m *DumpMeta) PropertyName() string {
	var p struct {
		Name string `json:"name"`
	}
	if len(m.Properties) > 0 {
		_ = json.Unmarshal(m.Properties, &p)
	}
	return p.Name
}

// Collection is one collection of a database dump.
type Collection struct {
	Name     string
	Type     int // TypeDocument or TypeEdge
	IsSystem bool
	// Structure is the structure file as found.
	Structure json.RawMessage
	// Parameters is the "parameters" object as found.
	Parameters json.RawMessage
	// Indexes: secondary index definitions, normalised: pre-3.x dumps keep
	// them in parameters.indexes; primary and edge indexes are dropped.
	Indexes []json.RawMessage
	// StructureFile is the path of the structure file.
	StructureFile string
	// DataFiles in the order they must be read; empty for an empty
	// collection or a structure-only dump.
	DataFiles []DataFile

	DistributeShardsLike string
	// NumberOfShards is 0 when the dump does not say.
	NumberOfShards int
	// ReplicationFactor as text: "1", "3", "satellite"; "" when absent.
	ReplicationFactor string
	// WriteConcern (or the older minReplicationFactor); 0 when absent.
	WriteConcern int
	ShardKeys    []string
	// ID is parameters.cid, else parameters.id ("" when absent).
	ID string
}

// StructureJSON returns the normalised structure object
// {"parameters":...,"indexes":[...]} as sent to
// /_api/replication/restore-collection and restore-indexes.
func (c *Collection) StructureJSON() []byte {
	params := c.Parameters
	if len(params) == 0 {
		params = json.RawMessage("{}")
	}
	n := len(params) + 32
	for _, ix := range c.Indexes {
		n += len(ix) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, `{"indexes":[`...)
	for i, ix := range c.Indexes {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, ix...)
	}
	b = append(b, `],"parameters":`...)
	b = append(b, params...)
	return append(b, '}')
}

// DataFile is one file holding lines (or VelocyPack) of a collection.
type DataFile struct {
	Path       string // full path
	Name       string // base name, as in godump-manifest.json
	Compressed bool   // gzip
	VPack      bool   // 3.12 --dump-vpack: concatenated VelocyPack arrays
	Part       int    // split-file number, -1 when not split
	// Open, when set, reads the file from elsewhere than Path (an archive's entry in
	// memory, an object store); Size is then its size.
	Open func() (io.ReadCloser, error)
	Size int64
}

// View is one *.view.json file.
type View struct {
	Name       string
	Type       string // "arangosearch" or "search-alias"
	File       string
	Definition json.RawMessage // the file as found
}

// LineKind classifies a data line.
type LineKind int

const (
	// KindDocument: a plain line, the whole line is the document (3.9+).
	KindDocument LineKind = iota + 1
	// KindInsert: envelope {"type":2300|2301,"data":{...}}.
	KindInsert
	// KindRemove: envelope {"type":2302,...}; Key says which document.
	KindRemove
)

func (k LineKind) String() string {
	switch k {
	case KindDocument:
		return "document"
	case KindInsert:
		return "insert"
	case KindRemove:
		return "remove"
	}
	return fmt.Sprintf("LineKind(%d)", int(k))
}

// Line is one classified data line. Its byte slices are valid until the next
// call to Next or ReadBatch.
type Line struct {
	Kind LineKind
	Raw  []byte // the whole line, without the newline
	Doc  []byte // the document: Raw for plain lines, the "data" value for envelopes (nil for removals without data)
	// Key: top-level "key" of envelopes, else the document's _key for
	// removals ("" when unknown).
	Key    string
	File   string // path of the data file
	Number int    // 1-based line number in File
}

// Batch is a run of complete lines of one data file, for
// /_api/replication/restore-data. Data is valid until the next call to Next
// or ReadBatch.
type Batch struct {
	// Data: complete lines, each terminated by '\n' (a missing final newline
	// is added).
	Data []byte
	// Lines counts the non-empty lines in Data; Inserts and Removes split
	// them (documents and envelope inserts count as Inserts).
	Lines, Inserts, Removes int
	File                    string // path of the data file
	FileIndex               int    // index into the reader's file list
	FirstLine               int    // 1-based line number of the first line in Data
	// Offset is the byte offset of Data in the uncompressed file (for
	// resuming).
	Offset int64
}
