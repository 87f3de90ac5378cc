//go:build unix && !linux

package datadir

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

var errWouldBlock = errors.New("lock held elsewhere")

// setLock takes a traditional fcntl write lock on the whole file, as arangod
// does. Such locks never conflict within one process; the registry in
// datadir.go covers that case.
func setLock(f *os.File) error {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
	err := unix.FcntlFlock(f.Fd(), unix.F_SETLK, &lk)
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
		return errWouldBlock
	}
	return err
}

// testLock asks (F_GETLK) whether a write lock could be placed. Note that the
// probe's own descriptor is closed afterwards, which would drop a traditional
// lock this process held: IsLocked and Lock consult the registry first.
func testLock(f *os.File) (bool, int, error) {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
	if err := unix.FcntlFlock(f.Fd(), unix.F_GETLK, &lk); err != nil {
		return false, 0, err
	}
	if lk.Type == unix.F_UNLCK {
		return false, 0, nil
	}
	return true, int(lk.Pid), nil
}
