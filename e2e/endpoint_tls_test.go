package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arangobackup/godump/arangotest"
	"github.com/arangobackup/godump/client"
)

// Endpoints other than tcp:// (issue 13, points 1, 2 and 5): ssl:// / https:// / http+ssl://
// against arangotest serving TLS with a self-signed certificate (verification fails with a
// message naming both ways out, is not retried, and both ways out dump the data), and
// unix:// / http+unix:// against arangotest on a Unix socket (a full dump and restore round
// trip). These need arangotest: a real ArangoDB with TLS or a socket is not set up here.

// selfSigned writes a self-signed certificate for 127.0.0.1 and localhost to dir/cert.pem and
// returns its path and the server's tls.Config.
func selfSigned(t *testing.T, dir string) (string, *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "arangotest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	path := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(path, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return path, &tls.Config{Certificates: []tls.Certificate{cert}}
}

// epConn connects to endpoint ep (database db) trusting caFile, as the tools would.
func epConn(t testing.TB, ep, caFile, db string) *client.Conn {
	t.Helper()
	o := client.DefaultOptions()
	o.Endpoints, o.CAFile, o.Database = []string{ep}, caFile, db
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, o)
	if err != nil {
		t.Fatalf("connect to %s: %v", ep, err)
	}
	return c
}

// seedPeople creates database db with a collection "people" of n documents over c (on
// _system) and returns the documents as sent.
func seedPeople(t testing.TB, c *client.Conn, db string, n int) map[string]Doc {
	t.Helper()
	ctx := context.Background()
	must(t, c.DoJSON(ctx, client.Request{Method: "POST", Path: "/_api/database", JSON: Doc{"name": db}}, nil), "create database "+db)
	must(t, c.DoJSON(ctx, client.Request{Method: "POST", Database: db, Path: "/_api/collection", JSON: Doc{"name": "people"}}, nil), "create collection")
	sc := &seededCollection{Name: "people", Type: 2, Docs: map[string]Doc{}}
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("p%04d", i)
		sc.Docs[key] = Doc{"_key": key, "name": "Zoë " + strconv.Itoa(i), "n": json.Number(strconv.Itoa(i * 3)), "tags": []any{"ü", nil, true}}
	}
	dc := *c
	dc.Database = db
	insertDocs(t, &dc, sc)
	return sc.Docs
}

// docsOver reads every document of coll in db over c (serverDocs, on a connection of one's own).
func docsOver(t testing.TB, c *client.Conn, db, coll string) map[string]Doc {
	t.Helper()
	ctx := context.Background()
	var page struct {
		Result  []json.RawMessage `json:"result"`
		HasMore bool              `json:"hasMore"`
		ID      string            `json:"id"`
	}
	out := map[string]Doc{}
	must(t, c.DoJSON(ctx, client.Request{Method: "POST", Database: db, Path: "/_api/cursor", JSON: Doc{"query": "FOR d IN @@c RETURN d", "bindVars": Doc{"@c": coll}, "batchSize": 1000}}, &page), "query "+coll)
	for {
		for _, raw := range page.Result {
			d := decodeDoc(t, raw)
			out[d["_key"].(string)] = d
		}
		if !page.HasMore {
			return out
		}
		id := page.ID
		page.Result = nil
		must(t, c.DoJSON(ctx, client.Request{Method: "POST", Database: db, Path: "/_api/cursor/" + id}, &page), "read cursor of "+coll)
	}
}

