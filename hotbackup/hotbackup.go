// Package hotbackup is a client for ArangoDB's Hot Backup API (/_admin/backup/*):
// create, list, restore, delete, and the upload/download transfers to a remote
// repository with their progress and abort, with the waiting a tool needs around
// them (transfer completion, the server coming back after a restore).
//
// It uses the official driver's ClientAdminBackup where the driver's call fits
// (create, list, delete, scheduling transfers) and raw requests where it does
// not: progress queries (servers answer 200 or 202, the driver accepts only
// 200), aborting a download (the driver posts it to the upload endpoint),
// restore with ignoreVersion (the driver cannot send it), and availability.
//
// It is not the physical (cold) backup: see hotbackup/physical.
package hotbackup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/arangodb/go-driver/v2/arangodb"
	"github.com/arangodb/go-driver/v2/arangodb/shared"

	"github.com/arangobackup/godump/client"
)

// Error kinds; match them with errors.Is.
var (
	// ErrLockTimeout: the server could not get its global write lock within
	// the timeout (HTTP 408, errorNum 18).
	ErrLockTimeout = errors.New("could not obtain the global write lock in time")
	// ErrNotFound: no backup (or transfer) with that id (HTTP 404, errorNum 7007).
	ErrNotFound = errors.New("no such hot backup")
	// ErrNotSupported: the server has no Hot Backup API (Community before 3.12.5, HTTP 501 or 404 unknown path).
	ErrNotSupported = errors.New("hot backup is not available on this server")
	// ErrForbidden: hot backups need a superuser on _system (HTTP 401/403).
	ErrForbidden = errors.New("hot backup needs admin rights")
	// ErrTopology: the backup does not match this deployment's topology (errorNum 7003).
	ErrTopology = errors.New("backup does not match this topology")
	// ErrConflict: another hot backup operation is running (errorNum 7011).
	ErrConflict = errors.New("another hot backup operation is running")
	// ErrTransferFailed: an upload or download ended FAILED on at least one server.
	ErrTransferFailed = errors.New("transfer failed")
	// ErrTransferCancelled: an upload or download was aborted.
	ErrTransferCancelled = errors.New("transfer was cancelled")
	// ErrNotAvailable: the server did not come back in time after a restore.
	ErrNotAvailable = errors.New("server did not become available in time")
)

// APIError is an error answer of the Hot Backup API.
type APIError struct {
	Op       string // "create", "list", "upload progress", ...
	Status   int
	ErrorNum int
	Message  string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("hot backup %s: HTTP %d, error %d: %s", e.Op, e.Status, e.ErrorNum, e.Message)
}

// Is maps the server's answer to the error kinds above.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrLockTimeout:
		return e.Status == http.StatusRequestTimeout || e.ErrorNum == 18
	case ErrNotFound:
		return e.ErrorNum == 7007 || (e.Status == http.StatusNotFound && !e.unknownPath())
	case ErrNotSupported:
		return e.Status == http.StatusNotImplemented || e.ErrorNum == 9 || e.unknownPath()
	case ErrForbidden:
		return e.Status == http.StatusForbidden || e.Status == http.StatusUnauthorized
	case ErrTopology:
		return e.ErrorNum == 7003
	case ErrConflict:
		return e.ErrorNum == 7011
	}
	return false
}

// unknownPath is the answer of a server without the API (404, "unknown path").
func (e *APIError) unknownPath() bool {
	return e.Status == http.StatusNotFound && strings.Contains(strings.ToLower(e.Message), "unknown path")
}

// apiError turns a driver or client error into an *APIError when the server
// answered; other errors (connection) are returned wrapped with op.
func apiError(op string, err error) error {
	if err == nil {
		return nil
	}
	var se *client.ServerError
	if errors.As(err, &se) {
		return &APIError{Op: op, Status: se.Status, ErrorNum: se.ErrorNum, Message: se.Message}
	}
	if ok, ae := shared.IsArangoError(err); ok && (ae.Code != 0 || ae.ErrorNum != 0) {
		return &APIError{Op: op, Status: ae.Code, ErrorNum: ae.ErrorNum, Message: ae.ErrorMessage}
	}
	return fmt.Errorf("hot backup %s: %w", op, err)
}

