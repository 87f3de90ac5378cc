package format

// A dump as one stream (godump --archive): a POSIX tar (pax) stream of the directory layout
// of a dump with split data files, so that `tar -x` gives a directory that arangorestore and
// gorestore --input-directory restore, and gorestore --archive restores while reading. The
// layout and its guarantees are in SPEC.md §11.

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ArchiveMarkerName is the first and the last entry of an archive: at the start with
// "complete": false, at the end with "complete": true and every entry before it. A stream
// without the second one was cut short. tar -x keeps the last.
const ArchiveMarkerName = "godump-archive.json"

// ArchiveFormat is the version of the archive layout written.
const ArchiveFormat = 1

// ArchiveMarker is the content of godump-archive.json.
type ArchiveMarker struct {
	Format      int       `json:"format"`
	Tool        string    `json:"tool"`
	ToolVersion string    `json:"toolVersion"`
	StartedAt   time.Time `json:"startedAt"`
	// Ordered: the entries follow SPEC.md §11's order (metadata of a database before its
	// data, _analyzers' data first and _users' last), which restoring while reading needs.
	Ordered  bool `json:"ordered"`
	Complete bool `json:"complete"`
	// The end marker: the databases (name and directory, "" for a single database at the
	// top) and every entry before it with its size and SHA-256.
	FinishedAt time.Time         `json:"finishedAt,omitzero"`
	Databases  []ArchiveDatabase `json:"databases,omitempty"`
	Entries    []ArchiveEntry    `json:"entries,omitempty"`
}

// ArchiveDatabase is one database of an archive.
type ArchiveDatabase struct {
	Name      string `json:"name"`
	Directory string `json:"directory"`
}

// ArchiveEntry is one entry of an archive.
type ArchiveEntry struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Entry budget: a data file of an archive is written as split parts, each one tar entry
// buffered whole in memory (a tar header holds its size). A part is written out when it
// holds chunkTarget bytes, or earlier when the parts being filled hold more than the
// archive's budget together (the part that made it so goes out), so that memory is bounded
// however many files are open.
const (
	archiveChunkTarget = 8 << 20
	archiveBudget      = 64 << 20
)

