// Package objstore reads and writes dump files on an S3-compatible object
// store, at locations written s3://bucket/prefix: the layer under the dump
// and restore engines for --output-directory s3://... and
// --input-directory s3://... .
//
// A Store is a "directory" (a key prefix). Small files (manifest, structure
// files) are written with one request (WriteFile); data files stream through
// an Upload, a multipart upload whose parts go out in parallel with memory
// bounded by (Concurrency+1) x PartSize whatever the file's size, and which
// reports the size and SHA-256 that the manifest records. The object becomes
// visible only when the Upload is committed, so a crash never leaves a file
// that looks complete. Reading goes through Object (streaming GET that
// resumes with a ranged GET after a dropped connection, and ReadAt) or
// through FS, an io/fs view of the prefix. Every request is retried in one
// place (Store.retry) with a short exponential backoff, and errors name the
// operation and the s3:// URL and are classified: ErrCredentials,
// ErrNoBucket, ErrUnreachable, fs.ErrNotExist.
//
// It is not a general object-storage toolkit: no bucket management, no
// versioning, no server-side encryption settings, no listing beyond one
// level.
//
// Why minio-go (github.com/minio/minio-go/v7) rather than the AWS SDK for
// Go v2: minio-go is one module with a few small dependencies where the SDK
// takes a dozen modules (config, credentials, s3, the transfer manager,
// smithy-go and more) for the same five S3 calls; it is written and tested
// for S3-compatible stores (MinIO, Ceph, SeaweedFS) as much as for AWS,
// choosing path-style addressing for them by itself; its Core API gives the
// multipart primitives (create, upload part, complete, abort) so that part
// buffering, parallelism, retries and memory stay under our control; and it
// already reads the standard AWS environment and the shared credentials and
// config files (profiles, credential_process, SSO). What it lacks we add
// here: the region from the AWS config file and AWS_ENDPOINT_URL(_S3).
//
// Tests run against a real SeaweedFS server (see package s3test and
// scripts/weed.sh), not a mock.
package objstore
