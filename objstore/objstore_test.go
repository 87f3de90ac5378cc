package objstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/arangobackup/godump/objstore"
	"github.com/arangobackup/godump/objstore/s3test"
)

func TestParseURL(t *testing.T) {
	good := map[string]objstore.Location{
		"s3://bkt":               {Bucket: "bkt"},
		"s3://bkt/":              {Bucket: "bkt"},
		"S3://bkt/a":             {Bucket: "bkt", Prefix: "a"},
		"s3://my.bkt-1/a/b/c/":   {Bucket: "my.bkt-1", Prefix: "a/b/c"},
		"s3://bkt/dump 2024-01/": {Bucket: "bkt", Prefix: "dump 2024-01"},
	}
	for in, want := range good {
		got, err := objstore.ParseURL(in)
		if err != nil || got != want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if !objstore.IsURL(in) {
			t.Errorf("IsURL(%q) = false", in)
		}
	}
	bad := []string{
		"", "/tmp/dump", "file:///tmp", "s3:/bkt", "gs://bkt/x", "s3://", "s3:///prefix",
		"s3://b/x", "s3://-bkt/x", "s3://bkt-/x", "s3://bk..t/x", "s3://bkt/a/../b", "s3://bkt/./a",
		"s3://bkt/a//b", "s3://bkt/a?versionId=1", "s3://bkt/a#x", "s3://key:secret@bkt/a", "s3://bkt/a\nb",
		"s3://bkt$/a", "s3://" + strings.Repeat("b", 64),
	}
	for _, in := range bad {
		if loc, err := objstore.ParseURL(in); err == nil {
			t.Errorf("ParseURL(%q) = %+v, want an error", in, loc)
		} else if !errors.Is(err, objstore.ErrBadURL) {
			t.Errorf("ParseURL(%q): %v does not wrap ErrBadURL", in, err)
		} else if strings.Contains(err.Error(), "secret") && strings.Contains(in, "secret") {
			t.Errorf("ParseURL(%q) error shows the secret: %v", in, err)
		}
	}
	if objstore.IsURL("/s3://x") || objstore.IsURL("s3:/x") {
		t.Error("IsURL accepts a non-s3 path")
	}
	if got := (objstore.Location{Bucket: "b", Prefix: "p/q"}).String(); got != "s3://b/p/q" {
		t.Errorf("Location.String = %q", got)
	}
}

