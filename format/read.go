package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Open inspects a dump directory. It recognises an --all-databases dump (no
// dump files at the top level, subdirectories holding dump.json, ENCRYPTION or
// structure files) and otherwise treats dir as one database. It refuses
// encrypted dumps (ErrEncrypted) and hostile names (ErrUnsafeName), always as
// *Error naming the file.
func Open(dir string) (*Dump, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("open dump: %w", err)
	}
	if !st.IsDir() {
		return nil, &Error{File: dir, Err: fmt.Errorf("%w: not a directory", ErrNotDump)}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open dump: %w", err)
	}
	d := &Dump{Dir: dir}
	if hasDumpMetadata(entries) {
		db, err := OpenDatabase(dir)
		if err != nil {
			return nil, err
		}
		d.Encryption = db.Encryption
		d.Databases = []*Database{db}
		d.Warnings = append(d.Warnings, db.Warnings...)
		d.Manifest = db.Manifest
		return d, nil
	}
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("open dump: %w", err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if e.Type()&fs.ModeSymlink != 0 {
			if err := checkInside(root, p); err != nil {
				return nil, err
			}
		}
		st, err := os.Stat(p)
		if err != nil || !st.IsDir() {
			continue
		}
		sub, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("open dump: %w", err)
		}
		if !isDatabaseDir(sub) {
			continue
		}
		db, err := OpenDatabase(p)
		if err != nil {
			return nil, err
		}
		d.Databases = append(d.Databases, db)
		for _, w := range db.Warnings {
			d.Warnings = append(d.Warnings, "database "+db.Name+": "+w)
		}
	}
	if len(d.Databases) == 0 {
		if isDatabaseDir(entries) { // only an ENCRYPTION file: an empty dump
			db, err := OpenDatabase(dir)
			if err != nil {
				return nil, err
			}
			d.Encryption = db.Encryption
			d.Databases = []*Database{db}
			return d, nil
		}
		return nil, &Error{File: dir, Err: fmt.Errorf("%w: no ENCRYPTION, dump.json or structure files, and no database subdirectories", ErrNotDump)}
	}
	// arangodump --all-databases may leave an ENCRYPTION file at the top.
	for _, e := range entries {
		if e.Name() == EncryptionFileName && !e.IsDir() {
			enc, err := readEncryption(dir)
			if err != nil {
				return nil, err
			}
			d.Encryption = enc
		}
	}
	d.AllDatabases = true
	// arangorestore: alphabetical, _system last.
	sort.SliceStable(d.Databases, func(i, j int) bool {
		a, b := d.Databases[i].Name, d.Databases[j].Name
		if (a == "_system") != (b == "_system") {
			return b == "_system"
		}
		return a < b
	})
	return d, nil
}

// hasDumpMetadata reports whether the entries hold a database's own files
// (dump.json, structure or view files), as opposed to only ENCRYPTION.
func hasDumpMetadata(entries []fs.DirEntry) bool {
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && (n == DumpJSONFileName || strings.HasSuffix(n, ".structure.json") || strings.HasSuffix(n, ".view.json")) {
			return true
		}
	}
	return false
}

// isDatabaseDir reports whether the entries hold dump files.
func isDatabaseDir(entries []fs.DirEntry) bool {
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() {
			continue
		}
		if n == DumpJSONFileName || n == EncryptionFileName || strings.HasSuffix(n, ".structure.json") || strings.HasSuffix(n, ".view.json") {
			return true
		}
	}
	return false
}

// checkInside refuses a symlink whose target leaves root.
func checkInside(root, p string) error {
	t, err := filepath.EvalSymlinks(p)
	if err != nil {
		return &Error{File: p, Err: err}
	}
	rel, err := filepath.Rel(root, t)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return &Error{File: p, Err: fmt.Errorf("%w: symlink points to %s", ErrUnsafeName, t)}
	}
	return nil
}

