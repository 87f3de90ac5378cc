package arangotest

// The Hot Backup API (/_admin/backup/*): create, list, restore, delete here; upload and
// download in backup_transfer.go; the global write transaction lock in backup_lock.go; images
// (what a backup holds) in backup_image.go; the data directory in persist.go.
//
// RestHotBackupHandler and RocksDBHotBackup are Enterprise code that no public tree holds, so
// this follows what is public instead: the Hot Backup HTTP API docs (docs-hugo 3.12
// develop/http-api/hot-backups.md), arangobackup (client-tools/Backup/BackupFeature.cpp),
// go-driver v2 (client_admin_backup_impl.go) and the seed document. Error numbers other than
// 18 (lock timeout) and the method handling are not verified against the server (the docs
// say 400 for a method other than POST on create, restore, delete, upload and download, and
// 405 on list; arangotest answers 405 everywhere): POST only; ids "<UTC timestamp with '.' for ':'>_<label>" (a random UUID when
// no label is given); create waits for the global write lock, 408 errorNum 18 on timeout unless
// allowInconsistent (then potentiallyInconsistent: true); force aborts running write
// transactions; one hot backup at a time (7011); restore replaces everything, answers
// {"previous":"FAILSAFE"}, and the server is unavailable (503) for a moment while it "restarts";
// a backup from another topology is refused (7003).

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// hotBackups is the hot backup state of a store (shared by all Coordinators of a cluster).
type hotBackups struct {
	lock globalWriteLock

	mu        sync.Mutex
	creating  bool
	entries   map[string]*backupEntry
	transfers map[string]*transfer
	nextJob   uint64

	// restartUntil is when the "restart" after a restore ends (unix ns; 0 = none).
	restartUntil atomic.Int64
	// restartedAt is when the last "restart" happened (unix ns; 0 = never), for uptime.
	restartedAt atomic.Int64
	// Timing knobs (tests shorten them): how long the server is unavailable after a restore
	// (ns, default 1 s); the rate of uploads and downloads (bytes per second, default 4 MiB/s);
	// the least time a transfer takes (ns, default 1 s).
	restartDelay atomic.Int64
	transferRate atomic.Int64
	transferMin  atomic.Int64

	// disk is the data directory (persist.go); nil when the server keeps everything in memory.
	disk *dataDir
}

// backupEntry is one hot backup.
type backupEntry struct {
	meta backupMeta
	img  *stateImage // nil while only on disk (read on restore or upload)
	dir  string      // its directory under DIR/backups, "" in memory
}

// backupMeta is the META file of a backup (arangod's BackupMeta) and its list entry.
type backupMeta struct {
	ID                      string `json:"id"`
	Version                 string `json:"version"`
	Datetime                string `json:"datetime"`
	Keys                    []any  `json:"keys"`
	SizeInBytes             int64  `json:"sizeInBytes"`
	NrFiles                 int    `json:"nrFiles"`
	NrDBServers             int    `json:"nrDBServers"`
	PotentiallyInconsistent bool   `json:"potentiallyInconsistent"`
	CountIncludesFilesOnly  bool   `json:"countIncludesFilesOnly"`
	Role                    string `json:"role,omitempty"` // arangotest: SINGLE or COORDINATOR
}

func (st *Store) backups() *hotBackups { return &st.hb }

func (hb *hotBackups) restarting() bool {
	u := hb.restartUntil.Load()
	return u != 0 && time.Now().UnixNano() < u
}

// hotBackupAvailable: Enterprise Edition, or any edition from 3.12.5 on.
func (s *Server) hotBackupAvailable() bool {
	return s.license == "enterprise" || s.store.versionAtLeast(3, 12, 5)
}

// topology returns the role and number of DB-Servers a backup of this server records.
func (s *Server) topology() (string, int) {
	if s.cluster != nil {
		return "COORDINATOR", len(s.cluster.dbservers)
	}
	return "SINGLE", 1
}

// dbServerKeys returns the keys of DBServers maps in transfer progress objects.
func (s *Server) dbServerKeys() []string {
	if s.cluster != nil {
		return append([]string(nil), s.cluster.dbservers...)
	}
	return []string{"SNGL"}
}

