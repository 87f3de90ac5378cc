// Package s3dump puts dumps on object storage: it adapts an objstore.Store (an s3://bucket/
// prefix) to the format package's Store, for godump --output-directory s3://..., and gives
// the commands their --s3.* options. It is glue: the S3 protocol is objstore's, the dump
// format is format's.
package s3dump

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/arangobackup/godump/format"
	"github.com/arangobackup/godump/objstore"
)

// Store is an object-store prefix as a format.Store (and format.StoreTree).
type Store struct {
	ctx context.Context
	s   *objstore.Store
}

// New adapts s; ctx bounds every request the format package makes through it.
func New(ctx context.Context, s *objstore.Store) *Store { return &Store{ctx: ctx, s: s} }

// Objects is the objstore.Store underneath.
func (st *Store) Objects() *objstore.Store { return st.s }

func (st *Store) String() string          { return st.s.URL() }
func (st *Store) Path(name string) string { return strings.TrimSuffix(st.s.URL(), "/") + "/" + name }

// List gives the objects directly under the prefix.
func (st *Store) List() ([]string, error) {
	files, _, err := st.s.List(st.ctx)
	return files, err
}

// Dirs gives the "subdirectories" directly under the prefix.
func (st *Store) Dirs() ([]string, error) {
	_, dirs, err := st.s.List(st.ctx)
	return dirs, err
}

func (st *Store) WriteFile(name string, data []byte) error { return st.s.WriteFile(st.ctx, name, data) }
func (st *Store) Remove(name string) error                 { return st.s.Remove(st.ctx, name) }
func (st *Store) Sync() error                              { return nil } // a completed upload is durable
func (st *Store) Sub(dir string) format.Store              { return &Store{ctx: st.ctx, s: st.s.Sub(dir)} }

// Open reads an object as a stream.
func (st *Store) Open(name string) (io.ReadCloser, error) { return st.s.Open(st.ctx, name) }

// Size is the size of an object.
func (st *Store) Size(name string) (int64, error) { return st.s.Stat(st.ctx, name) }

// Create starts a multipart upload that becomes the object at Commit.
func (st *Store) Create(name string) (format.StoreFile, error) {
	u, err := st.s.Create(st.ctx, name)
	if err != nil {
		return nil, err
	}
	return upload{u}, nil
}

type upload struct{ u *objstore.Upload }

func (u upload) Write(p []byte) (int, error) { return u.u.Write(p) }
func (u upload) Commit() error {
	_, _, err := u.u.Commit()
	return err
}
func (u upload) Abort() error { return u.u.Abort() }

// Options are the --s3.* options of the commands.
type Options struct {
	Config objstore.Config
	// --s3.part-size, --s3.concurrency, --s3.path-style (config puts them into Config)
	partSize    uint64
	concurrency int
	pathStyle   bool
}

// AddFlags declares the --s3.* options.
func AddFlags(fs *pflag.FlagSet, o *Options) {
	fs.StringVar(&o.Config.Endpoint, "s3.endpoint", "", "endpoint of an S3-compatible store that is not AWS (http://host:port or https://host); default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS")
	fs.StringVar(&o.Config.Region, "s3.region", "", "region of the bucket; default: AWS_REGION, AWS_DEFAULT_REGION, the AWS profile's, else the bucket's own (AWS) or us-east-1")
	fs.StringVar(&o.Config.Profile, "s3.profile", "", "AWS profile of the shared credentials and config files (default: AWS_PROFILE, else default)")
	fs.Uint64Var(&o.partSize, "s3.part-size", 8<<20, "size of the parts of multipart uploads, in bytes (at least 5 MiB); each upload holds (concurrency + 1) parts in memory")
	fs.IntVar(&o.concurrency, "s3.concurrency", 2, "parts of one upload sent at once")
	fs.BoolVar(&o.pathStyle, "s3.path-style", false, "always put the bucket in the URL path (default: path style except on AWS and Google)")
	fs.StringVar(&o.Config.CACert, "s3.ca-cert", "", "PEM file of certificate authorities to trust for an https endpoint")
	fs.BoolVar(&o.Config.InsecureSkipVerify, "s3.insecure-skip-verify", false, "accept any TLS certificate of the endpoint (test stores only)")
}

// config completes the options' Config.
func (o *Options) config() objstore.Config {
	c := o.Config
	c.PartSize = int64(o.partSize)
	c.Concurrency = o.concurrency
	if o.pathStyle {
		c.Addressing = objstore.AddressingPath
	}
	return c
}

// IsURL reports whether a directory or archive argument names object storage.
func IsURL(s string) bool { return objstore.IsURL(s) }

// OpenStore opens the prefix of an s3:// URL, checking the bucket and the credentials.
func (o *Options) OpenStore(ctx context.Context, url string) (*Store, error) {
	loc, err := objstore.ParseURL(url)
	if err != nil {
		return nil, err
	}
	s, err := objstore.Open(ctx, loc, o.config())
	if err != nil {
		return nil, err
	}
	return New(ctx, s), nil
}

// OpenObject opens the store holding the object of an s3://bucket/key URL and returns it
// with the object's name (for archives).
func (o *Options) OpenObject(ctx context.Context, url string) (*Store, string, error) {
	loc, err := objstore.ParseURL(url)
	if err != nil {
		return nil, "", err
	}
	if loc.Prefix == "" {
		return nil, "", fmt.Errorf("%s names a bucket, not an object: give the archive's key (s3://bucket/path/dump.tar)", url)
	}
	dir, name := "", loc.Prefix
	if i := strings.LastIndexByte(loc.Prefix, '/'); i >= 0 {
		dir, name = loc.Prefix[:i], loc.Prefix[i+1:]
	}
	s, err := objstore.Open(ctx, objstore.Location{Bucket: loc.Bucket, Prefix: dir}, o.config())
	if err != nil {
		return nil, "", err
	}
	return New(ctx, s), name, nil
}

var _ format.StoreTree = (*Store)(nil)
