package objstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"sort"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
)

// ErrUploadClosed is returned by an Upload used after Commit or Abort.
var ErrUploadClosed = errors.New("upload already committed or aborted")

// Upload streams one object to the store. Write fills parts of PartSize
// bytes and sends each full part in the background, at most Concurrency at
// once, so memory stays within (Concurrency+1) x PartSize whatever the
// object's size; each part is retried on its own. The object becomes
// visible only at Commit, whole (S3 completes a multipart upload
// atomically). An object smaller than one part is sent with one PutObject
// at Commit.
//
// An Upload is not safe for concurrent use. Always end it with Commit or
// Abort (Abort after Commit does nothing, so `defer u.Abort()` is right).
type Upload struct {
	s   *Store
	key string

	parent context.Context    // for Commit and Abort requests
	ctx    context.Context    // canceled by Abort or by the first part error
	cancel context.CancelFunc // of ctx

	hash hash.Hash
	size int64

	cur   []byte        // the part being filled
	free  chan []byte   // part buffers back from finished uploads
	nbufs int           // buffers allocated so far, at most Concurrency+1
	slots chan struct{} // one per part in flight, at most Concurrency

	uploadID string
	nextPart int
	wg       sync.WaitGroup

	mu    sync.Mutex
	parts []minio.CompletePart
	err   error // first part error

	closed bool
}

// Create starts a streaming upload of the object name. No request is made
// before the first part is full (or Commit, for a small object).
func (s *Store) Create(ctx context.Context, name string) (*Upload, error) {
	if err := checkName(name); err != nil {
		return nil, s.wrap("upload", s.key(name), 0, nil, err, 1)
	}
	uctx, cancel := context.WithCancel(ctx)
	return &Upload{
		s: s, key: s.key(name), parent: ctx, ctx: uctx, cancel: cancel,
		hash: sha256.New(), free: make(chan []byte, s.cfg.Concurrency+1), slots: make(chan struct{}, s.cfg.Concurrency),
		nextPart: 1,
	}, nil
}

// URL of the object being written.
func (u *Upload) URL() string { return u.s.objectURL(u.key) }

// Size is the number of bytes written so far.
func (u *Upload) Size() int64 { return u.size }

func (u *Upload) firstErr() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.err
}

