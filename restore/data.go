package restore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arangobackup/godump/client"
	"github.com/arangobackup/godump/format"
	"github.com/arangobackup/godump/progress"
	jsoniter "github.com/json-iterator/go"
)

// defaultIndexesAfterData: gorestore creates a collection's secondary indexes before
// loading its data, as arangorestore does, because that measured faster on the issue's
// 1 GB data set and fails a unique-index violation at the offending batch.
//
// Measured against arangotest with BenchmarkRestore's generated data set (four collections,
// one persistent index each, --threads 2, each run on a fresh server process, on the shared
// 2-core machine), gorestore wall time, indexes after / before the data:
//   - 1 GiB: 27.2 / 16.5 s (BenchmarkRestore), 28.0 / 18.4 s and 32.2 / 25.7 s (one
//     gorestore run each on /tmp data, same server binary). Server CPU was the same either
//     way (~19 s and ~26 s); the difference is the tail: with indexes after the data, the
//     largest collection's index is built in one request at the end while the other jobs
//     are done and the second core idles. Built during the inserts, the index work is
//     spread over the parallel batches.
//   - 256 MiB: mixed within the noise of the shared machine (3.7-5.0 s before, 3.8-5.3 s
//     after); an earlier series had favoured after (8.8 and 15.4 s vs 17.0 and 16.5 s).
//
// `--indexes-after-data true` builds them after the data instead (as mongorestore and
// pg_restore do): still correct, as every index is built before the collection job ends
// (search-alias views, step 5, find their inverted indexes), a unique index that the data
// violates still fails the restore (at the end of the collection's data instead of at the
// offending batch), and a restore killed between the data and the indexes resumes with
// --continue at the index step (the collection is marked restored only after its indexes).
const defaultIndexesAfterData = false

var jsonAPI = jsoniter.ConfigCompatibleWithStandardLibrary

// syncTimeout bounds the wait for followers after a fast cluster restore.
var syncTimeout = time.Hour

func jsonUnmarshal(b []byte, v any) error { return jsonAPI.Unmarshal(b, v) }

func sortLargestFirst(cs []*CollectionPlan) {
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].Work > cs[j].Work })
}

// assignEndpoints spreads the collections over the Coordinators for a fast cluster restore:
// largest first, each to the Coordinator with the fewest bytes so far.
func (e *engine) assignEndpoints(dp *DatabasePlan) {
	if !e.opts.FastClusterRestore || len(e.conn.Endpoints) < 2 {
		return
	}
	order := append([]*CollectionPlan(nil), dp.Collections...)
	sortLargestFirst(order)
	load := make([]int64, len(e.conn.Endpoints))
	for _, c := range order {
		best := 0
		for i := range load {
			if load[i] < load[best] {
				best = i
			}
		}
		c.Endpoint = e.conn.Endpoints[best]
		load[best] += c.Work + 1
	}
}

