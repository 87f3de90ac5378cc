package format

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/pgzip"
)

// LineReader streams the lines of a collection's data files in order,
// classifying and validating each without decoding documents. Memory is
// bounded by the read buffer (64 KiB to 2 MiB by file size, grown to hold
// the longest line or the requested batch size) plus pgzip's read-ahead. It
// is not safe for concurrent use.
type LineReader struct {
	files []DataFile
	fi    int // index of the open file, -1 before the first
	f     io.ReadCloser
	zr    *pgzip.Reader
	src   io.Reader

	buf        []byte
	start, end int   // unread bytes are buf[start:end]
	srcEOF     bool  // src has no more bytes
	off        int64 // uncompressed offset of buf[start] in the file
	lineNo     int   // lines consumed from the current file
	expect     int64 // guess of the current file's uncompressed size

	cur Line
	err error
}

const (
	readChunk = 1 << 20  // largest single read
	minBuffer = 64 << 10 // first buffer size
)

// OpenData returns a reader over all the collection's data files in order.
// A collection without data files yields no lines.
func (c *Collection) OpenData() (*LineReader, error) {
	return OpenDataFiles(c.DataFiles)
}

// OpenDataFiles returns a reader over the given files in order. Files are
// opened one at a time as reading reaches them; a missing file is reported
// then.
func OpenDataFiles(files []DataFile) (*LineReader, error) {
	return &LineReader{files: files, fi: -1, buf: make([]byte, minBuffer)}, nil
}

// openNext closes the current file and opens the next; io.EOF when none is
// left.
func (r *LineReader) openNext() error {
	r.closeFile()
	r.fi++
	if r.fi >= len(r.files) {
		return io.EOF
	}
	df := r.files[r.fi]
	var f io.ReadCloser
	size := int64(-1)
	if df.Open != nil {
		rc, err := df.Open()
		if err != nil {
			return &Error{File: df.Path, Err: err}
		}
		f, size = rc, df.Size
	} else {
		of, err := os.Open(df.Path)
		if err != nil {
			return &Error{File: df.Path, Err: err}
		}
		f = of
		if st, err := of.Stat(); err == nil {
			size = st.Size()
		}
	}
	r.f = f
	r.start, r.end, r.off, r.lineNo, r.srcEOF = 0, 0, 0, 0, false
	// Size the buffer by the file: small files keep a small one; big ones
	// read readChunk at a time.
	r.expect = readChunk
	if size >= 0 {
		r.expect = size + 1
		if df.Compressed {
			r.expect *= 4
		}
		if r.expect > int64(len(r.buf)) {
			r.buf = make([]byte, min(r.expect, 2*readChunk))
		}
	}
	var src io.Reader = f
	if df.Compressed {
		zr, err := pgzip.NewReader(f)
		if err != nil {
			if errors.Is(err, io.EOF) { // zero-length file: no data
				r.srcEOF = true
				r.src = f
				return nil
			}
			return &Error{File: df.Path, Line: 1, Err: fmt.Errorf("%w: %v", ErrCorrupt, err)}
		}
		r.zr = zr
		src = zr
	}
	if df.VPack {
		src = newVPackJSON(src)
	}
	r.src = src
	return nil
}

func (r *LineReader) closeFile() error {
	var err error
	if r.zr != nil {
		r.zr.Close()
		r.zr = nil
	}
	if r.f != nil {
		err = r.f.Close()
		r.f = nil
	}
	r.src = nil
	return err
}

func (r *LineReader) fileName() string {
	if r.fi >= 0 && r.fi < len(r.files) {
		return r.files[r.fi].Path
	}
	return ""
}

// more reads up to readChunk more bytes into the buffer (small reads keep
// the bytes in cache while they are validated). To make room it may move the
// unread bytes buf[start:end] to the front, returning how far they moved,
// and grow the buffer. It returns ok=false at the end of the source
// (r.srcEOF) or on error (r.err).
func (r *LineReader) more() (shift int, ok bool) {
	if r.srcEOF {
		return 0, false
	}
	if r.end+readChunk > len(r.buf) && r.start > 0 {
		shift = r.start
		n := copy(r.buf, r.buf[r.start:r.end])
		r.start, r.end = 0, n
	}
	// Grow when less than half the buffer is free (long lines, big
	// batches).
	if free := len(r.buf) - r.end; free < readChunk && 2*free < len(r.buf) {
		nb := make([]byte, max(2*len(r.buf), r.end+minBuffer))
		copy(nb, r.buf[:r.end])
		r.buf = nb
	}
	limit := min(len(r.buf), r.end+readChunk)
	for {
		n, err := r.src.Read(r.buf[r.end:limit])
		r.end += n
		if err == io.EOF {
			r.srcEOF = true
			return shift, n > 0
		}
		if err != nil {
			var fe *Error
			if errors.As(err, &fe) {
				r.err = err
			} else {
				e := err
				if df := r.files[r.fi]; df.Compressed || df.VPack {
					e = fmt.Errorf("%w: %v", ErrCorrupt, err)
				}
				// The first line not delivered intact.
				line := r.lineNo + 1 + bytes.Count(r.buf[r.start:r.end], []byte{'\n'})
				r.err = &Error{File: r.fileName(), Line: line, Err: e}
			}
			return shift, false
		}
		if n > 0 {
			return shift, true
		}
	}
}

