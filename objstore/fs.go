package objstore

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"path"
	"time"
)

// FS returns the prefix as an io/fs file system (fs.ReadDirFS and
// fs.StatFS), so that code reading a dump directory through io/fs reads an
// s3 prefix the same way. A "directory" is a common prefix of objects; an
// empty or missing one does not exist, except the root. Files also
// implement io.ReaderAt and io.Seeker. ctx bounds every request.
func (s *Store) FS(ctx context.Context) fs.FS { return &storeFS{s: s, ctx: ctx} }

type storeFS struct {
	s   *Store
	ctx context.Context
}

var (
	_ fs.ReadDirFS  = (*storeFS)(nil)
	_ fs.StatFS     = (*storeFS)(nil)
	_ fs.ReadFileFS = (*storeFS)(nil)
)

func pathErr(op, name string, err error) error {
	return &fs.PathError{Op: op, Path: name, Err: err}
}

func (f *storeFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, pathErr("open", name, fs.ErrInvalid)
	}
	if name != "." {
		o, err := f.s.Open(f.ctx, name)
		if err == nil {
			return &fsFile{Object: o, name: path.Base(name)}, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, pathErr("open", name, err)
		}
	}
	ents, err := f.readDir(name)
	if err != nil {
		return nil, pathErr("open", name, err)
	}
	return &fsDir{name: path.Base(name), ents: ents}, nil
}

// readDir lists a directory; one without entries exists only at the root.
func (f *storeFS) readDir(name string) ([]fs.DirEntry, error) {
	sub := f.s
	if name != "." {
		sub = f.s.Sub(name)
	}
	ents, err := sub.ReadDir(f.ctx)
	if err != nil {
		return nil, err
	}
	if len(ents) == 0 && name != "." {
		return nil, f.s.wrap("list", sub.prefix, 0, fs.ErrNotExist, errors.New("no object under this prefix"), 1)
	}
	out := make([]fs.DirEntry, len(ents))
	for i, e := range ents {
		out[i] = fs.FileInfoToDirEntry(fileInfo{name: e.Name, size: e.Size, mod: e.ModTime, dir: e.IsDir})
	}
	return out, nil
}

func (f *storeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if !fs.ValidPath(name) {
		return nil, pathErr("readdir", name, fs.ErrInvalid)
	}
	ents, err := f.readDir(name)
	if err != nil {
		return nil, pathErr("readdir", name, err)
	}
	return ents, nil
}

func (f *storeFS) Stat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, pathErr("stat", name, fs.ErrInvalid)
	}
	if name == "." {
		return fileInfo{name: ".", dir: true}, nil
	}
	oi, err := f.s.stat(f.ctx, name)
	if err == nil {
		return fileInfo{name: path.Base(name), size: oi.Size, mod: oi.LastModified}, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, pathErr("stat", name, err)
	}
	if _, derr := f.readDir(name); derr != nil {
		return nil, pathErr("stat", name, derr)
	}
	return fileInfo{name: path.Base(name), dir: true}, nil
}

func (f *storeFS) ReadFile(name string) ([]byte, error) {
	if !fs.ValidPath(name) || name == "." {
		return nil, pathErr("readfile", name, fs.ErrInvalid)
	}
	b, err := f.s.ReadFile(f.ctx, name)
	if err != nil {
		return nil, pathErr("readfile", name, err)
	}
	return b, nil
}

type fileInfo struct {
	name string
	size int64
	mod  time.Time
	dir  bool
}

func (i fileInfo) Name() string       { return i.name }
func (i fileInfo) Size() int64        { return i.size }
func (i fileInfo) ModTime() time.Time { return i.mod }
func (i fileInfo) IsDir() bool        { return i.dir }
func (i fileInfo) Sys() any           { return nil }
func (i fileInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}

// fsFile is an object opened through FS.
type fsFile struct {
	*Object
	name string
}

func (f *fsFile) Stat() (fs.FileInfo, error) {
	return fileInfo{name: f.name, size: f.Size(), mod: f.ModTime()}, nil
}

// fsDir is a directory opened through FS.
type fsDir struct {
	name string
	ents []fs.DirEntry
	off  int
}

func (d *fsDir) Stat() (fs.FileInfo, error) { return fileInfo{name: d.name, dir: true}, nil }
func (d *fsDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: errors.New("is a directory")}
}
func (d *fsDir) Close() error { return nil }

func (d *fsDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.ents[d.off:]
	if n <= 0 {
		d.off = len(d.ents)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(rest))
	d.off += n
	return rest[:n], nil
}
