package format

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxArchiveEntry bounds the memory one entry of an archive may take: godump writes data
// parts of about 8 MiB (one server batch more at most, and batches are at most 96 MiB).
const MaxArchiveEntry = 256 << 20

// ErrArchive: the stream is not a godump archive, or breaks its rules (SPEC.md §11).
var ErrArchive = errors.New("not a valid godump archive")

// ArchiveReader reads an archive entry by entry, checking each against the SHA-256 its
// header carries before handing it out, and, at the end, every entry against the end
// marker. A stream that ends before the end marker is ErrIncomplete.
type ArchiveReader struct {
	tr    *tar.Reader
	name  string // the archive, for messages
	start *ArchiveMarker
	seen  []ArchiveEntry
	done  bool
	end   *ArchiveMarker
}

// ArchiveItem is one entry of an archive.
type ArchiveItem struct {
	Name string // the entry's name: Dir/Base, or Base at the top
	Dir  string // the database directory ("" at the top)
	Base string
	Data []byte
	// IsData: a data file (split part). Its documents and uncompressed size come from its
	// header; its SHA-256 was checked.
	IsData       bool
	Documents    int64
	Uncompressed int64
	SHA256       string
}

// NewArchiveReader reads the start marker of the archive on r; name names it in errors.
func NewArchiveReader(r io.Reader, name string) (*ArchiveReader, error) {
	a := &ArchiveReader{tr: tar.NewReader(r), name: name}
	it, err := a.next()
	if errors.Is(err, io.EOF) {
		return nil, a.errorf(ErrIncomplete, "the stream is empty")
	}
	if err != nil {
		return nil, err
	}
	if it.Name != ArchiveMarkerName {
		return nil, a.errorf(ErrArchive, "its first entry is %q, not %s: it was not written by godump --archive (a tar of a dump directory: extract it with tar -x and restore the directory with --input-directory)", truncate(it.Name, 80), ArchiveMarkerName)
	}
	var m ArchiveMarker
	if err := json.Unmarshal(it.Data, &m); err != nil {
		return nil, a.errorf(ErrArchive, "%s: %v", ArchiveMarkerName, err)
	}
	if m.Format < 1 || m.Format > ArchiveFormat {
		return nil, a.errorf(ErrArchive, "unsupported archive format %d (this gorestore reads up to %d)", m.Format, ArchiveFormat)
	}
	if !m.Ordered || m.Complete {
		return nil, a.errorf(ErrArchive, "%s at the start must say ordered and not complete", ArchiveMarkerName)
	}
	a.start = &m
	return a, nil
}

// Start is the start marker.
func (a *ArchiveReader) Start() *ArchiveMarker { return a.start }

// End is the end marker, once Next returned io.EOF.
func (a *ArchiveReader) End() *ArchiveMarker { return a.end }

// Entries returns how many entries were read (the start marker included).
func (a *ArchiveReader) Entries() int { return len(a.seen) }

func (a *ArchiveReader) errorf(kind error, format string, args ...any) error {
	return &Error{File: a.name, Err: fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...))}
}