// TestTLSEndpointCertificateChoices: against a self-signed certificate, godump and gorestore
// fail at once (exit 1, no retry) saying to use --ssl.ca-file FILE or --ssl.verify-certificate
// false; with either, the dump holds every document and the restore puts them all back.
func TestTLSEndpointCertificateChoices(t *testing.T) {
	if realEndpoint() != "" {
		t.Skip("needs arangotest serving TLS; ARANGO_ENDPOINT is set")
	}
	work := t.TempDir()
	caFile, tlsConf := selfSigned(t, work)
	srv, err := arangotest.NewServer(arangotest.Options{TLS: tlsConf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if !strings.HasPrefix(srv.Endpoint(), "https://") {
		t.Fatalf("endpoint %s, want https://", srv.Endpoint())
	}
	hostPort := strings.TrimPrefix(srv.Endpoint(), "https://")
	sys := epConn(t, srv.Endpoint(), caFile, "_system")
	db := uniqueDB(t, "tls")
	want := seedPeople(t, sys, db, 700)

	base := []string{"--server.database", db, "--server.password", "", "--server.max-retries", "8", "--progress", "false"}
	dumpDir := filepath.Join(work, "dump")
	for i, tc := range []struct {
		endpoint string
		extra    []string
	}{
		{"ssl://" + hostPort, []string{"--ssl.verify-certificate", "false"}},
		{"https://" + hostPort, []string{"--ssl.ca-file", caFile}},
		{"http+ssl://" + hostPort, []string{"--ssl.ca-file", caFile, "--ssl.protocol", "6"}},
	} {
		t.Run(strings.SplitN(tc.endpoint, ":", 2)[0], func(t *testing.T) {
			out := filepath.Join(work, "out"+strconv.Itoa(i))
			args := append([]string{"--server.endpoint", tc.endpoint, "--output-directory", out}, base...)
			start := time.Now()
			res := runTool(t, "godump", args...)
			if res.Code != 1 || time.Since(start) > 8*time.Second {
				t.Errorf("unverifiable certificate: exit %d after %s, want 1 at once\n%s", res.Code, time.Since(start), res)
			}
			for _, w := range []string{"the server's TLS certificate failed verification", "--ssl.ca-file FILE", "--ssl.verify-certificate false"} {
				if !strings.Contains(res.Stderr, w) {
					t.Errorf("stderr does not say %q\n%s", w, res)
				}
			}
			if strings.Contains(res.Stdout+res.Stderr, "trying again") {
				t.Errorf("a certificate error was retried\n%s", res)
			}
			mustRun(t, "godump", append(append(args, "--overwrite", "true"), tc.extra...)...)
			compareDocs(t, "dump over "+tc.endpoint, want, dumpDocs(t, out, "people"))
			if i == 0 {
				if err := os.Rename(out, dumpDir); err != nil {
					t.Fatal(err)
				}
			}
		})
	}

	// gorestore: the same refusal, then a restore into a new database with the CA trusted.
	target := db + "_restored"
	args := []string{"--server.endpoint", "ssl://" + hostPort, "--server.database", target, "--server.password", "",
		"--server.max-retries", "8", "--input-directory", dumpDir, "--create-database", "true", "--progress", "false"}
	res := runTool(t, "gorestore", args...)
	if res.Code != 1 || !strings.Contains(res.Stderr, "--ssl.ca-file FILE") || !strings.Contains(res.Stderr, "--ssl.verify-certificate false") ||
		strings.Contains(res.Stderr, "trying again") {
		t.Errorf("gorestore against an unverifiable certificate: want exit 1 naming both options, no retry\n%s", res)
	}
	mustRun(t, "gorestore", append(args, "--ssl.ca-file", caFile)...)
	compareDocs(t, "restored over TLS", want, docsOver(t, sys, target, "people"))
}

// TestUnixSocketEndpointRoundTrip: godump over unix:// and gorestore over http+unix:// against
// arangotest on a Unix socket move every document of the standard data set.
func TestUnixSocketEndpointRoundTrip(t *testing.T) {
	if realEndpoint() != "" {
		t.Skip("needs arangotest on a Unix socket; ARANGO_ENDPOINT is set")
	}
	// A short path: sun_path holds 108 bytes, and t.TempDir() can be longer than that.
	sockDir, err := os.MkdirTemp("", "h1sock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "arangod.sock")
	srv, err := arangotest.NewServer(arangotest.Options{UnixSocket: sock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if srv.Endpoint() != "unix://"+sock {
		t.Fatalf("endpoint %s, want unix://%s", srv.Endpoint(), sock)
	}
	tg := &target{Endpoint: srv.Endpoint(), Server: srv, Username: "root"}
	db := uniqueDB(t, "unix")
	seeded := seedStandard(t, tg, db)

	dir := filepath.Join(t.TempDir(), "dump")
	mustRun(t, "godump", dmGodumpArgs(tg, db, dir)...)
	for _, name := range sortedKeys(seeded.Collections) {
		compareDocs(t, "dump of "+name, seeded.Collections[name].Docs, dumpDocs(t, dir, name))
	}

	restored := db + "_r"
	tg.dropAtEnd(t, restored)
	mustRun(t, "gorestore", "--server.endpoint", "http+unix://"+sock, "--server.database", restored, "--server.password", "",
		"--input-directory", dir, "--create-database", "true", "--progress", "false")
	for _, name := range sortedKeys(seeded.Collections) {
		got := serverDocs(t, tg, restored, name)
		if len(got) != len(seeded.Collections[name].Docs) {
			t.Errorf("%s: %d documents restored, want %d", name, len(got), len(seeded.Collections[name].Docs))
		}
		compareDocs(t, "restored "+name, seeded.Collections[name].Docs, got)
	}

	// A socket where nothing listens fails at once, naming it.
	res := runTool(t, "godump", "--server.endpoint", "unix://"+sockDir+"/nobody.sock", "--server.password", "",
		"--output-directory", filepath.Join(t.TempDir(), "x"), "--progress", "false")
	if res.Code != 1 || !strings.Contains(res.Stderr, "connect to unix://"+sockDir+"/nobody.sock: no such Unix socket") || strings.Contains(res.Stderr, "trying again") {
		t.Errorf("missing socket: want exit 1 naming it, no retry\n%s", res)
	}
}

// TestEndpointFormsRefusedOrDefaulted: srv:// and http+srv:// are bad options (exit 2, the
// tools' exit code for one) saying what to give instead; --ssl.protocol 3 is refused the same
// way; tcp://127.0.0.1 without a port dials 8529 (the error names it; should some server
// answer there, the dump may even succeed), never HTTP's 80.
func TestEndpointFormsRefusedOrDefaulted(t *testing.T) {
	tg := newTarget(t, arangotest.Options{})
	db := uniqueDB(t, "forms")
	tg.createDatabase(t, db)
	dumpDir := filepath.Join(t.TempDir(), "dump") // a real dump, so that gorestore gets as far as connecting
	mustRun(t, "godump", dmGodumpArgs(tg, db, dumpDir)...)
	for _, tool := range []string{"godump", "gorestore"} {
		toolArgs := []string{"--output-directory", filepath.Join(t.TempDir(), "out"), "--progress", "false"}
		if tool == "gorestore" {
			toolArgs = []string{"--input-directory", dumpDir, "--progress", "false"}
		}
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--server.endpoint", "srv://_arangodb._tcp.example.com"}, "DNS SRV endpoints are not supported; give host:port with tcp:// or ssl://"},
			{[]string{"--server.endpoint", "http+srv://_arangodb._tcp.example.com"}, "DNS SRV endpoints are not supported; give host:port with tcp:// or ssl://"},
			{[]string{"--server.endpoint", "ssl://127.0.0.1:1", "--ssl.protocol", "3"}, "--ssl.protocol 3: SSLv3 is not supported"},
		} {
			res := runTool(t, tool, append(append([]string{"--server.password", ""}, tc.args...), toolArgs...)...)
			if res.Code != 2 || !strings.Contains(res.Stderr, tc.want) {
				t.Errorf("%s %v: want exit 2 saying %q\n%s", tool, tc.args, tc.want, res)
			}
		}
	}
	res := runTool(t, "godump", "--server.endpoint", "tcp://127.0.0.1", "--server.password", "", "--server.max-retries", "0",
		"--output-directory", filepath.Join(t.TempDir(), "out"), "--progress", "false")
	if res.Code == 0 && !strings.Contains(res.Stderr, "127.0.0.1:8529") || res.Code != 0 && !strings.Contains(res.Stderr, "connect to http://127.0.0.1:8529") {
		t.Errorf("tcp://127.0.0.1 should mean port 8529\n%s", res)
	}
}
