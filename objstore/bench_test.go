package objstore_test

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/arangobackup/godump/objstore/s3test"
)

const benchSize = 64 << 20

// BenchmarkUpload streams 64 MiB objects to SeaweedFS with the default part
// size (16 MiB) and concurrency (4). Both client and server share the
// machine's cores, so this is a floor for a remote store.
func BenchmarkUpload(b *testing.B) {
	srv := s3test.Start(b)
	cfg := config(srv)
	cfg.PartSize = 0 // default
	st := open(b, srv, "bench", cfg)
	ctx := context.Background()
	buf := make([]byte, 1<<20)
	newGen(1, 1<<20).Read(buf)
	b.SetBytes(benchSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		u, err := st.Create(ctx, fmt.Sprintf("up%d", i))
		if err != nil {
			b.Fatal(err)
		}
		for n := 0; n < benchSize; n += len(buf) {
			if _, err := u.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		if _, _, err := u.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		st.Remove(ctx, fmt.Sprintf("up%d", i))
	}
}

// BenchmarkDownload reads a 64 MiB object sequentially (one streaming GET).
func BenchmarkDownload(b *testing.B) {
	srv := s3test.Start(b)
	st := open(b, srv, "bench", config(srv))
	ctx := context.Background()
	u, _ := st.Create(ctx, "down")
	io.Copy(u, newGen(2, benchSize))
	if _, _, err := u.Commit(); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	b.SetBytes(benchSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o, err := st.Open(ctx, "down")
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{o}, buf)
		o.Close()
		if err != nil || n != benchSize {
			b.Fatalf("read %d, %v", n, err)
		}
	}
}

// BenchmarkReadAtParallel reads a 64 MiB object as 4 MiB ranged GETs, 4 at
// a time (how a parallel restore reads one large file).
func BenchmarkReadAtParallel(b *testing.B) {
	srv := s3test.Start(b)
	st := open(b, srv, "bench", config(srv))
	ctx := context.Background()
	u, _ := st.Create(ctx, "ranged")
	io.Copy(u, newGen(3, benchSize))
	if _, _, err := u.Commit(); err != nil {
		b.Fatal(err)
	}
	o, err := st.Open(ctx, "ranged")
	if err != nil {
		b.Fatal(err)
	}
	defer o.Close()
	const chunk = 4 << 20
	b.SetBytes(benchSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		offs := make(chan int64, benchSize/chunk)
		for off := int64(0); off < benchSize; off += chunk {
			offs <- off
		}
		close(offs)
		errs := make(chan error, 4)
		for w := 0; w < 4; w++ {
			go func() {
				p := make([]byte, chunk)
				for off := range offs {
					if _, err := o.ReadAt(p, off); err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		for w := 0; w < 4; w++ {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
	}
}
