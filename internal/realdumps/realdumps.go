// Package realdumps locates the real arangodump outputs kept in ../shared beside the
// repository (see README "Shared test data"), for the tests of every package that reads them.
package realdumps

import (
	"os"
	"path/filepath"
	"testing"
)

// Path is the directory relative to a package directory of this repository (tests run in
// their package's directory, one level below the repository root).
const Path = "../../shared/testdata/real-dumps"

// Require returns Path. A clone without it skips the test, naming the path; under CI=true
// its absence is a failure, so CI never passes by skipping.
func Require(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(Path); err != nil {
		abs, _ := filepath.Abs(Path)
		if os.Getenv("CI") == "true" {
			t.Fatalf("real dumps missing at %s (CI=true requires ../shared beside the repository): %v", abs, err)
		}
		t.Skipf("real dumps not available at %s (clone the shared test data beside the repository, or set CI=true to make this a failure): %v", abs, err)
	}
	return Path
}
