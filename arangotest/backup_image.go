package arangotest

// Instance images: a consistent copy of everything a server holds (all databases with their
// collections, documents, indexes, key generators and views; users, graphs and analyzers live in
// system collections and come along). A hot backup is an image; restoring one swaps the store's
// whole contents; the data directory keeps the current image on disk.
//
// Documents are immutable *Doc values, so capturing an image copies maps and slices of pointers,
// never document bytes.
//
// On disk an image is a directory with MANIFEST.json (the catalog) and one JSON-lines file per
// collection (each line a stored document as it is). A data file's name carries the collection
// id and a hash of the (key, revision) pairs it holds, so a collection that has not changed
// keeps its file from one save to the next, and hot backups hard-link the files of the live
// data directory, as arangod hard-links its RocksDB files.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// imageFormat is the version of the on-disk format (MANIFEST.json "format").
const imageFormat = 1

// manifestName is the catalog file of an image directory.
const manifestName = "MANIFEST.json"

// stateImage is a whole instance.
type stateImage struct {
	Format    int        `json:"format"`
	ServerID  uint64     `json:"serverId"`
	Tick      uint64     `json:"tick"`
	Version   string     `json:"version"`
	Role      string     `json:"role"` // SINGLE or COORDINATOR (cluster)
	DBServers int        `json:"nrDBServers"`
	Databases []*dbImage `json:"databases"`
	// Plans are the collections' shard Plans in cluster mode (cluster_persist.go).
	Plans []planImage `json:"plans,omitempty"`
}

type dbImage struct {
	Name        string           `json:"name"`
	ID          uint64           `json:"id"`
	IsSystem    bool             `json:"isSystem"`
	Options     map[string]any   `json:"options,omitempty"`
	Collections []*collImage     `json:"collections"`
	Views       []map[string]any `json:"views,omitempty"`
}

type collImage struct {
	ID       uint64                     `json:"id"`
	Name     string                     `json:"name"`
	Type     int                        `json:"type"`
	IsSystem bool                       `json:"isSystem"`
	GUID     string                     `json:"globallyUniqueId"`
	Props    map[string]json.RawMessage `json:"props"`
	KeyGen   KeyGen                     `json:"keyGen"`
	Indexes  []map[string]any           `json:"indexes,omitempty"` // besides primary and edge
	RevTick  uint64                     `json:"revTick"`
	Count    int                        `json:"count"`
	File     string                     `json:"file"`  // data file name (filled when written or read)
	Bytes    int64                      `json:"bytes"` // its size
	docs     []*Doc
}

// captureImage copies the store's contents. Under the global write lock the copy is
// consistent; without it a transaction being committed may be half in it.
func (st *Store) captureImage(version, role string, dbservers int) *stateImage {
	img := &stateImage{Format: imageFormat, ServerID: st.serverID, Tick: st.LastTick(), Version: version,
		Role: role, DBServers: dbservers}
	for _, db := range st.Databases() {
		di := &dbImage{Name: db.Name, ID: db.ID, IsSystem: db.isSystem}
		db.mu.RLock()
		if db.options != nil {
			di.Options = make(map[string]any, len(db.options))
			for k, v := range db.options {
				di.Options[k] = v
			}
		}
		db.mu.RUnlock()
		for _, c := range db.Collections() {
			ci := &collImage{ID: c.ID, Type: c.Type, IsSystem: c.IsSystem, GUID: c.GUID}
			c.mu.RLock()
			ci.Name = c.Name
			ci.Props = make(map[string]json.RawMessage, len(c.props))
			for k, v := range c.props {
				ci.Props[k] = v
			}
			ci.KeyGen = c.keygen
			ci.RevTick = c.revTick
			for _, ix := range c.indexes {
				if ix.Type == "primary" || ix.Type == "edge" {
					continue
				}
				ci.Indexes = append(ci.Indexes, ix.Definition(false))
			}
			ci.docs = make([]*Doc, 0, len(c.docs))
			for _, d := range c.order {
				if d != nil {
					ci.docs = append(ci.docs, d)
				}
			}
			c.mu.RUnlock()
			ci.Count = len(ci.docs)
			di.Collections = append(di.Collections, ci)
		}
		for _, v := range db.Views() {
			di.Views = append(di.Views, v.Definition())
		}
		img.Databases = append(img.Databases, di)
	}
	img.Plans = st.cluster.capturePlans() // cluster_persist.go: shard ids and placement
	return img
}

// counts returns the number of documents per "db/collection" (for tests and reports).
func (img *stateImage) counts() map[string]int {
	out := map[string]int{}
	for _, db := range img.Databases {
		for _, c := range db.Collections {
			out[db.Name+"/"+c.Name] = len(c.docs)
		}
	}
	return out
}

