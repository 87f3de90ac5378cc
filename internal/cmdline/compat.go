package cmdline

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/arangobackup/godump/cliflag"
)

// Program-wide options every ArangoDB client tool has that mean nothing for a Go program.
// They are accepted, so that command lines and configuration files run unchanged, and a
// given one gets a one-line notice that it has no effect.
var noEffect = map[string]string{
	"honor-nsswitch":     "name lookups use Go's resolver, which reads /etc/nsswitch.conf itself",
	"random.generator":   "Go's crypto/rand is the only random source",
	"use-splice-syscall": "files are copied by Go's io, which uses splice where Linux allows",
}

// addProgramOptions declares them (hidden, as --help-all shows them in the tools), with
// --dump-dependencies, a command that has nothing to print here and is refused.
func addProgramOptions(fs *pflag.FlagSet) {
	if fs.Lookup("honor-nsswitch") != nil {
		return
	}
	cliflag.Bool(fs, "honor-nsswitch", false, "accepted for compatibility; no effect ("+noEffect["honor-nsswitch"]+")")
	cliflag.Uint32Var(fs, new(int), "random.generator", 1, "accepted for compatibility; no effect ("+noEffect["random.generator"]+")")
	cliflag.Bool(fs, "use-splice-syscall", true, "accepted for compatibility; no effect ("+noEffect["use-splice-syscall"]+")")
	cliflag.Bool(fs, "dump-dependencies", false, "refused: the ArangoDB tools print their application features' dependencies; this program has none")
	for _, n := range []string{"honor-nsswitch", "random.generator", "use-splice-syscall", "dump-dependencies"} {
		_ = fs.MarkHidden(n)
	}
}

// programNotices are the notices for the given program-wide options, and an error for
// --dump-dependencies.
func programNotices(fs *pflag.FlagSet, prog string) ([]string, error) {
	if v, _ := fs.GetBool("dump-dependencies"); v {
		return nil, fmt.Errorf("--dump-dependencies is not supported: it prints the dependency graph of an ArangoDB tool's application features, which %s does not have", prog)
	}
	var out []string
	for _, n := range []string{"honor-nsswitch", "random.generator", "use-splice-syscall"} {
		if cliflag.Changed(fs, n) {
			out = append(out, fmt.Sprintf("--%s has no effect in %s: %s", n, prog, noEffect[n]))
		}
	}
	return out, nil
}

// WriteJSON writes v as the indented JSON object of --json.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
