package objstore

import (
	"context"
	"fmt"
	"io"
	"time"
)

// errStalled: no byte moved for Config.IdleTimeout. The HTTP transport
// bounds connecting and waiting for response headers, but not a body that
// stops moving half-way; without this a dropped peer that sends no reset
// hangs a dump for good.
var errStalled = fmt.Errorf("%w: no data moved within the idle timeout", errTransient)

// stallGuard cancels its context when touch has not been called for idle.
type stallGuard struct {
	t      *time.Timer
	idle   time.Duration
	cancel context.CancelCauseFunc
}

func newStallGuard(ctx context.Context, idle time.Duration) (context.Context, *stallGuard) {
	gctx, cancel := context.WithCancelCause(ctx)
	g := &stallGuard{idle: idle, cancel: cancel}
	g.t = time.AfterFunc(idle, func() { cancel(errStalled) })
	return gctx, g
}

func (g *stallGuard) touch() { g.t.Reset(g.idle) }

// pause stops the clock while the caller is not waiting for the network
// (between two Reads of a streaming body, say).
func (g *stallGuard) pause() { g.t.Stop() }

// stop releases the guard; err is returned as errStalled if the guard fired.
func (g *stallGuard) stop(ctx context.Context, err error) error {
	g.t.Stop()
	if err != nil && context.Cause(ctx) == errStalled {
		err = errStalled
	}
	g.cancel(nil)
	return err
}

// touchReader touches a guard at every read of a request body.
type touchReader struct {
	r io.Reader
	g *stallGuard
}

func (t touchReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.g.touch()
	return n, err
}
