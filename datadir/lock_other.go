//go:build !unix

package datadir

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("lock held elsewhere")

var errUnsupported = errors.New("data directory locks are only supported on Unix")

func setLock(f *os.File) error { return errUnsupported }

func testLock(f *os.File) (bool, int, error) { return false, 0, errUnsupported }