func TestSmallFilesRoundTrip(t *testing.T) {
	srv := s3test.Start(t)
	t.Logf("SeaweedFS start-up: %v", srv.StartupTime)
	st := open(t, srv, "dump1", config(srv))
	ctx := context.Background()
	files := map[string][]byte{
		"dump.json":                     []byte(`{"database":"_system"}`),
		"users.structure.json":          []byte(`{"parameters":{"name":"users"}}`),
		"users_0123.data.json.gz":       genBytes(1, 300<<10),
		"empty.data.json":               {},
		"db2/orders.structure.json":     []byte(`{"parameters":{"name":"orders"}}`),
		"db2/deep/x/orders_0.data.json": genBytes(2, 1234),
		"ENCRYPTION":                    []byte("none"),
	}
	for name, data := range files {
		if err := st.WriteFile(ctx, name, data); err != nil {
			t.Fatalf("WriteFile %s: %v", name, err)
		}
	}
	for name, data := range files {
		got, err := st.ReadFile(ctx, name)
		if err != nil {
			t.Fatalf("ReadFile %s: %v", name, err)
		}
		if sha(got) != sha(data) {
			t.Errorf("%s: read back %d bytes (sha %s), wrote %d (sha %s)", name, len(got), sha(got), len(data), sha(data))
		}
		size, err := st.Stat(ctx, name)
		if err != nil || size != int64(len(data)) {
			t.Errorf("Stat %s = %d, %v; want %d", name, size, err, len(data))
		}
	}
	// The objects are where the URL says, seen by another client.
	oi, err := srv.Client().StatObject(ctx, srv.Bucket, "dump1/users_0123.data.json.gz", minio.StatObjectOptions{})
	if err != nil || oi.Size != 300<<10 {
		t.Fatalf("independent stat: %+v, %v", oi.Size, err)
	}
	if err := st.Remove(ctx, "ENCRYPTION"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Stat(ctx, "ENCRYPTION"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat after Remove: %v, want fs.ErrNotExist", err)
	}
	if got := st.Sub("db2").URL(); got != srv.URL()+"/dump1/db2" {
		t.Errorf("Sub URL = %q", got)
	}
	b, err := st.Sub("db2").Sub("deep/x").ReadFile(ctx, "orders_0.data.json")
	if err != nil || sha(b) != sha(files["db2/deep/x/orders_0.data.json"]) {
		t.Errorf("read through Sub: %v", err)
	}
}

func TestMultipartRoundTrip(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	cfg := config(srv)
	cfg.Concurrency = 3
	st := open(t, srv, "big", cfg)
	ctx := context.Background()
	const size = 40<<20 + 12345 // 8 full parts of 5 MiB and a short one
	want := genBytes(7, size)

	u, err := st.Create(ctx, "coll_1.data.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Abort()
	// Odd-sized writes, crossing part boundaries.
	for off, step := 0, 1; off < len(want); step = step*7%(3<<20) + 1 {
		end := min(off+step, len(want))
		if n, err := u.Write(want[off:end]); err != nil || n != end-off {
			t.Fatalf("Write at %d: %d, %v", off, n, err)
		}
		off = end
		if off > 20<<20 && off-step <= 20<<20 {
			// Parts are on the store already, but the object is not visible.
			if _, err := st.Stat(ctx, "coll_1.data.json.gz"); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("object visible before Commit: %v", err)
			}
			files, _, err := st.List(ctx)
			if err != nil || len(files) != 0 {
				t.Fatalf("List before Commit = %v, %v; want nothing", files, err)
			}
			if p, err := st.PendingUploads(ctx); err != nil || len(p) != 1 {
				t.Fatalf("pending uploads during the upload = %v, %v; want one", p, err)
			}
		}
	}
	n, sum, err := u.Commit()
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if n != size || sum != sha(want) {
		t.Fatalf("Commit = %d, %s; want %d, %s", n, sum, size, sha(want))
	}
	// Independent check: another client, one GET.
	obj, err := srv.Client().GetObject(ctx, srv.Bucket, "big/coll_1.data.json.gz", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gotN, gotSum := shaReader(t, obj)
	if gotN != size || gotSum != sha(want) {
		t.Fatalf("stored object: %d bytes sha %s; want %d, %s", gotN, gotSum, size, sha(want))
	}
	oi, _ := srv.Client().StatObject(ctx, srv.Bucket, "big/coll_1.data.json.gz", minio.StatObjectOptions{})
	if !strings.HasSuffix(oi.ETag, "-9") {
		t.Errorf("ETag %q: want a multipart upload of 9 parts", oi.ETag)
	}
	// And through Object.
	o, err := st.Open(ctx, "coll_1.data.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if o.Size() != size {
		t.Errorf("Object.Size = %d", o.Size())
	}
	if gotN, gotSum := shaReader(t, o); gotN != size || gotSum != sha(want) {
		t.Fatalf("Object read: %d bytes sha %s", gotN, gotSum)
	}
	if p, err := st.PendingUploads(ctx); err != nil || len(p) != 0 {
		t.Fatalf("pending uploads after Commit = %v, %v", p, err)
	}
	if err := u.Abort(); err != nil {
		t.Errorf("Abort after Commit: %v", err)
	}
	if _, err := u.Write([]byte("x")); !errors.Is(err, objstore.ErrUploadClosed) {
		t.Errorf("Write after Commit: %v", err)
	}
}

func TestSmallUploadAndEmpty(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	st := open(t, srv, "small", config(srv))
	ctx := context.Background()
	for _, size := range []int{0, 1, 100 << 10, objstore.MinPartSize} {
		name := fmt.Sprintf("f%d", size)
		data := genBytes(3, size)
		u, err := st.Create(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		u.Write(data)
		n, sum, err := u.Commit()
		if err != nil || n != int64(size) || sum != sha(data) {
			t.Fatalf("size %d: Commit = %d, %s, %v", size, n, sum, err)
		}
		got, err := st.ReadFile(ctx, name)
		if err != nil || sha(got) != sha(data) {
			t.Fatalf("size %d: read back %d bytes, %v", size, len(got), err)
		}
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	st := open(t, srv, "abort", config(srv))
	ctx := context.Background()
	u, err := st.Create(ctx, "x.data.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(u, newGen(4, 17<<20)); err != nil { // 3 full parts sent, one pending
		t.Fatal(err)
	}
	pending, err := minio.Core{Client: srv.Client()}.ListMultipartUploads(ctx, srv.Bucket, "", "", "", "", 100)
	if err != nil || len(pending.Uploads) != 1 {
		t.Fatalf("before Abort: %d pending uploads, %v; want 1", len(pending.Uploads), err)
	}
	if err := u.Abort(); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	if _, err := st.Stat(ctx, "x.data.json.gz"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat after Abort: %v", err)
	}
	for up := range srv.Client().ListIncompleteUploads(ctx, srv.Bucket, "", true) {
		t.Errorf("incomplete upload left after Abort: %+v", up)
	}
	pending, err = minio.Core{Client: srv.Client()}.ListMultipartUploads(ctx, srv.Bucket, "", "", "", "", 100)
	if err != nil || len(pending.Uploads) != 0 {
		t.Fatalf("after Abort: pending %+v, %v", pending.Uploads, err)
	}
	if _, _, err := u.Commit(); !errors.Is(err, objstore.ErrUploadClosed) {
		t.Errorf("Commit after Abort: %v", err)
	}
	// Abort of a canceled upload (Ctrl-C) still cleans up.
	cctx, cancel := context.WithCancel(ctx)
	u2, _ := st.Create(cctx, "y")
	io.Copy(u2, newGen(5, 11<<20))
	cancel()
	if err := u2.Abort(); err != nil {
		t.Fatalf("Abort after cancel: %v", err)
	}
	if p, err := st.PendingUploads(ctx); err != nil || len(p) != 0 {
		t.Fatalf("pending after canceled Abort = %v, %v", p, err)
	}
}

func TestRangedReads(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	st := open(t, srv, "ranges", config(srv))
	ctx := context.Background()
	const size = 11<<20 + 7
	data := genBytes(9, size)
	u, _ := st.Create(ctx, "r.bin")
	u.Write(data)
	if _, _, err := u.Commit(); err != nil {
		t.Fatal(err)
	}
	o, err := st.Open(ctx, "r.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	for _, c := range []struct{ off, n int }{
		{0, 10}, {1, 1}, {5<<20 - 3, 6}, {5 << 20, 5 << 20}, {size - 10, 10}, {size - 1, 1}, {123456, 3 << 20},
	} {
		p := make([]byte, c.n)
		n, err := o.ReadAt(p, int64(c.off))
		if err != nil || n != c.n || !bytes.Equal(p, data[c.off:c.off+c.n]) {
			t.Errorf("ReadAt(%d, %d) = %d, %v (bytes equal: %v)", c.off, c.n, n, err, bytes.Equal(p[:n], data[c.off:c.off+n]))
		}
	}
	// Past the end: the bytes there, and io.EOF.
	p := make([]byte, 100)
	n, err := o.ReadAt(p, size-40)
	if n != 40 || err != io.EOF || !bytes.Equal(p[:40], data[size-40:]) {
		t.Errorf("ReadAt across the end = %d, %v", n, err)
	}
	if n, err := o.ReadAt(p, size); n != 0 || err != io.EOF {
		t.Errorf("ReadAt at the end = %d, %v", n, err)
	}
	// Seek then Read, in both directions.
	for _, off := range []int64{7 << 20, 3, size - 5, 0, 5 << 20} {
		if pos, err := o.Seek(off, io.SeekStart); err != nil || pos != off {
			t.Fatalf("Seek(%d) = %d, %v", off, pos, err)
		}
		want := data[off:min(off+4096, size)]
		got := make([]byte, len(want))
		if _, err := io.ReadFull(o, got); err != nil || !bytes.Equal(got, want) {
			t.Errorf("Read after Seek(%d): %v, equal %v", off, err, bytes.Equal(got, want))
		}
	}
	if pos, err := o.Seek(-10, io.SeekEnd); err != nil || pos != size-10 {
		t.Fatalf("Seek from end = %d, %v", pos, err)
	}
	rest, err := io.ReadAll(o)
	if err != nil || !bytes.Equal(rest, data[size-10:]) {
		t.Errorf("ReadAll after SeekEnd: %d bytes, %v", len(rest), err)
	}
	if _, err := o.Seek(-1, io.SeekStart); err == nil {
		t.Error("Seek to a negative position succeeded")
	}
}

func TestListAndFS(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	st := open(t, srv, "", config(srv))
	ctx := context.Background()
	names := []string{"a/x", "a/y.json", "a/sub/z", "a/sub/deeper/w", "a/sub2/q", "b", "ab/c"}
	for i, n := range names {
		if err := st.WriteFile(ctx, n, []byte(strings.Repeat("d", i+1))); err != nil {
			t.Fatal(err)
		}
	}
	files, dirs, err := st.Sub("a").List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(files) != "[x y.json]" || fmt.Sprint(dirs) != "[sub sub2]" {
		t.Errorf("List(a) = files %v dirs %v", files, dirs)
	}
	files, dirs, _ = st.List(ctx)
	if fmt.Sprint(files) != "[b]" || fmt.Sprint(dirs) != "[a ab]" {
		t.Errorf("List(root) = files %v dirs %v", files, dirs)
	}
	files, dirs, err = st.Sub("nothing-here").List(ctx)
	if err != nil || len(files)+len(dirs) != 0 {
		t.Errorf("List of an empty prefix = %v %v %v", files, dirs, err)
	}

	fsys := st.FS(ctx)
	if err := fstest.TestFS(fsys, names...); err != nil {
		t.Fatal(err)
	}
	sub := st.Sub("a").FS(ctx)
	if err := fstest.TestFS(sub, "x", "y.json", "sub/z", "sub/deeper/w", "sub2/q"); err != nil {
		t.Fatal(err)
	}
	ents, err := fs.ReadDir(sub, "sub")
	if err != nil || len(ents) != 2 || ents[0].Name() != "deeper" || !ents[0].IsDir() || ents[1].Name() != "z" {
		t.Fatalf("ReadDir(sub) = %v, %v", ents, err)
	}
	if info, err := ents[1].Info(); err != nil || info.Size() != 3 {
		t.Errorf("size of sub/z = %v, %v", info, err)
	}
	if _, err := fs.Stat(sub, "missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(missing) = %v", err)
	}
	if _, err := fs.ReadDir(sub, "missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadDir(missing) = %v", err)
	}
	f, err := sub.Open("sub/z")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.(io.ReaderAt); !ok {
		t.Error("an FS file is not an io.ReaderAt")
	}
	f.Close()
}

func TestMissingObject(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	st := open(t, srv, "pre", config(srv))
	ctx := context.Background()
	_, err := st.Stat(ctx, "nope.data.json.gz")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat: %v, want fs.ErrNotExist", err)
	}
	want := "stat " + srv.URL() + "/pre/nope.data.json.gz"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("Stat error %q does not say %q", err, want)
	}
	_, err = st.Open(ctx, "nope.data.json.gz")
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "open "+srv.URL()+"/pre/nope.data.json.gz") {
		t.Fatalf("Open: %v, want fs.ErrNotExist naming the URL", err)
	}
	if _, err := st.ReadFile(ctx, "nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadFile: %v", err)
	}
	if _, err := st.Stat(ctx, "../etc"); err == nil {
		t.Fatal("Stat of ../etc succeeded")
	}
}

