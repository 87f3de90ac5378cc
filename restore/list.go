package restore

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/arangobackup/godump/format"
)

// CollectionInfo is what --list shows about one collection.
type CollectionInfo struct {
	Name      string   `json:"name"`
	Target    string   `json:"target"`
	Type      string   `json:"type"`      // "document" or "edge"
	Documents int64    `json:"documents"` // -1 when not counted
	DataBytes int64    `json:"dataBytes"` // on disk
	Files     int      `json:"files"`
	Indexes   []string `json:"indexes"` // "name (type on fields)"
	// Runs are the godump runs that wrote the collection's data files (a dump continued
	// after an interruption has several, and is not one point in time); empty without a
	// godump manifest.
	Runs []int `json:"runs,omitempty"`
}

// DatabaseInfo is what --list --json shows about one database of the dump.
type DatabaseInfo struct {
	Name        string           `json:"name"`
	Directory   string           `json:"directory"`
	Target      string           `json:"target"` // the database it is restored into
	Collections []CollectionInfo `json:"collections"`
	Views       []ViewInfo       `json:"views"`
	// Runs describes the godump runs that wrote the dump when there were several
	// (godump --continue): when each started, and the server tick it dumped from.
	Runs []format.ManifestRun `json:"runs,omitempty"`
}

// ViewInfo is one view of the dump.
type ViewInfo struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// List is the machine-readable form of WriteList (--list --json): the same facts, one entry
// per database.
func (p *Plan) List(count bool) ([]DatabaseInfo, error) {
	out := []DatabaseInfo{}
	for _, dp := range p.Databases {
		infos, err := dp.Describe(count)
		if err != nil {
			return nil, err
		}
		di := DatabaseInfo{Name: dp.Source.Name, Directory: dp.Source.Dir, Target: dp.Target,
			Collections: infos, Views: []ViewInfo{}}
		if m := dp.Source.Manifest; m != nil && len(m.Runs) > 1 {
			di.Runs = m.Runs
		}
		if di.Collections == nil {
			di.Collections = []CollectionInfo{}
		}
		for i := range di.Collections {
			if di.Collections[i].Indexes == nil {
				di.Collections[i].Indexes = []string{}
			}
		}
		for _, v := range dp.Views {
			di.Views = append(di.Views, ViewInfo{Name: v.Source.Name, Type: v.Source.Type})
		}
		out = append(out, di)
	}
	return out, nil
}

// Describe returns the per-collection facts of a database plan. With count, the data files
// are read to count documents (from godump's manifest when it has the figure).
func (dp *DatabasePlan) Describe(count bool) ([]CollectionInfo, error) {
	var out []CollectionInfo
	for _, c := range dp.Collections {
		ci := CollectionInfo{Name: c.Name(), Target: c.Target, Type: "document", Documents: -1,
			DataBytes: c.DataBytes, Files: len(c.Source.DataFiles)}
		if c.Source.Type == format.TypeEdge {
			ci.Type = "edge"
		}
		ci.Runs = runsOf(dp.Source.Manifest, c.Source)
		for _, raw := range c.Source.Indexes {
			var ix struct {
				Name   string `json:"name"`
				Type   string `json:"type"`
				Fields []any  `json:"fields"`
			}
			_ = json.Unmarshal(raw, &ix)
			var fields []string
			for _, f := range ix.Fields {
				switch f := f.(type) {
				case string:
					fields = append(fields, f)
				case map[string]any:
					fields = append(fields, fmt.Sprint(f["name"]))
				}
			}
			ci.Indexes = append(ci.Indexes, fmt.Sprintf("%s (%s on %s)", ix.Name, ix.Type, strings.Join(fields, ",")))
		}
		if count {
			n, err := countDocs(dp.Source, c.Source)
			if err != nil {
				return nil, err
			}
			ci.Documents = n
		}
		out = append(out, ci)
	}
	return out, nil
}

func countDocs(db *format.Database, c *format.Collection) (int64, error) {
	if db.Manifest != nil {
		var n int64
		ok := len(c.DataFiles) > 0
		for _, f := range c.DataFiles {
			mf := manifestFile(db.Manifest, f.Name)
			if mf == nil {
				ok = false
				break
			}
			n += mf.Documents
		}
		if ok {
			return n, nil
		}
	}
	return format.CountDocuments(c.DataFiles)
}

// runsOf lists the runs that wrote a collection's data files, in order.
func runsOf(m *format.Manifest, c *format.Collection) []int {
	if m == nil {
		return nil
	}
	seen := map[int]bool{}
	var runs []int
	for _, f := range c.DataFiles {
		if mf := manifestFile(m, f.Name); mf != nil && !seen[m.RunOf(mf)] {
			seen[m.RunOf(mf)] = true
			runs = append(runs, m.RunOf(mf))
		}
	}
	sort.Ints(runs)
	return runs
}

func manifestFile(m *format.Manifest, name string) *format.ManifestFile {
	for i := range m.Files {
		if m.Files[i].Name == name {
			return &m.Files[i]
		}
	}
	return nil
}

// WriteList prints what the dump holds (--list): databases, collections with type,
// documents, size and indexes, and views. showTarget adds the database each is restored into.
func (p *Plan) WriteList(w io.Writer, count, showTarget bool) error {
	for _, dp := range p.Databases {
		name := dp.Source.Name
		fmt.Fprintf(w, "database %s (directory %s)", name, dp.Source.Dir)
		if showTarget && dp.Target != name {
			fmt.Fprintf(w, " -> restored into %s", dp.Target)
		}
		fmt.Fprintln(w)
		infos, err := dp.Describe(count)
		if err != nil {
			return err
		}
		var runs []format.ManifestRun
		if m := dp.Source.Manifest; m != nil && len(m.Runs) > 1 {
			runs = m.Runs
			fmt.Fprintf(w, "  written by %d godump runs (continued after an interruption; not one point in time):\n", len(runs))
			for _, r := range runs {
				fmt.Fprintf(w, "    run %d started %s", r.Run, r.StartedAt.Format("2006-01-02 15:04:05Z07:00"))
				if r.LastTick != "" {
					fmt.Fprintf(w, ", server tick %s", r.LastTick)
				}
				fmt.Fprintln(w)
			}
		}
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		header := "  COLLECTION\tTYPE\tDOCUMENTS\tSIZE\tFILES\tINDEXES"
		if runs != nil {
			header = "  COLLECTION\tTYPE\tDOCUMENTS\tSIZE\tFILES\tRUN\tINDEXES"
		}
		fmt.Fprintln(tw, header)
		for _, ci := range infos {
			n := "?"
			if ci.Documents >= 0 {
				n = fmt.Sprint(ci.Documents)
			}
			label := ci.Name
			if ci.Target != ci.Name {
				label += " -> " + ci.Target
			}
			idx := strings.Join(ci.Indexes, "; ")
			if idx == "" {
				idx = "-"
			}
			if runs != nil {
				rs := make([]string, len(ci.Runs))
				for i, r := range ci.Runs {
					rs[i] = strconv.Itoa(r)
				}
				run := strings.Join(rs, ",")
				if run == "" {
					run = "-"
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%s\t%s\n", label, ci.Type, n, humanBytes(ci.DataBytes), ci.Files, run, idx)
				continue
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%s\n", label, ci.Type, n, humanBytes(ci.DataBytes), ci.Files, idx)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, v := range dp.Views {
			fmt.Fprintf(w, "  view %s (%s)\n", v.Source.Name, v.Source.Type)
		}
	}
	return nil
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
