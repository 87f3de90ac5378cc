package arangotest

// The data directory (Options.DataDir, cmd/arangotest --data-dir): the server keeps its state
// on disk and comes back with it after a restart. Layout:
//
//	DIR/LOCK                           held (fcntl) while the server runs, as arangod does
//	                                   (package datadir), released and removed on Close
//	DIR/ENGINE                         "arangotest" (arangod writes its engine name here)
//	DIR/SERVER                         {"serverId":...}: the server id survives restarts
//	DIR/engine-arangotest/MANIFEST.json   the catalog of the current state
//	DIR/engine-arangotest/<collection id>-<content hash>-<count>.jsonl   one file per collection
//	DIR/backups/<timestamp>_<label>/   hot backups: META, MANIFEST.json and hard links to the
//	                                   data files of the moment (as arangod hard-links its
//	                                   RocksDB files), see the seed document
//	DIR/backups/FAILSAFE/              the state before the last hot backup restore
//
// The state is written on Close (graceful shutdown, SIGTERM in cmd/arangotest), after every hot
// backup (the backup's image becomes the current state on disk), after every restore, and every
// flushInterval when something changed and the global write lock can be had within 50 ms (no
// write transaction open). A SIGKILL loses the writes made since the last of these; what is on
// disk is always a complete, consistent state (data files first, the manifest last and
// atomically), so unchanged collections cost nothing to write again.
//
// A cluster (NewCluster with a DataDir) splits this over one directory per process, the
// Agency's holding the Plan and the hot backups, each DB-Server's the shards it leads:
// cluster_persist.go.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/arangobackup/godump/datadir"
)

const engineDirName = "engine-arangotest"

// dataDir is an open data directory.
type dataDir struct {
	root   string
	lock   *datadir.Lockfile
	saveMu sync.Mutex
	closed bool
	stop   chan struct{} // closed by closeBackup: ends flushLoop
	done   chan struct{} // closed when flushLoop has ended
	// cluster is set in cluster mode (cluster_persist.go): root is then the Agency's directory,
	// where the Plan and the hot backups live; the documents live in the DB-Servers' directories.
	cluster *clusterDirs
}

// flushInterval is how often a changed state is written to the data directory.
const flushInterval = 2 * time.Second

// flushLoop writes the state when it changed, taking a consistent image under the global write
// lock; if a write transaction keeps the lock away, it tries again next time.
func (s *Server) flushLoop(d *dataDir) {
	defer close(d.done)
	tk := time.NewTicker(flushInterval)
	defer tk.Stop()
	hb := s.store.backups()
	last := s.store.LastTick()
	for {
		select {
		case <-d.stop:
			return
		case <-tk.C:
		}
		if s.store.LastTick() == last || hb.restarting() {
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		got := hb.lock.tryExclusive(ctx, 50*time.Millisecond)
		cancel()
		if !got {
			continue
		}
		tick := s.store.LastTick()
		role, nrDB := s.topology()
		img := s.store.captureImage(s.version, role, nrDB)
		hb.lock.release()
		if err := d.save(img); err == nil {
			last = tick
		}
	}
}

func (d *dataDir) engineDir() string  { return filepath.Join(d.root, engineDirName) }
func (d *dataDir) backupsDir() string { return filepath.Join(d.root, "backups") }

// openDataDir creates the directory if needed and takes its LOCK.
func openDataDir(root string) (*dataDir, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("arangotest: data directory %q: %w", root, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("arangotest: data directory %q: %w", root, err)
	}
	lk, err := datadir.Lock(abs)
	if err != nil {
		return nil, fmt.Errorf("arangotest: %w", err)
	}
	d := &dataDir{root: abs, lock: lk, stop: make(chan struct{}), done: make(chan struct{})}
	for _, p := range []string{d.engineDir(), d.backupsDir()} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			lk.Unlock()
			return nil, fmt.Errorf("arangotest: data directory %q: %w", root, err)
		}
	}
	// Leftovers of an interrupted backup, download or save.
	if ents, err := os.ReadDir(d.backupsDir()); err == nil {
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), "CREATING_") || strings.HasPrefix(e.Name(), "DOWNLOADING_") {
				os.RemoveAll(filepath.Join(d.backupsDir(), e.Name()))
			}
		}
	}
	if err := writeFileAtomic(filepath.Join(abs, "ENGINE"), []byte("arangotest")); err != nil {
		lk.Unlock()
		return nil, fmt.Errorf("arangotest: %w", err)
	}
	return d, nil
}

