// Package s3test starts a real S3-compatible server, SeaweedFS's `weed`,
// for tests: one process (master, volume, filer and S3 gateway in one), on
// free loopback ports, with a temporary data directory and an identity file
// so that request signatures are really checked. It is test infrastructure:
// nothing in the tools depends on it.
//
// The weed binary is $GODUMP_WEED, or bin/weed at the module root, built by
// `make weed` (scripts/weed.sh). A missing binary fails the test; it is
// never skipped silently.
//
// Start shares one process among all the tests of a test binary (start-up
// takes about a second) and gives each call a fresh bucket; the process and
// its data directory go away when the test binary exits, however it exits.
// StartDedicated gives a test a process of its own, stopped by tb.Cleanup.
package s3test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Server is an S3 endpoint with a bucket made for one test.
type Server struct {
	Endpoint  string // http://127.0.0.1:port
	AccessKey string
	SecretKey string
	Bucket    string // fresh, empty
	Region    string

	// TLSEndpoint (https://127.0.0.1:port) is the same server over TLS,
	// with a certificate for 127.0.0.1 signed by the CA in the PEM file
	// CACert.
	TLSEndpoint string
	CACert      string

	// StartupTime is how long the process took to answer (zero when a
	// shared process was reused).
	StartupTime time.Duration

	proc *process
}

// URL is s3://Bucket.
func (s *Server) URL() string { return "s3://" + s.Bucket }

// Client is a minio-go client of the server, for assertions that go around
// the code under test.
func (s *Server) Client() *minio.Client { return s.proc.client }

// Log returns the tail of the server's log (for failure messages).
func (s *Server) Log() string { return s.proc.logTail() }

var shared struct {
	once sync.Once
	proc *process
	err  error
}

// Start returns the shared server of this test binary (starting it on the
// first call) with a new bucket, emptied and removed by tb.Cleanup.
func Start(tb testing.TB) *Server {
	tb.Helper()
	var startup time.Duration
	shared.once.Do(func() {
		t0 := time.Now()
		shared.proc, shared.err = startProcess()
		startup = time.Since(t0)
	})
	if shared.err != nil {
		tb.Fatalf("s3test: %v", shared.err)
	}
	s := shared.proc.newServer(tb)
	s.StartupTime = startup
	return s
}

// StartDedicated starts a process for this test alone, stopped (and its
// data removed) by tb.Cleanup.
func StartDedicated(tb testing.TB) *Server {
	tb.Helper()
	t0 := time.Now()
	p, err := startProcess()
	if err != nil {
		tb.Fatalf("s3test: %v", err)
	}
	tb.Cleanup(p.stop)
	s := p.newServer(tb)
	s.StartupTime = time.Since(t0)
	return s
}

// WeedPath finds the weed binary: $GODUMP_WEED, else bin/weed at the root
// of the module (found from the working directory up).
func WeedPath() (string, error) {
	if p := os.Getenv("GODUMP_WEED"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("GODUMP_WEED=%s: %w", p, err)
		}
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(b, []byte("module github.com/arangobackup/godump")) {
			p := filepath.Join(dir, "bin", "weed")
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("no SeaweedFS server at %s: run `make weed` (scripts/weed.sh) to build it, or set GODUMP_WEED", p)
			}
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no SeaweedFS server: the module root (go.mod) was not found from the working directory; set GODUMP_WEED or run `make weed`")
		}
		dir = parent
	}
}

type process struct {
	cmd       *exec.Cmd
	stdinW    *os.File // closing it makes the wrapper stop weed and clean up
	dir       string
	endpoint  string
	tlsURL    string
	caFile    string
	accessKey string
	secretKey string
	client    *minio.Client
	exited    chan struct{}
	buckets   atomic.Int64
}

