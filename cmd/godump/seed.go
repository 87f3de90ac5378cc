package main

import (
	"context"
	"fmt"
	"io"
)

// runSeed runs `godump seed`: a small, masked, self-consistent export (package seed).
func runSeed(_ context.Context, _ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "godump seed: not built yet")
	return 2
}
