package arangotest

import "unsafe"

const (
	pageSize    = 4096     // the smallest page size of the platforms we run on
	prefaultMin = 64 << 10 // below this, a few page faults cost less than the system call
)

// prefaultSlice is prefault for a slice of any element type.
func prefaultSlice[E any](s []E) {
	var e E
	if size := uintptr(cap(s)) * unsafe.Sizeof(e); size >= prefaultMin {
		prefault(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s[:cap(s)]))), size))
	}
}

// bulkDocs gives the arena room for n Doc headers in one allocation (populated at once, see
// prefault), for a batch that knows about how many documents it holds: its headers then
// cost one allocation instead of one per docArenaDocs documents.
func (a *docArena) bulkDocs(n int) {
	if n <= docArenaDocs {
		return
	}
	a.docs = make([]Doc, 0, n)
	prefaultSlice(a.docs)
}
