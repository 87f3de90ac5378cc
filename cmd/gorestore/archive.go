package main

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// openArchive opens what gorestore --archive reads: a file, or stdin for "-" (which must not
// be a terminal). It returns the reader and the name messages use.
func openArchive(name string) (io.ReadCloser, string, error) {
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
