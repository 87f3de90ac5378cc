//go:build linux

package physical

import (
	"os"

	"golang.org/x/sys/unix"
)

// reflink clones src's content into dst (FICLONE; btrfs, XFS, bcachefs...).
func reflink(dst, src *os.File) error {
	return unix.IoctlFileClone(int(dst.Fd()), int(src.Fd()))
}
