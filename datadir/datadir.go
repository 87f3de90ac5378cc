// Package datadir handles an ArangoDB data directory's LOCK file: the exclusive
// lock a running arangod (or arangotest) holds on DIR/LOCK, which tools such as
// the physical backup test to refuse touching a directory a server is using.
//
// It mirrors arangod (lib/Basics/files.cpp TRI_CreateLockFile and
// TRI_VerifyLockFile, used by the LockfileFeature on "<database.directory>/LOCK"):
// the file is created with O_CREAT|O_EXCL|O_RDWR|O_CLOEXEC and mode 0600, holds
// the owner's process id as decimal digits without a newline, and carries an
// fcntl(2) write lock over the whole file (F_SETLK, l_start 0, l_len 0). A stale
// LOCK file (nobody holds the lock) is removed and created anew. On shutdown the
// lock is released and the file removed.
//
// Traditional POSIX fcntl locks belong to a process: they never conflict within
// one process, and closing any descriptor of the file drops them. On Linux this
// package therefore uses open-file-description locks (F_OFD_SETLK), which
// conflict with arangod's traditional locks and also between two Lock calls (or
// a Lock and an IsLocked) inside one process, so an in-process test server and
// a tool in the same test binary see each other. Elsewhere on Unix it falls back
// to traditional locks plus a registry of the paths this process holds; there,
// only the registry protects against the same process, so cross-process
// behaviour must be tested with subprocesses.
//
// It is not a general purpose lock library and it does not protect against a
// server that is started after the check (see Lock for holding the directory
// during a copy).
package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// LockFileName is the name of the lock file inside a data directory.
const LockFileName = "LOCK"

// ErrLocked is returned (wrapped in a *LockedError) when another process, or
// another Lock in this process, holds the directory's lock.
var ErrLocked = errors.New("data directory is locked by a running process")

// LockedError says which directory is locked and, if known, by which process.
type LockedError struct {
	Dir string
	PID int // 0 if unknown
}

func (e *LockedError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("data directory %q is in use: %s is locked by process %d (is a server running on it? stop it first)",
			e.Dir, filepath.Join(e.Dir, LockFileName), e.PID)
	}
	return fmt.Sprintf("data directory %q is in use: %s is locked (is a server running on it? stop it first)",
		e.Dir, filepath.Join(e.Dir, LockFileName))
}

// Unwrap makes errors.Is(err, ErrLocked) work.
func (e *LockedError) Unwrap() error { return ErrLocked }

// Lockfile is a held lock on a data directory. Release it with Unlock.
type Lockfile struct {
	dir  string
	path string
	f    *os.File
	mu   sync.Mutex
}

// Dir returns the data directory the lock is held on.
func (l *Lockfile) Dir() string { return l.dir }

// Path returns the path of the LOCK file.
func (l *Lockfile) Path() string { return l.path }

// held records the lock files this process holds (needed where locks are
// per-process; harmless on Linux).
var (
	heldMu sync.Mutex
	held   = map[string]bool{}
)

func lockPath(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("data directory %q: %w", dir, err)
	}
	return filepath.Join(abs, LockFileName), nil
}

// Lock takes the exclusive lock on DIR/LOCK the way arangod does: if some
// process holds the lock on an existing LOCK file, it fails with a
// *LockedError (errors.Is(err, ErrLocked)); a stale LOCK file is taken over.
// The file then holds this process's id, mode 0600. The directory must exist.
func Lock(dir string) (*Lockfile, error) {
	path, err := lockPath(dir)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("lock data directory %q: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("lock data directory %q: not a directory", dir)
	}

	heldMu.Lock()
	defer heldMu.Unlock()
	if held[path] {
		return nil, &LockedError{Dir: dir, PID: os.Getpid()}
	}

	// Lock the file in place (creating it if needed) rather than removing a
	// stale one first as arangod does: whoever locks the inode first wins,
	// with no window between a check and a create.
	for attempt := 0; ; attempt++ {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600) // Go sets O_CLOEXEC itself
		if err != nil {
			return nil, fmt.Errorf("lock data directory %q: open %s: %w", dir, path, err)
		}
		if err := setLock(f); err != nil {
			f.Close()
			if errors.Is(err, errWouldBlock) {
				_, pid, _ := probe(path)
				return nil, &LockedError{Dir: dir, PID: pid}
			}
			return nil, fmt.Errorf("lock data directory %q: lock %s (does the file system support fcntl locks?): %w", dir, path, err)
		}
		// The file may have been replaced (a starting arangod removes a stale
		// LOCK) between our open and our lock: then we locked an orphan.
		fi, err1 := f.Stat()
		cur, err2 := os.Stat(path)
		if err1 != nil || err2 != nil || !os.SameFile(fi, cur) {
			f.Close()
			if attempt < 3 {
				continue
			}
			return nil, &LockedError{Dir: dir}
		}
		if err := f.Truncate(0); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock data directory %q: truncate %s: %w", dir, path, err)
		}
		if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())), 0); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock data directory %q: write %s: %w", dir, path, err)
		}
		_ = f.Chmod(0o600)
		held[path] = true
		return &Lockfile{dir: dir, path: path, f: f}, nil
	}
}

// Unlock releases the lock and removes the LOCK file, as arangod does on
// shutdown. Calling it twice is harmless.
func (l *Lockfile) Unlock() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	// Remove first, while we still hold the lock, so no one can see a stale
	// file with our pid after the lock is gone.
	rmErr := os.Remove(l.path)
	if errors.Is(rmErr, os.ErrNotExist) {
		rmErr = nil
	}
	clErr := l.f.Close() // closing releases the lock
	l.f = nil
	heldMu.Lock()
	delete(held, l.path)
	heldMu.Unlock()
	if rmErr != nil {
		return fmt.Errorf("unlock data directory %q: remove %s: %w", l.dir, l.path, rmErr)
	}
	if clErr != nil {
		return fmt.Errorf("unlock data directory %q: close %s: %w", l.dir, l.path, clErr)
	}
	return nil
}

// IsLocked tells whether a process holds the lock on DIR/LOCK, and its pid
// when known (from the lock itself or, failing that, from the file's content).
// A missing LOCK file, or one nobody holds, is not locked. IsLocked never
// takes the lock itself, so it cannot disturb a holder in this process.
func IsLocked(dir string) (bool, int, error) {
	path, err := lockPath(dir)
	if err != nil {
		return false, 0, err
	}
	heldMu.Lock()
	self := held[path]
	heldMu.Unlock()
	if self {
		return true, os.Getpid(), nil
	}
	locked, pid, err := probe(path)
	if err != nil {
		return false, 0, fmt.Errorf("check lock of data directory %q: %w", dir, err)
	}
	return locked, pid, nil
}

// probe reports whether path is locked by someone, without taking the lock.
func probe(path string) (bool, int, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrPermission) {
		f, err = os.Open(path)
	}
	if errors.Is(err, os.ErrNotExist) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	locked, lockPID, err := testLock(f)
	if err != nil {
		return false, 0, fmt.Errorf("test lock on %s (does the file system support fcntl locks?): %w", path, err)
	}
	if !locked {
		return false, 0, nil
	}
	if lockPID > 0 {
		return true, lockPID, nil
	}
	buf := make([]byte, 128)
	n, _ := f.ReadAt(buf, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	if err != nil || pid <= 0 {
		pid = 0
	}
	return true, pid, nil
}