// restoreData sends the collection's data files as batches of raw lines. Plain dumps have
// several batches in flight at once (restore-data replaces by key, so order does not
// matter); envelope dumps, which may hold removals, are sent one batch after the other.
func (e *engine) restoreData(ctx context.Context, db string, c *CollectionPlan, cf *continueFile, st collProgress, tr progress.Tracker) error {
	files := c.Source.DataFiles
	if len(files) == 0 || e.opts.DryRun {
		return nil
	}
	start := pos{}
	var acked []span
	if st.State == stateRestoring {
		start = pos{st.FileNo, st.BytesAcked}
		acked = st.Acked
	}
	// A file godump recorded must match its SHA-256 before the first batch of the collection
	// leaves: a damaged dump stops here, not after half of it reached the server.
	for _, f := range files {
		if mf, ok := c.Checksums[f.Name]; ok {
			if err := format.VerifyDataFile(f, mf); err != nil {
				return fmt.Errorf("restore data of collection %q (db %q): %w", c.Target, db, err)
			}
		}
	}
	r, err := format.OpenDataFiles(files)
	if err != nil {
		return fmt.Errorf("restore data of collection %q (db %q): %w", c.Target, db, err)
	}
	defer r.Close()

	tracker := newAckTracker(start)
	// Lines sent (or acknowledged in an earlier run) per file, for the manifest's counts.
	sentLines := make([]atomic.Int64, len(files))
	envelope := false
	renames := e.edgeRenames(c)
	first := true

	var (
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
	)
	setErr := func(err error) {
		errMu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		errMu.Unlock()
	}
	getErr := func() error {
		errMu.Lock()
		defer errMu.Unlock()
		return firstErr
	}
	defer wg.Wait()

	for {
		if err := getErr(); err != nil {
			break
		}
		if err := ctx.Err(); err != nil {
			setErr(err)
			break
		}
		b, err := r.ReadBatch(int(e.opts.BatchSize))
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			setErr(fmt.Errorf("restore data of collection %q (db %q): %w", c.Target, db, err))
			break
		}
		e.readBytes.Add(int64(len(b.Data)))
		if first {
			first = false
			envelope = isEnvelopeBatch(b.Data)
		}
		if b.Removes > 0 && !envelope {
			// Removals only exist in envelope dumps: from here on, in order.
			envelope = true
			wg.Wait()
		}
		fileNo, off, end := b.FileIndex, b.Offset, b.Offset+int64(len(b.Data))
		if !start.less(pos{fileNo, end}) || inSpans(acked, fileNo, off, end) {
			tracker.skipped(fileNo, off, end)
			e.skipped.Add(1)
			sentLines[fileNo].Add(int64(b.Lines))
			tr.Add(int64(b.Lines), 0) // restored by an earlier run: done, so the bar reaches its total
			continue
		}
		var body []byte
		transformed := envelope || renames != nil
		if transformed {
			body, err = transformBatch(b, envelope, renames)
			if err != nil {
				setErr(fmt.Errorf("restore data of collection %q (db %q): %w", c.Target, db, err))
				break
			}
		}
		select {
		case e.sendSlots <- struct{}{}:
		case <-ctx.Done():
			setErr(ctx.Err())
			continue
		}
		var owned []byte // the buffer body lies in, when it is ours to give back
		if !transformed {
			// The batch is sent from the reader's buffer, which the reader hands over
			// (continuing in a free one) instead of the batch being copied out: one pass less
			// over every byte restored. Taken only once a slot is free, so that no more
			// buffers exist than freeBufs keeps (one per slot and one per reader); a buffer
			// more would be allocated anew every time, and fresh memory is zeroed and
			// page-faulted in.
			body = b.Data
			owned = r.Detach(e.takeBuf())
		}
		tracker.dispatched(fileNo, off, end)
		batch := sentBatch{body: body, file: b.File, fileNo: fileNo, off: off, lines: b.Lines, firstLine: b.FirstLine}
		send := func() {
			defer func() { <-e.sendSlots }()
			err := e.sendBatch(ctx, db, c, batch)
			if owned != nil {
				e.putBuf(owned)
			} else {
				e.putBuf(body)
			}
			if err != nil {
				setErr(err)
				return
			}
			sentLines[fileNo].Add(int64(batch.lines))
			water, spans := tracker.ack(fileNo, off)
			if err := cf.setOffsets(c.Name(), water.File, water.Off, spans); err != nil {
				setErr(err)
				return
			}
			tr.Add(int64(batch.lines), int64(len(batch.body)))
		}
		if envelope {
			send()
		} else {
			wg.Add(1)
			go func() {
				defer wg.Done()
				send()
			}()
		}
	}
	wg.Wait()
	if err := getErr(); err != nil {
		return err
	}
	// godump's manifest records each file's documents: a file whose documents sent differ
	// from it was not restored as dumped.
	for i, f := range files {
		want, ok := c.Recorded[f.Name]
		if got := sentLines[i].Load(); ok && got != want {
			return fmt.Errorf("restore data of collection %q (db %q): %w", c.Target, db, &format.Error{File: f.Path,
				Err: fmt.Errorf("%w: collection %q: %s records %d document(s) in %s, %d were sent", format.ErrChecksum, c.Name(), format.ManifestFileName, want, f.Name, got)})
		}
	}
	return nil
}

type sentBatch struct {
	body      []byte
	file      string
	fileNo    int
	off       int64
	lines     int
	firstLine int
}

