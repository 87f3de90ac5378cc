//go:build !linux

package physical

import (
	"errors"
	"os"
)

func reflink(dst, src *os.File) error { return errors.New("reflink not supported") }