// OpenDatabase inspects one database directory (a plain dump, or one
// subdirectory of an --all-databases dump).
func OpenDatabase(dir string) (*Database, error) {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("open dump database: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open dump database: %w", err)
	}
	db := &Database{Dir: dir}
	files := map[string]bool{} // regular files (or symlinks to regular files inside the dump)
	var names []string
	for _, e := range entries {
		n := e.Name()
		p := filepath.Join(dir, n)
		if strings.HasPrefix(n, tmpPrefix) && e.Type().IsRegular() {
			db.Temporaries = append(db.Temporaries, p)
			continue
		}
		if e.Type()&fs.ModeSymlink != 0 {
			if !isDumpFileName(n) {
				continue
			}
			if err := checkInside(root, p); err != nil {
				return nil, err
			}
			st, err := os.Stat(p)
			if err != nil {
				return nil, &Error{File: p, Err: err}
			}
			if !st.Mode().IsRegular() {
				continue
			}
		} else if !e.Type().IsRegular() {
			continue
		}
		files[n] = true
		names = append(names, n)
	}
	sort.Strings(names)

	// ENCRYPTION
	if files[EncryptionFileName] {
		enc, err := readEncryption(dir)
		if err != nil {
			return nil, err
		}
		db.Encryption = enc
	}
	// dump.json
	if files[DumpJSONFileName] {
		p := filepath.Join(dir, DumpJSONFileName)
		b, err := readMetaFile(p)
		if err != nil {
			return nil, &Error{File: p, Err: err}
		}
		m, err := ParseDumpJSON(b)
		if err != nil {
			return nil, fileError(p, b, err)
		}
		db.Meta = m
	}
	db.Name = filepath.Base(dir)
	if db.Meta != nil {
		if n := db.Meta.PropertyName(); n != "" {
			db.Name = n
		} else if db.Meta.Database != "" {
			db.Name = db.Meta.Database
		}
	}
	// Our manifest.
	if files[ManifestFileName] {
		m, err := ReadManifest(dir)
		if err != nil {
			return nil, err
		}
		db.Manifest = m
	}

	used := map[string]bool{}
	for _, n := range names {
		switch {
		case strings.HasSuffix(n, ".view.json"):
			p := filepath.Join(dir, n)
			b, err := readMetaFile(p)
			if err != nil {
				return nil, &Error{File: p, Err: err}
			}
			v, err := ParseView(b)
			if err != nil {
				return nil, fileError(p, b, err)
			}
			v.File = p
			if v.Name == "" {
				v.Name = strings.TrimSuffix(n, ".view.json")
			}
			db.Views = append(db.Views, v)
		case strings.HasSuffix(n, ".structure.json"):
			p := filepath.Join(dir, n)
			b, err := readMetaFile(p)
			if err != nil {
				return nil, &Error{File: p, Err: err}
			}
			c, err := ParseStructure(b)
			if err != nil {
				return nil, fileError(p, b, err)
			}
			c.StructureFile = p
			stem := strings.TrimSuffix(n, ".structure.json")
			esc := EscapedName(c.Name, c.ID)
			md := NameMD5(c.Name)
			if stem != c.Name && stem != esc && stem != c.Name+"_"+md && stem != esc+"_"+md {
				return nil, &Error{File: p, Err: fmt.Errorf("collection name mismatch: file name does not belong to collection %q", c.Name)}
			}
			if prev := db.Collection(c.Name); prev != nil {
				return nil, &Error{File: p, Err: fmt.Errorf("collection %q is also described by %s", c.Name, prev.StructureFile)}
			}
			c.DataFiles, db.Warnings = findDataFiles(dir, c.Name, esc, files, used, db.Warnings)
			db.Collections = append(db.Collections, c)
		}
	}
	for _, n := range names {
		if isDataFileName(n) && !used[n] {
			db.Warnings = append(db.Warnings, fmt.Sprintf("data file %s belongs to no collection in the dump; it is ignored", filepath.Join(dir, n)))
		}
	}
	SortForCreation(db.Collections)
	sort.Slice(db.Views, func(i, j int) bool { return db.Views[i].Name < db.Views[j].Name })
	return db, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func isDumpFileName(n string) bool {
	return IsMetaFileName(n) || isDataFileName(n)
}

// IsMetaFileName reports whether a base name is one of a dump's small files: dump.json,
// ENCRYPTION, our manifest, a structure or a view file.
func IsMetaFileName(n string) bool {
	return n == DumpJSONFileName || n == EncryptionFileName || n == ManifestFileName ||
		strings.HasSuffix(n, ".structure.json") || strings.HasSuffix(n, ".view.json")
}

// IsDataFileName reports whether a base name is a data file's (JSON or VelocyPack, plain or
// gzipped, split or not).
func IsDataFileName(n string) bool { return isDataFileName(n) }

func isDataFileName(n string) bool {
	n = strings.TrimSuffix(n, ".gz")
	return strings.HasSuffix(n, ".data.json") || strings.HasSuffix(n, ".data.vpack")
}

