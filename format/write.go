package format

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/pgzip"
)

// WriterOptions configure a Writer.
type WriterOptions struct {
	// Overwrite allows writing into a directory that already holds files;
	// the files this format owns (dump files, temporaries, our manifest) are
	// removed first. Other files and subdirectories are left alone.
	Overwrite bool
	// Cluster selects cluster structure-file naming (<name>.structure.json).
	Cluster bool
	// Tool and ToolVersion are recorded in the manifest (Tool defaults to
	// "godump").
	Tool, ToolVersion string
	// Database is recorded in the manifest.
	Database string
	// CompressionLevel for gzip (0: pgzip's default).
	CompressionLevel int
	// StartedAt is recorded in the manifest (zero: now).
	StartedAt time.Time
	// Reproducible leaves the run's times out of the manifest (startedAt and finishedAt are
	// the zero time), so that two runs over the same data write the same bytes.
	Reproducible bool
	// Settings are recorded in the manifest (Manifest.Settings); with Continue they must
	// equal the interrupted run's.
	Settings map[string]string
	// Continue carries on an interrupted dump (godump --continue): the data files its
	// manifest records and that still match their size and SHA-256 are kept (Keep decides
	// which of them the new run wants), every other dump data file and temporary is removed,
	// and the manifest stays "complete": false until Finish. A directory without files
	// starts a new dump; one without our manifest, or with a complete one, is an error
	// (ErrNothingToContinue, ErrComplete).
	Continue bool
}

// Writer writes one database's dump directory. Its methods are safe for
// concurrent use.
type Writer struct {
	dir   string // for messages: the store's name
	store Store
	opts  WriterOptions

	manifestMu sync.Mutex // orders the rewrites of the manifest (writeManifest)
	manifested int        // data files in the last manifest written (under manifestMu)

	mu      sync.Mutex
	ids     map[string]string // collection name -> id, from WriteStructure
	names   map[string]bool   // final file names taken
	files   []ManifestFile
	pending int
	runs    []ManifestRun // earlier runs (Continue) and this one, last
	// Resumed reports what Continue found (nil for a new dump).
	resumed *Resumed

	// archive: the database is written into an archive (NewArchiveDatabase), dir is its
	// directory there; parts counts each collection's split parts written.
	archive *ArchiveWriter
	parts   map[string]int
}

// Resumed is what a Writer with Continue found in the directory.
type Resumed struct {
	// Earlier are the data files of earlier runs that match their manifest entries.
	Earlier []ManifestFile
	// Dropped says, one line each, which files were removed and why (no longer matching
	// the manifest, not recorded in it).
	Dropped []string
	// Runs is the number of earlier runs.
	Runs int
}

// tmpPrefix starts the names of files being written; arangorestore never
// looks at them and NewWriter with Overwrite removes them.
const tmpPrefix = ".godump-tmp-"

// NewWriter creates dir if needed. A directory already holding files is an
// error (ErrExists) unless opts.Overwrite.
func NewWriter(dir string, opts WriterOptions) (*Writer, error) {
	if err := MkdirPrivate(dir); err != nil {
		return nil, fmt.Errorf("create dump directory: %w", err)
	}
	return NewStoreWriter(dirStore{dir}, opts)
}

