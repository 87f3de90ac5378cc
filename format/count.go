package format

import "encoding/json"

// CountDocuments returns the number of documents a restore of these data files leaves in the
// collection (--list). Plain lines (3.9+, godump, vpack) are one document each: a dump is a
// snapshot in which a key appears once. Envelope data is replayed as the server replays it:
// an insert of a key already present replaces it, a removal deletes it, and a document
// without any key gets a new one. A collection is an envelope collection when its first line
// is an envelope, as the restore engine decides it.
func CountDocuments(files []DataFile) (int64, error) {
	r, err := OpenDataFiles(files)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	var (
		n        int64 // plain lines, and envelope documents without a key
		live     map[string]struct{}
		first    = true
		envelope bool
	)
	for r.Next() {
		l := r.Line()
		if first {
			first = false
			envelope = l.Kind != KindDocument
			if envelope {
				live = map[string]struct{}{}
			}
		}
		if !envelope {
			n++
			continue
		}
		switch l.Kind {
		case KindRemove:
			if l.Key != "" {
				delete(live, l.Key)
			}
		default:
			// The key the server stores: the document's _key, else the envelope's key (the
			// restore injects it, see restore's transformBatch).
			k := documentKey(l.Doc)
			if k == "" {
				k = l.Key
			}
			if k == "" {
				n++
				continue
			}
			live[k] = struct{}{}
		}
	}
	return n + int64(len(live)), r.Err()
}

// documentKey is a document's top-level _key ("" when absent or not a string).
func documentKey(doc []byte) string {
	var d struct {
		Key json.RawMessage `json:"_key"`
	}
	if json.Unmarshal(doc, &d) != nil || len(d.Key) == 0 {
		return ""
	}
	k, _ := jsonString(d.Key)
	return k
}