// load reads the current state, nil if the directory holds none yet.
func (d *dataDir) load() (*stateImage, error) {
	if !fileExists(filepath.Join(d.engineDir(), manifestName)) {
		return nil, nil
	}
	img, err := readImage(d.engineDir())
	if err != nil {
		return nil, fmt.Errorf("data directory %s: %w", d.root, err)
	}
	return img, nil
}

// save writes img as the current state and removes data files it no longer names.
func (d *dataDir) save(img *stateImage) error {
	d.saveMu.Lock()
	defer d.saveMu.Unlock()
	return d.saveLocked(img)
}

func (d *dataDir) saveLocked(img *stateImage) error {
	if d.cluster != nil {
		if err := d.cluster.save(d.root, img); err != nil {
			return fmt.Errorf("data directory %s: save: %w", d.cluster.top, err)
		}
		return nil
	}
	if _, _, err := writeImage(d.engineDir(), img, ""); err != nil {
		return fmt.Errorf("data directory %s: save: %w", d.root, err)
	}
	keep := map[string]bool{manifestName: true}
	for _, db := range img.Databases {
		for _, c := range db.Collections {
			keep[c.File] = true
		}
	}
	ents, err := os.ReadDir(d.engineDir())
	if err != nil {
		return fmt.Errorf("data directory %s: %w", d.root, err)
	}
	for _, e := range ents {
		if !keep[e.Name()] {
			os.Remove(filepath.Join(d.engineDir(), e.Name()))
		}
	}
	sid := map[string]any{"serverId": strconv.FormatUint(img.ServerID, 10)}
	return writeFileAtomic(filepath.Join(d.root, "SERVER"), mustJSON(sid))
}

// writeBackup stores a hot backup under DIR/backups/<id>: the image becomes the current state
// on disk, and the backup directory hard-links its files (META written last, then the
// directory renamed into place, as arangod does with its CREATING directory).
func (d *dataDir) writeBackup(e *backupEntry) error {
	d.saveMu.Lock()
	defer d.saveMu.Unlock()
	if err := d.saveLocked(e.img); err != nil {
		return err
	}
	tmp := filepath.Join(d.backupsDir(), "CREATING_"+strconv.FormatInt(time.Now().UnixNano(), 10))
	files, size, err := writeImage(tmp, e.img, d.engineDir())
	if err != nil {
		os.RemoveAll(tmp)
		return err
	}
	e.meta.NrFiles = files + 1
	e.meta.SizeInBytes = size
	meta, err := json.Marshal(e.meta)
	if err != nil {
		os.RemoveAll(tmp)
		return err
	}
	e.meta.SizeInBytes += int64(len(meta))
	meta, _ = json.Marshal(e.meta)
	if err := writeFileAtomic(filepath.Join(tmp, "META"), meta); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	final := filepath.Join(d.backupsDir(), e.meta.ID)
	if err := os.Rename(tmp, final); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("backup %s: %w", e.meta.ID, err)
	}
	e.dir = final
	return nil
}

// removeBackup deletes a backup's directory.
func (d *dataDir) removeBackup(e *backupEntry) error {
	if e.dir == "" {
		return nil
	}
	if err := os.RemoveAll(e.dir); err != nil {
		return fmt.Errorf("backup %s: %w", e.meta.ID, err)
	}
	return nil
}

// saveRestored keeps the state before a restore in DIR/backups/FAILSAFE and saves the restored
// one as the current state.
func (d *dataDir) saveRestored(prev, img *stateImage) error {
	d.saveMu.Lock()
	defer d.saveMu.Unlock()
	// In a cluster prev's collections have left the store already, so their Plans are gone:
	// FAILSAFE is written whole instead of linking the saved shard files.
	if d.cluster == nil {
		if err := d.saveLocked(prev); err != nil {
			return err
		}
	}
	fs := filepath.Join(d.backupsDir(), failsafeName)
	os.RemoveAll(fs)
	if _, _, err := writeImage(fs, prev, d.engineDir()); err != nil {
		return err
	}
	return d.saveLocked(img)
}

