//go:build !linux

package arangotest

// prefault does nothing where memory cannot be populated ahead of use.
func prefault(b []byte) {}