// findDataFiles applies arangorestore's lookup order (SPEC.md, "Data file
// lookup"): the first candidate that exists wins; other existing candidates
// produce a warning naming both files.
func findDataFiles(dir, name, esc string, files, used map[string]bool, warnings []string) ([]DataFile, []string) {
	hashed := esc + "_" + NameMD5(name) // DataFileStem, from the escaped name already made
	type group struct {
		files []DataFile
	}
	single := func(base string, vpack, gz bool) group {
		if !files[base] {
			return group{}
		}
		return group{[]DataFile{{Path: filepath.Join(dir, base), Name: base, Compressed: gz, VPack: vpack, Part: -1}}}
	}
	split := func(ext string, vpack bool) group {
		// Parts n = 0,1,2,... in order; each part may be gzipped or not.
		var g group
		for n := 0; ; n++ {
			plain := fmt.Sprintf("%s.%d%s", hashed, n, ext)
			gz := plain + ".gz"
			switch {
			case files[gz]:
				g.files = append(g.files, DataFile{Path: filepath.Join(dir, gz), Name: gz, Compressed: true, VPack: vpack, Part: n})
				if files[plain] {
					warnings = append(warnings, fmt.Sprintf("collection %q: both %s and %s exist; using %s", name, filepath.Join(dir, gz), filepath.Join(dir, plain), gz))
					used[plain] = true
				}
			case files[plain]:
				g.files = append(g.files, DataFile{Path: filepath.Join(dir, plain), Name: plain, VPack: vpack, Part: n})
			default:
				return g
			}
		}
	}
	groups := []group{
		single(hashed+".data.json", false, false),
		single(hashed+".data.json.gz", false, true),
		single(esc+".data.json.gz", false, true),
		split(".data.json", false),
		single(esc+".data.json", false, false),
		single(hashed+".data.vpack", true, false),
		single(hashed+".data.vpack.gz", true, true),
		split(".data.vpack", true),
	}
	var chosen []DataFile
	for _, g := range groups {
		if len(g.files) == 0 {
			continue
		}
		for _, f := range g.files {
			used[f.Name] = true
		}
		if chosen == nil {
			chosen = g.files
			continue
		}
		warnings = append(warnings, fmt.Sprintf("collection %q: data files %s and %s both exist; using %s (as arangorestore does), ignoring %s",
			name, chosen[0].Path, g.files[0].Path, chosen[0].Name, g.files[0].Name))
	}
	// Split parts after a gap are not read by arangorestore; say so.
	for n := range files {
		if used[n] || !strings.HasPrefix(n, hashed+".") || !isDataFileName(n) {
			continue
		}
		rest := strings.TrimPrefix(n, hashed+".")
		if i := strings.IndexByte(rest, '.'); i > 0 {
			if _, err := strconv.Atoi(rest[:i]); err == nil {
				used[n] = true
				warnings = append(warnings, fmt.Sprintf("collection %q: split data file %s follows a missing part; it is not read (as arangorestore does)", name, filepath.Join(dir, n)))
			}
		}
	}
	return chosen, warnings
}

// SortForCreation sorts collections in arangorestore's creation order:
// collections without distributeShardsLike first, then document before edge
// collections, then system before user collections, then by name ignoring
// case.
func SortForCreation(cs []*Collection) {
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if (a.DistributeShardsLike == "") != (b.DistributeShardsLike == "") {
			return a.DistributeShardsLike == ""
		}
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if a.IsSystem != b.IsSystem {
			return a.IsSystem
		}
		la, lb := strings.ToLower(a.Name), strings.ToLower(b.Name)
		if la != lb {
			return la < lb
		}
		return a.Name < b.Name
	})
}

// fileError turns a parse error into *Error with the line of the JSON
// syntax error when known.
func fileError(path string, content []byte, err error) error {
	line := 0
	lineAt := func(off int64) int {
		c := content[:min(int(off), len(content))]
		if int(off) >= len(content) { // at the end: the last line, not the empty one after it
			c = bytes.TrimRight(c, "\r\n\t ")
		}
		return 1 + bytes.Count(c, []byte{'\n'})
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line = lineAt(se.Offset)
	}
	var ue *json.UnmarshalTypeError
	if errors.As(err, &ue) {
		line = lineAt(ue.Offset)
	}
	return &Error{File: path, Line: line, Err: err}
}

// maxMetaFile bounds the metadata files read whole (dump.json, structure,
// view and manifest files): real ones are kilobytes; a hostile one must not
// exhaust memory.
const maxMetaFile = 64 << 20

// readMetaFile reads a metadata file of at most maxMetaFile bytes.
func readMetaFile(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadMetaFile(f)
}

// ReadMetaFile reads a metadata file (dump.json, structure, view, manifest) whole from r,
// refusing one larger than maxMetaFile: real ones are kilobytes, a hostile one must not
// exhaust memory.
func ReadMetaFile(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxMetaFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxMetaFile {
		return nil, fmt.Errorf("%w: file larger than %d MiB", ErrMetaTooLarge, maxMetaFile>>20)
	}
	return b, nil
}

// ErrMetaTooLarge: a metadata file is larger than any real one (ReadMetaFile).
var ErrMetaTooLarge = errors.New("metadata file too large")

// readEncryption reads dir's ENCRYPTION file: "none" or empty, or an *Error (ErrEncrypted
// for an encrypted dump, which this package cannot read).
func readEncryption(dir string) (string, error) {
	p := filepath.Join(dir, EncryptionFileName)
	b, err := readMetaFile(p)
	if err != nil {
		return "", &Error{File: p, Err: err}
	}
	enc := strings.TrimSpace(string(b))
	if enc != "" && enc != "none" {
		return "", &Error{File: p, Err: fmt.Errorf("%w (ENCRYPTION is %q)", ErrEncrypted, truncate(enc, 40))}
	}
	return enc, nil
}