// NewStoreWriter is NewWriter for a dump directory held by a Store (an object-store prefix).
func NewStoreWriter(st Store, opts WriterOptions) (*Writer, error) {
	dir := st.String()
	files, err := st.List()
	if err != nil {
		return nil, fmt.Errorf("create dump directory: %w", err)
	}
	sort.Strings(files)
	if opts.Continue {
		return continueWriter(st, opts, files)
	}
	if len(files) > 0 && !opts.Overwrite {
		return nil, &Error{File: dir, Err: fmt.Errorf("%w (holds %s; use overwrite)", ErrExists, files[0])}
	}
	if opts.Overwrite {
		// The manifest first: an interrupted dump must never look complete.
		names := append([]string(nil), files...)
		sort.SliceStable(names, func(i, j int) bool { return names[i] == ManifestFileName && names[j] != ManifestFileName })
		for _, n := range names {
			if n == ManifestFileName || isDumpFileName(n) || strings.HasPrefix(n, tmpPrefix) || n == ContinueFileName {
				if err := st.Remove(n); err != nil {
					return nil, fmt.Errorf("overwrite dump directory: %w", err)
				}
			}
		}
	}
	if opts.Tool == "" {
		opts.Tool = "godump"
	}
	if opts.StartedAt.IsZero() && !opts.Reproducible {
		opts.StartedAt = time.Now()
	}
	w := &Writer{dir: dir, store: st, opts: opts, ids: map[string]string{}, names: map[string]bool{},
		runs: []ManifestRun{{Run: 1, StartedAt: runTime(opts)}}}
	// From the start the directory says it is unfinished: a dump stopped at any point
	// (Ctrl-C, a crash) leaves a manifest with "complete": false listing the data files
	// committed so far, which gorestore refuses without --force, instead of looking like an
	// arangodump dump without a manifest.
	if err := w.writeManifest(false); err != nil {
		return nil, err
	}
	return w, nil
}

func runTime(opts WriterOptions) time.Time {
	if opts.Reproducible {
		return time.Time{}
	}
	return time.Now().UTC()
}

// continueWriter opens an interrupted dump for NewWriter with Continue.
func continueWriter(st Store, opts WriterOptions, files []string) (*Writer, error) {
	dir := st.String()
	m, err := readManifestFrom(st)
	if err != nil {
		return nil, fmt.Errorf("continue dump: %w", err)
	}
	if m == nil {
		for _, n := range files {
			if n != ContinueFileName {
				return nil, &Error{File: dir, Err: fmt.Errorf("%w: the directory holds %s but no %s (not a dump godump started)", ErrNothingToContinue, n, ManifestFileName)}
			}
		}
		o := opts
		o.Continue = false
		return NewStoreWriter(st, o) // an empty directory: this run is the first
	}
	if m.Complete {
		return nil, &Error{File: st.Path(ManifestFileName), Err: fmt.Errorf("%w (finished at %s)", ErrComplete, m.FinishedAt.Format(time.RFC3339))}
	}
	if diff := settingsDiff(m.Settings, opts.Settings); diff != "" {
		return nil, &Error{File: st.Path(ManifestFileName), Err: fmt.Errorf("%w: %s; continue with the same options, or start again with overwrite", ErrSettingsDiffer, diff)}
	}
	if opts.Tool == "" {
		opts.Tool = "godump"
	}
	opts.StartedAt = m.StartedAt
	w := &Writer{dir: dir, store: st, opts: opts, ids: map[string]string{}, names: map[string]bool{}, resumed: &Resumed{}}
	w.runs = append(w.runs, m.Runs...)
	if len(w.runs) == 0 {
		w.runs = []ManifestRun{{Run: 1, StartedAt: m.StartedAt}}
	}
	w.resumed.Runs = len(w.runs)
	w.runs = append(w.runs, ManifestRun{Run: len(w.runs) + 1, StartedAt: runTime(opts)})
	recorded := map[string]ManifestFile{}
	for _, f := range m.Files {
		recorded[f.Name] = f
	}
	for _, n := range files {
		_, ok := recorded[n]
		switch {
		case strings.HasPrefix(n, tmpPrefix):
		case isDataFileName(n) && !ok:
			w.resumed.Dropped = append(w.resumed.Dropped, fmt.Sprintf("%s: not recorded as complete in %s (it is written again)", n, ManifestFileName))
		default:
			continue
		}
		if err := st.Remove(n); err != nil {
			return nil, fmt.Errorf("continue dump %s: %w", dir, err)
		}
	}
	for _, f := range m.Files {
		if f.Run == 0 {
			f.Run = 1
		}
		if err := verifyIn(st, f); err != nil {
			w.resumed.Dropped = append(w.resumed.Dropped, fmt.Sprintf("%s: %v (it is written again)", f.Name, err))
			if err := st.Remove(f.Name); err != nil {
				return nil, fmt.Errorf("continue dump %s: %w", dir, err)
			}
			continue
		}
		w.files = append(w.files, f)
		w.names[f.Name] = true
		w.resumed.Earlier = append(w.resumed.Earlier, f)
	}
	if err := w.writeManifest(false); err != nil {
		return nil, err
	}
	return w, nil
}

