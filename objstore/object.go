package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/minio/minio-go/v7"
)

// Object reads one object. Sequential reads stream a single GET; after a
// dropped connection the read goes on with a ranged GET from the offset
// reached (up to Retries attempts without progress). ReadAt makes its own
// ranged GETs and may be called concurrently with other ReadAt calls (not
// with Read or Seek). Every GET asks for the ETag seen at Open, so an object
// replaced while being read gives an error, never a mix of two versions.
type Object struct {
	s       *Store
	ctx     context.Context
	key     string
	size    int64
	etag    string
	modTime time.Time

	pos    int64         // offset of the next Read
	body   io.ReadCloser // open GET, positioned at pos; nil if none
	guard  *stallGuard   // of body's request
	gctx   context.Context
	closed bool
}

// Open opens an object for reading; a missing object gives an error
// wrapping fs.ErrNotExist. ctx bounds every later read of the Object.
func (s *Store) Open(ctx context.Context, name string) (*Object, error) {
	oi, err := s.stat(ctx, name)
	if err != nil {
		if e := (*Error)(nil); errors.As(err, &e) {
			e.Op = "open"
		}
		return nil, err
	}
	return &Object{s: s, ctx: ctx, key: s.key(name), size: oi.Size, etag: oi.ETag, modTime: oi.LastModified}, nil
}

// Size of the object in bytes.
func (o *Object) Size() int64 { return o.size }

// ModTime is the object's last-modified time.
func (o *Object) ModTime() time.Time { return o.modTime }

// URL of the object.
func (o *Object) URL() string { return o.s.objectURL(o.key) }

// get opens a GET of [off, end) (end < 0: to the end).
func (o *Object) get(ctx context.Context, off, end int64) (io.ReadCloser, error) {
	opts := minio.GetObjectOptions{}
	if o.etag != "" {
		if err := opts.SetMatchETag(o.etag); err != nil {
			return nil, err
		}
	}
	if end >= 0 {
		if err := opts.SetRange(off, end-1); err != nil {
			return nil, err
		}
	} else if off > 0 {
		if err := opts.SetRange(off, 0); err != nil {
			return nil, err
		}
	}
	body, _, _, err := o.s.core.GetObject(ctx, o.s.bucket, o.key, opts)
	return body, err
}

// Read reads sequentially from the current offset.
func (o *Object) Read(p []byte) (int, error) {
	if o.closed {
		return 0, o.s.wrap("read", o.key, 0, nil, errClosed, 1)
	}
	if o.pos >= o.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if rem := o.size - o.pos; int64(len(p)) > rem {
		p = p[:rem]
	}
	var n int
	err := o.s.retry(o.ctx, "read", o.key, 0, func(ctx context.Context) error {
		if o.body == nil {
			gctx, g := newStallGuard(ctx, o.s.cfg.IdleTimeout)
			b, err := o.get(gctx, o.pos, -1)
			if err != nil {
				return g.stop(gctx, err)
			}
			o.body, o.guard, o.gctx = b, g, gctx
		}
		// The clock runs only while this Read waits for the network, not
		// while the caller takes its time between two Reads.
		o.guard.touch()
		m, err := o.body.Read(p)
		o.guard.pause()
		if err != nil && context.Cause(o.gctx) == errStalled {
			err = errStalled
		}
		n = m
		o.pos += int64(m)
		if m > 0 {
			// Progress: any error is for the next Read, which reopens.
			if err != nil && !errors.Is(err, io.EOF) {
				o.dropBody()
			}
			return nil
		}
		o.dropBody()
		if errors.Is(err, io.EOF) || err == nil {
			// The body ended before the object's size.
			return fmt.Errorf("%w: response ended at offset %d of %d", errTransient, o.pos, o.size)
		}
		return err
	})
	return n, err
}

func (o *Object) dropBody() {
	if o.body != nil {
		o.body.Close()
		o.guard.stop(o.gctx, nil)
		o.body, o.guard, o.gctx = nil, nil, nil
	}
}

// ReadAt reads len(p) bytes at off with one ranged GET (retried).
func (o *Object) ReadAt(p []byte, off int64) (int, error) {
	if o.closed {
		return 0, o.s.wrap("read", o.key, 0, nil, errClosed, 1)
	}
	if off < 0 {
		return 0, o.s.wrap("read", o.key, 0, nil, fmt.Errorf("negative offset %d", off), 1)
	}
	if off >= o.size {
		return 0, io.EOF
	}
	want := p
	short := false
	if rem := o.size - off; int64(len(want)) > rem {
		want = want[:rem]
		short = true
	}
	if len(want) == 0 {
		return 0, nil
	}
	done := 0
	err := o.s.retry(o.ctx, "read", o.key, 0, func(ctx context.Context) error {
		gctx, g := newStallGuard(ctx, o.s.cfg.IdleTimeout)
		body, err := o.get(gctx, off+int64(done), off+int64(len(want)))
		if err != nil {
			return g.stop(gctx, err)
		}
		m, err := io.ReadFull(touchReader{body, g}, want[done:])
		body.Close()
		err = g.stop(gctx, err)
		done += m
		if errors.Is(err, errStalled) {
			return err
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				return fmt.Errorf("%w: ranged response ended early at offset %d", errTransient, off+int64(done))
			}
			return err
		}
		return nil
	})
	if err != nil {
		return done, err
	}
	if short {
		return done, io.EOF
	}
	return done, nil
}

// Seek sets the offset of the next Read.
func (o *Object) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = o.pos + offset
	case io.SeekEnd:
		abs = o.size + offset
	default:
		return 0, o.s.wrap("seek", o.key, 0, nil, fmt.Errorf("invalid whence %d", whence), 1)
	}
	if abs < 0 {
		return 0, o.s.wrap("seek", o.key, 0, nil, fmt.Errorf("negative position %d", abs), 1)
	}
	if abs != o.pos {
		o.dropBody()
		o.pos = abs
	}
	return abs, nil
}

// Close ends the open GET, if any.
func (o *Object) Close() error {
	o.dropBody()
	o.closed = true
	return nil
}

var errClosed = errors.New("object already closed")
