package format

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// ManifestVersion is the version of godump-manifest.json written.
const ManifestVersion = 1

// Manifest is godump-manifest.json: written last by godump (its presence with
// complete=true marks a finished dump); arangorestore ignores it.
type Manifest struct {
	Format      int            `json:"format"`
	Tool        string         `json:"tool"`
	ToolVersion string         `json:"toolVersion"`
	Database    string         `json:"database"`
	StartedAt   time.Time      `json:"startedAt"`
	FinishedAt  time.Time      `json:"finishedAt"`
	Files       []ManifestFile `json:"files"`
	Complete    bool           `json:"complete"`
	// Settings are the options that decide what the data files hold (compression, maskings,
	// split files...): a run continuing the dump (--continue) must have the same ones.
	Settings map[string]string `json:"settings,omitempty"`
	// Runs are the godump runs that wrote the files, in order: more than one when the dump
	// was continued after an interruption. A file's run says which (ManifestFile.Run); the
	// files of different runs are not one point in time.
	Runs []ManifestRun `json:"runs,omitempty"`
}

// ManifestRun is one run of godump on the dump.
type ManifestRun struct {
	Run       int       `json:"run"` // 1, 2, ...
	StartedAt time.Time `json:"startedAt"`
	// LastTick is the server's tick when the run read the inventory (dump.json's
	// lastTickAtDumpStart of that run).
	LastTick string `json:"lastTickAtDumpStart,omitempty"`
}

// RunOf returns the run that wrote a file: its Run, or 1 for a manifest without runs.
func (m *Manifest) RunOf(f *ManifestFile) int {
	if f == nil || f.Run == 0 {
		return 1
	}
	return f.Run
}

// ManifestFile describes one data file.
type ManifestFile struct {
	Name       string `json:"name"` // base name in the database directory
	Collection string `json:"collection"`
	Part       int    `json:"part"` // -1: not split
	Compressed bool   `json:"compressed"`
	// Size is the size on disk; UncompressedSize the size of the lines.
	Size             int64  `json:"size"`
	UncompressedSize int64  `json:"uncompressedSize"`
	Documents        int64  `json:"documents"` // lines
	SHA256           string `json:"sha256"`    // of the bytes on disk, lower-case hex
	// Shard is the shard the file holds when it holds one (cluster, --split-files).
	Shard string `json:"shard,omitempty"`
	// Run is the run of godump that wrote the file (Manifest.Runs); 0 in manifests written
	// before runs were recorded, which had one run.
	Run int `json:"run,omitempty"`
}

// ReadManifest reads dir/godump-manifest.json; (nil, nil) when absent.
func ReadManifest(dir string) (*Manifest, error) {
	p := filepath.Join(dir, ManifestFileName)
	b, err := readMetaFile(p)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, &Error{File: p, Err: err}
	}
	m, err := ParseManifest(b)
	if err != nil {
		return nil, fileError(p, b, err)
	}
	return m, nil
}

// ParseManifest parses godump-manifest.json and checks that its file names
// stay inside the directory.
func ParseManifest(b []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidJSON, err)
	}
	if m.Format < 1 || m.Format > ManifestVersion {
		return nil, fmt.Errorf("%w: unsupported manifest format %d", ErrInvalidJSON, m.Format)
	}
	for _, f := range m.Files {
		if !safeFileStem(f.Name) {
			return nil, fmt.Errorf("%w: manifest file name %q", ErrUnsafeName, truncate(f.Name, 80))
		}
	}
	return &m, nil
}

// File returns the entry for a data file base name, or nil.
func (m *Manifest) File(name string) *ManifestFile {
	if m == nil {
		return nil
	}
	for i := range m.Files {
		if m.Files[i].Name == name {
			return &m.Files[i]
		}
	}
	return nil
}

// VerifyFile recomputes size and SHA-256 of the file at path and compares them
// with the entry (ErrChecksum).
func VerifyFile(path string, mf ManifestFile) error {
	f, err := os.Open(path)
	if err != nil {
		return &Error{File: path, Err: err}
	}
	defer f.Close()
	return verifyReader(f, path, mf)
}

// VerifyDataFile checks a data file against its manifest entry, reading it through its Open
// when it has one (an object store), else from its Path.
func VerifyDataFile(df DataFile, mf ManifestFile) error {
	if df.Open == nil {
		return VerifyFile(df.Path, mf)
	}
	rc, err := df.Open()
	if err != nil {
		return &Error{File: df.Path, Err: err}
	}
	defer rc.Close()
	return verifyReader(rc, df.Path, mf)
}

// verifyReader compares size and SHA-256 of what f holds with mf; path names it.
func verifyReader(f io.Reader, path string, mf ManifestFile) error {
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return &Error{File: path, Err: err}
	}
	if n != mf.Size {
		return &Error{File: path, Err: fmt.Errorf("%w: size %d, manifest says %d", ErrChecksum, n, mf.Size)}
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != mf.SHA256 {
		return &Error{File: path, Err: fmt.Errorf("%w: SHA-256 %s, manifest says %s", ErrChecksum, sum, mf.SHA256)}
	}
	return nil
}

// VerifyManifest checks every file of the manifest in dir.
func VerifyManifest(dir string, m *Manifest) error {
	for _, f := range m.Files {
		if err := VerifyFile(filepath.Join(dir, f.Name), f); err != nil {
			return err
		}
	}
	return nil
}
