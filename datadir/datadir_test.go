package datadir

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// TestMain lets the test binary act as a lock-holding subprocess:
// DATADIR_TEST_HOLD=<mode>:<dir> holds the lock until stdin closes.
// mode "datadir" uses Lock; mode "arangod" mimics arangod exactly
// (traditional F_SETLK on a file holding the pid).
func TestMain(m *testing.M) {
	if spec := os.Getenv("DATADIR_TEST_HOLD"); spec != "" {
		os.Exit(hold(spec))
	}
	os.Exit(m.Run())
}

func hold(spec string) int {
	mode, dir := spec[:7], spec[8:]
	switch mode {
	case "datadir":
		l, err := Lock(dir)
		if err != nil {
			os.Stderr.WriteString(err.Error())
			return 1
		}
		defer l.Unlock()
	case "arangod":
		f, err := os.OpenFile(filepath.Join(dir, LockFileName), os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
		if err != nil {
			os.Stderr.WriteString(err.Error())
			return 1
		}
		f.WriteString(strconv.Itoa(os.Getpid()))
		lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
		if err := unix.FcntlFlock(f.Fd(), unix.F_SETLK, &lk); err != nil {
			os.Stderr.WriteString(err.Error())
			return 1
		}
		defer f.Close()
	}
	os.Stdout.WriteString("ready\n")
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// startHolder runs a subprocess holding the lock; the returned func ends it.
func startHolder(t *testing.T, mode, dir string) (pid int, stop func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "DATADIR_TEST_HOLD="+mode+":"+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("holder did not start: %q %v", line, err)
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("holder: %v", err)
		}
	}
	t.Cleanup(stop)
	return cmd.Process.Pid, stop
}

func TestLockUnlockInProcess(t *testing.T) {
	dir := t.TempDir()
	if locked, _, err := IsLocked(dir); err != nil || locked {
		t.Fatalf("fresh dir: locked=%v err=%v", locked, err)
	}
	l, err := Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "LOCK"))
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != strconv.Itoa(os.Getpid()) {
		t.Errorf("LOCK holds %q, want our pid %d", data, os.Getpid())
	}
	st, _ := os.Stat(filepath.Join(dir, "LOCK"))
	if st.Mode().Perm() != 0o600 {
		t.Errorf("LOCK mode %v, want 0600", st.Mode().Perm())
	}
	locked, pid, err := IsLocked(dir)
	if err != nil || !locked || pid != os.Getpid() {
		t.Fatalf("IsLocked = %v %d %v, want true %d", locked, pid, err, os.Getpid())
	}
	// A second Lock in the same process must fail.
	if _, err := Lock(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Lock: %v, want ErrLocked", err)
	}
	// IsLocked must not have dropped the lock: a subprocess must still fail.
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "DATADIR_TEST_HOLD=datadir:"+dir)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("subprocess took the lock we hold: %s", out)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "LOCK")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LOCK not removed on Unlock: %v", err)
	}
	if err := l.Unlock(); err != nil {
		t.Errorf("second Unlock: %v", err)
	}
	l2, err := Lock(dir)
	if err != nil {
		t.Fatalf("relock: %v", err)
	}
	l2.Unlock()
}

func TestStaleLockFileIsReplaced(t *testing.T) {
	dir := t.TempDir()
	// A LOCK left by a crashed server: a pid, but no lock held.
	if err := os.WriteFile(filepath.Join(dir, "LOCK"), []byte("999999"), 0o600); err != nil {
		t.Fatal(err)
	}
	if locked, _, err := IsLocked(dir); err != nil || locked {
		t.Fatalf("stale LOCK reported locked=%v err=%v", locked, err)
	}
	l, err := Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	data, _ := os.ReadFile(filepath.Join(dir, "LOCK"))
	if string(data) != strconv.Itoa(os.Getpid()) {
		t.Errorf("LOCK holds %q after replacing a stale one", data)
	}
}

func TestLockedByOtherProcess(t *testing.T) {
	for _, mode := range []string{"datadir", "arangod"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			pid, stop := startHolder(t, mode, dir)
			locked, gotPID, err := IsLocked(dir)
			if err != nil || !locked {
				t.Fatalf("IsLocked = %v %v, want locked", locked, err)
			}
			if gotPID != pid {
				t.Errorf("IsLocked pid = %d, want %d", gotPID, pid)
			}
			_, err = Lock(dir)
			var le *LockedError
			if !errors.As(err, &le) || le.PID != pid {
				t.Fatalf("Lock = %v, want LockedError with pid %d", err, pid)
			}
			// Probing must not have removed or rewritten the holder's file.
			data, _ := os.ReadFile(filepath.Join(dir, "LOCK"))
			if string(data) != strconv.Itoa(pid) {
				t.Errorf("LOCK content %q changed", data)
			}
			stop()
			if locked, _, err := IsLocked(dir); err != nil || locked {
				t.Fatalf("after holder exit: locked=%v err=%v", locked, err)
			}
			l, err := Lock(dir)
			if err != nil {
				t.Fatalf("Lock after holder exit: %v", err)
			}
			l.Unlock()
		})
	}
}

func TestLockMissingDir(t *testing.T) {
	if _, err := Lock(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Fatal("Lock on a missing directory succeeded")
	}
}
