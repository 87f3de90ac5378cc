package arangotest

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

func TestFaultStatusOnNthMatch(t *testing.T) {
	s := rtServer(t, Options{})
	id := s.AddFault(Fault{Method: "GET", PathPrefix: "/_api/replication/logger-state", Nth: 2,
		Status: 503, ErrorNum: 1478, ErrorMessage: "injected", CutAfterBytes: -1})
	if id <= 0 {
		t.Fatalf("AddFault id %d", id)
	}
	var statuses []int
	for i := 0; i < 4; i++ {
		r := rtDo(t, s, "GET", "/_db/_system/_api/replication/logger-state", nil)
		statuses = append(statuses, r.status)
		if r.status == 503 {
			m := r.json(t)
			if m["errorNum"] != float64(1478) || m["errorMessage"] != "injected" || m["error"] != true || m["code"] != float64(503) {
				t.Fatalf("fault body %s", r.body)
			}
		}
	}
	if fmt.Sprint(statuses) != "[200 503 200 200]" {
		t.Fatalf("statuses %v, want only the 2nd request to fail", statuses)
	}
	// Other methods and paths never match.
	rtStatus(t, rtDo(t, s, "GET", "/_api/version", nil), 200, "other path")
	info := s.Faults()
	if len(info) != 1 || info[0].Matched != 4 || info[0].Fired != 1 {
		t.Fatalf("fault info %+v", info)
	}
	// Nth with Times fires on consecutive matches.
	s.ClearFaults()
	s.AddFault(Fault{PathPrefix: "/_api/version", Nth: 2, Times: 2, Status: 500, CutAfterBytes: -1})
	statuses = nil
	for i := 0; i < 5; i++ {
		statuses = append(statuses, rtDo(t, s, "GET", "/_api/version", nil).status)
	}
	if fmt.Sprint(statuses) != "[200 500 500 200 200]" {
		t.Fatalf("Nth=2 Times=2: %v", statuses)
	}
	s.ClearFaults()
	rtStatus(t, rtDo(t, s, "GET", "/_api/version", nil), 200, "after ClearFaults")
}

func TestFaultDelay(t *testing.T) {
	s := rtServer(t, Options{})
	s.AddFault(Fault{PathPrefix: "/_api/version", Delay: 300 * time.Millisecond, CutAfterBytes: -1, Times: 1})
	start := time.Now()
	r := rtDo(t, s, "GET", "/_api/version", nil)
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Fatalf("delayed request took %v", el)
	}
	rtStatus(t, r, 200, "delayed request is then served")
	start = time.Now()
	rtDo(t, s, "GET", "/_api/version", nil)
	if el := time.Since(start); el > 250*time.Millisecond {
		t.Fatalf("Times=1 delay fired again (%v)", el)
	}
}

