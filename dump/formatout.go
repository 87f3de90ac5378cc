package dump

import (
	"context"
	"encoding/json"

	"github.com/arangobackup/godump/format"
)

// Version is recorded in our manifest (cmd/godump sets it).
var Version = "dev"

// FormatOutput opens a format.Writer on the database's directory.
func FormatOutput(_ context.Context, cfg OutputConfig) (Output, error) {
	wo := format.WriterOptions{Overwrite: cfg.Overwrite, Cluster: cfg.Cluster,
		Database: cfg.Database, Tool: "godump", ToolVersion: Version, Continue: cfg.Continue, Settings: cfg.Settings}
	if cfg.Archive != nil {
		w, err := format.NewArchiveDatabase(cfg.Archive, cfg.ArchiveDir, wo)
		if err != nil {
			return nil, err
		}
		return &formatOutput{w: w, compress: cfg.Compress}, nil
	}
	var w *format.Writer
	var err error
	if cfg.Store != nil {
		w, err = format.NewStoreWriter(cfg.Store, wo)
	} else {
		w, err = format.NewWriter(cfg.Dir, wo)
	}
	if err != nil {
		return nil, err
	}
	return &formatOutput{w: w, compress: cfg.Compress}, nil
}

type formatOutput struct {
	w        *format.Writer
	compress bool
}

func (o *formatOutput) WriteEncryption() error { return o.w.WriteEncryption() }

func (o *formatOutput) WriteDumpJSON(m DumpJSON) error {
	return o.w.WriteDumpJSON(format.DumpMeta{Database: m.Database, CreatedAt: m.CreatedAt,
		LastTickAtDumpStart: m.LastTickAtDumpStart, UseEnvelope: m.UseEnvelope, UseVPack: m.UseVPack, Properties: m.Properties})
}

func (o *formatOutput) WriteStructure(name string, params json.RawMessage, indexes []json.RawMessage) error {
	_, err := o.w.WriteStructure(name, params, indexes)
	return err
}

func (o *formatOutput) WriteView(name string, def json.RawMessage) error {
	_, err := o.w.WriteView(name, def)
	return err
}

func (o *formatOutput) CreateDataFile(collection string, part int, shard string) (DataFile, error) {
	f, err := o.w.CreateDataFile(collection, part, o.compress)
	if err != nil {
		return nil, err
	}
	if shard != "" {
		f.SetShard(shard)
	}
	return formatDataFile{f}, nil
}

func (o *formatOutput) Keep(keep func(KeptFile) bool) ([]KeptFile, []string, error) {
	r := o.w.Resumed()
	if r == nil {
		return nil, nil, nil
	}
	conv := func(f format.ManifestFile) KeptFile {
		return KeptFile{Collection: f.Collection, Part: f.Part, Shard: f.Shard, Documents: f.Documents, Run: f.Run}
	}
	files, err := o.w.Keep(func(f format.ManifestFile) bool { return keep(conv(f)) })
	if err != nil {
		return nil, r.Dropped, err
	}
	kept := make([]KeptFile, len(files))
	for i, f := range files {
		kept[i] = conv(f)
	}
	return kept, r.Dropped, nil
}

func (o *formatOutput) Finish() error { return o.w.Finish() }

// Abort: data files abort themselves (their temporaries are removed); without Finish the
// directory has no completion marker.
func (o *formatOutput) Abort() error { return nil }

type formatDataFile struct{ f *format.DataFileWriter }

func (d formatDataFile) WriteLines(lines []byte, docs int64) error {
	_, err := d.f.WriteLines(lines, docs)
	return err
}

func (d formatDataFile) Commit() error {
	_, err := d.f.Commit()
	return err
}

func (d formatDataFile) Abort() error { return d.f.Abort() }