// Client talks to one deployment's Hot Backup API. Hot backups are global:
// requests go to the _system database.
type Client struct {
	conn *client.Conn
	// PollInterval is the wait between progress and availability queries (default 1 s).
	PollInterval time.Duration
}

// New returns a Client over an open connection.
func New(conn *client.Conn) *Client {
	return &Client{conn: conn, PollInterval: time.Second}
}

func (c *Client) admin() arangodb.ClientAdminBackup { return c.conn.Client }

// Backup is one hot backup as the server lists it.
type Backup struct {
	ID                      string    `json:"id"`
	Version                 string    `json:"version,omitempty"`
	DateTime                time.Time `json:"datetime"`
	SizeInBytes             uint64    `json:"sizeInBytes"`
	NrFiles                 uint      `json:"nrFiles"`
	NrDBServers             uint      `json:"nrDBServers"`
	NrPiecesPresent         uint      `json:"nrPiecesPresent"`
	Available               bool      `json:"available"`
	PotentiallyInconsistent bool      `json:"potentiallyInconsistent"`
	Keys                    []string  `json:"keys,omitempty"` // SHA-256 of the encryption keys
}

// CreateOptions are the options of Create, with arangobackup's meaning.
type CreateOptions struct {
	// Label is appended to the id (<timestamp>_<label>); empty: the server uses a UUID.
	Label string
	// MaxWaitForLock is how long the server tries to get the global write lock
	// (arangobackup --max-wait-for-lock, default 60 s). The API takes whole
	// seconds through the driver; fractions are rounded up.
	MaxWaitForLock time.Duration
	// AllowInconsistent takes a possibly inconsistent backup when the lock cannot be had.
	AllowInconsistent bool
	// Force aborts running transactions to get the lock (cluster only).
	Force bool
}

// labelRE is arangobackup's client-side check of --label.
var labelRE = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

// CreateResult is a new backup and how long the call took.
type CreateResult struct {
	Backup
	// Took is the duration of the create call: mostly waiting for the global
	// write lock, as the snapshot itself (hard links) is fast.
	Took time.Duration
}

// Create takes a hot backup.
func (c *Client) Create(ctx context.Context, o CreateOptions) (CreateResult, error) {
	if o.Label != "" && !labelRE.MatchString(o.Label) {
		return CreateResult{}, fmt.Errorf("hot backup create: label %q may only hold letters, digits, '.', '_' and '-'", o.Label)
	}
	if o.MaxWaitForLock < 0 {
		return CreateResult{}, fmt.Errorf("hot backup create: max wait for lock must be >= 0, got %v", o.MaxWaitForLock)
	}
	secs := uint(math.Ceil(o.MaxWaitForLock.Seconds()))
	opt := &arangodb.BackupCreateOptions{Label: o.Label, Timeout: &secs}
	if o.AllowInconsistent {
		opt.AllowInconsistent = &o.AllowInconsistent
	}
	if o.Force {
		opt.Force = &o.Force
	}
	start := time.Now()
	resp, err := c.admin().BackupCreate(ctx, opt)
	took := time.Since(start)
	if err != nil {
		return CreateResult{Took: took}, apiError("create", err)
	}
	if resp.ID == "" {
		return CreateResult{Took: took}, fmt.Errorf("hot backup create: the server answered without a backup id")
	}
	return CreateResult{Backup: Backup{
		ID: resp.ID, DateTime: resp.CreationTime, SizeInBytes: resp.SizeInBytes, NrFiles: resp.NumberOfFiles,
		NrDBServers: resp.NumberOfDBServers, PotentiallyInconsistent: resp.PotentiallyInconsistent,
	}, Took: took}, nil
}

