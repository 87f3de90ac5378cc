//go:build unix

package physical

import (
	"io/fs"
	"syscall"
)

// inodeKey identifies a file with several names (hard links); ok is false for
// files with one name.
func inodeKey(fi fs.FileInfo) (key [2]uint64, ok bool) {
	st, isStat := fi.Sys().(*syscall.Stat_t)
	if !isStat || st.Nlink < 2 {
		return key, false
	}
	return [2]uint64{uint64(st.Dev), uint64(st.Ino)}, true
}
