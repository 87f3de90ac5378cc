package format

import (
	"io"
)

// newVPackJSON converts a 3.12 --dump-vpack data file (concatenated
// VelocyPack arrays of documents) into JSON lines.
func newVPackJSON(r io.Reader) io.Reader {
	return &vpackJSON{src: r}
}

type vpackJSON struct {
	src io.Reader
}

func (v *vpackJSON) Read(p []byte) (int, error) {
	panic("TODO")
}
