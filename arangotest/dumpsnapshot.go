package arangotest

// One snapshot of several collections at once, for a parallel dump context.
//
// RocksDBDumpContext's constructor (ddb-old/RocksDBEngine/RocksDBDumpContext.cpp) takes one
// rocksdb::ManagedSnapshot and reads every shard of the context through it, so a context sees
// all its shards at the same sequence number: documents written to two collections by one
// committed transaction appear in both or in neither. Here a collection's documents are guarded
// by its own lock (Collection.mu), and Collection.Snapshot copies one collection at a time, so
// calling it in a loop gives every shard a different point in time.
//
// snapshotCollections holds the read locks of all the collections at once (taken in id order,
// so two snapshots cannot deadlock) and copies them while no single-collection write can run:
// every collection's state at the moment the last lock is taken is the state copied.
//
// A write that spans collections (a stream transaction's commit, which arangotest applies one
// collection after the other where RocksDB commits one write batch) is atomic for dump
// snapshots only if it runs inside writeAtomically: the snapshot takes the store's snapshot gate
// exclusively, such writes share it. Server.Atomically exposes the gate to tests whose writers
// must look atomic to a dump; the commit of a stream transaction takes it (trx.go).

import (
	"cmp"
	"slices"
)

// writeAtomically runs fn so that no dump snapshot of this store sees part of its writes: fn
// runs while no snapshot is being taken, and a snapshot waits until fn has returned. fn must
// not start a dump context itself. Writes of one collection need no gate (the snapshot holds
// every collection's lock at once); a commit that applies staged writes to several collections
// (streamTrx.commit in trx.go) needs it to be the atomic unit RocksDB makes of it.
func (st *Store) writeAtomically(fn func()) {
	st.snapGate.RLock()
	defer st.snapGate.RUnlock()
	fn()
}

// Atomically runs fn so that no parallel dump context (/_api/dump/start) started meanwhile
// sees part of what fn writes: a context's snapshot waits for fn to return, and fn waits for a
// snapshot being taken. Tests use it around writes to several collections (a stream
// transaction over HTTP, or several requests) that must look like one atomic commit to a dump,
// as one RocksDB transaction does on a real server. fn must not start a dump context, nor
// commit a stream transaction (its commit takes the gate itself: a snapshot waiting between
// the two would deadlock them).
func (s *Server) Atomically(fn func()) { s.store.writeAtomically(fn) }

// snapshotCollections returns the documents of every collection of colls (duplicates allowed)
// in storage order, all from one point in time.
func (st *Store) snapshotCollections(colls []*Collection) [][]*Doc {
	st.snapGate.Lock()
	defer st.snapGate.Unlock()
	// Each collection once (a read lock taken twice by one goroutine can deadlock against a
	// waiting writer), in id order. Snapshots are serialized by the gate, so the order only
	// has to be deterministic.
	seen := make(map[*Collection]bool, len(colls))
	uniq := make([]*Collection, 0, len(colls))
	for _, c := range colls {
		if !seen[c] {
			seen[c] = true
			uniq = append(uniq, c)
		}
	}
	slices.SortStableFunc(uniq, func(a, b *Collection) int { return cmp.Compare(a.ID, b.ID) })
	for _, c := range uniq {
		c.mu.RLock()
	}
	copies := make(map[*Collection][]*Doc, len(uniq))
	for _, c := range uniq {
		out := make([]*Doc, 0, len(c.docs))
		for _, d := range c.order {
			if d != nil {
				out = append(out, d)
			}
		}
		copies[c] = out
	}
	for _, c := range uniq {
		c.mu.RUnlock()
	}
	docs := make([][]*Doc, len(colls))
	for i, c := range colls {
		docs[i] = copies[c]
	}
	return docs
}