func TestWrongCredentials(t *testing.T) {
	srv := s3test.Start(t)
	loc, _ := objstore.ParseURL(srv.URL() + "/p")
	ctx := context.Background()

	cfg := config(srv)
	cfg.SecretAccessKey = "wrong-secret-1234567890"
	_, err := objstore.Open(ctx, loc, cfg)
	if !errors.Is(err, objstore.ErrCredentials) {
		t.Fatalf("wrong secret: %v, want ErrCredentials", err)
	}
	msg := err.Error()
	for _, want := range []string{"AWS_ACCESS_KEY_ID", "AWS_PROFILE", "~/.aws/credentials", "SignatureDoesNotMatch", srv.URL()} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if strings.Contains(msg, cfg.SecretAccessKey) || strings.Contains(msg, srv.SecretKey) {
		t.Errorf("error shows a secret: %q", msg)
	}

	cfg = config(srv)
	cfg.AccessKeyID = "AKNOSUCHKEY"
	if _, err := objstore.Open(ctx, loc, cfg); !errors.Is(err, objstore.ErrCredentials) {
		t.Fatalf("unknown key: %v, want ErrCredentials", err)
	}

	// No credentials at all: anonymous requests, refused.
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	cfg = config(srv)
	cfg.AccessKeyID, cfg.SecretAccessKey = "", ""
	_, err = objstore.Open(ctx, loc, cfg)
	if !errors.Is(err, objstore.ErrCredentials) || !strings.Contains(err.Error(), "none found") {
		t.Fatalf("no credentials: %v", err)
	}
}