// ArchiveWriter writes the tar stream. Its methods are safe for concurrent use; entries are
// written whole, one at a time.
type ArchiveWriter struct {
	mu       sync.Mutex
	tw       *tar.Writer
	out      *countWriter
	entries  []ArchiveEntry
	names    map[string]bool
	dbs      []ArchiveDatabase
	started  time.Time
	tool     string
	version  string
	err      error
	closed   bool
	buffered int64 // bytes held by parts being filled (under mu)

	chunkTarget, budget int64
	// ModTime of every entry (zero: the start time).
	modTime time.Time
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// NewArchiveWriter starts an archive on w: its first entry is the start marker.
func NewArchiveWriter(w io.Writer, tool, version string) (*ArchiveWriter, error) {
	now := time.Now().UTC()
	cw := &countWriter{w: w}
	a := &ArchiveWriter{tw: tar.NewWriter(cw), out: cw, names: map[string]bool{}, started: now, tool: tool, version: version,
		chunkTarget: archiveChunkTarget, budget: archiveBudget, modTime: now.Truncate(time.Second)}
	b, err := json.MarshalIndent(ArchiveMarker{Format: ArchiveFormat, Tool: tool, ToolVersion: version, StartedAt: now, Ordered: true}, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := a.writeEntry(ArchiveMarkerName, append(b, '\n'), ""); err != nil {
		return nil, err
	}
	return a, nil
}

// Written is the number of bytes of the stream written so far.
func (a *ArchiveWriter) Written() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.out.n
}

// writeEntry writes one entry; comment goes into its pax header (data entries carry their
// SHA-256 and counts there, so that a reader checks each before using it).
func (a *ArchiveWriter) writeEntry(name string, data []byte, comment string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.writeEntryLocked(name, data, comment, "")
}

// writeEntryLocked writes an entry; sum is its SHA-256 when the caller has it (a data part's,
// computed for its header), else "".
func (a *ArchiveWriter) writeEntryLocked(name string, data []byte, comment, sum string) error {
	if a.err != nil {
		return a.err
	}
	if a.closed {
		return errors.New("archive already closed")
	}
	if a.names[name] && name != ArchiveMarkerName {
		return fmt.Errorf("write archive entry %s: already written", name)
	}
	if sum == "" {
		h := sha256.Sum256(data)
		sum = hex.EncodeToString(h[:])
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(FileMode), Size: int64(len(data)),
		ModTime: a.modTime, Format: tar.FormatPAX}
	if comment != "" {
		hdr.PAXRecords = map[string]string{"comment": comment}
	}
	err := a.tw.WriteHeader(hdr)
	if err == nil {
		_, err = a.tw.Write(data)
	}
	if err == nil {
		err = a.tw.Flush()
	}
	if err != nil {
		a.err = fmt.Errorf("write archive entry %s: %w", name, err)
		return a.err
	}
	a.names[name] = true
	a.entries = append(a.entries, ArchiveEntry{Name: name, Size: int64(len(data)), SHA256: sum})
	return nil
}

// AddDatabase records a database of the archive (for the end marker); dir is its directory
// inside the archive, "" for the single database of a dump at the top.
func (a *ArchiveWriter) AddDatabase(name, dir string) {
	a.mu.Lock()
	a.dbs = append(a.dbs, ArchiveDatabase{Name: name, Directory: dir})
	a.mu.Unlock()
}

// Close writes the end marker (every entry with its size and SHA-256) and the end of the
// tar stream. Without it the archive reads as cut short.
func (a *ArchiveWriter) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return a.err
	}
	m := ArchiveMarker{Format: ArchiveFormat, Tool: a.tool, ToolVersion: a.version, StartedAt: a.started, Ordered: true,
		Complete: true, FinishedAt: time.Now().UTC(), Databases: a.dbs, Entries: a.entries}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := a.writeEntryLocked(ArchiveMarkerName, append(b, '\n'), "", ""); err != nil {
		return err
	}
	a.closed = true
	if err := a.tw.Close(); err != nil {
		a.err = fmt.Errorf("close archive: %w", err)
		return a.err
	}
	return nil
}

// dataComment is the pax comment of a data entry.
func dataComment(mf ManifestFile) string {
	return fmt.Sprintf("godump sha256=%s documents=%d uncompressed=%d", mf.SHA256, mf.Documents, mf.UncompressedSize)
}

// ParseDataComment reads the pax comment of a data entry (ok false when it has none).
func ParseDataComment(c string) (sha string, documents, uncompressed int64, ok bool) {
	f := strings.Fields(c)
	if len(f) != 4 || f[0] != "godump" {
		return "", 0, 0, false
	}
	var err1, err2 error
	for _, kv := range f[1:] {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "sha256":
			sha = v
		case "documents":
			documents, err1 = strconv.ParseInt(v, 10, 64)
		case "uncompressed":
			uncompressed, err2 = strconv.ParseInt(v, 10, 64)
		}
	}
	return sha, documents, uncompressed, len(sha) == 64 && err1 == nil && err2 == nil && documents >= 0 && uncompressed >= 0
}

// NewArchiveDatabase returns a Writer that writes one database's dump into the archive,
// under dir ("" for the top). Its data files are written with CreateDataFile as split parts
// (SPEC.md §11); the manifest is written once, by Finish.
func NewArchiveDatabase(a *ArchiveWriter, dir string, opts WriterOptions) (*Writer, error) {
	if dir != "" && (!safeFileStem(dir) || path.Clean(dir) != dir) {
		return nil, fmt.Errorf("archive database directory %q: %w", dir, ErrUnsafeName)
	}
	if opts.Tool == "" {
		opts.Tool = "godump"
	}
	if opts.StartedAt.IsZero() {
		opts.StartedAt = time.Now()
	}
	a.AddDatabase(opts.Database, dir)
	return &Writer{dir: dir, opts: opts, ids: map[string]string{}, names: map[string]bool{},
		runs: []ManifestRun{{Run: 1, StartedAt: runTime(opts)}}, archive: a, parts: map[string]int{}}, nil
}

