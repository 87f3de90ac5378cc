package restore

// gorestore --input-directory s3://bucket/prefix: a dump directory on an object store. Its
// small files (ENCRYPTION, dump.json, structure, view and manifest files) are copied into a
// private temporary directory, each data file is stood for there by an empty sparse file of
// its size, and the directory is planned as any other; the plan's data files then read the
// objects themselves (ranged, resumable GETs), so data is never copied to the local disk.
// Every check of a local dump applies: sizes and SHA-256 against the manifest (read from the
// store before a collection's first batch is sent), document counts, completeness.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/arangobackup/godump/format"
)

// InputStore is a dump directory on an object store (internal/s3dump.Store).
type InputStore interface {
	format.StoreTree
	// Dirs are the subdirectories (the databases of an --all-databases dump).
	Dirs() ([]string, error)
	// Size is the size of a file.
	Size(name string) (int64, error)
}

// remoteFile is where a staged placeholder's data is.
type remoteFile struct {
	store InputStore
	name  string
	size  int64
}

// buildRemotePlan stages opts.InputStore and plans it.
func buildRemotePlan(opts Options) (*Plan, error) {
	root := opts.InputStore
	tmp, err := os.MkdirTemp("", "gorestore-s3-")
	if err != nil {
		return nil, fmt.Errorf("input %s: staging directory: %w", root, err)
	}
	remote := map[string]remoteFile{}
	fail := func(err error) (*Plan, error) {
		os.RemoveAll(tmp)
		return nil, err
	}
	files, err := root.List()
	if err != nil {
		return fail(fmt.Errorf("input %s: %w", root, err))
	}
	if len(files) > 0 || !opts.AllDatabases {
		if err := stageRemote(root, tmp, files, remote); err != nil {
			return fail(err)
		}
	}
	subs, err := root.Dirs()
	if err != nil {
		return fail(fmt.Errorf("input %s: %w", root, err))
	}
	for _, d := range subs {
		sub, ok := root.Sub(d).(InputStore)
		if !ok || !isSafeDir(d) {
			continue
		}
		sf, err := sub.List()
		if err != nil {
			return fail(fmt.Errorf("input %s: %w", sub, err))
		}
		local := filepath.Join(tmp, d)
		if err := format.MkdirPrivate(local); err != nil {
			return fail(err)
		}
		if err := stageRemote(sub, local, sf, remote); err != nil {
			return fail(err)
		}
	}
	o := opts
	o.InputStore = nil
	o.InputDirectory = tmp
	p, err := BuildPlan(o)
	if err != nil {
		return fail(&renamedError{err: err, from: tmp, to: root.String()})
	}
	p.cleanup = func() { os.RemoveAll(tmp) }
	// the plan names the store, and its data files read the objects
	rename := func(p string) string {
		if rel, err := filepath.Rel(tmp, p); err == nil && !strings.HasPrefix(rel, "..") {
			if rel == "." {
				return root.String()
			}
			return strings.TrimSuffix(root.String(), "/") + "/" + filepath.ToSlash(rel)
		}
		return p
	}
	p.Dump.Dir = root.String()
	for _, dp := range p.Databases {
		dp.Source.Dir = rename(dp.Source.Dir)
		for _, c := range dp.Source.Collections {
			c.StructureFile = rename(c.StructureFile)
			for i := range c.DataFiles {
				df := &c.DataFiles[i]
				r, ok := remote[df.Path]
				if !ok {
					continue
				}
				df.Path, df.Size = r.store.Path(r.name), r.size
				df.Open = func() (io.ReadCloser, error) { return r.store.Open(r.name) }
			}
		}
		for _, v := range dp.Views {
			v.Source.File = rename(v.Source.File)
		}
	}
	for i, w := range p.Warnings {
		p.Warnings[i] = strings.ReplaceAll(w, tmp, root.String())
	}
	return p, nil
}

func isSafeDir(d string) bool {
	return d != "" && d != "." && d != ".." && !strings.ContainsAny(d, "/\\\x00")
}

// stageRemote copies the small files of one directory of the store into local and stands
// each data file by a sparse file of its size.
func stageRemote(st InputStore, local string, files []string, remote map[string]remoteFile) error {
	for _, n := range files {
		if !isSafeDir(n) || strings.HasPrefix(n, ".") {
			continue
		}
		p := filepath.Join(local, n)
		switch {
		case format.IsDataFileName(n):
			size, err := st.Size(n)
			if err != nil {
				return fmt.Errorf("input %s: %w", st.Path(n), err)
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, format.FileMode)
			if err == nil {
				err = f.Truncate(size)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
			if err != nil {
				return fmt.Errorf("stage %s: %w", st.Path(n), err)
			}
			remote[p] = remoteFile{store: st, name: n, size: size}
		case format.IsMetaFileName(n):
			rc, err := st.Open(n)
			if err != nil {
				return fmt.Errorf("input %s: %w", st.Path(n), err)
			}
			b, err := format.ReadMetaFile(rc)
			rc.Close()
			if errors.Is(err, format.ErrMetaTooLarge) {
				return &format.Error{File: st.Path(n), Err: err} // bad input, not a failed read
			}
			if err != nil {
				return fmt.Errorf("input %s: %w", st.Path(n), err)
			}
			if err := os.WriteFile(p, b, format.FileMode); err != nil {
				return fmt.Errorf("stage %s: %w", st.Path(n), err)
			}
		}
	}
	return nil
}

// renamedError names the store where an error names the staging directory; errors.Is and
// errors.As see the original (a *format.Error still means bad input).
type renamedError struct {
	err      error
	from, to string
}

func (e *renamedError) Error() string { return strings.ReplaceAll(e.err.Error(), e.from, e.to) }
func (e *renamedError) Unwrap() error { return e.err }
