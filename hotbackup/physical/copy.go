package physical

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// Progress is told about each file copied or verified. Implementations must
// be safe for concurrent use.
type Progress interface {
	// Plan announces the work of one phase ("verify", "copy").
	Plan(phase string, files int, bytes int64)
	// Done reports one file of the phase finished.
	Done(phase, path string, bytes int64)
}

type nopProgress struct{}

func (nopProgress) Plan(string, int, int64)    {}
func (nopProgress) Done(string, string, int64) {}

// ctxReader stops a long copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// hashFile returns the SHA-256 and size of a file's content.
func hashFile(ctx context.Context, name string) (string, int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, ctxReader{ctx, f}, make([]byte, 1<<20))
	if err != nil {
		return "", n, fmt.Errorf("read %s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// copyFile copies src to a new file dst (which must not exist) with perm,
// hashing the bytes as they pass, and syncs dst. It tries a reflink (a
// copy-on-write clone, safe and instant) first where the file system has one.
func copyFile(ctx context.Context, src, dst string, perm os.FileMode) (string, int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm|0o200)
	if err != nil {
		return "", 0, err
	}
	fail := func(err error) (string, int64, error) {
		out.Close()
		os.Remove(dst)
		return "", 0, err
	}
	var sum string
	var n int64
	if reflink(out, in) == nil {
		// Cloned: hash the clone (the same bytes).
		if sum, n, err = hashFile(ctx, dst); err != nil {
			return fail(err)
		}
	} else {
		h := sha256.New()
		n, err = io.CopyBuffer(io.MultiWriter(out, h), ctxReader{ctx, in}, make([]byte, 1<<20))
		if err != nil {
			return fail(fmt.Errorf("copy %s to %s: %w", src, dst, err))
		}
		sum = hex.EncodeToString(h.Sum(nil))
	}
	if err := out.Sync(); err != nil {
		return fail(fmt.Errorf("sync %s: %w", dst, err))
	}
	if err := out.Close(); err != nil {
		os.Remove(dst)
		return "", 0, fmt.Errorf("close %s: %w", dst, err)
	}
	if err := os.Chmod(dst, perm); err != nil {
		return "", 0, fmt.Errorf("chmod %s: %w", dst, err)
	}
	return sum, n, nil
}

// linkOrCopy hard-links src to dst when the file system allows it, and copies
// otherwise. linked says which happened.
func linkOrCopy(ctx context.Context, src, dst string, perm os.FileMode) (sum string, n int64, linked bool, err error) {
	if lerr := os.Link(src, dst); lerr == nil {
		sum, n, err = hashFile(ctx, dst)
		return sum, n, true, err
	} else if errors.Is(lerr, os.ErrExist) {
		return "", 0, false, lerr
	}
	sum, n, err = copyFile(ctx, src, dst, perm)
	return sum, n, false, err
}