// backupServerID is the "server" field of list answers.
func (s *Server) backupServerID() string {
	if s.cluster != nil {
		return s.coordID()
	}
	return s.singleID()
}

// routeBackup registers /_admin/backup/* (when the edition and version have it; otherwise the
// server answers 404 unknown path, as Community builds before 3.12.5 do).
func (s *Server) routeBackup(r *router) {
	r.handle("GET", "/_admin/statistics", s.handleStatistics)
	if !s.hotBackupAvailable() {
		return
	}
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		r.handle(m, "/_admin/backup", s.handleBackup)
		r.handle(m, "/_admin/backup/{op...}", s.handleBackup)
	}
}

// handleStatistics answers GET /_admin/statistics with the fields arangobackup reads to
// detect the restart after a restore (server.uptime). It mirrors
// RestAdminStatisticsHandler::execute and getStatistics (arangod/RestHandler/
// RestAdminStatisticsHandler.cpp): GET only (405, error 405, from the router); with
// statistics disabled 404, error 36 (TRI_ERROR_DISABLED) "statistics not enabled".
func (s *Server) handleStatistics(c *call) {
	if s.opts.StatisticsDisabled {
		c.error(404, 36, "statistics not enabled")
		return
	}
	since := s.started
	if t := s.store.backups().restartedAt.Load(); t != 0 {
		since = time.Unix(0, t)
	}
	now := time.Now()
	c.ok(200, map[string]any{"time": float64(now.UnixNano()) / 1e9, "enabled": true,
		"system": map[string]any{}, "client": map[string]any{}, "clientUser": map[string]any{}, "http": map[string]any{},
		"server": map[string]any{"uptime": now.Sub(since).Seconds(), "physicalMemory": 8 << 30,
			"transactions": map[string]any{}, "v8Context": map[string]any{}, "threads": map[string]any{}}})
}

var backupSuffixRE = regexp.MustCompile(`^[^/]+$`)

func (s *Server) handleBackup(c *call) {
	if !c.isAdmin() {
		c.error(403, 403, "you need admin rights for hotbackup operations")
		return
	}
	if c.r.Method != "POST" {
		c.error(405, 405, "backup endpoint only handles POST requests")
		return
	}
	op := c.param("op")
	if op == "" || !backupSuffixRE.MatchString(op) {
		c.error(400, 601, "superfluous URL suffices")
		return
	}
	var body map[string]json.RawMessage
	if len(strings.TrimSpace(string(c.body))) > 0 {
		if err := json.Unmarshal(c.body, &body); err != nil {
			c.error(400, 600, "failed to parse backup body")
			return
		}
	}
	if body == nil {
		body = map[string]json.RawMessage{}
	}
	var res any
	var status int
	var err error
	switch op {
	case "create":
		res, err = s.backupCreate(c.r.Context(), body)
		status = 201
	case "list":
		res, err = s.backupList(body)
		status = 200
	case "delete":
		res, err = s.backupDelete(body)
		status = 200
	case "restore":
		res, err = s.backupRestore(c.r.Context(), body)
		status = 200
	case "upload", "download":
		res, status, err = s.backupTransfer(op, body)
	default:
		c.error(404, 404, "unknown path '"+c.r.URL.Path+"'")
		return
	}
	if err != nil {
		c.fail(err)
		return
	}
	c.okResult(status, res)
}

// hotBackupError maps an error number to the status RestHotBackupHandler gives it.
func hotBackupError(num int, msg string) *ArangoError {
	code := 400
	switch num {
	case 9:
		code = 501
	case 18:
		code = 408
	case 500, 7001:
		code = 500
	case 404, 14:
		code = 404
	}
	return newError(code, num, msg)
}

func bodyString(body map[string]json.RawMessage, k string) (string, bool, error) {
	v, ok := body[k]
	if !ok || string(v) == "null" {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", true, hotBackupError(400, "attribute '"+k+"' must be a string")
	}
	return s, true, nil
}

func bodyBool(body map[string]json.RawMessage, k string) (bool, error) {
	v, ok := body[k]
	if !ok || string(v) == "null" {
		return false, nil
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		return false, hotBackupError(400, "attribute '"+k+"' must be a boolean")
	}
	return b, nil
}