func (e *engine) sendBatch(ctx context.Context, db string, c *CollectionPlan, b sentBatch) error {
	// As arangorestore 3.11/3.12 sends it (RestoreFeature::RestoreJob::sendRestoreData):
	// collection and force, and the body as JSON lines under application/x-arango-dump. The
	// server parses a body only under the dump, JSON or VPack type (HttpRequest::setHeader
	// records no other; RestReplicationHandler::parseBatch answers anything else with 500,
	// error 4 "invalid request type"). No preserveRevisionIds: no server since 3.8 reads it,
	// restored documents always get new _rev values (parseBatchDump drops _rev).
	q := url.Values{"collection": {c.Target}, "force": {e.boolQ(e.opts.Force)}}
	_, err := e.conn.Do(ctx, client.Request{Method: http.MethodPut, Path: "/_api/replication/restore-data", Database: db,
		Query: q, Body: b.body, Endpoint: c.Endpoint, Header: map[string]string{"Content-Type": client.DumpContentType}})
	if err != nil {
		return fmt.Errorf("restore data of collection %q (db %q, file %s lines %d-%d): %w",
			c.Target, db, b.file, b.firstLine, b.firstLine+max(b.lines-1, 0), err)
	}
	e.batches.Add(1)
	e.docs.Add(int64(b.lines))
	e.sentBytes.Add(int64(len(b.body)))
	return nil
}

// inFlight is how many restore-data requests gorestore keeps in flight: one more than
// --threads. With exactly one request per thread the server idles between a response and
// the next body (round trip, then the body's transfer); a second request already waiting
// lets it parse one body while it stores the other. Measured against arangotest with
// BenchmarkRestore's 256 MiB data set on the shared 2-core machine (fresh server each run,
// gorestore wall time, noisy): --threads 1 went from 6.2-8.0 s to 3.6-6.7 s, --threads 2
// from 4.6-4.7 s to 3.7-5.5 s; two extra were not measurably better and cost a batch of
// memory each. Memory stays bounded: at most inFlight batches in flight (their buffers
// reused through engine.freeBufs) plus one batch being read per running collection job.
func inFlight(threads int) int { return max(threads, 1) + 1 }

// takeBuf returns a free batch buffer, nil when none is (LineReader.Detach then makes one).
func (e *engine) takeBuf() []byte {
	select {
	case b := <-e.freeBufs:
		return b[:0]
	default:
		return nil
	}
}

// putBuf keeps b for reuse, unless enough buffers are kept already or b is outsized.
func (e *engine) putBuf(b []byte) {
	if cap(b) > 2*int(e.opts.BatchSize)+4<<20 { // a reader's buffer is a batch and some read ahead
		return // an outsized batch (one huge line): let it go
	}
	select {
	case e.freeBufs <- b[:0]:
	default:
	}
}

func inSpans(spans []span, file int, start, end int64) bool {
	for _, s := range spans {
		if s.File == file && s.Start <= start && end <= s.End {
			return true
		}
	}
	return false
}

// isEnvelopeBatch tells from the first line of a collection's data whether it is an
// envelope dump ({"type":2300,"data":...}) rather than plain documents.
func isEnvelopeBatch(data []byte) bool {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		l, err := format.Classify(line)
		return err == nil && l.Kind != format.KindDocument
	}
	return false
}

// edgeRenames returns the renames that apply to the _from/_to of c's documents, nil when
// c's lines can be sent as they are.
func (e *engine) edgeRenames(c *CollectionPlan) map[string]string {
	if c.Source.Type != format.TypeEdge || len(e.opts.Renames) == 0 {
		return nil
	}
	return e.opts.Renames
}

// transformBatch rewrites a batch line by line: envelope lines become the forms every
// server version reads (plain documents, or envelopes when the batch holds removals, with
// _key taken from the envelope when the document lacks it, as in 1.x dumps), and edge
// _from/_to follow --rename-collection.
func transformBatch(b format.Batch, envelope bool, renames map[string]string) ([]byte, error) {
	data := b.Data
	if !envelope && !mentionsRenamed(data, renames) {
		return append([]byte(nil), data...), nil
	}
	out := make([]byte, 0, len(data)+len(data)/16)
	lineNo := b.FirstLine
	asEnvelope := b.Removes > 0
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		n := lineNo
		lineNo++
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		l, err := format.Classify(line)
		if err != nil {
			return nil, &format.Error{File: b.File, Line: n, Err: err}
		}
		switch l.Kind {
		case format.KindRemove:
			if l.Key == "" {
				return nil, &format.Error{File: b.File, Line: n, Err: fmt.Errorf("%w: removal without a key", format.ErrInvalidJSON)}
			}
			k, _ := json.Marshal(l.Key)
			out = append(out, `{"type":2302,"key":`...)
			out = append(out, k...)
			out = append(out, `,"data":{"_key":`...)
			out = append(out, k...)
			out = append(out, "}}\n"...)
			continue
		case format.KindInsert, format.KindDocument:
		default:
			return nil, &format.Error{File: b.File, Line: n, Err: fmt.Errorf("%w: unknown line kind %v", format.ErrInvalidJSON, l.Kind)}
		}
		doc := l.Doc
		if l.Kind == format.KindInsert && l.Key != "" && !hasKey(doc) {
			doc = injectKey(doc, l.Key)
		}
		if renames != nil {
			doc, err = renameEdge(doc, renames)
			if err != nil {
				return nil, &format.Error{File: b.File, Line: n, Err: fmt.Errorf("%w: %v", format.ErrInvalidJSON, err)}
			}
		}
		if asEnvelope {
			out = append(out, `{"type":2300,"data":`...)
			out = append(out, doc...)
			out = append(out, "}\n"...)
		} else {
			out = append(out, doc...)
			out = append(out, '\n')
		}
	}
	return out, nil
}

