package arangotest

// The working slices of restoreData (its operations, documents and undo log) are kept for the
// next request instead of being allocated again: a restore grows the heap all the time, so a
// fresh slice of several MiB is fresh memory from the kernel (a page fault per page touched,
// and garbage that the next collection finds only after the heap has doubled). A bufList,
// unlike a sync.Pool, survives garbage collections; put clears what a slice held (views of
// the request body, documents that may be replaced later) and lets go of a slice grown by
// one huge body.
const maxKeptOps = 256 << 10

var (
	restoreOps  = newBufList[restoreOp](8, maxKeptOps)
	restoreDocs = newBufList[*Doc](8, maxKeptOps)
	restoreUndo = newBufList[undoEntry](8, maxKeptOps)
)