// estimate returns the size and number of files the image has on disk (without writing it).
func (img *stateImage) estimate() (size int64, files int) {
	files = 2 // MANIFEST.json, META
	size = 512
	for _, db := range img.Databases {
		for _, c := range db.Collections {
			files++
			size += 256
			for _, d := range c.docs {
				size += int64(len(d.Raw) + 1)
			}
		}
	}
	return size, files
}

// buildDatabases turns an image into databases attached to a scratch store (whose WAL and
// tick take the construction noise); installImage moves them into the real store.
func (st *Store) buildDatabases(img *stateImage) (map[string]*Database, uint64, error) {
	tmp := newStore(st.serverID)
	tmp.version = st.version
	tmp.cluster = st.cluster
	tmp.advanceTick(st.LastTick())
	tmp.advanceTick(img.Tick)
	for _, di := range img.Databases {
		db := &Database{st: tmp, Name: di.Name, ID: di.ID, colls: map[string]*Collection{}, views: map[string]*View{},
			isSystem: di.IsSystem, options: di.Options}
		tmp.dbs[di.Name] = db
		for _, ci := range di.Collections {
			props := make(map[string]json.RawMessage, len(ci.Props))
			for k, v := range ci.Props {
				props[k] = v
			}
			c, err := db.CreateCollection(CollectionSpec{Name: ci.Name, Type: ci.Type, IsSystem: ci.IsSystem, ID: ci.ID,
				GUID: ci.GUID, KeyGen: ci.KeyGen, Props: props})
			if err != nil {
				return nil, 0, fmt.Errorf("database %q collection %q: %w", di.Name, ci.Name, err)
			}
			for _, def := range ci.Indexes {
				if _, _, err := c.EnsureIndex(mustJSON(def)); err != nil {
					return nil, 0, fmt.Errorf("database %q collection %q index %v: %w", di.Name, ci.Name, def["name"], err)
				}
			}
			c.mu.Lock()
			for _, d := range ci.docs {
				if err := c.install(d, nil); err != nil {
					c.mu.Unlock()
					return nil, 0, fmt.Errorf("database %q collection %q document %q: %w", di.Name, ci.Name, d.Key, err)
				}
			}
			c.keygen = ci.KeyGen
			if ci.RevTick != 0 {
				c.revTick = ci.RevTick
			}
			c.mu.Unlock()
		}
		for _, v := range di.Views {
			if _, err := db.CreateViewFromDefinition(mustJSON(v), false); err != nil {
				return nil, 0, fmt.Errorf("database %q view %v: %w", di.Name, v["name"], err)
			}
		}
	}
	return tmp.dbs, tmp.LastTick(), nil
}

// installImage replaces the store's whole contents by the image. The caller holds the global
// write lock exclusively and has aborted running transactions.
func (st *Store) installImage(img *stateImage) error {
	dbs, tick, err := st.buildDatabases(img)
	if err != nil {
		return err
	}
	st.mu.Lock()
	for _, db := range dbs {
		db.st = st
	}
	st.dbs = dbs
	st.mu.Unlock()
	st.cluster.restorePlans(img.Plans) // cluster_persist.go: the image's shard ids and placement
	st.advanceTick(tick)
	return nil
}

// --- on disk -------------------------------------------------------------------------------

// dataFileName names a collection's data file by collection id and content hash.
func dataFileName(ci *collImage) string {
	h := fnv.New64a()
	for _, d := range ci.docs {
		h.Write([]byte(d.Key))
		h.Write([]byte{0})
		h.Write([]byte(d.Rev))
		h.Write([]byte{0})
	}
	return fmt.Sprintf("%d-%016x-%d.jsonl", ci.ID, h.Sum64(), len(ci.docs))
}