// List returns the backups, sorted by date then id; with id, only that one
// (ErrNotFound if it does not exist).
func (c *Client) List(ctx context.Context, id string) ([]Backup, error) {
	var opt *arangodb.BackupListOptions
	if id != "" {
		opt = &arangodb.BackupListOptions{ID: id}
	}
	resp, err := c.admin().BackupList(ctx, opt)
	if err != nil {
		return nil, apiError("list", err)
	}
	out := make([]Backup, 0, len(resp.Backups))
	for key, m := range resp.Backups {
		b := Backup{
			ID: m.ID, Version: m.Version, DateTime: m.CreationTime, SizeInBytes: m.SizeInBytes,
			NrFiles: m.NumberOfFiles, NrDBServers: m.NumberOfDBServers, NrPiecesPresent: m.NumberOfPiecesPresent,
			Available: m.Available, PotentiallyInconsistent: m.PotentiallyInconsistent,
		}
		if b.ID == "" {
			b.ID = key
		}
		for _, k := range m.Keys {
			b.Keys = append(b.Keys, k.SHA256)
		}
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].DateTime.Equal(out[j].DateTime) {
			return out[i].DateTime.Before(out[j].DateTime)
		}
		return out[i].ID < out[j].ID
	})
	if id != "" && len(out) == 0 {
		return nil, &APIError{Op: "list", Status: http.StatusNotFound, ErrorNum: 7007, Message: fmt.Sprintf("no hot backup with id %q", id)}
	}
	return out, nil
}

// Delete removes a backup.
func (c *Client) Delete(ctx context.Context, id string) error {
	if id == "" {
		return errors.New("hot backup delete: no backup id given")
	}
	return apiError("delete "+id, c.admin().BackupDelete(ctx, id))
}

