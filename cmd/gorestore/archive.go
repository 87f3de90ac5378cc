package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/arangobackup/godump/internal/s3dump"
)

// openArchive opens what gorestore --archive reads: a file, or stdin for "-" (which must not
// be a terminal). It returns the reader and the name messages use.
func openArchive(ctx context.Context, name string, s3o *s3dump.Options) (io.ReadCloser, string, error) {
	if s3dump.IsURL(name) {
		st, key, err := s3o.OpenObject(ctx, name)
		if err != nil {
			return nil, "", fmt.Errorf("archive %s: %w", name, err)
		}
		rc, err := st.Open(key)
		if err != nil {
			return nil, "", fmt.Errorf("archive %s: %w", name, err)
		}
		return readCloser{bufio.NewReaderSize(rc, 1<<20), rc}, name, nil
	}
	if name == "-" {
		if term.IsTerminal(int(os.Stdin.Fd())) {
			return nil, "", fmt.Errorf("--archive -: stdin is a terminal; pipe the archive in (godump --archive - ... | gorestore --archive - ...) or name its file")
		}
		return readCloser{bufio.NewReaderSize(os.Stdin, 1<<20), io.NopCloser(nil)}, "stdin", nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, "", fmt.Errorf("open archive: %w", err)
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, "", fmt.Errorf("--archive %s is a directory: restore a dump directory with --input-directory", name)
	}
	return readCloser{bufio.NewReaderSize(f, 1<<20), f}, name, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}
