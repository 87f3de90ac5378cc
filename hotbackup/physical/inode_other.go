//go:build !unix

package physical

import "io/fs"

func inodeKey(fi fs.FileInfo) (key [2]uint64, ok bool) { return key, false }
