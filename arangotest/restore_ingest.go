package arangotest

// restoreScratch holds the per-request working slices of restoreData. They are kept for the
// next request instead of being allocated again: a restore grows the heap all the time, so a
// fresh slice of several MiB is fresh memory from the kernel (a page fault per page touched,
// and garbage that the next collection finds only after the heap has doubled). The free
// list, unlike a sync.Pool, survives garbage collections; it holds no more scratches than
// requests ran at once, up to its capacity.
type restoreScratch struct {
	ops  []restoreOp
	docs []*Doc
	undo []undoEntry
	sink byte // see restoreData's loads ahead
}

var freeRestoreScratch = make(chan *restoreScratch, 8)

// maxKeptOps bounds what a kept scratch may hold (a scratch grown by one huge body is let go).
const maxKeptOps = 256 << 10

func getRestoreScratch() *restoreScratch {
	select {
	case s := <-freeRestoreScratch:
		return s
	default:
		return &restoreScratch{}
	}
}

// putRestoreScratch gives s back. Its slices are cleared first: they point into the request
// body and at documents that may be replaced later.
func putRestoreScratch(s *restoreScratch) {
	if cap(s.ops) > maxKeptOps || cap(s.docs) > maxKeptOps || cap(s.undo) > maxKeptOps {
		return
	}
	clear(s.ops)
	clear(s.docs)
	clear(s.undo)
	s.ops, s.docs, s.undo = s.ops[:0], s.docs[:0], s.undo[:0]
	select {
	case freeRestoreScratch <- s:
	default:
	}
}
