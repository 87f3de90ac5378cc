package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/arangobackup/godump/objstore/s3test"
)

// transportS3 are the object-store paths of BenchmarkTransport: a dump directory under an
// s3:// prefix and an archive as one s3:// object, on a SeaweedFS server on this machine
// (which shares the two cores with the tools and the ArangoDB server).
func transportS3(b *testing.B) []transportPath {
	srv := s3test.Start(b)
	env := s3Env(srv)
	return []transportPath{
		{name: "s3-directory", env: env,
			dumpTo: func(*testing.B) []string {
				return []string{"--output-directory", fmt.Sprintf("%s/bench/%d", srv.URL(), time.Now().UnixNano())}
			},
			readFrom: func(d []string) []string { return []string{"--input-directory", d[1]} }},
		{name: "s3-archive", env: env,
			dumpTo: func(*testing.B) []string {
				return []string{"--archive", fmt.Sprintf("%s/bench/%d.tar", srv.URL(), time.Now().UnixNano())}
			},
			readFrom: func(d []string) []string { return d }},
	}
}