// Write buffers p, sending every part that fills up. It returns the first
// error of any part (the upload is then lost: Abort it).
func (u *Upload) Write(p []byte) (int, error) {
	if u.closed {
		return 0, u.s.wrap("upload", u.key, 0, nil, ErrUploadClosed, 1)
	}
	if err := u.firstErr(); err != nil {
		return 0, err
	}
	u.hash.Write(p)
	ps := int(u.s.cfg.PartSize)
	n := 0
	for len(p) > 0 {
		if u.cur == nil {
			b, err := u.buffer()
			if err != nil {
				return n, err
			}
			u.cur = b
		}
		take := min(ps-len(u.cur), len(p))
		if need := len(u.cur) + take; need > cap(u.cur) {
			// Only the first buffer grows: never past one part.
			b := make([]byte, len(u.cur), min(ps, max(2*cap(u.cur), need)))
			copy(b, u.cur)
			u.cur = b
		}
		u.cur = append(u.cur, p[:take]...)
		p = p[take:]
		n += take
		u.size += int64(take)
		if len(u.cur) == ps {
			if err := u.sendPart(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// buffer returns an empty part buffer: a free one, a new one while fewer
// than Concurrency+1 exist, or else waits for a part in flight to finish.
// The first buffer grows as it fills, so that small objects cost little.
func (u *Upload) buffer() ([]byte, error) {
	select {
	case b := <-u.free:
		return b[:0], nil
	default:
	}
	if u.nbufs == 0 {
		u.nbufs++
		return make([]byte, 0, min(int(u.s.cfg.PartSize), 256<<10)), nil
	}
	if u.nbufs < u.s.cfg.Concurrency+1 {
		u.nbufs++
		return make([]byte, 0, u.s.cfg.PartSize), nil
	}
	select {
	case b := <-u.free:
		return b[:0], nil
	case <-u.ctx.Done():
		if err := u.firstErr(); err != nil {
			return nil, err
		}
		return nil, u.s.wrap("upload", u.key, 0, nil, context.Cause(u.ctx), 1)
	}
}

// start begins the multipart upload, once.
func (u *Upload) start() error {
	if u.uploadID != "" {
		return nil
	}
	return u.s.retry(u.ctx, "upload", u.key, 0, func(ctx context.Context) error {
		id, err := u.s.core.NewMultipartUpload(ctx, u.s.bucket, u.key, minio.PutObjectOptions{ContentType: "application/octet-stream"})
		u.uploadID = id
		return err
	})
}

// sendPart hands the current buffer to a goroutine that uploads it.
func (u *Upload) sendPart() error {
	if err := u.start(); err != nil {
		u.fail(err)
		return err
	}
	if u.nextPart > MaxParts {
		err := u.s.wrap("upload", u.key, u.nextPart, nil,
			fmt.Errorf("more than %d parts of %d bytes: raise the part size", MaxParts, u.s.cfg.PartSize), 1)
		u.fail(err)
		return err
	}
	select {
	case u.slots <- struct{}{}:
	case <-u.ctx.Done():
		if err := u.firstErr(); err != nil {
			return err
		}
		err := u.s.wrap("upload", u.key, u.nextPart, nil, context.Cause(u.ctx), 1)
		u.fail(err)
		return err
	}
	buf, num := u.cur, u.nextPart
	u.cur = nil
	u.nextPart++
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		defer func() { <-u.slots }()
		var etag string
		opts := minio.PutObjectPartOptions{Md5Base64: contentMD5(buf), DisableContentSha256: true}
		err := u.s.retry(u.ctx, "upload", u.key, num, func(ctx context.Context) error {
			gctx, g := newStallGuard(ctx, u.s.cfg.IdleTimeout)
			p, err := u.s.core.PutObjectPart(gctx, u.s.bucket, u.key, u.uploadID, num, touchReader{bytes.NewReader(buf), g}, int64(len(buf)), opts)
			etag = p.ETag
			return g.stop(gctx, err)
		})
		u.free <- buf
		if err != nil {
			u.fail(err)
			return
		}
		u.mu.Lock()
		u.parts = append(u.parts, minio.CompletePart{PartNumber: num, ETag: etag})
		u.mu.Unlock()
	}()
	return nil
}

// fail records the first error and stops the other parts.
func (u *Upload) fail(err error) {
	u.mu.Lock()
	if u.err == nil {
		u.err = err
	}
	u.mu.Unlock()
	u.cancel()
}

// Commit sends the last part, waits for all, and completes the upload: the
// object appears whole. It returns the object's size and SHA-256 (lower-case
// hex), computed while streaming. On error the upload is aborted.
func (u *Upload) Commit() (size int64, sha256hex string, err error) {
	if u.closed {
		return 0, "", u.s.wrap("upload", u.key, 0, nil, ErrUploadClosed, 1)
	}
	sum := hex.EncodeToString(u.hash.Sum(nil))
	if u.uploadID == "" && u.firstErr() == nil {
		// Smaller than one part: one PutObject.
		err := u.s.put(u.ctx, "upload", u.key, u.cur)
		u.closed = true
		u.cur = nil
		u.cancel()
		if err != nil {
			return 0, "", err
		}
		return u.size, sum, nil
	}
	if len(u.cur) > 0 && u.firstErr() == nil {
		if err := u.sendPart(); err != nil {
			u.abort()
			return 0, "", err
		}
	}
	u.wg.Wait()
	if err := u.firstErr(); err != nil {
		u.abort()
		return 0, "", err
	}
	sort.Slice(u.parts, func(i, j int) bool { return u.parts[i].PartNumber < u.parts[j].PartNumber })
	attempt := 0
	err = u.s.retry(u.parent, "complete", u.key, 0, func(ctx context.Context) error {
		attempt++
		_, err := u.s.core.CompleteMultipartUpload(ctx, u.s.bucket, u.key, u.uploadID, u.parts, minio.PutObjectOptions{})
		var er minio.ErrorResponse
		if err != nil && attempt > 1 && errors.As(err, &er) && er.Code == "NoSuchUpload" {
			// An earlier attempt completed it and its answer was lost: the
			// object must be there with our size.
			oi, serr := u.s.client.StatObject(ctx, u.s.bucket, u.key, minio.StatObjectOptions{})
			if serr == nil && oi.Size == u.size {
				return nil
			}
		}
		return err
	})
	if err != nil {
		u.abort()
		return 0, "", err
	}
	u.closed = true
	u.cur = nil
	u.cancel()
	return u.size, sum, nil
}

// Abort stops the parts in flight and aborts the multipart upload: no
// object, no parts left on the store. It also works when the Upload's
// context was canceled (as after Ctrl-C), with its own 30 s limit.
func (u *Upload) Abort() error {
	if u.closed {
		return nil
	}
	return u.abort()
}

func (u *Upload) abort() error {
	u.closed = true
	u.cancel()
	u.wg.Wait()
	u.cur = nil
	if u.uploadID == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(u.parent), 30*time.Second)
	defer cancel()
	return u.s.retry(ctx, "abort", u.key, 0, func(ctx context.Context) error {
		err := u.s.core.AbortMultipartUpload(ctx, u.s.bucket, u.key, u.uploadID)
		var er minio.ErrorResponse
		if errors.As(err, &er) && er.Code == "NoSuchUpload" {
			return nil
		}
		return err
	})
}
