package format

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLineReader: Next and ReadBatch agree on arbitrary file content: the
// same non-blank lines in the same order, or an error at the same line.
func FuzzLineReader(f *testing.F) {
	f.Add([]byte("{\"_key\":\"a\"}\n{\"_key\":\"b\"}"), uint16(10))
	f.Add([]byte("\n\n{\"type\":2302,\"key\":\"x\"}\r\n  \n{\"a\":[1,2]}\n"), uint16(1))
	f.Add([]byte("{\"_key\":\"a\"}\n{bad\n"), uint16(100))
	f.Add([]byte(""), uint16(5))
	f.Fuzz(func(t *testing.T, content []byte, size uint16) {
		p := filepath.Join(t.TempDir(), "c.data.json")
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
		files := []DataFile{{Path: p, Name: "c.data.json", Part: -1}}
		r, _ := OpenDataFiles(files)
		var lines [][]byte
		for r.Next() {
			lines = append(lines, append([]byte(nil), r.Line().Raw...))
		}
		nextErr := r.Err()
		r.Close()

		r, _ = OpenDataFiles(files)
		var batchLines [][]byte
		var batchErr error
		total := 0
		for {
			b, err := r.ReadBatch(int(size))
			if err == io.EOF {
				break
			}
			if err != nil {
				batchErr = err
				break
			}
			if len(b.Data) == 0 || b.Data[len(b.Data)-1] != '\n' {
				t.Fatalf("batch does not end with a newline: %q", b.Data)
			}
			n := 0
			for _, l := range bytes.SplitAfter(b.Data[:len(b.Data)-1], []byte("\n")) {
				l = bytes.TrimSuffix(l, []byte("\n"))
				if !isBlank(l) {
					batchLines = append(batchLines, append([]byte(nil), l...))
					n++
				}
			}
			if n != b.Lines || b.Inserts+b.Removes != b.Lines {
				t.Fatalf("batch counts %d/%d/%d, lines %d", b.Lines, b.Inserts, b.Removes, n)
			}
			total += b.Lines
		}
		r.Close()
		if (nextErr == nil) != (batchErr == nil) {
			t.Fatalf("Next err %v, ReadBatch err %v", nextErr, batchErr)
		}
		if nextErr != nil {
			var a, b *Error
			if !errors.As(nextErr, &a) || !errors.As(batchErr, &b) || a.Line != b.Line || a.File != p || b.File != p {
				t.Fatalf("errors differ: %v / %v", nextErr, batchErr)
			}
			return
		}
		if len(lines) != len(batchLines) {
			t.Fatalf("Next %d lines, ReadBatch %d", len(lines), len(batchLines))
		}
		for i := range lines {
			if !bytes.Equal(lines[i], batchLines[i]) {
				t.Fatalf("line %d: %q vs %q", i, lines[i], batchLines[i])
			}
		}

		// ReadBatch with Detach after every batch.
		if got := readDetached(t, files, int(size)); !bytes.Equal(got, joinLines(batchLines)) {
			t.Fatalf("detached batches hold %q, want %q", got, joinLines(batchLines))
		}
	})
}

// readDetached reads files with ReadBatch, detaching every batch's buffer as a restore does:
// the batch's Data is used (here: its non-blank lines appended to the result) only after two
// more batches were read, and its buffer is given to the reader again only after that. It
// returns the non-blank lines, each ending with a newline.
func readDetached(t *testing.T, files []DataFile, size int) []byte {
	t.Helper()
	r, _ := OpenDataFiles(files)
	defer r.Close()
	type held struct{ data, buf []byte }
	var queue []held
	var free [][]byte
	var out []byte
	use := func(h held) {
		for _, l := range bytes.SplitAfter(h.data, []byte("\n")) {
			if l := bytes.TrimSuffix(l, []byte("\n")); !isBlank(l) {
				out = append(append(out, l...), '\n')
			}
		}
		free = append(free, h.buf)
	}
	for {
		b, err := r.ReadBatch(size)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("ReadBatch with Detach: %v", err)
		}
		var buf []byte
		if len(free) > 0 {
			buf, free = free[0], free[1:]
		}
		queue = append(queue, held{b.Data, r.Detach(buf)})
		if len(queue) > 2 {
			use(queue[0])
			queue = queue[1:]
		}
	}
	for _, h := range queue {
		use(h)
	}
	return out
}

func joinLines(lines [][]byte) []byte {
	var out []byte
	for _, l := range lines {
		out = append(append(out, l...), '\n')
	}
	return out
}