// settingsDiff names the settings that differ between an interrupted run and this one.
func settingsDiff(was, now map[string]string) string {
	keys := map[string]bool{}
	for k := range was {
		keys[k] = true
	}
	for k := range now {
		keys[k] = true
	}
	var diffs []string
	for k := range keys {
		if was[k] != now[k] {
			diffs = append(diffs, fmt.Sprintf("%s was %q, now %q", k, was[k], now[k]))
		}
	}
	sort.Strings(diffs)
	return strings.Join(diffs, ", ")
}

// Resumed reports what Continue found in the directory; nil for a new dump.
func (w *Writer) Resumed() *Resumed { return w.resumed }

// Keep decides which data files of earlier runs the continuing run keeps: those for which
// keep returns true stay (and the run does not write them again); the others are removed
// from the directory and the manifest (a collection no longer dumped, a shard that moved).
// It returns the files kept.
func (w *Writer) Keep(keep func(ManifestFile) bool) ([]ManifestFile, error) {
	if w.resumed == nil {
		return nil, nil
	}
	current := w.runs[len(w.runs)-1].Run
	w.mu.Lock()
	var kept, files []ManifestFile
	var drop []string
	for _, f := range w.files {
		if f.Run == current || keep(f) {
			files = append(files, f)
			if f.Run != current {
				kept = append(kept, f)
			}
			continue
		}
		drop = append(drop, f.Name)
		delete(w.names, f.Name)
	}
	w.files = files
	w.mu.Unlock()
	for _, n := range drop {
		w.resumed.Dropped = append(w.resumed.Dropped, fmt.Sprintf("%s: not part of this run's dump (removed)", n))
	}
	if len(drop) > 0 {
		// the manifest first: it must never list a file that is gone
		w.manifested = -1
		if err := w.writeManifest(false); err != nil {
			return nil, err
		}
		for _, n := range drop {
			if err := w.store.Remove(n); err != nil {
				return nil, fmt.Errorf("continue dump %s: %w", w.dir, err)
			}
		}
	}
	return kept, nil
}

// Dumps hold whatever the database holds, _users' password hashes included, so what the
// Writer creates is for its owner only, whatever the umask (which could widen nothing, but
// could narrow a directory until it cannot be written): each mode is set explicitly.
const (
	// DirMode is the mode of every directory a dump creates.
	DirMode os.FileMode = 0o700
	// FileMode is the mode of every file a dump writes (temporaries included).
	FileMode os.FileMode = 0o600
)

// MkdirPrivate creates dir and any missing parents with DirMode, set explicitly on each
// directory it creates. Directories that already exist keep their mode: they are the
// user's (the caller warns when one is open to others; see OpenToOthers).
func MkdirPrivate(dir string) error {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || !errors.Is(err, os.ErrNotExist) {
			break
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return err
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Chmod(missing[i], DirMode); err != nil {
			return err
		}
	}
	return nil
}

// OpenToOthers reports whether the existing directory dir can be read or written by its
// group or by other users, and its mode; a missing directory is not (MkdirPrivate will
// create it with DirMode).
func OpenToOthers(dir string) (bool, os.FileMode) {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return false, 0
	}
	return fi.Mode().Perm()&0o066 != 0, fi.Mode().Perm()
}