// post sends one POST to /_admin/backup/<op> without retries (the operations
// are not idempotent) and decodes "result" into out. It returns the status.
func (c *Client) post(ctx context.Context, op, what string, body any, out any) (int, error) {
	req := client.Request{Method: http.MethodPost, Database: "_system", Path: "/_admin/backup/" + op, JSON: body}
	resp, rc, err := c.conn.Stream(ctx, req)
	if err != nil {
		return 0, apiError(what, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return resp.Status, fmt.Errorf("hot backup %s: read answer: %w", what, err)
	}
	if out != nil {
		env := struct {
			Result json.RawMessage `json:"result"`
		}{}
		if err := json.Unmarshal(data, &env); err != nil {
			return resp.Status, fmt.Errorf("hot backup %s: decode answer: %w", what, err)
		}
		if len(env.Result) > 0 {
			if err := json.Unmarshal(env.Result, out); err != nil {
				return resp.Status, fmt.Errorf("hot backup %s: decode result: %w", what, err)
			}
		}
	}
	return resp.Status, nil
}

// RestoreOptions are the options of Restore.
type RestoreOptions struct {
	// IgnoreVersion restores a backup of another server version (may fail).
	IgnoreVersion bool
	// MaxWaitForRestart bounds the wait for the server to come back (default 2 min).
	MaxWaitForRestart time.Duration
	// RestartGrace is how long to look for the restart of a single server,
	// which answers before it restarts (default 5 s). The server may also be
	// back before the first look; verification covers that.
	RestartGrace time.Duration
}

// RestoreResult says what happened.
type RestoreResult struct {
	Previous        string        // the server's name for the state it replaced
	RestartObserved bool          // the server was seen unavailable and back
	Took            time.Duration // from the request until verified
	Backup          Backup        // the backup, as listed after the restart
}

// Restore restores a backup, waits until the server answers again and
// verifies that it lists the backup and reports itself available.
func (c *Client) Restore(ctx context.Context, id string, o RestoreOptions) (RestoreResult, error) {
	if id == "" {
		return RestoreResult{}, errors.New("hot backup restore: no backup id given")
	}
	if o.MaxWaitForRestart <= 0 {
		o.MaxWaitForRestart = 2 * time.Minute
	}
	if o.RestartGrace <= 0 {
		o.RestartGrace = 5 * time.Second
	}
	start := time.Now()
	uptime, hasUptime := c.uptime(ctx)
	body := map[string]any{"id": id}
	if o.IgnoreVersion {
		body["ignoreVersion"] = true
	}
	var res struct {
		Previous  string `json:"previous"`
		IsCluster bool   `json:"isCluster"`
	}
	if _, err := c.post(ctx, "restore", "restore "+id, body, &res); err != nil {
		return RestoreResult{}, err
	}
	out := RestoreResult{Previous: res.Previous}
	observed, err := c.waitRestart(ctx, o, c.conn.IsCluster() || res.IsCluster, uptime, hasUptime)
	out.RestartObserved = observed
	if err != nil {
		return out, fmt.Errorf("hot backup restore %s: %w", id, err)
	}
	// The server just came back: allow it a moment to answer everything.
	var list []Backup
	for attempt := 1; ; attempt++ {
		list, err = c.List(ctx, id)
		var ae *APIError
		if err == nil || errors.As(err, &ae) && ae.Status != http.StatusServiceUnavailable || attempt == 5 || ctx.Err() != nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err != nil {
		return out, fmt.Errorf("hot backup restore %s: verify after restart: %w", id, err)
	}
	out.Backup = list[0]
	out.Took = time.Since(start)
	return out, nil
}

// Available reports whether the server answers 200 on /_admin/server/availability.
func (c *Client) Available(ctx context.Context) bool {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, rc, err := c.conn.Stream(rctx, client.Request{Method: http.MethodGet, Database: "_system", Path: "/_admin/server/availability"})
	if err != nil {
		return false
	}
	io.Copy(io.Discard, rc)
	rc.Close()
	return resp.Status == http.StatusOK
}

// uptime reads server.uptime of /_admin/statistics, as arangobackup does to
// notice a restart; not every server has it.
func (c *Client) uptime(ctx context.Context) (float64, bool) {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, rc, err := c.conn.Stream(rctx, client.Request{Method: http.MethodGet, Database: "_system", Path: "/_admin/statistics"})
	if err != nil {
		return 0, false
	}
	defer rc.Close()
	var st struct {
		Server struct {
			Uptime *float64 `json:"uptime"`
		} `json:"server"`
	}
	if resp.Status != http.StatusOK || json.NewDecoder(rc).Decode(&st) != nil || st.Server.Uptime == nil {
		return 0, false
	}
	return *st.Server.Uptime, true
}

// waitRestart waits for the server to go away and come back. A cluster
// answers the restore only when it is done, so it only has to be available.
func (c *Client) waitRestart(ctx context.Context, o RestoreOptions, cluster bool, uptime0 float64, hasUptime bool) (bool, error) {
	start := time.Now()
	sawDown := false
	for {
		avail := c.Available(ctx)
		if !avail {
			sawDown = true
		}
		if avail {
			if sawDown {
				return true, nil
			}
			if hasUptime {
				if u, ok := c.uptime(ctx); ok && u < uptime0 {
					return true, nil
				}
			}
			if cluster || time.Since(start) >= o.RestartGrace {
				return false, nil
			}
		}
		if time.Since(start) > o.MaxWaitForRestart {
			return sawDown, fmt.Errorf("%w (waited %v; check the server's log)", ErrNotAvailable, o.MaxWaitForRestart)
		}
		// Restarts can be short: look often at first.
		interval := 50 * time.Millisecond
		if time.Since(start) > 2*time.Second {
			interval = 200 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return sawDown, ctx.Err()
		case <-time.After(interval):
		}
	}
}

// RestoreNoWait starts a restore and returns at once (arangobackup with
// --max-wait-for-restart 0).
func (c *Client) RestoreNoWait(ctx context.Context, id string, ignoreVersion bool) error {
	body := map[string]any{"id": id}
	if ignoreVersion {
		body["ignoreVersion"] = true
	}
	_, err := c.post(ctx, "restore", "restore "+id, body, nil)
	return err
}
