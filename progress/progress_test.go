package progress

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestPlainReportsStatusLines(t *testing.T) {
	var out syncBuf
	p := NewPlain(&out, 10*time.Millisecond)
	c := NewCounting(p)
	c.Plan(2, 300)
	a := c.Start(Job{Database: "shop", Name: "users", Docs: 200})
	b := c.Start(Job{Database: "shop", Name: "orders", Docs: 100})
	a.Add(150, 3<<20)
	b.Add(20, 1<<10)
	// wait for a status line (the ticker may be slow on a loaded machine)
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "running: shop/orders 20 docs") && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	a.Done(nil)
	b.Done(errors.New("boom"))
	b.Done(nil) // a second Done is ignored
	c.Close()
	s := out.String()
	for _, want := range []string{"# Dumping shop/users...", "# Dumping shop/orders...", "170 document(s) of ~300 (57%)", "running: shop/orders 20 docs, shop/users 150 docs", "# shop/orders failed after 20 document(s)"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	tt := c.Totals()
	if tt.Docs != 170 || tt.Bytes != 3<<20+1<<10 || tt.Finished != 1 || tt.Failed != 1 || tt.Jobs != 2 || tt.ExpectedDocs != 300 {
		t.Errorf("totals %+v", tt)
	}
	// nothing is printed after Close
	n := len(out.String())
	time.Sleep(30 * time.Millisecond)
	if len(out.String()) != n {
		t.Error("output after Close")
	}
}

func TestTerminalRunsAndCloses(t *testing.T) {
	var out syncBuf
	r := NewTerminal(&out)
	r.Plan(1, 10)
	tr := r.Start(Job{Name: "c", Docs: 10})
	tr.Add(12, 100) // more than expected must not stop the bar
	tr.Done(nil)
	r.Log("# a line")
	r.Close()
	if !strings.Contains(out.String(), "# a line") {
		t.Errorf("log line missing: %q", out.String())
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.50 KB", 5 << 20: "5.00 MB", 3 << 30: "3.00 GB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// The plain status line counts the planned jobs, not the ones started so far.
func TestPlainJobsTotalIsPlanned(t *testing.T) {
	var out syncBuf
	p := NewPlain(&out, 5*time.Millisecond)
	p.Plan(3, 30)
	a := p.Start(Job{Name: "a", Docs: 10})
	a.Add(4, 40)
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "job(s) done") && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	a.Done(nil)
	p.Close()
	if s := out.String(); !strings.Contains(s, "0 of 3 job(s) done") {
		t.Errorf("want 0 of 3 job(s) done:\n%s", s)
	}
}