// entryName is the name of a database file inside the archive.
func (w *Writer) entryName(name string) string {
	if w.dir == "" {
		return name
	}
	return w.dir + "/" + name
}

// archiveFile is a data file of an archive: its current part is filled in memory and
// written as one entry when full, at Commit, or when the archive's budget is exceeded.
type archiveFile struct {
	w          *Writer
	collection string
	compressed bool
	level      int

	mu    sync.Mutex
	buf   bytes.Buffer
	raw   int64 // uncompressed bytes of the part being filled
	lines int64
	last  byte
	err   error
	done  bool
}

// write appends whole lines (compressed as one gzip member when compressed).
func (f *archiveFile) write(p []byte, lines int64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	out, m, err := compressMember(p, f.compressed, f.level)
	if err != nil {
		return 0, f.fail(fmt.Errorf("write data of %s: compress: %w", f.collection, err))
	}
	if m != nil {
		defer putMember(m)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done {
		return 0, fmt.Errorf("write data of %s: already closed", f.collection)
	}
	if f.err != nil {
		return 0, f.err
	}
	a := f.w.archive
	f.buf.Write(out)
	f.raw += int64(len(p))
	f.lines += lines
	f.last = p[len(p)-1]
	a.mu.Lock()
	a.buffered += int64(len(out))
	over := a.buffered > a.budget
	a.mu.Unlock()
	if int64(f.buf.Len()) >= a.chunkTarget || over {
		if err := f.flushLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (f *archiveFile) fail(err error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
	return f.err
}

// flushLocked writes the part being filled as the collection's next split file.
func (f *archiveFile) flushLocked() error {
	if f.buf.Len() == 0 {
		return nil
	}
	if f.last != '\n' {
		f.lines++ // a last line without newline still counts
	}
	w, a := f.w, f.w.archive
	data := f.buf.Bytes()
	sum := sha256.Sum256(data)
	// the part number is taken under the archive's lock, so that the parts of a collection
	// follow each other in the stream in the order of their numbers
	a.mu.Lock()
	w.mu.Lock()
	part := w.parts[f.collection]
	name := DataFileName(f.collection, w.ids[f.collection], part, f.compressed, false)
	w.mu.Unlock()
	mf := ManifestFile{Name: name, Collection: f.collection, Part: part, Compressed: f.compressed, Size: int64(len(data)),
		UncompressedSize: f.raw, Documents: f.lines, SHA256: hex.EncodeToString(sum[:]), Run: 1}
	err := a.writeEntryLocked(w.entryName(name), data, dataComment(mf), mf.SHA256)
	a.buffered -= int64(len(data))
	a.mu.Unlock()
	if err != nil {
		f.err = err
		return err
	}
	w.mu.Lock()
	w.parts[f.collection] = part + 1
	w.files = append(w.files, mf)
	w.mu.Unlock()
	f.buf.Reset()
	f.raw, f.lines = 0, 0
	return nil
}

// commit writes the last part. A collection without data has no part (as arangodump
// --split-files writes none).
func (f *archiveFile) commit() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done {
		return fmt.Errorf("commit data of %s: already closed", f.collection)
	}
	err := f.err
	if err == nil {
		err = f.flushLocked()
	}
	f.done = true
	f.w.mu.Lock()
	f.w.pending--
	f.w.mu.Unlock()
	return err
}

// abort drops the part being filled. Parts already in the stream stay there: the archive
// is then unusable, and the dump fails (an archive is never continued).
func (f *archiveFile) abort() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done {
		return
	}
	f.done = true
	a := f.w.archive
	a.mu.Lock()
	a.buffered -= int64(f.buf.Len())
	a.mu.Unlock()
	f.buf.Reset()
	f.w.mu.Lock()
	f.w.pending--
	f.w.mu.Unlock()
}
