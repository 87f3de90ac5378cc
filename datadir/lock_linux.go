//go:build linux

package datadir

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

var errWouldBlock = errors.New("lock held elsewhere")

// setLock takes an open-file-description write lock on the whole file; it
// conflicts with arangod's traditional fcntl lock and with other descriptions
// in this process.
func setLock(f *os.File) error {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
	err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk)
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
		return errWouldBlock
	}
	return err
}

// testLock asks (F_OFD_GETLK) whether a write lock could be placed. The pid is
// that of a traditional lock's owner (arangod); OFD locks report -1.
func testLock(f *os.File) (bool, int, error) {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_GETLK, &lk); err != nil {
		return false, 0, err
	}
	if lk.Type == unix.F_UNLCK {
		return false, 0, nil
	}
	return true, int(lk.Pid), nil
}
