package seed

import (
	"os"
	"runtime/debug"
	"sync"
)

// docRef locates a document in a store: chunk, offset and length.
type docRef struct{ chunk, off, n uint32 }

// store holds the documents of one collection as the server sent them, packed end to end in
// chunks of up to storeChunk bytes: one allocation per chunk instead of one per document, no
// per-document headers, and memory without pointers, which the garbage collector does not
// scan. A document is never changed once stored; a collection's store is dropped as soon as
// the collection is written.
type store struct {
	chunks [][]byte
	fill   int // 1 + the index of the chunk being filled, 0 for none
	bytes  int64
}

const (
	storeChunk    = 1 << 20
	storeMinChunk = 16 << 10
)

// add copies b into the store and returns where it is.
func (s *store) add(b []byte) docRef {
	s.bytes += int64(len(b))
	if len(b) > storeChunk/4 { // a large document: a chunk of its own
		s.chunks = append(s.chunks, append([]byte(nil), b...))
		return docRef{uint32(len(s.chunks) - 1), 0, uint32(len(b))}
	}
	if s.fill == 0 || len(s.chunks[s.fill-1])+len(b) > cap(s.chunks[s.fill-1]) {
		// chunks grow from 16 KiB to 1 MiB, so that a collection of a few documents stays small
		size := storeMinChunk
		if s.fill > 0 {
			size = min(2*cap(s.chunks[s.fill-1]), storeChunk)
		}
		s.chunks = append(s.chunks, make([]byte, 0, max(size, len(b))))
		s.fill = len(s.chunks)
	}
	c := s.chunks[s.fill-1]
	off := len(c)
	s.chunks[s.fill-1] = append(c, b...)
	return docRef{uint32(s.fill - 1), uint32(off), uint32(len(b))}
}

// get returns the document at r (not to be modified).
func (s *store) get(r docRef) []byte {
	return s.chunks[r.chunk][r.off : r.off+r.n : r.off+r.n]
}

// The garbage collector's pacing while an export runs. The live heap is mostly the stores,
// which have no pointers and cost a collection little to mark, while fetching and re-encoding
// make much short-lived garbage: with only GOGC's default of 100 the heap grows to twice the
// slice before a collection. So, unless GOMEMLIMIT is set, a soft memory limit follows the
// documents held: their bytes and a per-document allowance for the bookkeeping, plus
// headroom. While the slice is small GOGC paces the collector as usual.
const (
	docOverhead  = 128      // bytes of bookkeeping per document held (maps, keys)
	limitMargin  = 24 << 20 // headroom over the estimate
	limitPercent = 10       // and this % of the estimate
)

var gcLimit struct {
	sync.Mutex
	runs int   // exports running
	old  int64 // the limit before the first of them
	held int64 // estimated bytes held by the exports running
}

// holdMemory records that an export holds delta bytes more (or fewer) and sets the soft
// memory limit to match.
func holdMemory(delta int64) {
	if delta == 0 || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	gcLimit.Lock()
	defer gcLimit.Unlock()
	if gcLimit.runs == 0 {
		return
	}
	gcLimit.held += delta
	debug.SetMemoryLimit(gcLimit.held + gcLimit.held*limitPercent/100 + limitMargin)
}

// tightGC starts an export's memory accounting and returns the function that ends it; the
// limit before is restored when the last export running ends.
func tightGC() func() {
	if os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	gcLimit.Lock()
	if gcLimit.runs == 0 {
		gcLimit.old = debug.SetMemoryLimit(-1)
	}
	gcLimit.runs++
	gcLimit.Unlock()
	return func() {
		gcLimit.Lock()
		defer gcLimit.Unlock()
		if gcLimit.runs--; gcLimit.runs == 0 {
			gcLimit.held = 0
			debug.SetMemoryLimit(gcLimit.old)
		}
	}
}

// account tells the memory limit what the export holds now: its stores, its documents'
// bookkeeping and extra bytes (edges read but not yet taken).
func (x *exporter) account(extra int64) {
	n := extra
	for _, s := range x.stores {
		n += s.bytes
	}
	for _, m := range x.docs {
		n += int64(len(m)) * docOverhead
	}
	holdMemory(n - x.held)
	x.held = n
}
