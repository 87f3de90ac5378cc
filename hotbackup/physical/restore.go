package physical

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/arangobackup/godump/datadir"
)

// MismatchError names the file that does not match the manifest.
type MismatchError struct {
	File   string // path in the backup directory
	Reason string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%s: %s", e.File, e.Reason)
}

// Unwrap makes errors.Is(err, ErrMismatch) work.
func (e *MismatchError) Unwrap() error { return ErrMismatch }

// Verify checks every file of the backup in dir against its manifest:
// presence, type, size and SHA-256, symlink targets and hard links, and that
// the backup holds nothing the manifest does not list. The first mismatch
// found stops it, as a *MismatchError.
func Verify(ctx context.Context, dir string, workers int, p Progress) (*Manifest, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	if workers <= 0 {
		workers = 4
	}
	if p == nil {
		p = nopProgress{}
	}
	p.Plan("verify", m.Files, m.Bytes)
	for _, dd := range m.DataDirs {
		root := filepath.Join(dir, filepath.FromSlash(dd.Dir))
		listed := map[string]bool{}
		byPath := map[string]Entry{}
		for _, e := range dd.Entries {
			listed[e.Path] = true
			byPath[e.Path] = e
		}
		if !listed["."] {
			return nil, fmt.Errorf("%s: %w: data directory %s has no root entry", dir, ErrBadManifest, dd.Dir)
		}
		// Nothing unlisted.
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return &MismatchError{File: path, Reason: err.Error()}
			}
			rel, _ := filepath.Rel(root, path)
			if !listed[filepath.ToSlash(rel)] {
				return &MismatchError{File: path, Reason: "not in the manifest (added after the backup?)"}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(workers)
		for _, e := range dd.Entries {
			file := filepath.Join(root, filepath.FromSlash(e.Path))
			fi, err := os.Lstat(file)
			if err != nil {
				return nil, &MismatchError{File: file, Reason: "missing: " + err.Error()}
			}
			switch e.Type {
			case TypeDir:
				if !fi.IsDir() {
					return nil, &MismatchError{File: file, Reason: "should be a directory"}
				}
			case TypeSymlink:
				t, err := os.Readlink(file)
				if err != nil || t != e.Target {
					return nil, &MismatchError{File: file, Reason: fmt.Sprintf("should be a symlink to %q", e.Target)}
				}
			case TypeFile, TypeHardlink:
				want := e
				if e.Type == TypeHardlink {
					want = byPath[e.LinkTo]
				}
				if !fi.Mode().IsRegular() {
					return nil, &MismatchError{File: file, Reason: "should be a regular file"}
				}
				if fi.Size() != want.Size {
					return nil, &MismatchError{File: file, Reason: fmt.Sprintf("size %d, manifest says %d", fi.Size(), want.Size)}
				}
				if e.Type == TypeHardlink {
					if first, err := os.Lstat(filepath.Join(root, filepath.FromSlash(e.LinkTo))); err == nil && os.SameFile(first, fi) {
						continue // same inode as the verified first name
					}
				}
				g.Go(func() error {
					sum, _, err := hashFile(gctx, file)
					if err != nil {
						return &MismatchError{File: file, Reason: err.Error()}
					}
					if sum != want.SHA256 {
						return &MismatchError{File: file, Reason: fmt.Sprintf("SHA-256 %s, manifest says %s: the file is corrupted or was changed", sum, want.SHA256)}
					}
					if e.Type == TypeFile {
						p.Done("verify", e.Path, want.Size)
					}
					return nil
				})
			}
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// RestoreOptions are the options of Restore.
type RestoreOptions struct {
	// Input is the physical backup directory.
	Input string
	// DataDirs are the targets, one per data directory of the backup, in the
	// backup's order.
	DataDirs []string
	// Overwrite replaces the contents of non-empty targets.
	Overwrite bool
	// Workers copy files in parallel (default 4).
	Workers int
	// Progress is told about each file (optional).
	Progress Progress
}

// RestoreResult sums up a restore.
type RestoreResult struct {
	Manifest *Manifest
	Files    int
	Bytes    int64
	Took     time.Duration
}

// Restore verifies the backup completely, then copies it into the target data
// directories. It refuses a directory a server holds (*datadir.LockedError) and
// a non-empty one without Overwrite (ErrNotEmpty), before changing anything.
func Restore(ctx context.Context, o RestoreOptions) (*RestoreResult, error) {
	start := time.Now()
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Progress == nil {
		o.Progress = nopProgress{}
	}
	m, err := ReadManifest(o.Input)
	if err != nil {
		return nil, err
	}
	if len(o.DataDirs) != len(m.DataDirs) {
		srcs := make([]string, len(m.DataDirs))
		for i, d := range m.DataDirs {
			srcs[i] = d.Source
		}
		return nil, fmt.Errorf("physical restore: the backup holds %d data directories (taken from %v), but %d --data-dir were given; give one per data directory, in that order",
			len(m.DataDirs), srcs, len(o.DataDirs))
	}
	targets := make([]string, len(o.DataDirs))
	for i, d := range o.DataDirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, err
		}
		for j := 0; j < i; j++ {
			if targets[j] == abs {
				return nil, fmt.Errorf("physical restore: data directory %s given twice", d)
			}
		}
		in, _ := filepath.Abs(o.Input)
		if within(abs, in) || within(in, abs) {
			return nil, fmt.Errorf("physical restore: input directory %s and data directory %s may not contain each other", o.Input, d)
		}
		targets[i] = abs
	}
	// 1. Check the targets before reading gigabytes: a running server, or
	// data that would be lost, stop us early (and again after verifying).
	if err := checkTargets(targets, o.Overwrite, true); err != nil {
		return nil, err
	}
	// 2. Verify the whole backup before touching anything.
	if _, err := Verify(ctx, o.Input, o.Workers, o.Progress); err != nil {
		return nil, fmt.Errorf("physical restore: verify %s (nothing was changed): %w", o.Input, err)
	}
	// 3. Lock the targets for the whole restore.
	for _, t := range targets {
		if err := os.MkdirAll(t, 0o700); err != nil {
			return nil, fmt.Errorf("physical restore: %w", err)
		}
		l, err := datadir.Lock(t)
		if err != nil {
			return nil, fmt.Errorf("physical restore into %s: %w", t, err)
		}
		defer l.Unlock()
	}
	if err := checkTargets(targets, o.Overwrite, false); err != nil {
		return nil, err
	}
	if o.Overwrite {
		for _, t := range targets {
			names, err := readDirNames(t)
			if err != nil {
				return nil, fmt.Errorf("physical restore: %w", err)
			}
			for _, n := range names {
				if n == datadir.LockFileName {
					continue
				}
				if err := os.RemoveAll(filepath.Join(t, n)); err != nil {
					return nil, fmt.Errorf("physical restore: clear %s: %w", t, err)
				}
			}
		}
	}
	// 4. Copy, checking every file's checksum again as it passes.
	res := &RestoreResult{Manifest: m, Files: m.Files, Bytes: m.Bytes}
	for i, dd := range m.DataDirs {
		src := filepath.Join(o.Input, filepath.FromSlash(dd.Dir))
		dst := targets[i]
		var files int
		var bytes int64
		for _, e := range dd.Entries {
			if e.Type == TypeFile {
				files++
				bytes += e.Size
			}
		}
		o.Progress.Plan("restore "+dst, files, bytes)
		for _, e := range dd.Entries {
			if e.Type == TypeDir && e.Path != "." {
				if err := os.Mkdir(filepath.Join(dst, filepath.FromSlash(e.Path)), 0o700); err != nil {
					return nil, fmt.Errorf("physical restore: %w", err)
				}
			}
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(o.Workers)
		for _, e := range dd.Entries {
			if e.Type != TypeFile {
				continue
			}
			g.Go(func() error {
				from := filepath.Join(src, filepath.FromSlash(e.Path))
				to := filepath.Join(dst, filepath.FromSlash(e.Path))
				perm, _ := parseMode(e.Mode)
				sum, _, err := copyFile(gctx, from, to, perm)
				if err != nil {
					return fmt.Errorf("physical restore: file %s: %w", e.Path, err)
				}
				if sum != e.SHA256 {
					return fmt.Errorf("physical restore: %w", &MismatchError{File: from, Reason: "changed while restoring (SHA-256 differs from the manifest)"})
				}
				o.Progress.Done("restore "+dst, e.Path, e.Size)
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		for _, e := range dd.Entries {
			to := filepath.Join(dst, filepath.FromSlash(e.Path))
			switch e.Type {
			case TypeSymlink:
				if err := os.Symlink(e.Target, to); err != nil {
					return nil, fmt.Errorf("physical restore: %w", err)
				}
			case TypeHardlink:
				if err := os.Link(filepath.Join(dst, filepath.FromSlash(e.LinkTo)), to); err != nil {
					return nil, fmt.Errorf("physical restore: %w", err)
				}
			}
		}
		if err := applyMeta(dst, dd.Entries, true); err != nil {
			return nil, fmt.Errorf("physical restore: %w", err)
		}
		if err := syncDir(dst); err != nil {
			return nil, fmt.Errorf("physical restore: %w", err)
		}
	}
	res.Took = time.Since(start)
	return res, nil
}

// checkTargets refuses locked (when checkLock) and (without overwrite)
// non-empty targets.
func checkTargets(targets []string, overwrite, checkLock bool) error {
	for _, t := range targets {
		names, err := readDirNames(t)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("physical restore: data directory: %w", err)
		}
		if checkLock {
			locked, pid, err := datadir.IsLocked(t)
			if err != nil {
				return fmt.Errorf("physical restore: %w", err)
			}
			if locked {
				return fmt.Errorf("physical restore into %s: %w", t, &datadir.LockedError{Dir: t, PID: pid})
			}
		}
		var others []string
		for _, n := range names {
			if n != datadir.LockFileName {
				others = append(others, n)
			}
		}
		sort.Strings(others)
		if len(others) > 0 && !overwrite {
			return fmt.Errorf("physical restore: data directory %s holds %d entries (%s); restore into an empty directory, or give --overwrite true to replace them: %w",
				t, len(others), sample(others), ErrNotEmpty)
		}
	}
	return nil
}
