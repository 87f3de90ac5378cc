package arangotest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault injection. Rules match requests by method and path prefix and then answer with an
// ArangoDB error, delay the request, or cut the connection after K bytes of the response body.
// They are set through the library ((*Server).AddFault, ClearFaults, Faults) or through the
// reserved admin path /_arangotest/faults (see CONFORMANCE.md, "Replication, dump and restore").
// Firing is deterministic for a given Options.FaultSeed and request sequence, so a failing test
// can be replayed.

// Fault is one fault injection rule.
//
// Matching: Method ("" = any, case-insensitive) and PathPrefix ("" = any). The prefix is compared
// with the request path both as sent and with a leading /_db/{db} removed, so "/_api/dump/next"
// matches "/_db/shop/_api/dump/next/dump-1".
//
// When it fires:
//   - Nth > 0: matches 1..Nth-1 pass through; the rule fires on the Nth match. With Times == 0
//     it fires only there (once); with Times == k it fires on k consecutive eligible matches
//     starting at the Nth.
//   - Nth == 0: every match is eligible; Times == 0 means unlimited, Times == k at most k fires.
//   - Probability in (0,1): an eligible match fires with this probability, drawn from a random
//     source seeded with Options.FaultSeed and the rule id (0 or >= 1 = always).
//
// What it does, in this order:
//   - Delay > 0: sleeps (or until the client goes away).
//   - Status != 0: answers Status with the ArangoDB error body
//     {"code":Status,"error":true,"errorMessage":ErrorMessage,"errorNum":ErrorNum}
//     (ErrorNum 0 = Status; empty ErrorMessage = the status text). CutAfterBytes is ignored.
//   - CutAfterBytes >= 0 (and Status == 0): the request is served normally, but the connection
//     is cut (HTTP/1.1: closed; HTTP/2: stream reset) after that many bytes of the response
//     body have been sent. -1 = off. Note that 0 is meaningful (cut before the first body
//     byte): a rule that should only delay must set CutAfterBytes to -1.
//     With Stall, the connection is not cut there but held open, silent, until the client
//     gives up (a server that hangs half way through an answer).
//   - otherwise (delay only): the request is then served normally.
type Fault struct {
	Method        string        `json:"method,omitempty"`
	PathPrefix    string        `json:"pathPrefix,omitempty"`
	Nth           int           `json:"nth,omitempty"`
	Probability   float64       `json:"probability,omitempty"`
	Times         int           `json:"times,omitempty"`
	Status        int           `json:"status,omitempty"`
	ErrorNum      int           `json:"errorNum,omitempty"`
	ErrorMessage  string        `json:"errorMessage,omitempty"`
	Delay         time.Duration `json:"-"`
	CutAfterBytes int           `json:"cutAfterBytes"`
	Stall         bool          `json:"stall,omitempty"`
}

// FaultInfo describes an installed rule and how often it matched and fired.
type FaultInfo struct {
	ID      int   `json:"id"`
	Fault   Fault `json:"fault"`
	Matched int   `json:"matched"`
	Fired   int   `json:"fired"`
}

type faultRule struct {
	id      int
	f       Fault
	rng     *rand.Rand
	matched int
	fired   int
}

// faultState holds the fault injection rules of one server.
type faultState struct {
	mu     sync.Mutex
	seed   int64
	nextID int
	rules  []*faultRule
}

func newFaultState(s *Server, opts Options) *faultState {
	return &faultState{seed: opts.FaultSeed}
}

// AddFault installs a fault injection rule and returns its id.
func (s *Server) AddFault(f Fault) int { return s.faults.add(f) }

// RemoveFault removes one rule; it reports whether the rule existed.
func (s *Server) RemoveFault(id int) bool { return s.faults.remove(id) }

// ClearFaults removes every fault injection rule.
func (s *Server) ClearFaults() { s.faults.clear() }

// Faults lists the installed rules with their match and fire counts.
func (s *Server) Faults() []FaultInfo { return s.faults.list() }

func (fs *faultState) add(f Fault) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.nextID++
	id := fs.nextID
	// One random source per rule, so that the draws of one rule do not depend on how often
	// other rules matched.
	src := rand.NewSource(fs.seed*1000003 + int64(id))
	fs.rules = append(fs.rules, &faultRule{id: id, f: f, rng: rand.New(src)})
	return id
}

func (fs *faultState) remove(id int) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, r := range fs.rules {
		if r.id == id {
			fs.rules = append(fs.rules[:i], fs.rules[i+1:]...)
			return true
		}
	}
	return false
}

func (fs *faultState) clear() {
	fs.mu.Lock()
	fs.rules = nil
	fs.mu.Unlock()
}

func (fs *faultState) list() []FaultInfo {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := make([]FaultInfo, 0, len(fs.rules))
	for _, r := range fs.rules {
		out = append(out, FaultInfo{ID: r.id, Fault: r.f, Matched: r.matched, Fired: r.fired})
	}
	return out
}

