package restore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/arangobackup/godump/format"
)

// ContinueFileName is arangorestore's progress file, kept in each database's dump directory.
const ContinueFileName = "continue.json"

// Collection states in continue.json, as arangorestore numbers them.
const (
	stateUnknown   = 0
	stateCreated   = 1
	stateRestoring = 2
	stateRestored  = 3
)

// Markers arangorestore keeps in continue.json for views (not collections).
const (
	markerArangoSearch = "_VIEW_MARKER_arangosearch"
	markerSearchAlias  = "_VIEW_MARKER_search-alias"
)

// span is an acknowledged range of uncompressed bytes [Start, End) of one data file.
type span struct {
	File  int   `json:"file"`
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

// collProgress is one entry of continue.json. State, BytesAcked and FileNo are arangorestore's
// fields (same meaning: everything before byte BytesAcked of split file FileNo is restored),
// so that arangorestore --continue can pick up a restore that gorestore began and the other
// way round. Acked is ours: batches acknowledged beyond that point while earlier ones were
// still in flight (several batches of a collection are sent at once). arangorestore ignores
// the extra key and re-sends those batches, which is harmless (restore-data replaces by key);
// gorestore skips them, so an acknowledged batch is never sent twice.
type collProgress struct {
	State      int
	BytesAcked int64
	FileNo     int
	Acked      []span
}

func (p collProgress) MarshalJSON() ([]byte, error) {
	m := map[string]any{"state": p.State}
	if p.BytesAcked != 0 || p.FileNo != 0 {
		m["bytes-acked"] = p.BytesAcked
		m["file-no"] = p.FileNo
	}
	if len(p.Acked) > 0 {
		m["gorestore-acked"] = p.Acked
	}
	return json.Marshal(m)
}

func (p *collProgress) UnmarshalJSON(b []byte) error {
	var raw struct {
		State      int    `json:"state"`
		BytesAcked int64  `json:"bytes-acked"`
		FileNo     int    `json:"file-no"`
		Acked      []span `json:"gorestore-acked"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*p = collProgress{State: raw.State, BytesAcked: raw.BytesAcked, FileNo: raw.FileNo, Acked: raw.Acked}
	return nil
}

// continueFile is the progress file of one database directory. All methods are safe for
// concurrent use; every change is written through at once (write to a temporary file, then
// rename), so that a crash at any point leaves either the old or the new state.
type continueFile struct {
	path     string
	disabled bool // the directory is not writable: progress is not kept (warned once)

	mu      sync.Mutex
	entries map[string]*collProgress
	dirty   bool
}

// loadContinueFile opens dir's progress file. With resume the existing state is loaded;
// without it an existing file is ignored (and overwritten on the first change), as in
// arangorestore.
func loadContinueFile(dir string, resume bool) (*continueFile, error) {
	cf := &continueFile{path: filepath.Join(dir, ContinueFileName), entries: map[string]*collProgress{}}
	if !resume {
		return cf, nil
	}
	b, err := os.ReadFile(cf.path)
	if errors.Is(err, fs.ErrNotExist) {
		return cf, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", cf.path, err)
	}
	if err := json.Unmarshal(b, &cf.entries); err != nil {
		return nil, fmt.Errorf("read %s: invalid progress file: %w", cf.path, err)
	}
	for k, v := range cf.entries {
		if v == nil {
			delete(cf.entries, k)
		}
	}
	return cf, nil
}

// get returns a copy of the entry of name (zero when none).
func (cf *continueFile) get(name string) collProgress {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	if e := cf.entries[name]; e != nil {
		c := *e
		c.Acked = append([]span(nil), e.Acked...)
		return c
	}
	return collProgress{}
}

// setState records a new state for name (clearing the offsets when restored) and saves.
func (cf *continueFile) setState(name string, state int) error {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	e := cf.entries[name]
	if e == nil {
		e = &collProgress{}
		cf.entries[name] = e
	}
	e.State = state
	if state == stateRestored || state == stateCreated {
		e.BytesAcked, e.FileNo, e.Acked = 0, 0, nil
	}
	return cf.saveLocked()
}

// setOffsets records the restore position of name and saves.
func (cf *continueFile) setOffsets(name string, fileNo int, bytesAcked int64, acked []span) error {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	e := cf.entries[name]
	if e == nil {
		e = &collProgress{}
		cf.entries[name] = e
	}
	e.State = stateRestoring
	e.FileNo, e.BytesAcked = fileNo, bytesAcked
	e.Acked = append(e.Acked[:0], acked...)
	return cf.saveLocked()
}

func (cf *continueFile) saveLocked() error {
	if cf.disabled {
		return nil
	}
	b, err := json.Marshal(cf.entries)
	if err != nil {
		return err
	}
	tmp := cf.path + ".tmp"
	if err := os.WriteFile(tmp, b, format.FileMode); err != nil {
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist) {
			// A read-only dump directory: restore works, it just cannot be resumed.
			cf.disabled = true
			return nil
		}
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	// 0600 whatever the umask (it lies beside data that may hold password hashes)
	if err := os.Chmod(tmp, format.FileMode); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, cf.path); err != nil {
		return fmt.Errorf("write %s: %w", cf.path, err)
	}
	return nil
}

// remove deletes the progress file after a successful restore.
func (cf *continueFile) remove() error {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	if err := os.Remove(cf.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", cf.path, err)
	}
	_ = os.Remove(cf.path + ".tmp")
	return nil
}

// ackTracker follows the batches of one collection in flight and computes the position to
// resume from: the start of the earliest batch not yet acknowledged.
type ackTracker struct {
	mu       sync.Mutex
	inflight map[pos]int64 // start -> end
	acked    map[pos]int64 // acknowledged beyond the watermark: start -> end
	next     pos           // end of the last batch handed out
}

type pos struct {
	File int
	Off  int64
}

func (a pos) less(b pos) bool { return a.File < b.File || (a.File == b.File && a.Off < b.Off) }

func newAckTracker(start pos) *ackTracker {
	return &ackTracker{inflight: map[pos]int64{}, acked: map[pos]int64{}, next: start}
}

// dispatched records a batch [start, end) of file as sent.
func (t *ackTracker) dispatched(file int, start, end int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.inflight[pos{file, start}] = end
	if t.next.less(pos{file, end}) {
		t.next = pos{file, end}
	}
}

// skipped records a batch that needs no sending (acknowledged in an earlier run).
func (t *ackTracker) skipped(file int, start, end int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.acked[pos{file, start}] = end
	if t.next.less(pos{file, end}) {
		t.next = pos{file, end}
	}
}

// ack records a batch as acknowledged and returns the new resume position and the
// acknowledged batches beyond it.
func (t *ackTracker) ack(file int, start int64) (pos, []span) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := pos{file, start}
	t.acked[p] = t.inflight[p]
	delete(t.inflight, p)
	water := t.next
	for s := range t.inflight {
		if s.less(water) {
			water = s
		}
	}
	var spans []span
	for s, end := range t.acked {
		if s.less(water) {
			delete(t.acked, s) // behind the watermark: covered by it
			continue
		}
		spans = append(spans, span{File: s.File, Start: s.Off, End: end})
	}
	sort.Slice(spans, func(i, j int) bool {
		return pos{spans[i].File, spans[i].Start}.less(pos{spans[j].File, spans[j].Start})
	})
	return water, spans
}
