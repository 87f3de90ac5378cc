//go:build linux

package datadir

import "golang.org/x/sys/unix"

// Open-file-description locks: they conflict with arangod's traditional fcntl lock, and also
// between two descriptions in one process, so an in-process server and the tool see each other.
const (
	setLockCmd = unix.F_OFD_SETLK
	getLockCmd = unix.F_OFD_GETLK
)