// stripDBPrefix removes a leading /_db/{name} from p.
func stripDBPrefix(p string) string {
	if !strings.HasPrefix(p, "/_db/") {
		return p
	}
	rest := p[len("/_db/"):]
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[i:]
	}
	return "/"
}

func (r *faultRule) matches(method, path, stripped string) bool {
	if r.f.Method != "" && !strings.EqualFold(r.f.Method, method) {
		return false
	}
	if r.f.PathPrefix == "" {
		return true
	}
	return strings.HasPrefix(path, r.f.PathPrefix) || strings.HasPrefix(stripped, r.f.PathPrefix)
}

// decide counts the match and reports whether the rule fires now. Called with fs.mu held.
func (r *faultRule) decide() bool {
	r.matched++
	f := r.f
	if f.Nth > 0 {
		if r.matched < f.Nth {
			return false
		}
		limit := f.Times
		if limit <= 0 {
			limit = 1
		}
		if r.fired >= limit {
			return false
		}
	} else if f.Times > 0 && r.fired >= f.Times {
		return false
	}
	if f.Probability > 0 && f.Probability < 1 {
		if r.rng.Float64() >= f.Probability {
			return false
		}
	}
	r.fired++
	return true
}

// pick returns the first rule that fires for this request (every matching rule counts the match).
func (fs *faultState) pick(method, path string) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if len(fs.rules) == 0 {
		return Fault{}, false
	}
	stripped := stripDBPrefix(path)
	var chosen Fault
	found := false
	for _, r := range fs.rules {
		if !r.matches(method, path, stripped) {
			continue
		}
		if r.decide() && !found {
			chosen, found = r.f, true
		}
	}
	return chosen, found
}

const faultAdminPath = "/_arangotest/faults"

