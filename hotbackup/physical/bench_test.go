package physical

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkBackupRestore copies a 64 MB data directory of 64 files and
// restores it (verify + copy); MB/s counts the data directory's bytes.
func BenchmarkBackupRestore(b *testing.B) {
	src := filepath.Join(b.TempDir(), "data")
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i * 31)
	}
	for i := 0; i < 64; i++ {
		p := filepath.Join(src, fmt.Sprintf("engine-rocksdb/%06d.sst", i))
		os.MkdirAll(filepath.Dir(p), 0o700)
		buf[0] = byte(i)
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for _, link := range []bool{false, true} {
		b.Run(fmt.Sprintf("link=%v", link), func(b *testing.B) {
			b.SetBytes(64 << 20)
			for i := 0; i < b.N; i++ {
				tmp := b.TempDir()
				out := filepath.Join(tmp, "backup")
				if _, err := Backup(context.Background(), BackupOptions{DataDirs: []string{src}, Output: out, Link: link}); err != nil {
					b.Fatal(err)
				}
				if _, err := Restore(context.Background(), RestoreOptions{Input: out, DataDirs: []string{filepath.Join(tmp, "restored")}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
