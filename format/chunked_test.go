package format

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

type recordingWriter struct {
	buf   bytes.Buffer
	calls []int
	short int // at this call, write one byte less
}

func (r *recordingWriter) Write(p []byte) (int, error) {
	r.calls = append(r.calls, len(p))
	if r.short > 0 && len(r.calls) == r.short {
		r.buf.Write(p[:len(p)-1])
		return len(p) - 1, nil
	}
	return r.buf.Write(p)
}

// TestWriteChunked: a large write reaches the file in pieces of at most writeChunk, every
// byte in order; a short write is an error, not a silent loss.
func TestWriteChunked(t *testing.T) {
	p := bytes.Repeat([]byte("0123456789abcdef"), (3*writeChunk+1000)/16)
	var w recordingWriter
	n, err := writeChunked(&w, p)
	if err != nil || n != len(p) || !bytes.Equal(w.buf.Bytes(), p) {
		t.Fatalf("n %d err %v, equal %v", n, err, bytes.Equal(w.buf.Bytes(), p))
	}
	if len(w.calls) != 4 {
		t.Errorf("%d calls %v, want 4", len(w.calls), w.calls)
	}
	for _, c := range w.calls {
		if c > writeChunk {
			t.Errorf("a call of %d bytes", c)
		}
	}
	short := recordingWriter{short: 2}
	if _, err := writeChunked(&short, p); !errors.Is(err, io.ErrShortWrite) {
		t.Fatalf("short write: %v", err)
	}
}
