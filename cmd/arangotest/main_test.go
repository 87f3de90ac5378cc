package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunPrintsEndpointAndStopsOnSignal checks the command's contract: the first stdout line
// names the endpoint, the server answers there (with the demo data when seeded), and SIGTERM
// ends it with exit code 0.
func TestRunPrintsEndpointAndStopsOnSignal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = stdout }()
	done := make(chan int, 1)
	go func() { done <- run([]string{"--port", "0", "--seed", "demo", "--version", "3.11.14"}) }()

	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		lines <- line
	}()
	var line string
	select {
	case line = <-lines:
	case code := <-done:
		t.Fatalf("run exited with %d before printing its endpoint", code)
	case <-time.After(60 * time.Second):
		t.Fatal("no endpoint line within 60 s")
	}
	const prefix = "arangotest listening on http://127.0.0.1:"
	if !strings.HasPrefix(line, prefix) {
		t.Fatalf("first line %q", line)
	}
	endpoint := strings.TrimSpace(strings.TrimPrefix(line, "arangotest listening on "))

	resp, err := http.Get(endpoint + "/_api/version")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&v)
	resp.Body.Close()
	if v["version"] != "3.11.14" || v["server"] != "arango" {
		t.Fatalf("version %v", v)
	}
	resp, err = http.Get(endpoint + "/_db/demo/_api/collection/customers/count")
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&c)
	resp.Body.Close()
	if c["count"] != 2000.0 {
		t.Fatalf("demo customers count %v", c["count"])
	}

	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit code %d after SIGTERM", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop after SIGTERM")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--seed", "other"}, {"--auth", "nocolon"}, {"--license", "gold", "--port", "0"}} {
		devnull, _ := os.Open(os.DevNull)
		stderr := os.Stderr
		os.Stderr = devnull
		code := run(args)
		os.Stderr = stderr
		devnull.Close()
		if code == 0 {
			t.Fatalf("run(%q) = 0, want an error exit", args)
		}
	}
}

// TestTLSAndSocketFlagsRefuseWhatCannotWork: --ssl.keyfile must hold a certificate and its
// key, and neither it nor --unix-socket goes with the other or with --cluster (exit 2, before
// anything listens).
func TestTLSAndSocketFlagsRefuseWhatCannotWork(t *testing.T) {
	notPEM := t.TempDir() + "/not.pem"
	if err := os.WriteFile(notPEM, []byte("no certificate here"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--ssl.keyfile", notPEM},
		{"--ssl.keyfile", t.TempDir() + "/missing.pem"},
		{"--ssl.keyfile", notPEM, "--unix-socket", t.TempDir() + "/a.sock"},
		{"--cluster", "--unix-socket", t.TempDir() + "/a.sock"},
	} {
		if code := run(append([]string{"--port", "0"}, args...)); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