func TestFaultCutAfterBytes(t *testing.T) {
	s := rtServer(t, Options{})
	c := rtColl(t, s, "big", 2)
	for i := 0; i < 200; i++ {
		rtPut(t, c, fmt.Sprintf(`{"_key":"k%d","pad":"%s"}`, i, strings.Repeat("z", 100)))
	}
	id := rtStartDump(t, s, `{"shards":["big"],"batchSize":100000}`, "")
	s.AddFault(Fault{Method: "POST", PathPrefix: "/_api/dump/next", Nth: 1, CutAfterBytes: 1000})

	for _, h2 := range []bool{false} {
		_ = h2
		req, _ := http.NewRequest("POST", s.Endpoint()+"/_api/dump/next/"+id+"?batchId=1", nil)
		res, err := rtClient.Do(req)
		if err != nil {
			t.Fatalf("request: %v", err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err == nil {
			t.Fatalf("cut response read completely (%d bytes)", len(body))
		}
		if !errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(err.Error(), "EOF") && !strings.Contains(err.Error(), "reset") {
			t.Logf("cut error: %v", err)
		}
		if len(body) != 1000 {
			t.Fatalf("got %d body bytes before the cut, want 1000", len(body))
		}
	}
	// The retry of the same batch id gets the full batch, whose first 1000 bytes match.
	r := rtDo(t, s, "POST", "/_api/dump/next/"+id+"?batchId=1", nil)
	rtStatus(t, r, 200, "retry after cut")
	if len(rtLines(t, r.body)) != 200 {
		t.Fatalf("retry returned %d documents", len(rtLines(t, r.body)))
	}
}

// faultPattern returns which of n requests failed under a probability rule.
func rtFaultPattern(t *testing.T, seed int64, n int) string {
	s := rtServer(t, Options{FaultSeed: seed})
	s.AddFault(Fault{PathPrefix: "/_api/version", Probability: 0.5, Status: 503, CutAfterBytes: -1})
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		if rtDo(t, s, "GET", "/_api/version", nil).status == 503 {
			b.WriteByte('x')
		} else {
			b.WriteByte('.')
		}
	}
	return b.String()
}

func TestFaultProbabilitySeedReplay(t *testing.T) {
	p1 := rtFaultPattern(t, 42, 40)
	p2 := rtFaultPattern(t, 42, 40)
	if p1 != p2 {
		t.Fatalf("same seed, different pattern:\n%s\n%s", p1, p2)
	}
	fails := strings.Count(p1, "x")
	if fails < 8 || fails > 32 {
		t.Fatalf("probability 0.5 failed %d of 40: %s", fails, p1)
	}
	if p3 := rtFaultPattern(t, 7, 40); p3 == p1 {
		t.Fatalf("different seeds gave the same pattern %s", p1)
	}
}

func TestFaultAdminPath(t *testing.T) {
	s := rtServer(t, Options{})
	r := rtDo(t, s, "POST", "/_arangotest/faults",
		[]byte(`{"method":"GET","pathPrefix":"/_api/version","nth":1,"status":500,"errorNum":4,"errorMessage":"boom"}`))
	rtStatus(t, r, 201, "add fault")
	r = rtDo(t, s, "GET", "/_api/version", nil)
	if r.status != 500 || !strings.Contains(string(r.body), "boom") {
		t.Fatalf("admin-path fault did not fire: %d %s", r.status, r.body)
	}
	rtStatus(t, rtDo(t, s, "GET", "/_api/version", nil), 200, "nth=1 fires once")
	r = rtDo(t, s, "POST", "/_arangotest/faults", []byte(`[{"pathPrefix":"/_api/version","delay":"10ms"},{"pathPrefix":"/x","cutAfterBytes":0}]`))
	rtStatus(t, r, 201, "add two faults")
	r = rtDo(t, s, "GET", "/_arangotest/faults", nil)
	rtStatus(t, r, 200, "list faults")
	m := r.json(t)
	list, _ := m["faults"].([]any)
	if len(list) != 3 {
		t.Fatalf("listed %d faults: %s", len(list), r.body)
	}
	if !strings.Contains(string(r.body), `"delay":"10ms"`) {
		t.Fatalf("delay not listed: %s", r.body)
	}
	// delay-only rule from the admin path does not cut (cutAfterBytes defaults to -1)
	rtStatus(t, rtDo(t, s, "GET", "/_api/version", nil), 200, "delay-only rule")
	rtStatus(t, rtDo(t, s, "DELETE", "/_arangotest/faults/1", nil), 200, "delete one")
	r = rtDo(t, s, "DELETE", "/_arangotest/faults/1", nil)
	rtStatus(t, r, 404, "delete missing")
	rtStatus(t, rtDo(t, s, "DELETE", "/_arangotest/faults", nil), 200, "delete all")
	if len(s.Faults()) != 0 {
		t.Fatal("faults left after DELETE")
	}
	r = rtDo(t, s, "POST", "/_arangotest/faults", []byte(`{"status":42}`))
	rtStatus(t, r, 400, "bad status")
	r = rtDo(t, s, "POST", "/_arangotest/faults", []byte(`{"delay":"soon"}`))
	rtStatus(t, r, 400, "bad delay")
}

// TestFaultCutAfterBytesHTTP2 checks the cut over cleartext HTTP/2 (the driver's "HTTP2 JSON"
// mode): the stream is reset after K bytes and the connection stays usable.
func TestFaultCutAfterBytesHTTP2(t *testing.T) {
	s := rtServer(t, Options{})
	c := rtColl(t, s, "big", 2)
	for i := 0; i < 100; i++ {
		rtPut(t, c, fmt.Sprintf(`{"_key":"k%d","pad":"%s"}`, i, strings.Repeat("z", 100)))
	}
	batch := rtBatch(t, s)
	s.AddFault(Fault{PathPrefix: "/_api/replication/dump", Nth: 1, CutAfterBytes: 500})
	h2 := &http.Client{Transport: &http2.Transport{AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}}}
	url := s.Endpoint() + "/_api/replication/dump?collection=big&useEnvelope=false&batchId=" + batch
	res, err := h2.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	if res.ProtoMajor != 2 {
		t.Fatalf("not HTTP/2: %s", res.Proto)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err == nil || len(body) != 500 {
		t.Fatalf("HTTP/2 cut: read %d bytes, err %v", len(body), err)
	}
	res, err = h2.Get(s.Endpoint() + "/_api/version")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("connection unusable after the stream reset: %v", err)
	}
	res.Body.Close()
}
