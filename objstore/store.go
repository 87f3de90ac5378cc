package objstore

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

// Store is a "directory" of an object store: every name given to its
// methods is relative to its prefix, with "/" separating path segments.
// A Store is safe for concurrent use.
type Store struct {
	client *minio.Client
	core   minio.Core
	cfg    Config
	bucket string
	prefix string // no leading or trailing slash; "" for the bucket's root

	endpointShown string
	creds         credentialSource
}

// Open connects to the store of loc and checks, with one listing request,
// that the endpoint answers, that the credentials are accepted and that the
// bucket exists: each failure gets its own error (ErrUnreachable,
// ErrCredentials, ErrNoBucket). It does not create the bucket.
func Open(ctx context.Context, loc Location, cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	host, secure, shown, err := cfg.endpoint()
	if err != nil {
		return nil, err
	}
	tr, err := cfg.transport(secure)
	if err != nil {
		return nil, err
	}
	creds := cfg.resolveCredentials(&http.Client{Transport: tr, Timeout: 30 * time.Second})
	region := cfg.region()
	if region == "" && host != "s3.amazonaws.com" {
		region = "us-east-1"
	}
	lookup := minio.BucketLookupAuto
	switch cfg.Addressing {
	case AddressingPath:
		lookup = minio.BucketLookupPath
	case AddressingVirtual:
		lookup = minio.BucketLookupDNS
	}
	client, err := minio.New(host, &minio.Options{
		Creds:        creds.creds,
		Secure:       secure,
		Transport:    tr,
		Region:       region,
		BucketLookup: lookup,
		MaxRetries:   1, // retries are ours: see Store.retry
	})
	if err != nil {
		return nil, fmt.Errorf("s3 endpoint %s: %w", shown, err)
	}
	client.SetAppInfo("godump", "1")
	s := &Store{client: client, core: minio.Core{Client: client}, cfg: cfg, bucket: loc.Bucket, prefix: loc.Prefix,
		endpointShown: shown, creds: creds}
	err = s.retry(ctx, "open", "", 0, func(ctx context.Context) error {
		lctx, cancel := context.WithCancel(ctx)
		defer cancel()
		ch := client.ListObjects(lctx, s.bucket, minio.ListObjectsOptions{Prefix: s.dirPrefix(), MaxKeys: 1})
		first, ok := <-ch
		cancel()
		for range ch { // let the lister's goroutine end
		}
		if ok && first.Err != nil {
			return first.Err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Sub returns the Store of the "subdirectory" dir (prefix/dir), sharing the
// connection. dir must be a valid relative name.
func (s *Store) Sub(dir string) *Store {
	c := *s
	c.prefix = join(s.prefix, strings.Trim(dir, "/"))
	return &c
}

// URL is s3://bucket/prefix, for messages.
func (s *Store) URL() string { return Location{Bucket: s.bucket, Prefix: s.prefix}.String() }

// Location of the store.
func (s *Store) Location() Location { return Location{Bucket: s.bucket, Prefix: s.prefix} }

// PartSize is the multipart part size in use.
func (s *Store) PartSize() int64 { return s.cfg.PartSize }

func (s *Store) key(name string) string { return join(s.prefix, name) }

func (s *Store) objectURL(key string) string {
	if key == "" {
		key = s.prefix
	}
	return Location{Bucket: s.bucket, Prefix: key}.String()
}

// dirPrefix is the listing prefix of the store: "prefix/", or "" at the root.
func (s *Store) dirPrefix() string {
	if s.prefix == "" {
		return ""
	}
	return s.prefix + "/"
}

// Entry is an object or a "directory" directly under a Store's prefix.
type Entry struct {
	Name    string // relative to the Store, without a trailing slash
	IsDir   bool   // a common prefix of other objects
	Size    int64
	ModTime time.Time
}

// ReadDir lists what lies directly under the prefix ("/" as delimiter),
// sorted by name.
func (s *Store) ReadDir(ctx context.Context) ([]Entry, error) {
	var out []Entry
	pfx := s.dirPrefix()
	err := s.retry(ctx, "list", s.prefix, 0, func(ctx context.Context) error {
		out = out[:0]
		lctx, cancel := context.WithCancel(ctx)
		defer cancel()
		seen := map[string]bool{}
		for oi := range s.client.ListObjects(lctx, s.bucket, minio.ListObjectsOptions{Prefix: pfx}) {
			if oi.Err != nil {
				cancel()
				return oi.Err
			}
			rel := strings.TrimPrefix(oi.Key, pfx)
			if rel == "" { // a marker object for the prefix itself
				continue
			}
			if name, ok := strings.CutSuffix(rel, "/"); ok {
				if !seen[name] {
					seen[name] = true
					out = append(out, Entry{Name: name, IsDir: true})
				}
				continue
			}
			out = append(out, Entry{Name: rel, Size: oi.Size, ModTime: oi.LastModified})
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// List gives the names of the objects (files) and of the "directories"
// (common prefixes) directly under the prefix, each sorted.
func (s *Store) List(ctx context.Context) (files, dirs []string, err error) {
	ents, err := s.ReadDir(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range ents {
		if e.IsDir {
			dirs = append(dirs, e.Name)
		} else {
			files = append(files, e.Name)
		}
	}
	return files, dirs, nil
}

// Stat returns the size of an object; a missing object gives an error
// wrapping fs.ErrNotExist.
func (s *Store) Stat(ctx context.Context, name string) (int64, error) {
	oi, err := s.stat(ctx, name)
	return oi.Size, err
}

func (s *Store) stat(ctx context.Context, name string) (minio.ObjectInfo, error) {
	if err := checkName(name); err != nil {
		return minio.ObjectInfo{}, s.wrap("stat", s.key(name), 0, nil, err, 1)
	}
	var oi minio.ObjectInfo
	err := s.retry(ctx, "stat", s.key(name), 0, func(ctx context.Context) error {
		var err error
		oi, err = s.client.StatObject(ctx, s.bucket, s.key(name), minio.StatObjectOptions{})
		return err
	})
	return oi, err
}

// WriteFile stores data as the object name in one request (retried), for
// small files such as manifests and structure files. The object appears
// whole or not at all.
func (s *Store) WriteFile(ctx context.Context, name string, data []byte) error {
	if err := checkName(name); err != nil {
		return s.wrap("write", s.key(name), 0, nil, err, 1)
	}
	return s.put(ctx, "write", s.key(name), data)
}

// put stores data under key with one PutObject, retried.
func (s *Store) put(ctx context.Context, op, key string, data []byte) error {
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream", DisableContentSha256: true}
	sum := contentMD5(data)
	return s.retry(ctx, op, key, 0, func(ctx context.Context) error {
		gctx, g := newStallGuard(ctx, s.cfg.IdleTimeout)
		_, err := s.core.PutObject(gctx, s.bucket, key, touchReader{bytes.NewReader(data), g}, int64(len(data)), sum, "", opts)
		return g.stop(gctx, err)
	})
}

// contentMD5 is the Content-MD5 of a request body. Bodies are sent with
// UNSIGNED-PAYLOAD rather than with minio-go's chunked SHA-256 signature
// (which halved upload throughput against SeaweedFS on 2 cores); the store
// checks the MD5 and refuses a body damaged on the way (BadDigest, retried).
func contentMD5(b []byte) string {
	h := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(h[:])
}

// ReadFile reads a whole object (small files only: manifests, structure
// files).
func (s *Store) ReadFile(ctx context.Context, name string) ([]byte, error) {
	o, err := s.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer o.Close()
	buf := make([]byte, o.Size())
	if _, err := io.ReadFull(o, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// Remove deletes an object. Removing a missing object is not an error (S3
// does not tell the two apart).
func (s *Store) Remove(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return s.wrap("remove", s.key(name), 0, nil, err, 1)
	}
	return s.retry(ctx, "remove", s.key(name), 0, func(ctx context.Context) error {
		return s.client.RemoveObject(ctx, s.bucket, s.key(name), minio.RemoveObjectOptions{})
	})
}

// PendingUploads lists the keys of multipart uploads begun and neither
// completed nor aborted under the prefix (a crashed dump leaves them; stores
// bill for their parts until a lifecycle rule or AbortPending removes them).
func (s *Store) PendingUploads(ctx context.Context) ([]string, error) {
	var keys []string
	err := s.retry(ctx, "list uploads", s.prefix, 0, func(ctx context.Context) error {
		keys = keys[:0]
		for u := range s.client.ListIncompleteUploads(ctx, s.bucket, s.dirPrefix(), true) {
			if u.Err != nil {
				return u.Err
			}
			keys = append(keys, u.Key)
		}
		return nil
	})
	return keys, err
}

// AbortPending aborts every pending multipart upload of the object name.
func (s *Store) AbortPending(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return s.wrap("abort", s.key(name), 0, nil, err, 1)
	}
	return s.retry(ctx, "abort", s.key(name), 0, func(ctx context.Context) error {
		err := s.client.RemoveIncompleteUpload(ctx, s.bucket, s.key(name))
		if kind, _ := classify(ctx, err); kind == fs.ErrNotExist {
			return nil
		}
		var er minio.ErrorResponse
		if errors.As(err, &er) && er.Code == "NoSuchUpload" {
			return nil
		}
		return err
	})
}
