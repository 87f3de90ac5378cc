package format

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strings"
)

// IsTraditionalName reports whether name passes ArangoDB's traditional
// collection-name rules (system names with a leading '_' allowed; extended
// Unicode names not): [A-Za-z_][A-Za-z0-9_-]*, at most 256 bytes.
func IsTraditionalName(name string) bool {
	if name == "" || len(name) > 256 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case (c >= '0' && c <= '9') || c == '-':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// NameMD5 is the lower-case hex MD5 of a collection name, as used in file
// names.
func NameMD5(name string) string {
	h := md5.Sum([]byte(name))
	return hex.EncodeToString(h[:])
}

// EscapedName is the name arangodump uses in file names: the name itself if
// it is a traditional name, else the collection (or view, or database) id.
// With neither, the MD5 of the name is used (arangodump would use a random
// number; any safe, stable choice restores the same way).
func EscapedName(name, id string) string {
	if IsTraditionalName(name) {
		return name
	}
	if id != "" && safeFileStem(id) {
		return id
	}
	return NameMD5(name)
}

// StructureFileName is the structure file name of a collection:
// <escaped>_<md5>.structure.json on a single server, <escaped>.structure.json
// in a cluster.
func StructureFileName(name, id string, cluster bool) string {
	esc := EscapedName(name, id)
	if cluster {
		return esc + ".structure.json"
	}
	return esc + "_" + NameMD5(name) + ".structure.json"
}

// DataFileName is the name of a data file: <escaped>_<md5>[.<part>].data.json
// (.data.vpack with vpack), plus .gz when compressed. part < 0: not split.
func DataFileName(name, id string, part int, compress, vpack bool) string {
	var b strings.Builder
	b.WriteString(DataFileStem(name, id))
	if part >= 0 {
		fmt.Fprintf(&b, ".%d", part)
	}
	if vpack {
		b.WriteString(".data.vpack")
	} else {
		b.WriteString(".data.json")
	}
	if compress {
		b.WriteString(".gz")
	}
	return b.String()
}

// DataFileStem is what every data file name of a collection starts with: <escaped>_<md5>.
func DataFileStem(name, id string) string {
	return EscapedName(name, id) + "_" + NameMD5(name)
}

// ViewFileName is <escaped view name>.view.json.
func ViewFileName(name, id string) string {
	return EscapedName(name, id) + ".view.json"
}

// DatabaseDirName is the subdirectory of a database in an --all-databases
// dump: its name if traditional, else its id.
func DatabaseDirName(name, id string) string {
	return EscapedName(name, id)
}

// safeName reports whether a collection, view or database name can be used
// in a file name without leaving the directory.
func safeName(name string) bool {
	if name == "" || name == "." || name == ".." {
		return false
	}
	return !strings.ContainsAny(name, "/\\\x00")
}

// safeFileStem is safeName without a leading dot (no hidden files either).
func safeFileStem(s string) bool {
	return safeName(s) && !strings.HasPrefix(s, ".")
}
