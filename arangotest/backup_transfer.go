package arangotest

// Hot backup upload and download (/_admin/backup/upload|download), the rclone part of arangod.
//
// A transfer is scheduled with {"id" (upload) or "id" (download), "remoteRepository":
// "<remote>:<path>", "config": {"<remote>": {"type": ...}}} and answered 202 {"uploadId"} /
// {"downloadId"}; progress is asked with {"uploadId"} (200), abort with {"uploadId","abort":true}
// (202). Only rclone's "local" remote type is carried out for real: <path> is a directory on this
// machine (relative paths are taken from "/", arangod's --backup.local-path-prefix default) and
// the backup travels as its directory <path>/<id>/ (data files, MANIFEST.json, META last). Every
// other type fails the way a server reports a failed rclone run (Status FAILED, Error 7005 for
// uploads, 7006 for downloads, rclone's message). Transfers are throttled (4 MiB/s, at least
// 1 s) so that progress and abort can be observed.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

type transfer struct {
	id       string
	kind     string // "upload" or "download"
	backupID string
	cancel   context.CancelFunc

	mu        sync.Mutex
	status    string // STARTED, COMPLETED, FAILED, CANCELLED
	cancelled bool
	total     int
	done      int
	errNum    int
	errMsg    string
	updated   time.Time
}

func (t *transfer) set(f func(t *transfer)) {
	t.mu.Lock()
	f(t)
	t.updated = time.Now()
	t.mu.Unlock()
}

func (t *transfer) finished() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.status == "COMPLETED" || t.status == "FAILED" || t.status == "CANCELLED"
}

// report renders the progress object.
func (s *Server) transferReport(t *transfer) map[string]any {
	t.mu.Lock()
	defer t.mu.Unlock()
	ts := t.updated.UTC().Format("2006-01-02T15:04:05Z")
	one := map[string]any{"Status": t.status}
	if t.total > 0 || t.status == "COMPLETED" {
		one["Progress"] = map[string]any{"Total": t.total, "Done": t.done, "Timestamp": ts}
	}
	if t.status == "FAILED" {
		one["Error"] = t.errNum
		one["ErrorMessage"] = t.errMsg
	}
	servers := map[string]any{}
	for _, k := range s.dbServerKeys() {
		servers[k] = one
	}
	idKey := "UploadId"
	if t.kind == "download" {
		idKey = "DownloadId"
	}
	return map[string]any{"Timestamp": ts, idKey: t.id, "BackupId": t.backupID, "Cancelled": t.cancelled,
		"DBServers": servers}
}