// wrapper runs weed in the background and waits for its standard input to
// close (the test binary exited or stop was called), then stops weed and
// removes the data directory and the gRPC sockets weed leaves in /tmp.
const wrapper = `
dir=$1; shift
socks=$1; shift
"$@" >"$dir/weed.log" 2>&1 &
pid=$!
read _ignored || true
kill -KILL $pid 2>/dev/null
i=0
while kill -0 $pid 2>/dev/null && [ $i -lt 20 ]; do sleep 0.05; i=$((i+1)); done
kill -KILL $pid 2>/dev/null
wait $pid 2>/dev/null
for s in $socks; do rm -f "$s"; done
rm -rf "$dir"
`

func startProcess() (*process, error) {
	weed, err := WeedPath()
	if err != nil {
		return nil, err
	}
	var lastErr error
	for try := 0; try < 3; try++ {
		p, err := tryStart(weed)
		if err == nil {
			return p, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func freePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func tryStart(weed string) (*process, error) {
	dir, err := os.MkdirTemp("", "s3test-weed-")
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(11)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p := &process{dir: dir, accessKey: "AK" + strings.ToUpper(randHex(9)), secretKey: randHex(20), exited: make(chan struct{})}
	ident := fmt.Sprintf(`{"identities":[{"name":"s3test","credentials":[{"accessKey":%q,"secretKey":%q}],"actions":["Admin","Read","Write","List","Tagging"]}]}`,
		p.accessKey, p.secretKey)
	if err := os.WriteFile(filepath.Join(dir, "s3.json"), []byte(ident), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	master, masterG, volume, volumeG, filer, filerG, s3, s3G, admin, adminG := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5], ports[6], ports[7], ports[8], ports[9]
	p.endpoint = "http://127.0.0.1:" + strconv.Itoa(s3)
	p.tlsURL = "https://127.0.0.1:" + strconv.Itoa(ports[10])
	p.caFile = filepath.Join(dir, "ca.pem")
	if err := writeCerts(dir); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// `weed mini` rather than `weed server -filer -s3`: the same components
	// in one process, but its filer announces itself at once on a fresh
	// single-master cluster, where `weed server`'s waits about 9 s more
	// before S3 writes work. Every port is given, so that parallel test
	// binaries never collide on a default one.
	args := []string{"mini",
		"-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-dir=" + dir,
		"-master.port=" + strconv.Itoa(master), "-master.port.grpc=" + strconv.Itoa(masterG),
		"-master.telemetry=false", "-master.volumeSizeLimitMB=256", "-volume.max=200",
		"-volume.port=" + strconv.Itoa(volume), "-volume.port.grpc=" + strconv.Itoa(volumeG),
		"-filer.port=" + strconv.Itoa(filer), "-filer.port.grpc=" + strconv.Itoa(filerG),
		"-filer.localSocket=" + filepath.Join(dir, "filer.sock"),
		"-s3.port=" + strconv.Itoa(s3), "-s3.port.grpc=" + strconv.Itoa(s3G),
		"-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.config=" + filepath.Join(dir, "s3.json"),
		"-s3.localSocket=" + filepath.Join(dir, "s3.sock"),
		"-s3.port.https=" + strconv.Itoa(ports[10]),
		"-s3.cert.file=" + filepath.Join(dir, "tls.pem"), "-s3.key.file=" + filepath.Join(dir, "tls.key"),
		"-webdav=false", "-admin.ui=false",
		"-admin.port=" + strconv.Itoa(admin), "-admin.port.grpc=" + strconv.Itoa(adminG), "-admin.port.legacy=0",
	}
	var socks []string
	for _, sp := range []struct {
		name string
		port int
	}{{"master", masterG}, {"volume", volumeG}, {"filer", filerG}, {"s3", s3G}, {"admin", adminG}} {
		socks = append(socks, fmt.Sprintf("/tmp/seaweedfs-%s-grpc-%d.sock", sp.name, sp.port))
	}
	r, w, err := os.Pipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := exec.Command("/bin/sh", append([]string{"-c", wrapper, "s3test-weed", dir, strings.Join(socks, " "), weed}, args...)...)
	cmd.Stdin = r
	// One volume per bucket (collection) rather than seven, so that many
	// test buckets fit in a small -volume.max.
	cmd.Env = append(os.Environ(), "WEED_MASTER_VOLUME_GROWTH_COPY_1=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", weed, err)
	}
	r.Close()
	p.cmd, p.stdinW = cmd, w
	go func() { cmd.Wait(); close(p.exited) }()

	p.client, err = minio.New("127.0.0.1:"+strconv.Itoa(s3), &minio.Options{
		Creds: credentials.NewStaticV4(p.accessKey, p.secretKey, ""), Region: "us-east-1", BucketLookup: minio.BucketLookupPath, MaxRetries: 1,
	})
	if err != nil {
		p.stop()
		return nil, err
	}
	if err := p.waitReady(60 * time.Second); err != nil {
		log := p.logTail()
		p.stop()
		return nil, fmt.Errorf("SeaweedFS at %s did not get ready: %w\nlog tail:\n%s", p.endpoint, err, log)
	}
	return p, nil
}

// waitReady waits until an authenticated write and read of an object work.
func (p *process) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("weed exited during start-up (last probe: %v)", last)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		last = p.probe(ctx)
		cancel()
		if last == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no answer within %v: %v", limit, last)
}

func (p *process) probe(ctx context.Context) error {
	const b = "s3test-ready"
	if err := p.client.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
		if er := minio.ToErrorResponse(err); er.Code != "BucketAlreadyOwnedByYou" && er.Code != "BucketAlreadyExists" {
			return err
		}
	}
	if _, err := p.client.PutObject(ctx, b, "probe", strings.NewReader("ok"), 2, minio.PutObjectOptions{}); err != nil {
		return err
	}
	_, err := p.client.StatObject(ctx, b, "probe", minio.StatObjectOptions{})
	return err
}