// next reads the next entry whole and checks its name and, for data, its SHA-256.
func (a *ArchiveReader) next() (*ArchiveItem, error) {
	for {
		hdr, err := a.tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		if err != nil {
			return nil, a.cut(err)
		}
		switch hdr.Typeflag {
		case tar.TypeReg:
		case tar.TypeDir:
			continue // tar -c of a directory writes them; godump writes none
		default:
			return nil, a.errorf(ErrArchive, "entry %q is not a regular file (type %q): refused", truncate(hdr.Name, 80), hdr.Typeflag)
		}
		it := &ArchiveItem{Name: hdr.Name}
		dir, base, nested := strings.Cut(hdr.Name, "/")
		if !nested {
			dir, base = "", hdr.Name
		}
		if !safeFileStem(base) || dir != "" && !safeFileStem(dir) || strings.Contains(base, "/") {
			return nil, a.errorf(ErrUnsafeName, "entry %q", truncate(hdr.Name, 80))
		}
		it.Dir, it.Base = dir, base
		if hdr.Size < 0 || hdr.Size > MaxArchiveEntry {
			return nil, a.errorf(ErrArchive, "entry %s is %d bytes, more than the %d an entry may have", hdr.Name, hdr.Size, MaxArchiveEntry)
		}
		data := make([]byte, hdr.Size)
		if _, err := io.ReadFull(a.tr, data); err != nil {
			return nil, a.cut(fmt.Errorf("entry %s: %w", hdr.Name, err))
		}
		it.Data = data
		sum := sha256.Sum256(data)
		a.seen = append(a.seen, ArchiveEntry{Name: hdr.Name, Size: hdr.Size, SHA256: hex.EncodeToString(sum[:])})
		if isDataFileName(base) {
			sha, docs, raw, ok := ParseDataComment(hdr.PAXRecords["comment"])
			if !ok {
				return nil, a.errorf(ErrArchive, "data entry %s has no godump checksum in its header", hdr.Name)
			}
			if sha != a.seen[len(a.seen)-1].SHA256 {
				return nil, &Error{File: a.name + ": " + hdr.Name, Err: fmt.Errorf("%w: SHA-256 %s, its header says %s", ErrChecksum, a.seen[len(a.seen)-1].SHA256, sha)}
			}
			it.IsData, it.Documents, it.Uncompressed, it.SHA256 = true, docs, raw, sha
		}
		return it, nil
	}
}

// cut wraps a read error: a stream that stops in the middle is incomplete.
func (a *ArchiveReader) cut(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &Error{File: a.name, Err: fmt.Errorf("%w: the archive ends in the middle of an entry (cut short?) after %d entries: %v", ErrIncomplete, len(a.seen), err)}
	}
	if errors.Is(err, tar.ErrHeader) || errors.Is(err, tar.ErrFieldTooLong) || errors.Is(err, tar.ErrInsecurePath) {
		return a.errorf(ErrArchive, "after %d entries: %v", len(a.seen), err)
	}
	return &Error{File: a.name, Err: fmt.Errorf("read archive after %d entries: %w", len(a.seen), err)}
}

// Next returns the next entry. After the end marker, checked against every entry read, it
// returns io.EOF; a stream that ends before it returns ErrIncomplete.
func (a *ArchiveReader) Next() (*ArchiveItem, error) {
	if a.done {
		return nil, io.EOF
	}
	it, err := a.next()
	if errors.Is(err, io.EOF) {
		return nil, &Error{File: a.name, Err: fmt.Errorf("%w: the archive ends after %d entries without its end marker (%s): it was cut short, or godump did not finish it", ErrIncomplete, len(a.seen), ArchiveMarkerName)}
	}
	if err != nil {
		return nil, err
	}
	if it.Name != ArchiveMarkerName {
		return it, nil
	}
	var m ArchiveMarker
	if err := json.Unmarshal(it.Data, &m); err != nil || !m.Complete {
		return nil, a.errorf(ErrArchive, "the second %s is not a complete end marker", ArchiveMarkerName)
	}
	seen := a.seen[:len(a.seen)-1]
	if len(m.Entries) != len(seen) {
		return nil, a.errorf(ErrChecksum, "the end marker lists %d entries, the archive holds %d", len(m.Entries), len(seen))
	}
	for i, e := range m.Entries {
		if e != seen[i] {
			return nil, a.errorf(ErrChecksum, "entry %d is %s (%d bytes, SHA-256 %s), the end marker says %s (%d bytes, SHA-256 %s)", i, seen[i].Name, seen[i].Size, seen[i].SHA256, e.Name, e.Size, e.SHA256)
		}
	}
	// nothing may follow
	if extra, err := a.next(); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		return nil, a.errorf(ErrArchive, "entry %q after the end marker", truncate(extra.Name, 80))
	}
	a.done, a.end = true, &m
	return nil, io.EOF
}

// DataFileOf returns the data file an entry holds, readable from memory.
func (it *ArchiveItem) DataFileOf(archive string) DataFile {
	data := it.Data
	return DataFile{Name: it.Base, Path: archive + ": " + it.Name, Compressed: strings.HasSuffix(it.Base, ".gz"),
		VPack: strings.HasSuffix(strings.TrimSuffix(it.Base, ".gz"), ".vpack"), Size: int64(len(data)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
}
