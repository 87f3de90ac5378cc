package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/arangobackup/godump/arangotest"
	"github.com/arangobackup/godump/objstore/s3test"
)

// s3Env is the environment that gives the tools the test store's endpoint and credentials,
// as a user's shell would (AWS_* variables, never options on the command line).
func s3Env(srv *s3test.Server) []string {
	return []string{"AWS_ACCESS_KEY_ID=" + srv.AccessKey, "AWS_SECRET_ACCESS_KEY=" + srv.SecretKey,
		"AWS_REGION=" + srv.Region, "AWS_ENDPOINT_URL=" + srv.Endpoint, "AWS_SHARED_CREDENTIALS_FILE=/nonexistent", "AWS_CONFIG_FILE=/nonexistent"}
}

// TestS3DumpRestore (issue 15 point 2): a dump to s3:// on a real S3 server (SeaweedFS)
// restored from s3:// is exact; so is an archive to and from s3://; an object store dump
// continues after a kill; wrong credentials, a missing bucket and an unreachable endpoint
// fail clearly.
func TestS3DumpRestore(t *testing.T) {
	srv := s3test.Start(t)
	env := s3Env(srv)
	src := newTarget(t, arangotest.Options{})
	srcDB := uniqueDB(t, "s3src")
	seeded := seedStandard(t, src, srcDB)
	url := srv.URL() + "/dumps/" + srcDB

	res := scRun(t, env, "godump", append(src.serverArgs(srcDB), "--output-directory", url, "--include-system-collections", "true", "--progress", "false", "--json", "true")...)
	if res.Code != 0 {
		t.Fatalf("godump to %s: %s", url, res)
	}
	var sum struct {
		OK          bool  `json:"ok"`
		BytesOnDisk int64 `json:"bytesOnDisk"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &sum); err != nil || !sum.OK || sum.BytesOnDisk == 0 {
		t.Fatalf("summary: %v %s", err, res.Stdout)
	}
	// the objects are there, the manifest complete, and no multipart upload left behind
	ctx := context.Background()
	var names []string
	for o := range srv.Client().ListObjects(ctx, srv.Bucket, minio.ListObjectsOptions{Prefix: "dumps/" + srcDB + "/", Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		names = append(names, strings.TrimPrefix(o.Key, "dumps/"+srcDB+"/"))
	}
	if !strings.Contains(strings.Join(names, " "), "godump-manifest.json") || !strings.Contains(strings.Join(names, " "), ".data.json.gz") {
		t.Fatalf("objects written: %v", names)
	}
	for u := range srv.Client().ListIncompleteUploads(ctx, srv.Bucket, "dumps/", true) {
		t.Errorf("multipart upload left: %s", u.Key)
	}
	mo, err := srv.Client().GetObject(ctx, srv.Bucket, "dumps/"+srcDB+"/godump-manifest.json", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Complete bool `json:"complete"`
	}
	if err := json.NewDecoder(mo).Decode(&m); err != nil || !m.Complete {
		t.Fatalf("manifest on the store: %v complete=%v", err, m.Complete)
	}

	dst := uniqueDB(t, "s3dst")
	src.dropAtEnd(t, dst)
	res = scRun(t, env, "gorestore", append(src.serverArgs(dst), "--input-directory", url, "--create-database", "true", "--include-system-collections", "true", "--progress", "false")...)
	if res.Code != 0 {
		t.Fatalf("gorestore from %s: %s", url, res)
	}
	rtCheckRestored(t, src, srcDB, seeded, src, dst)
	res = scRun(t, env, "gorestore", "--input-directory", url, "--list", "--server.endpoint", "tcp://127.0.0.1:1")
	if res.Code != 0 || !strings.Contains(res.Stdout, url) || !strings.Contains(res.Stdout, "customers") {
		t.Errorf("--list of %s: %s", url, res)
	}

	// an archive as one object (multipart upload), restored from it
	arch := srv.URL() + "/archives/" + srcDB + ".tar"
	res = scRun(t, env, "godump", append(src.serverArgs(srcDB), "--archive", arch, "--progress", "false")...)
	if res.Code != 0 {
		t.Fatalf("godump --archive %s: %s", arch, res)
	}
	dst2 := uniqueDB(t, "s3arch")
	src.dropAtEnd(t, dst2)
	res = scRun(t, env, "gorestore", append(src.serverArgs(dst2), "--archive", arch, "--create-database", "true", "--progress", "false")...)
	if res.Code != 0 {
		t.Fatalf("gorestore --archive %s: %s", arch, res)
	}
	for _, sc := range seeded.Collections {
		if !strings.HasPrefix(sc.Name, "_") {
			compareDocs(t, "from the s3 archive, "+sc.Name, sc.Docs, serverDocs(t, src, dst2, sc.Name))
		}
	}

	// a dump to the store killed and continued restores exactly
	kurl := srv.URL() + "/killed/" + srcDB
	slow := arangotest.Fault{PathPrefix: "/_api/dump/next", Times: 100000, Delay: 300 * time.Millisecond, CutAfterBytes: -1}
	id := src.Server.AddFault(slow)
	ctx2, cancel := context.WithTimeout(ctx, time.Minute)
	cmd := toolCommand(ctx2, "godump", dmGodumpArgs(src, srcDB, kurl, "--threads", "1", "--docs-per-batch", "100", "--batch-size", "131072")...)
	cmd.Env = append(cmd.Env, env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// killed once the first collection is uploaded (the manifest lists a file)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if o, err := srv.Client().GetObject(ctx, srv.Bucket, "killed/"+srcDB+"/godump-manifest.json", minio.GetObjectOptions{}); err == nil {
			var km struct {
				Files []json.RawMessage `json:"files"`
			}
			if json.NewDecoder(o).Decode(&km) == nil && len(km.Files) > 0 {
				break
			}
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	cancel()
	src.Server.RemoveFault(id)
	res = scRun(t, env, "godump", dmGodumpArgs(src, srcDB, kurl, "--continue", "true", "--threads", "1", "--json", "true")...)
	if res.Code != 0 || !strings.Contains(res.Stdout, `"keptFiles"`) {
		t.Fatalf("godump --continue on %s: %s", kurl, res)
	}
	dst3 := uniqueDB(t, "s3kill")
	src.dropAtEnd(t, dst3)
	res = scRun(t, env, "gorestore", append(src.serverArgs(dst3), "--input-directory", kurl, "--create-database", "true", "--progress", "false")...)
	if res.Code != 0 {
		t.Fatalf("gorestore of the continued dump: %s", res)
	}
	for _, sc := range seeded.Collections {
		if !strings.HasPrefix(sc.Name, "_") {
			compareDocs(t, "continued on s3, "+sc.Name, sc.Docs, serverDocs(t, src, dst3, sc.Name))
		}
	}

	// a missing object: the restore stops before writing, naming it; a missing archive too
	var victim string
	for _, n := range names {
		if strings.HasPrefix(n, "customers_") && strings.Contains(n, ".data.json") {
			victim = n
		}
	}
	if victim == "" {
		t.Fatalf("no data object of customers in %v", names)
	}
	if err := srv.Client().RemoveObject(ctx, srv.Bucket, "dumps/"+srcDB+"/"+victim, minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	dst4 := uniqueDB(t, "s3miss")
	src.dropAtEnd(t, dst4)
	res = scRun(t, env, "gorestore", append(src.serverArgs(dst4), "--input-directory", url, "--create-database", "true", "--progress", "false")...)
	if res.Code != 3 || !strings.Contains(res.Stderr, victim) {
		t.Errorf("restore with a missing object: %s", res)
	}
	res = scRun(t, env, "gorestore", "--archive", srv.URL()+"/archives/none.tar", "--list", "--server.endpoint", "tcp://127.0.0.1:1")
	if res.Code == 0 || !strings.Contains(res.Stderr, "none.tar") {
		t.Errorf("missing archive object: %s", res)
	}

	// bad credentials, a missing bucket, an unreachable endpoint: clear errors, no secret shown
	bad := append([]string(nil), env...)
	bad = append(bad, "AWS_SECRET_ACCESS_KEY=wrong-secret-value")
	res = scRun(t, bad, "gorestore", "--input-directory", url, "--list", "--server.endpoint", "tcp://127.0.0.1:1")
	if res.Code == 0 || strings.Contains(res.Stderr, "wrong-secret-value") || !strings.Contains(strings.ToLower(res.Stderr), "credential") {
		t.Errorf("wrong secret: %s", res)
	}
	res = scRun(t, env, "godump", append(src.serverArgs(srcDB), "--output-directory", "s3://no-such-bucket-godump/x", "--progress", "false")...)
	if res.Code == 0 || !strings.Contains(res.Stderr, "no-such-bucket-godump") {
		t.Errorf("missing bucket: %s", res)
	}
	unreach := append([]string(nil), env...)
	unreach = append(unreach, "AWS_ENDPOINT_URL=http://127.0.0.1:1")
	start := time.Now()
	res = scRun(t, unreach, "gorestore", "--input-directory", url, "--list", "--server.endpoint", "tcp://127.0.0.1:1")
	if res.Code == 0 || time.Since(start) > 60*time.Second {
		t.Errorf("unreachable endpoint: after %s: %s", time.Since(start), res)
	}
	t.Logf("unreachable endpoint: %s after %s", strings.TrimSpace(res.Stderr), time.Since(start).Round(time.Millisecond))
}
