package physical

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/arangobackup/godump/datadir"
)

// BackupOptions are the options of Backup.
type BackupOptions struct {
	// DataDirs are the data directories of a stopped server, or of each
	// process of a stopped cluster.
	DataDirs []string
	// Output is the backup directory; it must be empty or not exist.
	Output string
	// Overwrite replaces an existing physical backup in Output.
	Overwrite bool
	// Link hard-links files into the backup where the file system allows it
	// (same file system) instead of copying them. The backup then shares the
	// files with the data directory: a server that later rewrites one in
	// place changes the backup too (restore detects that through the
	// checksums). Without Link, copies are reflinks where supported.
	Link bool
	// Workers copy files in parallel (default 4).
	Workers int
	// Progress is told about each file (optional).
	Progress Progress
}

// BackupResult sums up a backup.
type BackupResult struct {
	Manifest *Manifest
	Files    int   // regular files copied or linked
	Linked   int   // of which hard-linked
	Bytes    int64 // bytes of file content
	Took     time.Duration
}

// Backup copies stopped servers' data directories into o.Output and writes
// the manifest last. It holds each directory's LOCK during the copy, and
// fails with a *datadir.LockedError if a server holds one.
func Backup(ctx context.Context, o BackupOptions) (*BackupResult, error) {
	start := time.Now()
	if len(o.DataDirs) == 0 {
		return nil, errors.New("physical backup: no data directory given")
	}
	if o.Output == "" {
		return nil, errors.New("physical backup: no output directory given")
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Progress == nil {
		o.Progress = nopProgress{}
	}
	out, err := filepath.Abs(o.Output)
	if err != nil {
		return nil, err
	}
	srcs := make([]string, len(o.DataDirs))
	for i, d := range o.DataDirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, err
		}
		st, err := os.Stat(abs)
		if err != nil {
			return nil, fmt.Errorf("physical backup: data directory: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("physical backup: data directory %s is not a directory", d)
		}
		for j := 0; j < i; j++ {
			if srcs[j] == abs {
				return nil, fmt.Errorf("physical backup: data directory %s given twice", d)
			}
		}
		if within(out, abs) || within(abs, out) {
			return nil, fmt.Errorf("physical backup: output directory %s and data directory %s may not contain each other", o.Output, d)
		}
		srcs[i] = abs
	}

	// Hold every LOCK for the whole copy: refuses a running server, and keeps
	// one from starting meanwhile.
	for _, d := range srcs {
		l, err := datadir.Lock(d)
		if err != nil {
			return nil, fmt.Errorf("physical backup of %s: %w", d, err)
		}
		defer l.Unlock()
	}
	if err := prepareOutput(out, o.Overwrite); err != nil {
		return nil, err
	}

	m := &Manifest{Format: Format, FormatVersion: FormatVersion, CreatedAt: time.Now().UTC()}
	res := &BackupResult{Manifest: m}
	var linked atomic.Int64
	for i, src := range srcs {
		dd := DataDir{Source: src, Dir: fmt.Sprintf("datadir-%d", i)}
		if err := os.Mkdir(filepath.Join(out, dd.Dir), 0o700); err != nil {
			return nil, fmt.Errorf("physical backup: %w", err)
		}
		entries, err := scan(src)
		if err != nil {
			return nil, err
		}
		var files int
		var bytes int64
		for _, e := range entries {
			if e.Type == TypeFile {
				files++
				bytes += e.Size
			}
		}
		o.Progress.Plan("copy "+src, files, bytes)
		dst := filepath.Join(out, dd.Dir)
		// Directories first (writable until their own mode is set at the end).
		for _, e := range entries {
			if e.Type == TypeDir && e.Path != "." {
				if err := os.Mkdir(filepath.Join(dst, filepath.FromSlash(e.Path)), 0o700); err != nil {
					return nil, fmt.Errorf("physical backup: %w", err)
				}
			}
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(o.Workers)
		for k := range entries {
			e := &entries[k]
			if e.Type != TypeFile {
				continue
			}
			g.Go(func() error {
				from := filepath.Join(src, filepath.FromSlash(e.Path))
				to := filepath.Join(dst, filepath.FromSlash(e.Path))
				perm, _ := parseMode(e.Mode)
				var sum string
				var n int64
				var err error
				if o.Link {
					var l bool
					sum, n, l, err = linkOrCopy(gctx, from, to, perm)
					if l {
						linked.Add(1)
					}
				} else {
					sum, n, err = copyFile(gctx, from, to, perm)
				}
				if err != nil {
					return fmt.Errorf("physical backup of %s: file %s: %w", src, e.Path, err)
				}
				if n != e.Size {
					return fmt.Errorf("physical backup of %s: file %s changed size during the copy (%d, then %d bytes): is something writing to the data directory?", src, e.Path, e.Size, n)
				}
				e.SHA256 = sum
				o.Progress.Done("copy "+src, e.Path, n)
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		for _, e := range entries {
			to := filepath.Join(dst, filepath.FromSlash(e.Path))
			switch e.Type {
			case TypeSymlink:
				if err := os.Symlink(e.Target, to); err != nil {
					return nil, fmt.Errorf("physical backup: %w", err)
				}
			case TypeHardlink:
				if err := os.Link(filepath.Join(dst, filepath.FromSlash(e.LinkTo)), to); err != nil {
					return nil, fmt.Errorf("physical backup: %w", err)
				}
			}
		}
		if err := applyMeta(dst, entries, !o.Link); err != nil {
			return nil, err
		}
		dd.Entries = entries
		m.DataDirs = append(m.DataDirs, dd)
		m.Files += files
		m.Bytes += bytes
	}
	if err := writeManifest(out, m); err != nil {
		return nil, fmt.Errorf("physical backup: %w", err)
	}
	res.Files, res.Bytes, res.Linked = m.Files, m.Bytes, int(linked.Load())
	res.Took = time.Since(start)
	return res, nil
}

// within reports whether p is dir or inside it.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && (rel == "." || filepath.IsLocal(rel))
}

// prepareOutput makes sure out exists and is empty; with overwrite, an old
// physical backup there is removed first.
func prepareOutput(out string, overwrite bool) error {
	names, err := readDirNames(out)
	if errors.Is(err, fs.ErrNotExist) {
		// The copy keeps the data directory's own modes (restoring it must give arangod
		// back what it had); the directory around it is the owner's only, whatever the umask.
		if err := os.MkdirAll(out, 0o700); err != nil {
			return err
		}
		return os.Chmod(out, 0o700)
	}
	if err != nil {
		return fmt.Errorf("physical backup: output directory: %w", err)
	}
	if len(names) == 0 {
		return nil
	}
	if !overwrite {
		return fmt.Errorf("physical backup: output directory %s is not empty (%s): choose another, or --overwrite true to replace a previous physical backup there: %w", out, sample(names), ErrNotEmpty)
	}
	if _, err := os.Stat(filepath.Join(out, ManifestName)); err != nil {
		return fmt.Errorf("physical backup: output directory %s is not empty and holds no physical backup (no %s); refusing to delete it: %w", out, ManifestName, ErrNotEmpty)
	}
	for _, n := range names {
		if err := os.RemoveAll(filepath.Join(out, n)); err != nil {
			return fmt.Errorf("physical backup: clear output directory: %w", err)
		}
	}
	return nil
}

func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

func sample(names []string) string {
	if len(names) > 3 {
		return strings.Join(names[:3], ", ") + fmt.Sprintf(" and %d more", len(names)-3)
	}
	return strings.Join(names, ", ")
}

// scan lists a data directory (without its LOCK), in lexical order, parents
// before children; a second name of a file becomes a hard link entry.
func scan(root string) ([]Entry, error) {
	var entries []Entry
	seen := map[[2]uint64]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("physical backup: scan %s: %w", p, err)
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == datadir.LockFileName {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return fmt.Errorf("physical backup: %w", err)
		}
		e := Entry{Path: rel, Mode: modeString(fi.Mode()), ModTime: fi.ModTime().UTC()}
		switch {
		case fi.IsDir():
			e.Type = TypeDir
		case fi.Mode()&fs.ModeSymlink != 0:
			e.Type, e.Mode, e.ModTime = TypeSymlink, "", time.Time{}
			if e.Target, err = os.Readlink(p); err != nil {
				return fmt.Errorf("physical backup: %w", err)
			}
		case fi.Mode().IsRegular():
			e.Type, e.Size = TypeFile, fi.Size()
			if key, ok := inodeKey(fi); ok {
				if first, dup := seen[key]; dup {
					e = Entry{Path: rel, Type: TypeHardlink, LinkTo: first}
				} else {
					seen[key] = rel
				}
			}
		default:
			return fmt.Errorf("physical backup: %s is a %v, which a data directory should not hold; refusing to skip it silently", p, fi.Mode().Type())
		}
		entries = append(entries, e)
		return nil
	})
	return entries, err
}

// applyMeta sets modes and modification times, directories last and deepest
// first, so that read-only directories are filled before they close.
func applyMeta(root string, entries []Entry, files bool) error {
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if e.Type != TypeDir && (e.Type != TypeFile || !files) {
			continue
		}
		p := filepath.Join(root, filepath.FromSlash(e.Path))
		mode, err := parseMode(e.Mode)
		if err != nil {
			return fmt.Errorf("%s: %w", e.Path, err)
		}
		if err := os.Chmod(p, mode); err != nil {
			return fmt.Errorf("set mode of %s: %w", p, err)
		}
		if !e.ModTime.IsZero() {
			if err := os.Chtimes(p, e.ModTime, e.ModTime); err != nil {
				return fmt.Errorf("set time of %s: %w", p, err)
			}
		}
	}
	return nil
}
