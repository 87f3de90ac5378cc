package backupcli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arangobackup/godump/datadir"
	"github.com/arangobackup/godump/hotbackup/internal/fakeapi"
)

type run struct {
	code     int
	out, err string
}

func runHotCLI(t *testing.T, ctx context.Context, url string, stdin string, interactive bool, args ...string) run {
	t.Helper()
	var out, errb bytes.Buffer
	s := &IO{In: strings.NewReader(stdin), Out: &out, Err: &errb, Interactive: interactive}
	args = append(args, "--server.endpoint", url, "--server.authentication", "false")
	code := RunHotbackup(ctx, "godump hotbackup", HotOperations, args, s)
	return run{code, out.String(), errb.String()}
}

func TestHotCLI(t *testing.T) {
	f := fakeapi.New()
	srv := httptest.NewServer(f)
	defer srv.Close()
	ctx := context.Background()
	hot := func(args ...string) run { return runHotCLI(t, ctx, srv.URL, "", false, args...) }

	r := hot("create", "--label", "nightly", "--max-wait-for-lock", "2")
	if r.code != ExitOK || !strings.Contains(r.out, "Generated identifier '2026-11-25T17.00.01Z_nightly'") || !strings.Contains(r.out, "7 files") {
		t.Fatalf("create: %+v", r)
	}
	f.Lock(func() { f.LockBusy = true })
	r = hot("create", "--max-wait-for-lock", "1")
	if r.code != ExitLockTimeout || !strings.Contains(r.err, "--max-wait-for-lock") || !strings.Contains(r.err, "--allow-inconsistent true") {
		t.Fatalf("create under lock: %+v", r)
	}
	r = hot("create", "--allow-inconsistent", "true", "--label", "incons", "--json")
	var created map[string]any
	if r.code != ExitOK || json.Unmarshal([]byte(r.out), &created) != nil || created["potentiallyInconsistent"] != true {
		t.Fatalf("create allow-inconsistent: %+v", r)
	}
	f.Lock(func() { f.LockBusy = false })

	r = hot("list")
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if r.code != ExitOK || len(lines) != 3 || !strings.HasPrefix(lines[0], "ID ") || !strings.Contains(lines[0], "CONSISTENT") ||
		!strings.Contains(lines[1], "_nightly") || !strings.HasSuffix(lines[1], "yes") || !strings.HasSuffix(lines[2], "no") {
		t.Fatalf("list: %+v", r)
	}
	r = hot("list", "--json")
	var list []map[string]any
	if r.code != ExitOK || json.Unmarshal([]byte(r.out), &list) != nil || len(list) != 2 || list[0]["nrFiles"] != 7.0 {
		t.Fatalf("list --json: %+v", r)
	}

	if r = hot("restore"); r.code != ExitUsage || !strings.Contains(r.err, "--identifier") {
		t.Fatalf("restore without id: %+v", r)
	}
	if r = hot("restore", "--identifier", "nope", "--yes"); r.code != ExitNotFound {
		t.Fatalf("restore unknown: %+v", r)
	}
	id := "2026-11-25T17.00.01Z_nightly"
	// No terminal and no --yes (or --yes false): refused before anything is asked of the server.
	nReq := len(f.Requests)
	for _, args := range [][]string{{"restore", "--identifier", id}, {"restore", "--identifier", id, "--yes", "false"}} {
		r = runHotCLI(t, ctx, srv.URL, "y\n", false, args...)
		want := "godump hotbackup: error: restore reverts the WHOLE deployment to backup '" + id + "' and needs a confirmation, " +
			"but there is no terminal to ask on (stdin or stderr is not one); nothing was changed. Give --yes true to restore without asking\n" +
			"Run 'godump hotbackup --help' for the options.\n"
		if r.code != ExitUsage || r.err != want || r.out != "" {
			t.Fatalf("%v without a terminal: %+v, want exit 2 and stderr %q", args, r, want)
		}
	}
	if len(f.Requests) != nReq {
		t.Fatalf("a refused restore sent %v", f.Requests[nReq:])
	}
	r = runHotCLI(t, ctx, srv.URL, "n\n", true, "restore", "--identifier", id)
	if r.code != ExitFailure || !strings.Contains(r.err, "WHOLE deployment") || !strings.Contains(r.err, "not confirmed") {
		t.Fatalf("restore declined: %+v", r)
	}
	for _, req := range f.Requests[nReq:] {
		if strings.HasPrefix(req, "restore") {
			t.Fatal("declined restore was sent")
		}
	}
	r = runHotCLI(t, ctx, srv.URL, "y\n", true, "restore", "--identifier", id, "--max-wait-for-restart", "120")
	if r.code != ExitOK || !strings.Contains(r.out, "Successfully restored") {
		t.Fatalf("restore: %+v", r)
	}

	if r = hot("delete", "--identifier", "nope"); r.code != ExitNotFound || !strings.Contains(r.err, "hotbackup list") {
		t.Fatalf("delete unknown: %+v", r)
	}
	// as arangobackup: options of another operation are accepted, with a notice, and have no effect
	for _, args := range [][]string{{"list", "--max-wait-for-lock", "60"}, {"list", "--force"}, {"list", "--yes"}, {"list", "--label", "x"},
		{"restore", "--identifier", id, "--yes", "--max-wait-for-lock", "10"}, {"create", "--identifier", "x"},
		{"delete", "--identifier", "nope", "--max-wait-for-restart", "10"}} {
		r = hot(args...)
		opt := strings.TrimPrefix(args[len(args)-2], "--")
		if args[len(args)-1] == "--force" || args[len(args)-1] == "--yes" {
			opt = strings.TrimPrefix(args[len(args)-1], "--")
		}
		want := "godump hotbackup: --" + opt + " has no effect with " + args[0] + " (it is for "
		if (r.code != ExitOK && args[0] != "delete") || !strings.Contains(r.err, want) || strings.Count(r.err, "has no effect") != 1 {
			t.Fatalf("%v: %+v, want exit 0 and %q", args, r, want)
		}
	}
	if r = hot("--operation", "list"); r.code != ExitOK || !strings.Contains(r.out, "_nightly") {
		t.Fatalf("--operation list: %+v", r)
	}
	if r = hot("--operation", "list", "create"); r.code != ExitUsage {
		t.Fatalf("--operation list create: %+v", r)
	}
	if r = hot("list", "--server.database", "shop"); r.code != ExitUsage || !strings.Contains(r.err, "_system") {
		t.Fatalf("database: %+v", r)
	}
	if r = hot("frobnicate"); r.code != ExitUsage {
		t.Fatalf("unknown op: %+v", r)
	}

	// Upload with progress to completion.
	cfg := filepath.Join(t.TempDir(), "rclone.json")
	os.WriteFile(cfg, []byte(`{"local":{"type":"local"}}`), 0o600)
	r = hot("upload", "--identifier", id, "--remote-path", "local:/tmp/remote", "--rclone-config-file", cfg)
	if r.code != ExitOK || !strings.Contains(r.err, "upload SNGL: STARTED") || !strings.Contains(r.err, "upload SNGL: COMPLETED 7/7") || !strings.Contains(r.out, "completed on 1 DB-Server") ||
		!regexp.MustCompile(`(?m)^Backup initiated, use\n    godump hotbackup upload --status-id=\S+\n to query progress\.$`).MatchString(r.err) {
		t.Fatalf("upload: %+v", r)
	}
	if r = hot("upload", "--identifier", id, "--remote-path", "s3:/b", "--rclone-config-file", cfg); r.code != ExitUsage || !strings.Contains(r.err, `remote "s3" is not in the rclone config`) {
		t.Fatalf("bad remote: %+v", r)
	}
	if r = hot("upload", "--identifier", "missing", "--remote-path", "local:/x", "--rclone-config-file", cfg); r.code != ExitTransfer || !strings.Contains(r.err, "FAILED") && !strings.Contains(r.err, "failed") {
		t.Fatalf("failed upload: %+v", r)
	}
}