// Dir returns the directory written to.
func (w *Writer) Dir() string { return w.dir }

// writeFileAtomic writes a small file under a temporary name, fsyncs it and
// renames it into place.
func (w *Writer) writeFileAtomic(name string, content []byte) error {
	if w.archive != nil {
		return w.archive.writeEntry(w.entryName(name), content, "")
	}
	if err := w.store.WriteFile(name, content); err != nil {
		return fmt.Errorf("write %s: %w", w.store.Path(name), err)
	}
	return nil
}

// WriteEncryption writes ENCRYPTION = "none".
func (w *Writer) WriteEncryption() error {
	return w.writeFileAtomic(EncryptionFileName, []byte("none"))
}

// WriteDumpJSON writes dump.json as arangodump 3.12 does: database,
// createdAt, lastTickAtDumpStart, useEnvelope, useVPack, properties.
func (w *Writer) WriteDumpJSON(m DumpMeta) error {
	props := m.Properties
	if len(props) == 0 {
		props = json.RawMessage("{}")
	}
	if !json.Valid(props) {
		return fmt.Errorf("write dump.json: %w: properties", ErrInvalidJSON)
	}
	b, err := json.Marshal(struct {
		Database            string          `json:"database"`
		CreatedAt           string          `json:"createdAt"`
		LastTickAtDumpStart string          `json:"lastTickAtDumpStart"`
		UseEnvelope         bool            `json:"useEnvelope"`
		UseVPack            bool            `json:"useVPack"`
		Properties          json.RawMessage `json:"properties"`
	}{m.Database, m.CreatedAt, m.LastTickAtDumpStart, m.UseEnvelope, m.UseVPack, props})
	if err != nil {
		return fmt.Errorf("write dump.json: %w", err)
	}
	w.mu.Lock()
	w.runs[len(w.runs)-1].LastTick = m.LastTickAtDumpStart
	w.mu.Unlock()
	return w.writeFileAtomic(DumpJSONFileName, b)
}

// WriteStructure writes the structure file of a collection and returns its
// base name. parameters is the inventory's parameters object (it must hold
// the name); indexes its secondary indexes (nil: none). The collection id in
// parameters (cid, else id) names the files of collections with extended
// names, as arangodump does.
func (w *Writer) WriteStructure(name string, parameters json.RawMessage, indexes []json.RawMessage) (string, error) {
	if !safeName(name) {
		return "", fmt.Errorf("write structure of %q: %w", name, ErrUnsafeName)
	}
	var p struct {
		Name *string         `json:"name"`
		CID  json.RawMessage `json:"cid"`
		ID   json.RawMessage `json:"id"`
	}
	if len(parameters) == 0 || json.Unmarshal(parameters, &p) != nil {
		return "", fmt.Errorf("write structure of %q: %w: parameters is not an object", name, ErrInvalidJSON)
	}
	if p.Name == nil || *p.Name != name {
		// arangorestore takes the name from parameters.name.
		return "", fmt.Errorf("write structure of %q: %w: parameters.name does not match", name, ErrNoName)
	}
	id, _ := jsonString(p.CID)
	if id == "" {
		id, _ = jsonString(p.ID)
	}
	if indexes == nil {
		indexes = []json.RawMessage{}
	}
	for i, ix := range indexes {
		if !json.Valid(ix) {
			return "", fmt.Errorf("write structure of %q: %w: index %d", name, ErrInvalidJSON, i)
		}
	}
	b, err := json.Marshal(struct {
		Indexes    []json.RawMessage `json:"indexes"`
		Parameters json.RawMessage   `json:"parameters"`
	}{indexes, parameters})
	if err != nil {
		return "", fmt.Errorf("write structure of %q: %w", name, err)
	}
	w.mu.Lock()
	w.ids[name] = id
	w.mu.Unlock()
	fn := StructureFileName(name, id, w.opts.Cluster)
	return fn, w.writeFileAtomic(fn, b)
}

