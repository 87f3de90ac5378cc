package arangotest

// registerRoutes adds every core route (everything except replication/dump/restore/WAL).
func (s *Server) registerRoutes(r *router) {
	s.routeAuth(r)
	s.routeAdmin(r)
	s.routeDatabases(r)
	s.routeCollections(r)
	s.routeDocuments(r)
	s.routeIndexes(r)
	s.routeViews(r)
	s.routeAnalyzers(r)
	s.routeGraphs(r)
	s.routeUsers(r)
	s.routeCursor(r)
	s.routeTransactions(r)
	s.routeQuery(r)
	s.routeJobs(r)
	s.routeReplicationFallback(r) // replication.go: what no replication route takes
	s.routeImportFallback(r)      // import.go: /_api/import with another method or a suffix
}
