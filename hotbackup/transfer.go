package hotbackup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/arangodb/go-driver/v2/arangodb"
)

// Direction of a transfer.
type Direction string

// The two transfer directions.
const (
	Upload   Direction = "upload"
	Download Direction = "download"
)

// idField is the name of the transfer id in requests ("uploadId"/"downloadId").
func (d Direction) idField() string { return string(d) + "Id" }

// Transfer states the server reports per DB-Server.
const (
	StatusAck       = "ACK"
	StatusStarted   = "STARTED"
	StatusCompleted = "COMPLETED"
	StatusFailed    = "FAILED"
	StatusCancelled = "CANCELLED"
)

// ServerTransfer is one DB-Server's part of a transfer ("SNGL" on a single server).
type ServerTransfer struct {
	Status       string `json:"Status"`
	Error        int    `json:"Error,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
	Progress     struct {
		Total     int    `json:"Total,omitempty"`
		Done      int    `json:"Done,omitempty"`
		Timestamp string `json:"Timestamp,omitempty"` // as go-driver v2 reads it
		Time      string `json:"Time,omitempty"`      // as arangobackup reads it (BackupFeature.cpp executeStatusQuery)
	} `json:"Progress"`
}

// Finished reports a final state.
func (s ServerTransfer) Finished() bool {
	return s.Status == StatusCompleted || s.Status == StatusFailed || s.Status == StatusCancelled
}

// TransferStatus is the progress object of an upload or download.
type TransferStatus struct {
	Direction Direction                 `json:"direction"`
	ID        string                    `json:"id"`
	BackupID  string                    `json:"BackupId,omitempty"`
	Cancelled bool                      `json:"Cancelled,omitempty"`
	Timestamp string                    `json:"Timestamp,omitempty"`
	DBServers map[string]ServerTransfer `json:"DBServers"`
}

// Servers returns the DB-Server names, sorted.
func (t TransferStatus) Servers() []string {
	names := make([]string, 0, len(t.DBServers))
	for n := range t.DBServers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Finished reports whether every DB-Server reached a final state.
func (t TransferStatus) Finished() bool {
	if len(t.DBServers) == 0 {
		return false
	}
	for _, s := range t.DBServers {
		if !s.Finished() {
			return false
		}
	}
	return true
}

// Err is nil for a transfer that completed everywhere; otherwise it says
// which servers failed or were cancelled (ErrTransferFailed, ErrTransferCancelled).
// Call it on a finished transfer.
func (t TransferStatus) Err() error {
	var failed, cancelled []string
	for _, n := range t.Servers() {
		s := t.DBServers[n]
		switch s.Status {
		case StatusFailed:
			msg := n
			if s.ErrorMessage != "" || s.Error != 0 {
				msg = fmt.Sprintf("%s: error %d: %s", n, s.Error, s.ErrorMessage)
			}
			failed = append(failed, msg)
		case StatusCancelled:
			cancelled = append(cancelled, n)
		}
	}
	switch {
	case len(failed) > 0:
		return fmt.Errorf("%s %s of backup %s: %w on %s", t.Direction, t.ID, t.BackupID, ErrTransferFailed, strings.Join(failed, "; "))
	case len(cancelled) > 0 || t.Cancelled:
		return fmt.Errorf("%s %s of backup %s: %w", t.Direction, t.ID, t.BackupID, ErrTransferCancelled)
	}
	return nil
}

// RemoteConfig is an rclone configuration: sections keyed by remote name.
type RemoteConfig map[string]map[string]any

// ReadRemoteConfig reads arangobackup's --rclone-config-file: a JSON object
// {"<remote>": {rclone options...}}.
func ReadRemoteConfig(path string) (RemoteConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read rclone config %s: %w", path, err)
	}
	var cfg RemoteConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("rclone config %s: not a JSON object of remotes ({\"<remote>\": {\"type\": ...}}): %w", path, err)
	}
	if len(cfg) == 0 {
		return nil, fmt.Errorf("rclone config %s: no remote defined", path)
	}
	return cfg, nil
}

// CheckRemotePath checks a --remote-path against the config the way the server
// does: "<remote>:<path>", the remote a key of cfg, no '/' before the colon.
func CheckRemotePath(remotePath string, cfg RemoteConfig) error {
	i := strings.Index(remotePath, ":")
	if i <= 0 {
		return fmt.Errorf("remote path %q must look like <remote>:<path>, <remote> being a section of the rclone config", remotePath)
	}
	remote := remotePath[:i]
	if strings.Contains(remote, "/") {
		return fmt.Errorf("remote path %q: the remote name %q may not contain '/'", remotePath, remote)
	}
	if _, ok := cfg[remote]; !ok {
		names := make([]string, 0, len(cfg))
		for n := range cfg {
			names = append(names, n)
		}
		sort.Strings(names)
		return fmt.Errorf("remote path %q: remote %q is not in the rclone config (it has: %s)", remotePath, remote, strings.Join(names, ", "))
	}
	return nil
}

// StartTransfer schedules an upload of a local backup to remotePath, or a
// download of a remote one, and returns the transfer id.
func (c *Client) StartTransfer(ctx context.Context, dir Direction, backupID, remotePath string, cfg RemoteConfig) (string, error) {
	if backupID == "" {
		return "", fmt.Errorf("hot backup %s: no backup id given", dir)
	}
	if err := CheckRemotePath(remotePath, cfg); err != nil {
		return "", fmt.Errorf("hot backup %s %s: %w", dir, backupID, err)
	}
	var (
		mon arangodb.TransferMonitor
		err error
	)
	switch dir {
	case Upload:
		mon, err = c.admin().BackupUpload(ctx, backupID, remotePath, cfg)
	case Download:
		mon, err = c.admin().BackupDownload(ctx, backupID, remotePath, cfg)
	default:
		return "", fmt.Errorf("unknown transfer direction %q", dir)
	}
	if err != nil {
		return "", apiError(string(dir)+" "+backupID, err)
	}
	return mon.GetID(), nil
}

// TransferProgress asks for the state of a transfer. Servers answer 200 or
// 202 (see the package doc); both are accepted.
func (c *Client) TransferProgress(ctx context.Context, dir Direction, id string) (TransferStatus, error) {
	st := TransferStatus{Direction: dir, ID: id}
	if id == "" {
		return st, fmt.Errorf("hot backup %s progress: no transfer id given", dir)
	}
	if _, err := c.post(ctx, string(dir), string(dir)+" progress "+id, map[string]any{dir.idField(): id}, &st); err != nil {
		return st, err
	}
	st.Direction, st.ID = dir, id
	return st, nil
}

// AbortTransfer asks the server to abort a running transfer. Unlike the
// driver, it posts a download's abort to the download endpoint.
func (c *Client) AbortTransfer(ctx context.Context, dir Direction, id string) error {
	if id == "" {
		return fmt.Errorf("hot backup %s abort: no transfer id given", dir)
	}
	_, err := c.post(ctx, string(dir), string(dir)+" abort "+id, map[string]any{dir.idField(): id, "abort": true}, nil)
	return err
}

// WaitTransfer polls a transfer every PollInterval, telling report about each
// state, until it is finished; it returns the last state and its Err. When
// ctx ends first it returns ctx's error with the last state seen, and the
// transfer goes on on the server.
func (c *Client) WaitTransfer(ctx context.Context, dir Direction, id string, report func(TransferStatus)) (TransferStatus, error) {
	interval := c.PollInterval
	if interval <= 0 {
		interval = time.Second
	}
	var last TransferStatus
	failures := 0
	for {
		st, err := c.TransferProgress(ctx, dir, id)
		switch {
		case err != nil && ctx.Err() != nil:
			return last, ctx.Err()
		case err != nil:
			// A progress query may fail while the server is busy; the transfer
			// goes on. Give up only after several failures in a row.
			if failures++; failures >= 5 || errors.Is(err, ErrNotFound) {
				return last, err
			}
		default:
			failures = 0
			last = st
			if report != nil {
				report(st)
			}
			if st.Finished() {
				return st, st.Err()
			}
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(interval):
		}
	}
}