func TestCredentialsFromEnvironment(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	loc, _ := objstore.ParseURL(srv.URL())
	dir := t.TempDir()
	t.Setenv("AWS_ENDPOINT_URL", srv.Endpoint)
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_SESSION_TOKEN", "")

	// 1. The environment variables.
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	st, err := objstore.Open(ctx, loc, objstore.Config{RetryDelay: time.Millisecond})
	if err != nil {
		t.Fatalf("credentials from AWS_ACCESS_KEY_ID: %v", err)
	}
	if err := st.WriteFile(ctx, "env", []byte("1")); err != nil {
		t.Fatal(err)
	}

	// 2. A profile of the shared files; the environment wins over them.
	creds := filepath.Join(dir, "credentials")
	conf := filepath.Join(dir, "config")
	os.WriteFile(creds, []byte("[default]\naws_access_key_id = AKWRONG\naws_secret_access_key = wrong\n\n[backup]\naws_access_key_id = "+
		srv.AccessKey+"\naws_secret_access_key = "+srv.SecretKey+"\n"), 0o600)
	os.WriteFile(conf, []byte("[default]\nregion = eu-west-9\n[profile backup]\nregion = us-east-1\n"), 0o600)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
	t.Setenv("AWS_CONFIG_FILE", conf)
	t.Setenv("AWS_PROFILE", "backup")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-env-secret")
	if _, err := objstore.Open(ctx, loc, objstore.Config{Retries: 1}); !errors.Is(err, objstore.ErrCredentials) || !strings.Contains(err.Error(), "from AWS_ACCESS_KEY_ID") {
		t.Fatalf("a wrong AWS_SECRET_ACCESS_KEY should win over the profile: %v", err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	st, err = objstore.Open(ctx, loc, objstore.Config{})
	if err != nil {
		t.Fatalf("credentials from profile backup: %v", err)
	}
	if b, err := st.ReadFile(ctx, "env"); err != nil || string(b) != "1" {
		t.Fatalf("read with profile credentials: %q, %v", b, err)
	}
	// The default profile has wrong keys.
	t.Setenv("AWS_PROFILE", "")
	if _, err := objstore.Open(ctx, loc, objstore.Config{Retries: 1}); !errors.Is(err, objstore.ErrCredentials) {
		t.Fatalf("default profile: %v, want ErrCredentials", err)
	}
}

func TestMissingBucket(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	loc, _ := objstore.ParseURL("s3://no-such-bucket-here/x")
	_, err := objstore.Open(context.Background(), loc, config(srv))
	if !errors.Is(err, objstore.ErrNoBucket) || !strings.Contains(err.Error(), "s3://no-such-bucket-here/x") {
		t.Fatalf("Open of a missing bucket: %v, want ErrNoBucket naming the URL", err)
	}
}

func TestUnreachableEndpoint(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + l.Addr().String()
	l.Close() // nothing listens there now
	loc, _ := objstore.ParseURL("s3://bkt/p")
	t0 := time.Now()
	_, err = objstore.Open(context.Background(), loc, objstore.Config{
		Endpoint: endpoint, AccessKeyID: "a", SecretAccessKey: "b", Retries: 3, RetryDelay: 10 * time.Millisecond,
	})
	took := time.Since(t0)
	if !errors.Is(err, objstore.ErrUnreachable) {
		t.Fatalf("Open of a closed port: %v, want ErrUnreachable", err)
	}
	if want := "cannot reach s3 endpoint " + endpoint; !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "after 3 attempts") {
		t.Errorf("error %q does not say %q after 3 attempts", err, want)
	}
	if took > 5*time.Second {
		t.Errorf("took %v to give up", took)
	}
}

// The same server over TLS: trusted through CACert, refused without it
// (at once: a certificate error is not retried), accepted with
// InsecureSkipVerify.
func TestTLS(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	ctx := context.Background()
	loc, _ := objstore.ParseURL(srv.URL() + "/tls")
	cfg := config(srv)
	cfg.Endpoint = srv.TLSEndpoint
	cfg.CACert = srv.CACert
	var st *objstore.Store
	var err error
	for i := 0; i < 50; i++ { // the TLS listener starts beside the plain one
		if st, err = objstore.Open(ctx, loc, cfg); err == nil || !errors.Is(err, objstore.ErrUnreachable) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("Open over TLS with the CA: %v", err)
	}
	data := genBytes(41, objstore.MinPartSize+77)
	u, _ := st.Create(ctx, "x")
	u.Write(data)
	if _, sum, err := u.Commit(); err != nil || sum != sha(data) {
		t.Fatalf("upload over TLS: %s, %v", sum, err)
	}
	if b, err := st.ReadFile(ctx, "x"); err != nil || sha(b) != sha(data) {
		t.Fatalf("read over TLS: %v", err)
	}

	cfg.CACert = ""
	t0 := time.Now()
	_, err = objstore.Open(ctx, loc, cfg)
	if err == nil || !strings.Contains(err.Error(), "certificate") || strings.Contains(err.Error(), "attempts") {
		t.Fatalf("Open over TLS without the CA: %v; want one certificate error", err)
	}
	if time.Since(t0) > 5*time.Second {
		t.Errorf("a certificate error took %v", time.Since(t0))
	}
	cfg.InsecureSkipVerify = true
	if _, err := objstore.Open(ctx, loc, cfg); err != nil {
		t.Fatalf("Open with InsecureSkipVerify: %v", err)
	}
	cfg.InsecureSkipVerify = false
	cfg.CACert = filepath.Join(t.TempDir(), "missing.pem")
	if _, err := objstore.Open(ctx, loc, cfg); err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Fatalf("Open with a missing CA file: %v", err)
	}
}

