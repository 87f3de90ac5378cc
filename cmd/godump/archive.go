package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/term"

	"github.com/arangobackup/godump/format"
	"github.com/arangobackup/godump/internal/s3dump"
	"github.com/arangobackup/godump/objstore"
)

// archiveFile is where godump --archive writes: a file, written under a temporary name and
// renamed when complete (a failed or interrupted dump leaves no archive under the name), or
// stdout.
type archiveFile struct {
	name   string // for messages
	final  string // the file's name; "" for stdout or an object
	f      *os.File
	upload *objstore.Upload // an s3:// archive: one multipart upload, visible at Commit
	buf    *bufio.Writer
}

// openArchive opens the archive's destination: "-" is stdout, which must not be a terminal.
func openArchive(ctx context.Context, name string, overwrite bool, stdout io.Writer, s3o *s3dump.Options) (*archiveFile, error) {
	if s3dump.IsURL(name) {
		st, key, err := s3o.OpenObject(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("archive %s: %w", name, err)
		}
		if _, err := st.Size(key); err == nil && !overwrite {
			return nil, fmt.Errorf("archive %s already exists; use \"--overwrite true\" to replace it", name)
		}
		u, err := st.Objects().Create(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("archive %s: %w", name, err)
		}
		return &archiveFile{name: name, upload: u, buf: bufio.NewWriterSize(u, 1<<20)}, nil
	}
	if name == "-" {
		if f, ok := stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return nil, fmt.Errorf("--archive -: stdout is a terminal; redirect it to a file or a pipe (godump --archive - ... | gorestore --archive - ...)")
		}
		return &archiveFile{name: "stdout", buf: bufio.NewWriterSize(stdout, 1<<20)}, nil
	}
	if st, err := os.Stat(name); err == nil {
		if st.IsDir() {
			return nil, fmt.Errorf("--archive %s is a directory (use --output-directory for a dump directory)", name)
		}
		if !overwrite {
			return nil, fmt.Errorf("archive %s already exists; use \"--overwrite true\" to replace it", name)
		}
	}
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".godump-tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create archive %s: %w", name, err)
	}
	if err := f.Chmod(format.FileMode); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("create archive %s: %w", name, err)
	}
	return &archiveFile{name: name, final: name, f: f, buf: bufio.NewWriterSize(f, 1<<20)}, nil
}

func (a *archiveFile) Write(p []byte) (int, error) { return a.buf.Write(p) }

// finish completes the archive after the dump returned err: flushed, and for a file fsynced
// and renamed into place; after a failure the temporary file is removed.
func (a *archiveFile) finish(err error) error {
	ferr := a.buf.Flush()
	if a.upload != nil {
		if err == nil {
			err = ferr
		}
		if err == nil {
			_, _, err = a.upload.Commit()
		}
		if err != nil {
			_ = a.upload.Abort()
			return fmt.Errorf("%w (no archive was written to %s)", err, a.name)
		}
		return nil
	}
	if a.f == nil {
		if err == nil && ferr != nil {
			return fmt.Errorf("write archive to stdout: %w", ferr)
		}
		return err
	}
	if err == nil {
		err = ferr
	}
	if err == nil {
		err = a.f.Sync()
	}
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(a.f.Name(), a.final)
	}
	if err != nil {
		os.Remove(a.f.Name())
		return fmt.Errorf("%w (no archive was written to %s)", err, a.final)
	}
	if d, derr := os.Open(filepath.Dir(a.final)); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