// WriteView writes <name>.view.json (the view id in the definition names the
// file when the name is not traditional) and returns its base name.
func (w *Writer) WriteView(name string, definition json.RawMessage) (string, error) {
	if !safeName(name) {
		return "", fmt.Errorf("write view %q: %w", name, ErrUnsafeName)
	}
	var d struct {
		ID json.RawMessage `json:"id"`
	}
	if len(definition) == 0 || json.Unmarshal(definition, &d) != nil {
		return "", fmt.Errorf("write view %q: %w: definition is not an object", name, ErrInvalidJSON)
	}
	id, _ := jsonString(d.ID)
	fn := ViewFileName(name, id)
	return fn, w.writeFileAtomic(fn, definition)
}

// CreateDataFile starts a data file of a collection: part -1 for the
// non-split file, else the split number. Safe to call from many goroutines.
// Call WriteStructure for the collection first when its name is not a
// traditional name (the id then names the file).
func (w *Writer) CreateDataFile(collection string, part int, compress bool) (*DataFileWriter, error) {
	if !safeName(collection) {
		return nil, fmt.Errorf("create data file of %q: %w", collection, ErrUnsafeName)
	}
	level := w.opts.CompressionLevel
	if level == 0 {
		level = pgzip.DefaultCompression
	}
	if compress && (level < pgzip.ConstantCompression || level > pgzip.BestCompression) {
		return nil, fmt.Errorf("create data file of %q: invalid compression level %d", collection, level)
	}
	if w.archive != nil {
		// split parts, numbered as they are written (archiveFile)
		w.mu.Lock()
		w.pending++
		w.mu.Unlock()
		return &DataFileWriter{w: w, name: collection, collection: collection, compressed: compress, level: level,
			arch: &archiveFile{w: w, collection: collection, compressed: compress, level: level}}, nil
	}
	w.mu.Lock()
	name := DataFileName(collection, w.ids[collection], part, compress, false)
	if w.names[name] {
		w.mu.Unlock()
		return nil, fmt.Errorf("create data file %s: already written", name)
	}
	w.names[name] = true
	w.pending++
	w.mu.Unlock()
	obj, err := w.store.Create(name)
	if err != nil {
		w.release(name)
		return nil, fmt.Errorf("create data file %s: %w", w.store.Path(name), err)
	}
	dw := &DataFileWriter{w: w, obj: obj, name: name, collection: collection, part: part, compressed: compress, level: level, hash: sha256.New(),
		run: w.runs[len(w.runs)-1].Run}
	dw.disk = &countingWriter{w: &hashingWriter{w: obj, h: dw.hash}}
	return dw, nil
}

// Compressed data files are written as one gzip member per Write: each batch is
// compressed on its own (by the goroutine that writes it, outside the file's lock)
// and the finished member is appended to the file. Concatenated members are one
// valid gzip stream (RFC 1952 §2.2): Go's compress/gzip and pgzip readers read
// them in their default multistream mode, and arangorestore's
// ManagedDirectory::File::read uses zlib's gzread, which continues with the next
// member after the end of one (zlib.h: "any number of gzip streams may be
// concatenated in the input file, and will all be decompressed by gzread()").
//
// Why: a dump context hands out batches of all its shards in any order, so a
// dump keeps every data file open until the end. A pgzip stream per open file
// holds about 1 MiB while idle (its current block buffer, from a 1 MiB pool, and
// once a block was compressed the previous block's 16 KiB tail in another) plus
// a goroutine: measured 1.06 MiB per file after 600 KiB written, and a dump of
// 200 collections of 0.6 MiB through one context peaked at 145 MiB with it,
// against 28 MiB with a member per write; a thousand collections would hold
// 1 GiB or more. A file between two members holds nothing but its descriptor
// and its SHA-256 state, and the compressors in use are as many as the
// goroutines writing at once, whatever the number of files. The price is a
// dictionary restart per member, which pgzip already makes every 1 MiB block
// (keeping a 16 KiB tail) and which costs little at batch sizes of a MiB and
// more.