func TestBadConfig(t *testing.T) {
	loc, _ := objstore.ParseURL("s3://bkt")
	for _, cfg := range []objstore.Config{
		{Endpoint: "ftp://host"}, {Endpoint: "http://host/path"}, {PartSize: 1 << 20}, {Endpoint: "http://user:pw@host"},
	} {
		if _, err := objstore.Open(context.Background(), loc, cfg); err == nil {
			t.Errorf("Open with %+v succeeded", cfg)
		} else if strings.Contains(err.Error(), "pw") {
			t.Errorf("error shows a password: %v", err)
		}
	}
}

// A dropped connection during part 2 is retried and the object is whole.
func TestPartRetry(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	var dropped, corrupted atomic.Int32
	proxy := newFaultProxy(t, srv.Endpoint, func(r *http.Request, seen int) action {
		if r.Method == http.MethodPut && r.URL.Query().Get("partNumber") == "2" && seen == 0 {
			dropped.Add(1)
			return drop
		}
		if r.Method == http.MethodPut && r.URL.Query().Get("partNumber") == "4" && seen < 2 {
			return fail503
		}
		if r.Method == http.MethodPut && r.URL.Query().Get("partNumber") == "3" && seen == 0 {
			corrupted.Add(1)
			return corrupt // the store must refuse it (Content-MD5), and the part be sent again
		}
		return pass
	})
	cfg := config(srv)
	cfg.Endpoint = proxy.URL
	st := open(t, srv, "retry", cfg)
	ctx := context.Background()
	const size = 4*objstore.MinPartSize + 999
	data := genBytes(11, size)
	u, _ := st.Create(ctx, "r.data")
	if _, err := u.Write(data); err != nil {
		t.Fatal(err)
	}
	n, sum, err := u.Commit()
	if err != nil {
		t.Fatalf("Commit with a dropped part: %v", err)
	}
	if n != size || sum != sha(data) {
		t.Fatalf("Commit = %d %s", n, sum)
	}
	if dropped.Load() != 1 || corrupted.Load() != 1 {
		t.Fatalf("the faults were injected %d and %d times", dropped.Load(), corrupted.Load())
	}
	got, err := srv.Client().GetObject(ctx, srv.Bucket, "retry/r.data", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if gn, gs := shaReader(t, got); gn != size || gs != sha(data) {
		t.Fatalf("stored: %d %s, want %d %s", gn, gs, size, sha(data))
	}

	// A part that fails every time: Commit fails naming the part, nothing is left.
	bad := newFaultProxy(t, srv.Endpoint, func(r *http.Request, seen int) action {
		if r.Method == http.MethodPut && r.URL.Query().Get("partNumber") == "2" {
			return fail503
		}
		return pass
	})
	cfg.Endpoint = bad.URL
	st2 := open(t, srv, "retry", cfg)
	u, _ = st2.Create(ctx, "never")
	_, werr := u.Write(data)
	_, _, err = u.Commit()
	if werr != nil {
		err = werr
		u.Abort()
	}
	want := "upload " + srv.URL() + "/retry/never part 2: SlowDown"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "after 4 attempts") {
		t.Fatalf("Commit with a part that always fails: %v; want %q after 4 attempts", err, want)
	}
	if p, _ := st.PendingUploads(ctx); len(p) != 0 {
		t.Fatalf("pending uploads left: %v", p)
	}
	if _, err := st.Stat(ctx, "never"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("failed upload left an object: %v", err)
	}
}