func TestHotCLIInterruptedTransfer(t *testing.T) {
	f := fakeapi.New()
	f.ProgressTo = 1 << 30 // never completes by itself
	srv := httptest.NewServer(f)
	defer srv.Close()
	cfg := filepath.Join(t.TempDir(), "rclone.json")
	os.WriteFile(cfg, []byte(`{"local":{"type":"local"}}`), 0o600)
	if r := runHotCLI(t, context.Background(), srv.URL, "", false, "create", "--label", "t"); r.code != 0 {
		t.Fatal(r)
	}
	id := "2026-11-25T17.00.01Z_t"
	interrupt := func(stdin string, interactive bool) run {
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		return runHotCLI(t, ctx, srv.URL, stdin, interactive, "download", "--identifier", id, "--remote-path", "local:/x", "--rclone-config-file", cfg)
	}
	// Not a terminal: leave it running, print how to follow it.
	r := interrupt("", false)
	if r.code != ExitInterrupted || !strings.Contains(r.err, "download --status-id 680") || !strings.Contains(r.err, "goes on on the server") {
		t.Fatalf("non-interactive interrupt: %+v", r)
	}
	tid := r.err[strings.Index(r.err, "--status-id ")+12:]
	tid = tid[:strings.IndexAny(tid, " \n")]
	// It still runs: ask about it.
	if s := runHotCLI(t, context.Background(), srv.URL, "", false, "download", "--status-id", tid); s.code != 0 || !strings.Contains(s.out, "SNGL: STARTED") {
		t.Fatalf("status: %+v", s)
	}
	// On a terminal, answering yes aborts it on the server.
	r = interrupt("y\n", true)
	if r.code != ExitTransfer || !strings.Contains(r.err, "Abort the download on the server too?") || !strings.Contains(r.err, "aborted") {
		t.Fatalf("interactive abort: %+v", r)
	}
	last := f.Requests[len(f.Requests)-2]
	if !strings.HasPrefix(last, "download ") || !strings.Contains(last, `"abort":true`) {
		t.Errorf("abort request %q", last)
	}
	// Abort the first one by status id.
	if s := runHotCLI(t, context.Background(), srv.URL, "", false, "download", "--status-id", tid, "--abort", "true"); s.code != ExitTransfer || !strings.Contains(s.out, "CANCELLED") {
		t.Fatalf("abort by status id: %+v", s)
	}
}