// gzipMember compresses one Write into a complete gzip member.
type gzipMember struct {
	level int
	zw    *pgzip.Writer
	buf   bytes.Buffer
}

// freeMembers recycles compressors. Unlike a sync.Pool it survives garbage collections; it
// keeps at most a few idle ones (those in use are bounded by the writers running at once).
var freeMembers = make(chan *gzipMember, 8)

func getMember(level int) (*gzipMember, error) {
	select {
	case m := <-freeMembers:
		if m.level == level {
			return m, nil
		}
	default:
	}
	zw, err := pgzip.NewWriterLevel(io.Discard, level)
	if err != nil {
		return nil, err
	}
	return &gzipMember{level: level, zw: zw}, nil
}

func putMember(m *gzipMember) {
	if m.buf.Cap() > 64<<20 {
		return // an outsized batch: let its buffer go
	}
	select {
	case freeMembers <- m:
	default:
	}
}

// compressMember returns what a write of p puts into a data file: p itself, or, compressed,
// one gzip member holding it, in a member the caller gives back with putMember.
func compressMember(p []byte, compressed bool, level int) ([]byte, *gzipMember, error) {
	if !compressed {
		return p, nil, nil
	}
	m, err := getMember(level)
	if err == nil {
		err = m.compress(p)
	}
	if err != nil {
		return nil, nil, err
	}
	return m.buf.Bytes(), m, nil
}

// compress makes m.buf one gzip member holding p.
func (m *gzipMember) compress(p []byte) error {
	m.buf.Reset()
	m.zw.Reset(&m.buf)
	if _, err := m.zw.Write(p); err != nil {
		return err
	}
	return m.zw.Close()
}

func (w *Writer) release(name string) {
	w.mu.Lock()
	delete(w.names, name)
	w.pending--
	w.mu.Unlock()
}

// Files returns the data files committed so far.
func (w *Writer) Files() []ManifestFile {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]ManifestFile(nil), w.files...)
}

// Finish writes godump-manifest.json with complete=true and syncs the
// directory. Call it last, after every data file has been committed; it
// fails while data files are still open.
func (w *Writer) Finish() error {
	w.mu.Lock()
	if w.pending > 0 {
		n := w.pending
		w.mu.Unlock()
		return fmt.Errorf("finish dump %s: %d data file(s) neither committed nor aborted", w.dir, n)
	}
	w.mu.Unlock()
	if w.archive != nil {
		return w.writeManifest(true)
	}
	if err := w.store.Sync(); err != nil { // data files' renames are durable before the marker
		return fmt.Errorf("finish dump %s: %w", w.dir, err)
	}
	if err := w.writeManifest(true); err != nil {
		return err
	}
	if err := w.store.Sync(); err != nil {
		return fmt.Errorf("finish dump %s: %w", w.dir, err)
	}
	return nil
}