// At most Concurrency parts are in flight, and they do run in parallel.
func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	proxy := newFaultProxy(t, srv.Endpoint, func(r *http.Request, seen int) action { return pass })
	cfg := config(srv)
	cfg.Endpoint = proxy.URL
	cfg.Concurrency = 3
	st := open(t, srv, "conc", cfg)
	u, _ := st.Create(context.Background(), "c")
	defer u.Abort()
	data := genBytes(21, 10*objstore.MinPartSize)
	u.Write(data)
	if _, sum, err := u.Commit(); err != nil || sum != sha(data) {
		t.Fatalf("Commit: %s, %v", sum, err)
	}
	t.Logf("at most %d parts in flight", proxy.maxInflight.Load())
	if m := proxy.maxInflight.Load(); m > 3 || m < 2 {
		t.Fatalf("%d parts in flight at most, want 2 or 3 (Concurrency 3)", m)
	}
}

// A small file whose first PUT fails with 503 is written on the next attempt.
func TestWriteFileRetried(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	proxy := newFaultProxy(t, srv.Endpoint, func(r *http.Request, seen int) action {
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/dump.json") {
			if seen == 0 {
				return fail503
			}
			if seen == 1 {
				return drop
			}
		}
		return pass
	})
	cfg := config(srv)
	cfg.Endpoint = proxy.URL
	st := open(t, srv, "w", cfg)
	ctx := context.Background()
	if err := st.WriteFile(ctx, "dump.json", []byte(`{"ok":true}`)); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	if n := proxy.count("PUT "); n != 3 {
		t.Errorf("%d PUTs, want 3", n)
	}
	b, err := st.ReadFile(ctx, "dump.json")
	if err != nil || string(b) != `{"ok":true}` {
		t.Fatalf("read back %q, %v", b, err)
	}
}

