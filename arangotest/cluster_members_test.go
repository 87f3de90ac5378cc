package arangotest

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// Every server /_admin/cluster/health lists has a reachable endpoint that answers
// availability, role and id; after a hot backup restore the DB-Servers are unavailable while the
// cluster "restarts", then available again, and the data is the backup's.
func TestClusterMemberEndpoints(t *testing.T) {
	cl := clStart(t, 2, 3)
	cl.state.store.backups().restartDelay.Store(int64(time.Second))
	ep := cl.Endpoints()[0]
	st, _, m, raw := clDo(t, "GET", ep+"/_admin/cluster/health", nil)
	if st != 200 {
		t.Fatalf("health: %d %s", st, raw)
	}
	health := m["Health"].(map[string]any)
	if len(health) != 2+3+1 {
		t.Fatalf("health lists %d servers: %s", len(health), raw)
	}
	seen := map[string]int{}
	members := cl.MemberEndpoints()
	for id, v := range health {
		h := v.(map[string]any)
		e := h["Endpoint"].(string)
		if !strings.HasPrefix(e, "tcp://") || strings.HasSuffix(e, ":0") {
			t.Fatalf("%s endpoint %q", id, e)
		}
		url := "http://" + strings.TrimPrefix(e, "tcp://")
		if st, _, _, raw := clDo(t, "GET", url+"/_admin/server/availability", nil); st != 200 {
			t.Fatalf("%s (%s) availability: %d %s", id, e, st, raw)
		}
		role := h["Role"].(string)
		seen[role]++
		if role == "Coordinator" {
			continue
		}
		if members[id] != e {
			t.Fatalf("MemberEndpoints()[%s] = %q, health says %q", id, members[id], e)
		}
		want := map[string]string{"DBServer": "PRIMARY", "Agent": "AGENT"}[role]
		if _, _, r, raw := clDo(t, "GET", url+"/_admin/server/role", nil); r["role"] != want {
			t.Fatalf("%s role: %s, want %s", id, raw, want)
		}
		if _, _, r, raw := clDo(t, "GET", url+"/_admin/server/id", nil); r["id"] != id {
			t.Fatalf("%s id: %s", id, raw)
		}
		if st, _, _, _ := clDo(t, "GET", url+"/_api/collection", nil); st != 404 {
			t.Fatalf("%s answers data requests: %d", id, st)
		}
	}
	if seen["Coordinator"] != 2 || seen["DBServer"] != 3 || seen["Agent"] != 1 {
		t.Fatalf("roles %v", seen)
	}

	// Hot backup restore: the DB-Servers go away for the restart and come back.
	clSeed(t, ep, "books", nil, 3)
	id := hbBackup(t, ep, map[string]any{})
	clSeed(t, ep, "later", nil, 1)
	if r := hbDo(t, ep, "POST", "/_admin/backup/restore", map[string]any{"id": id}); r.status != 200 {
		t.Fatalf("restore: %d %s", r.status, r.body)
	}
	var dbserver string
	for sid, e := range members {
		if strings.HasPrefix(sid, "PRMR-") {
			dbserver = "http://" + strings.TrimPrefix(e, "tcp://")
			break
		}
	}
	if !waitAvailable(t, dbserver) {
		t.Fatal("DB-Server was never unavailable during the restart")
	}
	waitAvailable(t, ep)
	st, _, m, raw = clDo(t, "GET", ep+"/_api/collection/books/count", nil)
	if st != 200 || m["count"] != float64(3) {
		t.Fatalf("books after restore: %d %s", st, raw)
	}
	if st, _, _, _ := clDo(t, "GET", ep+"/_api/collection/later", nil); st != 404 {
		t.Fatalf("collection created after the backup survives the restore: %d", st)
	}
	// The driver speaks HTTP/2 (h2c, prior knowledge) to them too.
	h2 := &http.Client{Transport: &http2.Transport{AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}}
	resp, err := h2.Get(dbserver + "/_admin/server/availability")
	if err != nil {
		t.Fatalf("h2c availability: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Fatalf("h2c availability: %d over %s", resp.StatusCode, resp.Proto)
	}
	if err := cl.Close(); err != nil {
		t.Fatal(err)
	}
	for _, e := range members {
		if st, err := httpGetStatus("http://" + strings.TrimPrefix(e, "tcp://") + "/_admin/server/availability"); err == nil {
			t.Fatalf("%s still answers after Close: %d", e, st)
		}
	}
}

func httpGetStatus(url string) (int, error) {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