// wrap returns next wrapped with fault injection; it is the outermost handler.
func (fs *faultState) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == faultAdminPath || strings.HasPrefix(r.URL.Path, faultAdminPath+"/") {
			fs.serveAdmin(w, r)
			return
		}
		f, ok := fs.pick(r.Method, r.URL.Path)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		if f.Delay > 0 {
			t := time.NewTimer(f.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if f.Status != 0 {
			writeFaultError(w, f.Status, f.ErrorNum, f.ErrorMessage)
			return
		}
		if f.CutAfterBytes >= 0 {
			cw := &cutWriter{ResponseWriter: w, left: f.CutAfterBytes}
			if f.Stall {
				cw.stall = r.Context().Done()
			}
			next.ServeHTTP(cw, r)
			// The handler finished before reaching the limit: cut anyway, so that the client
			// never sees a complete response from a cut rule.
			cw.cut()
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeFaultError(w http.ResponseWriter, status, errorNum int, msg string) {
	if errorNum == 0 {
		errorNum = status
	}
	if msg == "" {
		msg = strings.ToLower(http.StatusText(status))
		if msg == "" {
			msg = "injected fault"
		}
	}
	body, _ := json.Marshal(struct {
		Code         int    `json:"code"`
		Error        bool   `json:"error"`
		ErrorMessage string `json:"errorMessage"`
		ErrorNum     int    `json:"errorNum"`
	}{status, true, msg, errorNum})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// cutWriter passes through the first `left` body bytes, flushes them, and then aborts the
// response, which makes net/http close the HTTP/1.1 connection or reset the HTTP/2 stream.
type cutWriter struct {
	http.ResponseWriter
	left        int
	wroteHeader bool
	stall       <-chan struct{} // when set, wait for it (the client gone) instead of cutting at once
}

func (c *cutWriter) WriteHeader(code int) {
	c.wroteHeader = true
	c.ResponseWriter.WriteHeader(code)
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if !c.wroteHeader {
		c.WriteHeader(http.StatusOK)
	}
	if len(p) <= c.left {
		c.left -= len(p)
		return c.ResponseWriter.Write(p)
	}
	if c.left > 0 {
		_, _ = c.ResponseWriter.Write(p[:c.left])
		c.left = 0
	}
	c.cut()
	return 0, http.ErrAbortHandler // not reached
}

func (c *cutWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (c *cutWriter) cut() {
	if !c.wroteHeader {
		c.WriteHeader(http.StatusOK)
	}
	c.Flush()
	if c.stall != nil {
		<-c.stall
	}
	panic(http.ErrAbortHandler)
}

// faultJSON is the admin-path form of Fault: delay as a Go duration string ("150ms") or as
// delayMs; cutAfterBytes absent = -1 (off).
type faultJSON struct {
	Method        string   `json:"method"`
	PathPrefix    string   `json:"pathPrefix"`
	Nth           int      `json:"nth"`
	Probability   float64  `json:"probability"`
	Times         int      `json:"times"`
	Status        int      `json:"status"`
	ErrorNum      int      `json:"errorNum"`
	ErrorMessage  string   `json:"errorMessage"`
	Delay         string   `json:"delay"`
	DelayMs       *float64 `json:"delayMs"`
	CutAfterBytes *int     `json:"cutAfterBytes"`
	Stall         bool     `json:"stall"`
}

func (fj faultJSON) toFault() (Fault, error) {
	f := Fault{Method: fj.Method, PathPrefix: fj.PathPrefix, Nth: fj.Nth, Probability: fj.Probability,
		Times: fj.Times, Status: fj.Status, ErrorNum: fj.ErrorNum, ErrorMessage: fj.ErrorMessage, CutAfterBytes: -1, Stall: fj.Stall}
	if fj.Delay != "" {
		d, err := time.ParseDuration(fj.Delay)
		if err != nil {
			return f, fmt.Errorf("bad delay %q: %w", fj.Delay, err)
		}
		f.Delay = d
	}
	if fj.DelayMs != nil {
		f.Delay = time.Duration(*fj.DelayMs * float64(time.Millisecond))
	}
	if fj.CutAfterBytes != nil {
		f.CutAfterBytes = *fj.CutAfterBytes
	}
	if f.Nth < 0 || f.Times < 0 || f.Probability < 0 || f.Delay < 0 {
		return f, fmt.Errorf("nth, times, probability and delay must not be negative")
	}
	if f.Status != 0 && (f.Status < 100 || f.Status > 599) {
		return f, fmt.Errorf("status %d is not an HTTP status", f.Status)
	}
	return f, nil
}

// MarshalJSON writes the admin-path form (delay as a duration string).
func (f Fault) MarshalJSON() ([]byte, error) {
	type plain Fault
	return json.Marshal(struct {
		plain
		Delay string `json:"delay,omitempty"`
	}{plain(f), durString(f.Delay)})
}

func durString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// serveAdmin implements the reserved admin path:
//
//	POST   /_arangotest/faults        body: one rule (faultJSON) or an array of rules → 201 {"ids":[..]}
//	GET    /_arangotest/faults        → 200 {"faults":[{id, fault, matched, fired}]}
//	DELETE /_arangotest/faults        → 200 {"removed":n} (all rules)
//	DELETE /_arangotest/faults/{id}   → 200 {"removed":1} or 404
func (fs *faultState) serveAdmin(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, faultAdminPath), "/")
	switch {
	case r.Method == http.MethodGet && rest == "":
		writeAdminJSON(w, http.StatusOK, map[string]any{"faults": fs.list()})
	case r.Method == http.MethodPost && rest == "":
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, 1<<20)); err != nil {
			writeFaultError(w, http.StatusBadRequest, 400, "cannot read body: "+err.Error())
			return
		}
		body := bytes.TrimSpace(buf.Bytes())
		var specs []faultJSON
		if len(body) > 0 && body[0] == '[' {
			if err := json.Unmarshal(body, &specs); err != nil {
				writeFaultError(w, http.StatusBadRequest, 600, "invalid JSON: "+err.Error())
				return
			}
		} else {
			var one faultJSON
			if err := json.Unmarshal(body, &one); err != nil {
				writeFaultError(w, http.StatusBadRequest, 600, "invalid JSON: "+err.Error())
				return
			}
			specs = append(specs, one)
		}
		faults := make([]Fault, 0, len(specs))
		for i, sp := range specs {
			f, err := sp.toFault()
			if err != nil {
				writeFaultError(w, http.StatusBadRequest, 400, fmt.Sprintf("fault %d: %v", i, err))
				return
			}
			faults = append(faults, f)
		}
		ids := make([]int, 0, len(faults))
		for _, f := range faults {
			ids = append(ids, fs.add(f))
		}
		writeAdminJSON(w, http.StatusCreated, map[string]any{"ids": ids})
	case r.Method == http.MethodDelete && rest == "":
		fs.mu.Lock()
		n := len(fs.rules)
		fs.rules = nil
		fs.mu.Unlock()
		writeAdminJSON(w, http.StatusOK, map[string]any{"removed": n})
	case r.Method == http.MethodDelete:
		id, err := strconv.Atoi(rest)
		if err != nil || !fs.remove(id) {
			writeFaultError(w, http.StatusNotFound, 404, "fault rule not found: "+rest)
			return
		}
		writeAdminJSON(w, http.StatusOK, map[string]any{"removed": 1})
	case rest == "" || r.Method == http.MethodGet || r.Method == http.MethodPost:
		writeFaultError(w, http.StatusMethodNotAllowed, 405, "method not supported")
	default:
		writeFaultError(w, http.StatusNotFound, 404, "unknown path '"+r.URL.Path+"'")
	}
}

func writeAdminJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
