package format

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	velocypack "github.com/arangodb/go-velocypack"
)

// newVPackJSON converts a 3.12 --dump-vpack data file into JSON lines. The
// file is a concatenation of VelocyPack values, each an array of documents
// (one per server batch); a bare object is taken as one document.
func newVPackJSON(r io.Reader) io.Reader {
	return &vpackJSON{src: bufio.NewReaderSize(r, 1<<20)}
}

type vpackJSON struct {
	src    *bufio.Reader
	out    bytes.Buffer
	values int // VelocyPack values read, for error messages
	done   bool
}

func (v *vpackJSON) Read(p []byte) (int, error) {
	for v.out.Len() == 0 {
		if v.done {
			return 0, io.EOF
		}
		if err := v.next(); err != nil {
			return 0, err
		}
	}
	return v.out.Read(p)
}

// next converts the next VelocyPack value into lines in v.out.
func (v *vpackJSON) next() error {
	s, err := velocypack.SliceFromReader(v.src)
	if err != nil {
		return fmt.Errorf("%w: VelocyPack value %d: %v", ErrCorrupt, v.values+1, err)
	}
	if s == nil {
		v.done = true
		return nil
	}
	v.values++
	d := velocypack.NewDumper(&v.out, nil)
	emit := func(doc velocypack.Slice) error {
		if doc.Type() != velocypack.Object {
			return fmt.Errorf("%w: VelocyPack value %d: document is %s, not an object", ErrCorrupt, v.values, doc.Type())
		}
		if err := d.Append(doc); err != nil {
			return fmt.Errorf("%w: VelocyPack value %d: %v", ErrCorrupt, v.values, err)
		}
		v.out.WriteByte('\n')
		return nil
	}
	switch s.Type() {
	case velocypack.Array:
		it, err := velocypack.NewArrayIterator(s)
		if err != nil {
			return fmt.Errorf("%w: VelocyPack value %d: %v", ErrCorrupt, v.values, err)
		}
		for it.IsValid() {
			doc, err := it.Value()
			if err != nil {
				return fmt.Errorf("%w: VelocyPack value %d: %v", ErrCorrupt, v.values, err)
			}
			if err := emit(doc); err != nil {
				return err
			}
			if err := it.Next(); err != nil {
				return fmt.Errorf("%w: VelocyPack value %d: %v", ErrCorrupt, v.values, err)
			}
		}
		return nil
	case velocypack.Object:
		return emit(s)
	default:
		return fmt.Errorf("%w: VelocyPack value %d is %s, not an array of documents", ErrCorrupt, v.values, s.Type())
	}
}