// backupIDFor builds "<timestamp>_<label>" as RocksDBHotBackup::buildDirectoryPath does:
// spaces become '_', other punctuation '.', other characters are dropped, 254 characters at most.
func backupIDFor(t time.Time, label string) string {
	suffix := strings.ReplaceAll(t.UTC().Format("2006-01-02T15:04:05Z"), ":", ".")
	if label != "" {
		suffix += "_" + label
		if len(suffix) > 254 {
			suffix = suffix[:254]
		}
	}
	var b strings.Builder
	for _, r := range suffix {
		switch {
		case r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'):
			b.WriteRune(r)
		case r == ' ' || r == '\t' || r == '\n':
			b.WriteByte('_')
		case r == '-' || r == '_' || r == '.':
			b.WriteRune(r)
		case r < 128 && r > ' ':
			b.WriteByte('.')
		}
	}
	return b.String()
}

// backupCreate takes a hot backup.
func (s *Server) backupCreate(ctx context.Context, body map[string]json.RawMessage) (any, error) {
	label, _, err := bodyString(body, "label")
	if err != nil {
		return nil, err
	}
	timeout := 120.0
	if v, ok := body["timeout"]; ok && string(v) != "null" {
		if err := json.Unmarshal(v, &timeout); err != nil || timeout < 0 {
			return nil, hotBackupError(400, "attribute 'timeout' must be a non-negative number")
		}
	}
	allowInconsistent, err := bodyBool(body, "allowInconsistent")
	if err != nil {
		return nil, err
	}
	force, err := bodyBool(body, "force")
	if err != nil {
		return nil, err
	}
	if label == "" {
		label = newUUID()
	}
	hb := s.store.backups()
	hb.mu.Lock()
	if hb.creating {
		hb.mu.Unlock()
		return nil, hotBackupError(7011, "hot backup conflict: another hot backup is being created")
	}
	hb.creating = true
	hb.mu.Unlock()
	defer func() {
		hb.mu.Lock()
		hb.creating = false
		hb.mu.Unlock()
	}()

	wait := time.Duration(timeout * float64(time.Second))
	got, _ := hb.lock.acquire(ctx, wait)
	if !got && force {
		// Abort running write transactions, then wait for the lock once more (so force
		// doubles the effective timeout, as the docs say).
		s.abortWriteTransactions()
		got, _ = hb.lock.acquire(ctx, wait)
	}
	if !got && !allowInconsistent {
		return nil, hotBackupError(18, "Could not acquire lock before creating checkpoint.")
	}
	now := time.Now().UTC()
	role, nrDB := s.topology()
	img := s.store.captureImage(s.version, role, nrDB)
	if got {
		hb.lock.release()
	}
	id := backupIDFor(now, label)
	size, files := img.estimate()
	meta := backupMeta{ID: id, Version: s.version, Datetime: now.Format("2006-01-02T15:04:05Z"), Keys: []any{},
		SizeInBytes: size, NrFiles: files, NrDBServers: nrDB, PotentiallyInconsistent: !got,
		CountIncludesFilesOnly: true, Role: role}
	e := &backupEntry{meta: meta, img: img}
	hb.mu.Lock()
	if _, dup := hb.entries[id]; dup {
		hb.mu.Unlock()
		return nil, hotBackupError(7011, "hot backup conflict: a backup with id "+id+" exists already")
	}
	hb.mu.Unlock()
	if hb.disk != nil {
		if err := hb.disk.writeBackup(e); err != nil {
			return nil, hotBackupError(7001, "hot backup: "+err.Error())
		}
	}
	hb.mu.Lock()
	if hb.entries == nil {
		hb.entries = map[string]*backupEntry{}
	}
	hb.entries[id] = e
	hb.mu.Unlock()
	return map[string]any{"id": id, "potentiallyInconsistent": !got, "sizeInBytes": e.meta.SizeInBytes,
		"datetime": meta.Datetime, "nrDBServers": nrDB, "nrFiles": e.meta.NrFiles}, nil
}

// abortWriteTransactions aborts every running stream transaction holding a share of the lock.
func (s *Server) abortWriteTransactions() {
	hb := s.store.backups()
	for _, id := range hb.lock.trxHolders() {
		t := s.trxByID(id)
		if t != nil {
			t.abort()
		}
		hb.lock.leaveTrx(id) // also for transactions of another Coordinator's registry
	}
}