// A GET cut short is resumed from the offset reached, with a ranged GET.
func TestReadResumesAfterDrop(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	var cuts atomic.Int32
	var ranges sync.Map
	proxy := newFaultProxy(t, srv.Endpoint, func(r *http.Request, seen int) action {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/obj") {
			if h := r.Header.Get("Range"); h != "" {
				ranges.Store(h, true)
			}
			if cuts.Load() < 2 {
				cuts.Add(1)
				return cutBody
			}
		}
		return pass
	})
	cfg := config(srv)
	cfg.Endpoint = proxy.URL
	st := open(t, srv, "", cfg)
	ctx := context.Background()
	data := genBytes(12, 6<<20)
	if err := st.WriteFile(ctx, "obj", data); err != nil {
		t.Fatal(err)
	}
	o, err := st.Open(ctx, "obj")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	n, s := shaReader(t, o)
	if n != int64(len(data)) || s != sha(data) {
		t.Fatalf("read %d bytes sha %s, want %d %s", n, s, len(data), sha(data))
	}
	if cuts.Load() != 2 {
		t.Fatalf("%d cuts injected", cuts.Load())
	}
	if _, ok := ranges.Load(fmt.Sprintf("bytes=%d-", 1<<20)); !ok {
		t.Errorf("no ranged GET from the offset reached (1 MiB)")
	}
	if _, ok := ranges.Load(fmt.Sprintf("bytes=%d-", 2<<20)); !ok {
		t.Errorf("no ranged GET from the offset reached (2 MiB)")
	}
}

