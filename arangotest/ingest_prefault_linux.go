//go:build linux

package arangotest

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// prefault maps all whole pages of b's capacity at once (MADV_POPULATE_WRITE, Linux 5.14;
// older kernels refuse it and nothing happens) instead of one page fault at a time as they
// are first written. Call it on a large fresh buffer that is about to be filled: a
// restore-data body (which becomes document storage), the headers of a batch's documents.
// In a virtual machine a page fault costs microseconds. Measured on the 2-core PVM guest
// we benchmark on, for fresh memory written and then read: page by page about 330 MB per
// CPU-second, populated first about 1.1 GB (most of it the first access of each page, which
// populating cannot avoid), with transparent huge pages (MADV_HUGEPAGE) about 500 MB.
// Errors are ignored: it is an optimization only.
func prefault(b []byte) {
	if cap(b) < prefaultMin {
		return
	}
	b = b[:cap(b)]
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := (start + pageSize - 1) &^ (pageSize - 1)
	hi := (start + uintptr(len(b))) &^ (pageSize - 1)
	if hi <= lo {
		return
	}
	_ = unix.Madvise(b[lo-start:hi-start], unix.MADV_POPULATE_WRITE)
}