// readMeta reads a backup directory's META.
func readMeta(dir string) (backupMeta, error) {
	var m backupMeta
	b, err := os.ReadFile(filepath.Join(dir, "META"))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%s: %w", filepath.Join(dir, "META"), err)
	}
	if m.ID == "" {
		return m, fmt.Errorf("%s: no id", filepath.Join(dir, "META"))
	}
	return m, nil
}

// scanBackups lists the backups on disk (directories with a META file).
func (d *dataDir) scanBackups() map[string]*backupEntry {
	out := map[string]*backupEntry{}
	ents, err := os.ReadDir(d.backupsDir())
	if err != nil {
		return out
	}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(d.backupsDir(), e.Name())
		m, err := readMeta(dir)
		if err != nil || m.ID != e.Name() {
			continue
		}
		out[m.ID] = &backupEntry{meta: m, dir: dir}
	}
	return out
}

// initBackup registers the hot backup routes and opens the data directory, if any, loading the
// state it holds.
func (s *Server) initBackup(r *router) error {
	s.routeBackup(r)
	if s.opts.DataDir == "" {
		return nil
	}
	if s.cluster != nil {
		return s.initClusterDataDir() // cluster_persist.go: one directory per process
	}
	if fileExists(filepath.Join(s.opts.DataDir, agentDirName, "ENGINE")) {
		return fmt.Errorf("arangotest: data directory %s holds a cluster's data (start it with --cluster)", s.opts.DataDir)
	}
	d, err := openDataDir(s.opts.DataDir)
	if err != nil {
		return err
	}
	img, err := d.load()
	if err != nil {
		d.lock.Unlock()
		return fmt.Errorf("arangotest: %w", err)
	}
	if img != nil {
		if img.ServerID != 0 {
			s.serverID = img.ServerID
			s.store.serverID = img.ServerID
		}
		if err := s.store.installImage(img); err != nil {
			d.lock.Unlock()
			return fmt.Errorf("arangotest: data directory %s: %w", d.root, err)
		}
	} else {
		role, nrDB := s.topology()
		if err := d.save(s.store.captureImage(s.version, role, nrDB)); err != nil {
			d.lock.Unlock()
			return fmt.Errorf("arangotest: %w", err)
		}
	}
	s.attachDataDir(d)
	return nil
}

// closeBackup stops transfers, writes the state to the data directory and releases its lock.
func (s *Server) closeBackup() error {
	hb := s.store.backups()
	hb.mu.Lock()
	for _, t := range hb.transfers {
		t.cancel()
	}
	d := hb.disk
	hb.mu.Unlock()
	if d == nil || d.closed {
		return nil
	}
	d.closed = true
	close(d.stop)
	<-d.done
	// A consistent state if the lock can be had soon; otherwise what there is (running
	// transactions die with the server anyway, their staged writes were never applied).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	got, _ := hb.lock.acquire(ctx, 5*time.Second)
	cancel()
	role, nrDB := s.topology()
	img := s.store.captureImage(s.version, role, nrDB)
	if got {
		hb.lock.release()
	}
	err := d.save(img)
	if d.cluster != nil {
		if uerr := d.cluster.unlockAll(); uerr != nil && err == nil {
			err = uerr
		}
	}
	if uerr := d.lock.Unlock(); uerr != nil && err == nil {
		err = uerr
	}
	return err
}

// DataDir returns the data directory the server keeps its state in ("" = memory only).
func (s *Server) DataDir() string {
	if d := s.store.backups().disk; d != nil {
		if d.cluster != nil {
			return d.cluster.top
		}
		return d.root
	}
	return ""
}

// attachDataDir makes d the home of the server's hot backups (those already in it are listed)
// and starts writing the state to it in the background.
func (s *Server) attachDataDir(d *dataDir) {
	hb := s.store.backups()
	hb.mu.Lock()
	hb.entries = d.scanBackups()
	hb.disk = d
	hb.mu.Unlock()
	go s.flushLoop(d)
}
