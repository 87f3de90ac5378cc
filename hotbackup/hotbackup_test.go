package hotbackup

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/arangobackup/godump/client"
	"github.com/arangobackup/godump/hotbackup/internal/fakeapi"
)

func newFake(t *testing.T) (*fakeapi.Server, *Client) {
	t.Helper()
	f := fakeapi.New()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	o := client.DefaultOptions()
	o.Endpoints = []string{srv.URL}
	o.Authentication = false
	conn, err := client.Connect(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	c := New(conn)
	c.PollInterval = 10 * time.Millisecond
	return f, c
}

func TestCreateListDelete(t *testing.T) {
	f, c := newFake(t)
	ctx := context.Background()
	res, err := c.Create(ctx, CreateOptions{Label: "nightly", MaxWaitForLock: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(res.ID, "_nightly") || res.NrFiles != 7 || res.SizeInBytes != 1001 || res.PotentiallyInconsistent {
		t.Fatalf("create result %+v", res)
	}
	var sent map[string]any
	json.Unmarshal([]byte(strings.TrimPrefix(f.Requests[0], "create ")), &sent)
	if sent["timeout"] != 2.0 || sent["label"] != "nightly" {
		t.Errorf("create sent %v; want timeout 2 (1.5 s rounded up) and the label", sent)
	}
	if _, err := c.Create(ctx, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	list, err := c.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != res.ID || !strings.HasSuffix(list[1].ID, "_4a2c3e0f-uuid") || list[0].Version != "3.12.4" || !list[0].Available || list[0].NrDBServers != 1 {
		t.Fatalf("list %+v", list)
	}
	one, err := c.List(ctx, res.ID)
	if err != nil || len(one) != 1 || one[0].ID != res.ID {
		t.Fatalf("list one: %+v %v", one, err)
	}
	if err := c.Delete(ctx, res.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.List(ctx, res.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("list deleted: %v, want ErrNotFound", err)
	}
	if err := c.Delete(ctx, res.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v, want ErrNotFound", err)
	}
	if _, err := c.Create(ctx, CreateOptions{Label: "bad label"}); err == nil {
		t.Fatal("label with a space accepted")
	}
}

func TestCreateLockTimeout(t *testing.T) {
	f, c := newFake(t)
	f.LockBusy = true
	_, err := c.Create(context.Background(), CreateOptions{MaxWaitForLock: time.Second})
	var ae *APIError
	if !errors.Is(err, ErrLockTimeout) || !errors.As(err, &ae) || ae.Status != 408 || ae.ErrorNum != 18 {
		t.Fatalf("create under lock: %v, want lock timeout 408/18", err)
	}
	res, err := c.Create(context.Background(), CreateOptions{MaxWaitForLock: time.Second, AllowInconsistent: true})
	if err != nil || !res.PotentiallyInconsistent {
		t.Fatalf("allowInconsistent: %+v %v", res, err)
	}
}

func TestRestoreWaitsForRestart(t *testing.T) {
	f, c := newFake(t)
	ctx := context.Background()
	res, err := c.Create(ctx, CreateOptions{Label: "r"})
	if err != nil {
		t.Fatal(err)
	}
	f.RestoreWait = 300 * time.Millisecond
	start := time.Now()
	rr, err := c.Restore(ctx, res.ID, RestoreOptions{IgnoreVersion: true})
	if err != nil {
		t.Fatal(err)
	}
	if !rr.RestartObserved || rr.Backup.ID != res.ID || rr.Previous == "" {
		t.Fatalf("restore result %+v", rr)
	}
	if time.Since(start) < 600*time.Millisecond {
		t.Errorf("restore returned after %v, before the server was back", time.Since(start))
	}
	if last := f.Requests[len(f.Requests)-2]; !strings.Contains(last, `"ignoreVersion":true`) {
		t.Errorf("restore request %q lacks ignoreVersion", last)
	}
	if _, err := c.Restore(ctx, "nope", RestoreOptions{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("restore unknown: %v", err)
	}
}

func TestRestoreGivesUpWhenServerStaysDown(t *testing.T) {
	f, c := newFake(t)
	res, _ := c.Create(context.Background(), CreateOptions{})
	f.RestoreWait = time.Hour
	_, err := c.Restore(context.Background(), res.ID, RestoreOptions{MaxWaitForRestart: 500 * time.Millisecond})
	if !errors.Is(err, ErrNotAvailable) {
		t.Fatalf("got %v, want ErrNotAvailable", err)
	}
}

func TestUploadDownloadProgressAndAbort(t *testing.T) {
	f, c := newFake(t)
	ctx := context.Background()
	res, _ := c.Create(ctx, CreateOptions{Label: "up"})
	cfg := RemoteConfig{"local": {"type": "local"}}
	if _, err := c.StartTransfer(ctx, Upload, res.ID, "s3:bucket", cfg); err == nil || !strings.Contains(err.Error(), `remote "s3" is not in the rclone config`) {
		t.Fatalf("bad remote: %v", err)
	}
	id, err := c.StartTransfer(ctx, Upload, res.ID, "local:/tmp/backups", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	st, err := c.WaitTransfer(ctx, Upload, id, func(s TransferStatus) { seen = append(seen, s.DBServers["SNGL"].Status) })
	if err != nil {
		t.Fatal(err)
	}
	if st.DBServers["SNGL"].Status != StatusCompleted || st.DBServers["SNGL"].Progress.Done != 7 || st.BackupID != res.ID {
		t.Fatalf("final %+v", st)
	}
	if len(seen) != 3 || seen[0] != StatusStarted {
		t.Errorf("progress seen %v, want STARTED, STARTED, COMPLETED", seen)
	}
	// Upload of a missing backup is accepted and then fails.
	id, err = c.StartTransfer(ctx, Upload, "not_there", "local:/tmp/backups", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitTransfer(ctx, Upload, id, nil); !errors.Is(err, ErrTransferFailed) || !strings.Contains(err.Error(), "7005") {
		t.Fatalf("upload of missing backup: %v", err)
	}
	// Download, aborted: the abort must go to the download endpoint.
	c.Delete(ctx, res.ID)
	f.ProgressTo = 1000
	id, err = c.StartTransfer(ctx, Download, res.ID, "local:/tmp/backups", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AbortTransfer(ctx, Download, id); err != nil {
		t.Fatal(err)
	}
	if last := f.Requests[len(f.Requests)-1]; !strings.HasPrefix(last, "download ") || !strings.Contains(last, `"abort":true`) {
		t.Fatalf("abort sent as %q", last)
	}
	st, err = c.WaitTransfer(ctx, Download, id, nil)
	if !errors.Is(err, ErrTransferCancelled) || !st.Cancelled {
		t.Fatalf("aborted download: %+v %v", st, err)
	}
	// A completed download makes the backup listable again.
	f.ProgressTo = 2
	id, _ = c.StartTransfer(ctx, Download, res.ID, "local:/tmp/backups", cfg)
	if _, err := c.WaitTransfer(ctx, Download, id, nil); err != nil {
		t.Fatal(err)
	}
	if l, err := c.List(ctx, res.ID); err != nil || len(l) != 1 {
		t.Fatalf("after download: %v %v", l, err)
	}
	if _, err := c.TransferProgress(ctx, Upload, "424242"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown transfer id: %v", err)
	}
}

func TestWaitTransferStopsOnCancel(t *testing.T) {
	f, c := newFake(t)
	f.ProgressTo = 1000
	res, _ := c.Create(context.Background(), CreateOptions{})
	id, err := c.StartTransfer(context.Background(), Upload, res.ID, "local:/x", RemoteConfig{"local": {"type": "local"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	st, err := c.WaitTransfer(ctx, Upload, id, nil)
	if !errors.Is(err, context.DeadlineExceeded) || st.DBServers["SNGL"].Status != StatusStarted {
		t.Fatalf("got %+v %v", st, err)
	}
}

func TestNotSupported(t *testing.T) {
	e := &APIError{Status: 404, ErrorNum: 404, Message: "unknown path '/_admin/backup/list'"}
	if !errors.Is(e, ErrNotSupported) || errors.Is(e, ErrNotFound) {
		t.Fatal("404 unknown path must be ErrNotSupported, not ErrNotFound")
	}
	if !errors.Is(&APIError{Status: 501, ErrorNum: 9}, ErrNotSupported) {
		t.Fatal("501 must be ErrNotSupported")
	}
}

func TestTransferStatusOnACluster(t *testing.T) {
	var st TransferStatus
	raw := `{"Timestamp":"t","BackupId":"b","DBServers":{
		"PRMR-2":{"Status":"COMPLETED","Progress":{"Total":10,"Done":10}},
		"PRMR-1":{"Status":"STARTED","Progress":{"Total":10,"Done":4}},
		"PRMR-3":{"Status":"ACK"}}}`
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		t.Fatal(err)
	}
	st.Direction, st.ID = Upload, "7"
	if st.Finished() || strings.Join(st.Servers(), ",") != "PRMR-1,PRMR-2,PRMR-3" || st.DBServers["PRMR-1"].Progress.Done != 4 {
		t.Fatalf("%+v", st)
	}
	st.DBServers["PRMR-1"] = ServerTransfer{Status: StatusFailed, Error: 7005, ErrorMessage: "rclone failed"}
	st.DBServers["PRMR-3"] = ServerTransfer{Status: StatusCompleted}
	err := st.Err()
	if !st.Finished() || !errors.Is(err, ErrTransferFailed) || !strings.Contains(err.Error(), "PRMR-1: error 7005: rclone failed") || strings.Contains(err.Error(), "PRMR-2") {
		t.Fatalf("partial failure: %v", err)
	}
	for n := range st.DBServers {
		st.DBServers[n] = ServerTransfer{Status: StatusCompleted}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	if (TransferStatus{}).Finished() {
		t.Fatal("a status without servers is not finished")
	}
}
