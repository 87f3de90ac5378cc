package main

import "testing"

// The replication factor options are checked as ClusterFeature does before anything starts.
func TestClusterReplicationFactorOptionsRefused(t *testing.T) {
	for _, args := range [][]string{
		{"--cluster.min-replication-factor", "3", "--cluster.max-replication-factor", "2"},
		{"--cluster.max-replication-factor", "0"},
		{"--cluster.min-replication-factor", "0"},
		{"--cluster.min-replication-factor", "11"},
	} {
		if code := run(append([]string{"--cluster", "--port", "0"}, args...)); code == 0 {
			t.Fatalf("run %v: exit code 0", args)
		}
	}
}