// writeManifest writes godump-manifest.json with the data files committed so far: with
// complete=false at the start and after each data file, with complete=true by Finish.
// manifestMu orders the rewrites, so that the last one written holds every file; an
// unfinished manifest that would list no file more than the last one written (another
// commit's rewrite, waited for, held this one's file too) is not written again.
func (w *Writer) writeManifest(complete bool) error {
	if w.archive != nil && !complete {
		return nil // an archive holds the manifest once, at the end of its database
	}
	w.manifestMu.Lock()
	defer w.manifestMu.Unlock()
	w.mu.Lock()
	files := append([]ManifestFile{}, w.files...)
	runs := append([]ManifestRun{}, w.runs...)
	w.mu.Unlock()
	if !complete && len(files) > 0 && len(files) == w.manifested {
		return nil
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	m := Manifest{
		Format:      ManifestVersion,
		Tool:        w.opts.Tool,
		ToolVersion: w.opts.ToolVersion,
		Database:    w.opts.Database,
		StartedAt:   w.opts.StartedAt.UTC(),
		Files:       files,
		Complete:    complete,
		Settings:    w.opts.Settings,
		Runs:        runs,
	}
	if complete && !w.opts.Reproducible {
		m.FinishedAt = time.Now().UTC()
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("write manifest of dump %s: %w", w.dir, err)
	}
	if err := w.writeFileAtomic(ManifestFileName, append(b, '\n')); err != nil {
		return err
	}
	w.manifested = len(files)
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

// hashingWriter writes to w and hashes what it writes, as io.MultiWriter(w, h) does, but
// hashes a large write in a goroutine of its own while w writes it: an uncompressed data
// file's SHA-256 then costs no time beside the write system call (hashing runs at about
// the speed of copying into the page cache, so one after the other halved a job's
// throughput). The hash still sees the bytes in order: Write returns only when both are done.
//
// A large write goes to w in pieces of writeChunk: on the ext4 virtual machines we benchmark
// on, one write(2) of a whole 8 MiB batch cost 1.5 to 3.6 CPU seconds per GB in the kernel,
// against 0.35 to 0.57 for the same bytes in pieces of 128 KiB to 1 MiB (issue 16; the 8 MiB
// calls are also under-sampled by the CPU profiler, which hid most of it). Same bytes, same
// order, same error handling: only the number of system calls changes.
type hashingWriter struct {
	w io.Writer
	h hash.Hash
}

// hashAsideMin: below this size a goroutine costs more than it saves.
const hashAsideMin = 256 << 10

// writeChunk is the largest piece handed to the file in one call (see hashingWriter).
const writeChunk = 256 << 10

func (hw *hashingWriter) Write(p []byte) (int, error) {
	if len(p) < hashAsideMin {
		n, err := hw.w.Write(p)
		hw.h.Write(p[:n])
		return n, err
	}
	done := make(chan struct{})
	go func() {
		hw.h.Write(p)
		close(done)
	}()
	n, err := writeChunked(hw.w, p)
	<-done
	// After a failed write the hash holds bytes the file may not: no matter, the
	// DataFileWriter keeps the error and never commits the file.
	return n, err
}

// writeChunked writes p to w in pieces of at most writeChunk, stopping at the first error or
// short write.
func writeChunked(w io.Writer, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		piece := p[n:min(n+writeChunk, len(p))]
		m, err := w.Write(piece)
		n += m
		if err != nil {
			return n, err
		}
		if m < len(piece) {
			return n, io.ErrShortWrite
		}
	}
	return n, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// DataFileWriter writes one data file under a temporary name. Write may be
// called from several goroutines at once (each call's bytes stay together);
// Commit and Abort come after the last Write.
type DataFileWriter struct {
	w          *Writer
	obj        StoreFile
	name       string
	collection string
	part       int
	compressed bool
	level      int
	run        int
	shard      string

	mu      sync.Mutex
	hash    hash.Hash
	disk    *countingWriter
	members int // gzip members written

	raw   int64
	lines int64
	last  byte
	done  bool
	err   error

	arch *archiveFile // the file is written into an archive, as split parts
}

// Name returns the final base name of the file.
func (f *DataFileWriter) Name() string { return f.name }

// SetShard records the shard the file holds in its manifest entry; call it before Commit.
func (f *DataFileWriter) SetShard(id string) {
	f.mu.Lock()
	f.shard = id
	f.mu.Unlock()
}

// Lines returns the number of lines written so far.
func (f *DataFileWriter) Lines() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lines
}

// RawBytes returns the uncompressed bytes written so far.
func (f *DataFileWriter) RawBytes() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.raw
}

// Write appends whole lines (the caller ends every batch with '\n'). Large
// writes of a whole server batch are the expected use: a compressed file gets
// one gzip member per call, compressed before the file's lock is taken, so
// writes of one file from several goroutines compress in parallel.
func (f *DataFileWriter) Write(p []byte) (int, error) {
	return f.WriteLines(p, int64(bytes.Count(p, []byte{'\n'})))
}

