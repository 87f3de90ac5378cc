// Package physical is the physical (cold) backup of ArangoDB data directories:
// a copy of every file of a stopped server's data directory (or of each
// process's directory of a cluster), with its layout, permissions, symlinks and
// hard links, and a manifest holding the SHA-256 of every file; and the
// restore of such a copy, which verifies the whole manifest before it touches
// the target.
//
// Safety comes from the data directory's LOCK (package datadir): both Backup
// and Restore take the lock a server takes on start, so they refuse while a
// server runs on the directory, and a server started during the copy refuses
// to start. The LOCK file itself is not copied.
//
// It is not the hot backup (package hotbackup), which asks a running server
// for a consistent snapshot.
package physical

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ManifestName is the manifest's file name in a backup directory.
const ManifestName = "manifest.json"

// Format and FormatVersion identify the manifest.
const (
	Format        = "godump-physical-backup"
	FormatVersion = 1
)

// Entry types.
const (
	TypeDir      = "dir"
	TypeFile     = "file"
	TypeSymlink  = "symlink"
	TypeHardlink = "hardlink" // another name of an earlier file entry (LinkTo)
)

// Errors; match with errors.Is.
var (
	// ErrMismatch: the backup's files do not match its manifest.
	ErrMismatch = errors.New("backup does not match its manifest")
	// ErrNotEmpty: the restore target holds files (use Overwrite).
	ErrNotEmpty = errors.New("data directory is not empty")
	// ErrBadManifest: the manifest is unreadable or unsafe.
	ErrBadManifest = errors.New("invalid manifest")
)

// Manifest describes a physical backup.
type Manifest struct {
	Format        string    `json:"format"`
	FormatVersion int       `json:"formatVersion"`
	CreatedAt     time.Time `json:"createdAt"`
	Files         int       `json:"files"` // regular files, all directories together
	Bytes         int64     `json:"bytes"`
	DataDirs      []DataDir `json:"dataDirs"`
}

// DataDir is one data directory of the backup.
type DataDir struct {
	Source  string  `json:"source"` // the directory copied (absolute)
	Dir     string  `json:"dir"`    // its copy, relative to the backup directory
	Entries []Entry `json:"entries"`
}

// Entry is one file system object, Path relative to its data directory,
// slash-separated ("." is the directory itself).
type Entry struct {
	Path    string    `json:"path"`
	Type    string    `json:"type"`
	Mode    string    `json:"mode,omitempty"` // octal permission bits (with setuid/setgid/sticky)
	Size    int64     `json:"size,omitempty"`
	SHA256  string    `json:"sha256,omitempty"`
	ModTime time.Time `json:"mtime,omitzero"`
	Target  string    `json:"target,omitempty"` // symlink target
	LinkTo  string    `json:"linkTo,omitempty"` // hard link: path of the first name
}

func modeString(m fs.FileMode) string {
	v := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		v |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		v |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		v |= 0o1000
	}
	return fmt.Sprintf("%04o", v)
}

func parseMode(s string) (fs.FileMode, error) {
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v > 0o7777 {
		return 0, fmt.Errorf("bad mode %q", s)
	}
	m := fs.FileMode(v & 0o777)
	if v&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if v&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if v&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m, nil
}

// safeRel checks that p is a clean relative slash path inside its root.
func safeRel(p string) bool {
	if p == "." {
		return true
	}
	return p != "" && !strings.HasPrefix(p, "/") && path.Clean(p) == p && p != ".." &&
		!strings.HasPrefix(p, "../") && !strings.Contains(p, "\\") && filepath.IsLocal(filepath.FromSlash(p))
}

// ReadManifest reads and checks the manifest of the backup in dir.
func ReadManifest(dir string) (*Manifest, error) {
	file := filepath.Join(dir, ManifestName)
	data, err := os.ReadFile(file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w: no manifest (not a physical backup, or an interrupted one)", file, ErrBadManifest)
		}
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	return ParseManifest(file, data)
}

// ParseManifest decodes and checks a manifest read from file (named in errors).
func ParseManifest(file string, data []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", file, ErrBadManifest, err)
	}
	if m.Format != Format || m.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("%s: %w: format %q version %d, want %q version %d", file, ErrBadManifest, m.Format, m.FormatVersion, Format, FormatVersion)
	}
	if len(m.DataDirs) == 0 {
		return nil, fmt.Errorf("%s: %w: no data directories", file, ErrBadManifest)
	}
	for i, d := range m.DataDirs {
		if !safeRel(d.Dir) || d.Dir == "." {
			return nil, fmt.Errorf("%s: %w: data directory %d has unsafe dir %q", file, ErrBadManifest, i, d.Dir)
		}
		files := map[string]bool{}
		seen := map[string]string{} // path -> type
		for k, e := range d.Entries {
			bad := ""
			switch {
			case !safeRel(e.Path):
				bad = "unsafe path"
			case k == 0 && (e.Path != "." || e.Type != TypeDir):
				bad = "the first entry must be the root directory \".\""
			case k > 0 && e.Path == ".":
				bad = "root listed twice"
			case seen[e.Path] != "":
				bad = "listed twice"
			case k > 0 && seen[path.Dir(e.Path)] != TypeDir:
				// Every entry lies in a directory listed before it: nothing may
				// be written through a symlink (or outside the target).
				bad = "its parent is not a directory listed before it"
			case e.Type == TypeFile:
				if len(e.SHA256) != 64 || e.Size < 0 {
					bad = "file without sha256 or size"
				}
				files[e.Path] = true
			case e.Type == TypeHardlink:
				if !files[e.LinkTo] {
					bad = fmt.Sprintf("hard link to unknown file %q", e.LinkTo)
				}
			case e.Type == TypeSymlink:
				if e.Target == "" {
					bad = "symlink without target"
				}
			case e.Type == TypeDir:
			default:
				bad = fmt.Sprintf("unknown type %q", e.Type)
			}
			if bad == "" && e.Type != TypeSymlink && e.Type != TypeHardlink {
				if _, err := parseMode(e.Mode); err != nil {
					bad = err.Error()
				}
			}
			if bad != "" {
				return nil, fmt.Errorf("%s: %w: data directory %d, entry %q: %s", file, ErrBadManifest, i, e.Path, bad)
			}
			seen[e.Path] = e.Type
		}
	}
	return &m, nil
}

// writeManifest writes m atomically: a backup without a manifest is
// unfinished and restores refuse it.
func writeManifest(dir string, m *Manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, ManifestName+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	// 0600 whatever the umask (or an older temporary's mode): the manifest lists the data
	// directory's files.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write manifest %s: %w", tmp, err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("write manifest %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync manifest %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close manifest %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, ManifestName)); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
