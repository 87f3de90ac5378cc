//go:build unix

package datadir

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

var errWouldBlock = errors.New("lock held elsewhere")

// setLock takes a write lock on the whole file with fcntl, as arangod does (lockCommands says
// which kind: on Linux an open-file-description lock, which conflicts with arangod's
// traditional lock and with other descriptions in this process; elsewhere the traditional
// lock, which never conflicts within one process, so the registry in datadir.go covers that).
func setLock(f *os.File) error {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
	err := unix.FcntlFlock(f.Fd(), setLockCmd, &lk)
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EACCES) {
		return errWouldBlock
	}
	return err
}

// testLock asks whether a write lock could be placed. The pid is that of a traditional lock's
// owner (arangod); OFD locks report -1. Where traditional locks are used, the probe's own
// descriptor is closed afterwards, which would drop a lock this process held: IsLocked and
// Lock consult the registry first.
func testLock(f *os.File) (bool, int, error) {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
	if err := unix.FcntlFlock(f.Fd(), getLockCmd, &lk); err != nil {
		return false, 0, err
	}
	if lk.Type == unix.F_UNLCK {
		return false, 0, nil
	}
	return true, int(lk.Pid), nil
}
