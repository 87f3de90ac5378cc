//go:build unix && !linux

package datadir

import "golang.org/x/sys/unix"

// Traditional fcntl locks, as arangod takes them.
const (
	setLockCmd = unix.F_SETLK
	getLockCmd = unix.F_GETLK
)