// writeImage writes img into dir (created if needed): data files first, MANIFEST.json last
// (atomically), so a reader never sees a manifest naming missing files. A data file already in
// dir is kept (its name says its content); one present in linkFrom is hard-linked from there
// (copied where links are not possible). It returns the number of files and bytes of the image.
func writeImage(dir string, img *stateImage, linkFrom string) (files int, size int64, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, 0, fmt.Errorf("image directory %s: %w", dir, err)
	}
	for _, db := range img.Databases {
		for _, ci := range db.Collections {
			ci.File = dataFileName(ci)
			p := filepath.Join(dir, ci.File)
			if fi, err := os.Stat(p); err == nil {
				ci.Bytes = fi.Size()
			} else if linkFrom != "" && fileExists(filepath.Join(linkFrom, ci.File)) {
				if err := linkOrCopy(filepath.Join(linkFrom, ci.File), p); err != nil {
					return 0, 0, err
				}
				fi, err := os.Stat(p)
				if err != nil {
					return 0, 0, fmt.Errorf("data file %s: %w", p, err)
				}
				ci.Bytes = fi.Size()
			} else {
				n, err := writeDataFile(p, ci.docs)
				if err != nil {
					return 0, 0, fmt.Errorf("database %q collection %q: %w", db.Name, ci.Name, err)
				}
				ci.Bytes = n
			}
			files++
			size += ci.Bytes
		}
	}
	b, err := json.MarshalIndent(img, "", " ")
	if err != nil {
		return 0, 0, fmt.Errorf("encode %s: %w", manifestName, err)
	}
	if err := writeFileAtomic(filepath.Join(dir, manifestName), b); err != nil {
		return 0, 0, err
	}
	return files + 1, size + int64(len(b)), nil
}

func writeDataFile(path string, docs []*Doc) (int64, error) {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, fmt.Errorf("data file %s: %w", path, err)
	}
	w := bufio.NewWriterSize(f, 256<<10)
	var n int64
	for _, d := range docs {
		w.Write(d.Raw)
		w.WriteByte('\n')
		n += int64(len(d.Raw) + 1)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		os.Remove(tmp)
		return 0, fmt.Errorf("data file %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return 0, fmt.Errorf("data file %s: sync: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return 0, fmt.Errorf("data file %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return 0, fmt.Errorf("data file %s: %w", path, err)
	}
	return n, nil
}

// writeFileAtomic writes a small file through a temporary file and a rename.
func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: sync: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// linkOrCopy hard-links src to dst, copying when the file system refuses the link.
func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	return copyFile(src, dst)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return nil
}

// readImage reads an image directory written by writeImage, checking that every data file is
// there with the size and document count the manifest gives.
func readImage(dir string) (*stateImage, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return nil, fmt.Errorf("read image: %w", err)
	}
	var img stateImage
	if err := json.Unmarshal(b, &img); err != nil {
		return nil, fmt.Errorf("read image: %s: %w", filepath.Join(dir, manifestName), err)
	}
	if img.Format != imageFormat {
		return nil, fmt.Errorf("read image: %s: format %d, want %d", filepath.Join(dir, manifestName), img.Format, imageFormat)
	}
	for _, db := range img.Databases {
		for _, ci := range db.Collections {
			if ci.File == "" || strings.ContainsAny(ci.File, `/\`) {
				return nil, fmt.Errorf("read image: %s: database %q collection %q: bad data file name %q",
					filepath.Join(dir, manifestName), db.Name, ci.Name, ci.File)
			}
			docs, err := readDataFile(filepath.Join(dir, ci.File))
			if err != nil {
				return nil, fmt.Errorf("read image: database %q collection %q: %w", db.Name, ci.Name, err)
			}
			if len(docs) != ci.Count {
				return nil, fmt.Errorf("read image: database %q collection %q: %s holds %d documents, manifest says %d",
					db.Name, ci.Name, ci.File, len(docs), ci.Count)
			}
			ci.docs = docs
		}
	}
	return &img, nil
}

func readDataFile(path string) ([]*Doc, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 256<<10)
	var docs []*Doc
	line := 0
	for {
		b, err := r.ReadBytes('\n')
		if len(b) > 0 {
			line++
			if b[len(b)-1] != '\n' {
				return nil, fmt.Errorf("%s line %d: truncated (no newline)", path, line)
			}
			raw := bytes.Clone(b[:len(b)-1])
			d := &Doc{Raw: raw}
			serr := scanObject(raw, func(k string, v []byte) error {
				switch k {
				case "_key":
					d.Key, _ = rawString(v)
				case "_rev":
					d.Rev, _ = rawString(v)
				}
				return nil
			})
			if serr != nil || d.Key == "" || d.Rev == "" {
				return nil, fmt.Errorf("%s line %d: not a stored document", path, line)
			}
			d.Tick = decodeRev(d.Rev)
			docs = append(docs, d)
		}
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
}

// imageFiles lists the files of an image directory (manifest and data files) with sizes.
func imageFiles(dir string) ([]string, int64, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return nil, 0, err
	}
	var img stateImage
	if err := json.Unmarshal(b, &img); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", filepath.Join(dir, manifestName), err)
	}
	files := []string{}
	var size int64
	for _, db := range img.Databases {
		for _, ci := range db.Collections {
			files = append(files, ci.File)
			size += ci.Bytes
		}
	}
	files = append(files, manifestName)
	size += int64(len(b))
	return files, size, nil
}
