// Package fakeapi is a fake of the Hot Backup API for the unit tests of
// hotbackup and its CLI, answering as reference section 10 says (single
// server). The e2e tests use arangotest instead.
package fakeapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// New returns an empty fake server.
func New() *Server {
	return &Server{Backups: map[string]map[string]any{}, transfers: map[string]*transfer{}, ProgressTo: 3}
}

// Lock runs fn with the server's state locked (to change fields during a test).
func (f *Server) Lock(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

// Server answers the Hot Backup API exactly as reference section 10 says.
type Server struct {
	mu          sync.Mutex
	Backups     map[string]map[string]any
	LockBusy    bool          // a write transaction keeps the global lock
	downUntil   time.Time     // availability 503 until then (restart after restore)
	RestoreWait time.Duration // delay before "restarting"
	transfers   map[string]*transfer
	nextID      int
	Requests    []string // "op body"
	ProgressTo  int      // polls until a transfer completes
}

type transfer struct {
	dir, backup string
	polls       int
	status      string
}

func (f *Server) reply(w http.ResponseWriter, code int, result any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"error": false, "code": code, "result": result})
}

func (f *Server) fail(w http.ResponseWriter, code, num int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"error": true, "code": code, "errorNum": num, "errorMessage": msg})
}

func (f *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/_db/_system")
	f.mu.Lock()
	defer f.mu.Unlock()
	switch path {
	case "/_api/version":
		io.WriteString(w, `{"server":"arango","version":"3.12.4","license":"enterprise"}`)
		return
	case "/_admin/server/role":
		io.WriteString(w, `{"role":"SINGLE","mode":"default"}`)
		return
	case "/_admin/server/availability":
		if time.Now().Before(f.downUntil) {
			f.fail(w, 503, 503, "service unavailable")
			return
		}
		io.WriteString(w, `{"mode":"default","writeOps":"enabled"}`)
		return
	}
	op, ok := strings.CutPrefix(path, "/_admin/backup/")
	if !ok {
		f.fail(w, 404, 404, "unknown path "+path)
		return
	}
	if r.Method != http.MethodPost {
		f.fail(w, 405, 405, "backup endpoint only handles POST requests")
		return
	}
	raw, _ := io.ReadAll(r.Body)
	f.Requests = append(f.Requests, op+" "+string(raw))
	var body map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &body); err != nil {
			f.fail(w, 400, 600, "failed to parse backup body")
			return
		}
	}
	str := func(k string) string { s, _ := body[k].(string); return s }
	switch op {
	case "create":
		incons := false
		if f.LockBusy {
			if ai, _ := body["allowInconsistent"].(bool); !ai {
				f.fail(w, 408, 18, "Could not acquire lock before creating checkpoint.")
				return
			}
			incons = true
		}
		label := str("label")
		if label == "" {
			label = "4a2c3e0f-uuid"
		}
		f.nextID++
		id := fmt.Sprintf("2026-11-25T17.00.%02dZ_%s", f.nextID, label)
		f.Backups[id] = map[string]any{"id": id, "version": "3.12.4", "datetime": fmt.Sprintf("2026-11-25T17:00:%02dZ", f.nextID),
			"keys": []any{}, "sizeInBytes": 1000 + f.nextID, "nrFiles": 7, "nrDBServers": 1, "available": true,
			"nrPiecesPresent": 1, "potentiallyInconsistent": incons, "countIncludesFilesOnly": true}
		f.reply(w, 201, map[string]any{"id": id, "potentiallyInconsistent": incons, "sizeInBytes": 1000 + f.nextID,
			"datetime": fmt.Sprintf("2026-11-25T17:00:%02dZ", f.nextID), "nrDBServers": 1, "nrFiles": 7})
	case "list":
		list := map[string]any{}
		if id := str("id"); id != "" {
			b, ok := f.Backups[id]
			if !ok {
				f.fail(w, 404, 7007, "no such hot backup set can be found")
				return
			}
			list[id] = b
		} else {
			for id, b := range f.Backups {
				list[id] = b
			}
		}
		f.reply(w, 200, map[string]any{"server": "SNGL-1", "list": list})
	case "delete":
		if _, ok := f.Backups[str("id")]; !ok {
			f.fail(w, 404, 7007, "no such hot backup set can be found")
			return
		}
		delete(f.Backups, str("id"))
		f.reply(w, 200, map[string]any{})
	case "restore":
		if _, ok := f.Backups[str("id")]; !ok {
			f.fail(w, 404, 7007, "no such hot backup set can be found")
			return
		}
		// The single server answers first, then restarts.
		f.downUntil = time.Now().Add(f.RestoreWait + 400*time.Millisecond)
		f.reply(w, 200, map[string]any{"previous": "/data/backups/DIRECTORY_TO_DELETE", "isCluster": false})
	case "upload", "download":
		idKey := op + "Id"
		if tid := str(idKey); tid != "" {
			t, ok := f.transfers[tid]
			if !ok || t.dir != op {
				f.fail(w, 404, 404, "unknown transfer "+tid)
				return
			}
			if ab, _ := body["abort"].(bool); ab && t.status != "COMPLETED" {
				t.status = "CANCELLED"
			}
			if t.status == "STARTED" {
				t.polls++
				if t.polls >= f.ProgressTo {
					t.status = "COMPLETED"
					if _, ok := f.Backups[t.backup]; !ok && op == "upload" {
						t.status = "FAILED"
					}
					if op == "download" {
						f.Backups[t.backup] = map[string]any{"id": t.backup, "version": "3.12.4", "datetime": "2026-11-25T17:00:00Z",
							"sizeInBytes": 5, "nrFiles": 7, "nrDBServers": 1, "available": true, "nrPiecesPresent": 1}
					}
				}
			}
			srv := map[string]any{"Status": t.status}
			if t.status == "FAILED" {
				srv["Error"], srv["ErrorMessage"] = 7005, "backup not found"
			} else {
				srv["Progress"] = map[string]any{"Total": 7, "Done": min(7, t.polls*3), "Timestamp": "2026-11-25T17:01:00Z"}
			}
			// The public handler answers progress queries with 202 (see the reference).
			f.reply(w, 202, map[string]any{"Timestamp": "2026-11-25T17:01:00Z", "BackupId": t.backup,
				"Cancelled": t.status == "CANCELLED", "DBServers": map[string]any{"SNGL": srv}})
			return
		}
		f.nextID++
		tid := fmt.Sprint(68000 + f.nextID)
		f.transfers[tid] = &transfer{dir: op, backup: str("id"), status: "STARTED"}
		f.reply(w, 202, map[string]any{idKey: tid})
	default:
		f.fail(w, 400, 601, "superfluous URL suffices")
	}
}
