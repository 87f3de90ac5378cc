package arangotest

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestListenOnUnixSocketAndTLS: Options.UnixSocket serves on the socket (removed on Close),
// Options.TLS serves HTTPS with its certificate, and TLS needs a certificate and TCP.
func TestListenOnUnixSocketAndTLS(t *testing.T) {
	dir, err := os.MkdirTemp("", "atsock")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "a.sock")
	s, err := NewServer(Options{UnixSocket: sock})
	if err != nil {
		t.Fatal(err)
	}
	if s.Endpoint() != "unix://"+sock {
		t.Errorf("Endpoint %q", s.Endpoint())
	}
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	checkVersion(t, hc, "http://arangodb/_api/version")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket file left behind: %v", err)
	}

	cert := httptest.NewTLSServer(http.NotFoundHandler()) // for its certificate only
	cert.Close()
	ts, err := NewServer(Options{TLS: &tls.Config{Certificates: cert.TLS.Certificates}})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	if !strings.HasPrefix(ts.Endpoint(), "https://127.0.0.1:") {
		t.Errorf("Endpoint %q", ts.Endpoint())
	}
	checkVersion(t, &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}, ts.Endpoint()+"/_api/version")

	if _, err := NewServer(Options{TLS: &tls.Config{}}); err == nil || !strings.Contains(err.Error(), "TLS needs a certificate") {
		t.Errorf("TLS without a certificate: %v", err)
	}
}

func checkVersion(t *testing.T, hc *http.Client, url string) {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || v["server"] != "arango" {
		t.Fatalf("GET %s: %v %v", url, v, err)
	}
}
