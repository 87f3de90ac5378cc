package format

import (
	"errors"
	"io"
	"os"
	"path/filepath"
)

// Store holds the files of one database's dump directory for a Writer: a local directory
// (NewWriter) or an object-store prefix (NewStoreWriter, with godump --output-directory
// s3://...). Names are base names inside it.
type Store interface {
	// String names the store in messages (a path or a URL, never a secret).
	String() string
	// Path names one file in messages.
	Path(name string) string
	// List returns the names of the files directly in the store (no directories).
	List() ([]string, error)
	// WriteFile writes a small file whole, replacing any file of that name; a reader sees
	// the old or the new content, never part of it.
	WriteFile(name string, data []byte) error
	// Create starts a file that appears under name only at Commit (Abort leaves nothing).
	Create(name string) (StoreFile, error)
	// Open reads a file (fs.ErrNotExist when missing).
	Open(name string) (io.ReadCloser, error)
	// Remove deletes a file; a missing one is no error.
	Remove(name string) error
	// Sync makes the files committed so far durable (before the completion marker).
	Sync() error
}

// StoreFile is a file being written into a Store.
type StoreFile interface {
	io.Writer
	// Commit makes the file durable and visible under its name.
	Commit() error
	// Abort drops it.
	Abort() error
}

// dirStore is a local directory: files are written under temporary names (tmpPrefix),
// fsynced and renamed into place, with FileMode.
type dirStore struct{ dir string }

func (d dirStore) String() string          { return d.dir }
func (d dirStore) Path(name string) string { return filepath.Join(d.dir, name) }

func (d dirStore) List() ([]string, error) {
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

func (d dirStore) createTemp() (*os.File, error) {
	f, err := os.CreateTemp(d.dir, tmpPrefix+"*")
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(FileMode); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

func (d dirStore) WriteFile(name string, content []byte) error {
	f, err := d.createTemp()
	if err != nil {
		return err
	}
	_, err = f.Write(content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), FileMode)
	}
	if err == nil {
		err = os.Rename(f.Name(), d.Path(name))
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

func (d dirStore) Create(name string) (StoreFile, error) {
	f, err := d.createTemp()
	if err != nil {
		return nil, err
	}
	return &dirFile{f: f, final: d.Path(name)}, nil
}

func (d dirStore) Open(name string) (io.ReadCloser, error) { return os.Open(d.Path(name)) }

func (d dirStore) Remove(name string) error {
	if err := os.Remove(d.Path(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func (d dirStore) Sync() error { return syncDir(d.dir) }

// dirFile is a data file being written under a temporary name.
type dirFile struct {
	f     *os.File
	final string
}

func (f *dirFile) Write(p []byte) (int, error) { return f.f.Write(p) }

func (f *dirFile) Commit() error {
	err := f.f.Sync()
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.f.Name(), FileMode)
	}
	if err == nil {
		err = os.Rename(f.f.Name(), f.final)
	}
	if err != nil {
		os.Remove(f.f.Name())
	}
	return err
}

func (f *dirFile) Abort() error {
	f.f.Close()
	if err := os.Remove(f.f.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// readManifestFrom reads the manifest of a store; (nil, nil) when absent.
func readManifestFrom(s Store) (*Manifest, error) {
	if ds, ok := s.(dirStore); ok {
		return ReadManifest(ds.dir)
	}
	rc, err := s.Open(ManifestFileName)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &Error{File: s.Path(ManifestFileName), Err: err}
	}
	defer rc.Close()
	b, err := ReadMetaFile(rc)
	if err != nil {
		return nil, &Error{File: s.Path(ManifestFileName), Err: err}
	}
	m, err := ParseManifest(b)
	if err != nil {
		return nil, fileError(s.Path(ManifestFileName), b, err)
	}
	return m, nil
}

// verifyIn checks a file of a store against its manifest entry (ErrChecksum).
func verifyIn(s Store, mf ManifestFile) error {
	return VerifyDataFile(DataFile{Path: s.Path(mf.Name), Open: func() (io.ReadCloser, error) { return s.Open(mf.Name) }}, mf)
}

// StoreTree is a Store with subdirectories (the database directories of an --all-databases
// dump on an object store).
type StoreTree interface {
	Store
	Sub(dir string) Store
}
