package backupcli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arangobackup/godump/hotbackup/internal/fakeapi"
)

// Help and the other informational options answer on stdout with exit 0 for every command.
func TestBackupInfoOptionsOnStdout(t *testing.T) {
	cmds := map[string]func(args ...string) run{
		"godump hotbackup": func(args ...string) run {
			var out, errb bytes.Buffer
			code := RunHotbackup(context.Background(), "godump hotbackup", HotOperations, args, &IO{Out: &out, Err: &errb})
			return run{code, out.String(), errb.String()}
		},
		"gorestore hotbackup": func(args ...string) run {
			var out, errb bytes.Buffer
			code := RunHotbackup(context.Background(), "gorestore hotbackup", []string{"restore", "list"}, args, &IO{Out: &out, Err: &errb})
			return run{code, out.String(), errb.String()}
		},
		"godump physical":    func(args ...string) run { return runPhys(t, true, args...) },
		"gorestore physical": func(args ...string) run { return runPhys(t, false, args...) },
	}
	for name, cmd := range cmds {
		for _, opt := range []string{"--help", "--help-all", "--help-server", "--help-log", "--dump-options", "--version-json", "--man"} {
			if opt == "--help-server" && strings.HasSuffix(name, "physical") {
				continue // no server options
			}
			r := cmd(opt)
			if r.code != ExitOK || r.out == "" || r.err != "" {
				t.Errorf("%s %s: %+v, want exit 0, stdout only", name, opt, r)
			}
			if opt == "--dump-options" {
				var all map[string]map[string]any
				if err := json.Unmarshal([]byte(r.out), &all); err != nil {
					t.Errorf("%s --dump-options: %v", name, err)
				}
				if strings.HasSuffix(name, "hotbackup") {
					if d := all["max-wait-for-restart"]["default"]; d != 0.0 {
						t.Errorf("%s: --max-wait-for-restart default %v, want arangobackup's 0", name, d)
					}
				}
			}
		}
		// completion scripts are the program's (cliflag): the subcommand says which to run
		if r := cmd("--completion", "bash"); r.code != ExitUsage || !strings.Contains(r.err, "--completion bash") {
			t.Errorf("%s --completion bash: %+v", name, r)
		}
		if r := cmd("--help"); !strings.Contains(r.out, "Exit codes:") || !strings.Contains(r.out, "Usage: "+name) {
			t.Errorf("%s --help: %q", name, r.out)
		}
	}
	if r := cmds["godump hotbackup"]("--help"); !strings.Contains(r.out, "create|list|restore|delete|upload|download") {
		t.Errorf("godump hotbackup --help does not list the operations: %q", r.out)
	}
}

func TestHotConfigFileAndRequestLog(t *testing.T) {
	f := fakeapi.New()
	srv := httptest.NewServer(f)
	defer srv.Close()
	dir := t.TempDir()
	conf := filepath.Join(dir, "hb.conf")
	os.WriteFile(conf, []byte("[server]\nendpoint = "+srv.URL+"\nauthentication = false\n"), 0o600)
	logFile := filepath.Join(dir, "requests.log")
	var out, errb bytes.Buffer
	code := RunHotbackup(context.Background(), "godump hotbackup", HotOperations,
		[]string{"list", "-c", conf, "--server.password", "s3cret-pw", "--log.level", "requests=debug", "--log.file", logFile},
		&IO{Out: &out, Err: &errb})
	if code != ExitOK || !strings.Contains(out.String(), "There are no backups available.") {
		t.Fatalf("list with -c: exit %d, out %q, err %q", code, out.String(), errb.String())
	}
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "request") || !strings.Contains(string(b), "/_admin/backup/list") || strings.Contains(string(b), "s3cret-pw") {
		t.Fatalf("request log:\n%s", b)
	}
	// messages go to the log file too, when it is given
	out.Reset()
	errb.Reset()
	code = RunHotbackup(context.Background(), "godump hotbackup", HotOperations,
		[]string{"list", "-c", conf, "--force", "--log.file", logFile}, &IO{Out: &out, Err: &errb})
	b, _ = os.ReadFile(logFile)
	if code != ExitOK || strings.Contains(errb.String(), "has no effect") || !strings.Contains(string(b), "--force has no effect with list (it is for create)") {
		t.Fatalf("notice in the log: exit %d, stderr %q, log:\n%s", code, errb.String(), b)
	}
}