func (p *process) stop() {
	p.stdinW.Close()
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
}

func (p *process) logTail() string {
	b, err := os.ReadFile(filepath.Join(p.dir, "weed.log"))
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

// bucketName makes a valid, unique bucket name from the test's name.
func (p *process) bucketName(tb testing.TB) string {
	var b strings.Builder
	for _, r := range strings.ToLower(tb.Name()) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	name := strings.Trim(b.String(), "-")
	if len(name) > 40 {
		name = name[:40]
	}
	return strings.Trim(fmt.Sprintf("t%d-%s", p.buckets.Add(1), name), "-")
}

func (p *process) newServer(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{Endpoint: p.endpoint, AccessKey: p.accessKey, SecretKey: p.secretKey, Region: "us-east-1",
		TLSEndpoint: p.tlsURL, CACert: p.caFile, proc: p}
	s.Bucket = p.bucketName(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.client.MakeBucket(ctx, s.Bucket, minio.MakeBucketOptions{Region: s.Region}); err != nil {
		tb.Fatalf("s3test: create bucket %s at %s: %v\nlog tail:\n%s", s.Bucket, p.endpoint, err, p.logTail())
	}
	tb.Cleanup(func() { p.removeBucket(s.Bucket) })
	return s
}

// removeBucket empties and removes a bucket, so that a shared server's disk
// use stays that of the tests running.
func (p *process) removeBucket(bucket string) {
	select {
	case <-p.exited:
		return
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for u := range p.client.ListIncompleteUploads(ctx, bucket, "", true) {
		if u.Err == nil {
			p.client.RemoveIncompleteUpload(ctx, bucket, u.Key)
		}
	}
	objs := p.client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true})
	for range p.client.RemoveObjects(ctx, bucket, objs, minio.RemoveObjectsOptions{}) {
	}
	p.client.RemoveBucket(ctx, bucket)
}

// writeCerts makes a CA (ca.pem) and a certificate for 127.0.0.1 signed by
// it (tls.pem, tls.key) in dir.
func writeCerts(dir string) error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "s3test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"ca.pem":  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		"tls.pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
		"tls.key": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}