func runPhys(t *testing.T, backup bool, args ...string) run {
	t.Helper()
	var out, errb bytes.Buffer
	s := &IO{Out: &out, Err: &errb}
	var code int
	if backup {
		code = RunPhysicalBackup(context.Background(), "godump physical", args, s)
	} else {
		code = RunPhysicalRestore(context.Background(), "gorestore physical", args, s)
	}
	return run{code, out.String(), errb.String()}
}

func TestPhysicalCLI(t *testing.T) {
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	os.MkdirAll(filepath.Join(data, "engine-rocksdb"), 0o700)
	os.WriteFile(filepath.Join(data, "engine-rocksdb", "000001.sst"), bytes.Repeat([]byte("x"), 5000), 0o600)
	os.WriteFile(filepath.Join(data, "SERVER"), []byte("id"), 0o600)
	out := filepath.Join(tmp, "backup")

	l, err := datadir.Lock(data)
	if err != nil {
		t.Fatal(err)
	}
	r := runPhys(t, true, "--data-dir", data, "--output-directory", out)
	if r.code != ExitLocked || !strings.Contains(r.err, "stop the server first") || !strings.Contains(r.err, "hotbackup create") {
		t.Fatalf("locked: %+v", r)
	}
	l.Unlock()
	if r = runPhys(t, true, "--data-dir", data); r.code != ExitUsage {
		t.Fatalf("usage: %+v", r)
	}
	r = runPhys(t, true, "--data-dir", data, "--output-directory", out, "--progress", "false")
	if r.code != ExitOK || !strings.Contains(r.out, "2 files") {
		t.Fatalf("backup: %+v", r)
	}
	if r = runPhys(t, false, "--input-directory", out, "--verify-only"); r.code != ExitOK || !strings.Contains(r.out, "all checksums match") {
		t.Fatalf("verify: %+v", r)
	}
	target := filepath.Join(tmp, "target")
	if r = runPhys(t, false, "--input-directory", out, "--data-dir", target); r.code != ExitOK {
		t.Fatalf("restore: %+v", r)
	}
	if got, _ := os.ReadFile(filepath.Join(target, "engine-rocksdb", "000001.sst")); len(got) != 5000 {
		t.Fatalf("restored file has %d bytes", len(got))
	}
	if r = runPhys(t, false, "--input-directory", out, "--data-dir", target); r.code != ExitNotEmpty || !strings.Contains(r.err, "--overwrite true") {
		t.Fatalf("not empty: %+v", r)
	}
	os.WriteFile(filepath.Join(out, "datadir-0", "SERVER"), []byte("XX"), 0o600)
	r = runPhys(t, false, "--input-directory", out, "--data-dir", target, "--overwrite", "true")
	if r.code != ExitBadInput || !strings.Contains(r.err, filepath.Join(out, "datadir-0", "SERVER")) || !strings.Contains(r.err, "nothing was restored") {
		t.Fatalf("corrupted: %+v", r)
	}
	if got, _ := os.ReadFile(filepath.Join(target, "SERVER")); string(got) != "id" {
		t.Fatalf("corrupted backup changed the target: %q", got)
	}
}

