package arangotest

import (
	"bytes"
	"net/http"
	"strconv"
)

// WAL access (RestWalAccessHandler): /_api/wal/range, /_api/wal/lastTick, /_api/wal/tail,
// served from the store's in-memory log of markers.

const defaultWALChunkSize = 1 << 20

func (rs *replState) walServer() map[string]any {
	return map[string]any{"version": rs.s.version, "serverId": strconv.FormatUint(rs.s.serverID, 10)}
}

// handleWALRange serves GET /_api/wal/range.
func (rs *replState) handleWALRange(c *call) {
	st := rs.s.store
	first, last := st.WAL.Range()
	if last == 0 {
		last = st.LastTick()
	}
	if first == 0 {
		first = last
	}
	c.json(http.StatusOK, map[string]any{"time": nowString(), "tickMin": strconv.FormatUint(first, 10),
		"tickMax": strconv.FormatUint(max(last, st.LastTick()), 10), "server": rs.walServer()})
}

// handleWALLastTick serves GET /_api/wal/lastTick.
func (rs *replState) handleWALLastTick(c *call) {
	c.json(http.StatusOK, map[string]any{"time": nowString(), "tick": strconv.FormatUint(rs.s.store.LastTick(), 10),
		"server": rs.walServer()})
}

// handleWALTail serves GET /_api/wal/tail: markers with from < tick <= to of this database
// (all databases with global=true, only from _system), at most about chunkSize bytes.
func (rs *replState) handleWALTail(c *call) {
	st := rs.s.store
	global := c.qbool("global", false)
	if global && c.db.Name != "_system" {
		c.fail(newError(403, 11, "global tailing is only possible from within _system database"))
		return
	}
	parseTick := func(name string, def uint64) (uint64, bool) {
		v := c.query(name)
		if v == "" {
			return def, true
		}
		n, err := strconv.ParseUint(v, 10, 64)
		return n, err == nil
	}
	from, ok1 := parseTick("from", 0)
	to, ok2 := parseTick("to", ^uint64(0))
	lastScanned, ok3 := parseTick("lastScanned", 0)
	if !ok1 || !ok2 || !ok3 {
		c.fail(newError(400, 400, "invalid from/to values"))
		return
	}
	if lastScanned > from {
		from = lastScanned
	}
	if to < from {
		c.fail(newError(400, 400, "invalid from/to values"))
		return
	}
	chunk := defaultWALChunkSize
	if v := c.query("chunkSize"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			chunk = n
		}
	}
	first, _ := st.WAL.Range()
	fromPresent := !st.WAL.Trimmed() || first == 0 || from+1 >= first

	var buf bytes.Buffer
	var lastIncluded, scanned uint64
	more := false
	cursor := from
scan:
	for {
		ms, hasMore := st.WAL.Since(cursor, chunk)
		if len(ms) == 0 {
			break
		}
		for _, m := range ms {
			if m.Tick > to {
				hasMore = false
				break scan
			}
			scanned = m.Tick
			cursor = m.Tick
			if !global && m.DB != c.db.Name {
				continue
			}
			buf.Write(m.JSON())
			buf.WriteByte('\n')
			lastIncluded = m.Tick
			if buf.Len() >= chunk {
				more = true
				break scan
			}
		}
		if !hasMore {
			break
		}
	}
	if more {
		// more is only true if something after cursor is still within range
		ms, _ := st.WAL.Since(cursor, 1)
		more = len(ms) > 0 && ms[0].Tick <= to
	}
	lastTick := st.LastTick()
	if scanned == 0 {
		scanned = max(from, min(to, lastTick))
	}
	h := c.w.Header()
	h.Set("x-arango-replication-checkmore", strconv.FormatBool(more))
	h.Set("x-arango-replication-frompresent", strconv.FormatBool(fromPresent))
	h.Set("x-arango-replication-lastincluded", strconv.FormatUint(lastIncluded, 10))
	h.Set("x-arango-replication-lastscanned", strconv.FormatUint(scanned, 10))
	h.Set("x-arango-replication-lasttick", strconv.FormatUint(lastTick, 10))
	h.Set("x-arango-replication-active", "true")
	if buf.Len() == 0 {
		writeUncompressed(c, http.StatusNoContent, "application/x-arango-dump; charset=utf-8", nil)
		return
	}
	writeUncompressed(c, http.StatusOK, "application/x-arango-dump; charset=utf-8", buf.Bytes())
}