func mentionsRenamed(data []byte, renames map[string]string) bool {
	for old := range renames {
		if bytes.Contains(data, []byte(`"`+old+`/`)) {
			return true
		}
	}
	return false
}

func hasKey(doc []byte) bool {
	return jsonAPI.Get(doc, "_key").ValueType() == jsoniter.StringValue
}

func injectKey(doc []byte, key string) []byte {
	k, _ := json.Marshal(key)
	d := bytes.TrimSpace(doc)
	if len(d) < 2 || d[0] != '{' {
		return doc
	}
	out := make([]byte, 0, len(d)+len(k)+10)
	out = append(out, `{"_key":`...)
	out = append(out, k...)
	rest := bytes.TrimSpace(d[1:])
	if len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, rest...)
}

// renameEdge rewrites the collection part of _from and _to. Other attributes keep their
// exact bytes (numbers are not re-encoded).
func renameEdge(doc []byte, renames map[string]string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := jsonAPI.Unmarshal(doc, &m); err != nil {
		return nil, err
	}
	changed := false
	for _, f := range []string{"_from", "_to"} {
		raw, ok := m[f]
		if !ok {
			continue
		}
		var id string
		if err := jsonAPI.Unmarshal(raw, &id); err != nil {
			continue
		}
		coll, key, ok := strings.Cut(id, "/")
		if !ok {
			continue
		}
		if nw, ok := renames[coll]; ok {
			m[f], _ = json.Marshal(nw + "/" + key)
			changed = true
		}
	}
	if !changed {
		return doc, nil
	}
	return json.Marshal(m)
}

// raiseReplication ends a fast cluster restore: every collection created with one copy per
// shard gets its target replication factor, and we wait until all shards are in sync.
func (e *engine) raiseReplication(ctx context.Context, db string, cs []*CollectionPlan) error {
	if e.opts.DryRun {
		return nil
	}
	waitFor := map[string]bool{}
	for _, c := range cs {
		if c.FinalReplicationFactor == nil {
			continue
		}
		body := map[string]any{"replicationFactor": c.FinalReplicationFactor}
		if c.FinalWriteConcern != nil {
			body["writeConcern"] = c.FinalWriteConcern
		}
		err := e.conn.DoJSON(ctx, client.Request{Method: http.MethodPut, Path: "/_api/collection/" + url.PathEscape(c.Target) + "/properties",
			Database: db, JSON: body}, nil)
		if err != nil {
			return fmt.Errorf("raise replication factor of collection %q (db %q): %w", c.Target, db, err)
		}
		waitFor[c.Target] = true
	}
	if len(waitFor) == 0 {
		return nil
	}
	e.rep.Log(fmt.Sprintf("db %s: waiting for %d collection(s) to be in sync", db, len(waitFor)))
	// Followers copy every shard once; an hour is far beyond what that takes, but a cluster
	// that never gets in sync must not hang the restore.
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	for {
		var inv struct {
			Collections []struct {
				Parameters struct {
					Name string `json:"name"`
				} `json:"parameters"`
				AllInSync bool `json:"allInSync"`
			} `json:"collections"`
		}
		err := e.conn.DoJSON(ctx, client.Request{Method: http.MethodGet, Path: "/_api/replication/clusterInventory", Database: db,
			Query: url.Values{"includeSystem": {"false"}}}, &inv)
		if err != nil {
			return fmt.Errorf("wait for shards in sync (db %q): %w", db, err)
		}
		pending := 0
		for _, c := range inv.Collections {
			if waitFor[c.Parameters.Name] && !c.AllInSync {
				pending++
			}
		}
		if pending == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for shards in sync (db %q): %d collection(s) still not in sync: %w", db, pending, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}
