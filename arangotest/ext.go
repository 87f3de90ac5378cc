package arangotest

// Hooks between the core server (server.go, store.go) and the replication / fault injection
// code. The two types and four functions the core calls live beside the code they belong to:
//
//	replState, newReplState        replication.go (batches, inventory, classic dump) and
//	                               dumpapi.go (the 3.12 parallel dump API)
//	faultState, newFaultState,
//	(*faultState).wrap             faults.go
//	(*Server).registerReplicationRoutes   here
//
// Restore endpoints are in restore.go, WAL access in wal.go.

// registerReplicationRoutes adds the replication, dump, restore and WAL routes.
func (s *Server) registerReplicationRoutes(r *router) {
	rs := s.repl

	// Batches, inventory, logger state, classic dump (RestReplicationHandler).
	r.handle("POST", "/_api/replication/batch", rs.handleBatch)
	r.handle("PUT", "/_api/replication/batch/{id}", rs.handleBatch)
	r.handle("DELETE", "/_api/replication/batch/{id}", rs.handleBatch)
	r.handle("GET", "/_api/replication/inventory", rs.handleInventory)
	r.handle("GET", "/_api/replication/logger-state", rs.handleLoggerState)
	r.handle("GET", "/_api/replication/dump", rs.handleDump)
	r.handle("GET", "/_api/replication/clusterInventory", rs.handleClusterInventory)
	if !s.store.versionAtLeast(3, 12, 10) {
		// removed in 3.12.10 (driver tests skip it from that version on)
		r.handle("GET", "/_api/replication/server-id", rs.handleServerID)
		r.handle("GET", "/_api/replication/logger-first-tick", rs.handleLoggerFirstTick)
		r.handle("GET", "/_api/replication/logger-tick-ranges", rs.handleLoggerTickRanges)
		r.handle("GET", "/_api/replication/applier-config", rs.handleApplierConfig)
		r.handle("PUT", "/_api/replication/applier-config", rs.handleApplierConfig)
		r.handle("PUT", "/_api/replication/applier-start", rs.handleApplierStart)
		r.handle("PUT", "/_api/replication/applier-stop", rs.handleApplierStop)
		r.handle("GET", "/_api/replication/applier-state", rs.handleApplierState)
		r.handle("DELETE", "/_api/replication/applier-state", rs.handleApplierState)
	}
	r.handle("PUT", "/_api/replication/revisions/ranges", rs.handleRevisionRanges)
	r.handle("PUT", "/_api/replication/revisions/documents", rs.handleRevisionDocuments)

	// Restore (arangorestore).
	r.handle("PUT", "/_api/replication/restore-collection", rs.handleRestoreCollection)
	r.handle("PUT", "/_api/replication/restore-indexes", rs.handleRestoreIndexes)
	r.handle("PUT", "/_api/replication/restore-data", rs.handleRestoreData)
	r.handle("PUT", "/_api/replication/restore-view", rs.handleRestoreView)

	// The parallel dump API exists from 3.12 on; a 3.11 personality answers 404 unknown path
	// (see CONFORMANCE.md for why the 3.11.2+ experimental backport is not modelled).
	if s.dumpAPIEnabled() {
		r.handle("POST", "/_api/dump/{rest...}", rs.handleDumpAPI)
		r.handle("DELETE", "/_api/dump/{rest...}", rs.handleDumpAPI)
		// No suffix at all: RestDumpHandler::validateRequest answers 400/10 as for a bad one.
		r.handle("POST", "/_api/dump", rs.handleDumpAPI)
		r.handle("DELETE", "/_api/dump", rs.handleDumpAPI)
	}

	// WAL access (RestWalAccessHandler).
	r.handle("GET", "/_api/wal/range", rs.handleWALRange)
	r.handle("GET", "/_api/wal/lastTick", rs.handleWALLastTick)
	r.handle("GET", "/_api/wal/tail", rs.handleWALTail)
}