// The hot backup commands ask for the password as godump and gorestore do: on a terminal,
// when none was given, without echo; never without a terminal. Help is on stdout.
func TestHotCLIPasswordPromptAndHelp(t *testing.T) {
	f := fakeapi.New()
	var mu sync.Mutex
	var passwords []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pw, ok := r.BasicAuth(); ok {
			mu.Lock()
			passwords = append(passwords, pw)
			mu.Unlock()
		}
		f.ServeHTTP(w, r)
	}))
	defer srv.Close()
	t.Setenv("ARANGO_PASSWORD", "")
	for _, interactive := range []bool{true, false} {
		asked := 0
		var out, errb bytes.Buffer
		s := &IO{In: strings.NewReader(""), Out: &out, Err: &errb, Interactive: interactive,
			ReadPassword: func() ([]byte, error) { asked++; return []byte("s3cret\n"), nil }}
		mu.Lock()
		passwords = nil
		mu.Unlock()
		code := RunHotbackup(context.Background(), "godump hotbackup", HotOperations, []string{"list", "--server.endpoint", srv.URL}, s)
		mu.Lock()
		got := append([]string(nil), passwords...)
		mu.Unlock()
		if interactive {
			if code != ExitOK || asked != 1 || !strings.Contains(errb.String(), `Please specify a password for user "root": `) || len(got) == 0 || got[0] != "s3cret" {
				t.Errorf("terminal: exit %d, asked %d times, sent %q, stderr %q", code, asked, got, errb.String())
			}
		} else if asked != 0 || slices.Contains(got, "s3cret") {
			t.Errorf("no terminal: asked %d times, sent %q", asked, got)
		}
		if strings.Contains(out.String()+errb.String(), "s3cret") {
			t.Errorf("the password was printed: %q %q", out.String(), errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := RunHotbackup(context.Background(), "godump hotbackup", HotOperations, []string{"--help"}, &IO{Out: &out, Err: &errb}); code != ExitOK ||
		!strings.Contains(out.String(), "Usage: godump hotbackup <create|list|restore|delete|upload|download>") || errb.Len() != 0 {
		t.Errorf("help: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	if code := RunPhysicalBackup(context.Background(), "godump physical", []string{"--help"}, &IO{Out: &out, Err: &errb}); code != ExitOK ||
		!strings.Contains(out.String(), "Usage: godump physical") || errb.Len() != 0 {
		t.Errorf("physical help: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

// A bad endpoint is a bad option (exit 2), as in godump and gorestore, for every command.
func TestHotCLIBadEndpointIsUsage(t *testing.T) {
	for _, ep := range []string{"foo://127.0.0.1:8529", "tcp://"} {
		var out, errb bytes.Buffer
		code := RunHotbackup(context.Background(), "godump hotbackup", HotOperations,
			[]string{"list", "--server.endpoint", ep, "--server.authentication", "false"}, &IO{Out: &out, Err: &errb})
		if code != ExitUsage || !strings.Contains(errb.String(), "endpoint") {
			t.Errorf("%s: exit %d, want %d; stderr %q", ep, code, ExitUsage, errb.String())
		}
	}
}

// As arangobackup: no operation means list (--operation defaults to list), --version prints
// the version, and the compression options are accepted with a notice.
func TestHotCLIDefaultOperationVersionAndCompression(t *testing.T) {
	f := fakeapi.New()
	srv := httptest.NewServer(f)
	defer srv.Close()
	r := runHotCLI(t, context.Background(), srv.URL, "", false, "--compress-transfer", "true")
	if r.code != ExitOK || !strings.Contains(r.out, "ID ") && !strings.Contains(r.out, "There are no backups available.") ||
		!strings.Contains(r.err, "--compress-transfer and --compress-request-threshold have no effect") {
		t.Errorf("no operation: %+v", r)
	}
	var out, errb bytes.Buffer
	if code := RunHotbackup(context.Background(), "godump hotbackup", HotOperations, []string{"--version"}, &IO{Out: &out, Err: &errb}); code != ExitOK ||
		!strings.HasPrefix(out.String(), "godump hotbackup ") {
		t.Errorf("--version: exit %d %q %q", code, out.String(), errb.String())
	}
}