// trxByID finds a stream transaction on this server or, in a cluster, on any Coordinator.
func (s *Server) trxByID(id uint64) *streamTrx {
	if t := s.trx.get(id); t != nil {
		return t
	}
	if s.cluster != nil {
		s.cluster.mu.Lock()
		coords := append([]*Server(nil), s.cluster.coords...)
		s.cluster.mu.Unlock()
		for _, o := range coords {
			if t := o.trx.get(id); t != nil {
				return t
			}
		}
	}
	return nil
}

// abortAllTransactions aborts every running stream transaction (a restore "restarts" the server).
func (s *Server) abortAllTransactions() {
	servers := []*Server{s}
	if s.cluster != nil {
		s.cluster.mu.Lock()
		servers = append([]*Server(nil), s.cluster.coords...)
		s.cluster.mu.Unlock()
	}
	for _, o := range servers {
		o.trx.mu.Lock()
		list := make([]*streamTrx, 0, len(o.trx.m))
		for _, t := range o.trx.m {
			list = append(list, t)
		}
		o.trx.mu.Unlock()
		for _, t := range list {
			t.abort()
			s.store.backups().lock.leaveTrx(t.id)
		}
	}
}

// idsFilter reads the "id" attribute of list: a string or a list of strings.
func idsFilter(body map[string]json.RawMessage) ([]string, error) {
	v, ok := body["id"]
	if !ok || string(v) == "null" {
		return nil, nil
	}
	var one string
	if err := json.Unmarshal(v, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(v, &many); err != nil {
		return nil, hotBackupError(400, "attribute 'id' must be a string or an array of strings")
	}
	return many, nil
}

func (s *Server) backupList(body map[string]json.RawMessage) (any, error) {
	ids, err := idsFilter(body)
	if err != nil {
		return nil, err
	}
	hb := s.store.backups()
	hb.mu.Lock()
	defer hb.mu.Unlock()
	list := map[string]any{}
	entry := func(e *backupEntry) map[string]any {
		m := e.meta
		if m.Keys == nil {
			m.Keys = []any{}
		}
		return map[string]any{"id": m.ID, "version": m.Version, "datetime": m.Datetime, "keys": m.Keys,
			"sizeInBytes": m.SizeInBytes, "nrFiles": m.NrFiles, "nrDBServers": m.NrDBServers, "available": true,
			"nrPiecesPresent": m.NrDBServers, "potentiallyInconsistent": m.PotentiallyInconsistent,
			"countIncludesFilesOnly": m.CountIncludesFilesOnly}
	}
	if ids != nil {
		for _, id := range ids {
			e, ok := hb.entries[id]
			if !ok {
				return nil, hotBackupError(404, "backup not found: "+id)
			}
			list[id] = entry(e)
		}
	} else {
		for id, e := range hb.entries {
			list[id] = entry(e)
		}
	}
	return map[string]any{"server": s.backupServerID(), "list": list}, nil
}

func (s *Server) backupDelete(body map[string]json.RawMessage) (any, error) {
	id, ok, err := bodyString(body, "id")
	if err != nil {
		return nil, err
	}
	if !ok || id == "" {
		return nil, hotBackupError(400, "backup's ID must be specified")
	}
	hb := s.store.backups()
	hb.mu.Lock()
	e, found := hb.entries[id]
	if found {
		delete(hb.entries, id)
	}
	hb.mu.Unlock()
	if !found {
		return nil, hotBackupError(14, "file not found: backup "+id)
	}
	if hb.disk != nil && e.dir != "" {
		if err := hb.disk.removeBackup(e); err != nil {
			return nil, hotBackupError(7001, "hot backup delete: "+err.Error())
		}
	}
	return map[string]any{}, nil
}

// entryImage returns a backup's image, reading it from disk if needed.
func (hb *hotBackups) entryImage(e *backupEntry) (*stateImage, error) {
	hb.mu.Lock()
	img := e.img
	hb.mu.Unlock()
	if img != nil {
		return img, nil
	}
	if e.dir == "" {
		return nil, fmt.Errorf("backup %s has no data", e.meta.ID)
	}
	img, err := readImage(e.dir)
	if err != nil {
		return nil, err
	}
	return img, nil
}

// failsafeName is where the state before the last restore is kept (arangod's FAILSAFE).
const failsafeName = "FAILSAFE"

func (s *Server) backupRestore(ctx context.Context, body map[string]json.RawMessage) (any, error) {
	id, ok, err := bodyString(body, "id")
	if err != nil {
		return nil, err
	}
	if !ok || id == "" {
		return nil, hotBackupError(400, "backup's ID must be specified")
	}
	ignoreVersion, err := bodyBool(body, "ignoreVersion")
	if err != nil {
		return nil, err
	}
	saveCurrent, err := bodyBool(body, "saveCurrent")
	if err != nil {
		return nil, err
	}
	hb := s.store.backups()
	hb.mu.Lock()
	e, found := hb.entries[id]
	hb.mu.Unlock()
	if !found {
		return nil, hotBackupError(404, "No such backup: "+id)
	}
	role, nrDB := s.topology()
	if e.meta.NrDBServers != nrDB || (e.meta.Role != "" && e.meta.Role != role) {
		return nil, hotBackupError(7003, fmt.Sprintf("backup does not match this topology: backup %s was taken on %s with %d DB-Servers, this deployment is %s with %d",
			id, roleName(e.meta.Role), e.meta.NrDBServers, roleName(role), nrDB))
	}
	if !ignoreVersion {
		if err := checkRestoreVersion(e.meta.Version, s.version); err != nil {
			return nil, err
		}
	}
	img, err := hb.entryImage(e)
	if err != nil {
		return nil, hotBackupError(7002, "hot restore: "+err.Error())
	}

	// "Shut down": every transaction dies, in-flight writes finish, nothing new gets in.
	s.abortAllTransactions()
	if got, _ := hb.lock.acquire(ctx, 120*time.Second); !got {
		return nil, hotBackupError(18, "Could not acquire the global write lock for the restore.")
	}
	defer hb.lock.release()
	previous := failsafeName
	cur := s.store.captureImage(s.version, role, nrDB)
	if saveCurrent {
		now := time.Now().UTC()
		previous = backupIDFor(now, "before_restore")
		size, files := cur.estimate()
		pe := &backupEntry{img: cur, meta: backupMeta{ID: previous, Version: s.version, Datetime: now.Format("2006-01-02T15:04:05Z"),
			Keys: []any{}, SizeInBytes: size, NrFiles: files, NrDBServers: nrDB, CountIncludesFilesOnly: true, Role: role}}
		if hb.disk != nil {
			if err := hb.disk.writeBackup(pe); err != nil {
				return nil, hotBackupError(7002, "hot restore: save current state: "+err.Error())
			}
		}
		hb.mu.Lock()
		hb.entries[previous] = pe
		hb.mu.Unlock()
	}
	if err := s.store.installImage(img); err != nil {
		return nil, hotBackupError(7002, "hot restore: "+err.Error())
	}
	if hb.disk != nil {
		if err := hb.disk.saveRestored(cur, img); err != nil {
			return nil, hotBackupError(7002, "hot restore: "+err.Error())
		}
	}
	delay := time.Duration(hb.restartDelay.Load())
	if delay == 0 {
		delay = time.Second
	}
	now := time.Now()
	hb.restartedAt.Store(now.Add(delay).UnixNano())
	hb.restartUntil.Store(now.Add(delay).UnixNano())
	return map[string]any{"previous": previous, "isCluster": s.cluster != nil}, nil
}

func roleName(r string) string {
	switch r {
	case "COORDINATOR":
		return "a cluster"
	case "", "SINGLE":
		return "a single server"
	}
	return r
}

// checkRestoreVersion refuses what the seed document rules out: another major version, or a
// minor downgrade (a backup from a.c.x onto a.b.y with b < c).
func checkRestoreVersion(backup, server string) error {
	bv, sv := parseVersion(backup), parseVersion(server)
	if bv[0] != sv[0] || bv[1] > sv[1] {
		return hotBackupError(7002, fmt.Sprintf("hot restore: backup version %s cannot be restored on version %s (use ignoreVersion to force)", backup, server))
	}
	return nil
}

// sortedBackupIDs returns the ids of all backups (for tests).
func (hb *hotBackups) sortedBackupIDs() []string {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	out := make([]string, 0, len(hb.entries))
	for id := range hb.entries {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}
