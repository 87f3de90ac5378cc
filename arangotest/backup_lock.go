package arangotest

// The global write transaction lock of hot backups (the seed document's "Global Write
// Transaction Lock"; arangod: transaction::Manager::holdTransactions over _hotbackupCommitLock).
//
// Every write takes a share of the lock: a single write request for as long as its handler
// runs, a stream transaction that declares write or exclusive collections from begin until
// commit or abort (so its staged writes are applied under the share it already holds). A hot
// backup takes the lock exclusively. While it tries (an attempt window), new writers wait, so a
// stream of short writes cannot starve it; if running write transactions do not finish within
// the window, it lets go for a moment so that waiting writes can proceed, and tries again with a
// window 10% longer, until its timeout is used up.
//
// The lock lives in the Store (Store.hb), so in cluster mode, where all Coordinators share one
// store, taking it stops writes on every DB-Server at the same time.
//
// Hooks in other files (each one line, delegating here):
//
//	store.go   Store.hb                       the state
//	server.go  serveHTTP: s.hbEnter(c)        a write request takes a share (or waits, or gets
//	                                          503 while the server "restarts" after a restore)
//	trx.go     begin: s.hbTrxBegin(c, t); commit/abort: st.hb.lock.leaveTrx(t.id)

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"
)

// globalWriteLock is a shared/exclusive lock whose exclusive side (a hot backup) blocks new
// sharers while it waits. The zero value is ready to use.
type globalWriteLock struct {
	mu        sync.Mutex
	shared    int             // write requests and write transactions holding a share
	trx       map[uint64]bool // the stream transactions among them
	exclusive bool            // a hot backup holds the lock
	pending   bool            // a hot backup is trying to get it: new sharers wait
	wake      chan struct{}   // closed (and replaced) on every change
	attempts  int             // attempt windows used by the last acquire (for tests)
}

// waitCh returns the channel closed at the next change. l.mu held.
func (l *globalWriteLock) waitCh() chan struct{} {
	if l.wake == nil {
		l.wake = make(chan struct{})
	}
	return l.wake
}

// changed wakes every waiter. l.mu held.
func (l *globalWriteLock) changed() {
	if l.wake != nil {
		close(l.wake)
		l.wake = nil
	}
}

// enter takes a share, waiting while a hot backup holds or wants the lock.
func (l *globalWriteLock) enter(ctx context.Context) error {
	l.mu.Lock()
	for l.exclusive || l.pending {
		ch := l.waitCh()
		l.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
		l.mu.Lock()
	}
	l.shared++
	l.mu.Unlock()
	return nil
}

// leave gives a share back.
func (l *globalWriteLock) leave() {
	l.mu.Lock()
	l.shared--
	l.changed()
	l.mu.Unlock()
}

// enterTrx takes a share for a stream transaction until leaveTrx.
func (l *globalWriteLock) enterTrx(ctx context.Context, id uint64) error {
	if err := l.enter(ctx); err != nil {
		return err
	}
	l.mu.Lock()
	if l.trx == nil {
		l.trx = map[uint64]bool{}
	}
	l.trx[id] = true
	l.mu.Unlock()
	return nil
}

// leaveTrx gives a transaction's share back; harmless if it holds none.
func (l *globalWriteLock) leaveTrx(id uint64) {
	l.mu.Lock()
	if l.trx[id] {
		delete(l.trx, id)
		l.shared--
		l.changed()
	}
	l.mu.Unlock()
}

// holdsTrx reports whether the transaction holds a share.
func (l *globalWriteLock) holdsTrx(id uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.trx[id]
}

// trxHolders returns the transactions holding a share.
func (l *globalWriteLock) trxHolders() []uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]uint64, 0, len(l.trx))
	for id := range l.trx {
		out = append(out, id)
	}
	return out
}

// tryExclusive tries to get the lock exclusively within one window. New sharers wait
// meanwhile; on failure they are let through again.
func (l *globalWriteLock) tryExclusive(ctx context.Context, window time.Duration) bool {
	deadline := time.NewTimer(window)
	defer deadline.Stop()
	l.mu.Lock()
	for l.exclusive || l.pending { // another backup or restore: wait for it within the window
		ch := l.waitCh()
		l.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			return false
		case <-ctx.Done():
			return false
		}
		l.mu.Lock()
	}
	l.pending = true
	for l.shared > 0 {
		ch := l.waitCh()
		l.mu.Unlock()
		ok := true
		select {
		case <-ch:
		case <-deadline.C:
			ok = false
		case <-ctx.Done():
			ok = false
		}
		l.mu.Lock()
		if !ok && l.shared > 0 {
			l.pending = false
			l.changed()
			l.mu.Unlock()
			return false
		}
	}
	l.pending = false
	l.exclusive = true
	l.changed()
	l.mu.Unlock()
	return true
}