// WriteLines is Write for a caller that has counted the newlines of p already (the dump
// engine counts every batch for its progress): the count goes into the manifest as it is.
func (f *DataFileWriter) WriteLines(p []byte, lines int64) (int, error) {
	if f.arch != nil {
		return f.arch.write(p, lines)
	}
	if len(p) == 0 {
		return 0, nil
	}
	out, m, err := compressMember(p, f.compressed, f.level)
	if err != nil {
		return 0, f.fail(fmt.Errorf("write data file %s: compress: %w", f.name, err))
	}
	if m != nil {
		defer putMember(m)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done {
		return 0, fmt.Errorf("write data file %s: already closed", f.name)
	}
	if f.err != nil {
		return 0, f.err
	}
	n, err := f.disk.Write(out)
	if err == nil && n < len(out) {
		err = io.ErrShortWrite
	}
	if err != nil {
		// part of a member or batch may be on disk: the file is unusable
		f.err = fmt.Errorf("write data file %s: %w", f.name, err)
		return 0, f.err
	}
	f.members++
	f.raw += int64(len(p))
	f.lines += lines
	f.last = p[len(p)-1]
	return len(p), nil
}

// fail records err as the file's error (the first one wins) and returns it.
func (f *DataFileWriter) fail(err error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
	return f.err
}

// Commit flushes, fsyncs and renames the file to its final name, records it
// for the manifest and returns its entry.
//
// In an archive the file's last part is written; its entry is the zero value (each part
// has its own, in the manifest).
func (f *DataFileWriter) Commit() (ManifestFile, error) {
	if f.arch != nil {
		return ManifestFile{}, f.arch.commit()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done {
		return ManifestFile{}, fmt.Errorf("commit data file %s: already closed", f.name)
	}
	err := f.err
	if err == nil && f.raw > 0 && f.last != '\n' {
		// A last line without newline still counts as a document.
		f.lines++
	}
	if err == nil && f.compressed && f.members == 0 {
		// an empty gzip member, so that the file is valid gzip holding nothing (as pgzip's
		// Close writes it for a stream without data)
		var m *gzipMember
		if m, err = getMember(f.level); err == nil {
			if err = m.compress(nil); err == nil {
				_, err = f.disk.Write(m.buf.Bytes())
			}
			putMember(m)
		}
	}
	if err == nil {
		err = f.obj.Commit() // fsynced and renamed into place, or the upload completed
	} else {
		_ = f.obj.Abort()
	}
	final := f.w.store.Path(f.name)
	f.done = true
	if err != nil {
		f.w.release(f.name)
		return ManifestFile{}, fmt.Errorf("commit data file %s: %w", final, err)
	}
	mf := ManifestFile{
		Name:             f.name,
		Collection:       f.collection,
		Part:             f.part,
		Compressed:       f.compressed,
		Size:             f.disk.n,
		UncompressedSize: f.raw,
		Documents:        f.lines,
		SHA256:           hex.EncodeToString(f.hash.Sum(nil)),
		Shard:            f.shard,
		Run:              f.run,
	}
	f.w.mu.Lock()
	f.w.files = append(f.w.files, mf)
	f.w.pending--
	f.w.mu.Unlock()
	if err := f.w.writeManifest(false); err != nil {
		return mf, fmt.Errorf("commit data file %s: %w", final, err)
	}
	return mf, nil
}

// Abort removes the temporary file. It does nothing after Commit or a
// previous Abort.
func (f *DataFileWriter) Abort() error {
	if f.arch != nil {
		f.arch.abort()
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done {
		return nil
	}
	f.done = true
	f.w.release(f.name)
	if err := f.obj.Abort(); err != nil {
		return fmt.Errorf("abort data file %s: %w", f.name, err)
	}
	return nil
}
