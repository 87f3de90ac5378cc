package restore

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestContinueFileIsPrivate: continue.json is 0600 whatever the umask (issue 12 point 13).
func TestContinueFileIsPrivate(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := t.TempDir()
	cf, err := loadContinueFile(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := cf.setState("db.users", 1); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, ContinueFileName))
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Fatalf("continue.json has mode %04o, want 0600", m)
	}
}