// release gives the exclusive lock back.
func (l *globalWriteLock) release() {
	l.mu.Lock()
	l.exclusive = false
	l.changed()
	l.mu.Unlock()
}

// lockFirstWindow is the first attempt window; each further one is 10% longer.
const lockFirstWindow = 100 * time.Millisecond

// acquire gets the lock exclusively within timeout, in attempt windows growing by 10% with a
// short pause between them in which waiting writes proceed. It reports whether it got the
// lock and how many windows it used.
func (l *globalWriteLock) acquire(ctx context.Context, timeout time.Duration) (bool, int) {
	deadline := time.Now().Add(timeout)
	window := lockFirstWindow
	n := 0
	for {
		remain := time.Until(deadline)
		if remain <= 0 || ctx.Err() != nil {
			l.setAttempts(n)
			return false, n
		}
		w := window
		if w > remain {
			w = remain
		}
		n++
		if l.tryExclusive(ctx, w) {
			l.setAttempts(n)
			return true, n
		}
		window += window / 10
		pause := 5 * time.Millisecond
		if pause > time.Until(deadline) {
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
	}
}

func (l *globalWriteLock) setAttempts(n int) {
	l.mu.Lock()
	l.attempts = n
	l.mu.Unlock()
}

// --- hooks ---------------------------------------------------------------------------------

// readOnlyPOST lists request paths (after the /_db prefix) that change nothing although their
// method is not GET; they never wait for a hot backup's lock.
var readOnlyPaths = []string{
	"/_admin/backup", "/_open/", "/_api/cursor", "/_api/replication/batch", "/_api/dump",
	"/_api/explain", "/_api/query", "/_api/version", "/_admin/echo", "/_admin/server/",
	"/_api/transaction", // begin and commit are handled below, abort never waits
	"/_admin/log", "/_api/job", "/_admin/compact", "/_api/simple/lookup-by-keys",
}

// hbEnter is called for every request before its handler. It answers 503 while the server
// "restarts" after a hot backup restore, and makes a write wait for (and share) the global
// write transaction lock. The returned function is called when the handler is done.
func (s *Server) hbEnter(c *call) (func(), bool) {
	hb := s.store.backups()
	if hb.restarting() {
		c.error(503, 503, "service unavailable")
		return nil, false
	}
	if !s.isWriteRequest(c) {
		return func() {}, true
	}
	if err := hb.lock.enter(c.r.Context()); err != nil {
		c.error(503, 503, "request cancelled while waiting for the hot backup lock")
		return nil, false
	}
	return hb.lock.leave, true
}

// isWriteRequest tells whether a request may change data and so needs a share of the lock.
func (s *Server) isWriteRequest(c *call) bool {
	switch c.r.Method {
	case "GET", "HEAD", "OPTIONS":
		return false
	}
	p := c.path
	if strings.HasPrefix(p, "/_api/transaction/") && c.r.Method == "PUT" {
		// Commit: applies the staged writes. A write transaction already holds a share.
		id, _ := strconv.ParseUint(strings.TrimPrefix(p, "/_api/transaction/"), 10, 64)
		return id != 0 && !s.store.backups().lock.holdsTrx(id)
	}
	if p == "/_api/transaction" && c.r.Method == "POST" {
		return true // JavaScript transaction
	}
	for _, pre := range readOnlyPaths {
		if strings.HasPrefix(p, pre) {
			return false
		}
	}
	if c.header("x-arango-trx-id") != "" {
		return false // staged in the transaction; applied by its commit
	}
	if c.r.Method == "PUT" && strings.HasPrefix(p, "/_api/document/") && c.qbool("onlyget", false) {
		return false
	}
	return true
}

// hbTrxBegin makes a stream transaction with write or exclusive collections take a share of
// the lock (waiting while a hot backup holds it). It answers the request itself on failure.
func (s *Server) hbTrxBegin(c *call, t *streamTrx) bool {
	write := false
	for _, mode := range t.colls {
		if mode == "write" || mode == "exclusive" {
			write = true
		}
	}
	if !write {
		return true
	}
	if err := s.store.backups().lock.enterTrx(c.r.Context(), t.id); err != nil {
		c.error(503, 503, "request cancelled while waiting for the hot backup lock")
		return false
	}
	return true
}

// hbAsync wraps the handler of an async job (x-arango-async): it runs after the request has
// returned (and given its share back), so a write takes a share of its own while it runs.
func (s *Server) hbAsync(c *call, h func(c *call)) func(c *call) {
	if !s.isWriteRequest(c) {
		return h
	}
	return func(bc *call) {
		lock := &s.store.backups().lock
		if err := lock.enter(bc.r.Context()); err != nil {
			bc.error(503, 503, "request cancelled while waiting for the hot backup lock")
			return
		}
		defer lock.leave()
		h(bc)
	}
}