// A request whose body stops moving is ended after IdleTimeout and retried:
// an upload part, a small file and a streaming read.
func TestStalledRequests(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	var stalls atomic.Int32
	proxy := newFaultProxy(t, srv.Endpoint, func(r *http.Request, seen int) action {
		switch {
		case r.Method == http.MethodPut && r.URL.Query().Get("partNumber") == "2" && seen == 0,
			r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/small") && seen == 0:
			stalls.Add(1)
			return stallReq
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/big") && seen == 0:
			stalls.Add(1)
			return stallBody
		}
		return pass
	})
	cfg := config(srv)
	cfg.Endpoint = proxy.URL
	cfg.IdleTimeout = 300 * time.Millisecond
	st := open(t, srv, "", cfg)
	ctx := context.Background()
	t0 := time.Now()
	data := genBytes(31, 3*objstore.MinPartSize)
	u, _ := st.Create(ctx, "big")
	u.Write(data)
	if _, sum, err := u.Commit(); err != nil || sum != sha(data) {
		t.Fatalf("Commit with a stalled part: %s, %v", sum, err)
	}
	if err := st.WriteFile(ctx, "small", []byte("x")); err != nil {
		t.Fatalf("WriteFile stalled once: %v", err)
	}
	o, err := st.Open(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if n, s := shaReader(t, o); n != int64(len(data)) || s != sha(data) {
		t.Fatalf("read after a stalled GET: %d bytes, sha %s", n, s)
	}
	if stalls.Load() != 3 {
		t.Fatalf("%d stalls injected, want 3", stalls.Load())
	}
	// Each stall lasts until the end of the test unless the client gives up
	// (after 300 ms); 10 s is a margin for a loaded machine, not a speed goal.
	if took := time.Since(t0); took > 10*time.Second {
		t.Errorf("took %v: the stalls were not cut short", took)
	}
}

// An object replaced while being read is an error, not a mix.
func TestReadSeesReplacement(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	st := open(t, srv, "", config(srv))
	ctx := context.Background()
	st.WriteFile(ctx, "v", genBytes(1, 1<<20))
	o, err := st.Open(ctx, "v")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	st.WriteFile(ctx, "v", genBytes(2, 1<<20))
	if _, err := io.ReadAll(o); err == nil {
		t.Fatal("read of a replaced object succeeded")
	}
}

// Memory stays within (Concurrency+1) x PartSize, whatever the size.
func TestUploadMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 256 MiB")
	}
	srv := s3test.Start(t)
	cfg := config(srv)
	cfg.Concurrency = 4
	st := open(t, srv, "mem", cfg)
	ctx := context.Background()
	const size = 256 << 20
	// Keep garbage small, so that heap in use is close to live memory
	// (at the default GOGC=100 the heap may hold as much garbage as live data).
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	u, _ := st.Create(ctx, "big")
	buf := make([]byte, 1<<20)
	g := newGen(13, size)
	for {
		n, err := g.Read(buf)
		if err == io.EOF {
			break
		}
		if _, err := u.Write(buf[:n]); err != nil {
			t.Fatal(err)
		}
	}
	n, _, err := u.Commit()
	close(stop)
	wg.Wait()
	if err != nil || n != size {
		t.Fatalf("Commit = %d, %v", n, err)
	}
	grew := int64(peak.Load()) - int64(base)
	bound := int64(cfg.Concurrency+1) * cfg.PartSize
	t.Logf("256 MiB upload: heap in use peaked %.1f MiB above the start (parts: %d x %d MiB = %d MiB)",
		float64(grew)/(1<<20), cfg.Concurrency+1, cfg.PartSize>>20, bound>>20)
	if grew > bound+16<<20 {
		t.Errorf("heap grew by %d MiB, more than (Concurrency+1) x PartSize = %d MiB plus 16 MiB", grew>>20, bound>>20)
	}
	if sz, err := st.Stat(ctx, "big"); err != nil || sz != size {
		t.Fatalf("Stat = %d, %v", sz, err)
	}
	st.Remove(ctx, "big")
}

func TestDedicatedServer(t *testing.T) {
	t.Parallel()
	srv := s3test.StartDedicated(t)
	t.Logf("dedicated SeaweedFS start-up: %v", srv.StartupTime)
	st := open(t, srv, "d", config(srv))
	if err := st.WriteFile(context.Background(), "x", []byte("y")); err != nil {
		t.Fatal(err)
	}
}

// FuzzParseURL: an accepted URL round-trips through Location.String and
// never has a "." or ".." segment or an empty one.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"s3://bkt", "s3://bkt/a/b/", "s3://b/../x", "S3://Bkt_1/a b", "s3://bkt/a//b", "s3://k:s@bkt/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		loc, err := objstore.ParseURL(s)
		if err != nil {
			return
		}
		again, err := objstore.ParseURL(loc.String())
		if err != nil || again != loc {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, loc, loc.String(), again, err)
		}
		if loc.Prefix != "" {
			for _, seg := range strings.Split(loc.Prefix, "/") {
				if seg == "" || seg == "." || seg == ".." {
					t.Fatalf("%q: prefix %q has segment %q", s, loc.Prefix, seg)
				}
			}
		}
	})
}
