package physical

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestBackupOwnModes: under umask 000 the backup directory and its manifest are the owner's
// only (0700, 0600); the copied data directory keeps its own modes (compared by
// TestBackupRestoreRoundTrip), which restoring it must give back.
func TestBackupOwnModes(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	tmp := t.TempDir()
	src := filepath.Join(tmp, "data")
	makeDataDir(t, src)
	out := filepath.Join(tmp, "backup")
	if _, err := Backup(context.Background(), BackupOptions{DataDirs: []string{src}, Output: out}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{out: 0o700, filepath.Join(out, ManifestName): 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", p, fi.Mode().Perm(), want)
		}
	}
}