// rawLine returns the next line of the current file (without '\n'), or
// ok=false at the end of the file or on error.
func (r *LineReader) rawLine() (line []byte, ok bool) {
	scanFrom := r.start
	for {
		if i := bytes.IndexByte(r.buf[scanFrom:r.end], '\n'); i >= 0 {
			nl := scanFrom + i
			line = r.buf[r.start:nl]
			r.off += int64(nl + 1 - r.start)
			r.start = nl + 1
			r.lineNo++
			return line, true
		}
		if r.end-r.start > MaxLineSize {
			r.err = &Error{File: r.fileName(), Line: r.lineNo + 1, Err: ErrLineTooLong}
			return nil, false
		}
		scanFrom = r.end
		shift, ok := r.more()
		scanFrom -= shift
		if !ok {
			if r.err != nil {
				return nil, false
			}
			if r.end > r.start { // last line without newline
				line = r.buf[r.start:r.end]
				r.off += int64(r.end - r.start)
				r.start = r.end
				r.lineNo++
				return line, true
			}
			return nil, false
		}
	}
}

// isBlank reports whether a line holds only whitespace (skipped, like the
// server does).
func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

// Next advances to the next non-empty line. It returns false at the end or
// on error (see Err).
func (r *LineReader) Next() bool {
	if r.err != nil {
		return false
	}
	for {
		if r.src == nil {
			if err := r.openNext(); err != nil {
				if err != io.EOF {
					r.err = err
				}
				return false
			}
		}
		line, ok := r.rawLine()
		if !ok {
			if r.err != nil {
				return false
			}
			r.closeFile()
			continue
		}
		if isBlank(line) {
			continue
		}
		l, err := Classify(line)
		if err != nil {
			r.err = &Error{File: r.fileName(), Line: r.lineNo, Err: err}
			return false
		}
		l.File = r.fileName()
		l.Number = r.lineNo
		r.cur = l
		return true
	}
}

// Line returns the current line; valid until the next Next or ReadBatch.
func (r *LineReader) Line() Line { return r.cur }

// Err returns the first error met, nil at a clean end. Errors about the data
// are *Error with file and line.
func (r *LineReader) Err() error { return r.err }

// Close releases the open file.
func (r *LineReader) Close() error {
	r.fi = len(r.files)
	return r.closeFile()
}

// Detach hands over the buffer that holds the Data of the batch ReadBatch returned last, so
// that the caller may keep that Data past the next ReadBatch (send it while the next batch is
// read) without copying it. The reader continues in buf, or in a new buffer when buf is
// shorter than the old one, and copies there only the bytes it had read beyond that batch.
// It returns the old buffer, which the reader never touches again: once done with the
// batch's Data the caller may pass it to a later Detach.
func (r *LineReader) Detach(buf []byte) (old []byte) {
	old = r.buf
	nb := buf[:cap(buf)]
	if len(nb) < len(old) {
		nb = make([]byte, len(old))
	}
	r.end = copy(nb, old[r.start:r.end])
	r.start = 0
	r.buf = nb
	return old
}

// ReadBatch returns complete, validated lines of one file totalling at most
// maxBytes (but at least one line, however long). A batch never spans two
// files, and its boundaries depend only on the file's content and maxBytes
// (a resumed restore sees the same batches). At the end it returns io.EOF
// with an empty batch; errors are *Error with file and line. Do not mix with
// Next on one reader.
func (r *LineReader) ReadBatch(maxBytes int) (Batch, error) {
	if maxBytes < 1 {
		maxBytes = 1
	}
	for {
		if r.err != nil {
			return Batch{}, r.err
		}
		if r.src == nil {
			if err := r.openNext(); err != nil {
				if err != io.EOF {
					r.err = err
				}
				return Batch{}, err
			}
		}
		// Room for a whole batch at once (bounded by the file's size) saves
		// growing the buffer step by step.
		if want := int(min(r.expect, int64(maxBytes)+2*readChunk)); len(r.buf) < want && !r.srcEOF {
			nb := make([]byte, want)
			r.end = copy(nb, r.buf[r.start:r.end])
			r.start = 0
			r.buf = nb
		}
		b := Batch{File: r.fileName(), FileIndex: r.fi, FirstLine: r.lineNo + 1, Offset: r.off}
		pos, lineNo := r.start, r.lineNo
		full := false
		for {
			for pos < r.end {
				var lineEnd, next int
				if i := bytes.IndexByte(r.buf[pos:r.end], '\n'); i >= 0 {
					lineEnd, next = pos+i, pos+i+1
				} else if r.srcEOF {
					lineEnd, next = r.end, r.end
				} else {
					break // incomplete line: needs more data
				}
				if next-r.start > maxBytes && b.Lines > 0 {
					full = true
					break
				}
				lineNo++
				line := r.buf[pos:lineEnd]
				pos = next
				if !isBlank(line) {
					l, err := Classify(line)
					if err != nil {
						r.err = &Error{File: r.fileName(), Line: lineNo, Err: err}
						return Batch{}, r.err
					}
					b.Lines++
					if l.Kind == KindRemove {
						b.Removes++
					} else {
						b.Inserts++
					}
				}
				if next-r.start >= maxBytes {
					full = true
					break
				}
			}
			if full || r.srcEOF {
				break
			}
			if r.end-pos > MaxLineSize {
				r.err = &Error{File: r.fileName(), Line: lineNo + 1, Err: ErrLineTooLong}
				return Batch{}, r.err
			}
			shift, ok := r.more()
			pos -= shift
			if !ok && r.err != nil {
				return Batch{}, r.err
			}
		}
		if pos == r.start { // end of this file
			r.closeFile()
			continue
		}
		data := r.buf[r.start:pos]
		if data[len(data)-1] != '\n' {
			// Final line without newline: add one in place.
			if pos < len(r.buf) {
				r.buf[pos] = '\n'
				data = r.buf[r.start : pos+1]
			} else {
				data = append(data[:len(data):len(data)], '\n')
			}
		}
		r.off += int64(pos - r.start)
		r.start = pos
		r.lineNo = lineNo
		if b.Lines == 0 {
			continue // only blank lines
		}
		b.Data = data
		return b, nil
	}
}