// backupTransfer handles upload and download: schedule, progress, abort.
func (s *Server) backupTransfer(op string, body map[string]json.RawMessage) (any, int, error) {
	hb := s.store.backups()
	jobKey := op + "Id"
	jobID, hasJob, err := bodyString(body, jobKey)
	if err != nil {
		return nil, 0, err
	}
	abort, err := bodyBool(body, "abort")
	if err != nil {
		return nil, 0, err
	}
	if !hasJob && abort && op == "upload" {
		// go-driver v2 posts a download's abort to /upload with "downloadId".
		jobID, hasJob, _ = bodyString(body, "downloadId")
	}
	if hasJob {
		hb.mu.Lock()
		t := hb.transfers[jobID]
		hb.mu.Unlock()
		if t == nil {
			return nil, 0, hotBackupError(404, "no "+op+" job with id "+jobID)
		}
		if abort {
			if !t.finished() {
				t.set(func(t *transfer) { t.cancelled = true })
				t.cancel()
			}
			return s.transferReport(t), 202, nil
		}
		return s.transferReport(t), 200, nil
	}

	id, ok, err := bodyString(body, "id")
	if err != nil {
		return nil, 0, err
	}
	if !ok || id == "" {
		return nil, 0, hotBackupError(400, "backup's ID must be specified")
	}
	if strings.ContainsAny(id, `/\`) || id == "." || id == ".." {
		return nil, 0, hotBackupError(400, "invalid backup id "+strconv.Quote(id))
	}
	repo, ok, err := bodyString(body, "remoteRepository")
	if err != nil {
		return nil, 0, err
	}
	if !ok || repo == "" {
		return nil, 0, hotBackupError(400, "remoteRepository must be specified")
	}
	var config map[string]map[string]any
	if v, ok := body["config"]; !ok || json.Unmarshal(v, &config) != nil || config == nil {
		return nil, 0, hotBackupError(7008, "remote hotback repository configuration error: config must be an object of rclone remote sections")
	}
	remote, path, found := strings.Cut(repo, ":")
	if !found || remote == "" || strings.Contains(remote, "/") {
		return nil, 0, hotBackupError(7008, "remote hotback repository configuration error: remoteRepository must be <remote>:<path>, got "+strconv.Quote(repo))
	}
	section, ok := config[remote]
	if !ok {
		return nil, 0, hotBackupError(7008, "remote hotback repository configuration error: remote "+strconv.Quote(remote)+" is not in config")
	}
	typ, _ := section["type"].(string)
	if typ == "" {
		return nil, 0, hotBackupError(7008, "remote hotback repository configuration error: remote "+strconv.Quote(remote)+" has no type")
	}

	ctx, cancel := context.WithCancel(context.Background())
	hb.mu.Lock()
	hb.nextJob++
	t := &transfer{id: strconv.FormatUint(s.store.NextTick(), 10), kind: op, backupID: id, cancel: cancel,
		status: "STARTED", updated: time.Now()}
	if hb.transfers == nil {
		hb.transfers = map[string]*transfer{}
	}
	hb.transfers[t.id] = t
	hb.mu.Unlock()
	go s.runTransfer(ctx, t, typ, remote, path)
	return map[string]any{jobKey: t.id}, 202, nil
}

// runTransfer carries out a transfer and records its outcome.
func (s *Server) runTransfer(ctx context.Context, t *transfer, typ, remote, path string) {
	defer t.cancel()
	hb := s.store.backups()
	minDur := time.Duration(hb.transferMin.Load())
	if minDur == 0 {
		minDur = time.Second
	}
	start := time.Now()
	var num int
	var err error
	if typ != "local" {
		// What arangod reports when rclone fails: here it cannot reach anything but the
		// local file system.
		num = 7005
		if t.kind == "download" {
			num = 7006
		}
		select {
		case <-ctx.Done():
		case <-time.After(minDur):
		}
		err = fmt.Errorf("rclone exited with error: Failed to create file system for %q: remote type %q is not reachable from arangotest (only \"local\" remotes are supported)",
			remote+":"+path, typ)
	} else {
		root := filepath.Join("/", path)
		if t.kind == "upload" {
			num = 7005
			err = s.uploadLocal(ctx, t, root)
		} else {
			num = 7006
			err = s.downloadLocal(ctx, t, root)
		}
	}
	if err == nil {
		// Transfers take at least minDur, so progress and abort can be observed.
		if rest := minDur - time.Since(start); rest > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(rest):
			}
		}
	}
	if ctx.Err() != nil && t.cancelledFlag() {
		t.set(func(t *transfer) { t.status = "CANCELLED" })
		return
	}
	if err != nil {
		var ae *ArangoError
		if errors.As(err, &ae) {
			num = ae.Num
		}
		msg := err.Error()
		if ae != nil {
			msg = ae.Message
		}
		t.set(func(t *transfer) { t.status, t.errNum, t.errMsg = "FAILED", num, msg })
		return
	}
	t.set(func(t *transfer) { t.status = "COMPLETED"; t.done = t.total })
}

func (t *transfer) cancelledFlag() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cancelled
}

// throttle copies files at the configured rate, counting them as done.
type throttle struct {
	rate  int64
	start time.Time
	bytes int64
}

func (th *throttle) wait(ctx context.Context, n int) error {
	th.bytes += int64(n)
	due := th.start.Add(time.Duration(float64(th.bytes) / float64(th.rate) * float64(time.Second)))
	if d := time.Until(due); d > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
	}
	return ctx.Err()
}

func (s *Server) newThrottle() *throttle {
	rate := s.store.backups().transferRate.Load()
	if rate <= 0 {
		rate = 4 << 20
	}
	return &throttle{rate: rate, start: time.Now()}
}

// copyThrottled copies one file (through a temporary name).
func copyThrottled(ctx context.Context, th *throttle, src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".partial"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	for {
		n, rerr := in.Read(buf)
		if n > 0 {
			if _, werr := out.Write(buf[:n]); werr != nil {
				out.Close()
				os.Remove(tmp)
				return werr
			}
			if err := th.wait(ctx, n); err != nil {
				out.Close()
				os.Remove(tmp)
				return err
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			out.Close()
			os.Remove(tmp)
			return rerr
		}
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}

// copyBackupDir copies a backup directory's files (data, manifest, META last).
func copyBackupDir(ctx context.Context, t *transfer, th *throttle, src, dst string) error {
	files, _, err := imageFiles(src)
	if err != nil {
		return err
	}
	files = append(files, "META")
	t.set(func(t *transfer) { t.total = len(files) })
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := copyThrottled(ctx, th, filepath.Join(src, f), filepath.Join(dst, f)); err != nil {
			return fmt.Errorf("copy %s: %w", f, err)
		}
		t.set(func(t *transfer) { t.done++ })
	}
	return nil
}

// uploadLocal copies the backup to <root>/<id>.
func (s *Server) uploadLocal(ctx context.Context, t *transfer, root string) error {
	hb := s.store.backups()
	hb.mu.Lock()
	e := hb.entries[t.backupID]
	hb.mu.Unlock()
	if e == nil {
		return hotBackupError(7007, "no such hot backup set can be found: "+t.backupID)
	}
	src := e.dir
	if src == "" {
		// In memory only: write the backup's files to a scratch directory first.
		tmp, err := os.MkdirTemp("", "arangotest-upload-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		img, err := hb.entryImage(e)
		if err != nil {
			return err
		}
		if _, _, err := writeImage(tmp, img, ""); err != nil {
			return err
		}
		if err := writeFileAtomic(filepath.Join(tmp, "META"), mustJSON(e.meta)); err != nil {
			return err
		}
		src = tmp
	}
	dst := filepath.Join(root, t.backupID)
	existed := fileExists(dst)
	if err := copyBackupDir(ctx, t, s.newThrottle(), src, dst); err != nil {
		if !existed {
			os.RemoveAll(dst)
		}
		return fmt.Errorf("upload %s to %s: %w", t.backupID, dst, err)
	}
	return nil
}

// downloadLocal copies <root>/<id> into this server's backups.
func (s *Server) downloadLocal(ctx context.Context, t *transfer, root string) error {
	hb := s.store.backups()
	src := filepath.Join(root, t.backupID)
	meta, err := readMeta(src)
	if err != nil {
		return fmt.Errorf("download %s from %s: not a hot backup: %w", t.backupID, src, err)
	}
	hb.mu.Lock()
	_, exists := hb.entries[t.backupID]
	hb.mu.Unlock()
	if exists {
		return fmt.Errorf("download %s: a backup with this id exists already", t.backupID)
	}
	var dst string
	if hb.disk != nil {
		dst = filepath.Join(hb.disk.backupsDir(), "DOWNLOADING_"+t.id)
	} else {
		tmp, err := os.MkdirTemp("", "arangotest-download-")
		if err != nil {
			return err
		}
		dst = filepath.Join(tmp, t.backupID)
		defer os.RemoveAll(tmp)
	}
	if err := copyBackupDir(ctx, t, s.newThrottle(), src, dst); err != nil {
		os.RemoveAll(dst)
		return fmt.Errorf("download %s from %s: %w", t.backupID, src, err)
	}
	img, err := readImage(dst)
	if err != nil {
		os.RemoveAll(dst)
		return fmt.Errorf("download %s: %w", t.backupID, err)
	}
	e := &backupEntry{meta: meta}
	if hb.disk != nil {
		final := filepath.Join(hb.disk.backupsDir(), t.backupID)
		if err := os.Rename(dst, final); err != nil {
			os.RemoveAll(dst)
			return fmt.Errorf("download %s: %w", t.backupID, err)
		}
		e.dir = final
	} else {
		e.img = img
	}
	hb.mu.Lock()
	if hb.entries == nil {
		hb.entries = map[string]*backupEntry{}
	}
	if _, exists := hb.entries[t.backupID]; exists {
		hb.mu.Unlock()
		return fmt.Errorf("download %s: a backup with this id exists already", t.backupID)
	}
	hb.entries[t.backupID] = e
	hb.mu.Unlock()
	return nil
}
